/**
 * One overlay network on this node (the node agent, agent.ts): claim a node subnet (the one it
 * had, the one persisted, or the first free one) on the lease, set up the local side for it (a
 * bridge network through NetworkManager's public API, the VXLAN device, NAT), program and
 * unprogram peers, and take it all down again.
 */
import { ConflictError, NotFoundError, PodnetError } from '../errors.js'
import type { NetworkConfig, NetworkManager } from '../bridge/index.js'
import { VxlanDataPlane, vtepMac } from './dataplane.js'
import {
  VXLAN_OVERHEAD, nodeSubnet, nodeSubnetCount, parseSubnetRecord, sameConfig, subnetGateway, subnetKey, type OverlayConfig, type SubnetRecord,
} from './model.js'
import type { AgentContext, NetState, NetworkFile } from './agent-context.js'

export async function ensureNetwork(ctx: AgentContext, config: OverlayConfig, records: SubnetRecord[], first: boolean, reclaim: boolean): Promise<void> {
  let st = ctx.networks.get(config.name)
  if (st && !sameConfig(st.config, config)) {
    ctx.events.emit('warning', `the config of overlay network '${config.name}' changed in the store; restart the agent to apply it`)
    return
  }
  if (!st) {
    st = { config, known: new Map(), programmed: new Map() }
    ctx.networks.set(config.name, st)
  }
  const others = records.filter((r) => r.node !== ctx.node)
  const mine = records.find((r) => r.node === ctx.node && r.subnet === st!.subnet)
  if (!st.subnet || reclaim || !mine) {
    const ok = await claimSubnet(ctx, st, records)
    if (!ok) return
  }
  st.known = new Map(others.filter((r) => r.subnet !== st!.subnet).map((r) => [r.subnet, r]))
  if (first && st.dp) {
    const removed = st.dp.removeStale(st.known)
    for (const s of removed) ctx.events.emit('peer-removed', config.name, { node: '?', subnet: s })
  }
  // converge: remove what is no longer known, program what is new or changed
  for (const s of [...st.programmed.keys()]) if (!st.known.has(s)) removePeer(ctx, st, s)
  for (const rec of st.known.values()) programPeer(ctx, st, rec)
}

/**
 * Claims a node subnet for `st` (the one it had, the one persisted, or the first free one),
 * announces it, and sets up the local network, VXLAN device and NAT for it. False when the
 * pool is exhausted or the local side cannot be set up (st.error says why).
 */
export async function claimSubnet(ctx: AgentContext, st: NetState, records: SubnetRecord[]): Promise<boolean> {
  const config = st.config
  const taken = new Set(records.filter((r) => r.node !== ctx.node).map((r) => r.subnet))
  const persisted = ctx.state.readJson<NetworkFile>(ctx.networkFile(config.name))
  const wanted = [st.subnet, persisted?.subnet, ...records.filter((r) => r.node === ctx.node).map((r) => r.subnet)]
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
    const value = JSON.stringify(subnetRecord(ctx, config, s))
    const r = await ctx.store.txn([{ key, createRevision: 0 }], [{ put: { key, value, lease: ctx.lease } }], [{ get: { key } }])
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
    if (cur && holder === ctx.node) {
      // ours from before (a retried request, or an earlier run whose lease still lives): move it onto our lease
      const w = await ctx.store.txn([{ key, modRevision: cur.modRevision }], [{ put: { key, value, lease: ctx.lease } }])
      if (w.succeeded) {
        got = s
        break
      }
    }
  }
  if (!got) {
    st.error = `the subnet pool of overlay network '${config.name}' is exhausted: all ${n} /${config.nodePrefix} subnets of ${config.subnet} are held by other nodes`
    ctx.events.emit('error', new PodnetError(st.error))
    ctx.manager!.setPending(config.name, `on this node: overlay network '${config.name}' has no node subnet here (${st.error})`)
    return false
  }
  const changed = st.subnet !== undefined && st.subnet !== got
  if (changed) ctx.events.emit('warning', `overlay network '${config.name}': this node's subnet changed from ${st.subnet} to ${got} (the old one was taken while its lease was lost)`)
  // a peer route for the subnet we now hold must go before the local network can take it
  if (st.programmed.has(got)) removePeer(ctx, st, got)
  try {
    await ensureLocal(ctx, st, got, persisted)
  } catch (err) {
    st.error = `overlay network '${config.name}': cannot set up ${got} on this node: ${(err as Error).message}`
    ctx.events.emit('error', new PodnetError(st.error, { cause: err }))
    return false
  }
  st.subnet = got
  delete st.error
  ctx.names?.add(config.name, config.subnet)
  ctx.events.emit('subnet', config.name, got)
  return true
}

