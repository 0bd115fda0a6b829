/**
 * The nfnetlink family header and nf_tables message types.
 *
 *   struct nfgenmsg {            4 bytes, after the nlmsghdr of every nfnetlink message
 *     u8     nfgen_family;       NFPROTO_* (0 = all families in a dump, AF_UNSPEC in batch markers)
 *     u8     version;            NFNETLINK_V0
 *     __be16 res_id;             NFNL_SUBSYS_NFTABLES in NFNL_MSG_BATCH_BEGIN/END, else 0
 *   };
 *
 * nlmsg_type of a command is (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*.
 */
import { struct, type AttrSet, type MessageSchema } from '../../core/schema.js'
import { NFNL_SUBSYS_NFTABLES } from '../constants.js'
import { nftMsgName } from '../names.js'

export const nfgenmsg = struct('nfgenmsg', [['family', 'u8'], ['version', 'u8'], ['resId', 'be16']])

/** nlmsg_type of an nf_tables command. */
export const nftMsgType = (cmd: number): number => (NFNL_SUBSYS_NFTABLES << 8) | cmd

/** An nf_tables message layout that knows its command number (NFT_MSG_*). */
export interface NftMessageSchema extends MessageSchema {
  readonly cmd: number
}

/** The schema of one nf_tables command (for encoding, and for naming attributes in errors). */
export function nftMessage(cmd: number, attrs: AttrSet): NftMessageSchema {
  return { name: nftMsgName(cmd), header: nfgenmsg, attrs, cmd }
}
