/**
 * Reads the topology: which namespaces there are (the host, every named one, every pod's
 * sandbox, every namespace an attachment names), what each holds (one link, address, route and
 * VXLAN FDB dump per namespace), and podnet's records and nf_tables maps on top. Namespaces are
 * told apart by nsfs inode, so one reached by two paths (a pod's pin and /run/netns) is one.
 */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { NetworkManager, type NetworkConfig } from '../bridge/index.js'
import { parseOwnerTag } from '../bridge/nat.js'
import { Netns, netnsRunDir } from '../netns/index.js'
import { Rtnl, type Link } from '../netlink/route/index.js'
import { listDir, type DirOptions } from '../state/index.js'
import { PodStore } from '../runtime/state-store.js'
import { nsidOf } from './nsid.js'
import type { TopoEdge, TopoLink, TopoNamespace, TopoNetwork, TopoPod, TopoPublishedPort, TopologyGraph } from './model.js'

export interface CollectOptions extends DirOptions {
  /** The named namespace that plays the host (default: this process's). */
  hostNetns?: string
  /** Only these namespaces: names under /run/netns, pod names, or 'host'. */
  netns?: string[]
}

interface Candidate {
  id: string
  name: string
  kind: TopoNamespace['kind']
  path: string
  pod?: string
}

const inodeOf = (path: string): number | undefined => {
  try {
    return statSync(path).ino
  } catch {
    return undefined
  }
}

/** ARPHRD_LOOPBACK (include/uapi/linux/if_arp.h). */
const ARPHRD_LOOPBACK = 772
const linkKind = (l: Link): string => l.kind ?? (l.type === ARPHRD_LOOPBACK ? 'loopback' : 'device')

