/**
 * Bridge networks: a bridge with gateway addresses, IPAM, NAT and published ports, and the
 * attachment of pod network namespaces to it. docker0 / netavark / CNI bridge semantics, done
 * in-process over rtnetlink and nf_tables.
 *
 * Every multi-step operation runs under the state lock and an UndoStack: a failure undoes the
 * steps already taken. Teardown verbs (detach, remove) succeed when the thing is already gone.
 * Per-pod work never dumps links or rules: attach is O(1) kernel requests (docs/networks.md).
 *
 * The parts: types.ts (what goes in and out), port-mapping.ts and routes.ts (input checks, port
 * claims), nat.ts (the rules, pure) and nat-state.ts (installing and deleting them), state.ts (the
 * records), reconcile.ts (check, gc). This file orchestrates them.
 */
import { statSync } from 'node:fs'
import { AllocationExistsError, BusyError, DamagedRecordError, ExistsError, InvalidArgumentError, NotFoundError, isErrno } from '../errors.js'
import { netnsArgPath, openNetnsArg, type NetnsRef, type OpenedNetns } from '../netns/index.js'
import { Rtnl, type Link } from '../netlink/route/index.js'
import { Nft } from '../netlink/nftables/index.js'
import { Conntrack } from '../netlink/conntrack/index.js'
import { validateMtu } from '../netlink/route/validate.js'
import { validateMac } from '../net/mac.js'
import { overlaps, parseCidr, reservedRangeOverlap } from '../net/ip.js'
import { validateContainerId, validateIfname, validateNetworkName } from '../net/names.js'
import { normalizeDnsName } from '../net/dns-name.js'
import { Allocator, DiskStore, parseRangeSets, type RangeSet } from './ipam/index.js'
import { bridgeMac, defaultBridgeName, hostVethName, ifbNameForVeth, podMac } from './names.js'
import { applyBandwidth, validateBandwidth, type BandwidthLimits } from './bandwidth.js'
import {
  DEFAULT_PRIORITY, addAttachmentPriority, attachmentPriorityElements, listPriorityElements, parsePriority, removePriorityElements,
} from './priority.js'
import { ownerTag, portMapElement } from './nat.js'
import { NatState } from './nat-state.js'
import { PortClaims, checkMappingsFit, mappingTargets, normalizePortMapping, validatePortMapping } from './port-mapping.js'
import { checkNetworks, collectGarbage, removeDamagedNetwork, type ReconcileContext } from './reconcile.js'
import { podRoutes, validatePodRoute } from './routes.js'
import { StateDir } from './state.js'
import { ensureBridge, ensureGateways, ensureNetworkKernel, ensureSysctls, installRules } from './ensure.js'
import type {
  AttachSpec, Attachment, DetachResult, DetachSpec, Drift, GcReport, ManagerOptions, NetworkConfig, NetworkSpec,
  PortElementRecord, PortMapEntry, PortMapping, SubnetConfig,
} from './types.js'
import { UndoStack } from './undo.js'
import type { Rule } from '../netlink/nftables/index.js'

/** The loopback device's ifindex in every network namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
const LOOPBACK_IFINDEX = 1
/** Device group podnet gives veths it is about to delete in bulk ('pn' in ASCII). */
const BULK_DELETE_GROUP = 0x706e

const attachmentKey = (id: string, ifname: string): string => `${id}@${ifname}`

/** True when two paths name the same namespace (same nsfs inode); false when either is gone. */
function sameNetns(a: string, b: string): boolean {
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}

/** The id a namespace given by name stands for (a path or a handle names no one). */
const idFromNetns = (netns: AttachSpec['netns'] | undefined): string | undefined =>
  typeof netns === 'string' && !netns.includes('/') ? netns : undefined

/**
 * Manages the bridge networks of one host (a namespace) with one state directory.
 * Resource: close() releases the sockets.
 */
export class NetworkManager implements ReconcileContext {
  readonly state: StateDir
  readonly hostNetnsName: string | null
  readonly nat: NatState
  private readonly hostNs: OpenedNetns | undefined
  private rtCache: Rtnl | undefined
  private nftCache: Nft | undefined
  private ctCache: Conntrack | undefined
  /** Bridge ifindexes by name, looked up once (dropped on any failure that may mean the bridge changed). */
  private readonly bridgeIndexCache = new Map<string, number>()
  /** Veth deletions in flight, by name (an attach reusing the name waits for them). */
  private readonly pendingDeletes = new Map<string, Promise<void>>()

