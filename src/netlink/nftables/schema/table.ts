/** NFTA_TABLE_* (table-attrs in the kernel's nftables.yaml). */
import { attrSet } from '../../core/schema.js'
import {
  NFTA_TABLE_FLAGS, NFTA_TABLE_HANDLE, NFTA_TABLE_NAME, NFTA_TABLE_OWNER, NFTA_TABLE_PAD, NFTA_TABLE_USE,
  NFTA_TABLE_USERDATA, NFT_MSG_DELTABLE, NFT_MSG_GETTABLE, NFT_MSG_NEWTABLE,
} from '../constants.js'
import { NFT_MSG_DESTROYTABLE } from '../constants-extra.js'
import { nftMessage } from './nfgen.js'

export const tableAttrs = attrSet('table-attrs', {
  name: { id: NFTA_TABLE_NAME, type: 'string' },
  flags: { id: NFTA_TABLE_FLAGS, type: 'u32' },
  use: { id: NFTA_TABLE_USE, type: 'u32' },
  handle: { id: NFTA_TABLE_HANDLE, type: 'u64' },
  pad: { id: NFTA_TABLE_PAD, type: 'binary' },
  userdata: { id: NFTA_TABLE_USERDATA, type: 'binary' },
  owner: { id: NFTA_TABLE_OWNER, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export const NEWTABLE = nftMessage(NFT_MSG_NEWTABLE, tableAttrs)
export const GETTABLE = nftMessage(NFT_MSG_GETTABLE, tableAttrs)
export const DELTABLE = nftMessage(NFT_MSG_DELTABLE, tableAttrs)
export const DESTROYTABLE = nftMessage(NFT_MSG_DESTROYTABLE, tableAttrs)
