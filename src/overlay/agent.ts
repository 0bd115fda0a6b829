/**
 * The node agent: one per node, for every overlay network in the store. It holds a lease for
 * the node, claims a node subnet per network, sets up the local side (a bridge network for the
 * node subnet, the VXLAN device, NAT) and programs every other node from a watch.
 *
 *   start   lease (adopted after a restart when it still lives), node name claim, list at
 *           revision R, set up each network, program peers, watch from R + 1, keep the lease alive
 *   watch   applies puts and deletes one by one: a joining node is programmed, a leaving or
 *           expired one removed; never a flush
 *   loss    a failed keepalive or a broken watch makes the agent re-connect with back-off:
 *           keepalive (a lost lease is re-granted and the subnets re-claimed, the same ones when
 *           they are free), re-list, diff against what is programmed, watch again. While the
 *           store is unreachable nothing is removed: running traffic keeps its routes.
 *   stop    revokes the lease (its keys go at once, peers remove this node) and removes the
 *           overlay's devices and the local network (unless pods are still attached);
 *           `keep` leaves everything, lease included, for a restart in place.
 *
 * All store events and reconnects run one after the other on one queue; kernel requests are
 * synchronous. Libraries do not log: everything worth saying is an event (see AgentEvents).
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ConflictError, NotFoundError, PodnetError } from '../errors.js'
import { NetworkManager, type NetworkConfig } from '../bridge/index.js'
import { StateDir } from '../bridge/state.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { Nft } from '../netlink/nftables/index.js'
import { VxlanDataPlane, resolveUnderlay, vtepMac, type PeerMode, type Underlay } from './dataplane.js'
import {
  NETWORKS_PREFIX, VXLAN_OVERHEAD, nodeKey, nodeSubnet, nodeSubnetCount, parseConfigRecord, parseNodeRecord, parseSubnetRecord, sameConfig,
  subnetGateway, subnetKey, validateNodeName, type NodeRecord, type OverlayConfig, type SubnetRecord,
} from './model.js'
import { OverlayNames } from './names.js'
import { CompactedError, type KeyValue, type Store, type WatchEvent, type WatchHandle } from './store/store.js'

export interface AgentOptions {
  store: Store
  /** The node's name in the cluster. */
  name: string
  /** The underlay address (the tunnel endpoint); default: found from underlayDev or the default route. */
  underlay?: string
  underlayDev?: string
  stateDir?: string
  runDir?: string
  /** The named namespace that plays the node (default: the one this process is in). */
  hostNetns?: string
  /** Lease TTL in seconds (default 15): how long a dead node's routes stay on the others. */
  leaseTtl?: number
}

export interface PeerStatus {
  node: string
  subnet: string
  underlay: string
  vtepMac: string
  gateway: string
  mode: PeerMode
}

export interface NetworkStatus {
  name: string
  config: OverlayConfig
  /** This node's subnet, when it holds one. */
  subnet?: string
  bridge?: string
  device?: string
  vtepMac?: string
  mtu?: number
  peers: PeerStatus[]
  /** Why the network is not set up on this node. */
  error?: string
}

export interface AgentStatus {
  node: string
  underlay: string
  underlayDev: string
  lease: string
  connected: boolean
  revision: number
  networks: NetworkStatus[]
  updatedAt: string
  pid: number
}

/** Events: name -> listener arguments. */
export interface AgentEvents {
  ready: []
  subnet: [network: string, subnet: string]
  'peer-added': [network: string, peer: PeerStatus]
  'peer-updated': [network: string, peer: PeerStatus]
  'peer-removed': [network: string, peer: { node: string; subnet: string }]
  'network-removed': [network: string]
  warning: [message: string]
  disconnected: [error: Error]
  reconnected: [revision: number]
  'lease-lost': []
  error: [error: Error]
}

interface NetState {
  config: OverlayConfig
  subnet?: string
  bridge?: string
  dp?: VxlanDataPlane
  /** Other nodes' records by subnet, as last seen in the store. */
  known: Map<string, SubnetRecord>
  /** What is in the kernel, by subnet. */
  programmed: Map<string, SubnetRecord & { mode: PeerMode }>
  error?: string
}

