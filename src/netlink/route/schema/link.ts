/**
 * rtnetlink link messages (RTM_NEWLINK/DELLINK/GETLINK/SETLINK), after the kernel's
 * Documentation/netlink/specs/rt-link.yaml: set names and camelCase attribute names follow it.
 */
import { attrSet, struct, type AttrSet } from '../../core/schema.js'
import * as L from '../constants/if-link.js'
import { VETH_INFO_PEER } from '../constants/veth.js'

/** struct ifinfomsg, 16 bytes. */
export const ifinfomsg = struct('ifinfomsg', [
  ['family', 'u8'], ['pad', 'pad8'], ['type', 'u16'], ['index', 's32'], ['flags', 'u32'], ['change', 'u32'],
])

export const brportAttrs: AttrSet = attrSet('linkinfo-brport-attrs', {
  state: { id: L.IFLA_BRPORT_STATE, type: 'u8' },
  priority: { id: L.IFLA_BRPORT_PRIORITY, type: 'u16' },
  cost: { id: L.IFLA_BRPORT_COST, type: 'u32' },
  mode: { id: L.IFLA_BRPORT_MODE, type: 'u8' }, // hairpin
  guard: { id: L.IFLA_BRPORT_GUARD, type: 'u8' },
  protect: { id: L.IFLA_BRPORT_PROTECT, type: 'u8' },
  fastLeave: { id: L.IFLA_BRPORT_FAST_LEAVE, type: 'u8' },
  learning: { id: L.IFLA_BRPORT_LEARNING, type: 'u8' },
  unicastFlood: { id: L.IFLA_BRPORT_UNICAST_FLOOD, type: 'u8' },
  proxyarp: { id: L.IFLA_BRPORT_PROXYARP, type: 'u8' },
  learningSync: { id: L.IFLA_BRPORT_LEARNING_SYNC, type: 'u8' },
  proxyarpWifi: { id: L.IFLA_BRPORT_PROXYARP_WIFI, type: 'u8' },
  rootId: { id: L.IFLA_BRPORT_ROOT_ID, type: 'binary' },
  bridgeId: { id: L.IFLA_BRPORT_BRIDGE_ID, type: 'binary' },
  designatedPort: { id: L.IFLA_BRPORT_DESIGNATED_PORT, type: 'u16' },
  designatedCost: { id: L.IFLA_BRPORT_DESIGNATED_COST, type: 'u16' },
  id: { id: L.IFLA_BRPORT_ID, type: 'u16' },
  no: { id: L.IFLA_BRPORT_NO, type: 'u16' },
  topologyChangeAck: { id: L.IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, type: 'u8' },
  configPending: { id: L.IFLA_BRPORT_CONFIG_PENDING, type: 'u8' },
  messageAgeTimer: { id: L.IFLA_BRPORT_MESSAGE_AGE_TIMER, type: 'u64' },
  forwardDelayTimer: { id: L.IFLA_BRPORT_FORWARD_DELAY_TIMER, type: 'u64' },
  holdTimer: { id: L.IFLA_BRPORT_HOLD_TIMER, type: 'u64' },
  flush: { id: L.IFLA_BRPORT_FLUSH, type: 'flag' },
  multicastRouter: { id: L.IFLA_BRPORT_MULTICAST_ROUTER, type: 'u8' },
  mcastFlood: { id: L.IFLA_BRPORT_MCAST_FLOOD, type: 'u8' },
  mcastToUcast: { id: L.IFLA_BRPORT_MCAST_TO_UCAST, type: 'u8' },
  vlanTunnel: { id: L.IFLA_BRPORT_VLAN_TUNNEL, type: 'u8' },
  bcastFlood: { id: L.IFLA_BRPORT_BCAST_FLOOD, type: 'u8' },
  groupFwdMask: { id: L.IFLA_BRPORT_GROUP_FWD_MASK, type: 'u16' },
  neighSuppress: { id: L.IFLA_BRPORT_NEIGH_SUPPRESS, type: 'u8' },
  isolated: { id: L.IFLA_BRPORT_ISOLATED, type: 'u8' },
  backupPort: { id: L.IFLA_BRPORT_BACKUP_PORT, type: 'u32' },
}, { nestedFlag: true })

