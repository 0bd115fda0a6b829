/** The bridge layer's public types: what callers pass in and what the state records hold. */
import type { NetnsArg } from '../netns/index.js'
import type { SetScalar } from '../netlink/nftables/index.js'
import type { BandwidthLimits } from './bandwidth.js'

export type { NetnsArg } from '../netns/index.js'

export interface NetworkSpec {
  name: string
  /** One IPv4 and/or one IPv6 subnet. */
  subnets: string[]
  /** Gateways, one per subnet (matched by family); default: the first usable address. */
  gateways?: string[]
  /** Bridge name; default `pn-<name>`. */
  bridge?: string
  mtu?: number
  /** Masquerade traffic leaving through other interfaces (default true). */
  nat?: boolean
  /** No way in or out: only pods of this network and the gateway. */
  internal?: boolean
  /**
   * Pods resolve each other by name through podnet's DNS responder on the gateway address
   * (src/dns, docs/dns.md). Default false here; `podnet network create` turns it on unless --no-dns.
   */
  dns?: boolean
}

export interface SubnetConfig {
  subnet: string
  gateway: string
  family: 4 | 6
}

/** A rule podnet added, by handle (bigint handles are stored as decimal strings). */
export interface RuleRecord {
  chain: string
  handle: string
  comment: string
}

export interface NetworkConfig {
  name: string
  bridge: string
  bridgeMac: string
  subnets: SubnetConfig[]
  mtu: number
  nat: boolean
  internal: boolean
  /** Whether podnet created the bridge (and so deletes it). */
  createdBridge: boolean
  /** The DNS responder serves this network (absent in records older than it: no). */
  dns?: boolean
  hostNetns: string | null
  createdAt: string
  rules: RuleRecord[]
}

export interface PortMapping {
  /** Host address to listen on; undefined = every local address (of the mapping's family). */
  hostIp?: string
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
}

/** A route inside the pod: destination CIDR ('0.0.0.0/0' is the default route) and next hop. */
export interface PodRoute {
  dst: string
  gw?: string
}

export interface AttachSpec {
  network: string
  /** The pod's namespace: a name under /run/netns, a path (/proc/PID/ns/net, a CNI_NETNS) or a Netns. */
  netns: NetnsArg
  /** Interface name inside the namespace (default eth0). */
  ifname?: string
  /** Container id owning the attachment (default: the namespace's name, when it is given by name). */
  id?: string
  /** Static addresses (at most one per subnet). */
  ips?: string[]
  mac?: string
  portMappings?: PortMapping[]
  /**
   * Routes inside the pod, instead of the default route per address family via the gateway.
   * A route without `gw` goes via the gateway of its family. `[]` adds none.
   */
  routes?: PodRoute[]
  /** Hairpin on the host end, so a pod can reach its own published ports (default true). */
  hairpin?: boolean
  /**
   * The names this attachment answers to in the network's DNS (pod name, hostname, container
   * names, aliases), the first being its own name (reverse lookups give it). Validated and
   * recorded lowercase; the responder reads them from the record.
   */
  dnsNames?: string[]
  /** Rate limits into and out of the pod (bandwidth.ts). */
  bandwidth?: BandwidthLimits
  /** Traffic priority on the uplinks, 0-7 (priority.ts; 4, normal, is the default). */
  priority?: number
  /**
   * Take the addresses reserved under this key (a detach's `reserveAs`) for this ifname, in the
   * same IPAM transaction that gives them to this attachment; a key with no reservation: as
   * without it (`ips` included). An attach that fails later puts them back in the reservation.
   */
  reservation?: string
}

export interface AttachmentAddress {
  /** CIDR: '10.88.0.2/16'. */
  address: string
  gateway: string
  family: 4 | 6
}

/** A published port as a map element: `hostports4` / [17, 5353] (the key says which port; the value is the pod's). */
export interface PortElementRecord {
  map: string
  key: SetScalar[]
}