  constructor(opts: ManagerOptions = {}) {
    this.state = new StateDir({
      ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }),
      ...(opts.bootId !== undefined && { bootId: opts.bootId }),
    })
    this.hostNs = opts.hostNetns === undefined ? undefined : openNetnsArg(opts.hostNetns)
    this.hostNetnsName = this.hostNs ? this.hostNs.ref.name ?? this.hostNs.path ?? null : null
    this.nat = new NatState({ owner: this.state.owner, nft: () => this.nft, ct: () => this.ct, hostAddresses: () => this.rt.addr.listSync() })
  }

  private get hostRef(): NetnsRef | undefined {
    return this.hostNs?.ref
  }

  /** The rtnetlink handle in the host namespace (opened once). */
  /** The state directory's id, written into every rule and map element podnet adds (nat.ts ownerTag). */
  get owner(): string {
    return this.state.owner
  }

  get rt(): Rtnl {
    return (this.rtCache ??= Rtnl.open(this.hostRef ? { netns: this.hostRef } : {}))
  }

  /** The nf_tables handle in the host namespace (opened once). */
  get nft(): Nft {
    return (this.nftCache ??= Nft.open(this.hostRef ? { netns: this.hostRef } : {}))
  }

  /** The conntrack handle in the host namespace (opened on first use: only UDP port mappings need it). */
  private get ct(): Conntrack {
    return (this.ctCache ??= Conntrack.open(this.hostRef ? { netns: this.hostRef } : {}))
  }

  close(): void {
    this.rtCache?.close()
    this.nftCache?.close()
    this.ctCache?.close()
    this.hostNs?.close()
  }

  /**
   * The bridge's ifindex; when the bridge is missing (a reboot, or someone deleted it), the
   * network's kernel side is made again first (ensure.ts). Callers hold the state lock.
   */
  private async bridgeIndexEnsured(config: NetworkConfig): Promise<number> {
    try {
      return this.bridgeIndex(config)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
      await ensureNetworkKernel(this, config)
      return this.bridgeIndex(config)
    }
  }

  private bridgeIndex(config: NetworkConfig): number {
    let i = this.bridgeIndexCache.get(config.bridge)
    if (i === undefined) {
      i = this.rt.link.bridgeIndexSync(config.bridge)
      this.bridgeIndexCache.set(config.bridge, i)
    }
    return i
  }

  /** Runs fn with this thread in the host namespace (sysctls). */
  inHost(fn: () => void): void {
    const ns = this.hostNs?.ref
    if (ns && 'runSync' in ns && typeof ns.runSync === 'function') (ns as { runSync(f: () => void): void }).runSync(fn)
    else fn()
  }

  /** The stored configuration of a network; NotFoundError when there is none. */
  get(name: string): NetworkConfig {
    validateNetworkName(name)
    let c: NetworkConfig | undefined
    try {
      c = this.state.readJson<NetworkConfig>(this.state.configPath(name))
    } catch (err) {
      if (!(err instanceof DamagedRecordError)) throw err
      throw new DamagedRecordError(err.path, `${err.reason}; network '${name}' cannot be used: remove it with force, which finds its bridge and rules by their owner tags`)
    }
    if (!c) {
      // a network another layer provides here later (an overlay's node subnet) says why it is not here yet
      const pending = this.state.readJson<{ reason?: string }>(this.state.pendingPath(name))
      throw new NotFoundError('network', name, pending?.reason ?? '')
    }
    return c
  }

  /**
   * `get` for attaching a pod: a network with no record and no note (setPending) says how to
   * make it, here or as an overlay's node subnet (the node agent), instead of a bare "does not exist".
   */
  getForAttach(name: string): NetworkConfig {
    try {
      return this.get(name)
    } catch (err) {
      if (!(err instanceof NotFoundError) || this.state.readJson(this.state.pendingPath(name)) !== undefined) throw err
      throw new NotFoundError('network', name, `on this node: create it (podnet network create ${name} --subnet CIDR) or, if it is an overlay network, start its node agent here (podnet node run --store URLS --name NODE)`)
    }
  }

  /**
   * Records why network `name` does not exist on this node yet although it is known (an overlay
   * network without a node subnet lease): `get`, and so attach, name that reason instead of a
   * bare "does not exist". `reason` undefined removes the note. Creating the network makes the
   * note moot; removing it removes the note with the network's directory.
   */
  setPending(name: string, reason: string | undefined): void {
    validateNetworkName(name)
    if (reason === undefined) this.state.remove(this.state.pendingPath(name))
    else this.state.writeJson(this.state.pendingPath(name), { reason })
  }

  /** Every network's stored configuration; a damaged record is left out (damagedNetworks() names it). */
  list(): NetworkConfig[] {
    return this.state.list(this.state.networksDir()).flatMap((n) => {
      try {
        const c = this.state.readJson<NetworkConfig>(this.state.configPath(n))
        return c ? [c] : []
      } catch (err) {
        if (err instanceof DamagedRecordError) return []
        throw err
      }
    })
  }

  /**
   * Networks whose record cannot be read (a disk error, a hand edit): list() leaves them out, get()
   * refuses them, gc leaves everything tagged with their name alone, and remove with force
   * removes them by their owner tags.
   */
  damagedNetworks(): Array<{ name: string; error: DamagedRecordError }> {
    return this.state.list(this.state.networksDir()).flatMap((name) => {
      try {
        this.state.readJson(this.state.configPath(name))
        return []
      } catch (err) {
        if (err instanceof DamagedRecordError) return [{ name, error: err }]
        throw err
      }
    })
  }

  /** The attachment of (container id, ifname) to a network, or undefined (one file read). */
  attachment(network: string, id: string, ifname = 'eth0'): Attachment | undefined {
    if (!this.state.runIsCurrent()) return undefined // records of an earlier boot: void
    return this.state.readJson<Attachment>(this.state.attachmentPath(network, id, ifname))
  }

  /** The attachments of a network (none when the run directory is of an earlier boot). */
  attachments(name: string): Attachment[] {
    if (!this.state.runIsCurrent()) return []
    return this.state.list(this.state.attachmentsDir(name)).flatMap((f) => {
      try {
        const a = f.endsWith('.json') ? this.state.readJson<Attachment>(`${this.state.attachmentsDir(name)}/${f}`) : undefined
        return a ? [a] : []
      } catch (err) {
        if (err instanceof DamagedRecordError) return [] // its veth and ports are strays to gc
        throw err
      }
    })
  }

  /** The IPAM allocator of a network (its store is in the run directory). */
  allocator(name: string): Allocator {
    return new Allocator(new DiskStore(this.state.ipamDir(name)))
  }

  private ranges(c: NetworkConfig): RangeSet[] {
    return parseRangeSets(c.subnets.map((s) => ({ subnet: s.subnet, gateway: s.gateway })))
  }

  // -------------------------------------------------------------------------------------------
  // create / remove

  /**
   * Creates a network: bridge (stable MAC, MTU, up), gateway addresses, sysctls (ip_forward,
   * route_localnet on the bridge, accept_ra=0), NAT and isolation rules. Nothing is left behind
   * when any step fails. Equivalent to `podnet network create`.
   */
  async create(spec: NetworkSpec): Promise<NetworkConfig> {
    validateNetworkName(spec.name)
    if (!spec.subnets.length) throw new InvalidArgumentError('subnets', 'a network needs at least one subnet')
    const mtu = spec.mtu ?? 1500
    validateMtu(mtu)
    const bridge = spec.bridge ?? defaultBridgeName(spec.name)
    validateIfname(bridge, 'bridge name')
    const subnets = this.parseSubnets(spec)
    if (spec.internal && spec.nat === true) throw new InvalidArgumentError('internal', 'an internal network has no NAT; do not ask for both')
    return this.state.locked(async () => {
      if (this.state.readJson(this.state.configPath(spec.name))) throw new ExistsError('network', spec.name)
      for (const other of this.list()) {
        if (other.bridge === bridge) throw new ExistsError('bridge', bridge, `(used by network '${other.name}')`)
        for (const s of subnets) for (const o of other.subnets) {
          if (overlaps(s.subnet, o.subnet)) throw new InvalidArgumentError('subnet', `${s.subnet} overlaps ${o.subnet} of network '${other.name}'`)
        }
      }
      this.checkRoutedInHost(subnets, bridge)
      const config: NetworkConfig = {
        name: spec.name, bridge, bridgeMac: bridgeMac(spec.name), subnets, mtu,
        nat: spec.internal ? false : spec.nat ?? true, internal: spec.internal ?? false,
        ...(spec.dns && { dns: true }), createdBridge: false, hostNetns: this.hostNetnsName, createdAt: new Date().toISOString(), rules: [],
      }
      // the same steps as ensureNetworkKernel (ensure.ts), each undone on failure; a bridge that a
      // killed earlier create left (podnet's alias or MAC) is adopted, its rules replaced
      return UndoStack.run(async (undo) => {
        undo.push('remove the network directory', () => this.state.removeTree(this.state.networkDir(spec.name)))
        await ensureBridge(this, config, undo)
        await ensureGateways(this, config, undo)
        await ensureSysctls(this, config)
        await installRules(this, config)
        undo.push('remove nf_tables rules', () => this.nat.deleteRules(config.rules, config.bridge))
        this.state.writeJson(this.state.configPath(spec.name), config)
        return config
      })
    })
  }

  private parseSubnets(spec: NetworkSpec): SubnetConfig[] {
    const seen = new Set<number>()
    const ranges = spec.subnets.map((text) => {
      const c = parseCidr(text, 'subnet')
      const reserved = reservedRangeOverlap(c)
      if (reserved) throw new InvalidArgumentError('subnet', `${text} overlaps ${reserved}: pods cannot use those addresses`)
      if (c.family === 6 && (spec.mtu ?? 1500) < 1280) throw new InvalidArgumentError('mtu', `${spec.mtu} is below 1280, the least IPv6 allows (subnet ${text})`)
      if (seen.has(c.family)) throw new InvalidArgumentError('subnet', `more than one IPv${c.family} subnet; give at most one IPv4 and one IPv6`)
      seen.add(c.family)
      const gw = spec.gateways?.find((g) => (g.includes(':') ? 6 : 4) === c.family)
      return { subnet: text, ...(gw !== undefined && { gateway: gw }) }
    })
    for (const g of spec.gateways ?? []) {
      if (!ranges.some((r) => 'gateway' in r && r.gateway === g)) throw new InvalidArgumentError('gateway', `${g} has no subnet of its family`)
    }
    const sets = parseRangeSets(ranges, 'subnet')
    return sets.map((rs, i) => {
      const r = rs.ranges[0]!
      return { subnet: r.subnet.text ?? spec.subnets[i]!, gateway: r.gatewayText, family: r.family }
    })
  }

  /** Refuses a subnet that overlaps a route of the host (other than podnet's own bridge). */
  private checkRoutedInHost(subnets: SubnetConfig[], bridge: string): void {
    const links = this.rt.link.listSync()
    const br = links.find((l) => l.name === bridge)
    for (const r of this.rt.route.listSync({ table: 'all' })) {
      if (r.dst === 'default' || r.type !== 1 || (br && r.oif === br.index)) continue
      if (r.family === 6 && r.dst.startsWith('fe80:')) continue
      const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${r.family === 4 ? 32 : 128}`
      for (const s of subnets) {
        if (s.family === r.family && overlaps(s.subnet, dst)) {
          const dev = links.find((l) => l.index === r.oif)?.name
          throw new InvalidArgumentError('subnet', `${s.subnet} overlaps ${dst}${dev ? ` on ${dev}` : ''}, already routed in the host namespace`)
        }
      }
    }
  }

  /**
   * Removes a network: its rules, its bridge (if podnet created it), its state. Refused with
   * BusyError while pods are attached, unless `force`, which detaches them first. Equivalent to
   * `podnet network rm`.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<{ detached: number }> {
    if (opts.force && this.damagedNetworks().some((d) => d.name === name)) return removeDamagedNetwork(this, name)
    this.get(name) // NotFoundError before waiting for the lock
    // One locked step from listing the attachments to deleting the record: an attach waiting for
    // the lock finds the network gone instead of attaching to a network that no longer exists.
    return this.state.locked(async () => {
      const config = this.get(name)
      const atts = this.attachments(name)
      if (atts.length && !opts.force) {
        throw new BusyError('network', name, `network '${name}' has ${atts.length} attachment(s) (${atts.slice(0, 3).map((a) => a.id).join(', ')}${atts.length > 3 ? ', ...' : ''}); detach them first, or remove it with force`)
      }
      for (const a of atts) await this.detachLocked(config, a)
      const veths = atts.flatMap((a) => [a.hostVeth, ...(a.bandwidth?.egress ? [ifbNameForVeth(a.hostVeth)] : [])])
        .map((n) => this.rt.link.findSync(n)?.index).filter((i): i is number => i !== undefined)
      await this.deleteLinksBulk(veths)
      this.nat.deleteRules(config.rules, config.bridge)
      if (config.createdBridge) {
        try {
          await this.rt.link.del(config.bridge)
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err
        }
      }
      this.state.removeTree(this.state.networkDir(name))
      this.state.removeTree(this.state.runNetworkDir(name))
      if (this.list().length === 0) await this.nat.destroyTableIfUnused()
      return { detached: atts.length }
    })
  }

  /**
   * Makes the kernel side of networks match their records (bridge, gateways, sysctls, rules), as
   * after a reboot: every network, or those named. Returns what was repaired, per network.
   * Equivalent to `podnet network restore`.
   */
  async restore(names?: readonly string[]): Promise<Array<{ network: string; repaired: string[] }>> {
    for (const n of names ?? []) this.get(n)
    return this.state.locked(async () => {
      const out: Array<{ network: string; repaired: string[] }> = []
      for (const c of names ? names.map((n) => this.get(n)) : this.list()) out.push({ network: c.name, repaired: await ensureNetworkKernel(this, c) })
      return out
    })
  }

  // -------------------------------------------------------------------------------------------
  // attach / detach

  /**
   * Attaches a pod namespace: host-side veth on the bridge, the pod side created directly in
   * the namespace (eth0), MAC, MTU, addresses from IPAM, default routes, loopback up, published
   * ports. Undone completely on any failure. Equivalent to `podnet network attach`.
   */
  async attach(spec: AttachSpec): Promise<Attachment> {
    const config = this.getForAttach(spec.network)
    const ifname = spec.ifname ?? 'eth0'
    validateIfname(ifname, 'ifname')
    const id = spec.id ?? idFromNetns(spec.netns)
    if (id === undefined) throw new InvalidArgumentError('id', 'an attachment to a namespace given by path or handle needs an id')
    validateContainerId(id)
    const mac = spec.mac ?? podMac(config.name, id, ifname)
    validateMac(mac, 'mac')
    for (const m of spec.portMappings ?? []) validatePortMapping(m)
    const mappings = (spec.portMappings ?? []).map(normalizePortMapping)
    checkMappingsFit(config, mappings)
    for (const r of spec.routes ?? []) validatePodRoute(config, r)
    if (spec.bandwidth) validateBandwidth(spec.bandwidth, config.mtu)
    if (spec.priority !== undefined) parsePriority(spec.priority, 'priority')
    const dnsNames = [...new Set((spec.dnsNames ?? []).map((n, i) => normalizeDnsName(n, `dnsNames[${i}]`)))]
    const podNs = openNetnsArg(spec.netns)
    try {
      // the network is read again under the lock: a `network rm` that held it may have removed it
      return await this.state.locked(() => this.attachLocked(this.get(config.name), { ...spec, dnsNames }, podNs, id, ifname, mac, mappings))
    } finally {
      podNs.close()
    }
  }

  private async attachLocked(config: NetworkConfig, spec: AttachSpec, podNs: OpenedNetns, id: string, ifname: string, mac: string, mappings: PortMapping[]): Promise<Attachment> {
    const recordPath = this.state.attachmentPath(config.name, id, ifname)
    const prior = this.state.readJson<Attachment>(recordPath)
    if (prior) throw new ExistsError('attachment', attachmentKey(id, ifname), `on network '${config.name}' (netns ${prior.netns})`)
    const where = podNs.path ?? podNs.ref.name ?? 'the pod namespace'
    if (podNs.path !== undefined && sameNetns(podNs.path, this.hostNs?.path ?? '/proc/thread-self/ns/net')) {
      throw new InvalidArgumentError('netns', `${where} is the host's own network namespace; a pod needs a namespace of its own`)
    }
    // Whatever this owner still holds without a record can only be left by an attach that was
    // killed (attaches hold the lock): its addresses, port claims and veth are reclaimed below.
    return UndoStack.run(async (undo) => {
      // 1. addresses
      const allocator = this.allocator(config.name)
      const request = { containerId: id, ifname, ...(spec.ips?.length && { ip: spec.ips }) }
      let addrs
      try {
        addrs = await allocator.allocate(request, this.ranges(config))
      } catch (err) {
        if (!(err instanceof AllocationExistsError)) throw err
        await allocator.release(id, ifname)
        addrs = await allocator.allocate(request, this.ranges(config))
      }
      undo.push('release addresses', async () => { await allocator.release(id, ifname) })
      // 2. host ports, claimed atomically
      const claims = new PortClaims(this.state)
      for (const m of mappings) {
        if (claims.heldBy(m, { network: config.name, id, ifname })) claims.release(m)
        claims.claim({ network: config.name, id, ifname, mapping: m })
        undo.push('release a host port claim', () => claims.release(m))
      }
      // 3. veth: host end on the bridge, pod end created directly in the pod namespace
      const hostVeth = hostVethName(config.name, id, ifname)
      await this.pendingDeletes.get(hostVeth)
      let host: Link | undefined
      for (let attempt = 0; ; attempt++) {
        try {
          host = await this.rt.link.add({
            kind: 'veth', name: hostVeth, mtu: config.mtu, master: await this.bridgeIndexEnsured(config),
            peer: { name: ifname, netns: podNs.ref, mtu: config.mtu, address: mac },
          })
          break
        } catch (err) {
          this.bridgeIndexCache.delete(config.bridge)
          if (err instanceof ExistsError && err.objectName === ifname) {
            throw new ExistsError('interface', ifname, `in netns ${where}`, { cause: err })
          }
          // the host end of a killed attach of this owner (its name is derived from the owner)
          if (attempt === 0 && err instanceof ExistsError && err.objectName === hostVeth) {
            await this.deleteVeth(hostVeth)
            continue
          }
          throw err
        }
      }
      undo.push(`delete veth ${hostVeth}`, () => this.rt.link.del(hostVeth))
      const hostIndex = host?.index ?? hostVeth
      // no IPv6 link-local on the host end (no DAD/MLD per port), hairpin for pod -> own published port, then up
      await this.rt.link.set(hostIndex, { ipv6AddrGenMode: 'none', hairpin: spec.hairpin ?? true })
      await this.rt.link.set(hostIndex, { up: true })
      // bandwidth limits: tbf on the host end, ifb + redirect for the pod's egress (bandwidth.ts)
      if (spec.bandwidth) {
        await this.pendingDeletes.get(ifbNameForVeth(hostVeth))
        await applyBandwidth(this.rt, { hostVeth, mtu: config.mtu }, spec.bandwidth, undo)
      }
      // 4. inside the pod: requests by index. The veth's echo names the pod end's ifindex
      // (IFLA_LINK, in the pod namespace); lo is ifindex 1 in every namespace and setting it up
      // is idempotent, so no GET is needed for either.
      const routes = podRoutes(spec.routes, addrs)
      const pod = Rtnl.open({ netns: podNs.ref })
      try {
        pod.link.setSync(LOOPBACK_IFINDEX, { up: true })
        const eth = host?.link !== undefined && host.linkNetnsid !== undefined ? { index: host.link } : pod.link.getSync(ifname)
        // No IPv6 link-local address on the pod side either (IPv6 pods use their global address,
        // NDP works with it): the link-local's DAD and MLD packets are flooded to every port of
        // the bridge, which made each attach cost O(ports) (5 -> 24 ms from the 1st to the 800th pod).
        pod.link.setSync(eth.index, { ipv4Conf: { arp_notify: 1 }, ipv6AddrGenMode: 'none' })
        pod.link.setSync(eth.index, { up: true })
        for (const a of addrs) pod.addr.addSync({ cidr: a.address, dev: eth.index, ...(a.family === 6 && { nodad: true }) })
        for (const r of routes) {
          const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst
          pod.route.addSync({ dst, family: r.dst.includes(':') ? 6 : 4, dev: eth.index, ...(r.gw !== undefined && { via: r.gw }) })
        }
      } finally {
        pod.close()
      }
      // traffic priority: the pod's addresses in podnet-qos's maps (priority.ts)
      const priority = spec.priority !== undefined && spec.priority !== DEFAULT_PRIORITY ? spec.priority : undefined
      if (priority !== undefined) undo.push('remove the priority marks', await addAttachmentPriority(this.nft, this.rt, this.state, { network: config.name, id, ifname }, addrs, priority))
      // 5. published ports: one map element per mapping and pod address, then stale UDP flows go
      const elements = mappings.flatMap((m) => mappingTargets(m, addrs).map((a) => portMapElement(this.state.owner, config.name, id, ifname, m, a.ip, a.family)))
      const portElements: PortElementRecord[] = elements.map((e) => ({ map: e.map, key: e.key }))
      if (elements.length) {
        await this.nat.addPortElements(elements)
        undo.push('remove published ports', () => this.nat.deletePortElements(portElements))
      }
      const attachment: Attachment = {
        network: config.name, id, ifname, netns: podNs.path ?? where, hostVeth, mac, mtu: config.mtu,
        addresses: addrs.map((a) => ({ address: a.address, gateway: a.gateway, family: a.family })),
        portMappings: mappings, routes, ...(portElements.length && { portElements }),
        ...(spec.bandwidth && { bandwidth: spec.bandwidth }), ...(priority !== undefined && { priority }),
        ...(spec.dnsNames?.length && { dnsNames: spec.dnsNames }), createdAt: new Date().toISOString(),
      }
      this.state.writeJson(recordPath, attachment)
      return attachment
    })
  }

  /**
   * Detaches (container id, ifname) from a network: its published ports, veth, addresses and
   * record. Succeeds, and says so, when there is nothing to detach. Equivalent to
   * `podnet network detach`.
   */
  async detach(spec: DetachSpec): Promise<DetachResult> {
    const config = this.get(spec.network)
    const ifname = spec.ifname ?? 'eth0'
    const id = spec.id ?? idFromNetns(spec.netns)
    if (id === undefined) throw new InvalidArgumentError('id', 'a detach needs an id (or a namespace given by name)')
    const result = await this.state.locked(async (): Promise<DetachResult> => {
      const path = this.state.attachmentPath(config.name, id, ifname)
      let a: Attachment | undefined
      try {
        a = this.state.readJson<Attachment>(path)
      } catch (err) {
        if (!(err instanceof DamagedRecordError)) throw err
        this.state.remove(path) // unreadable: what it described is found by name and tag below
      }
      if (!a) {
        await this.removeLeftovers(config, id, ifname)
        return { detached: false, reason: `${attachmentKey(id, ifname)} is not attached to network '${config.name}'` }
      }
      if (spec.netns !== undefined) {
        const asked = netnsArgPath(spec.netns)
        if (asked === undefined || (asked !== a.netns && !sameNetns(asked, a.netns))) {
          return { detached: false, reason: `${attachmentKey(id, ifname)} belongs to netns ${a.netns}, not ${asked ?? 'the one given'}` }
        }
      }
      await this.detachLocked(config, a)
      return { detached: true, attachment: a }
    })
    // The veth goes outside the lock: its deletion waits for an RCU grace period in the kernel
    // (on a worker thread), and concurrent detaches overlap those waits instead of queueing.
    const a = result.attachment
    if (a && !spec.netnsGoing && this.state.exists(a.netns)) await this.deleteVeth(a.hostVeth)
    // the ifb of an egress limit is in the host namespace: it does not die with the pod's
    if (a?.bandwidth?.egress) await this.deleteVeth(ifbNameForVeth(a.hostVeth))
    return result
  }

  /**
   * What an attach killed before writing its record (or one whose record is damaged) may have
   * left, found by name and owner tag: the address this owner holds, the host veth and its ifb
   * (named for the owner), published ports and priority marks tagged with it, its port claims.
   * Inside the lock, so no attach of the owner is under way.
   */
  private async removeLeftovers(config: NetworkConfig, id: string, ifname: string): Promise<void> {
    await this.allocator(config.name).release(id, ifname)
    const veth = hostVethName(config.name, id, ifname)
    for (const name of [veth, ifbNameForVeth(veth)]) if (this.rt.link.findSync(name)) await this.deleteVeth(name)
    const tag = `${ownerTag(this.state.owner, config.name)} id=${id} if=${ifname}`
    const tagged = (c: string | undefined): boolean => c === tag || (c ?? '').startsWith(`${tag} `)
    this.nat.deletePortElements((await this.nat.portMapEntries()).filter((e) => tagged(e.comment)))
    removePriorityElements(this.nft, (await listPriorityElements(this.nft)).filter((e) => tagged(e.comment)))
    const claims = new PortClaims(this.state)
    for (const { file, owner } of claims.list()) {
      if (owner && owner.network === config.name && owner.id === id && owner.ifname === ifname) claims.removeFile(file)
    }
  }

  /** Everything of a recorded attachment but its veth (and ifb): published ports, priority marks, addresses, port claims, record. */
  private async detachLocked(config: NetworkConfig, a: Attachment): Promise<void> {
    this.nat.deletePortElements(a.portElements ?? [])
    removePriorityElements(this.nft, attachmentPriorityElements(a))
    await this.allocator(config.name).release(a.id, a.ifname)
    const claims = new PortClaims(this.state)
    for (const m of a.portMappings) claims.release(m)
    this.state.remove(this.state.attachmentPath(config.name, a.id, a.ifname))
  }

  private async deleteVeth(name: string): Promise<void> {
    const p = this.rt.link.del(name).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err
    })
    this.pendingDeletes.set(name, p)
    try {
      await p
    } finally {
      if (this.pendingDeletes.get(name) === p) this.pendingDeletes.delete(name)
    }
  }

  /** Deletes many links with one kernel request (one RCU wait): group them, delete the group. */
  async deleteLinksBulk(indexes: number[]): Promise<void> {
    if (!indexes.length) return
    for (const i of indexes) {
      try {
        await this.rt.link.set(i, { group: BULK_DELETE_GROUP })
      } catch (err) {
        if (!(err instanceof NotFoundError) && !isErrno(err, 'ENODEV')) throw err
      }
    }
    try {
      await this.rt.link.delGroup(BULK_DELETE_GROUP)
    } catch (err) {
      // the kernel destroyed them first (their namespaces went away): nothing left to delete
      if (!isErrno(err, 'ENODEV')) throw err
    }
  }

  // -------------------------------------------------------------------------------------------
  // check / gc / nat listings (reconcile.ts, nat-state.ts)

  /**
   * Reports drift between the recorded state and the kernel: of every network, of one network,
   * or of one network and only one of its attachments. Equivalent to `podnet network check`.
   */
  check(name?: string, only?: { id: string; ifname: string }): Promise<Drift[]> {
    return checkNetworks(this, name, only)
  }

  /** Removes leftovers (see reconcile.ts). Equivalent to `podnet network gc`. */
  gc(): Promise<GcReport> {
    return collectGarbage(this)
  }

  /** Rules in podnet's table (empty when the table does not exist). Equivalent to `podnet nat ls`. */
  podnetRules(): Promise<Rule[]> {
    return this.nat.rules()
  }

  /** The published ports in podnet's maps, with owners and counters. Equivalent to `podnet nat ports`. */
  portMapEntries(): Promise<PortMapEntry[]> {
    return this.nat.portMapEntries()
  }

  // -------------------------------------------------------------------------------------------
  // a running pod's limits (bandwidth.ts, priority.ts)

  /**
   * Changes the bandwidth limits of an attachment (undefined: no limits) and records them: a
   * running pod's new annotations. NotFoundError when not attached.
   */
  async setBandwidth(network: string, id: string, ifname: string, limits: BandwidthLimits | undefined): Promise<Attachment> {
    const config = this.get(network)
    if (limits) validateBandwidth(limits, config.mtu)
    return this.state.locked(async () => {
      const path = this.state.attachmentPath(network, id, ifname)
      const a = this.state.readJson<Attachment>(path)
      if (!a) throw new NotFoundError('attachment', attachmentKey(id, ifname), `on network '${network}'`)
      await applyBandwidth(this.rt, { hostVeth: a.hostVeth, mtu: a.mtu }, limits)
      const { bandwidth: _old, ...rest } = a
      const next: Attachment = limits && (limits.ingress || limits.egress) ? { ...rest, bandwidth: limits } : rest
      this.state.writeJson(path, next)
      return next
    })
  }

  /**
   * Changes the traffic priority of an attachment (undefined or 4: normal, no mark) and records it.
   * NotFoundError when not attached.
   */
  async setPriority(network: string, id: string, ifname: string, level: number | undefined): Promise<Attachment> {
    this.get(network)
    if (level !== undefined) parsePriority(level, 'priority')
    return this.state.locked(async () => {
      const path = this.state.attachmentPath(network, id, ifname)
      const a = this.state.readJson<Attachment>(path)
      if (!a) throw new NotFoundError('attachment', attachmentKey(id, ifname), `on network '${network}'`)
      removePriorityElements(this.nft, attachmentPriorityElements(a))
      const { priority: _old, ...rest } = a
      const next: Attachment = level !== undefined && level !== DEFAULT_PRIORITY ? { ...rest, priority: level } : rest
      if (next.priority !== undefined) await addAttachmentPriority(this.nft, this.rt, this.state, a, a.addresses, next.priority)
      this.state.writeJson(path, next)
      return next
    })
  }
}
