/** NFNL_BATCH_* (batch-attrs): attributes of NFNL_MSG_BATCH_BEGIN. */
import { attrSet } from '../../core/schema.js'
import { NFNL_BATCH_GENID } from '../constants.js'

export const batchAttrs = attrSet('batch-attrs', {
  /** Reject the batch with ERESTART unless the ruleset generation is still this one. */
  genid: { id: NFNL_BATCH_GENID, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })
