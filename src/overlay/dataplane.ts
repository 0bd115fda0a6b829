/**
 * The overlay's kernel side on one node, for one network, all rtnetlink and nf_tables objects:
 *
 *   VXLAN device  pnvx-<network>: VNI and UDP port from the config, local = the underlay
 *                 address, on the underlay device, learning off (peers come from the store, not
 *                 from flooding), MTU = underlay MTU - 50, a MAC derived from (network, node)
 *                 so it survives restarts.
 *   per peer      (flannel's vxlan backend, the same three objects)
 *                   bridge fdb append <peer VTEP MAC> dev pnvx-N dst <peer underlay> self permanent
 *                   ip neigh replace <peer gateway> lladdr <peer VTEP MAC> dev pnvx-N nud permanent
 *                   ip route replace <peer subnet> via <peer gateway> dev pnvx-N onlink
 *                 or, with direct routing and the peer on the underlay's own segment,
 *                   ip route replace <peer subnet> via <peer underlay> dev <underlay dev>
 *   nf_tables     table inet podnet-ov-<network>: masquerade what the node subnet sends out of
 *                 the cluster subnet (pod to pod keeps its source address), accept forwarding
 *                 between the cluster subnet and the node's bridge. Replaced as a whole in one
 *                 transaction, so "ensure" is atomic.
 *
 * Peers are programmed one at a time (the route last, removed first, so traffic only uses a
 * peer whose L2 entries are in place); nothing here flushes.
 */
import { createHash } from 'node:crypto'
import { InvalidArgumentError, NotFoundError, isErrno } from '../errors.js'
import { cidrContains, overlaps, parseCidr, parseIp } from '../net/ip.js'
import { RTNH_F_ONLINK } from '../netlink/route/constants/rtnetlink.js'
import type { Rtnl, Route } from '../netlink/route/index.js'
import type { Nft } from '../netlink/nftables/index.js'
import { accept, counter, masquerade, matchDaddr, matchIifname, matchOifname, matchSaddr } from '../netlink/nftables/index.js'
import { VXLAN_OVERHEAD, type OverlayConfig, type SubnetRecord } from './model.js'

const hex = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex')

/** `pnvx-<network>` when it fits in 15 bytes, else `pnvx-` + 10 hex of the name's hash. */
export function vxlanDeviceName(network: string): string {
  const plain = `pnvx-${network}`
  return Buffer.byteLength(plain) <= 15 ? plain : `pnvx-${hex(network).slice(0, 10)}`
}

/** A locally administered MAC derived from (network, node): the same after every restart. */
export function vtepMac(network: string, node: string): string {
  const h = hex('vtep-mac', network, node)
  return `02:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`
}

export const natTableName = (network: string): string => `podnet-ov-${network}`

export interface Underlay {
  address: string
  dev: string
  index: number
  mtu: number
  /** The connected prefix of the address (a peer inside it is on the same L2 segment). */
  prefix: string
}

/**
 * Finds the underlay: the device holding `address`, or the first IPv4 address of `dev`, or the
 * device of the IPv4 default route. Throws InvalidArgumentError naming the flag.
 */
export function resolveUnderlay(rt: Rtnl, opts: { address?: string; dev?: string }): Underlay {
  const addrs = rt.addr.listSync({ family: 4 }).filter((a) => a.scope === 0)
  const pick = (a: { index: number; local: string; prefixlen: number }, flag: string): Underlay => {
    const link = rt.link.getSync(a.index)
    if (!link.up) throw new InvalidArgumentError(flag, `underlay device ${link.name} is down`)
    const c = parseCidr(`${a.local}/${a.prefixlen}`, flag, { allowHostBits: true })
    return { address: a.local, dev: link.name, index: link.index, mtu: link.mtu ?? 1500, prefix: c.text }
  }
  if (opts.address !== undefined) {
    parseIp(opts.address, 'underlay')
    const a = addrs.find((x) => x.local === opts.address)
    if (!a) throw new InvalidArgumentError('underlay', `${opts.address} is not an address of this node`)
    return pick(a, 'underlay')
  }
  if (opts.dev !== undefined) {
    const link = rt.link.findSync(opts.dev)
    if (!link) throw new InvalidArgumentError('underlayDev', `there is no device '${opts.dev}'`)
    const a = addrs.find((x) => x.index === link.index)
    if (!a) throw new InvalidArgumentError('underlayDev', `${opts.dev} has no global IPv4 address`)
    return pick(a, 'underlayDev')
  }
  const def = rt.route.listSync({ family: 4 }).find((r) => r.dst === 'default' && r.oif !== undefined)
  const a = def && addrs.find((x) => x.index === def.oif)
  if (!a) throw new InvalidArgumentError('underlay', 'no IPv4 default route to find the underlay by; give the underlay address or device')
  return pick(a, 'underlay')
}

