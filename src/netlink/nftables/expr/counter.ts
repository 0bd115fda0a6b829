/**
 * counter: counts the packets and bytes that reach it.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)            "counter\0"
 *     NFTA_EXPR_DATA (2|NESTED)     empty when created by nft; the kernel dumps:
 *       NFTA_COUNTER_BYTES (1)      be64
 *       NFTA_COUNTER_PACKETS (2)    be64
 *       NFTA_COUNTER_PAD (3)        alignment padding (ignored)
 *
 * `counter`, nft 1.0.6:
 *   14000180 0c000100 636f756e 74657200    elem, name "counter"
 *   04000280                               data, empty
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD } from '../constants.js'
import { big } from './util.js'

export interface CounterExpr {
  kind: 'counter'
  bytes?: bigint
  packets?: bigint
}

export const counterExprAttrs = attrSet('expr-counter-attrs', {
  bytes: { id: NFTA_COUNTER_BYTES, type: 'u64' },
  packets: { id: NFTA_COUNTER_PACKETS, type: 'u64' },
  pad: { id: NFTA_COUNTER_PAD, type: 'binary' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeCounter(e: CounterExpr): AttrValues {
  const out: AttrValues = {}
  if (e.bytes !== undefined) out.bytes = e.bytes
  if (e.packets !== undefined) out.packets = e.packets
  return out
}

export function decodeCounter(v: AttrValues): CounterExpr {
  const out: CounterExpr = { kind: 'counter' }
  const bytes = big(v, 'bytes')
  const packets = big(v, 'packets')
  if (bytes !== undefined) out.bytes = bytes
  if (packets !== undefined) out.packets = packets
  return out
}