export const bridgeAttrs: AttrSet = attrSet('linkinfo-bridge-attrs', {
  forwardDelay: { id: L.IFLA_BR_FORWARD_DELAY, type: 'u32' },
  helloTime: { id: L.IFLA_BR_HELLO_TIME, type: 'u32' },
  maxAge: { id: L.IFLA_BR_MAX_AGE, type: 'u32' },
  ageingTime: { id: L.IFLA_BR_AGEING_TIME, type: 'u32' },
  stpState: { id: L.IFLA_BR_STP_STATE, type: 'u32' },
  priority: { id: L.IFLA_BR_PRIORITY, type: 'u16' },
  vlanFiltering: { id: L.IFLA_BR_VLAN_FILTERING, type: 'u8' },
  vlanProtocol: { id: L.IFLA_BR_VLAN_PROTOCOL, type: 'be16' },
  groupFwdMask: { id: L.IFLA_BR_GROUP_FWD_MASK, type: 'u16' },
  rootId: { id: L.IFLA_BR_ROOT_ID, type: 'binary' },
  bridgeId: { id: L.IFLA_BR_BRIDGE_ID, type: 'binary' },
  rootPort: { id: L.IFLA_BR_ROOT_PORT, type: 'u16' },
  rootPathCost: { id: L.IFLA_BR_ROOT_PATH_COST, type: 'u32' },
  topologyChange: { id: L.IFLA_BR_TOPOLOGY_CHANGE, type: 'u8' },
  topologyChangeDetected: { id: L.IFLA_BR_TOPOLOGY_CHANGE_DETECTED, type: 'u8' },
  helloTimer: { id: L.IFLA_BR_HELLO_TIMER, type: 'u64' },
  tcnTimer: { id: L.IFLA_BR_TCN_TIMER, type: 'u64' },
  topologyChangeTimer: { id: L.IFLA_BR_TOPOLOGY_CHANGE_TIMER, type: 'u64' },
  gcTimer: { id: L.IFLA_BR_GC_TIMER, type: 'u64' },
  groupAddr: { id: L.IFLA_BR_GROUP_ADDR, type: 'mac' },
  fdbFlush: { id: L.IFLA_BR_FDB_FLUSH, type: 'flag' },
  mcastRouter: { id: L.IFLA_BR_MCAST_ROUTER, type: 'u8' },
  mcastSnooping: { id: L.IFLA_BR_MCAST_SNOOPING, type: 'u8' },
  mcastQueryUseIfaddr: { id: L.IFLA_BR_MCAST_QUERY_USE_IFADDR, type: 'u8' },
  mcastQuerier: { id: L.IFLA_BR_MCAST_QUERIER, type: 'u8' },
  mcastHashElasticity: { id: L.IFLA_BR_MCAST_HASH_ELASTICITY, type: 'u32' },
  mcastHashMax: { id: L.IFLA_BR_MCAST_HASH_MAX, type: 'u32' },
  mcastLastMemberCnt: { id: L.IFLA_BR_MCAST_LAST_MEMBER_CNT, type: 'u32' },
  mcastStartupQueryCnt: { id: L.IFLA_BR_MCAST_STARTUP_QUERY_CNT, type: 'u32' },
  mcastLastMemberIntvl: { id: L.IFLA_BR_MCAST_LAST_MEMBER_INTVL, type: 'u64' },
  mcastMembershipIntvl: { id: L.IFLA_BR_MCAST_MEMBERSHIP_INTVL, type: 'u64' },
  mcastQuerierIntvl: { id: L.IFLA_BR_MCAST_QUERIER_INTVL, type: 'u64' },
  mcastQueryIntvl: { id: L.IFLA_BR_MCAST_QUERY_INTVL, type: 'u64' },
  mcastQueryResponseIntvl: { id: L.IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, type: 'u64' },
  mcastStartupQueryIntvl: { id: L.IFLA_BR_MCAST_STARTUP_QUERY_INTVL, type: 'u64' },
  nfCallIptables: { id: L.IFLA_BR_NF_CALL_IPTABLES, type: 'u8' },
  nfCallIp6tables: { id: L.IFLA_BR_NF_CALL_IP6TABLES, type: 'u8' },
  nfCallArptables: { id: L.IFLA_BR_NF_CALL_ARPTABLES, type: 'u8' },
  vlanDefaultPvid: { id: L.IFLA_BR_VLAN_DEFAULT_PVID, type: 'u16' },
  vlanStatsEnabled: { id: L.IFLA_BR_VLAN_STATS_ENABLED, type: 'u8' },
  mcastStatsEnabled: { id: L.IFLA_BR_MCAST_STATS_ENABLED, type: 'u8' },
  mcastIgmpVersion: { id: L.IFLA_BR_MCAST_IGMP_VERSION, type: 'u8' },
  mcastMldVersion: { id: L.IFLA_BR_MCAST_MLD_VERSION, type: 'u8' },
  vlanStatsPerPort: { id: L.IFLA_BR_VLAN_STATS_PER_PORT, type: 'u8' },
  multiBoolopt: { id: L.IFLA_BR_MULTI_BOOLOPT, type: 'binary' },
})

