/**
 * The nf_tables rules podnet installs, all in its own table `inet podnet` (podnet never reads
 * or writes any other table). Layout (docs/networks.md shows a real `nft list ruleset`):
 *
 *   chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump hostports }
 *   chain output      { type nat hook output priority dstnat;     fib daddr type local jump hostports }
 *   chain hostports   { per published port: [ip daddr HOSTIP] tcp dport P dnat ip to POD:PORT }
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
 * Every rule carries a comment saying who owns it ("podnet net=web ..."), and its handle is
 * recorded in the state, so detach and gc delete exactly what was added.
 */
import type { Expr, RuleSpec } from '../netlink/nftables/index.js'
import {
  accept, counter, dnat, drop, jump, masquerade, matchCtState, matchDaddr, matchDport, matchFibDaddrLocal,
  matchIifname, matchL4proto, matchOifname, matchSaddr,
} from '../netlink/nftables/index.js'
import { NFT_TABLE } from './names.js'

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

export interface NetworkNat {
  name: string
  bridge: string
  subnets: Array<{ subnet: string; family: 4 | 6 }>
  nat: boolean
  internal: boolean
}

/** The rules of one network, in the order they are added. */
export function networkRules(n: NetworkNat): RuleSpec[] {
  const tag = `podnet net=${n.name}`
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

export interface PortMapping {
  /** Host address to listen on; undefined = every local address (of the mapping's family). */
  hostIp?: string
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
}

/** The DNAT rule of one published port to one pod address. */
export function portMappingRule(network: string, id: string, ifname: string, m: PortMapping, podIp: string, family: 4 | 6): RuleSpec {
  const exprs: Expr[] = []
  if (m.hostIp) exprs.push(...matchDaddr(m.hostIp, inet))
  else exprs.push({ kind: 'meta', key: 'nfproto', dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: Buffer.from([family === 4 ? 2 : 10]) })
  exprs.push(...matchL4proto(m.protocol), ...matchDport(m.protocol, m.hostPort), ...counter(), ...dnat(podIp, m.containerPort))
  return {
    ...TABLE, chain: HOSTPORTS, exprs,
    comment: `podnet net=${network} id=${id} if=${ifname} port=${m.hostIp ? `${m.hostIp}:` : ''}${m.hostPort}/${m.protocol}`,
  }
}
