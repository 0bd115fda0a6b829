/**
 * ctnetlink attribute tables (the kernel's YNL spec `conntrack.yaml` names). Integers are in
 * network order except the CTA_FILTER flags (NLA_U32, host order). A conntrack message is the
 * nfgenmsg header (family = NFPROTO_IPV4 / _IPV6) and these attributes:
 *
 *   CTA_TUPLE_ORIG (1|NESTED)            the original direction
 *     CTA_TUPLE_IP (1|NESTED)            CTA_IP_V4_SRC (1) / _V4_DST (2) 4 bytes, _V6_SRC (3) / _V6_DST (4) 16 bytes
 *     CTA_TUPLE_PROTO (2|NESTED)         CTA_PROTO_NUM (1) u8, CTA_PROTO_SRC_PORT (2) / _DST_PORT (3) be16
 *   CTA_TUPLE_REPLY (2|NESTED)           the reply direction (after NAT: a DNATed flow's reply comes from the pod)
 *   CTA_STATUS (3) be32                  IPS_* bits (IPS_DST_NAT 0x20 ...)
 *   CTA_TIMEOUT (7) be32                 seconds left
 *   CTA_MARK (8) be32
 *   CTA_ID (12) be32                     the entry's id: a delete carrying it spares a newer entry with the same tuple
 *   CTA_ZONE (18) be16
 *   CTA_FILTER (25|NESTED)               CTA_FILTER_ORIG_FLAGS (1) u32 host order: CTA_FILTER_F_* of the
 *                                        CTA_TUPLE_ORIG fields to compare (a dump returns only matching entries)
 */
import { attrSet } from '../core/schema.js'
import { nfgenmsg } from '../nftables/schema/nfgen.js'
import type { MessageSchema } from '../core/schema.js'
import {
  CTA_FILTER, CTA_FILTER_ORIG_FLAGS, CTA_FILTER_REPLY_FLAGS, CTA_ID, CTA_IP_V4_DST, CTA_IP_V4_SRC, CTA_IP_V6_DST,
  CTA_IP_V6_SRC, CTA_MARK, CTA_PROTO_DST_PORT, CTA_PROTO_ICMP_CODE, CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_STATUS, CTA_TIMEOUT, CTA_TUPLE_IP, CTA_TUPLE_ORIG, CTA_TUPLE_PROTO,
  CTA_TUPLE_REPLY, CTA_TUPLE_ZONE, CTA_USE, CTA_ZONE, IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_GET,
} from './constants.js'

const be = { byteOrder: 'be', nestedFlag: true } as const

export const ipAttrs = attrSet('tuple-ip-attrs', {
  v4Src: { id: CTA_IP_V4_SRC, type: 'ip' },
  v4Dst: { id: CTA_IP_V4_DST, type: 'ip' },
  v6Src: { id: CTA_IP_V6_SRC, type: 'ip' },
  v6Dst: { id: CTA_IP_V6_DST, type: 'ip' },
}, be)

export const protoAttrs = attrSet('tuple-proto-attrs', {
  num: { id: CTA_PROTO_NUM, type: 'u8' },
  srcPort: { id: CTA_PROTO_SRC_PORT, type: 'u16' },
  dstPort: { id: CTA_PROTO_DST_PORT, type: 'u16' },
  icmpId: { id: CTA_PROTO_ICMP_ID, type: 'u16' },
  icmpType: { id: CTA_PROTO_ICMP_TYPE, type: 'u8' },
  icmpCode: { id: CTA_PROTO_ICMP_CODE, type: 'u8' },
}, be)

export const tupleAttrs = attrSet('tuple-attrs', {
  ip: { id: CTA_TUPLE_IP, type: 'nest', set: ipAttrs },
  proto: { id: CTA_TUPLE_PROTO, type: 'nest', set: protoAttrs },
  zone: { id: CTA_TUPLE_ZONE, type: 'u16' },
}, be)

export const filterAttrs = attrSet('filter-attrs', {
  origFlags: { id: CTA_FILTER_ORIG_FLAGS, type: 'u32' },
  replyFlags: { id: CTA_FILTER_REPLY_FLAGS, type: 'u32' },
}, { byteOrder: 'native', nestedFlag: true })

export const conntrackAttrs = attrSet('conntrack-attrs', {
  tupleOrig: { id: CTA_TUPLE_ORIG, type: 'nest', set: tupleAttrs },
  tupleReply: { id: CTA_TUPLE_REPLY, type: 'nest', set: tupleAttrs },
  status: { id: CTA_STATUS, type: 'u32' },
  timeout: { id: CTA_TIMEOUT, type: 'u32' },
  mark: { id: CTA_MARK, type: 'u32' },
  use: { id: CTA_USE, type: 'u32' },
  id: { id: CTA_ID, type: 'u32' },
  zone: { id: CTA_ZONE, type: 'u16' },
  filter: { id: CTA_FILTER, type: 'nest', set: filterAttrs },
}, be)

const message = (name: string, cmd: number): MessageSchema & { cmd: number } => ({ name, header: nfgenmsg, attrs: conntrackAttrs, cmd })

export const CT_GET = message('IPCTNL_MSG_CT_GET', IPCTNL_MSG_CT_GET)
export const CT_DELETE = message('IPCTNL_MSG_CT_DELETE', IPCTNL_MSG_CT_DELETE)
/** The kernel answers a dump with IPCTNL_MSG_CT_NEW messages. */
export const CT_NEW = message('IPCTNL_MSG_CT_NEW', 0)