function subnetRecord(ctx: AgentContext, config: OverlayConfig, subnet: string): SubnetRecord {
  return { node: ctx.node, subnet, gateway: subnetGateway(subnet), underlay: ctx.underlay.address, vtepMac: vtepMac(config.name, ctx.node) }
}

/** The local bridge network for the node subnet, the VXLAN device and the NAT table. */
async function ensureLocal(ctx: AgentContext, st: NetState, subnet: string, persisted: NetworkFile | undefined): Promise<void> {
  const config = st.config
  const m = ctx.manager!
  const mtu = ctx.underlay.mtu - VXLAN_OVERHEAD
  let local: NetworkConfig | undefined
  try {
    local = m.get(config.name)
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
  }
  let created = persisted?.createdLocalNetwork ?? false
  if (local) {
    if (!persisted?.createdLocalNetwork) throw new ConflictError(`a local network named '${config.name}' exists on this node and was not made by the overlay; remove or rename it`)
    const same = local.subnets.length === 1 && local.subnets[0]!.subnet === subnet && local.mtu === mtu && ctx.rt!.link.findSync(local.bridge)?.kind === 'bridge'
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
  ctx.state.writeJson(ctx.networkFile(config.name), { subnet, createdLocalNetwork: created, cluster: config.subnet } satisfies NetworkFile)
  // this node holds a subnet now: attach and podnet-cni no longer say why it has none
  m.setPending(config.name, undefined)
  st.bridge = local.bridge
  st.dp ??= new VxlanDataPlane({ rt: ctx.rt!, nft: ctx.nft!, config, underlay: ctx.underlay, node: ctx.node })
  st.dp.ensureDevice()
  st.dp.ensureNat(subnet, local.bridge)
}

export function programPeer(ctx: AgentContext, st: NetState, rec: SubnetRecord): void {
  if (!st.dp || !st.subnet) return
  const prev = st.programmed.get(rec.subnet)
  const mode = st.dp.modeOf(rec)
  if (prev && prev.node === rec.node && prev.underlay === rec.underlay && prev.vtepMac === rec.vtepMac && prev.gateway === rec.gateway && prev.mode === mode) return
  if (prev) st.dp.unprogram(prev)
  try {
    st.dp.program(rec)
  } catch (err) {
    ctx.events.emit('warning', `overlay network '${st.config.name}': cannot program node '${rec.node}' (${rec.subnet}): ${(err as Error).message}`)
    return
  }
  st.programmed.set(rec.subnet, { ...rec, mode })
  const peer = { node: rec.node, subnet: rec.subnet, underlay: rec.underlay, vtepMac: rec.vtepMac, gateway: rec.gateway, mode }
  ctx.events.emit(prev ? 'peer-updated' : 'peer-added', st.config.name, peer)
}

export function removePeer(ctx: AgentContext, st: NetState, subnet: string): void {
  const prev = st.programmed.get(subnet)
  if (!prev || !st.dp) return
  st.dp.unprogram(prev)
  st.programmed.delete(subnet)
  ctx.events.emit('peer-removed', st.config.name, { node: prev.node, subnet })
}

/** Removes the overlay's side of a network; `releasing`: the lease goes too (stop without keep). */
export async function teardownNetwork(ctx: AgentContext, st: NetState, releasing: boolean): Promise<void> {
  const name = st.config.name
  // a network that left the store: its names go now (the lease lives on); a stop: with the lease it revokes
  await ctx.names?.remove(name, !releasing)
  try {
    st.dp?.teardown()
  } catch (err) {
    ctx.events.emit('warning', `overlay network '${name}': ${(err as Error).message}`)
  }
  st.programmed.clear()
  const m = ctx.manager
  if (!m) return
  const persisted = ctx.state.readJson<NetworkFile>(ctx.networkFile(name))
  let pods = 0
  try {
    pods = m.attachments(name).length
  } catch {
    pods = 0
  }
  if (persisted?.createdLocalNetwork) {
    if (pods) {
      ctx.events.emit('warning', `overlay network '${name}': ${pods} pod(s) still attached; the local network stays (local traffic only)`)
    } else {
      try {
        await m.remove(name)
      } catch (err) {
        if (!(err instanceof NotFoundError)) ctx.events.emit('warning', `overlay network '${name}': ${(err as Error).message}`)
      }
      if (!releasing) ctx.state.remove(ctx.networkFile(name))
      else ctx.state.writeJson(ctx.networkFile(name), { subnet: persisted.subnet, createdLocalNetwork: false } satisfies NetworkFile)
    }
  }
  setPendingQuiet(m, name, releasing)
}

function setPendingQuiet(m: NetworkManager, name: string, releasing: boolean): void {
  try {
    if (releasing) m.setPending(name, `on this node: '${name}' is an overlay network and no node agent holds a subnet lease for it here (start \`podnet node run\`)`)
  } catch {
    // the manager is closed
  }
}
