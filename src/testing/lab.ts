/**
 * A network lab described in one call: machines (namespaces), point-to-point links (veth pairs),
 * switches (a bridge in a namespace of its own, one port per member), routers (they forward),
 * static routes computed for every subnet, and NAT to an "internet". What Mininet's Topo gives
 * Python tests, in a few lines:
 *
 *   const lab = createLab({
 *     nodes: { client: {}, r1: { router: true }, server: {} },
 *     links: [['client', 'r1'], ['r1', 'server']],
 *     internet: 'r1',
 *   })
 *   // client -> server crosses r1; client -> lab.internetHost is masqueraded by r1
 *   await probeAsync(lab.node('client'), 'tcp', lab.address('server'), 80)
 *   console.log(await lab.picture())          // the real namespaces, links and addresses
 *
 * Addresses: segment k (links first, then switches, in the order given) gets 10.0.k.0/24 unless
 * it names a subnet (IPv4 or IPv6); a link's ends are .1 and .2 in the order written, a switch's
 * members .1, .2, ... in the order listed. Interfaces are eth0, eth1, ... on each node in the
 * same order. Routes: for every subnet a node is not on, the next hop towards the nearest router
 * on it (only routers forward, so a path never crosses a plain node); with `internet`, a default
 * route towards that router, which masquerades what leaves through its uplink to the "internet"
 * namespace (203.0.113.2, also 198.51.100.1 on its loopback: `internetHost`). The internet knows
 * no lab subnet, so only NATed traffic gets an answer, as on the real one.
 *
 * Depends on: root (or a --rootless sandbox) and a sandboxed process, as every fixture here.
 * Bad input (an unknown node, a name used twice, a link to itself, a subnet too small, two
 * segments with one subnet) throws InvalidArgumentError naming the field before anything is made.
 * Cleanup: close() deletes every namespace (links, routes, rules die with them); useLab() calls
 * it after each test, failed and timed-out ones too; a failure half-way through createLab closes
 * what it made and rethrows.
 */
import { InvalidArgumentError } from '../errors.js'
import { formatIp, overlaps, parseCidr, type Cidr } from '../net/index.js'
import { masquerade, matchOifname, Nft } from '../netlink/nftables/index.js'
import { writeSysctlSync } from '../bridge/sysctl.js'
import { perSuite, perTest, trackFixture, type Runner } from './hooks.js'
import { createTempNetns, type TempNetns } from './temp-netns.js'
import { computeRoutes, type LabRoute, type RouteGraph } from './lab-routes.js'

export interface LabNodeSpec {
  /** The node forwards packets (net.ipv4.ip_forward, IPv6 forwarding): routes may cross it. */
  router?: boolean
}

export interface LabLinkSpec {
  a: string
  b: string
  /** Default 10.0.K.0/24 (K: the segment's number); IPv6 works too. */
  subnet?: string
  mtu?: number
}

export interface LabSwitchSpec {
  members: string[]
  subnet?: string
  mtu?: number
}

export interface LabSpec {
  /** Machine names (letters, digits, '-'; up to 20), or name -> options. */
  nodes: string[] | Record<string, LabNodeSpec>
  /** Point-to-point links: [a, b] or { a, b, subnet, mtu }. */
  links?: Array<[string, string] | LabLinkSpec>
  /** Shared segments by name: a bridge with every member on it. */
  switches?: Record<string, LabSwitchSpec>
  /** A router that connects the lab to an "internet" namespace and masquerades towards it. */
  internet?: string
  /** Compute and install static routes (default true). */
  routes?: boolean
}

/** One interface of a node. */
export interface LabInterface {
  node: string
  ifname: string
  /** Its address, without the prefix length. */
  address: string
  /** address/prefix. */
  cidr: string
  /** The link ("a-b") or switch name. */
  segment: string
  subnet: string
}

