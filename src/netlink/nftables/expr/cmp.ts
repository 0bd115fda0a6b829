/**
 * cmp: compares a register with a constant; on mismatch the rule stops (NFT_BREAK).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          "cmp\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_CMP_SREG (1)         be32  register
 *       NFTA_CMP_OP (2)           be32  NFT_CMP_EQ 0, NEQ 1, LT 2, LTE 3, GT 4, GTE 5
 *       NFTA_CMP_DATA (3|NESTED)
 *         NFTA_DATA_VALUE (1)     the constant, raw bytes in register order (1..16 bytes)
 *
 * `cmp eq reg 1 0x0000580a` (ip saddr 10.88.0.0/16 after a 2-byte payload load), nft 1.0.6:
 *   2c000180 08000100 636d7000             elem, name "cmp"
 *   20000280 08000100 00000001             data, sreg 1
 *   08000200 00000000                      op eq
 *   0c000380 06000100 0a580000             data { value 0a 58 } (+ 2 bytes padding)
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_CMP_DATA, NFTA_CMP_OP, NFTA_CMP_SREG, NFT_CMP_EQ, NFT_CMP_GT, NFT_CMP_GTE, NFT_CMP_LT, NFT_CMP_LTE, NFT_CMP_NEQ } from '../constants.js'
import { dataAttrs } from '../schema/data.js'
import { dataValue, num, toBuffer, toName, toNumber, type NameTable } from './util.js'

export type CmpOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'

export const CMP_OPS: NameTable<CmpOp> = {
  eq: NFT_CMP_EQ, neq: NFT_CMP_NEQ, lt: NFT_CMP_LT, lte: NFT_CMP_LTE, gt: NFT_CMP_GT, gte: NFT_CMP_GTE,
}

export interface CmpExpr {
  kind: 'cmp'
  op: CmpOp
  sreg: number
  data: Buffer
}

export const cmpAttrs = attrSet('expr-cmp-attrs', {
  sreg: { id: NFTA_CMP_SREG, type: 'u32' },
  op: { id: NFTA_CMP_OP, type: 'u32' },
  data: { id: NFTA_CMP_DATA, type: 'nest', set: dataAttrs },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeCmp(e: CmpExpr): AttrValues {
  return { sreg: e.sreg, op: toNumber(CMP_OPS, e.op), data: { value: toBuffer(e.data) } }
}

export function decodeCmp(v: AttrValues): CmpExpr | undefined {
  const sreg = num(v, 'sreg')
  const op = num(v, 'op')
  const data = dataValue(v, 'data')
  if (sreg === undefined || op === undefined || data === undefined) return undefined
  const name = toName(CMP_OPS, op)
  if (typeof name === 'number') return undefined
  return { kind: 'cmp', op: name, sreg, data }
}
