/**
 * ctnetlink constants, names verbatim from linux/netfilter/nfnetlink_conntrack.h,
 * linux/netfilter/nfnetlink.h and linux/netfilter/nf_conntrack_common.h, plus the
 * CTA_FILTER_F_* bits, which live in the kernel's net/netfilter/nf_internals.h (not in uapi).
 */

// linux/netfilter/nfnetlink.h
export const NFNL_SUBSYS_CTNETLINK = 1

// enum cntl_msg_types
export const IPCTNL_MSG_CT_NEW = 0
export const IPCTNL_MSG_CT_GET = 1
export const IPCTNL_MSG_CT_DELETE = 2

// enum ctattr_type
export const CTA_TUPLE_ORIG = 1
export const CTA_TUPLE_REPLY = 2
export const CTA_STATUS = 3
export const CTA_PROTOINFO = 4
export const CTA_HELP = 5
export const CTA_NAT_SRC = 6
export const CTA_TIMEOUT = 7
export const CTA_MARK = 8
export const CTA_COUNTERS_ORIG = 9
export const CTA_COUNTERS_REPLY = 10
export const CTA_USE = 11
export const CTA_ID = 12
export const CTA_NAT_DST = 13
export const CTA_TUPLE_MASTER = 14
export const CTA_SEQ_ADJ_ORIG = 15
export const CTA_SEQ_ADJ_REPLY = 16
export const CTA_SECMARK = 17
export const CTA_ZONE = 18
export const CTA_SECCTX = 19
export const CTA_TIMESTAMP = 20
export const CTA_MARK_MASK = 21
export const CTA_LABELS = 22
export const CTA_LABELS_MASK = 23
export const CTA_SYNPROXY = 24
export const CTA_FILTER = 25
export const CTA_STATUS_MASK = 26

// enum ctattr_tuple
export const CTA_TUPLE_IP = 1
export const CTA_TUPLE_PROTO = 2
export const CTA_TUPLE_ZONE = 3

// enum ctattr_ip
export const CTA_IP_V4_SRC = 1
export const CTA_IP_V4_DST = 2
export const CTA_IP_V6_SRC = 3
export const CTA_IP_V6_DST = 4

// enum ctattr_l4proto
export const CTA_PROTO_NUM = 1
export const CTA_PROTO_SRC_PORT = 2
export const CTA_PROTO_DST_PORT = 3
export const CTA_PROTO_ICMP_ID = 4
export const CTA_PROTO_ICMP_TYPE = 5
export const CTA_PROTO_ICMP_CODE = 6
export const CTA_PROTO_ICMPV6_ID = 7
export const CTA_PROTO_ICMPV6_TYPE = 8
export const CTA_PROTO_ICMPV6_CODE = 9

// enum ctattr_filter (kernel >= 5.8 for dumps, >= 6.12 for IPCTNL_MSG_CT_DELETE)
export const CTA_FILTER_ORIG_FLAGS = 1
export const CTA_FILTER_REPLY_FLAGS = 2

// net/netfilter/nf_internals.h: which fields of the tuple a filter compares (host-order u32)
export const CTA_FILTER_F_CTA_IP_SRC = 1 << 0
export const CTA_FILTER_F_CTA_IP_DST = 1 << 1
export const CTA_FILTER_F_CTA_TUPLE_ZONE = 1 << 2
export const CTA_FILTER_F_CTA_PROTO_NUM = 1 << 3
export const CTA_FILTER_F_CTA_PROTO_SRC_PORT = 1 << 4
export const CTA_FILTER_F_CTA_PROTO_DST_PORT = 1 << 5

// enum ip_conntrack_status (nf_conntrack_common.h)
export const IPS_EXPECTED = 1 << 0
export const IPS_SEEN_REPLY = 1 << 1
export const IPS_ASSURED = 1 << 2
export const IPS_CONFIRMED = 1 << 3
export const IPS_SRC_NAT = 1 << 4
export const IPS_DST_NAT = 1 << 5

// linux/netfilter.h
export const NFPROTO_IPV4 = 2
export const NFPROTO_IPV6 = 10
