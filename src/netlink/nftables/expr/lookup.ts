/**
 * lookup: matches when the register's value is an element of a set (or, with dreg, loads the
 * value a map associates with it).
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)           "lookup\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_LOOKUP_SREG (2)       be32  register holding the key (a concatenation starts there)
 *       NFTA_LOOKUP_DREG (3)       be32  maps: register for the associated value
 *       NFTA_LOOKUP_SET (1)        string  set name
 *       NFTA_LOOKUP_SET_ID (4)     be32  the set's NFTA_SET_ID when it is created in the same batch
 *       NFTA_LOOKUP_FLAGS (5)      be32  NFT_LOOKUP_F_INV 1 (`!= @set`); the kernel dumps 0 too
 *
 * `lookup reg 1 set allowed`, nft 1.0.6 (set created in the same batch, id 1):
 *   30000180 0b000100 6c6f6f6b 75700000    elem, name "lookup"
 *   20000280 08000200 00000001             data, sreg 1
 *   0c000100 616c6c6f 77656400             set "allowed"
 *   08000400 00000001                      set id 1
 *
 * `lookup reg 1 set hostports4 dreg 1` (a map: the value lands in reg 1 and on), nft 1.0.6:
 *   3c000180 0b000100 6c6f6f6b 75700000    elem, name "lookup"
 *   2c000280 08000200 00000001             data, sreg 1
 *   08000300 00000001                      dreg 1
 *   0f000100 686f7374 706f7274 73340000    set "hostports4"
 *   08000400 00000001                      set id 1
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import { NFTA_LOOKUP_DREG, NFTA_LOOKUP_FLAGS, NFTA_LOOKUP_SET, NFTA_LOOKUP_SET_ID, NFTA_LOOKUP_SREG, NFT_LOOKUP_F_INV } from '../constants.js'
import { num, str } from './util.js'

export interface LookupExpr {
  kind: 'lookup'
  set: string
  sreg: number
  /** Transaction-local id of a set created in the same batch (filled in by the transaction). */
  setId?: number
  dreg?: number
  /** Match when the key is NOT in the set. */
  invert?: boolean
}

export const lookupAttrs = attrSet('expr-lookup-attrs', {
  set: { id: NFTA_LOOKUP_SET, type: 'string' },
  sreg: { id: NFTA_LOOKUP_SREG, type: 'u32' },
  dreg: { id: NFTA_LOOKUP_DREG, type: 'u32' },
  setId: { id: NFTA_LOOKUP_SET_ID, type: 'u32' },
  flags: { id: NFTA_LOOKUP_FLAGS, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

/** In nft's (libnftnl's) order: sreg, dreg, set, set id, flags. */
export function encodeLookup(e: LookupExpr): AttrValues {
  const out: AttrValues = { sreg: e.sreg }
  if (e.dreg !== undefined) out.dreg = e.dreg
  out.set = e.set
  if (e.setId !== undefined) out.setId = e.setId
  if (e.invert) out.flags = NFT_LOOKUP_F_INV
  return out
}

export function decodeLookup(v: AttrValues): LookupExpr | undefined {
  const set = str(v, 'set')
  const sreg = num(v, 'sreg')
  const flags = num(v, 'flags') ?? 0
  if (set === undefined || sreg === undefined || (flags & ~NFT_LOOKUP_F_INV) !== 0) return undefined
  const out: LookupExpr = { kind: 'lookup', set, sreg }
  const setId = num(v, 'setId')
  const dreg = num(v, 'dreg')
  if (setId !== undefined) out.setId = setId
  if (dreg !== undefined) out.dreg = dreg
  if (flags & NFT_LOOKUP_F_INV) out.invert = true
  return out
}