export interface DataPlaneOptions {
  rt: Rtnl
  nft: Nft
  config: OverlayConfig
  underlay: Underlay
  node: string
}

/** How one peer is programmed on this node. */
export type PeerMode = 'vxlan' | 'direct'

export class VxlanDataPlane {
  readonly config: OverlayConfig
  readonly underlay: Underlay
  readonly device: string
  readonly mac: string
  readonly mtu: number
  private readonly rt: Rtnl
  private readonly nft: Nft
  private deviceIndex = 0

  constructor(o: DataPlaneOptions) {
    this.rt = o.rt
    this.nft = o.nft
    this.config = o.config
    this.underlay = o.underlay
    this.device = vxlanDeviceName(o.config.name)
    this.mac = vtepMac(o.config.name, o.node)
    this.mtu = o.underlay.mtu - VXLAN_OVERHEAD
  }

  /** Creates the VXLAN device, or keeps the one there when it matches (an agent restarted with --keep). */
  ensureDevice(): void {
    const c = this.config
    const existing = this.rt.link.findSync(this.device)
    if (existing) {
      const d = existing.data ?? {}
      const same = existing.kind === 'vxlan' && Number(d.id) === c.vni && Number(d.port) === c.port && d.local === this.underlay.address &&
        Number(d.learning) === 0 && existing.address === this.mac && existing.mtu === this.mtu
      if (same) {
        if (!existing.up) this.rt.link.setSync(existing.index, { up: true })
        this.deviceIndex = existing.index
        return
      }
      this.rt.link.delSync(existing.index)
    }
    const l = this.rt.link.addSync({
      kind: 'vxlan', name: this.device, mtu: this.mtu, address: this.mac,
      vxlan: { id: c.vni, local: this.underlay.address, link: this.underlay.index, port: c.port, learning: false },
    })
    this.deviceIndex = l?.index ?? this.rt.link.getSync(this.device).index
    this.rt.link.setSync(this.deviceIndex, { ipv6AddrGenMode: 'none' })
    this.rt.link.setSync(this.deviceIndex, { up: true })
  }

