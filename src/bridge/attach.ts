/**
 * Attaching a pod namespace to a bridge network (NetworkManager.attach): the checks of the
 * request, then under the state lock, each step undone if a later one fails: addresses (IPAM),
 * host port claims, the veth (host end on the bridge, pod end made directly in the pod's
 * namespace), bandwidth limits, the pod side (lo, eth0, addresses, routes), priority marks,
 * published ports, and last the attachment record. O(1) kernel requests: nothing is dumped.
 */
import { statSync } from 'node:fs'
import { AllocationExistsError, ExistsError, InvalidArgumentError, NotFoundError } from '../errors.js'
import { openNetnsArg, type OpenedNetns } from '../netns/index.js'
import { Rtnl, type Link } from '../netlink/route/index.js'
import type { Nft } from '../netlink/nftables/index.js'
import { validateMac } from '../net/mac.js'
import { validateContainerId, validateIfname } from '../net/names.js'
import { normalizeDnsName } from '../net/dns-name.js'
import { parseRangeSets, type Allocator, type RangeSet } from './ipam/index.js'
import { hostVethName, ifbNameForVeth, podMac } from './names.js'
import { applyBandwidth, validateBandwidth } from './bandwidth.js'
import { DEFAULT_PRIORITY, addAttachmentPriority, parsePriority } from './priority.js'
import { portMapElement } from './nat.js'
import { PortClaims, checkMappingsFit, mappingTargets, normalizePortMapping, validatePortMapping } from './port-mapping.js'
import { podRoutes, validatePodRoute } from './routes.js'
import { ensureNetworkKernel, type EnsureContext } from './ensure.js'
import type { HostLinks } from './links.js'
import type { AttachSpec, Attachment, NetworkConfig, PortElementRecord, PortMapping } from './types.js'
import { UndoStack } from './undo.js'

/** What attach needs of its NetworkManager. */
export interface AttachContext extends EnsureContext {
  readonly nft: Nft
  readonly links: HostLinks
  /** The host namespace's path (undefined: this process's own). */
  readonly hostNetnsPath: string | undefined
  get(name: string): NetworkConfig
  getForAttach(name: string): NetworkConfig
  allocator(network: string): Allocator
}

/** The loopback device's ifindex in every network namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
const LOOPBACK_IFINDEX = 1

export const attachmentKey = (id: string, ifname: string): string => `${id}@${ifname}`

/** True when two paths name the same namespace (same nsfs inode); false when either is gone. */
export function sameNetns(a: string, b: string): boolean {
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}

/** The id a namespace given by name stands for (a path or a handle names no one). */
export const idFromNetns = (netns: AttachSpec['netns'] | undefined): string | undefined =>
  typeof netns === 'string' && !netns.includes('/') ? netns : undefined

/**
 * Attaches a pod namespace: host-side veth on the bridge, the pod side created directly in
 * the namespace (eth0), MAC, MTU, addresses from IPAM, default routes, loopback up, published
 * ports. Undone completely on any failure. Equivalent to `podnet network attach`.
 */
export async function attachPod(ctx: AttachContext, spec: AttachSpec): Promise<Attachment> {
  const config = ctx.getForAttach(spec.network)
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
    return await ctx.state.locked(() => attachLocked(ctx, ctx.get(config.name), { ...spec, dnsNames }, podNs, id, ifname, mac, mappings))
  } finally {
    podNs.close()
  }
}

