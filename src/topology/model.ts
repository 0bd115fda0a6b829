/**
 * The topology graph (`podnet topology --format json`): what the kernel has in each network
 * namespace podnet can see, tied to podnet's records (networks, attachments, pods). Every link
 * and address comes from an rtnetlink dump; every published port from podnet's nf_tables maps;
 * names of networks and pods from the records. Nothing is drawn that was not read.
 */

/** A link in a namespace (`ip -j -d link` and `ip -j addr` of one device). */
export interface TopoLink {
  /** '<namespace id>/<ifname>'. */
  id: string
  name: string
  index: number
  /** veth, bridge, vxlan, loopback, device (no IFLA_INFO_KIND), or another kind's name. */
  kind: string
  up: boolean
  mtu?: number
  mac?: string
  /** The bridge this link is a port of (its id). */
  master?: string
  /** A veth's other end (its id), when it is in a namespace of this graph. */
  peer?: string
  /** CIDRs, global and link scope ('10.88.0.1/24', 'fe80::1/64'). */
  addresses: string[]
  vxlan?: { vni: number; port?: number; local?: string; remotes: string[] }
  /** The podnet network whose bridge this is. */
  network?: string
}

export interface TopoRoute {
  /** 'default' or a CIDR. */
  dst: string
  via: string
  dev?: string
}

export interface TopoNamespace {
  /** 'host', 'ns:<name>' or 'pod:<name>' (an unnamed namespace: 'netns:<inode>'). */
  id: string
  name: string
  kind: 'host' | 'named' | 'pod' | 'other'
  /** nsfs inode (what `ip netns identify` and lsns compare). */
  inode: number
  path: string
  /** The pod whose sandbox this is. */
  pod?: string
  links: TopoLink[]
  /** Routes with a gateway (the next hops out of the namespace). */
  gateways: TopoRoute[]
}

export interface TopoPublishedPort {
  protocol: 'tcp' | 'udp'
  /** Undefined: every address of the host. */
  hostIp?: string
  hostPort: number
  podIp: string
  podPort: number
  /** The element's comment: "podnet o=1a2b3c4d net=web id=pod1 if=eth0" (bridge/nat.ts ownerTag). */
  owner?: string
  /** The pod-side link the traffic goes to (its id), when it is in the graph. */
  to?: string
}

export interface TopoNetwork {
  name: string
  bridge: string
  /** The bridge link's id, when its namespace is in the graph. */
  bridgeLink?: string
  /** The namespace holding the bridge. */
  namespace: string
  subnets: Array<{ subnet: string; gateway: string }>
  /** Traffic leaving the host is masqueraded. */
  masquerade: boolean
  internal: boolean
  dns: boolean
  attachments: Array<{ id: string; ifname: string; link?: string; addresses: string[]; names: string[] }>
  publishedPorts: TopoPublishedPort[]
}

export interface TopoPod {
  name: string
  /** Its sandbox's namespace id. */
  namespace?: string
  phase: string
  ips: string[]
  containers: Array<{ name: string; state: string }>
}

export type TopoEdge =
  | { kind: 'veth'; a: string; b: string }
  | { kind: 'port'; link: string; bridge: string }
  | { kind: 'vxlan'; link: string; remote: string }
  | { kind: 'publish'; network: string; port: TopoPublishedPort }

export interface TopologyGraph {
  namespaces: TopoNamespace[]
  networks: TopoNetwork[]
  pods: TopoPod[]
  edges: TopoEdge[]
}
