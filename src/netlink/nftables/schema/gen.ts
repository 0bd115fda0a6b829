/** NFTA_GEN_* (gen-attrs): the ruleset generation, answered to NFT_MSG_GETGEN as NFT_MSG_NEWGEN. */
import { attrSet } from '../../core/schema.js'
import { NFTA_GEN_ID, NFTA_GEN_PROC_NAME, NFTA_GEN_PROC_PID, NFT_MSG_GETGEN, NFT_MSG_NEWGEN } from '../constants.js'
import { nftMessage } from './nfgen.js'

export const genAttrs = attrSet('gen-attrs', {
  id: { id: NFTA_GEN_ID, type: 'u32' },
  procPid: { id: NFTA_GEN_PROC_PID, type: 'u32' },
  procName: { id: NFTA_GEN_PROC_NAME, type: 'string' },
}, { byteOrder: 'be', nestedFlag: true })

export const GETGEN = nftMessage(NFT_MSG_GETGEN, genAttrs)
export const NEWGEN = nftMessage(NFT_MSG_NEWGEN, genAttrs)
