/**
 * NFTA_SET_* (set-attrs), NFTA_SET_ELEM_LIST_* (setelem-list-attrs) and NFTA_SET_ELEM_*
 * (setelem-attrs). Elements are written as a list of nests numbered 1, 2, 3 ... as libnftnl does.
 */
import { attrSet } from '../../core/schema.js'
import {
  NFTA_LIST_ELEM, NFTA_SET_DATA_LEN, NFTA_SET_DATA_TYPE, NFTA_SET_DESC, NFTA_SET_DESC_CONCAT, NFTA_SET_DESC_SIZE,
  NFTA_SET_ELEM_DATA, NFTA_SET_ELEM_EXPR, NFTA_SET_ELEM_EXPRESSIONS, NFTA_SET_EXPR, NFTA_SET_EXPRESSIONS, NFTA_SET_FIELD_LEN,
  NFTA_SET_ELEM_EXPIRATION, NFTA_SET_ELEM_FLAGS, NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_KEY_END,
  NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_SET_ID, NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_ELEM_OBJREF, NFTA_SET_ELEM_PAD, NFTA_SET_ELEM_TIMEOUT, NFTA_SET_ELEM_USERDATA, NFTA_SET_FLAGS,
  NFTA_SET_GC_INTERVAL, NFTA_SET_HANDLE, NFTA_SET_ID, NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME,
  NFTA_SET_OBJ_TYPE, NFTA_SET_PAD, NFTA_SET_POLICY, NFTA_SET_TABLE, NFTA_SET_TIMEOUT, NFTA_SET_USERDATA,
  NFT_MSG_DELSET, NFT_MSG_DELSETELEM, NFT_MSG_GETSET, NFT_MSG_GETSETELEM, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM,
} from '../constants.js'
import { NFT_MSG_DESTROYSET, NFT_MSG_DESTROYSETELEM } from '../constants-extra.js'
import { dataAttrs } from './data.js'
import { exprAttrs } from './expr.js'
import { nftMessage } from './nfgen.js'

const opts = { byteOrder: 'be', nestedFlag: true } as const

/** One field of a concatenated key: its length in bytes before padding (4 for ipv4_addr, 1 for inet_proto). */
export const setFieldAttrs = attrSet('set-field-attrs', {
  len: { id: NFTA_SET_FIELD_LEN, type: 'u32' },
}, opts)

export const setDescAttrs = attrSet('set-desc-attrs', {
  size: { id: NFTA_SET_DESC_SIZE, type: 'u32' },
  /** Field lengths of a concatenated key, each in an NFTA_LIST_ELEM (nft sends them for interval concat sets). */
  concat: { id: NFTA_SET_DESC_CONCAT, type: 'nest-array', set: setFieldAttrs, elemId: NFTA_LIST_ELEM },
}, opts)

export const setAttrs = attrSet('set-attrs', {
  table: { id: NFTA_SET_TABLE, type: 'string' },
  name: { id: NFTA_SET_NAME, type: 'string' },
  flags: { id: NFTA_SET_FLAGS, type: 'u32' },
  keyType: { id: NFTA_SET_KEY_TYPE, type: 'u32' },
  keyLen: { id: NFTA_SET_KEY_LEN, type: 'u32' },
  dataType: { id: NFTA_SET_DATA_TYPE, type: 'u32' },
  dataLen: { id: NFTA_SET_DATA_LEN, type: 'u32' },
  policy: { id: NFTA_SET_POLICY, type: 'u32' },
  desc: { id: NFTA_SET_DESC, type: 'nest', set: setDescAttrs },
  id: { id: NFTA_SET_ID, type: 'u32' },
  timeout: { id: NFTA_SET_TIMEOUT, type: 'u64' },
  gcInterval: { id: NFTA_SET_GC_INTERVAL, type: 'u32' },
  userdata: { id: NFTA_SET_USERDATA, type: 'binary' },
  pad: { id: NFTA_SET_PAD, type: 'binary' },
  objType: { id: NFTA_SET_OBJ_TYPE, type: 'u32' },
  handle: { id: NFTA_SET_HANDLE, type: 'u64' },
  /** The one stateful expression every element gets (`counter` in the set declaration). */
  expr: { id: NFTA_SET_EXPR, type: 'nest', set: exprAttrs },
  /** Several such expressions, each an NFTA_LIST_ELEM. */
  expressions: { id: NFTA_SET_EXPRESSIONS, type: 'nest-array', set: exprAttrs, elemId: NFTA_LIST_ELEM },
}, opts)

export const setElemAttrs = attrSet('setelem-attrs', {
  key: { id: NFTA_SET_ELEM_KEY, type: 'nest', set: dataAttrs },
  data: { id: NFTA_SET_ELEM_DATA, type: 'nest', set: dataAttrs },
  flags: { id: NFTA_SET_ELEM_FLAGS, type: 'u32' },
  timeout: { id: NFTA_SET_ELEM_TIMEOUT, type: 'u64' },
  expiration: { id: NFTA_SET_ELEM_EXPIRATION, type: 'u64' },
  userdata: { id: NFTA_SET_ELEM_USERDATA, type: 'binary' },
  pad: { id: NFTA_SET_ELEM_PAD, type: 'binary' },
  objref: { id: NFTA_SET_ELEM_OBJREF, type: 'string' },
  keyEnd: { id: NFTA_SET_ELEM_KEY_END, type: 'nest', set: dataAttrs },
  /** The element's stateful expression (its counter, when the set has one); dumped when there is exactly one. */
  expr: { id: NFTA_SET_ELEM_EXPR, type: 'nest', set: exprAttrs },
  expressions: { id: NFTA_SET_ELEM_EXPRESSIONS, type: 'nest-array', set: exprAttrs, elemId: NFTA_LIST_ELEM },
}, opts)

export const setElemListAttrs = attrSet('setelem-list-attrs', {
  table: { id: NFTA_SET_ELEM_LIST_TABLE, type: 'string' },
  set: { id: NFTA_SET_ELEM_LIST_SET, type: 'string' },
  setId: { id: NFTA_SET_ELEM_LIST_SET_ID, type: 'u32' },
  /** Elements numbered 1, 2, 3 ... (the kernel accepts any id; libnftnl counts). */
  elements: { id: NFTA_SET_ELEM_LIST_ELEMENTS, type: 'nest-array', set: setElemAttrs },
}, opts)

export const NEWSET = nftMessage(NFT_MSG_NEWSET, setAttrs)
export const GETSET = nftMessage(NFT_MSG_GETSET, setAttrs)
export const DELSET = nftMessage(NFT_MSG_DELSET, setAttrs)
export const DESTROYSET = nftMessage(NFT_MSG_DESTROYSET, setAttrs)
export const NEWSETELEM = nftMessage(NFT_MSG_NEWSETELEM, setElemListAttrs)
export const GETSETELEM = nftMessage(NFT_MSG_GETSETELEM, setElemListAttrs)
export const DELSETELEM = nftMessage(NFT_MSG_DELSETELEM, setElemListAttrs)
export const DESTROYSETELEM = nftMessage(NFT_MSG_DESTROYSETELEM, setElemListAttrs)