interface AgentFile {
  agentId: string
  node?: string
  lease?: string
}

interface NetworkFile {
  subnet: string
  /** The agent created the local bridge network (so it may remove or recreate it). */
  createdLocalNetwork: boolean
  /** The cluster subnet (podnet-cni routes pods to it; src/overlay/local.ts). */
  cluster?: string
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class OverlayAgent extends EventEmitter<AgentEvents> {
  readonly node: string
  readonly store: Store
  private readonly opts: AgentOptions
  private readonly ttl: number
  private readonly state: StateDir
  private hostNs: Netns | undefined
  private rt: Rtnl | undefined
  private nft: Nft | undefined
  private manager: NetworkManager | undefined
  private underlayInfo: Underlay | undefined
  private agentId = ''
  private lease = '0'
  private revision = 0
  private watchHandle: WatchHandle | undefined
  /** Pod names across nodes for the DNS responders (names.ts). */
  private names: OverlayNames | undefined
  private keepaliveTimer: NodeJS.Timeout | undefined
  private readonly networks = new Map<string, NetState>()
  private queue: Promise<void> = Promise.resolve()
  private connected = false
  private reconnecting = false
  private stopping = false
  private started = false

  constructor(opts: AgentOptions) {
    super()
    validateNodeName(opts.name)
    this.opts = opts
    this.node = opts.name
    this.store = opts.store
    this.ttl = opts.leaseTtl ?? 15
    if (!Number.isInteger(this.ttl) || this.ttl < 2) throw new PodnetError(`lease TTL ${this.ttl}: must be a whole number of seconds, at least 2`)
    this.state = new StateDir({ ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) })
  }

  private get agentFile(): string { return join(this.state.root, 'overlay', 'agent.json') }
  private networkFile(name: string): string { return join(this.state.root, 'overlay', 'networks', `${name}.json`) }
  private statusFile(): string { return join(this.state.run, 'overlay', 'status.json') }

  get underlay(): Underlay {
    if (!this.underlayInfo) throw new PodnetError('the agent has not started')
    return this.underlayInfo
  }

