/**
 * NFTA_DATA_* (data-attrs) and NFTA_VERDICT_* (verdict-attrs): register contents as carried by
 * cmp, immediate, bitwise and set elements. A value is raw bytes in packet order; a verdict is
 * a code (NF_ACCEPT, NFT_JUMP ...) and, for jump/goto, a chain.
 *
 *   NFTA_DATA_VALUE(1)     binary, up to 64 bytes
 *   NFTA_DATA_VERDICT(2)   nest { NFTA_VERDICT_CODE(1) be32 signed, NFTA_VERDICT_CHAIN(2) string,
 *                                 NFTA_VERDICT_CHAIN_ID(3) be32 }
 */
import { attrSet } from '../../core/schema.js'
import { NFTA_DATA_VALUE, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CHAIN_ID, NFTA_VERDICT_CODE } from '../constants.js'

const opts = { byteOrder: 'be', nestedFlag: true } as const

export const verdictAttrs = attrSet('verdict-attrs', {
  code: { id: NFTA_VERDICT_CODE, type: 's32' },
  chain: { id: NFTA_VERDICT_CHAIN, type: 'string' },
  chainId: { id: NFTA_VERDICT_CHAIN_ID, type: 'u32' },
}, opts)

export const dataAttrs = attrSet('data-attrs', {
  value: { id: NFTA_DATA_VALUE, type: 'binary' },
  verdict: { id: NFTA_DATA_VERDICT, type: 'nest', set: verdictAttrs },
}, opts)
