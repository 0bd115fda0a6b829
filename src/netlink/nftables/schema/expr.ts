/**
 * expr-attrs: one expression element, NFTA_EXPR_NAME + NFTA_EXPR_DATA, whose data layout is
 * chosen by the name (the YNL spec's `expr-ops` sub-message). Names podnet has no table for
 * decode to raw bytes.
 */
import { attrSet } from '../../core/schema.js'
import { NFTA_EXPR_DATA, NFTA_EXPR_NAME } from '../constants.js'
import { EXPR_DATA_SETS } from '../expr/index.js'

export const exprAttrs = attrSet('expr-attrs', {
  name: { id: NFTA_EXPR_NAME, type: 'string' },
  data: { id: NFTA_EXPR_DATA, type: 'sub-message', selector: 'name', of: EXPR_DATA_SETS },
}, { byteOrder: 'be', nestedFlag: true })
