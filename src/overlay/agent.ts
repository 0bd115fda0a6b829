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
import { NetworkManager } from '../bridge/index.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { Nft } from '../netlink/nftables/index.js'
import { resolveUnderlay, type Underlay } from './dataplane.js'
import { validateNodeName } from './model.js'
import type { Store } from './store/store.js'
import { AgentContext, type AgentEvents, type AgentFile, type AgentOptions, type AgentStatus } from './agent-context.js'
import { acquireLease } from './lease.js'
import { scheduleKeepalive, syncAll } from './sync.js'
import { OverlayNames } from './names.js'
import { teardownNetwork } from './node-network.js'

export type { AgentEvents, AgentOptions, AgentStatus, NetworkStatus, PeerStatus } from './agent-context.js'

/**
 * The node agent. Its parts: agent-context.ts (the state they share), lease.ts (the lease and
 * the node name), sync.ts (list, watch, keepalive, reconnect), node-network.ts (one network on
 * this node: subnet claim, local side, peers).
 */
export class OverlayAgent extends EventEmitter<AgentEvents> {
  readonly node: string
  readonly store: Store
  private readonly ctx: AgentContext

  constructor(opts: AgentOptions) {
    super()
    validateNodeName(opts.name)
    this.node = opts.name
    this.store = opts.store
    this.ctx = new AgentContext(opts, this)
  }

  get underlay(): Underlay {
    return this.ctx.underlay
  }

  /** Starts the agent; resolves once every network is set up and the watch runs. */
  async start(): Promise<void> {
    const ctx = this.ctx
    if (ctx.started) return
    ctx.started = true
    try {
      ctx.hostNs = ctx.opts.hostNetns ? Netns.open(ctx.opts.hostNetns) : undefined
      ctx.rt = Rtnl.open(ctx.hostNs ? { netns: ctx.hostNs } : {})
      ctx.nft = Nft.open(ctx.hostNs ? { netns: ctx.hostNs } : {})
      ctx.manager = new NetworkManager({
        stateDir: ctx.state.root, runDir: ctx.state.run, ...(ctx.opts.hostNetns !== undefined && { hostNetns: ctx.opts.hostNetns }),
      })
      ctx.underlayInfo = resolveUnderlay(ctx.rt, { ...(ctx.opts.underlay !== undefined && { address: ctx.opts.underlay }), ...(ctx.opts.underlayDev !== undefined && { dev: ctx.opts.underlayDev }) })
      const file = ctx.state.readJson<AgentFile>(ctx.agentFile)
      ctx.agentId = file?.agentId ?? randomBytes(8).toString('hex')
      await acquireLease(ctx, file?.node === this.node ? file.lease : undefined)
      ctx.names = new OverlayNames({
        store: ctx.store, node: ctx.node, lease: () => ctx.lease,
        attachmentsDir: (n) => ctx.state.attachmentsDir(n), remoteNamesPath: (n) => ctx.state.remoteNamesPath(n), warn: (m) => this.emit('warning', m),
      })
      await ctx.enqueue(() => syncAll(ctx, true))
      ctx.connected = true
      scheduleKeepalive(ctx)
      this.emit('ready')
    } catch (err) {
      ctx.stopping = true
      ctx.watchHandle?.close()
      ctx.names?.close()
      this.closeHandles()
      ctx.started = false
      throw err
    }
  }

  /**
   * Stops the agent. Default: revoke the lease (this node's subnets leave the store at once),
   * remove the VXLAN devices, NAT tables and the local networks that have no pods. `keep`
   * leaves all of it (and the lease, until its TTL) for an agent restarted in place.
   */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    const ctx = this.ctx
    if (!ctx.started || ctx.stopping) return
    ctx.stopping = true
    clearTimeout(ctx.keepaliveTimer)
    ctx.watchHandle?.close()
    ctx.watchHandle = undefined
    ctx.names?.close()
    await ctx.queue.catch(() => undefined)
    try {
      if (!opts.keep) {
        for (const st of ctx.networks.values()) await teardownNetwork(ctx, st, true)
        try {
          await this.store.revoke(ctx.lease)
        } catch (err) {
          this.emit('warning', `could not revoke lease ${ctx.lease} (${(err as Error).message}); its keys go when it expires in ${ctx.ttl} s`)
        }
        ctx.state.writeJson(ctx.agentFile, { agentId: ctx.agentId, node: this.node } satisfies AgentFile)
        ctx.state.remove(ctx.statusFile())
      } else {
        ctx.writeStatus()
      }
    } finally {
      this.closeHandles()
      ctx.started = false
    }
  }

  private closeHandles(): void {
    const ctx = this.ctx
    ctx.manager?.close()
    ctx.rt?.close()
    ctx.nft?.close()
    ctx.hostNs?.close()
    ctx.manager = undefined
    ctx.rt = undefined
    ctx.nft = undefined
    ctx.hostNs = undefined
  }

  /** A snapshot of what this node has: its lease, subnets and programmed peers. */
  status(): AgentStatus {
    return this.ctx.status()
  }
}