  /** The masquerade and forward rules, replacing the table in one transaction. */
  ensureNat(nodeSubnet: string, bridge: string): void {
    const table = natTableName(this.config.name)
    const t = { family: 'inet' as const, table }
    const inet = { tableFamily: 'inet' } as const
    const tag = `podnet overlay net=${this.config.name}`
    const tx = this.nft.transaction()
    tx.destroyTable({ family: 'inet', name: table })
    tx.addTable({ family: 'inet', name: table })
    tx.addChain({ ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100 })
    tx.addChain({ ...t, name: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' })
    tx.addRule({
      ...t, chain: 'postrouting', comment: `${tag} masquerade out of the cluster subnet`,
      exprs: [...matchSaddr(nodeSubnet, inet), ...matchDaddr(this.config.subnet, { ...inet, neq: true }), ...matchDaddr('224.0.0.0/4', { ...inet, neq: true }),
        ...matchOifname(bridge, { neq: true }), ...counter(), ...masquerade()],
    })
    tx.addRule({ ...t, chain: 'forward', comment: `${tag} cluster to bridge`, exprs: [...matchOifname(bridge), ...matchSaddr(this.config.subnet, inet), ...matchDaddr(nodeSubnet, inet), ...counter(), ...accept()] })
    tx.addRule({ ...t, chain: 'forward', comment: `${tag} bridge to cluster`, exprs: [...matchIifname(bridge), ...matchSaddr(nodeSubnet, inet), ...matchDaddr(this.config.subnet, inet), ...counter(), ...accept()] })
    tx.commitSync()
  }

  /** Whether a peer is reached directly over the underlay (direct routing, same segment) or through the tunnel. */
  modeOf(peer: SubnetRecord): PeerMode {
    if (!this.config.directRouting) return 'vxlan'
    return cidrContains(parseCidr(this.underlay.prefix), parseIp(peer.underlay)) ? 'direct' : 'vxlan'
  }

  /** Programs one peer (idempotent: replace / append). */
  program(peer: SubnetRecord): PeerMode {
    const mode = this.modeOf(peer)
    if (mode === 'direct') {
      this.rt.route.replaceSync({ dst: peer.subnet, via: peer.underlay, dev: this.underlay.index })
      return mode
    }
    const dev = this.deviceIndex || this.device
    this.rt.neigh.appendSync({ family: 'bridge', dev, lladdr: peer.vtepMac, dst: peer.underlay, self: true })
    this.rt.neigh.replaceSync({ dev, dst: peer.gateway, lladdr: peer.vtepMac })
    this.rt.route.replaceSync({ dst: peer.subnet, via: peer.gateway, dev, onlink: true })
    return mode
  }

  /** Removes one peer's route, neighbour and FDB entry; what is already gone is fine. */
  unprogram(peer: SubnetRecord): void {
    const dev = this.deviceIndex || this.device
    const gone = (fn: () => void): void => {
      try {
        fn()
      } catch (err) {
        if (!(err instanceof NotFoundError) && !isErrno(err, 'ESRCH') && !isErrno(err, 'ENOENT') && !isErrno(err, 'ENODEV')) throw err
      }
    }
    // the route whichever way it was programmed (direct routing may have changed with the peer's address)
    for (const r of this.peerRoutes().filter((x) => x.dst === peer.subnet)) gone(() => this.rt.route.delSync({ dst: r.dst, ...(r.gateway !== undefined && { via: r.gateway }), ...(r.oif !== undefined && { dev: r.oif }) }))
    gone(() => this.rt.neigh.delSync({ dev, dst: peer.gateway }))
    gone(() => this.rt.neigh.delSync({ family: 'bridge', dev, lladdr: peer.vtepMac, dst: peer.underlay, self: true }))
  }

  /** Routes into the cluster subnet through the VXLAN device or via the underlay (what this node has programmed). */
  peerRoutes(): Route[] {
    return this.rt.route.listSync({ family: 4 }).filter((r) => r.dst !== 'default' && r.dst.includes('/') && overlaps(r.dst, this.config.subnet) &&
      r.dst !== this.config.subnet && (r.oif === this.deviceIndex || (r.oif === this.underlay.index && r.gateway !== undefined)) &&
      (r.oif !== this.deviceIndex || (r.flags & RTNH_F_ONLINK) !== 0 || r.gateway !== undefined))
  }

  /**
   * Removes kernel state for peers that are not in `keep` (after a restart with --keep, or a
   * re-list after a lost connection): routes, neighbours and FDB entries of the device.
   * Returns the subnets removed.
   */
  removeStale(keep: ReadonlyMap<string, SubnetRecord>): string[] {
    const removed: string[] = []
    const wantRoute = (r: Route): boolean => {
      const p = keep.get(r.dst)
      if (!p) return false
      return this.modeOf(p) === 'direct' ? r.oif === this.underlay.index && r.gateway === p.underlay : r.oif === this.deviceIndex && r.gateway === p.gateway
    }
    for (const r of this.peerRoutes()) {
      if (wantRoute(r)) continue
      try {
        this.rt.route.delSync({ dst: r.dst, ...(r.gateway !== undefined && { via: r.gateway }), ...(r.oif !== undefined && { dev: r.oif }) })
        removed.push(r.dst)
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err
      }
    }
    if (!this.deviceIndex) return removed
    const vx = [...keep.values()].filter((p) => this.modeOf(p) === 'vxlan')
    const gateways = new Map(vx.map((p) => [p.gateway, p.vtepMac]))
    for (const n of this.rt.neigh.listSync({ dev: this.deviceIndex, family: 4 })) {
      if (n.dst !== undefined && gateways.get(n.dst) !== n.lladdr) {
        try { this.rt.neigh.delSync({ dev: this.deviceIndex, dst: n.dst }) } catch (err) { if (!(err instanceof NotFoundError)) throw err }
      }
    }
    const fdb = new Set(vx.map((p) => `${p.vtepMac} ${p.underlay}`))
    for (const f of this.rt.neigh.listSync({ dev: this.deviceIndex, family: 'bridge' })) {
      if (f.dst === undefined || f.lladdr === undefined || fdb.has(`${f.lladdr} ${f.dst}`)) continue
      try {
        this.rt.neigh.delSync({ family: 'bridge', dev: this.deviceIndex, lladdr: f.lladdr, dst: f.dst, self: true })
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err
      }
    }
    return removed
  }

  /** Removes the device (its routes, neighbours and FDB entries go with it), direct routes and the NAT table. */
  teardown(): void {
    for (const r of this.peerRoutes().filter((x) => x.oif === this.underlay.index)) {
      try { this.rt.route.delSync({ dst: r.dst, ...(r.gateway !== undefined && { via: r.gateway }), dev: this.underlay.index }) } catch { /* gone */ }
    }
    try {
      this.rt.link.delSync(this.device)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
    this.deviceIndex = 0
    try {
      this.nft.transaction().destroyTable({ family: 'inet', name: natTableName(this.config.name) }).commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
    }
  }
}
