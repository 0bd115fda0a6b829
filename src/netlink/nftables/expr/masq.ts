/**
 * masq: source NAT to the address of the outgoing interface (masquerade).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)              "masq\0"
 *     NFTA_EXPR_DATA (2|NESTED)       present even when empty
 *       NFTA_MASQ_FLAGS (1)           be32  NF_NAT_RANGE_* (random 4, persistent 8, fully-random 16),
 *                                           PROTO_SPECIFIED 2 with a port range
 *       NFTA_MASQ_REG_PROTO_MIN (2)   be32  register holding the first port
 *       NFTA_MASQ_REG_PROTO_MAX (3)   be32  register holding the last port
 *
 * `masq` (plain masquerade), nft 1.0.6:
 *   14000180 09000100 6d617371 00000000    elem, name "masq"
 *   04000280                               data, empty
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_MASQ_FLAGS, NFTA_MASQ_REG_PROTO_MAX, NFTA_MASQ_REG_PROTO_MIN } from '../constants.js'
import { num } from './util.js'

export interface MasqExpr {
  kind: 'masq'
  /** NF_NAT_RANGE_* bits. */
  flags?: number
  regProtoMin?: number
  regProtoMax?: number
}

export const masqAttrs = attrSet('expr-masq-attrs', {
  flags: { id: NFTA_MASQ_FLAGS, type: 'u32' },
  regProtoMin: { id: NFTA_MASQ_REG_PROTO_MIN, type: 'u32' },
  regProtoMax: { id: NFTA_MASQ_REG_PROTO_MAX, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeMasq(e: MasqExpr): AttrValues {
  const out: AttrValues = {}
  if (e.flags !== undefined) out.flags = e.flags
  if (e.regProtoMin !== undefined) out.regProtoMin = e.regProtoMin
  if (e.regProtoMax !== undefined) out.regProtoMax = e.regProtoMax
  return out
}

export function decodeMasq(v: AttrValues): MasqExpr {
  const out: MasqExpr = { kind: 'masq' }
  for (const k of ['flags', 'regProtoMin', 'regProtoMax'] as const) {
    const x = num(v, k)
    if (x !== undefined) out[k] = x
  }
  return out
}
