/**
 * bitwise: dreg = (sreg & mask) ^ xor over `len` bytes. Used for non-byte-aligned prefixes
 * (ip saddr 10.80.0.0/12) and flag tests (ct state established,related).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          "bitwise\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_BITWISE_SREG (1)     be32
 *       NFTA_BITWISE_DREG (2)     be32
 *       NFTA_BITWISE_LEN (3)      be32  bytes
 *       NFTA_BITWISE_MASK (4|NESTED) { NFTA_DATA_VALUE (1) len bytes }
 *       NFTA_BITWISE_XOR (5|NESTED)  { NFTA_DATA_VALUE (1) len bytes }
 *     (the kernel also dumps NFTA_BITWISE_OP (6) = NFT_BITWISE_MASK_XOR 0; the shift and
 *      boolean ops are decoded as `raw`)
 *
 * `bitwise reg 1 = (reg 1 & 0x0000f0ff) ^ 0` (ip daddr 10.80.0.0/12), nft 1.0.6:
 *   44000180 0c000100 62697477 69736500    elem, name "bitwise"
 *   34000280 08000100 00000001             data, sreg 1
 *   08000200 00000001 08000300 00000004    dreg 1, len 4
 *   0c000480 08000100 fff00000             mask ff f0 00 00
 *   0c000580 08000100 00000000             xor 0
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_BITWISE_DATA, NFTA_BITWISE_DREG, NFTA_BITWISE_LEN, NFTA_BITWISE_MASK, NFTA_BITWISE_OP, NFTA_BITWISE_SREG, NFTA_BITWISE_XOR, NFT_BITWISE_MASK_XOR } from '../constants.js'
import { dataAttrs } from '../schema/data.js'
import { dataValue, num, toBuffer } from './util.js'

export interface BitwiseExpr {
  kind: 'bitwise'
  sreg: number
  dreg: number
  len: number
  mask: Buffer
  xor: Buffer
}

export const bitwiseAttrs = attrSet('expr-bitwise-attrs', {
  sreg: { id: NFTA_BITWISE_SREG, type: 'u32' },
  dreg: { id: NFTA_BITWISE_DREG, type: 'u32' },
  len: { id: NFTA_BITWISE_LEN, type: 'u32' },
  mask: { id: NFTA_BITWISE_MASK, type: 'nest', set: dataAttrs },
  xor: { id: NFTA_BITWISE_XOR, type: 'nest', set: dataAttrs },
  op: { id: NFTA_BITWISE_OP, type: 'u32' },
  data: { id: NFTA_BITWISE_DATA, type: 'nest', set: dataAttrs },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeBitwise(e: BitwiseExpr): AttrValues {
  return { sreg: e.sreg, dreg: e.dreg, len: e.len, mask: { value: toBuffer(e.mask) }, xor: { value: toBuffer(e.xor) } }
}

export function decodeBitwise(v: AttrValues): BitwiseExpr | undefined {
  const op = num(v, 'op')
  if (op !== undefined && op !== NFT_BITWISE_MASK_XOR) return undefined
  if (v.data !== undefined) return undefined
  const sreg = num(v, 'sreg')
  const dreg = num(v, 'dreg')
  const len = num(v, 'len')
  const mask = dataValue(v, 'mask')
  const xor = dataValue(v, 'xor')
  if (sreg === undefined || dreg === undefined || len === undefined || !mask || !xor) return undefined
  return { kind: 'bitwise', sreg, dreg, len, mask, xor }
}