export interface Lab {
  /** A machine's namespace (closed with the lab). `internet` too when the lab has one. */
  node(name: string): TempNetns
  /** The node's address on its first interface, or on the segment it shares with `peer`. */
  address(node: string, peer?: string): string
  /** Every interface, or one node's. */
  interfaces(node?: string): LabInterface[]
  /** The routes createLab installed on a node, as `ip route` writes them ("10.0.2.0/24 via 10.0.1.2 dev eth0"). */
  routes(node: string): string[]
  /** An address "on the internet" (198.51.100.1), when the lab has one. */
  readonly internetHost: string | undefined
  /** The lab drawn by podnet's topology picture: text (default), json, dot or svg. */
  picture(opts?: { format?: 'text' | 'json' | 'dot' | 'svg'; ascii?: boolean }): Promise<string>
  close(): void
  closeSync(): void
}

interface Segment { name: string; kind: 'link' | 'switch'; subnet: Cidr; mtu?: number; ends: Array<{ node: string; ifname: string; host: bigint }> }

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,19}$/
const INTERNET = { name: 'internet', subnet: '203.0.113.0/24', host: '198.51.100.1' } as const

/** Validates the spec and lays out segments, interfaces and addresses (pure: nothing is made). */
export function planLab(spec: LabSpec): { nodes: Map<string, LabNodeSpec>; segments: Segment[] } {
  const nodes = new Map<string, LabNodeSpec>()
  const names = Array.isArray(spec.nodes) ? spec.nodes.map((n) => [n, {}] as const) : Object.entries(spec.nodes)
  names.forEach(([n, o], i) => {
    if (!NODE_NAME.test(n)) throw new InvalidArgumentError(`nodes[${i}]`, `'${n}' is not a node name (letters, digits and '-', up to 20)`)
    if (nodes.has(n)) throw new InvalidArgumentError(`nodes[${i}]`, `'${n}' is given twice`)
    if (spec.internet !== undefined && n === INTERNET.name) throw new InvalidArgumentError(`nodes[${i}]`, "'internet' is the lab's internet namespace")
    nodes.set(n, { ...o })
  })
  const known = (n: string, field: string): void => {
    if (!nodes.has(n)) throw new InvalidArgumentError(field, `no node '${n}'`)
  }
  const ifCount = new Map<string, number>()
  const nextIf = (n: string): string => {
    const k = ifCount.get(n) ?? 0
    ifCount.set(n, k + 1)
    return `eth${k}`
  }
  const segments: Segment[] = []
  const addSegment = (name: string, kind: Segment['kind'], members: string[], field: string, subnetText: string | undefined, mtu: number | undefined): void => {
    const subnet = parseCidr(subnetText ?? `10.0.${segments.length + 1}.0/24`, `${field}.subnet`)
    const hosts = (1n << BigInt((subnet.family === 4 ? 32 : 128) - subnet.prefix)) - (subnet.family === 4 ? 2n : 1n)
    if (BigInt(members.length) > hosts) throw new InvalidArgumentError(`${field}.subnet`, `${subnet.text} has room for ${hosts} addresses, not ${members.length}`)
    const clash = segments.find((s) => overlaps(s.subnet, subnet))
    if (clash) throw new InvalidArgumentError(`${field}.subnet`, `${subnet.text} overlaps ${clash.subnet.text} of ${clash.name}`)
    segments.push({ name, kind, subnet, ...(mtu !== undefined && { mtu }), ends: members.map((node, i) => ({ node, ifname: nextIf(node), host: BigInt(i + 1) })) })
  }
  ;(spec.links ?? []).forEach((l, i) => {
    const { a, b, subnet, mtu } = Array.isArray(l) ? { a: l[0], b: l[1], subnet: undefined, mtu: undefined } : l
    known(a, `links[${i}].a`)
    known(b, `links[${i}].b`)
    if (a === b) throw new InvalidArgumentError(`links[${i}]`, `a link from '${a}' to itself`)
    addSegment(`${a}-${b}`, 'link', [a, b], `links[${i}]`, subnet, mtu)
  })
  for (const [name, sw] of Object.entries(spec.switches ?? {})) {
    if (!NODE_NAME.test(name)) throw new InvalidArgumentError(`switches.${name}`, 'not a switch name (letters, digits and \'-\', up to 20)')
    if (segments.some((s) => s.name === name) || (spec.internet !== undefined && name === INTERNET.name)) throw new InvalidArgumentError(`switches.${name}`, 'a link or the internet has this name')
    sw.members.forEach((m, i) => known(m, `switches.${name}.members[${i}]`))
    if (new Set(sw.members).size !== sw.members.length) throw new InvalidArgumentError(`switches.${name}.members`, 'a node is listed twice')
    addSegment(name, 'switch', sw.members, `switches.${name}`, sw.subnet, sw.mtu)
  }
  if (spec.internet !== undefined) {
    known(spec.internet, 'internet')
    if (!nodes.get(spec.internet)!.router) nodes.get(spec.internet)!.router = true
    addSegment(INTERNET.name, 'link', [spec.internet, INTERNET.name], 'internet', INTERNET.subnet, undefined)
  }
  return { nodes, segments }
}