export const vxlanAttrs: AttrSet = attrSet('linkinfo-vxlan-attrs', {
  id: { id: L.IFLA_VXLAN_ID, type: 'u32' },
  group: { id: L.IFLA_VXLAN_GROUP, type: 'ip' },
  link: { id: L.IFLA_VXLAN_LINK, type: 'u32' },
  local: { id: L.IFLA_VXLAN_LOCAL, type: 'ip' },
  ttl: { id: L.IFLA_VXLAN_TTL, type: 'u8' },
  tos: { id: L.IFLA_VXLAN_TOS, type: 'u8' },
  learning: { id: L.IFLA_VXLAN_LEARNING, type: 'u8' },
  ageing: { id: L.IFLA_VXLAN_AGEING, type: 'u32' },
  limit: { id: L.IFLA_VXLAN_LIMIT, type: 'u32' },
  portRange: { id: L.IFLA_VXLAN_PORT_RANGE, type: 'binary' },
  proxy: { id: L.IFLA_VXLAN_PROXY, type: 'u8' },
  rsc: { id: L.IFLA_VXLAN_RSC, type: 'u8' },
  l2miss: { id: L.IFLA_VXLAN_L2MISS, type: 'u8' },
  l3miss: { id: L.IFLA_VXLAN_L3MISS, type: 'u8' },
  port: { id: L.IFLA_VXLAN_PORT, type: 'be16' },
  group6: { id: L.IFLA_VXLAN_GROUP6, type: 'ip' },
  local6: { id: L.IFLA_VXLAN_LOCAL6, type: 'ip' },
  udpCsum: { id: L.IFLA_VXLAN_UDP_CSUM, type: 'u8' },
  udpZeroCsum6Tx: { id: L.IFLA_VXLAN_UDP_ZERO_CSUM6_TX, type: 'u8' },
  udpZeroCsum6Rx: { id: L.IFLA_VXLAN_UDP_ZERO_CSUM6_RX, type: 'u8' },
  remcsumTx: { id: L.IFLA_VXLAN_REMCSUM_TX, type: 'u8' },
  remcsumRx: { id: L.IFLA_VXLAN_REMCSUM_RX, type: 'u8' },
  gbp: { id: L.IFLA_VXLAN_GBP, type: 'flag' },
  remcsumNopartial: { id: L.IFLA_VXLAN_REMCSUM_NOPARTIAL, type: 'flag' },
  collectMetadata: { id: L.IFLA_VXLAN_COLLECT_METADATA, type: 'u8' },
  label: { id: L.IFLA_VXLAN_LABEL, type: 'be32' },
  gpe: { id: L.IFLA_VXLAN_GPE, type: 'flag' },
  ttlInherit: { id: L.IFLA_VXLAN_TTL_INHERIT, type: 'flag' },
  df: { id: L.IFLA_VXLAN_DF, type: 'u8' },
})

export const macvlanAttrs: AttrSet = attrSet('linkinfo-macvlan-attrs', {
  mode: { id: L.IFLA_MACVLAN_MODE, type: 'u32' },
  flags: { id: L.IFLA_MACVLAN_FLAGS, type: 'u16' },
  macaddrMode: { id: L.IFLA_MACVLAN_MACADDR_MODE, type: 'u32' },
  macaddr: { id: L.IFLA_MACVLAN_MACADDR, type: 'mac' },
  macaddrData: { id: L.IFLA_MACVLAN_MACADDR_DATA, type: 'binary' },
  macaddrCount: { id: L.IFLA_MACVLAN_MACADDR_COUNT, type: 'u32' },
  bcQueueLen: { id: L.IFLA_MACVLAN_BC_QUEUE_LEN, type: 'u32' },
  bcQueueLenUsed: { id: L.IFLA_MACVLAN_BC_QUEUE_LEN_USED, type: 'u32' },
})

