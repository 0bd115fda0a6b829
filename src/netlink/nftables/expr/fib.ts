/**
 * fib: looks the packet up in the routing table (FIB) and loads the result: the output
 * interface (index or name) or the address type of the looked-up address (RTN_LOCAL 2 ...).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          "fib\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_FIB_FLAGS (3)        be32  NFTA_FIB_F_SADDR 1, DADDR 2, MARK 4, IIF 8, OIF 16, PRESENT 32
 *       NFTA_FIB_RESULT (2)       be32  NFT_FIB_RESULT_OIF 1, OIFNAME 2, ADDRTYPE 3
 *       NFTA_FIB_DREG (1)         be32
 *
 * `fib daddr type => reg 1` (the `fib daddr type local` guard of DNAT rules), nft 1.0.6:
 *   28000180 08000100 66696200             elem, name "fib"
 *   1c000280 08000300 00000002             data, flags 2 (daddr)
 *   08000200 00000003                      result 3 (addrtype)
 *   08000100 00000001                      dreg 1
 * followed by `cmp eq reg 1 0x00000002` (RTN_LOCAL as a host-order u32).
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import {
  NFTA_FIB_DREG, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR, NFTA_FIB_F_IIF, NFTA_FIB_F_MARK, NFTA_FIB_F_OIF,
  NFTA_FIB_F_PRESENT, NFTA_FIB_F_SADDR, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE, NFT_FIB_RESULT_OIF,
  NFT_FIB_RESULT_OIFNAME,
} from '../constants.js'
import { num, toName, toNumber, type NameTable } from './util.js'

export type FibResult = 'oif' | 'oifname' | 'addrtype'
export type FibFlag = 'saddr' | 'daddr' | 'mark' | 'iif' | 'oif' | 'present'

export const FIB_RESULTS: NameTable<FibResult> = {
  oif: NFT_FIB_RESULT_OIF, oifname: NFT_FIB_RESULT_OIFNAME, addrtype: NFT_FIB_RESULT_ADDRTYPE,
}
export const FIB_FLAGS: NameTable<FibFlag> = {
  saddr: NFTA_FIB_F_SADDR, daddr: NFTA_FIB_F_DADDR, mark: NFTA_FIB_F_MARK, iif: NFTA_FIB_F_IIF,
  oif: NFTA_FIB_F_OIF, present: NFTA_FIB_F_PRESENT,
}

export interface FibExpr {
  kind: 'fib'
  /** Which fields key the lookup, in bit order. */
  flags: FibFlag[]
  result: FibResult | number
  dreg: number
}

export const fibAttrs = attrSet('expr-fib-attrs', {
  dreg: { id: NFTA_FIB_DREG, type: 'u32' },
  result: { id: NFTA_FIB_RESULT, type: 'u32' },
  flags: { id: NFTA_FIB_FLAGS, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeFib(e: FibExpr): AttrValues {
  const flags = e.flags.reduce((acc, f) => acc | toNumber(FIB_FLAGS, f), 0)
  return { flags, result: toNumber(FIB_RESULTS, e.result), dreg: e.dreg }
}

export function decodeFib(v: AttrValues): FibExpr | undefined {
  const bits = num(v, 'flags')
  const result = num(v, 'result')
  const dreg = num(v, 'dreg')
  if (bits === undefined || result === undefined || dreg === undefined) return undefined
  const flags: FibFlag[] = []
  let rest = bits
  for (const [name, bit] of Object.entries(FIB_FLAGS) as Array<[FibFlag, number]>) {
    if (bits & bit) { flags.push(name); rest &= ~bit }
  }
  if (rest) return undefined
  return { kind: 'fib', flags, result: toName(FIB_RESULTS, result), dreg }
}
