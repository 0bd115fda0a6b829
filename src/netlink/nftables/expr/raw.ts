/**
 * raw: any expression podnet has no typed form for (log, limit, reject, a newer kernel's
 * attributes ...). Decoding never fails on them: the name and the bytes inside
 * NFTA_EXPR_DATA are kept and written back unchanged.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          name, e.g. "log\0"
 *     NFTA_EXPR_DATA (2|NESTED)   `data`: the expression's own attributes, as received
 *
 * For a known expression whose attributes podnet cannot represent (an unknown attribute, a
 * bitwise shift ...), `data` is re-encoded from the decoded attributes.
 */
import type { AttrValues } from '../../core/schema.js'
import { NLA_F_NESTED } from '../../core/header.js'
import { NFTA_EXPR_DATA } from '../constants.js'

export interface RawExpr {
  kind: 'raw'
  name: string
  /** The TLVs inside NFTA_EXPR_DATA; undefined when the element had no data attribute. */
  data?: Buffer
}

/** Element values (expr-attrs) for a raw expression: the data is written as an opaque nest. */
export function encodeRawElement(e: RawExpr): AttrValues {
  return e.data === undefined
    ? { name: e.name }
    : { name: e.name, unknown: [{ id: NFTA_EXPR_DATA | NLA_F_NESTED, bytes: e.data }] }
}