export function createLab(spec: LabSpec): Lab {
  const plan = planLab(spec)
  const ns = new Map<string, TempNetns>()
  const switches: TempNetns[] = []
  const installed = new Map<string, LabRoute[]>()
  const ifaces: LabInterface[] = []
  const closeAll = (): void => {
    const errors: unknown[] = []
    for (const t of [...switches.splice(0), ...[...ns.values()].reverse()]) {
      try { t.close() } catch (err) { errors.push(err) }
    }
    ns.clear()
    if (errors.length) throw new AggregateError(errors, `closing the lab: ${errors.length} namespace(s) failed: ${errors.map((e) => (e as Error).message).join('; ')}`)
  }
  try {
    const all = [...plan.nodes.keys(), ...(spec.internet !== undefined ? [INTERNET.name] : [])]
    for (const n of all) ns.set(n, createTempNetns(`lab-${n}`))
    for (const [n, o] of plan.nodes) {
      if (!o.router) continue
      ns.get(n)!.ns.runSync(() => {
        writeSysctlSync('net.ipv4.ip_forward', '1')
        writeSysctlSync('net.ipv6.conf.all.forwarding', '1')
      })
    }
    for (const seg of plan.segments) {
      const at = (i: number): TempNetns => ns.get(seg.ends[i]!.node)!
      const mtu = seg.mtu !== undefined ? { mtu: seg.mtu } : {}
      if (seg.kind === 'link') {
        at(0).rt.link.addSync({ kind: 'veth', name: seg.ends[0]!.ifname, up: true, ...mtu, peer: { name: seg.ends[1]!.ifname, netns: at(1).ns, up: true, ...mtu } })
      } else {
        const sw = createTempNetns(`lab-sw-${seg.name}`)
        switches.push(sw)
        sw.rt.link.addSync({ kind: 'bridge', name: 'br0', up: true, ...mtu })
        seg.ends.forEach((e, i) => {
          sw.rt.link.addSync({ kind: 'veth', name: `p${i}`, up: true, master: 'br0', ...mtu, peer: { name: e.ifname, netns: at(i).ns, up: true, ...mtu } })
        })
      }
      for (const e of seg.ends) {
        const address = formatIp(seg.subnet.family, seg.subnet.network + e.host)
        const cidr = `${address}/${seg.subnet.prefix}`
        ns.get(e.node)!.rt.addr.addSync({ cidr, dev: e.ifname, ...(seg.subnet.family === 6 && { nodad: true }) })
        ifaces.push({ node: e.node, ifname: e.ifname, address, cidr, segment: seg.name, subnet: seg.subnet.text })
      }
    }
    if (spec.internet !== undefined) {
      const inet = ns.get(INTERNET.name)!
      inet.rt.addr.addSync({ cidr: `${INTERNET.host}/32`, dev: 'lo' })
      const uplink = ifaces.find((i) => i.node === spec.internet && i.segment === INTERNET.name)!
      const nft = Nft.open({ netns: ns.get(spec.internet)!.ns })
      try {
        const t = { family: 'ip' as const, table: 'lab-nat' }
        const tx = nft.transaction()
        tx.addTable({ family: 'ip', name: 'lab-nat' })
        tx.addChain({ ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' })
        tx.addRule({ ...t, chain: 'postrouting', exprs: [...matchOifname(uplink.ifname), ...masquerade()] })
        tx.commitSync()
      } finally {
        nft.close()
      }
    }
    if (spec.routes !== false) {
      const graph: RouteGraph = {
        routers: new Set([...plan.nodes].filter(([, o]) => o.router).map(([n]) => n)),
        segments: plan.segments.map((s) => ({ name: s.name, subnet: s.subnet.text, family: s.subnet.family, ends: ifaces.filter((i) => i.segment === s.name) })),
        ...(spec.internet !== undefined && { gateway: { router: spec.internet, via: formatIp(4, parseCidr(INTERNET.subnet).network + 2n), dev: ifaces.find((i) => i.node === spec.internet && i.segment === INTERNET.name)!.ifname } }),
      }
      for (const n of plan.nodes.keys()) {
        const routes = computeRoutes(graph, n)
        for (const r of routes) ns.get(n)!.rt.route.addSync({ dst: r.dst, via: r.via, dev: r.dev })
        installed.set(n, routes)
      }
    }
  } catch (err) {
    try { closeAll() } catch { /* the first error says more */ }
    throw err
  }
  let untrack = (): void => {}
  const get = (name: string): TempNetns => {
    const t = ns.get(name)
    if (!t) throw new InvalidArgumentError('node', `no node '${name}' in this lab`)
    return t
  }
  const lab: Lab = {
    internetHost: spec.internet !== undefined ? INTERNET.host : undefined,
    node: get,
    address(node, peer) {
      get(node)
      const mine = ifaces.filter((i) => i.node === node)
      const hit = peer === undefined ? mine[0] : mine.find((i) => ifaces.some((j) => j.node === peer && j.segment === i.segment))
      if (!hit) throw new InvalidArgumentError('peer', peer === undefined ? `node '${node}' has no interface` : `'${node}' and '${peer}' share no link or switch`)
      return hit.address
    },
    interfaces: (node) => ifaces.filter((i) => node === undefined || i.node === node),
    routes: (node) => { get(node); return (installed.get(node) ?? []).map((r) => `${r.dst} via ${r.via} dev ${r.dev}`) },
    async picture(opts = {}) {
      const { collectTopology, renderText, topologyDot, renderSvg } = await import('../topology/index.js')
      const graph = await collectTopology({ netns: [...[...ns.values()].map((t) => t.name), ...switches.map((s) => s.name)] })
      const format = opts.format ?? 'text'
      if (format === 'json') return `${JSON.stringify(graph, null, 2)}\n`
      if (format === 'text') return renderText(graph, opts.ascii ? { ascii: true } : {})
      const dot = topologyDot(graph, 'podnet lab')
      return format === 'dot' ? dot : renderSvg(dot)
    },
    close() {
      untrack()
      closeAll()
    },
    closeSync() { lab.close() },
  }
  untrack = trackFixture(lab)
  return lab
}

/** createLab(spec) in hooks: a fresh lab per test (or one per describe with scope 'all'), closed after it. */
export function useLab(spec: LabSpec, opts: { scope?: 'each' | 'all'; runner?: Runner } = {}): () => Lab {
  return (opts.scope === 'all' ? perSuite : perTest)('useLab', () => createLab(spec), (l) => l.close(), opts.runner)
}
