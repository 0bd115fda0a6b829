/**
 * redir: destination NAT to the primary address of the incoming interface (or the local
 * host), optionally to another port.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)               "redir\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_REDIR_REG_PROTO_MIN (1)   be32  register holding the first port
 *       NFTA_REDIR_REG_PROTO_MAX (2)   be32  register holding the last port
 *       NFTA_REDIR_FLAGS (3)           be32  NF_NAT_RANGE_* (PROTO_SPECIFIED 2 with a port)
 *
 * `redir proto_min reg 1 flags 0x2` (redirect to :8080), nft 1.0.6:
 *   24000180 0a000100 72656469 72000000    elem, name "redir"
 *   14000280 08000100 00000001             data, reg proto min 1
 *   08000300 00000002                      flags 2
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_REDIR_FLAGS, NFTA_REDIR_REG_PROTO_MAX, NFTA_REDIR_REG_PROTO_MIN } from '../constants.js'
import { num } from './util.js'

export interface RedirExpr {
  kind: 'redir'
  regProtoMin?: number
  regProtoMax?: number
  /** NF_NAT_RANGE_* bits. */
  flags?: number
}

export const redirAttrs = attrSet('expr-redir-attrs', {
  regProtoMin: { id: NFTA_REDIR_REG_PROTO_MIN, type: 'u32' },
  regProtoMax: { id: NFTA_REDIR_REG_PROTO_MAX, type: 'u32' },
  flags: { id: NFTA_REDIR_FLAGS, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeRedir(e: RedirExpr): AttrValues {
  const out: AttrValues = {}
  if (e.regProtoMin !== undefined) out.regProtoMin = e.regProtoMin
  if (e.regProtoMax !== undefined) out.regProtoMax = e.regProtoMax
  if (e.flags !== undefined) out.flags = e.flags
  return out
}

export function decodeRedir(v: AttrValues): RedirExpr {
  const out: RedirExpr = { kind: 'redir' }
  for (const k of ['regProtoMin', 'regProtoMax', 'flags'] as const) {
    const x = num(v, k)
    if (x !== undefined) out[k] = x
  }
  return out
}
