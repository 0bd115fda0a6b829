/**
 * payload: loads `len` bytes at `offset` from a packet header into a register (or, with sreg,
 * writes a register into the packet, optionally fixing a checksum).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)            "payload\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_PAYLOAD_SREG (5)       be32  source register (store only)
 *       NFTA_PAYLOAD_DREG (1)       be32  destination register (load)
 *       NFTA_PAYLOAD_BASE (2)       be32  NFT_PAYLOAD_{LL,NETWORK,TRANSPORT,INNER}_HEADER
 *       NFTA_PAYLOAD_OFFSET (3)     be32  byte offset from the base
 *       NFTA_PAYLOAD_LEN (4)        be32  bytes (<= 16 for a load into a 16-byte register)
 *       NFTA_PAYLOAD_CSUM_TYPE (6)  be32  store only: NFT_PAYLOAD_CSUM_*
 *       NFTA_PAYLOAD_CSUM_OFFSET (7) be32 store only
 *       NFTA_PAYLOAD_CSUM_FLAGS (8) be32  store only: NFT_PAYLOAD_L4CSUM_PSEUDOHDR
 *
 * `payload load 2b @ network header + 12 => reg 1` (first half of ip saddr), nft 1.0.6:
 *   34000180 0c000100 7061796c 6f616400    elem, name "payload"
 *   24000280 08000100 00000001             data, dreg 1
 *   08000200 00000001 08000300 0000000c    base 1 (network), offset 12
 *   08000400 00000002                      len 2
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import {
  NFTA_PAYLOAD_BASE, NFTA_PAYLOAD_CSUM_FLAGS, NFTA_PAYLOAD_CSUM_OFFSET, NFTA_PAYLOAD_CSUM_TYPE,
  NFTA_PAYLOAD_DREG, NFTA_PAYLOAD_LEN, NFTA_PAYLOAD_OFFSET, NFTA_PAYLOAD_SREG, NFT_PAYLOAD_INNER_HEADER,
  NFT_PAYLOAD_LL_HEADER, NFT_PAYLOAD_NETWORK_HEADER, NFT_PAYLOAD_TRANSPORT_HEADER,
} from '../constants.js'
import { num, toName, toNumber, type NameTable } from './util.js'

export type PayloadBase = 'll' | 'network' | 'transport' | 'inner'

export const PAYLOAD_BASES: NameTable<PayloadBase> = {
  ll: NFT_PAYLOAD_LL_HEADER, network: NFT_PAYLOAD_NETWORK_HEADER,
  transport: NFT_PAYLOAD_TRANSPORT_HEADER, inner: NFT_PAYLOAD_INNER_HEADER,
}

export interface PayloadExpr {
  kind: 'payload'
  base: PayloadBase | number
  offset: number
  len: number
  /** Load into this register. */
  dreg?: number
  /** Store this register into the packet. */
  sreg?: number
  csumType?: number
  csumOffset?: number
  csumFlags?: number
}

export const payloadAttrs = attrSet('expr-payload-attrs', {
  dreg: { id: NFTA_PAYLOAD_DREG, type: 'u32' },
  base: { id: NFTA_PAYLOAD_BASE, type: 'u32' },
  offset: { id: NFTA_PAYLOAD_OFFSET, type: 'u32' },
  len: { id: NFTA_PAYLOAD_LEN, type: 'u32' },
  sreg: { id: NFTA_PAYLOAD_SREG, type: 'u32' },
  csumType: { id: NFTA_PAYLOAD_CSUM_TYPE, type: 'u32' },
  csumOffset: { id: NFTA_PAYLOAD_CSUM_OFFSET, type: 'u32' },
  csumFlags: { id: NFTA_PAYLOAD_CSUM_FLAGS, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodePayload(e: PayloadExpr): AttrValues {
  return {
    ...(e.sreg !== undefined ? { sreg: e.sreg } : {}),
    ...(e.dreg !== undefined ? { dreg: e.dreg } : {}),
    base: toNumber(PAYLOAD_BASES, e.base),
    offset: e.offset,
    len: e.len,
    ...(e.csumType !== undefined ? { csumType: e.csumType } : {}),
    ...(e.csumOffset !== undefined ? { csumOffset: e.csumOffset } : {}),
    ...(e.csumFlags !== undefined ? { csumFlags: e.csumFlags } : {}),
  }
}

export function decodePayload(v: AttrValues): PayloadExpr | undefined {
  const base = num(v, 'base')
  const offset = num(v, 'offset')
  const len = num(v, 'len')
  const dreg = num(v, 'dreg')
  const sreg = num(v, 'sreg')
  if (base === undefined || offset === undefined || len === undefined) return undefined
  if ((dreg === undefined) === (sreg === undefined)) return undefined
  const out: PayloadExpr = { kind: 'payload', base: toName(PAYLOAD_BASES, base), offset, len }
  if (dreg !== undefined) out.dreg = dreg
  if (sreg !== undefined) {
    out.sreg = sreg
    // the kernel dumps the checksum fields of every store; type none (0) with no offset/flags is the default
    const csumType = num(v, 'csumType')
    const csumOffset = num(v, 'csumOffset')
    const csumFlags = num(v, 'csumFlags')
    if (csumType) out.csumType = csumType
    if (csumOffset) out.csumOffset = csumOffset
    if (csumFlags) out.csumFlags = csumFlags
  }
  return out
}
