/**
 * The topology as a tree for terminals: one branch per namespace (the host first, then named
 * namespaces, then pods), its links by ifindex with bridge ports under their bridge, each veth
 * naming its other end, then its gateways; podnet's published ports at the end. Unicode box
 * drawing, or ASCII (`--ascii`).
 */
import type { TopoLink, TopoNamespace, TopologyGraph } from './model.js'

const UNICODE = { tee: '├─ ', last: '└─ ', pipe: '│  ', space: '   ', pair: '⇄', arrow: '→', hub: '◆' }
const ASCII = { tee: '|- ', last: '`- ', pipe: '|  ', space: '   ', pair: '<->', arrow: '->', hub: '*' }

interface Tree {
  text: string
  children: Tree[]
}

function draw(trees: Tree[], g: typeof UNICODE, prefix = ''): string[] {
  const out: string[] = []
  trees.forEach((t, i) => {
    const last = i === trees.length - 1
    out.push(`${prefix}${last ? g.last : g.tee}${t.text}`)
    out.push(...draw(t.children, g, prefix + (last ? g.space : g.pipe)))
  })
  return out
}

const KIND_ORDER: Record<TopoNamespace['kind'], number> = { host: 0, named: 1, pod: 2, other: 3 }

/** How a namespace is named in a peer's line: 'host', 'pod web-0', 'pn-up'. */
export function namespaceLabel(n: Pick<TopoNamespace, 'kind' | 'name' | 'pod'>): string {
  if (n.kind === 'host') return n.name === 'host' ? 'host' : `host ${n.name}`
  if (n.kind === 'pod') return `pod ${n.name}`
  return n.pod !== undefined ? `${n.name} (pod ${n.pod})` : n.name
}

export function renderText(g: TopologyGraph, opts: { ascii?: boolean } = {}): string {
  const glyph = opts.ascii ? ASCII : UNICODE
  const nsById = new Map(g.namespaces.map((n) => [n.id, n]))
  const peerText = (id: string): string => {
    const slash = id.lastIndexOf('/')
    const ns = nsById.get(id.slice(0, slash))
    return `${ns ? namespaceLabel(ns) : id.slice(0, slash)}/${id.slice(slash + 1)}`
  }
  const netByBridge = new Map(g.networks.filter((n) => n.bridgeLink !== undefined).map((n) => [n.bridgeLink!, n]))
  const attByLink = new Map(g.networks.flatMap((n) => n.attachments.filter((a) => a.link !== undefined).map((a) => [a.link!, { net: n.name, a }] as const)))

  const linkLine = (l: TopoLink): string => {
    const parts = [l.name, l.kind, l.up ? 'up' : 'down', `#${l.index}`]
    if (l.mac) parts.push(l.mac)
    if (l.mtu !== undefined && l.kind !== 'loopback') parts.push(`mtu ${l.mtu}`)
    parts.push(...l.addresses)
    if (l.peer) parts.push(`${glyph.pair} ${peerText(l.peer)}`)
    if (l.vxlan) {
      parts.push(`vni ${l.vxlan.vni}`, ...(l.vxlan.port !== undefined ? [`port ${l.vxlan.port}`] : []), ...(l.vxlan.local ? [`local ${l.vxlan.local}`] : []))
      parts.push(`${glyph.arrow} ${l.vxlan.remotes.length ? l.vxlan.remotes.join(', ') : 'no remote peers'}`)
    }
    const att = attByLink.get(l.id)
    if (att) parts.push(`[${att.net}: ${att.a.id}${att.a.names.length ? `, names ${att.a.names.join(' ')}` : ''}]`)
    const net = netByBridge.get(l.id)
    if (net) {
      const mode = [net.internal ? 'internal' : net.masquerade ? 'masquerade' : 'routed', ...(net.dns ? ['DNS'] : [])]
      parts.push(`${glyph.hub} network ${net.name}: ${net.subnets.map((s) => `${s.subnet} gw ${s.gateway}`).join(', ')}, ${mode.join(', ')}`)
    }
    return parts.join('  ')
  }

  const lines: string[] = []
  const sorted = [...g.namespaces].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name))
  for (const n of sorted) {
    const pod = g.pods.find((p) => p.namespace === n.id)
    const head = [namespaceLabel(n), `netns ${n.inode}`]
    if (pod) head.push(pod.phase, `containers: ${pod.containers.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}`)
    lines.push(head.join('  '))
    const ports = new Map<string, TopoLink[]>()
    for (const l of n.links) if (l.master) ports.set(l.master, [...(ports.get(l.master) ?? []), l])
    const trees: Tree[] = [...n.links].sort((a, b) => a.index - b.index).filter((l) => !l.master || !n.links.some((b) => b.id === l.master))
      .map((l) => ({ text: linkLine(l), children: (ports.get(l.id) ?? []).sort((a, b) => a.index - b.index).map((p) => ({ text: linkLine(p), children: [] })) }))
    if (n.gateways.length) trees.push({ text: `gateways: ${n.gateways.map((r) => `${r.dst} via ${r.via}${r.dev ? ` dev ${r.dev}` : ''}`).join('; ')}`, children: [] })
    lines.push(...draw(trees, glyph))
  }
  const published = g.networks.flatMap((net) => net.publishedPorts.map((p) => ({ net, p })))
  if (published.length) {
    lines.push('published ports')
    lines.push(...draw(published.map(({ net, p }) => ({
      text: `${p.protocol} ${p.hostIp ?? '*'}:${p.hostPort} ${glyph.arrow} ${p.podIp}:${p.podPort}  network ${net.name}${p.to ? `, ${peerText(p.to)}` : ''}`,
      children: [],
    })), glyph))
  }
  const unplaced = g.pods.filter((p) => p.namespace === undefined)
  if (unplaced.length) {
    lines.push('pods without a network namespace here')
    lines.push(...draw(unplaced.map((p) => ({ text: `${p.name}  ${p.phase}`, children: [] })), glyph))
  }
  return `${lines.join('\n')}\n`
}
