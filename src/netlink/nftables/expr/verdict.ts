/**
 * verdict: accept, drop, jump/goto a chain, return ... An `immediate` into the verdict
 * register (NFT_REG_VERDICT = 0) whose data is NFTA_DATA_VERDICT instead of a value.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)              "immediate\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_IMMEDIATE_DREG (1)       be32  0 (NFT_REG_VERDICT)
 *       NFTA_IMMEDIATE_DATA (2|NESTED)
 *         NFTA_DATA_VERDICT (2|NESTED)
 *           NFTA_VERDICT_CODE (1)     be32 signed: NF_DROP 0, NF_ACCEPT 1, NFT_CONTINUE -1,
 *                                     NFT_BREAK -2, NFT_JUMP -3, NFT_GOTO -4, NFT_RETURN -5
 *           NFTA_VERDICT_CHAIN (2)    string, jump and goto only
 *
 * `immediate reg 0 jump -> pn-dnat`, nft 1.0.6:
 *   3c000180 0e000100 696d6d65 64696174 65000000    elem, name "immediate"
 *   28000280 08000100 00000000                      data, dreg 0
 *   1c000280 18000280                               data { verdict {
 *   08000100 fffffffd                                 code -3 (jump)
 *   0c000200 706e2d64 6e617400                        chain "pn-dnat" } }
 */
import type { AttrValues } from '../../core/schema.js'
import { NFT_REG_VERDICT } from '../constants.js'
import { VERDICT_NUMBER, verdictName, type VerdictCode } from '../names.js'
import { nest, num, str } from './util.js'

export interface VerdictExpr {
  kind: 'verdict'
  code: VerdictCode
  /** The target of jump and goto. */
  chain?: string
}

/** Values of an `immediate` expression carrying the verdict. */
export function encodeVerdict(e: VerdictExpr): AttrValues {
  const needsChain = e.code === 'jump' || e.code === 'goto'
  if (needsChain !== (e.chain !== undefined)) {
    throw new TypeError(needsChain ? `verdict ${e.code} needs a chain` : `verdict ${e.code} takes no chain`)
  }
  const verdict: AttrValues = { code: VERDICT_NUMBER[e.code] }
  if (e.chain !== undefined) verdict.chain = e.chain
  return { dreg: NFT_REG_VERDICT, data: { verdict } }
}

/** The verdict in decoded immediate values, if it carries one podnet knows. */
export function decodeVerdict(v: AttrValues): VerdictExpr | undefined {
  const data = nest(v, 'data')
  const verdict = data && nest(data, 'verdict')
  if (!data || !verdict || data.value !== undefined || data.unknown || verdict.unknown) return undefined
  if (num(v, 'dreg') !== NFT_REG_VERDICT || verdict.chainId !== undefined) return undefined
  const codeNum = num(verdict, 'code')
  const code = codeNum === undefined ? undefined : verdictName(codeNum)
  if (code === undefined) return undefined
  const chain = str(verdict, 'chain')
  if ((code === 'jump' || code === 'goto') !== (chain !== undefined)) return undefined
  return chain !== undefined ? { kind: 'verdict', code, chain } : { kind: 'verdict', code }
}
