/** NFTA_CHAIN_* (chain-attrs), NFTA_HOOK_* (nft-hook-attrs) and the chain counters nest. */
import { attrSet } from '../../core/schema.js'
import {
  NFTA_CHAIN_COUNTERS, NFTA_CHAIN_FLAGS, NFTA_CHAIN_HANDLE, NFTA_CHAIN_HOOK, NFTA_CHAIN_ID, NFTA_CHAIN_NAME,
  NFTA_CHAIN_PAD, NFTA_CHAIN_POLICY, NFTA_CHAIN_TABLE, NFTA_CHAIN_TYPE, NFTA_CHAIN_USE, NFTA_CHAIN_USERDATA,
  NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD, NFTA_HOOK_DEV, NFTA_HOOK_HOOKNUM,
  NFTA_HOOK_PRIORITY, NFT_MSG_DELCHAIN, NFT_MSG_GETCHAIN, NFT_MSG_NEWCHAIN,
} from '../constants.js'
import { NFT_MSG_DESTROYCHAIN } from '../constants-extra.js'
import { nftMessage } from './nfgen.js'

const opts = { byteOrder: 'be', nestedFlag: true } as const

export const hookAttrs = attrSet('nft-hook-attrs', {
  num: { id: NFTA_HOOK_HOOKNUM, type: 'u32' },
  priority: { id: NFTA_HOOK_PRIORITY, type: 's32' },
  dev: { id: NFTA_HOOK_DEV, type: 'string' },
}, opts)

export const counterAttrs = attrSet('counter-attrs', {
  bytes: { id: NFTA_COUNTER_BYTES, type: 'u64' },
  packets: { id: NFTA_COUNTER_PACKETS, type: 'u64' },
  pad: { id: NFTA_COUNTER_PAD, type: 'binary' },
}, opts)

export const chainAttrs = attrSet('chain-attrs', {
  table: { id: NFTA_CHAIN_TABLE, type: 'string' },
  handle: { id: NFTA_CHAIN_HANDLE, type: 'u64' },
  name: { id: NFTA_CHAIN_NAME, type: 'string' },
  hook: { id: NFTA_CHAIN_HOOK, type: 'nest', set: hookAttrs },
  policy: { id: NFTA_CHAIN_POLICY, type: 'u32' },
  use: { id: NFTA_CHAIN_USE, type: 'u32' },
  type: { id: NFTA_CHAIN_TYPE, type: 'string' },
  counters: { id: NFTA_CHAIN_COUNTERS, type: 'nest', set: counterAttrs },
  pad: { id: NFTA_CHAIN_PAD, type: 'binary' },
  flags: { id: NFTA_CHAIN_FLAGS, type: 'u32' },
  id: { id: NFTA_CHAIN_ID, type: 'u32' },
  userdata: { id: NFTA_CHAIN_USERDATA, type: 'binary' },
}, opts)

export const NEWCHAIN = nftMessage(NFT_MSG_NEWCHAIN, chainAttrs)
export const GETCHAIN = nftMessage(NFT_MSG_GETCHAIN, chainAttrs)
export const DELCHAIN = nftMessage(NFT_MSG_DELCHAIN, chainAttrs)
export const DESTROYCHAIN = nftMessage(NFT_MSG_DESTROYCHAIN, chainAttrs)
