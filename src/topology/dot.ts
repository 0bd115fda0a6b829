/**
 * Graphviz DOT for the two pictures (svg.ts renders them):
 *
 *   topology: one cluster per namespace (pods' clusters name their containers), a box per link
 *   with its addresses, bridges as hubs (ellipses naming their podnet network, its subnets, NAT
 *   and DNS), veth pairs as bold two-headed edges across clusters, bridge ports as plain edges
 *   to their hub, VXLAN devices with dotted edges to their remote peers, published ports as red
 *   arrows from a host port to the pod's interface. Loopback devices are left out (noise).
 *
 *   pod namespaces (`pod ns --format svg`): the host's namespaces (user, cgroup, time: the
 *   host's) as the outer region, the pod's shared ones (net, ipc, uts; pid when shared) as a
 *   region inside it, and in it the pause and each container as a box listing its private ones
 *   (mnt; pid unless shared).
 */
import type { NsRow } from '../runtime/ns-table.js'
import type { PodRecord } from '../runtime/types.js'
import type { TopoLink, TopologyGraph } from './model.js'
import { namespaceLabel } from './text.js'

/** A DOT string literal. */
export const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`

const NS_FILL: Record<string, string> = { host: '#eef3fb', named: '#f3f3f3', pod: '#eef8ee', other: '#f7f0fa' }

export function topologyDot(g: TopologyGraph, title = 'podnet topology'): string {
  const out: string[] = [
    'digraph podnet {',
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, compound=true, nodesep=0.3, ranksep=0.9, label=${q(title)}, labelloc=t]`,
    '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10]',
    '  edge [fontname="Helvetica", fontsize=9]',
  ]
  const netByBridge = new Map(g.networks.filter((n) => n.bridgeLink !== undefined).map((n) => [n.bridgeLink!, n]))
  const drawn = new Set<string>()
  const attByLink = new Map(g.networks.flatMap((n) => n.attachments.filter((a) => a.link !== undefined).map((a) => [a.link!, { net: n.name, a }] as const)))
  const linkLabel = (l: TopoLink): string => {
    const lines = [`${l.name}`, l.kind === 'device' ? '' : l.kind, ...l.addresses.filter((a) => !a.startsWith('fe80:'))]
    const att = attByLink.get(l.id)
    if (att) lines.push(`on ${att.net} as ${att.a.id}`)
    if (l.vxlan) lines.push(`vni ${l.vxlan.vni}${l.vxlan.port !== undefined ? ` port ${l.vxlan.port}` : ''}`)
    const net = netByBridge.get(l.id)
    if (net) {
      lines.push(`network ${net.name}`, ...net.subnets.map((s) => s.subnet))
      lines.push([net.internal ? 'internal' : net.masquerade ? 'masquerade' : 'routed', ...(net.dns ? ['DNS'] : [])].join(', '))
    }
    return lines.filter(Boolean).join('\n')
  }
  g.namespaces.forEach((n, i) => {
    const pod = g.pods.find((p) => p.namespace === n.id)
    const label = pod ? `${namespaceLabel(n)}\ncontainers: ${pod.containers.map((c) => c.name).join(', ') || 'none'}` : namespaceLabel(n)
    out.push(`  subgraph cluster_${i} {`, `    label=${q(label)}; style="rounded,filled"; fillcolor=${q(NS_FILL[n.kind] ?? '#ffffff')}; color="#9aa5b1"`)
    const links = n.links.filter((l) => l.kind !== 'loopback')
    if (!links.length) out.push(`    ${q(`${n.id}/(empty)`)} [label="no links", shape=plaintext]`)
    for (const l of links) {
      drawn.add(l.id)
      const hub = l.kind === 'bridge'
      out.push(`    ${q(l.id)} [label=${q(linkLabel(l))}${hub ? ', shape=ellipse, style=filled, fillcolor="#fff4d6"' : ''}${l.up ? '' : ', color="#aaaaaa", fontcolor="#777777"'}]`)
    }
    for (const net of g.networks.filter((x) => x.namespace === n.id)) {
      for (const p of net.publishedPorts) {
        const id = `hostport:${n.id}:${p.protocol}:${p.hostIp ?? '*'}:${p.hostPort}`
        if (drawn.has(id)) continue
        drawn.add(id)
        out.push(`    ${q(id)} [label=${q(`${p.protocol} ${p.hostIp ?? '*'}:${p.hostPort}`)}, shape=cds, style=filled, fillcolor="#fde2e2"]`)
      }
    }
    out.push('  }')
  })
  for (const e of g.edges) {
    if (e.kind === 'veth' && drawn.has(e.a) && drawn.has(e.b)) out.push(`  ${q(e.a)} -> ${q(e.b)} [dir=both, arrowhead=none, arrowtail=none, penwidth=2.2, color="#d08000", label="veth"]`)
    else if (e.kind === 'port' && drawn.has(e.link) && drawn.has(e.bridge)) out.push(`  ${q(e.bridge)} -> ${q(e.link)} [arrowhead=none, color="#5a6b7b"]`)
    else if (e.kind === 'vxlan' && drawn.has(e.link)) {
      const id = `remote:${e.remote}`
      if (!drawn.has(id)) {
        drawn.add(id)
        out.push(`  ${q(id)} [label=${q(`remote VTEP\n${e.remote}`)}, shape=box3d, style=filled, fillcolor="#e8e8ff"]`)
      }
      out.push(`  ${q(e.link)} -> ${q(id)} [style=dotted, arrowhead=none, color="#4b4bb8", label="vxlan"]`)
    } else if (e.kind === 'publish') {
      const net = g.networks.find((x) => x.name === e.network)
      const from = `hostport:${net?.namespace}:${e.port.protocol}:${e.port.hostIp ?? '*'}:${e.port.hostPort}`
      if (e.port.to !== undefined && drawn.has(e.port.to) && drawn.has(from)) out.push(`  ${q(from)} -> ${q(e.port.to)} [color="#c0392b", fontcolor="#c0392b", label=${q(`${e.port.podIp}:${e.port.podPort}`)}]`)
    }
  }
  out.push('}')
  return `${out.join('\n')}\n`
}

