/** Rules: spec -> rule-attrs values (expressions, comment), and decoded rule-attrs -> Rule. */
import { DecodeError } from '../../errors.js'
import type { AttrValues } from '../core/schema.js'
import type { InTable } from './chain.js'
import { decodeExpr, encodeExpr, type Expr } from './expr/index.js'
import { familyName, type Family } from './names.js'
import { commentUdata, encodeUdata, splitRuleUdata } from './userdata.js'

export interface RuleSpec extends InTable {
  chain: string
  exprs: readonly Expr[]
  /** Shown by `nft list ruleset` (NFTNL_UDATA_RULE_COMMENT); at most 128 bytes. */
  comment?: string
  /** Handle of an existing rule: add after it (or before it with `insert`). */
  position?: bigint
  /** Prepend to the chain (or insert before `position`) instead of appending. */
  insert?: boolean
}

/** Names one rule. */
export interface RuleRef extends InTable {
  chain: string
  handle: bigint
}

/** A rule as the kernel reports it. */
export interface Rule {
  family: Family | number
  table: string
  chain: string
  handle: bigint
  exprs: Expr[]
  comment?: string
  /** Userdata TLVs other than the comment, raw. */
  userdata?: Buffer
  position?: bigint
}

/** NEWRULE values in the order nft writes them: table, chain, expressions, position, userdata. */
export function newRuleValues(spec: RuleSpec): AttrValues {
  const v: AttrValues = { table: spec.table, chain: spec.chain, expressions: spec.exprs.map(encodeExpr) }
  if (spec.position !== undefined) v.position = spec.position
  if (spec.comment !== undefined) v.userdata = commentUdata(spec.comment)
  return v
}

export function ruleFromValues(family: number, v: AttrValues): Rule {
  const exprs = Array.isArray(v.expressions) ? (v.expressions as AttrValues[]).map(decodeExpr) : []
  const rule: Rule = {
    family: familyName(family),
    table: typeof v.table === 'string' ? v.table : '',
    chain: typeof v.chain === 'string' ? v.chain : '',
    handle: typeof v.handle === 'bigint' ? v.handle : 0n,
    exprs,
  }
  if (typeof v.position === 'bigint') rule.position = v.position
  if (Buffer.isBuffer(v.userdata)) {
    try {
      const { comment, rest } = splitRuleUdata(v.userdata)
      if (comment !== undefined) rule.comment = comment
      if (rest.length) rule.userdata = encodeUdata(rest)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      rule.userdata = v.userdata // not libnftnl TLVs: keep as received
    }
  }
  return rule
}
