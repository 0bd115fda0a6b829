/**
 * The JSON the oracles return, typed: iproute2 6.1 (`ip -j -d`, `bridge -j -d`, `tc -j`) and
 * nftables 1.0.6 (`nft -j`). Fields the tools print only sometimes are optional; kind-specific
 * details (`linkinfo.info_data`, a qdisc's `options`) are open records, since every kind has its
 * own keys. Types describe, they do not validate: the tools' output is trusted as the oracle.
 */

/** `linkinfo` of `ip -d link show`: the kind and its attributes (keys as iproute2 prints them). */
export interface IpLinkInfo {
  info_kind?: string
  info_data?: Record<string, unknown>
  info_slave_kind?: string
  info_slave_data?: Record<string, unknown>
}

/** One address of `ip -j addr show` (`addr_info[]`). */
export interface IpAddrInfo {
  family: 'inet' | 'inet6' | string
  local: string
  prefixlen: number
  scope: string
  /** The peer of a point-to-point address. */
  address?: string
  broadcast?: string
  label?: string
  dynamic?: boolean
  nodad?: boolean
  noprefixroute?: boolean
  tentative?: boolean
  valid_life_time?: number
  preferred_life_time?: number
}

/** One link of `ip -j -d link show` (and, with `addr_info`, of `ip -j addr show`). */
export interface IpLink {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  qdisc?: string
  operstate: string
  linkmode?: string
  group?: string
  txqlen?: number
  link_type: string
  address?: string
  broadcast?: string
  permaddr?: string
  /** The peer's name (veth) or the lower device. */
  link?: string | null
  link_index?: number
  link_netnsid?: number
  master?: string
  promiscuity?: number
  allmulti?: number
  min_mtu?: number
  max_mtu?: number
  linkinfo?: IpLinkInfo
  inet6_addr_gen_mode?: string
  num_tx_queues?: number
  num_rx_queues?: number
  gso_max_size?: number
  gso_max_segs?: number
  altnames?: string[]
  ifalias?: string
  addr_info?: IpAddrInfo[]
  stats64?: { rx: IpLinkCounters; tx: IpLinkCounters }
}

export interface IpLinkCounters {
  bytes: number
  packets: number
  errors: number
  dropped: number
  [more: string]: number
}

/** A link of `ip -j addr show`: addr_info is always there. */
export interface IpAddr extends IpLink {
  addr_info: IpAddrInfo[]
}

/** One route of `ip -j -d route show`. */
export interface IpRoute {
  type?: string
  dst: string
  gateway?: string
  via?: { family: string; host: string }
  dev?: string
  protocol?: string
  scope?: string
  prefsrc?: string
  metric?: number
  table?: string
  flags: string[]
  mtu?: number
  pref?: string
  nexthops?: Array<{ gateway?: string; dev?: string; weight?: number; flags: string[] }>
}

/** One entry of `ip -j neigh show`. */
export interface IpNeigh {
  dst: string
  dev?: string
  lladdr?: string
  state: string[]
  router?: null
  proxy?: null
}

/** One rule of `ip -j rule show`. */
export interface IpRule {
  priority: number
  src: string
  srclen?: number
  dst?: string
  table: string
  fwmark?: string
  iif?: string
  oif?: string
}

/** One entry of `bridge -j fdb show`. */
export interface BridgeFdb {
  mac: string
  ifname?: string
  dev?: string
  master?: string
  dst?: string
  vlan?: number
  state?: string
  flags: string[]
  [more: string]: unknown
}

/** One port of `bridge -j vlan show`. */
export interface BridgeVlanPort {
  ifname: string
  vlans: Array<{ vlan: number; flags?: string[] }>
}

/** One link of `bridge -j -d link show`. */
export interface BridgeLink {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  master?: string
  state?: string
  priority?: number
  cost?: number
  hairpin?: boolean
  learning?: boolean
  flood?: boolean
  [more: string]: unknown
}

/** One qdisc of `tc -j -s qdisc show`. */
export interface TcQdisc {
  kind: string
  handle: string
  parent?: string
  root?: boolean
  dev?: string
  refcnt?: number
  options?: TcQdiscOptions
  bytes?: number
  packets?: number
  drops?: number
  overlimits?: number
  requeues?: number
  backlog?: number
  qlen?: number
}

/** A qdisc's options as tc prints them (tbf: rate, burst, lat; htb: r2q, default ...); other keys per kind. */
export interface TcQdiscOptions {
  rate?: number
  burst?: number
  lat?: number
  limit?: number
  default?: string
  r2q?: number
  direct_packets_stat?: number
  [more: string]: unknown
}

/** One class of `tc -j class show` (htb classes print only as text in tc 6.1: tcText()). */
export interface TcClass {
  class: string
  handle: string
  parent?: string
  root?: boolean
  leaf?: string
  [more: string]: unknown
}

/** One filter of `tc -j filter show`. */
export interface TcFilter {
  parent: string
  protocol: string
  pref: number
  kind: string
  chain?: number
  options?: Record<string, unknown>
}

/** One object of `nft -j list ruleset`: exactly one of these keys is set. */
export interface NftJsonObject {
  metainfo?: { version: string; release_name: string; json_schema_version: number }
  table?: NftJsonTable
  chain?: NftJsonChain
  rule?: NftJsonRule
  set?: NftJsonSet
  map?: NftJsonSet
  element?: Record<string, unknown>
  flowtable?: Record<string, unknown>
  counter?: Record<string, unknown>
  quota?: Record<string, unknown>
  limit?: Record<string, unknown>
}

export interface NftJsonTable {
  family: string
  name: string
  handle: number
  flags?: string | string[]
}

export interface NftJsonChain {
  family: string
  table: string
  name: string
  handle: number
  type?: string
  hook?: string
  prio?: number
  policy?: string
  dev?: string | string[]
}

/** A rule: `expr` is nft's own JSON expression list (libnftables-json(5)), left open. */
export interface NftJsonRule {
  family: string
  table: string
  chain: string
  handle: number
  expr: Array<Record<string, unknown>>
  comment?: string
}

export interface NftJsonSet {
  family: string
  name: string
  table: string
  type: string | string[]
  handle: number
  map?: string | string[]
  flags?: string[]
  elem?: unknown[]
  comment?: string
  timeout?: number
  size?: number
}

/** The rules of an nft ruleset (a shortcut tests use often). */
export function nftRules(ruleset: readonly NftJsonObject[]): NftJsonRule[] {
  const out: NftJsonRule[] = []
  for (const o of ruleset) if (o.rule) out.push(o.rule)
  return out
}
