/** Tables: spec -> table-attrs values, and decoded table-attrs -> Table. */
import type { AttrValues } from '../core/schema.js'
import { familyName, type Family } from './names.js'

/** Names a table. */
export interface TableRef {
  family: Family
  name: string
}

export interface TableSpec extends TableRef {
  /** NFT_TABLE_F_* (dormant, owner ...); default 0. */
  flags?: number
  /** Fail with EEXIST when the table exists (NLM_F_EXCL, `nft create table`). */
  exclusive?: boolean
}

/** A table as the kernel reports it. */
export interface Table {
  family: Family | number
  name: string
  handle: bigint
  flags: number
  /** Number of chains in the table. */
  use: number
}

/** "table ip podnet", for error messages. */
export const describeTable = (t: TableRef): string => `table ${t.family} ${t.name}`

/** NEWTABLE values in the order nft writes them: name, flags. */
export function newTableValues(spec: TableSpec): AttrValues {
  return { name: spec.name, flags: spec.flags ?? 0 }
}

export function tableFromValues(family: number, v: AttrValues): Table {
  return {
    family: familyName(family),
    name: typeof v.name === 'string' ? v.name : '',
    handle: typeof v.handle === 'bigint' ? v.handle : 0n,
    flags: typeof v.flags === 'number' ? v.flags : 0,
    use: typeof v.use === 'number' ? v.use : 0,
  }
}