/** <run>/overlay/names/NETWORK.json (StateDir.remoteNamesPath): the other nodes' pods of an overlay network, by name. */
export interface RemoteNamesFile {
  /** The cluster subnet: the responder answers reverse lookups for all of it. */
  cluster: string
  records: Array<{ node: string; names: string[]; addresses: string[] }>
}

export interface Attachment {
  network: string
  id: string
  ifname: string
  /** Path of the pod's network namespace. */
  netns: string
  hostVeth: string
  mac: string
  mtu: number
  addresses: AttachmentAddress[]
  portMappings: PortMapping[]
  /** The routes added inside the pod. */
  routes: PodRoute[]
  /** The published-port map elements podnet added, by map and key (detach deletes them by key). */
  portElements?: PortElementRecord[]
  /** Its names in the network's DNS (AttachSpec.dnsNames, canonical). */
  dnsNames?: string[]
  /** Rate limits in force (bandwidth.ts); an egress limit owns the ifb named after hostVeth. */
  bandwidth?: BandwidthLimits
  /** Traffic priority (priority.ts): the addresses are elements of podnet-qos's maps. Absent: normal. */
  priority?: number
  createdAt: string
}

/** A published port as the kernel has it (podnet's maps), for `nat ports`-style listings. */
export interface PortMapEntry {
  map: string
  key: SetScalar[]
  data: SetScalar[]
  /** The owner: "podnet o=1a2b3c4d net=web id=pod1 if=eth0" (nat.ts ownerTag). */
  comment?: string
  packets?: bigint
  bytes?: bigint
  /** "udp *:5353 -> 10.88.0.2:53". */
  text: string
}

export interface DetachSpec {
  network: string
  id?: string
  ifname?: string
  /**
   * Only detach if the attachment belongs to this namespace (protects a live pod from a stale
   * DEL). A name or path also gives the default id, as for attach.
   */
  netns?: NetnsArg
  /**
   * The caller deletes the pod's namespace right after (or it is already gone): leave the veth
   * to die with the namespace, which the kernel does asynchronously and in batches, instead of
   * deleting it here and waiting for the kernel's RCU grace period (10-30 ms per veth).
   */
  netnsGoing?: boolean
  /**
   * Keep the addresses, reserved under this key, instead of freeing them: in the same IPAM
   * transaction that takes them from the attachment, so no one can take them in between. An
   * attach naming the key as `reservation` takes them back; NetworkManager.releaseReservations
   * (or removing the network) frees them. Also for what a killed attach left without a record.
   */
  reserveAs?: string
}

export interface DetachResult {
  detached: boolean
  /** Why nothing was done, when detached is false. */
  reason?: string
  attachment?: Attachment
}

/** Addresses kept for whoever takes them back by key (DetachSpec.reserveAs, AttachSpec.reservation). */
export interface Reservation {
  network: string
  /** The key an attach names to take it back ('statefulset/web/1'). */
  key: string
  ifname: string
  /** '10.88.0.5' (no prefix length) */
  ip: string
  family: 4 | 6
  /** ISO 8601 time the address was reserved. */
  reservedAt: string
}

export interface Drift {
  network: string
  object: string
  problem: string
}

export interface GcReport {
  removedVeths: string[]
  removedAttachments: string[]
  releasedAddresses: string[]
  removedRules: string[]
  removedPorts: string[]
  /** ifb devices of bandwidth limits that no live attachment owns. */
  removedIfbs: string[]
}

export interface ManagerOptions {
  /** Persistent state (network configurations); default /var/lib/podnet. */
  stateDir?: string
  /** Volatile state (attachments, IPAM, port claims, lock); default <stateDir>/run when stateDir is given, else /run/podnet. */
  runDir?: string
  /** The namespace that plays the host (default: the one this process is in). */
  hostNetns?: NetnsArg
  /** The boot podnet runs in (default: the kernel's boot_id); tests pass another to simulate a reboot. */
  bootId?: string
}
