/**
 * The nf_tables rules podnet installs, all in its own table `inet podnet` (podnet never reads
 * or writes any other table). Layout (docs/networks.md shows a real `nft list ruleset`):
 *
 *   chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump hostports }
 *   chain output      { type nat hook output priority dstnat;     fib daddr type local jump hostports }
 *   chain hostports   { dnat ip to ip daddr . meta l4proto . th dport map @hostip-ports4     (ports on one host address)
 *                       meta nfproto ipv4 dnat ip to meta l4proto . th dport map @hostports4  (ports on every local address)
 *                       the same for ip6 with @hostip-ports6 and @hostports6 }
 *   map hostip-ports4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; counter
 *                       one element per published port bound to a host address: HOSTIP . tcp . 8080 : POD . 80 }
 *   map hostports4    { type inet_proto . inet_service : ipv4_addr . inet_service; counter
 *                       one element per published port on every address: tcp . 8080 : POD . 80 }
 *   map hostip-ports6, map hostports6: the same with ipv6_addr
 *   chain postrouting { type nat hook postrouting priority srcnat;
 *                       per network: ip saddr SUBNET ip daddr != 224.0.0.0/4 oifname != BR masquerade
 *                                    oifname BR ct status dnat ip saddr SUBNET masquerade   (hairpin, pod -> published port)
 *                                    oifname BR ip saddr 127.0.0.0/8 masquerade             (host 127.0.0.1 -> published port) }
 *   chain forward     { type filter hook forward priority filter; policy accept;
 *                       ct state established,related accept
 *                       ct status dnat accept                                              (published ports reach pods)
 *                       per network: iifname BR oifname != BR oifname @bridges drop       (isolation between networks)
 *                                    internal: iifname BR oifname != BR drop; oifname BR iifname != BR drop }
 *   set bridges       { type ifname; the bridges of all podnet networks }
 *
 * Every rule carries a comment saying who owns it ("podnet o=1a2b3c4d net=web ...": the state
 * directory that made it, then the network), and its handle is recorded in the state, so detach
 * and gc delete exactly what was added, and a podnet with another state directory (the CNI
 * plugin beside the CLI) never touches it. A published port is a
 * map element, not a rule: adding or deleting one is O(1) in the kernel, whatever the number of
 * ports (a rule change rebuilt the whole chain's blob), and so is the per-packet lookup (a
 * hash, where the rules were matched one after the other). Elements carry their owner as a
 * comment and a counter each; attachments record their keys, and detach deletes by key.
 */
import type { Expr, RuleSpec, SetDataType, SetScalar, SetSpec } from '../netlink/nftables/index.js'
import {
  accept, counter, dnatToMap, drop, jump, masquerade, matchCtState, matchDaddr, matchFibDaddrLocal,
  matchIifname, matchOifname, matchSaddr,
} from '../netlink/nftables/index.js'
import { NFT_TABLE } from './names.js'
import type { PortMapping } from './types.js'

export const TABLE = { family: 'inet', table: NFT_TABLE } as const
export const BRIDGES_SET = 'bridges'
export const CHAINS = {
  prerouting: { type: 'nat', hook: 'prerouting', priority: -100 },
  output: { type: 'nat', hook: 'output', priority: -100 },
  postrouting: { type: 'nat', hook: 'postrouting', priority: 100 },
  forward: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
} as const
export const HOSTPORTS = 'hostports'

/** IPS_DST_NAT from linux/netfilter/nf_conntrack_common.h: the connection was DNATed. */
const IPS_DST_NAT = 1 << 5

/** `ct status dnat` (or `ct status & dnat == 0` with negate). ct status is host-endian. */
export function matchCtStatusDnat(negate = false): Expr[] {
  const mask = Buffer.alloc(4)
  mask.writeUInt32LE(IPS_DST_NAT)
  return [
    { kind: 'ct', key: 'status', dreg: 1 },
    { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask, xor: Buffer.alloc(4) },
    { kind: 'cmp', op: negate ? 'eq' : 'neq', sreg: 1, data: Buffer.alloc(4) },
  ]
}

