/**
 * The node agent in step with the store (agent.ts): list every network and subnet, converge to
 * the listing, watch from its revision and apply each event; keep the lease alive; on a failed
 * keepalive or a broken watch, reconnect with back-off (a lost lease re-granted and the subnets
 * re-claimed) without removing anything meanwhile. Everything runs on the agent's one queue.
 */
import { ConflictError, PodnetError } from '../errors.js'
import { NETWORKS_PREFIX, parseConfigRecord, parseSubnetRecord, sameConfig, type OverlayConfig, type SubnetRecord } from './model.js'
import { CompactedError, type KeyValue, type WatchEvent } from './store/store.js'
import type { AgentContext } from './agent-context.js'
import { acquireLease } from './lease.js'
import { claimSubnet, ensureNetwork, programPeer, removePeer, teardownNetwork } from './node-network.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function scheduleKeepalive(ctx: AgentContext): void {
  clearTimeout(ctx.keepaliveTimer)
  if (ctx.stopping) return
  ctx.keepaliveTimer = setTimeout(() => void keepaliveTick(ctx), Math.max(300, (ctx.ttl * 1000) / 3))
  ctx.keepaliveTimer.unref?.()
}

async function keepaliveTick(ctx: AgentContext): Promise<void> {
  if (ctx.stopping) return
  if (ctx.reconnecting) {
    scheduleKeepalive(ctx)
    return
  }
  try {
    const ttl = await ctx.store.keepAlive(ctx.lease)
    if (ttl <= 0) {
      ctx.events.emit('lease-lost')
      connectionLost(ctx, new PodnetError(`lease ${ctx.lease} of node '${ctx.node}' expired`))
      return
    }
  } catch (err) {
    connectionLost(ctx, err as Error)
    return
  }
  scheduleKeepalive(ctx)
}

/** The store is unreachable or the watch broke: keep the data plane, reconnect in the background. */
function connectionLost(ctx: AgentContext, err: Error): void {
  if (ctx.stopping || ctx.reconnecting) return
  ctx.reconnecting = true
  ctx.connected = false
  ctx.watchHandle?.close()
  ctx.watchHandle = undefined
  ctx.events.emit('disconnected', err)
  ctx.writeStatus()
  void reconnectLoop(ctx)
}

async function reconnectLoop(ctx: AgentContext): Promise<void> {
  let delay = 200
  while (!ctx.stopping) {
    try {
      const ttl = await ctx.store.keepAlive(ctx.lease)
      if (ttl <= 0) {
        // the lease expired while we were away: a new one, the node name and the subnets again
        ctx.events.emit('lease-lost')
        await acquireLease(ctx)
        await ctx.enqueue(() => syncAll(ctx, false, true))
      } else {
        await ctx.enqueue(() => syncAll(ctx, false))
      }
      if (ctx.stopping) return
      ctx.reconnecting = false
      ctx.connected = true
      ctx.events.emit('reconnected', ctx.revision)
      ctx.writeStatus()
      scheduleKeepalive(ctx)
      return
    } catch (err) {
      if (err instanceof ConflictError) {
        // our node name went to another agent while we were partitioned: nothing safe to do
        ctx.events.emit('error', err)
        ctx.reconnecting = false
        return
      }
      await sleep(delay)
      delay = Math.min(2000, delay * 2)
    }
  }
}

/**
 * Lists every network and subnet, converges each network and its peers to the listing
 * (incrementally: only what differs changes), then watches from the listing's revision.
 * `first`: also remove kernel state left by an earlier run for peers that are gone.
 * `reclaim`: the lease was lost; claim each network's subnet again.
 */
