/** Links as podnet asks for them (LinkSpec, LinkChange) and as the kernel reports them (Link). */
import type { NetnsRef } from '../../netns/netns.js'
import type { AttrValues } from '../core/schema.js'

export type { NetnsRef } from '../../netns/netns.js'

export interface CommonLinkSpec {
  name: string
  mtu?: number
  /** MAC address, "aa:bb:cc:dd:ee:ff". */
  address?: string
  txqlen?: number
  /**
   * The interface alias (IFLA_IFALIAS, up to 255 bytes): a free-text note, `ip link set NAME alias
   * TEXT`. The kernel ignores it in a create request, so add() sets it with a second request right
   * after (a crash in between leaves the link without it); not with `netns`.
   */
  alias?: string
  /** Create the link up. */
  up?: boolean
  /** Create the link in this namespace instead of the handle's. */
  netns?: NetnsRef
  /** Enslave to this bridge at creation (IFLA_MASTER in the create request). */
  master?: string | number
}

export interface VethPeerSpec {
  name: string
  /** Create the peer directly in this namespace. */
  netns?: NetnsRef
  mtu?: number
  address?: string
  txqlen?: number
  up?: boolean
}

export interface BridgeOptions {
  stpState?: number
  forwardDelay?: number
  ageingTime?: number
  helloTime?: number
  maxAge?: number
  priority?: number
  mcastSnooping?: number
  vlanFiltering?: number
  nfCallIptables?: number
}

export interface VxlanOptions {
  id: number
  group?: string
  local?: string
  port?: number
  /** ifindex of the underlying device. */
  link?: number
  learning?: boolean
  ttl?: number
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source'

export type LinkSpec = CommonLinkSpec & (
  | { kind: 'veth'; peer: VethPeerSpec }
  | { kind: 'bridge'; bridge?: BridgeOptions }
  | { kind: 'vxlan'; vxlan: VxlanOptions }
  | { kind: 'macvlan'; parent: string | number; mode?: MacvlanMode }
  | { kind: 'ifb' }
)

/** A link as the kernel reports it. */
export interface Link {
  index: number
  name: string
  /** IFLA_INFO_KIND ('veth', 'bridge', ...); undefined for loopback and physical devices. */
  kind?: string
  /** ARPHRD_* device type. */
  type: number
  /** IFF_* flags. */
  flags: number
  up: boolean
  mtu?: number
  address?: string
  broadcast?: string
  /** ifindex of the bridge this link is a port of. */
  master?: number
  operstate: string
  /** IFLA_IFALIAS. */
  alias?: string
  txqlen?: number
  qdisc?: string
  group?: number
  linkmode?: number
  /** IFLA_LINK: the peer's ifindex for a veth (in the peer's namespace when linkNetnsid is set). */
  link?: number
  linkNetnsid?: number
  slaveKind?: string
  /** Kind-specific IFLA_INFO_DATA (bridge options, veth, vxlan...), decoded. */
  data?: AttrValues
  /** IFLA_INFO_SLAVE_DATA (bridge port: hairpin = mode, learning, unicastFlood, isolated...). */
  slaveData?: AttrValues
  altnames?: string[]
  /** Every decoded attribute, including ones podnet has no field for (under `unknown`). */
  attrs: AttrValues
}

export interface LinkChange {
  up?: boolean
  mtu?: number
  address?: string
  /** Bridge to enslave to; null removes the master (nomaster). */
  master?: string | number | null
  /** Move to another namespace. */
  netns?: NetnsRef
  /** Rename. */
  name?: string
  txqlen?: number
  /** The interface alias (IFLA_IFALIAS); '' removes it. */
  alias?: string
  /** Bridge-port flags, for links that are bridge ports. */
  hairpin?: boolean
  learning?: boolean
  flood?: boolean
  isolated?: boolean
  /**
   * Per-device IPv4 settings by their sysctl names (`arp_notify`, `route_localnet`, `forwarding`,
   * `rp_filter`, ...), set over netlink (IFLA_AF_SPEC → AF_INET → IFLA_INET_CONF): no /proc write.
   */
  ipv4Conf?: Record<string, number>
  /** Device group (IFLA_GROUP): groups can be deleted with one request, see delGroup(). */
  group?: number
  /** IPv6 link-local address generation (IFLA_INET6_ADDR_GEN_MODE); 'none' gives the link no IPv6 link-local address. */
  ipv6AddrGenMode?: 'eui64' | 'none' | 'stable_secret' | 'random'
}

export interface LinkListFilter {
  /** Only ports of this bridge (kernel-side filter). */
  master?: string | number
  /** Only links of this kind (kernel-side filter). */
  kind?: string
}