/** The pod-namespace picture of one pod, from its namespace table (runtime/ns-table.ts). */
export function podNamespacesDot(rec: Pick<PodRecord, 'name'>, rows: NsRow[]): string {
  const host = rows.filter((r) => r.sharing === 'host')
  const pod = rows.filter((r) => r.sharing === 'pod')
  const perMember = rows.filter((r) => r.sharing === 'private' || r.sharing === 'mixed')
  const names = [...new Set(rows.flatMap((r) => r.members.map((m) => m.name)))]
  const members = names.map((n) => rows.flatMap((r) => r.members).find((m) => m.name === n)!)
  const out: string[] = [
    'digraph pod {',
    `  graph [fontname="Helvetica", fontsize=12, compound=true, label=${q(`pod ${rec.name}: namespaces`)}, labelloc=t]`,
    '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10]',
    '  edge [fontname="Helvetica", fontsize=9]',
    '  subgraph cluster_host {',
    `    label=${q(['the host\'s namespaces', ...host.map((r) => `${r.kind} ${r.host ?? ''}`)].join('\n'))}; style="rounded,filled"; fillcolor="#eef3fb"; color="#9aa5b1"`,
    '    subgraph cluster_pod {',
    `      label=${q(`pod ${rec.name}\nshared: ${pod.map((r) => `${r.kind} ${r.members[0]?.inode ?? ''}`).join(', ') || 'nothing'}`)}; style="rounded,filled"; fillcolor="#eef8ee"; color="#5a8f5a"`,
  ]
  for (const m of members) {
    const own = perMember.map((r) => {
      const x = r.members.find((y) => y.name === m.name)
      return x?.inode !== undefined ? `${r.kind} ${x.inode}` : undefined
    }).filter((s): s is string => s !== undefined)
    const label = [`${m.name}`, `${m.role}, pid ${m.pid}`, ...(own.length ? ['own:', ...own] : [])].join('\n')
    out.push(`      ${q(`m:${m.name}`)} [label=${q(label)}${m.role === 'pause' ? ', fillcolor="#f3f3f3"' : ''}]`)
  }
  if (!members.length) out.push('      "none" [label="no running process", shape=plaintext]')
  out.push('    }', '  }')
  // the pause holds the shared namespaces: containers joined them
  for (const m of members) if (m.role === 'container' && members.some((p) => p.role === 'pause')) out.push(`  ${q('m:pause')} -> ${q(`m:${m.name}`)} [style=dashed, color="#5a8f5a", label="joins"]`)
  out.push('}')
  return `${out.join('\n')}\n`
}