/** `oifname @bridges`: the output interface is one of podnet's bridges. */
export function matchOifInBridges(): Expr[] {
  return [
    { kind: 'meta', key: 'oifname', dreg: 1 },
    { kind: 'lookup', sreg: 1, set: BRIDGES_SET },
  ]
}

const inet = { tableFamily: 'inet' } as const

/** Rules shared by all networks, created with the table. */
export function sharedRules(): RuleSpec[] {
  return [
    { ...TABLE, chain: 'prerouting', exprs: [...matchFibDaddrLocal(), ...jump(HOSTPORTS)], comment: 'podnet shared: published ports' },
    { ...TABLE, chain: 'output', exprs: [...matchFibDaddrLocal(), ...jump(HOSTPORTS)], comment: 'podnet shared: published ports from this host' },
    { ...TABLE, chain: 'forward', exprs: [...matchCtState(['established', 'related']), ...accept()], comment: 'podnet shared: replies' },
    { ...TABLE, chain: 'forward', exprs: [...matchCtStatusDnat(), ...accept()], comment: 'podnet shared: published ports reach pods' },
  ]
}

/** The owner part of a comment: the state directory's id and the network ("podnet o=1a2b3c4d net=web"). */
export const ownerTag = (owner: string, network: string): string => `podnet o=${owner} net=${network}`

/** Who owns a rule or element, from its comment; undefined for shared rules and comments podnet did not write. */
export function parseOwnerTag(comment: string | undefined): { owner: string; network: string } | undefined {
  const m = /^podnet o=([0-9a-f]{8}) net=([^ ]+)/.exec(comment ?? '')
  return m ? { owner: m[1]!, network: m[2]! } : undefined
}

export interface NetworkNat {
  /** The state directory's id (StateDir.owner). */
  owner: string
  name: string
  bridge: string
  subnets: Array<{ subnet: string; family: 4 | 6 }>
  nat: boolean
  internal: boolean
}

/** The rules of one network, in the order they are added. */
export function networkRules(n: NetworkNat): RuleSpec[] {
  const tag = ownerTag(n.owner, n.name)
  const rules: RuleSpec[] = []
  for (const { subnet, family } of n.subnets) {
    if (n.nat && !n.internal) {
      const notMulticast = family === 4 ? matchDaddr('224.0.0.0/4', { ...inet, neq: true }) : matchDaddr('ff00::/8', { ...inet, neq: true })
      rules.push({
        ...TABLE, chain: 'postrouting', comment: `${tag} masquerade`,
        exprs: [...matchSaddr(subnet, inet), ...notMulticast, ...matchOifname(n.bridge, { neq: true }), ...counter(), ...masquerade()],
      })
    }
    rules.push({
      ...TABLE, chain: 'postrouting', comment: `${tag} hairpin`,
      exprs: [...matchOifname(n.bridge), ...matchCtStatusDnat(), ...matchSaddr(subnet, inet), ...masquerade()],
    })
    if (family === 4) {
      rules.push({
        ...TABLE, chain: 'postrouting', comment: `${tag} localhost`,
        exprs: [...matchOifname(n.bridge), ...matchSaddr('127.0.0.0/8', inet), ...masquerade()],
      })
    }
  }
  rules.push({
    ...TABLE, chain: 'forward', comment: `${tag} isolation`,
    exprs: [...matchIifname(n.bridge), ...matchOifname(n.bridge, { neq: true }), ...matchOifInBridges(), ...counter(), ...drop()],
  })
  if (n.internal) {
    rules.push({ ...TABLE, chain: 'forward', comment: `${tag} internal out`, exprs: [...matchIifname(n.bridge), ...matchOifname(n.bridge, { neq: true }), ...drop()] })
    rules.push({ ...TABLE, chain: 'forward', comment: `${tag} internal in`, exprs: [...matchOifname(n.bridge), ...matchIifname(n.bridge, { neq: true }), ...drop()] })
  }
  return rules
}


/** The maps of published ports: per family, one keyed with the host address and one for every address. */
export const PORT_MAPS = {
  4: { hostIp: 'hostip-ports4', any: 'hostports4' },
  6: { hostIp: 'hostip-ports6', any: 'hostports6' },
} as const

const ADDR_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const satisfies Record<4 | 6, SetDataType>

