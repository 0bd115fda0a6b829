/** Chains: spec -> chain-attrs values, and decoded chain-attrs -> Chain. */
import { InvalidArgumentError } from '../../errors.js'
import type { AttrValues } from '../core/schema.js'
import {
  HOOK_NUMBER, POLICY_NUMBER, PRIORITY_NUMBER, familyName, hookName, policyName,
  type ChainPolicy, type ChainType, type Family, type HookName, type PriorityName,
} from './names.js'

/** Where chains live: a table. */
export interface InTable {
  family: Family
  table: string
}

/** Names a chain. */
export interface ChainRef extends InTable {
  name: string
}

/**
 * A regular chain (only `name`), or a base chain attached to a hook (`hook`, with `type`
 * default 'filter' and `priority` default 0).
 */
export interface ChainSpec extends ChainRef {
  type?: ChainType
  hook?: HookName
  priority?: number | PriorityName
  /** Verdict for packets that fall off the end of a base chain. */
  policy?: ChainPolicy
  /** netdev/ingress chains: the device. */
  device?: string
  /** Fail with EEXIST when the chain exists (NLM_F_EXCL, `nft create chain`). */
  exclusive?: boolean
}

/** A chain as the kernel reports it. */
export interface Chain {
  family: Family | number
  table: string
  name: string
  handle: bigint
  type?: string
  hook?: HookName | number
  priority?: number
  policy?: ChainPolicy | number
  /** Number of rules and jumps referring to the chain. */
  use?: number
  flags?: number
}

/** "table ip podnet chain postrouting", for error messages. */
export const describeChain = (c: InTable & { name?: string; chain?: string }): string =>
  `table ${c.family} ${c.table} chain ${c.name ?? c.chain ?? ''}`

/** NEWCHAIN values in the order nft writes them: table, name, type, policy, hook. */
export function newChainValues(spec: ChainSpec): AttrValues {
  const v: AttrValues = { table: spec.table, name: spec.name }
  const isBase = spec.hook !== undefined
  if (!isBase && (spec.type !== undefined || spec.priority !== undefined || spec.policy !== undefined || spec.device !== undefined)) {
    throw new InvalidArgumentError('chain', `${describeChain(spec)}: type, priority, policy and device need a hook`)
  }
  if (!isBase) return v
  const hook = spec.hook as HookName
  const num = HOOK_NUMBER[hook]
  if (num === undefined) throw new InvalidArgumentError('chain.hook', `unknown hook '${String(hook)}'`)
  const prio = spec.priority ?? 0
  const priority = typeof prio === 'number' ? prio : PRIORITY_NUMBER[prio]
  if (priority === undefined || !Number.isInteger(priority)) throw new InvalidArgumentError('chain.priority', `bad priority '${String(prio)}'`)
  v.type = spec.type ?? 'filter'
  if (spec.policy !== undefined) v.policy = POLICY_NUMBER[spec.policy]
  v.hook = spec.device !== undefined ? { num, priority, dev: spec.device } : { num, priority }
  return v
}

export function chainFromValues(family: number, v: AttrValues): Chain {
  const out: Chain = {
    family: familyName(family),
    table: typeof v.table === 'string' ? v.table : '',
    name: typeof v.name === 'string' ? v.name : '',
    handle: typeof v.handle === 'bigint' ? v.handle : 0n,
  }
  if (typeof v.type === 'string') out.type = v.type
  const hook = v.hook as AttrValues | undefined
  if (hook && typeof hook.num === 'number') out.hook = hookName(hook.num)
  if (hook && typeof hook.priority === 'number') out.priority = hook.priority
  if (typeof v.policy === 'number') out.policy = policyName(v.policy)
  if (typeof v.use === 'number') out.use = v.use
  if (typeof v.flags === 'number') out.flags = v.flags
  return out
}