/** veth's IFLA_INFO_DATA: VETH_INFO_PEER is an ifinfomsg followed by link attributes. */
export const vethAttrs: AttrSet = attrSet('linkinfo-veth-attrs', {
  peer: { id: VETH_INFO_PEER, type: 'struct-nest', header: ifinfomsg, set: () => linkAttrs },
})

const emptyAttrs = attrSet('empty', {})

export const linkinfoAttrs: AttrSet = attrSet('linkinfo-attrs', {
  kind: { id: L.IFLA_INFO_KIND, type: 'string', noNul: true },
  data: {
    id: L.IFLA_INFO_DATA, type: 'sub-message', selector: 'kind',
    of: { bridge: bridgeAttrs, veth: vethAttrs, vxlan: vxlanAttrs, macvlan: macvlanAttrs, macvtap: macvlanAttrs, ifb: emptyAttrs },
  },
  xstats: { id: L.IFLA_INFO_XSTATS, type: 'binary' },
  slaveKind: { id: L.IFLA_INFO_SLAVE_KIND, type: 'string', noNul: true },
  slaveData: { id: L.IFLA_INFO_SLAVE_DATA, type: 'sub-message', selector: 'slaveKind', of: { bridge: brportAttrs } },
})

export const propListAttrs: AttrSet = attrSet('prop-list-link-attrs', {
  altIfname: { id: L.IFLA_ALT_IFNAME, type: 'string', multi: true },
})

/** IFLA_AF_SPEC → AF_INET → IFLA_INET_CONF: per-device IPv4 sysctls (u32 array indexed by IPV4_DEVCONF_* - 1). */
export const inetAfAttrs: AttrSet = attrSet('ifla-af-inet-attrs', {
  conf: { id: L.IFLA_INET_CONF, type: 'binary' },
})
/** IFLA_AF_SPEC → AF_INET6. */
export const inet6AfAttrs: AttrSet = attrSet('ifla6-attrs', {
  flags: { id: L.IFLA_INET6_FLAGS, type: 'u32' },
  conf: { id: L.IFLA_INET6_CONF, type: 'binary' },
  stats: { id: L.IFLA_INET6_STATS, type: 'binary' },
  mcast: { id: L.IFLA_INET6_MCAST, type: 'binary' },
  cacheinfo: { id: L.IFLA_INET6_CACHEINFO, type: 'binary' },
  icmp6stats: { id: L.IFLA_INET6_ICMP6STATS, type: 'binary' },
  token: { id: L.IFLA_INET6_TOKEN, type: 'ip' },
  addrGenMode: { id: L.IFLA_INET6_ADDR_GEN_MODE, type: 'u8' },
  raMtu: { id: L.IFLA_INET6_RA_MTU, type: 'u32' },
})

export const afSpecAttrs: AttrSet = attrSet('af-spec-attrs', {
  inet: { id: 2 /* AF_INET */, type: 'nest', set: inetAfAttrs },
  inet6: { id: 10 /* AF_INET6 */, type: 'nest', set: inet6AfAttrs },
})