async function attachLocked(ctx: AttachContext, config: NetworkConfig, spec: AttachSpec, podNs: OpenedNetns, id: string, ifname: string, mac: string, mappings: PortMapping[]): Promise<Attachment> {
  const recordPath = ctx.state.attachmentPath(config.name, id, ifname)
  const prior = ctx.state.readJson<Attachment>(recordPath)
  if (prior) throw new ExistsError('attachment', attachmentKey(id, ifname), `on network '${config.name}' (netns ${prior.netns})`)
  const where = podNs.path ?? podNs.ref.name ?? 'the pod namespace'
  if (podNs.path !== undefined && sameNetns(podNs.path, ctx.hostNetnsPath ?? '/proc/thread-self/ns/net')) {
    throw new InvalidArgumentError('netns', `${where} is the host's own network namespace; a pod needs a namespace of its own`)
  }
  // Whatever this owner still holds without a record can only be left by an attach that was
  // killed (attaches hold the lock): its addresses, port claims and veth are reclaimed below.
  return UndoStack.run(async (undo) => {
    // 1. addresses (taking back a reservation when asked: reservations are kept by IPAM, see ipam/allocator.ts)
    const allocator = ctx.allocator(config.name)
    const reservation = spec.reservation
    const request = { containerId: id, ifname, ...(spec.ips?.length && { ip: spec.ips }), ...(reservation !== undefined && { reservation }) }
    let addrs
    try {
      addrs = await allocator.allocate(request, ranges(config))
    } catch (err) {
      if (!(err instanceof AllocationExistsError)) throw err
      // a killed attach's addresses (of the reservation, usually) go back to it before it is taken
      await allocator.release(id, ifname, reservation !== undefined ? { reserveAs: reservation } : {})
      addrs = await allocator.allocate(request, ranges(config))
    }
    const reserveAs = reservation !== undefined && addrs.some((a) => a.reserved) ? { reserveAs: reservation } : {}
    undo.push(reserveAs.reserveAs !== undefined ? 'give the addresses back to the reservation' : 'release addresses', async () => { await allocator.release(id, ifname, reserveAs) })
    // 2. host ports, claimed atomically
    const claims = new PortClaims(ctx.state)
    for (const m of mappings) {
      if (claims.heldBy(m, { network: config.name, id, ifname })) claims.release(m)
      claims.claim({ network: config.name, id, ifname, mapping: m })
      undo.push('release a host port claim', () => claims.release(m))
    }
    // 3. veth: host end on the bridge, pod end created directly in the pod namespace
    const hostVeth = hostVethName(ctx.state.owner, config.name, id, ifname)
    await ctx.links.deleting(hostVeth)
    let host: Link | undefined
    for (let attempt = 0; ; attempt++) {
      try {
        host = await ctx.rt.link.add({
          kind: 'veth', name: hostVeth, mtu: config.mtu, master: await bridgeIndexEnsured(ctx, config),
          peer: { name: ifname, netns: podNs.ref, mtu: config.mtu, address: mac },
        })
        break
      } catch (err) {
        ctx.links.forgetBridge(config.bridge)
        if (err instanceof ExistsError && err.objectName === ifname) {
          throw new ExistsError('interface', ifname, `in netns ${where}`, { cause: err })
        }
        // the host end of a killed attach of this owner (its name is derived from the owner)
        if (attempt === 0 && err instanceof ExistsError && err.objectName === hostVeth) {
          await ctx.links.deleteVeth(hostVeth)
          continue
        }
        throw err
      }
    }
    undo.push(`delete veth ${hostVeth}`, () => ctx.rt.link.del(hostVeth))
    const hostIndex = host?.index ?? hostVeth
    // no IPv6 link-local on the host end (no DAD/MLD per port), hairpin for pod -> own published port, then up
    await ctx.rt.link.set(hostIndex, { ipv6AddrGenMode: 'none', hairpin: spec.hairpin ?? true })
    await ctx.rt.link.set(hostIndex, { up: true })
    // bandwidth limits: tbf on the host end, ifb + redirect for the pod's egress (bandwidth.ts)
    if (spec.bandwidth) {
      await ctx.links.deleting(ifbNameForVeth(hostVeth))
      await applyBandwidth(ctx.rt, { hostVeth, mtu: config.mtu }, spec.bandwidth, undo)
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
    if (priority !== undefined) undo.push('remove the priority marks', await addAttachmentPriority(ctx.nft, ctx.rt, ctx.state, { network: config.name, id, ifname }, addrs, priority))
    // 5. published ports: one map element per mapping and pod address, then stale UDP flows go
    const elements = mappings.flatMap((m) => mappingTargets(m, addrs).map((a) => portMapElement(ctx.state.owner, config.name, id, ifname, m, a.ip, a.family)))
    const portElements: PortElementRecord[] = elements.map((e) => ({ map: e.map, key: e.key }))
    if (elements.length) {
      await ctx.nat.addPortElements(elements)
      undo.push('remove published ports', () => ctx.nat.deletePortElements(portElements))
    }
    const attachment: Attachment = {
      network: config.name, id, ifname, netns: podNs.path ?? where, hostVeth, mac, mtu: config.mtu,
      addresses: addrs.map((a) => ({ address: a.address, gateway: a.gateway, family: a.family })),
      portMappings: mappings, routes, ...(portElements.length && { portElements }),
      ...(spec.bandwidth && { bandwidth: spec.bandwidth }), ...(priority !== undefined && { priority }),
      ...(spec.dnsNames?.length && { dnsNames: spec.dnsNames }), createdAt: new Date().toISOString(),
    }
    ctx.state.writeJson(recordPath, attachment)
    return attachment
  })
}

/**
 * The bridge's ifindex; when the bridge is missing (a reboot, or someone deleted it), the
 * network's kernel side is made again first (ensure.ts). Callers hold the state lock.
 */
async function bridgeIndexEnsured(ctx: AttachContext, config: NetworkConfig): Promise<number> {
  try {
    return ctx.links.bridgeIndex(config)
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    await ensureNetworkKernel(ctx, config)
    return ctx.links.bridgeIndex(config)
  }
}

function ranges(c: NetworkConfig): RangeSet[] {
  return parseRangeSets(c.subnets.map((s) => ({ subnet: s.subnet, gateway: s.gateway })))
}
