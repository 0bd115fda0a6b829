/**
 * What the node agent's parts share (agent.ts, lease.ts, sync.ts, node-network.ts): the
 * options, the store and the lease, the kernel handles, every overlay network's state on this
 * node, the connection flags, and the one queue that store events and reconnects run on. The
 * agent's events are emitted on the OverlayAgent itself (`events`). Also the agent's public
 * types (re-exported by agent.ts).
 */
import type { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { PodnetError } from '../errors.js'
import type { NetworkManager } from '../bridge/index.js'
import { StateDir } from '../bridge/state.js'
import type { Netns } from '../netns/index.js'
import type { Rtnl } from '../netlink/route/index.js'
import type { Nft } from '../netlink/nftables/index.js'
import type { PeerMode, Underlay, VxlanDataPlane } from './dataplane.js'
import type { OverlayConfig, SubnetRecord } from './model.js'
import type { OverlayNames } from './names.js'
import type { Store, WatchHandle } from './store/store.js'

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

/** One overlay network on this node. */
export interface NetState {
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

/** The agent's record in the state dir (overlay/agent.json): who it is, and its lease for a restart in place. */
export interface AgentFile {
  agentId: string
  node?: string
  lease?: string
}

/** A network's record in the state dir (overlay/networks/NAME.json). */
export interface NetworkFile {
  subnet: string
  /** The agent created the local bridge network (so it may remove or recreate it). */
  createdLocalNetwork: boolean
  /** The cluster subnet (podnet-cni routes pods to it; src/overlay/local.ts). */
  cluster?: string
}

/** The agent's state, shared by its parts; the OverlayAgent holds one (private). */
export class AgentContext {
  readonly node: string
  readonly store: Store
  readonly opts: AgentOptions
  readonly ttl: number
  readonly state: StateDir
  hostNs: Netns | undefined
  rt: Rtnl | undefined
  nft: Nft | undefined
  manager: NetworkManager | undefined
  underlayInfo: Underlay | undefined
  agentId = ''
  lease = '0'
  revision = 0
  watchHandle: WatchHandle | undefined
  /** Pod names across nodes for the DNS responders (names.ts). */
  names: OverlayNames | undefined
  keepaliveTimer: NodeJS.Timeout | undefined
  readonly networks = new Map<string, NetState>()
  queue: Promise<void> = Promise.resolve()
  connected = false
  reconnecting = false
  stopping = false
  started = false
  /** The OverlayAgent: every event is emitted on it. */
  readonly events: EventEmitter<AgentEvents>

  constructor(opts: AgentOptions, events: EventEmitter<AgentEvents>) {
    this.opts = opts
    this.events = events
    this.node = opts.name
    this.store = opts.store
    this.ttl = opts.leaseTtl ?? 15
    if (!Number.isInteger(this.ttl) || this.ttl < 2) throw new PodnetError(`lease TTL ${this.ttl}: must be a whole number of seconds, at least 2`)
    this.state = new StateDir({ ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) })
  }

  get agentFile(): string { return join(this.state.root, 'overlay', 'agent.json') }
  networkFile(name: string): string { return join(this.state.root, 'overlay', 'networks', `${name}.json`) }
  statusFile(): string { return join(this.state.run, 'overlay', 'status.json') }

  get underlay(): Underlay {
    if (!this.underlayInfo) throw new PodnetError('the agent has not started')
    return this.underlayInfo
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

  writeStatus(): void {
    try {
      this.state.writeJson(this.statusFile(), this.status())
    } catch {
      // a status file is a convenience for `network inspect`; never fail the agent for it
    }
  }

  enqueue(fn: () => Promise<void> | void): Promise<void> {
    const p = this.queue.then(async () => {
      if (this.stopping && this.started) return
      await fn()
    })
    this.queue = p.catch((err: unknown) => {
      this.events.emit('warning', `${(err as Error).message}`)
    })
    return p
  }
}
