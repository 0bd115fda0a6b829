/**
 * ct: loads a conntrack field (state, mark, status ...) into a register, or sets one.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          "ct\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_CT_KEY (2)           be32  NFT_CT_* (0 state, 2 status, 3 mark ...)
 *       NFTA_CT_DREG (1)          be32  destination register (load)
 *       NFTA_CT_DIRECTION (3)     u8    IP_CT_DIR_ORIGINAL 0 / REPLY 1 (per-direction keys)
 *       NFTA_CT_SREG (4)          be32  source register (set)
 *
 * The loaded value is in host byte order: `ct state` is a u32 bit set, NF_CT_STATE_BIT(x).
 *
 * `ct load state => reg 1`, nft 1.0.6:
 *   20000180 07000100 63740000             elem, name "ct"
 *   14000280 08000200 00000000             data, key 0 (state)
 *   08000100 00000001                      dreg 1
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import {
  NFTA_CT_DIRECTION, NFTA_CT_DREG, NFTA_CT_KEY, NFTA_CT_SREG, NFT_CT_AVGPKT, NFT_CT_BYTES, NFT_CT_DIRECTION,
  NFT_CT_DST, NFT_CT_DST_IP, NFT_CT_DST_IP6, NFT_CT_EVENTMASK, NFT_CT_EXPIRATION, NFT_CT_HELPER, NFT_CT_ID,
  NFT_CT_L3PROTOCOL, NFT_CT_LABELS, NFT_CT_MARK, NFT_CT_PKTS, NFT_CT_PROTOCOL, NFT_CT_PROTO_DST,
  NFT_CT_PROTO_SRC, NFT_CT_SECMARK, NFT_CT_SRC, NFT_CT_SRC_IP, NFT_CT_SRC_IP6, NFT_CT_STATE, NFT_CT_STATUS,
  NFT_CT_ZONE,
} from '../constants.js'
import { num, toName, toNumber, type NameTable } from './util.js'

export type CtKey =
  | 'state' | 'direction' | 'status' | 'mark' | 'secmark' | 'expiration' | 'helper' | 'l3protocol' | 'src'
  | 'dst' | 'protocol' | 'proto_src' | 'proto_dst' | 'labels' | 'pkts' | 'bytes' | 'avgpkt' | 'zone'
  | 'eventmask' | 'src_ip' | 'dst_ip' | 'src_ip6' | 'dst_ip6' | 'id'

export const CT_KEYS: NameTable<CtKey> = {
  state: NFT_CT_STATE, direction: NFT_CT_DIRECTION, status: NFT_CT_STATUS, mark: NFT_CT_MARK,
  secmark: NFT_CT_SECMARK, expiration: NFT_CT_EXPIRATION, helper: NFT_CT_HELPER, l3protocol: NFT_CT_L3PROTOCOL,
  src: NFT_CT_SRC, dst: NFT_CT_DST, protocol: NFT_CT_PROTOCOL, proto_src: NFT_CT_PROTO_SRC,
  proto_dst: NFT_CT_PROTO_DST, labels: NFT_CT_LABELS, pkts: NFT_CT_PKTS, bytes: NFT_CT_BYTES,
  avgpkt: NFT_CT_AVGPKT, zone: NFT_CT_ZONE, eventmask: NFT_CT_EVENTMASK, src_ip: NFT_CT_SRC_IP,
  dst_ip: NFT_CT_DST_IP, src_ip6: NFT_CT_SRC_IP6, dst_ip6: NFT_CT_DST_IP6, id: NFT_CT_ID,
}

export type CtDirection = 'original' | 'reply'

export interface CtExpr {
  kind: 'ct'
  key: CtKey | number
  dreg?: number
  sreg?: number
  direction?: CtDirection
}

export const ctAttrs = attrSet('expr-ct-attrs', {
  dreg: { id: NFTA_CT_DREG, type: 'u32' },
  key: { id: NFTA_CT_KEY, type: 'u32' },
  direction: { id: NFTA_CT_DIRECTION, type: 'u8' },
  sreg: { id: NFTA_CT_SREG, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeCt(e: CtExpr): AttrValues {
  return {
    key: toNumber(CT_KEYS, e.key),
    ...(e.dreg !== undefined ? { dreg: e.dreg } : {}),
    ...(e.direction !== undefined ? { direction: e.direction === 'original' ? 0 : 1 } : {}),
    ...(e.sreg !== undefined ? { sreg: e.sreg } : {}),
  }
}

export function decodeCt(v: AttrValues): CtExpr | undefined {
  const key = num(v, 'key')
  const dreg = num(v, 'dreg')
  const sreg = num(v, 'sreg')
  const dir = num(v, 'direction')
  if (key === undefined || (dreg === undefined) === (sreg === undefined)) return undefined
  if (dir !== undefined && dir !== 0 && dir !== 1) return undefined
  const out: CtExpr = { kind: 'ct', key: toName(CT_KEYS, key) }
  if (dreg !== undefined) out.dreg = dreg
  if (sreg !== undefined) out.sreg = sreg
  if (dir !== undefined) out.direction = dir === 0 ? 'original' : 'reply'
  return out
}
