/**
 * Bridge networks: a bridge with gateway addresses, IPAM, NAT and published ports, and the
 * attachment of pod network namespaces to it. docker0 / netavark / CNI bridge semantics, done
 * in-process over rtnetlink and nf_tables.
 *
 * Every multi-step operation runs under the state lock and an UndoStack: a failure undoes the
 * steps already taken. Teardown verbs (detach, remove) succeed when the thing is already gone.
 * Per-pod work never dumps links or rules: attach is O(1) kernel requests (docs/networks.md).
 *
 * The parts: types.ts (what goes in and out), create.ts, attach.ts and detach.ts (those verbs),
 * links.ts (bridge ifindexes, veth deletions), port-mapping.ts and routes.ts (input checks, port
 * claims), nat.ts (the rules, pure) and nat-state.ts (installing and deleting them), ensure.ts
 * (a network's kernel side), state.ts (the records), reconcile.ts (check, gc). NetworkManager is
 * their facade: it holds the handles and the records, and every verb starts here.
 */
import { BusyError, DamagedRecordError, NotFoundError } from '../errors.js'
import { openNetnsArg, type NetnsRef, type OpenedNetns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { Nft } from '../netlink/nftables/index.js'
import { Conntrack } from '../netlink/conntrack/index.js'
import { validateNetworkName } from '../net/names.js'
import { type Allocation, Allocator, DiskStore } from './ipam/index.js'
import { ifbNameForVeth } from './names.js'
import { applyBandwidth, validateBandwidth, type BandwidthLimits } from './bandwidth.js'
import {
  DEFAULT_PRIORITY, addAttachmentPriority, attachmentPriorityElements, parsePriority, removePriorityElements,
} from './priority.js'
import { NatState } from './nat-state.js'
import { checkNetworks, collectGarbage, removeDamagedNetwork, type ReconcileContext } from './reconcile.js'
import { StateDir } from './state.js'
import { ensureNetworkKernel } from './ensure.js'
import { HostLinks } from './links.js'
import { createNetwork, type CreateContext } from './create.js'
import { attachPod, attachmentKey, type AttachContext } from './attach.js'
import { detachLocked, detachPod, type DetachContext } from './detach.js'
import type {
  AttachSpec, Attachment, DetachResult, DetachSpec, Drift, GcReport, ManagerOptions, NetworkConfig, NetworkSpec, PortMapEntry, Reservation,
} from './types.js'
import type { Rule } from '../netlink/nftables/index.js'

/**
 * Manages the bridge networks of one host (a namespace) with one state directory.
 * Resource: close() releases the sockets.
 */
export class NetworkManager implements ReconcileContext, CreateContext, AttachContext, DetachContext {
  readonly state: StateDir
  readonly hostNetnsName: string | null
  readonly nat: NatState
  private readonly hostNs: OpenedNetns | undefined
  private rtCache: Rtnl | undefined
  private nftCache: Nft | undefined
  private ctCache: Conntrack | undefined
  /** The host's links as attach, detach and remove use them (links.ts). */
  readonly links: HostLinks
  /** The host namespace's path (undefined: this process's own). */
  readonly hostNetnsPath: string | undefined

  constructor(opts: ManagerOptions = {}) {
    this.state = new StateDir({
      ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }),
      ...(opts.bootId !== undefined && { bootId: opts.bootId }),
    })
    this.hostNs = opts.hostNetns === undefined ? undefined : openNetnsArg(opts.hostNetns)
    this.hostNetnsName = this.hostNs ? this.hostNs.ref.name ?? this.hostNs.path ?? null : null
    this.hostNetnsPath = this.hostNs?.path
    this.links = new HostLinks(() => this.rt)
    this.nat = new NatState({ owner: this.state.owner, nft: () => this.nft, ct: () => this.ct, hostAddresses: () => this.rt.addr.listSync() })
  }

  private get hostRef(): NetnsRef | undefined {
    return this.hostNs?.ref
  }

  /** The state directory's id, written into every rule and map element podnet adds (nat.ts ownerTag). */
  get owner(): string {
    return this.state.owner
  }

  /** The rtnetlink handle in the host namespace (opened once). */
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

  /**
   * The addresses of a network kept as reservations (a detach's `reserveAs`: a StatefulSet pod's
   * while its ordinal has no pod), each with its key (`reservation`) and ifname; none when the
   * run directory is of an earlier boot.
   */
  async reservations(name: string): Promise<Reservation[]> {
    this.get(name)
    if (!this.state.runIsCurrent()) return []
    return (await this.allocator(name).reservations()).map(toReservation(name))
  }

  /**
   * Frees the reservations whose key starts with `keyPrefix` ('' frees every one), on every
   * network or on the one named; returns what it freed. Attachments are never touched. Under
   * the state lock, as attach and detach.
   */
  async releaseReservations(keyPrefix: string, network?: string): Promise<Reservation[]> {
    if (network !== undefined) this.get(network)
    return this.state.locked(async () => {
      const out: Reservation[] = []
      for (const c of network !== undefined ? [this.get(network)] : this.list()) out.push(...(await this.allocator(c.name).releaseReservations(keyPrefix)).map(toReservation(c.name)))
      return out
    })
  }


  // -------------------------------------------------------------------------------------------
  // create / remove

  /**
   * Creates a network: bridge (stable MAC, MTU, up), gateway addresses, sysctls (ip_forward,
   * route_localnet on the bridge, accept_ra=0), NAT and isolation rules. Nothing is left behind
   * when any step fails (create.ts). Equivalent to `podnet network create`.
   */
  create(spec: NetworkSpec): Promise<NetworkConfig> {
    return createNetwork(this, spec)
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
      for (const a of atts) await detachLocked(this, config, a)
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
   * ports. Undone completely on any failure (attach.ts). Equivalent to `podnet network attach`.
   */
  attach(spec: AttachSpec): Promise<Attachment> {
    return attachPod(this, spec)
  }

  /**
   * Detaches (container id, ifname) from a network: its published ports, veth, addresses and
   * record. Succeeds, and says so, when there is nothing to detach (detach.ts). Equivalent to
   * `podnet network detach`.
   */
  detach(spec: DetachSpec): Promise<DetachResult> {
    return detachPod(this, spec)
  }

  /** Deletes many links with one kernel request (one RCU wait): group them, delete the group. */
  deleteLinksBulk(indexes: number[]): Promise<void> {
    return this.links.deleteBulk(indexes)
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

/** An IPAM reservation as NetworkManager reports it. */
const toReservation = (network: string) => (a: Allocation): Reservation => ({
  network, key: a.reservation ?? '', ifname: a.ifname, ip: a.ip, family: a.family, reservedAt: a.allocatedAt,
})