export async function syncAll(ctx: AgentContext, first: boolean, reclaim = false): Promise<void> {
  const { kvs, revision } = await ctx.store.list(NETWORKS_PREFIX)
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
        ctx.events.emit('warning', `skipping ${kv.key}: ${(err as Error).message}`)
      }
    } else {
      subnets.set(m[1]!, [...(subnets.get(m[1]!) ?? []), kv])
    }
  }
  for (const [name, st] of ctx.networks) {
    if (!configs.has(name)) {
      await teardownNetwork(ctx, st, false)
      ctx.networks.delete(name)
      ctx.events.emit('network-removed', name)
    }
  }
  for (const config of configs.values()) {
    const records = parseRecords(ctx, config, subnets.get(config.name) ?? [])
    await ensureNetwork(ctx, config, records, first, reclaim)
  }
  ctx.revision = revision
  startWatch(ctx, revision + 1)
  ctx.writeStatus()
}

function parseRecords(ctx: AgentContext, config: OverlayConfig, kvs: KeyValue[]): SubnetRecord[] {
  const out: SubnetRecord[] = []
  for (const kv of kvs) {
    try {
      out.push(parseSubnetRecord(config, kv.key, kv.value))
    } catch (err) {
      ctx.events.emit('warning', `skipping ${kv.key}: ${(err as Error).message}`)
    }
  }
  return out
}

function startWatch(ctx: AgentContext, from: number): void {
  ctx.watchHandle?.close()
  ctx.watchHandle = ctx.store.watch(NETWORKS_PREFIX, from, {
    events: (events, revision) => {
      void ctx.enqueue(async () => {
        for (const e of events) await applyEvent(ctx, e)
        ctx.revision = Math.max(ctx.revision, revision)
        ctx.writeStatus()
      })
    },
    error: (err) => {
      if (ctx.stopping) return
      if (err instanceof CompactedError) ctx.events.emit('warning', `watch history compacted (${err.compactRevision}): re-listing`)
      connectionLost(ctx, err)
    },
  })
}

async function applyEvent(ctx: AgentContext, e: WatchEvent): Promise<void> {
  const rest = e.kv.key.slice(NETWORKS_PREFIX.length)
  const m = /^([^/]+)\/(config|subnets\/([^/]+))$/.exec(rest)
  if (!m) return
  const name = m[1]!
  if (m[2] === 'config') {
    const st = ctx.networks.get(name)
    if (e.type === 'delete') {
      if (st) {
        await teardownNetwork(ctx, st, false)
        ctx.networks.delete(name)
        ctx.events.emit('network-removed', name)
      }
      return
    }
    let config: OverlayConfig
    try {
      config = parseConfigRecord(name, e.kv.value)
    } catch (err) {
      ctx.events.emit('warning', `skipping ${e.kv.key}: ${(err as Error).message}`)
      return
    }
    if (st && sameConfig(st.config, config)) return
    if (st) {
      ctx.events.emit('warning', `the config of overlay network '${name}' changed in the store; restart the agent to apply it`)
      return
    }
    const { kvs } = await ctx.store.list(`${NETWORKS_PREFIX}${name}/subnets/`)
    await ensureNetwork(ctx, config, parseRecords(ctx, config, kvs), false, false)
    return
  }
  const st = ctx.networks.get(name)
  if (!st) return
  const subnetText = m[3]!.replace('-', '/')
  if (e.type === 'delete') {
    if (subnetText === st.subnet) {
      // our own record went (lease expired, or deleted by hand): claim it again
      ctx.events.emit('warning', `this node's subnet ${st.subnet} of '${name}' left the store; claiming it again`)
      await claimSubnet(ctx, st, [...st.known.values()])
      return
    }
    st.known.delete(subnetText)
    removePeer(ctx, st, subnetText)
    return
  }
  let rec: SubnetRecord
  try {
    rec = parseSubnetRecord(st.config, e.kv.key, e.kv.value)
  } catch (err) {
    ctx.events.emit('warning', `skipping ${e.kv.key}: ${(err as Error).message}`)
    return
  }
  if (rec.node === ctx.node) return
  if (rec.subnet === st.subnet) {
    ctx.events.emit('warning', `node '${rec.node}' announces ${rec.subnet}, this node's subnet of '${name}'; ignored`)
    return
  }
  st.known.set(rec.subnet, rec)
  programPeer(ctx, st, rec)
}
