/** Small helpers shared by the expression codecs: name tables and typed reads of decoded values. */
import type { AttrValues } from '../../core/schema.js'

/** A closed set of names with their kernel numbers (meta keys, payload bases, ...). */
export type NameTable<N extends string> = Readonly<Record<N, number>>

/** The kernel number for a name, or the number itself. */
export function toNumber<N extends string>(table: NameTable<N>, v: N | number): number {
  if (typeof v === 'number') return v
  const n = table[v]
  if (n === undefined) throw new TypeError(`unknown name '${String(v)}'`)
  return n
}

/** The name for a kernel number, or the number when it has none. */
export function toName<N extends string>(table: NameTable<N>, n: number): N | number {
  for (const [name, v] of Object.entries(table) as Array<[N, number]>) if (v === n) return name
  return n
}

export const num = (v: AttrValues, key: string): number | undefined => {
  const x = v[key]
  return typeof x === 'number' ? x : undefined
}

export const big = (v: AttrValues, key: string): bigint | undefined => {
  const x = v[key]
  return typeof x === 'bigint' ? x : undefined
}

export const str = (v: AttrValues, key: string): string | undefined => {
  const x = v[key]
  return typeof x === 'string' ? x : undefined
}

export const nest = (v: AttrValues, key: string): AttrValues | undefined => {
  const x = v[key]
  return x !== null && typeof x === 'object' && !Buffer.isBuffer(x) && !Array.isArray(x) ? (x as AttrValues) : undefined
}

/** The NFTA_DATA_VALUE bytes inside a data-attrs nest (cmp data, immediate data, bitwise mask). */
export function dataValue(v: AttrValues, key: string): Buffer | undefined {
  const d = nest(v, key)
  if (!d || d.unknown || d.verdict !== undefined) return undefined
  const value = d.value
  return Buffer.isBuffer(value) ? value : undefined
}

/** Copies bytes into a Buffer (so decoded and hand-built expressions compare deep-equal). */
export const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b))
