/**
 * immediate: loads a constant into a data register (NAT addresses and ports). Verdicts are
 * immediates into the verdict register; they have their own type, see verdict.ts.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)            "immediate\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_IMMEDIATE_DREG (1)     be32  register (1..4: 16-byte registers, 8..23: 4-byte ones)
 *       NFTA_IMMEDIATE_DATA (2|NESTED)
 *         NFTA_DATA_VALUE (1)       the constant, raw bytes
 *
 * `immediate reg 1 0x0200580a` (dnat to 10.88.0.2), nft 1.0.6:
 *   2c000180 0e000100 696d6d65 64696174 65000000    elem, name "immediate"
 *   18000280 08000100 00000001                      data, dreg 1
 *   0c000280 08000100 0a580002                      data { value 10.88.0.2 }
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_IMMEDIATE_DATA, NFTA_IMMEDIATE_DREG } from '../constants.js'
import { dataAttrs } from '../schema/data.js'
import { dataValue, num, toBuffer } from './util.js'

export interface ImmediateExpr {
  kind: 'immediate'
  dreg: number
  data: Buffer
}

export const immediateAttrs = attrSet('expr-immediate-attrs', {
  dreg: { id: NFTA_IMMEDIATE_DREG, type: 'u32' },
  data: { id: NFTA_IMMEDIATE_DATA, type: 'nest', set: dataAttrs },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeImmediate(e: ImmediateExpr): AttrValues {
  return { dreg: e.dreg, data: { value: toBuffer(e.data) } }
}

export function decodeImmediate(v: AttrValues): ImmediateExpr | undefined {
  const dreg = num(v, 'dreg')
  const data = dataValue(v, 'data')
  if (dreg === undefined || data === undefined) return undefined
  return { kind: 'immediate', dreg, data }
}