  /** Starts the agent; resolves once every network is set up and the watch runs. */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    try {
      this.hostNs = this.opts.hostNetns ? Netns.open(this.opts.hostNetns) : undefined
      this.rt = Rtnl.open(this.hostNs ? { netns: this.hostNs } : {})
      this.nft = Nft.open(this.hostNs ? { netns: this.hostNs } : {})
      this.manager = new NetworkManager({
        stateDir: this.state.root, runDir: this.state.run, ...(this.opts.hostNetns !== undefined && { hostNetns: this.opts.hostNetns }),
      })
      this.underlayInfo = resolveUnderlay(this.rt, { ...(this.opts.underlay !== undefined && { address: this.opts.underlay }), ...(this.opts.underlayDev !== undefined && { dev: this.opts.underlayDev }) })
      const file = this.state.readJson<AgentFile>(this.agentFile)
      this.agentId = file?.agentId ?? randomBytes(8).toString('hex')
      await this.acquireLease(file?.node === this.node ? file.lease : undefined)
      this.names = new OverlayNames({
        store: this.store, node: this.node, lease: () => this.lease,
        attachmentsDir: (n) => this.state.attachmentsDir(n), remoteNamesPath: (n) => this.state.remoteNamesPath(n), warn: (m) => this.emit('warning', m),
      })
      await this.enqueue(() => this.syncAll(true))
      this.connected = true
      this.scheduleKeepalive()
      this.emit('ready')
    } catch (err) {
      this.stopping = true
      this.watchHandle?.close()
      this.names?.close()
      this.closeHandles()
      this.started = false
      throw err
    }
  }

  /**
   * Stops the agent. Default: revoke the lease (this node's subnets leave the store at once),
   * remove the VXLAN devices, NAT tables and the local networks that have no pods. `keep`
   * leaves all of it (and the lease, until its TTL) for an agent restarted in place.
   */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (!this.started || this.stopping) return
    this.stopping = true
    clearTimeout(this.keepaliveTimer)
    this.watchHandle?.close()
    this.watchHandle = undefined
    this.names?.close()
    await this.queue.catch(() => undefined)
    try {
      if (!opts.keep) {
        for (const st of this.networks.values()) await this.teardownNetwork(st, true)
        try {
          await this.store.revoke(this.lease)
        } catch (err) {
          this.emit('warning', `could not revoke lease ${this.lease} (${(err as Error).message}); its keys go when it expires in ${this.ttl} s`)
        }
        this.state.writeJson(this.agentFile, { agentId: this.agentId, node: this.node } satisfies AgentFile)
        this.state.remove(this.statusFile())
      } else {
        this.writeStatus()
      }
    } finally {
      this.closeHandles()
      this.started = false
    }
  }

  private closeHandles(): void {
    this.manager?.close()
    this.rt?.close()
    this.nft?.close()
    this.hostNs?.close()
    this.manager = undefined
    this.rt = undefined
    this.nft = undefined
    this.hostNs = undefined
  }

  /** A snapshot of what this node has: its lease, subnets and programmed peers. */
  status(): AgentStatus {
    return {
      node: this.node, underlay: this.underlayInfo?.address ?? '', underlayDev: this.underlayInfo?.dev ?? '', lease: this.lease,
      connected: this.connected, revision: this.revision, updatedAt: new Date().toISOString(), pid: process.pid,
      networks: [...this.networks.values()].map((st) => ({
        name: st.config.name, config: st.config,
        ...(st.subnet !== undefined && { subnet: st.subnet }), ...(st.bridge !== undefined && { bridge: st.bridge }),
        ...(st.dp && { device: st.dp.device, vtepMac: st.dp.mac, mtu: st.dp.mtu }),
        peers: [...st.programmed.values()].map((p) => ({ node: p.node, subnet: p.subnet, underlay: p.underlay, vtepMac: p.vtepMac, gateway: p.gateway, mode: p.mode })),
        ...(st.error !== undefined && { error: st.error }),
      })),
    }
  }

  private writeStatus(): void {
    try {
      this.state.writeJson(this.statusFile(), this.status())
    } catch {
      // a status file is a convenience for `network inspect`; never fail the agent for it
    }
  }

  private enqueue(fn: () => Promise<void> | void): Promise<void> {
    const p = this.queue.then(async () => {
      if (this.stopping && this.started) return
      await fn()
    })
    this.queue = p.catch((err: unknown) => {
      this.emit('warning', `${(err as Error).message}`)
    })
    return p
  }

  // -------------------------------------------------------------------------------------------
  // lease and node name

  private nodeRecord(): NodeRecord {
    return {
      node: this.node, underlay: this.underlay.address, agentId: this.agentId, lease: this.lease,
      startedAt: new Date().toISOString(), host: hostname(), pid: process.pid,
    }
  }

  /** Adopts `previous` when it still lives, else grants a lease; claims the node name on it. */
  private async acquireLease(previous?: string): Promise<void> {
    const key = nodeKey(this.node)
    if (previous && (await this.store.timeToLive(previous)) > 0) {
      const cur = await this.store.get(key)
      const rec = cur && parseNodeRecord(cur.value)
      if (rec && rec.agentId === this.agentId && cur.lease === previous) {
        this.lease = previous
        await this.store.keepAlive(previous)
        await this.store.put(key, JSON.stringify(this.nodeRecord()), { lease: this.lease })
        this.persistLease()
        return
      }
    }
    const granted = await this.store.grantLease(this.ttl)
    this.lease = granted.id
    const value = JSON.stringify(this.nodeRecord())
    const r = await this.store.txn([{ key, createRevision: 0 }], [{ put: { key, value, lease: this.lease } }], [{ get: { key } }])
    if (!r.succeeded) {
      const cur = r.gets[0]
      const rec = cur && parseNodeRecord(cur.value)
      if (cur && rec && rec.agentId === this.agentId) {
        // ours from an earlier run (its lease still lives): move the name onto the new lease
        await this.store.put(key, value, { lease: this.lease })
      } else {
        await this.store.revoke(this.lease).catch(() => undefined)
        this.lease = '0'
        const who = rec ? `an agent on ${rec.host ?? 'another host'}${rec.pid ? ` (pid ${rec.pid})` : ''} with underlay ${rec.underlay}, since ${rec.startedAt}` : 'a record podnet cannot read'
        throw new ConflictError(`node name '${this.node}' is held by a live agent: ${who}; choose another name, or stop that agent (its lease expires ${this.ttl} s or so after it stops)`)
      }
    }
    this.persistLease()
  }

  private persistLease(): void {
    this.state.writeJson(this.agentFile, { agentId: this.agentId, node: this.node, lease: this.lease } satisfies AgentFile)
  }

  private scheduleKeepalive(): void {
    clearTimeout(this.keepaliveTimer)
    if (this.stopping) return
    this.keepaliveTimer = setTimeout(() => void this.keepaliveTick(), Math.max(300, (this.ttl * 1000) / 3))
    this.keepaliveTimer.unref?.()
  }

  private async keepaliveTick(): Promise<void> {
    if (this.stopping) return
    if (this.reconnecting) {
      this.scheduleKeepalive()
      return
    }
    try {
      const ttl = await this.store.keepAlive(this.lease)
      if (ttl <= 0) {
        this.emit('lease-lost')
        this.connectionLost(new PodnetError(`lease ${this.lease} of node '${this.node}' expired`))
        return
      }
    } catch (err) {
      this.connectionLost(err as Error)
      return
    }
    this.scheduleKeepalive()
  }

  /** The store is unreachable or the watch broke: keep the data plane, reconnect in the background. */
  private connectionLost(err: Error): void {
    if (this.stopping || this.reconnecting) return
    this.reconnecting = true
    this.connected = false
    this.watchHandle?.close()
    this.watchHandle = undefined
    this.emit('disconnected', err)
    this.writeStatus()
    void this.reconnectLoop()
  }

  private async reconnectLoop(): Promise<void> {
    let delay = 200
    while (!this.stopping) {
      try {
        const ttl = await this.store.keepAlive(this.lease)
        if (ttl <= 0) {
          // the lease expired while we were away: a new one, the node name and the subnets again
          this.emit('lease-lost')
          await this.acquireLease()
          await this.enqueue(() => this.syncAll(false, true))
        } else {
          await this.enqueue(() => this.syncAll(false))
        }
        if (this.stopping) return
        this.reconnecting = false
        this.connected = true
        this.emit('reconnected', this.revision)
        this.writeStatus()
        this.scheduleKeepalive()
        return
      } catch (err) {
        if (err instanceof ConflictError) {
          // our node name went to another agent while we were partitioned: nothing safe to do
          this.emit('error', err)
          this.reconnecting = false
          return
        }
        await sleep(delay)
        delay = Math.min(2000, delay * 2)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // sync

  /**
   * Lists every network and subnet, converges each network and its peers to the listing
   * (incrementally: only what differs changes), then watches from the listing's revision.
   * `first`: also remove kernel state left by an earlier run for peers that are gone.
   * `reclaim`: the lease was lost; claim each network's subnet again.
   */
  private async syncAll(first: boolean, reclaim = false): Promise<void> {
    const { kvs, revision } = await this.store.list(NETWORKS_PREFIX)
    const configs = new Map<string, OverlayConfig>()
    const subnets = new Map<string, KeyValue[]>()
    for (const kv of kvs) {
      const rest = kv.key.slice(NETWORKS_PREFIX.length)
      const m = /^([^/]+)\/(config|subnets\/[^/]+)$/.exec(rest)
      if (!m) continue
      if (m[2] === 'config') {
        try {
          configs.set(m[1]!, parseConfigRecord(m[1]!, kv.value))
        } catch (err) {
          this.emit('warning', `skipping ${kv.key}: ${(err as Error).message}`)
        }
      } else {
        subnets.set(m[1]!, [...(subnets.get(m[1]!) ?? []), kv])
      }
    }
    for (const [name, st] of this.networks) {
      if (!configs.has(name)) {
        await this.teardownNetwork(st, false)
        this.networks.delete(name)
        this.emit('network-removed', name)
      }
    }
    for (const config of configs.values()) {
      const records = this.parseRecords(config, subnets.get(config.name) ?? [])
      await this.ensureNetwork(config, records, first, reclaim)
    }
    this.revision = revision
    this.startWatch(revision + 1)
    this.writeStatus()
  }

  private parseRecords(config: OverlayConfig, kvs: KeyValue[]): SubnetRecord[] {
    const out: SubnetRecord[] = []
    for (const kv of kvs) {
      try {
        out.push(parseSubnetRecord(config, kv.key, kv.value))
      } catch (err) {
        this.emit('warning', `skipping ${kv.key}: ${(err as Error).message}`)
      }
    }
    return out
  }

  private startWatch(from: number): void {
    this.watchHandle?.close()
    this.watchHandle = this.store.watch(NETWORKS_PREFIX, from, {
      events: (events, revision) => {
        void this.enqueue(async () => {
          for (const e of events) await this.applyEvent(e)
          this.revision = Math.max(this.revision, revision)
          this.writeStatus()
        })
      },
      error: (err) => {
        if (this.stopping) return
        if (err instanceof CompactedError) this.emit('warning', `watch history compacted (${err.compactRevision}): re-listing`)
        this.connectionLost(err)
      },
    })
  }

  private async applyEvent(e: WatchEvent): Promise<void> {
    const rest = e.kv.key.slice(NETWORKS_PREFIX.length)
    const m = /^([^/]+)\/(config|subnets\/([^/]+))$/.exec(rest)
    if (!m) return
    const name = m[1]!
    if (m[2] === 'config') {
      const st = this.networks.get(name)
      if (e.type === 'delete') {
        if (st) {
          await this.teardownNetwork(st, false)
          this.networks.delete(name)
          this.emit('network-removed', name)
        }
        return
      }
      let config: OverlayConfig
      try {
        config = parseConfigRecord(name, e.kv.value)
      } catch (err) {
        this.emit('warning', `skipping ${e.kv.key}: ${(err as Error).message}`)
        return
      }
      if (st && sameConfig(st.config, config)) return
      if (st) {
        this.emit('warning', `the config of overlay network '${name}' changed in the store; restart the agent to apply it`)
        return
      }
      const { kvs } = await this.store.list(`${NETWORKS_PREFIX}${name}/subnets/`)
      await this.ensureNetwork(config, this.parseRecords(config, kvs), false, false)
      return
    }
    const st = this.networks.get(name)
    if (!st) return
    const subnetText = m[3]!.replace('-', '/')
    if (e.type === 'delete') {
      if (subnetText === st.subnet) {
        // our own record went (lease expired, or deleted by hand): claim it again
        this.emit('warning', `this node's subnet ${st.subnet} of '${name}' left the store; claiming it again`)
        await this.claimSubnet(st, [...st.known.values()])
        return
      }
      st.known.delete(subnetText)
      this.removePeer(st, subnetText)
      return
    }
    let rec: SubnetRecord
    try {
      rec = parseSubnetRecord(st.config, e.kv.key, e.kv.value)
    } catch (err) {
      this.emit('warning', `skipping ${e.kv.key}: ${(err as Error).message}`)
      return
    }
    if (rec.node === this.node) return
    if (rec.subnet === st.subnet) {
      this.emit('warning', `node '${rec.node}' announces ${rec.subnet}, this node's subnet of '${name}'; ignored`)
      return
    }
    st.known.set(rec.subnet, rec)
    this.programPeer(st, rec)
  }

  // -------------------------------------------------------------------------------------------
  // one network

  private async ensureNetwork(config: OverlayConfig, records: SubnetRecord[], first: boolean, reclaim: boolean): Promise<void> {
    let st = this.networks.get(config.name)
    if (st && !sameConfig(st.config, config)) {
      this.emit('warning', `the config of overlay network '${config.name}' changed in the store; restart the agent to apply it`)
      return
    }
    if (!st) {
      st = { config, known: new Map(), programmed: new Map() }
      this.networks.set(config.name, st)
    }
    const others = records.filter((r) => r.node !== this.node)
    const mine = records.find((r) => r.node === this.node && r.subnet === st!.subnet)
    if (!st.subnet || reclaim || !mine) {
      const ok = await this.claimSubnet(st, records)
      if (!ok) return
    }
    st.known = new Map(others.filter((r) => r.subnet !== st!.subnet).map((r) => [r.subnet, r]))
    if (first && st.dp) {
      const removed = st.dp.removeStale(st.known)
      for (const s of removed) this.emit('peer-removed', config.name, { node: '?', subnet: s })
    }
    // converge: remove what is no longer known, program what is new or changed
    for (const s of [...st.programmed.keys()]) if (!st.known.has(s)) this.removePeer(st, s)
    for (const rec of st.known.values()) this.programPeer(st, rec)
  }

  /**
   * Claims a node subnet for `st` (the one it had, the one persisted, or the first free one),
   * announces it, and sets up the local network, VXLAN device and NAT for it. False when the
   * pool is exhausted or the local side cannot be set up (st.error says why).
   */
  private async claimSubnet(st: NetState, records: SubnetRecord[]): Promise<boolean> {
    const config = st.config
    const taken = new Set(records.filter((r) => r.node !== this.node).map((r) => r.subnet))
    const persisted = this.state.readJson<NetworkFile>(this.networkFile(config.name))
    const wanted = [st.subnet, persisted?.subnet, ...records.filter((r) => r.node === this.node).map((r) => r.subnet)]
      .filter((s): s is string => s !== undefined)
    const n = nodeSubnetCount(config)
    const candidates = function* (): Generator<string> {
      for (const s of wanted) yield s
      for (let i = 0; i < n; i++) yield nodeSubnet(config, i)
    }
    const tried = new Set<string>()
    let got: string | undefined
    for (const s of candidates()) {
      if (tried.has(s) || taken.has(s)) continue
      tried.add(s)
      const key = subnetKey(config.name, s)
      const value = JSON.stringify(this.subnetRecord(config, s))
      const r = await this.store.txn([{ key, createRevision: 0 }], [{ put: { key, value, lease: this.lease } }], [{ get: { key } }])
      if (r.succeeded) {
        got = s
        break
      }
      const cur = r.gets[0]
      let holder: string | undefined
      try {
        holder = cur ? parseSubnetRecord(config, key, cur.value).node : undefined
      } catch {
        holder = undefined
      }
      if (cur && holder === this.node) {
        // ours from before (a retried request, or an earlier run whose lease still lives): move it onto our lease
        const w = await this.store.txn([{ key, modRevision: cur.modRevision }], [{ put: { key, value, lease: this.lease } }])
        if (w.succeeded) {
          got = s
          break
        }
      }
    }
    if (!got) {
      st.error = `the subnet pool of overlay network '${config.name}' is exhausted: all ${n} /${config.nodePrefix} subnets of ${config.subnet} are held by other nodes`
      this.emit('error', new PodnetError(st.error))
      this.manager!.setPending(config.name, `on this node: overlay network '${config.name}' has no node subnet here (${st.error})`)
      return false
    }
    const changed = st.subnet !== undefined && st.subnet !== got
    if (changed) this.emit('warning', `overlay network '${config.name}': this node's subnet changed from ${st.subnet} to ${got} (the old one was taken while its lease was lost)`)
    // a peer route for the subnet we now hold must go before the local network can take it
    if (st.programmed.has(got)) this.removePeer(st, got)
    try {
      await this.ensureLocal(st, got, persisted)
    } catch (err) {
      st.error = `overlay network '${config.name}': cannot set up ${got} on this node: ${(err as Error).message}`
      this.emit('error', new PodnetError(st.error, { cause: err }))
      return false
    }
    st.subnet = got
    delete st.error
    this.names?.add(config.name, config.subnet)
    this.emit('subnet', config.name, got)
    return true
  }

  private subnetRecord(config: OverlayConfig, subnet: string): SubnetRecord {
    return { node: this.node, subnet, gateway: subnetGateway(subnet), underlay: this.underlay.address, vtepMac: vtepMac(config.name, this.node) }
  }

  /** The local bridge network for the node subnet, the VXLAN device and the NAT table. */
  private async ensureLocal(st: NetState, subnet: string, persisted: NetworkFile | undefined): Promise<void> {
    const config = st.config
    const m = this.manager!
    const mtu = this.underlay.mtu - VXLAN_OVERHEAD
    let local: NetworkConfig | undefined
    try {
      local = m.get(config.name)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
    let created = persisted?.createdLocalNetwork ?? false
    if (local) {
      if (!persisted?.createdLocalNetwork) throw new ConflictError(`a local network named '${config.name}' exists on this node and was not made by the overlay; remove or rename it`)
      const same = local.subnets.length === 1 && local.subnets[0]!.subnet === subnet && local.mtu === mtu && this.rt!.link.findSync(local.bridge)?.kind === 'bridge'
      if (!same) {
        const pods = m.attachments(config.name).length
        if (pods && local.subnets[0]?.subnet !== subnet) throw new ConflictError(`the local network still has ${pods} pod(s) on ${local.subnets[0]?.subnet}; detach them first`)
        await m.remove(config.name, { force: true })
        local = undefined
      }
    }
    if (!local) {
      local = await m.create({ name: config.name, subnets: [subnet], mtu, nat: false, dns: true })
      created = true
    }
    this.state.writeJson(this.networkFile(config.name), { subnet, createdLocalNetwork: created, cluster: config.subnet } satisfies NetworkFile)
    // this node holds a subnet now: attach and podnet-cni no longer say why it has none
    m.setPending(config.name, undefined)
    st.bridge = local.bridge
    st.dp ??= new VxlanDataPlane({ rt: this.rt!, nft: this.nft!, config, underlay: this.underlay, node: this.node })
    st.dp.ensureDevice()
    st.dp.ensureNat(subnet, local.bridge)
  }

  private programPeer(st: NetState, rec: SubnetRecord): void {
    if (!st.dp || !st.subnet) return
    const prev = st.programmed.get(rec.subnet)
    const mode = st.dp.modeOf(rec)
    if (prev && prev.node === rec.node && prev.underlay === rec.underlay && prev.vtepMac === rec.vtepMac && prev.gateway === rec.gateway && prev.mode === mode) return
    if (prev) st.dp.unprogram(prev)
    try {
      st.dp.program(rec)
    } catch (err) {
      this.emit('warning', `overlay network '${st.config.name}': cannot program node '${rec.node}' (${rec.subnet}): ${(err as Error).message}`)
      return
    }
    st.programmed.set(rec.subnet, { ...rec, mode })
    const peer = { node: rec.node, subnet: rec.subnet, underlay: rec.underlay, vtepMac: rec.vtepMac, gateway: rec.gateway, mode }
    this.emit(prev ? 'peer-updated' : 'peer-added', st.config.name, peer)
  }

  private removePeer(st: NetState, subnet: string): void {
    const prev = st.programmed.get(subnet)
    if (!prev || !st.dp) return
    st.dp.unprogram(prev)
    st.programmed.delete(subnet)
    this.emit('peer-removed', st.config.name, { node: prev.node, subnet })
  }

  /** Removes the overlay's side of a network; `releasing`: the lease goes too (stop without keep). */
  private async teardownNetwork(st: NetState, releasing: boolean): Promise<void> {
    const name = st.config.name
    await this.names?.remove(name)
    try {
      st.dp?.teardown()
    } catch (err) {
      this.emit('warning', `overlay network '${name}': ${(err as Error).message}`)
    }
    st.programmed.clear()
    const m = this.manager
    if (!m) return
    const persisted = this.state.readJson<NetworkFile>(this.networkFile(name))
    let pods = 0
    try {
      pods = m.attachments(name).length
    } catch {
      pods = 0
    }
    if (persisted?.createdLocalNetwork) {
      if (pods) {
        this.emit('warning', `overlay network '${name}': ${pods} pod(s) still attached; the local network stays (local traffic only)`)
      } else {
        try {
          await m.remove(name)
        } catch (err) {
          if (!(err instanceof NotFoundError)) this.emit('warning', `overlay network '${name}': ${(err as Error).message}`)
        }
        if (!releasing) this.state.remove(this.networkFile(name))
        else this.state.writeJson(this.networkFile(name), { subnet: persisted.subnet, createdLocalNetwork: false } satisfies NetworkFile)
      }
    }
    this.setPendingQuiet(m, name, releasing)
  }

  private setPendingQuiet(m: NetworkManager, name: string, releasing: boolean): void {
    try {
      if (releasing) m.setPending(name, `on this node: '${name}' is an overlay network and no node agent holds a subnet lease for it here (start \`podnet node run\`)`)
    } catch {
      // the manager is closed
    }
  }
}
