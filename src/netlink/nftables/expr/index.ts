/**
 * The expression registry: wire name -> attribute table and typed codec, the `Expr` union, and
 * the element-level encode/decode used by rules.
 *
 * Every rule expression travels as one NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA } whose
 * data layout is chosen by the name (a sub-message in the kernel's YNL spec). Decoding is total:
 * an expression podnet does not know, or cannot represent, comes back as `{ kind: 'raw' }`;
 * only malformed bytes raise DecodeError.
 */
import { encodeAttrs, type AttrSet, type AttrValues } from '../../core/schema.js'
import { Writer } from '../../core/writer.js'
import { bitwiseAttrs, decodeBitwise, encodeBitwise, type BitwiseExpr } from './bitwise.js'
import { cmpAttrs, decodeCmp, encodeCmp, type CmpExpr } from './cmp.js'
import { counterExprAttrs, decodeCounter, encodeCounter, type CounterExpr } from './counter.js'
import { ctAttrs, decodeCt, encodeCt, type CtExpr } from './ct.js'
import { decodeFib, encodeFib, fibAttrs, type FibExpr } from './fib.js'
import { decodeImmediate, encodeImmediate, immediateAttrs, type ImmediateExpr } from './immediate.js'
import { decodeLookup, encodeLookup, lookupAttrs, type LookupExpr } from './lookup.js'
import { decodeMasq, encodeMasq, masqAttrs, type MasqExpr } from './masq.js'
import { decodeMeta, encodeMeta, metaAttrs, type MetaExpr } from './meta.js'
import { decodeNat, encodeNat, natAttrs, type NatExpr } from './nat.js'
import { decodePayload, encodePayload, payloadAttrs, type PayloadExpr } from './payload.js'
import { encodeRawElement, type RawExpr } from './raw.js'
import { decodeRedir, encodeRedir, redirAttrs, type RedirExpr } from './redir.js'
import { decodeVerdict, encodeVerdict, type VerdictExpr } from './verdict.js'

export type { BitwiseExpr } from './bitwise.js'
export type { CmpExpr, CmpOp } from './cmp.js'
export type { CounterExpr } from './counter.js'
export type { CtDirection, CtExpr, CtKey } from './ct.js'
export type { FibExpr, FibFlag, FibResult } from './fib.js'
export type { ImmediateExpr } from './immediate.js'
export type { LookupExpr } from './lookup.js'
export type { MasqExpr } from './masq.js'
export type { MetaExpr, MetaKey } from './meta.js'
export type { NatExpr } from './nat.js'
export type { PayloadBase, PayloadExpr } from './payload.js'
export type { RawExpr } from './raw.js'
export type { RedirExpr } from './redir.js'
export type { VerdictExpr } from './verdict.js'

/** One nf_tables expression, as podnet builds and decodes it. */
export type Expr =
  | MetaExpr | PayloadExpr | CmpExpr | BitwiseExpr | ImmediateExpr | VerdictExpr | CtExpr | FibExpr
  | NatExpr | MasqExpr | RedirExpr | CounterExpr | LookupExpr | RawExpr

interface Codec {
  readonly attrs: AttrSet
  decode(v: AttrValues): Expr | undefined
}

/** Wire name -> data table + decoder. `immediate` yields either an ImmediateExpr or a VerdictExpr. */
const CODECS: Readonly<Record<string, Codec>> = {
  meta: { attrs: metaAttrs, decode: decodeMeta },
  payload: { attrs: payloadAttrs, decode: decodePayload },
  cmp: { attrs: cmpAttrs, decode: decodeCmp },
  bitwise: { attrs: bitwiseAttrs, decode: decodeBitwise },
  immediate: { attrs: immediateAttrs, decode: (v) => decodeVerdict(v) ?? decodeImmediate(v) },
  ct: { attrs: ctAttrs, decode: decodeCt },
  fib: { attrs: fibAttrs, decode: decodeFib },
  nat: { attrs: natAttrs, decode: decodeNat },
  masq: { attrs: masqAttrs, decode: decodeMasq },
  redir: { attrs: redirAttrs, decode: decodeRedir },
  counter: { attrs: counterExprAttrs, decode: decodeCounter },
  lookup: { attrs: lookupAttrs, decode: decodeLookup },
}

/** The NFTA_EXPR_DATA layout of each expression name podnet knows (the sub-message table). */
export const EXPR_DATA_SETS: Readonly<Record<string, AttrSet>> = Object.fromEntries(
  Object.entries(CODECS).map(([name, c]) => [name, c.attrs]),
)

/** Values of one expr-attrs element: { name, data } (data ordered as nft writes it). */
export function encodeExpr(e: Expr): AttrValues {
  switch (e.kind) {
    case 'meta': return { name: 'meta', data: encodeMeta(e) }
    case 'payload': return { name: 'payload', data: encodePayload(e) }
    case 'cmp': return { name: 'cmp', data: encodeCmp(e) }
    case 'bitwise': return { name: 'bitwise', data: encodeBitwise(e) }
    case 'immediate': return { name: 'immediate', data: encodeImmediate(e) }
    case 'verdict': return { name: 'immediate', data: encodeVerdict(e) }
    case 'ct': return { name: 'ct', data: encodeCt(e) }
    case 'fib': return { name: 'fib', data: encodeFib(e) }
    case 'nat': return { name: 'nat', data: encodeNat(e) }
    case 'masq': return { name: 'masq', data: encodeMasq(e) }
    case 'redir': return { name: 'redir', data: encodeRedir(e) }
    case 'counter': return { name: 'counter', data: encodeCounter(e) }
    case 'lookup': return { name: 'lookup', data: encodeLookup(e) }
    case 'raw': return encodeRawElement(e)
  }
}

/** Typed expression from decoded expr-attrs values; `raw` when podnet cannot represent it. */
export function decodeExpr(v: AttrValues): Expr {
  const name = typeof v.name === 'string' ? v.name : ''
  const data = v.data
  if (data === undefined) return { kind: 'raw', name }
  if (Buffer.isBuffer(data)) return { kind: 'raw', name, data } // a name without a table: bytes as received
  const codec = CODECS[name]
  const values = data as AttrValues
  const typed = codec && !values.unknown ? codec.decode(values) : undefined
  if (typed) return typed
  const w = new Writer(128)
  if (codec) encodeAttrs(codec.attrs, values, w)
  return { kind: 'raw', name, data: w.toBuffer() }
}
