/**
 * Names the generated constants.ts cannot hold, names verbatim:
 *
 * - nf_tables.h message types added after the uapi headers the generator read (Debian 12's
 *   linux-libc-dev is 6.1): the DESTROY* commands are kernel >= 6.3 (delete, but no error
 *   when the object is already gone).
 * - libnftnl's userdata TLV types (libnftnl/udata.h): `nft` stores rule comments and set byte
 *   orders in NFTA_*_USERDATA with these, and `nft list ruleset` reads them back.
 * - The datatype ids `nft` writes into NFTA_SET_KEY_TYPE / NFTA_SET_DATA_TYPE (nftables
 *   src/datatype.h, enum datatypes; a concatenation packs its fields' ids TYPE_BITS apart), its
 *   byte-order values (enum byteorder) and the expression type it records for concatenations.
 * (RTN_LOCAL, the `fib ... type local` result, is rtnetlink's: netlink/route/constants/rtnetlink.ts.)
 */

// enum nf_tables_msg_types, continued (kernel >= 6.3)
export const NFT_MSG_GETRULE_RESET = 25
export const NFT_MSG_DESTROYTABLE = 26
export const NFT_MSG_DESTROYCHAIN = 27
export const NFT_MSG_DESTROYRULE = 28
export const NFT_MSG_DESTROYSET = 29
export const NFT_MSG_DESTROYSETELEM = 30

// enum nft_table_flags, continued (kernel >= 6.9)
export const NFT_TABLE_F_PERSIST = 0x4

// libnftnl udata.h
export const NFTNL_UDATA_RULE_COMMENT = 0
export const NFTNL_UDATA_RULE_EBTABLES_POLICY = 1
export const NFTNL_UDATA_SET_KEYBYTEORDER = 0
export const NFTNL_UDATA_SET_DATABYTEORDER = 1
export const NFTNL_UDATA_SET_MERGE_ELEMENTS = 2
export const NFTNL_UDATA_SET_KEY_TYPEOF = 3
export const NFTNL_UDATA_SET_DATA_TYPEOF = 4
export const NFTNL_UDATA_SET_EXPR = 5
export const NFTNL_UDATA_SET_DATA_INTERVAL = 6
export const NFTNL_UDATA_SET_COMMENT = 7
// inside NFTNL_UDATA_SET_KEY_TYPEOF / _DATA_TYPEOF: the expression type, then its own udata (a nest)
export const NFTNL_UDATA_SET_TYPEOF_EXPR = 0
export const NFTNL_UDATA_SET_TYPEOF_DATA = 1
// NFTA_SET_ELEM_USERDATA
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0
export const NFTNL_UDATA_SET_ELEM_FLAGS = 1
/** nft limits comments to this many bytes (NFTNL_UDATA_COMMENT_MAXLEN). */
export const NFTNL_UDATA_COMMENT_MAXLEN = 128

// nftables datatype.h enum datatypes (what `nft` stores as a set's key/data type)
export const TYPE_VERDICT = 1
export const TYPE_IPADDR = 7
export const TYPE_IP6ADDR = 8
export const TYPE_ETHERADDR = 9
export const TYPE_INET_PROTOCOL = 12
export const TYPE_INET_SERVICE = 13
export const TYPE_MARK = 19
export const TYPE_CLASSID = 23
export const TYPE_IFNAME = 41
/** nft's TYPE_BITS: a concatenation's type id is its field type ids, 6 bits each, the first field highest. */
export const TYPE_BITS = 6
// nftables expression.h enum expr_types (what nft records as the `typeof` of a concatenated key)
export const EXPR_CONCAT = 13
// nftables expression.h enum byteorder (a concatenation has none: BYTEORDER_INVALID)
export const BYTEORDER_INVALID = 0
export const BYTEORDER_HOST_ENDIAN = 1
export const BYTEORDER_BIG_ENDIAN = 2

// linux/netfilter/nf_conntrack_common.h: NF_CT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1)
export const NF_CT_STATE_INVALID_BIT = 1 << 0
export const NF_CT_STATE_UNTRACKED_BIT = 1 << 6