/** Key and data types of one published-port map. */
export function portMapTypes(family: 4 | 6, hostIp: boolean): { keyType: SetDataType[]; dataType: SetDataType[] } {
  return {
    keyType: hostIp ? [ADDR_TYPE[family], 'inet_proto', 'inet_service'] : ['inet_proto', 'inet_service'],
    dataType: [ADDR_TYPE[family], 'inet_service'],
  }
}

/** The four published-port maps, each element with its own counter. */
export function portMapSets(): SetSpec[] {
  return ([4, 6] as const).flatMap((f) => [
    { ...TABLE, name: PORT_MAPS[f].hostIp, ...portMapTypes(f, true), exprs: counter() },
    { ...TABLE, name: PORT_MAPS[f].any, ...portMapTypes(f, false), exprs: counter() },
  ])
}

/** The rules of chain hostports that DNAT through the maps (shared by all networks). */
export function portMapRules(): RuleSpec[] {
  return ([4, 6] as const).flatMap((f): RuleSpec[] => [
    {
      ...TABLE, chain: HOSTPORTS, comment: `podnet shared: IPv${f} ports on one host address`,
      exprs: dnatToMap(f, PORT_MAPS[f].hostIp, [f === 4 ? 'ip daddr' : 'ip6 daddr', 'meta l4proto', 'th dport'], inet),
    },
    { ...TABLE, chain: HOSTPORTS, comment: `podnet shared: IPv${f} ports`, exprs: dnatToMap(f, PORT_MAPS[f].any, ['meta l4proto', 'th dport'], inet) },
  ])
}

const PROTO_NUMBER = { tcp: 6, udp: 17 } as const

/** One published port of one pod address, as a map element (what attach adds and detach deletes by key). */
export interface PortElement {
  map: string
  family: 4 | 6
  /** [hostIp, protocol number, hostPort] or [protocol number, hostPort]. */
  key: SetScalar[]
  /** [pod address, containerPort]. */
  data: SetScalar[]
  comment: string
}

/** nft limits comments to 128 bytes; the owner is also in the state dir, so a longer one is cut. */
const MAX_COMMENT = 128

/** The map element of a published port to one pod address; its comment names the owner. */
export function portMapElement(owner: string, network: string, id: string, ifname: string, m: PortMapping, podIp: string, family: 4 | 6): PortElement {
  const proto = PROTO_NUMBER[m.protocol]
  let comment = `${ownerTag(owner, network)} id=${id} if=${ifname}`
  if (Buffer.byteLength(comment) > MAX_COMMENT) comment = Buffer.from(comment).subarray(0, MAX_COMMENT).toString('latin1')
  return m.hostIp !== undefined
    ? { map: PORT_MAPS[family].hostIp, family, key: [m.hostIp, proto, m.hostPort], data: [podIp, m.containerPort], comment }
    : { map: PORT_MAPS[family].any, family, key: [proto, m.hostPort], data: [podIp, m.containerPort], comment }
}

/** The types of the map an element belongs to (undefined for a map podnet does not make). */
export function portMapTypesOf(map: string): { family: 4 | 6; keyType: SetDataType[]; dataType: SetDataType[] } | undefined {
  for (const f of [4, 6] as const) {
    if (map === PORT_MAPS[f].hostIp) return { family: f, ...portMapTypes(f, true) }
    if (map === PORT_MAPS[f].any) return { family: f, ...portMapTypes(f, false) }
  }
  return undefined
}

/** "tcp 10.209.0.1:8080 -> 10.88.0.2:80", for reports. */
export function describePortElement(e: { key: readonly unknown[]; data?: readonly unknown[] | undefined }): string {
  const proto = (p: unknown): string => (p === 6 ? 'tcp' : p === 17 ? 'udp' : String(p))
  const host = e.key.length === 3 ? `${String(e.key[0]).includes(':') ? `[${String(e.key[0])}]` : String(e.key[0])}:${String(e.key[2])}` : `*:${String(e.key[1])}`
  const p = proto(e.key.length === 3 ? e.key[1] : e.key[0])
  const to = e.data ? ` -> ${String(e.data[0]).includes(':') ? `[${String(e.data[0])}]` : String(e.data[0])}:${String(e.data[1])}` : ''
  return `${p} ${host}${to}`
}
