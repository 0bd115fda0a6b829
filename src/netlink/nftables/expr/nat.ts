/**
 * nat: source or destination NAT to the address (range) and port (range) held in registers,
 * loaded before by `immediate` expressions.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)              "nat\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_NAT_TYPE (1)             be32  NFT_NAT_SNAT 0, NFT_NAT_DNAT 1
 *       NFTA_NAT_FAMILY (2)           be32  NFPROTO_IPV4 2 / NFPROTO_IPV6 10
 *       NFTA_NAT_REG_ADDR_MIN (3)     be32  register holding the (first) address
 *       NFTA_NAT_REG_ADDR_MAX (4)     be32  register holding the last address of a range
 *       NFTA_NAT_REG_PROTO_MIN (5)    be32  register holding the (first) port, network order
 *       NFTA_NAT_REG_PROTO_MAX (6)    be32  register holding the last port of a range
 *       NFTA_NAT_FLAGS (7)            be32  NF_NAT_RANGE_* (PROTO_SPECIFIED 2 when a port is given)
 *
 * `nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2` (dnat to 10.88.0.2:80), nft 1.0.6:
 *   38000180 08000100 6e617400             elem, name "nat"
 *   2c000280 08000100 00000001             data, type 1 (dnat)
 *   08000200 00000002                      family 2 (ip)
 *   08000300 00000001                      reg addr min 1
 *   08000500 00000002                      reg proto min 2
 *   08000700 00000002                      flags 2 (NF_NAT_RANGE_PROTO_SPECIFIED)
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import {
  NFTA_NAT_FAMILY, NFTA_NAT_FLAGS, NFTA_NAT_REG_ADDR_MAX, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MAX,
  NFTA_NAT_REG_PROTO_MIN, NFTA_NAT_TYPE, NFT_NAT_DNAT, NFT_NAT_SNAT,
} from '../constants.js'
import { FAMILY_NUMBER, familyName, type Family } from '../names.js'
import { num } from './util.js'

export interface NatExpr {
  kind: 'nat'
  type: 'snat' | 'dnat'
  family: Family | number
  regAddrMin?: number
  regAddrMax?: number
  regProtoMin?: number
  regProtoMax?: number
  /** NF_NAT_RANGE_* bits. */
  flags?: number
}

export const natAttrs = attrSet('expr-nat-attrs', {
  type: { id: NFTA_NAT_TYPE, type: 'u32' },
  family: { id: NFTA_NAT_FAMILY, type: 'u32' },
  regAddrMin: { id: NFTA_NAT_REG_ADDR_MIN, type: 'u32' },
  regAddrMax: { id: NFTA_NAT_REG_ADDR_MAX, type: 'u32' },
  regProtoMin: { id: NFTA_NAT_REG_PROTO_MIN, type: 'u32' },
  regProtoMax: { id: NFTA_NAT_REG_PROTO_MAX, type: 'u32' },
  flags: { id: NFTA_NAT_FLAGS, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeNat(e: NatExpr): AttrValues {
  const out: AttrValues = {
    type: e.type === 'snat' ? NFT_NAT_SNAT : NFT_NAT_DNAT,
    family: typeof e.family === 'number' ? e.family : FAMILY_NUMBER[e.family],
  }
  if (e.regAddrMin !== undefined) out.regAddrMin = e.regAddrMin
  if (e.regAddrMax !== undefined) out.regAddrMax = e.regAddrMax
  if (e.regProtoMin !== undefined) out.regProtoMin = e.regProtoMin
  if (e.regProtoMax !== undefined) out.regProtoMax = e.regProtoMax
  if (e.flags !== undefined) out.flags = e.flags
  return out
}

export function decodeNat(v: AttrValues): NatExpr | undefined {
  const type = num(v, 'type')
  const family = num(v, 'family')
  if ((type !== NFT_NAT_SNAT && type !== NFT_NAT_DNAT) || family === undefined) return undefined
  const out: NatExpr = { kind: 'nat', type: type === NFT_NAT_SNAT ? 'snat' : 'dnat', family: familyName(family) }
  for (const k of ['regAddrMin', 'regAddrMax', 'regProtoMin', 'regProtoMax', 'flags'] as const) {
    const x = num(v, k)
    if (x !== undefined) out[k] = x
  }
  return out
}
