/** NFTA_RULE_* (rule-attrs): a rule is its table, chain, handle and a list of expressions. */
import { attrSet } from '../../core/schema.js'
import {
  NFTA_LIST_ELEM, NFTA_RULE_CHAIN, NFTA_RULE_CHAIN_ID, NFTA_RULE_EXPRESSIONS, NFTA_RULE_HANDLE, NFTA_RULE_ID,
  NFTA_RULE_PAD, NFTA_RULE_POSITION, NFTA_RULE_POSITION_ID, NFTA_RULE_TABLE, NFTA_RULE_USERDATA,
  NFT_MSG_DELRULE, NFT_MSG_GETRULE, NFT_MSG_NEWRULE,
} from '../constants.js'
import { NFT_MSG_DESTROYRULE } from '../constants-extra.js'
import { exprAttrs } from './expr.js'
import { nftMessage } from './nfgen.js'

export const ruleAttrs = attrSet('rule-attrs', {
  table: { id: NFTA_RULE_TABLE, type: 'string' },
  chain: { id: NFTA_RULE_CHAIN, type: 'string' },
  handle: { id: NFTA_RULE_HANDLE, type: 'u64' },
  /** expr-list-attrs: every element is NFTA_LIST_ELEM. */
  expressions: { id: NFTA_RULE_EXPRESSIONS, type: 'nest-array', set: exprAttrs, elemId: NFTA_LIST_ELEM },
  position: { id: NFTA_RULE_POSITION, type: 'u64' },
  userdata: { id: NFTA_RULE_USERDATA, type: 'binary' },
  pad: { id: NFTA_RULE_PAD, type: 'binary' },
  id: { id: NFTA_RULE_ID, type: 'u32' },
  positionId: { id: NFTA_RULE_POSITION_ID, type: 'u32' },
  chainId: { id: NFTA_RULE_CHAIN_ID, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export const NEWRULE = nftMessage(NFT_MSG_NEWRULE, ruleAttrs)
export const GETRULE = nftMessage(NFT_MSG_GETRULE, ruleAttrs)
export const DELRULE = nftMessage(NFT_MSG_DELRULE, ruleAttrs)
export const DESTROYRULE = nftMessage(NFT_MSG_DESTROYRULE, ruleAttrs)