export const linkAttrs: AttrSet = attrSet('link-attrs', {
  address: { id: L.IFLA_ADDRESS, type: 'mac' },
  broadcast: { id: L.IFLA_BROADCAST, type: 'mac' },
  ifname: { id: L.IFLA_IFNAME, type: 'string' },
  mtu: { id: L.IFLA_MTU, type: 'u32' },
  link: { id: L.IFLA_LINK, type: 'u32' },
  qdisc: { id: L.IFLA_QDISC, type: 'string' },
  stats: { id: L.IFLA_STATS, type: 'binary' },
  cost: { id: L.IFLA_COST, type: 'string' },
  priority: { id: L.IFLA_PRIORITY, type: 'string' },
  master: { id: L.IFLA_MASTER, type: 'u32' },
  wireless: { id: L.IFLA_WIRELESS, type: 'binary' },
  protinfo: { id: L.IFLA_PROTINFO, type: 'nest', set: brportAttrs },
  txqlen: { id: L.IFLA_TXQLEN, type: 'u32' },
  map: { id: L.IFLA_MAP, type: 'binary' },
  weight: { id: L.IFLA_WEIGHT, type: 'u32' },
  operstate: { id: L.IFLA_OPERSTATE, type: 'u8' },
  linkmode: { id: L.IFLA_LINKMODE, type: 'u8' },
  linkinfo: { id: L.IFLA_LINKINFO, type: 'nest', set: linkinfoAttrs },
  netNsPid: { id: L.IFLA_NET_NS_PID, type: 'u32' },
  ifalias: { id: L.IFLA_IFALIAS, type: 'string' },
  numVf: { id: L.IFLA_NUM_VF, type: 'u32' },
  vfinfoList: { id: L.IFLA_VFINFO_LIST, type: 'binary' },
  stats64: { id: L.IFLA_STATS64, type: 'binary' },
  vfPorts: { id: L.IFLA_VF_PORTS, type: 'binary' },
  portSelf: { id: L.IFLA_PORT_SELF, type: 'binary' },
  afSpec: { id: L.IFLA_AF_SPEC, type: 'nest', set: afSpecAttrs },
  group: { id: L.IFLA_GROUP, type: 'u32' },
  netNsFd: { id: L.IFLA_NET_NS_FD, type: 'u32' },
  extMask: { id: L.IFLA_EXT_MASK, type: 'u32' },
  promiscuity: { id: L.IFLA_PROMISCUITY, type: 'u32' },
  numTxQueues: { id: L.IFLA_NUM_TX_QUEUES, type: 'u32' },
  numRxQueues: { id: L.IFLA_NUM_RX_QUEUES, type: 'u32' },
  carrier: { id: L.IFLA_CARRIER, type: 'u8' },
  physPortId: { id: L.IFLA_PHYS_PORT_ID, type: 'binary' },
  carrierChanges: { id: L.IFLA_CARRIER_CHANGES, type: 'u32' },
  physSwitchId: { id: L.IFLA_PHYS_SWITCH_ID, type: 'binary' },
  linkNetnsid: { id: L.IFLA_LINK_NETNSID, type: 's32' },
  physPortName: { id: L.IFLA_PHYS_PORT_NAME, type: 'string' },
  protoDown: { id: L.IFLA_PROTO_DOWN, type: 'u8' },
  gsoMaxSegs: { id: L.IFLA_GSO_MAX_SEGS, type: 'u32' },
  gsoMaxSize: { id: L.IFLA_GSO_MAX_SIZE, type: 'u32' },
  pad: { id: L.IFLA_PAD, type: 'binary' },
  xdp: { id: L.IFLA_XDP, type: 'binary' },
  event: { id: L.IFLA_EVENT, type: 'u32' },
  newNetnsid: { id: L.IFLA_NEW_NETNSID, type: 's32' },
  targetNetnsid: { id: L.IFLA_TARGET_NETNSID, type: 's32' },
  carrierUpCount: { id: L.IFLA_CARRIER_UP_COUNT, type: 'u32' },
  carrierDownCount: { id: L.IFLA_CARRIER_DOWN_COUNT, type: 'u32' },
  newIfindex: { id: L.IFLA_NEW_IFINDEX, type: 's32' },
  minMtu: { id: L.IFLA_MIN_MTU, type: 'u32' },
  maxMtu: { id: L.IFLA_MAX_MTU, type: 'u32' },
  propList: { id: L.IFLA_PROP_LIST, type: 'nest', set: propListAttrs },
  altIfname: { id: L.IFLA_ALT_IFNAME, type: 'string' },
  permAddress: { id: L.IFLA_PERM_ADDRESS, type: 'mac' },
  protoDownReason: { id: L.IFLA_PROTO_DOWN_REASON, type: 'binary' },
  parentDevName: { id: L.IFLA_PARENT_DEV_NAME, type: 'string' },
  parentDevBusName: { id: L.IFLA_PARENT_DEV_BUS_NAME, type: 'string' },
  groMaxSize: { id: L.IFLA_GRO_MAX_SIZE, type: 'u32' },
  tsoMaxSize: { id: L.IFLA_TSO_MAX_SIZE, type: 'u32' },
  tsoMaxSegs: { id: L.IFLA_TSO_MAX_SEGS, type: 'u32' },
  allmulti: { id: L.IFLA_ALLMULTI, type: 'u32' },
})