/** Reads the topology (kernel and records) as a graph. */
export async function collectTopology(opts: CollectOptions = {}): Promise<TopologyGraph> {
  const dirs: DirOptions = { ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) }
  const manager = new NetworkManager(dirs)
  const networks: NetworkConfig[] = manager.list()
  const pods = new PodStore(dirs).list()

  // 1. the namespaces, deduplicated by inode
  const candidates: Candidate[] = [{
    id: 'host', name: opts.hostNetns ?? 'host', kind: 'host',
    path: opts.hostNetns !== undefined ? join(netnsRunDir(), opts.hostNetns) : '/proc/self/ns/net',
  }]
  for (const n of listDir(netnsRunDir())) if (n !== opts.hostNetns) candidates.push({ id: `ns:${n}`, name: n, kind: 'named', path: join(netnsRunDir(), n) })
  for (const p of pods) {
    const net = p.sandbox.pins?.net
    if (net !== undefined && p.sandbox.state !== 'stopped' && existsSync(net)) candidates.push({ id: `pod:${p.name}`, name: p.name, kind: 'pod', path: net, pod: p.name })
  }
  for (const c of networks) {
    for (const a of manager.attachments(c.name)) candidates.push({ id: '', name: a.id, kind: 'other', path: a.netns })
  }
  const byInode = new Map<number, Candidate & { inode: number }>()
  for (const c of candidates) {
    const ino = inodeOf(c.path)
    if (ino === undefined) continue
    const seen = byInode.get(ino)
    if (!seen) byInode.set(ino, { ...c, id: c.id || `netns:${ino}`, inode: ino })
    else if (c.pod !== undefined && seen.pod === undefined) seen.pod = c.pod
  }
  let chosen = [...byInode.values()]
  if (opts.netns?.length) {
    const want = new Set(opts.netns)
    chosen = chosen.filter((c) => want.has(c.name) || (c.kind === 'host' && want.has('host')) || (c.pod !== undefined && want.has(c.pod)))
  }

  // 2. what each holds (every namespace stays open until the veth pairs are matched)
  const namespaces: TopoNamespace[] = []
  const raw = new Map<string, Link[]>()
  const open = new Map<string, { ns: Netns; rt: Rtnl }>()
  const edges: TopoEdge[] = []
  const linkById = new Map<string, TopoLink>()
  try {
    for (const c of chosen) {
      const ns = Netns.openPath(c.path, c.name)
      let rt: Rtnl
      try {
        rt = Rtnl.open({ netns: ns })
      } catch (err) {
        ns.close()
        throw err
      }
      open.set(c.id, { ns, rt })
      const links = rt.link.listSync()
      raw.set(c.id, links)
      const byIndex = new Map(links.map((l) => [l.index, l]))
      const addrs = rt.addr.listSync()
      const topoLinks: TopoLink[] = links.map((l) => {
        const t: TopoLink = {
          id: `${c.id}/${l.name}`, name: l.name, index: l.index, kind: linkKind(l), up: l.up,
          addresses: addrs.filter((a) => a.index === l.index).map((a) => `${a.local}/${a.prefixlen}`),
        }
        if (l.mtu !== undefined) t.mtu = l.mtu
        if (l.address !== undefined && l.type !== ARPHRD_LOOPBACK) t.mac = l.address
        const master = l.master !== undefined ? byIndex.get(l.master) : undefined
        if (master) t.master = `${c.id}/${master.name}`
        if (l.kind === 'vxlan') {
          const d = (l.data ?? {}) as { id?: number; port?: number; local?: string }
          const remotes = [...new Set(rt.neigh.listSync({ dev: l.index, family: 'bridge' }).map((n) => n.dst).filter((x): x is string => x !== undefined))].sort()
          t.vxlan = { vni: d.id ?? 0, ...(d.port !== undefined && { port: d.port }), ...(d.local !== undefined && { local: d.local }), remotes }
        }
        linkById.set(t.id, t)
        return t
      })
      const gateways = rt.route.listSync().filter((r) => r.gateway !== undefined).map((r) => ({
        dst: r.dst, via: r.gateway!, ...(r.oif !== undefined && byIndex.get(r.oif) && { dev: byIndex.get(r.oif)!.name }),
      }))
      namespaces.push({ id: c.id, name: c.name, kind: c.kind, inode: c.inode, path: c.path, ...(c.pod !== undefined && { pod: c.pod }), links: topoLinks, gateways })
    }

    // 3. veth pairs: each end names the other's ifindex (IFLA_LINK); a peer in another namespace
    // carries that namespace's nsid as seen from here (IFLA_LINK_NETNSID), matched with RTM_GETNSID
    for (const n of namespaces) {
      const here = open.get(n.id)!.rt
      const nsids = new Map<string, number | undefined>()
      const nsidFor = (o: TopoNamespace): number | undefined => {
        if (!nsids.has(o.id)) nsids.set(o.id, nsidOf(here, open.get(o.id)!.ns.fd))
        return nsids.get(o.id)
      }
      for (const l of raw.get(n.id) ?? []) {
        if (l.kind !== 'veth' || l.link === undefined) continue
        const me = linkById.get(`${n.id}/${l.name}`)!
        if (me.peer) continue
        const where = l.linkNetnsid === undefined ? [n] : namespaces.filter((o) => o.id !== n.id && nsidFor(o) === l.linkNetnsid)
        const matches = where.flatMap((o) => (raw.get(o.id) ?? []).filter((p) => p.kind === 'veth' && p.index === l.link && p.link === l.index && (o.id !== n.id || p.index !== l.index)).map((p) => `${o.id}/${p.name}`))
        if (matches.length !== 1) continue // the peer is in a namespace outside the graph
        const peer = linkById.get(matches[0]!)!
        if (peer.peer) continue
        me.peer = peer.id
        peer.peer = me.id
        edges.push({ kind: 'veth', a: me.id, b: peer.id })
      }
      for (const l of n.links) {
        if (l.master) edges.push({ kind: 'port', link: l.id, bridge: l.master })
        for (const r of l.vxlan?.remotes ?? []) edges.push({ kind: 'vxlan', link: l.id, remote: r })
      }
    }
  } finally {
    for (const { ns, rt } of open.values()) {
      rt.close()
      ns.close()
    }
  }
  // 4. podnet's networks, their attachments and published ports (from the maps, per host namespace)
  const hostIdOf = (c: NetworkConfig): string => {
    if (c.hostNetns === null || c.hostNetns === opts.hostNetns) return 'host'
    const ino = inodeOf(c.hostNetns.includes('/') ? c.hostNetns : join(netnsRunDir(), c.hostNetns))
    return (ino !== undefined ? byInode.get(ino)?.id : undefined) ?? `ns:${c.hostNetns}`
  }
  const portsByHost = new Map<string, TopoPublishedPort[]>()
  const topoNetworks: TopoNetwork[] = []
  const nsOfPath = (p: string): string | undefined => {
    const ino = inodeOf(p)
    return ino !== undefined ? byInode.get(ino)?.id : undefined
  }
  for (const c of networks) {
    const hostId = hostIdOf(c)
    if (!portsByHost.has(hostId)) {
      const m = new NetworkManager({ ...dirs, ...(c.hostNetns !== null && { hostNetns: c.hostNetns }) })
      try {
        portsByHost.set(hostId, (await m.portMapEntries()).map((e) => {
          const [proto, hostPort, hostIp] = e.key.length === 3 ? [e.key[1], e.key[2], e.key[0]] : [e.key[0], e.key[1], undefined]
          const p: TopoPublishedPort = { protocol: proto === 17 ? 'udp' : 'tcp', hostPort: Number(hostPort), podIp: String(e.data[0]), podPort: Number(e.data[1]) }
          if (hostIp !== undefined) p.hostIp = String(hostIp)
          if (e.comment !== undefined) p.owner = e.comment
          return p
        }))
      } catch {
        portsByHost.set(hostId, [])
      } finally {
        m.close()
      }
    }
    const bridgeLink = linkById.has(`${hostId}/${c.bridge}`) ? `${hostId}/${c.bridge}` : undefined
    if (bridgeLink) linkById.get(bridgeLink)!.network = c.name
    const atts = manager.attachments(c.name).map((a) => {
      const nsId = nsOfPath(a.netns)
      const link = nsId !== undefined && linkById.has(`${nsId}/${a.ifname}`) ? `${nsId}/${a.ifname}` : undefined
      return { id: a.id, ifname: a.ifname, ...(link !== undefined && { link }), addresses: a.addresses.map((x) => x.address), names: a.dnsNames ?? [] }
    })
    const mine = (portsByHost.get(hostId) ?? []).filter((p) => {
      const tag = parseOwnerTag(p.owner)
      return tag?.network === c.name && tag.owner === manager.owner
    })
    for (const p of mine) {
      const att = atts.find((a) => a.addresses.some((x) => x.split('/')[0] === p.podIp))
      if (att?.link !== undefined) p.to = att.link
      edges.push({ kind: 'publish', network: c.name, port: p })
    }
    topoNetworks.push({
      name: c.name, bridge: c.bridge, ...(bridgeLink !== undefined && { bridgeLink }), namespace: hostId,
      subnets: c.subnets.map((s) => ({ subnet: s.subnet, gateway: s.gateway })),
      masquerade: c.nat && !c.internal, internal: c.internal, dns: c.dns === true, attachments: atts, publishedPorts: mine,
    })
  }
  manager.close()

  const topoPods: TopoPod[] = pods.map((p) => {
    const nsId = p.sandbox.pins?.net !== undefined ? nsOfPath(p.sandbox.pins.net) : undefined
    return {
      name: p.name, ...(nsId !== undefined && { namespace: nsId }), phase: p.phase, ips: p.sandbox.ips ?? [],
      containers: p.containers.map((c) => ({ name: c.name, state: c.state.status === 'waiting' ? c.state.reason : c.state.status })),
    }
  })
  return { namespaces, networks: topoNetworks, pods: topoPods, edges }
}
