/**
 * `podnet topology` on a known topology: two networks, three pods (one publishing a port), a plain
 * veth pair between two named namespaces. The JSON graph is checked against ip -j, bridge -j and
 * nft -j (every link, peer, port and address there, nothing else); the SVG is well-formed XML
 * naming every namespace and pod; the text tree matches a golden file with the volatile parts
 * (ifindexes, MACs, inodes, link-local addresses, random namespace suffixes, host veth names,
 * which hash the random state dir's owner id) masked.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { Netns } from '../../../src/netns/index.js'
import { Rtnl } from '../../../src/netlink/route/index.js'
import { bridgeJson, createTopology, ipJson, nftRuleset, type Topology } from '../../../src/testing/index.js'
import { assertWellFormedXml } from '../../support/xml.js'
import { collectTopology, renderSvg, renderText, topologyDot, type TopologyGraph } from '../../../src/topology/index.js'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/topology/tree.txt')
const NAMED = ['tp-web1', 'tp-web2', 'tp-db1', 'tp-a', 'tp-b'] as const

describe('kernel: podnet topology', function () {
  this.timeout(60_000)
  let topo: Topology
  let m: NetworkManager
  let g: TopologyGraph

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
    for (const n of NAMED) Netns.create(n).close()
    await m.create({ name: 'web', subnets: ['10.86.0.0/24'], dns: true })
    await m.create({ name: 'db', subnets: ['10.87.0.0/24'], internal: true })
    await m.attach({ network: 'web', netns: 'tp-web1', id: 'front', dnsNames: ['front', 'www'], portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    await m.attach({ network: 'web', netns: 'tp-web2', id: 'api' })
    await m.attach({ network: 'db', netns: 'tp-db1', id: 'pg' })
    // a plain veth pair between two named namespaces, addresses on both ends
    const a = Netns.open('tp-a')
    const b = Netns.open('tp-b')
    const rt = Rtnl.open({ netns: a })
    rt.link.addSync({ kind: 'veth', name: 'va', up: true, peer: { name: 'vb', netns: b } })
    rt.addr.addSync({ cidr: '192.168.77.1/30', dev: 'va' })
    rt.close()
    const rb = Rtnl.open({ netns: b })
    rb.link.setSync('vb', { up: true })
    rb.addr.addSync({ cidr: '192.168.77.2/30', dev: 'vb' })
    rb.close()
    a.close()
    b.close()
    // the kernel finishes on its own time: a bridge gets its carrier from linkwatch (up to a second
    // after its first port comes up) and only then its link-local address; read a settled state
    await settled([topo.host.name, topo.upstream.name, ...NAMED])
    g = await collectTopology({ stateDir: topo.stateDir, runDir: topo.runDir, hostNetns: topo.host.name })
  })
  after(() => {
    if (!topo) return
    for (const n of NAMED) try { Netns.remove(n) } catch { /* gone */ }
    topo.close()
  })

  const nsNames = (): string[] => [topo.host.name, topo.upstream.name, ...NAMED]
  const nsOf = (name: string) => g.namespaces.find((n) => n.name === name || (n.kind === 'host' && name === topo.host.name))!

  it('has every namespace, and in each every link and address ip -j shows, nothing else', () => {
    assert.deepEqual(g.namespaces.map((n) => n.name).sort(), nsNames().sort())
    assert.equal(nsOf(topo.host.name).kind, 'host')
    for (const name of nsNames()) {
      const ns = nsOf(name)
      const links = (ipJson(name, 'link', 'show') as Array<{ ifname: string; ifindex: number; mtu: number; address?: string; operstate: string }>)
      assert.deepEqual(ns.links.map((l) => l.name).sort(), links.map((l) => l.ifname).sort(), `links of ${name}`)
      for (const l of links) {
        const t = ns.links.find((x) => x.name === l.ifname)!
        assert.equal(t.index, l.ifindex)
        assert.equal(t.mtu, l.mtu)
        if (l.ifname !== 'lo') assert.equal(t.mac, l.address)
      }
      const addrs = (ipJson(name, 'addr', 'show') as Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }>)
        .flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort()
      assert.deepEqual(ns.links.flatMap((l) => l.addresses.map((a) => `${l.name} ${a}`)).sort(), addrs, `addresses of ${name}`)
      const gws = (ipJson(name, 'route', 'show') as Array<{ dst: string; gateway?: string }>).filter((r) => r.gateway).map((r) => `${r.dst} ${r.gateway}`).sort()
      assert.deepEqual(ns.gateways.map((r) => `${r.dst} ${r.via}`).sort(), gws, `gateways of ${name}`)
    }
  })

  it('pairs every veth with the end ip -j names (peer ifindex and the peer namespace\'s nsid), bridges with their ports (bridge -j)', () => {
    let pairs = 0
    for (const name of nsNames()) {
      const ids = new Map((ipJson(name, 'netns', 'list-id') as Array<{ nsid: number; name?: string }>).map((x) => [x.nsid, x.name]))
      for (const l of ipJson(name, 'link', 'show', 'type', 'veth') as Array<{ ifname: string; link_index?: number; link_netnsid?: number }>) {
        const peerNs = l.link_netnsid === undefined ? name : ids.get(l.link_netnsid)!
        assert.ok(peerNs, `${name}/${l.ifname}: the peer's namespace has a name`)
        const peer = (ipJson(peerNs, 'link', 'show') as Array<{ ifname: string; ifindex: number }>).find((x) => x.ifindex === l.link_index)!
        const t = nsOf(name).links.find((x) => x.name === l.ifname)!
        assert.equal(t.kind, 'veth')
        assert.equal(t.peer, `${nsOf(peerNs).id}/${peer.ifname}`, `${name}/${l.ifname}`)
        pairs++
      }
    }
    assert.equal(pairs, 2 * 5, 'up0, three pods and the plain pair, each seen from both ends')
    assert.equal(g.edges.filter((e) => e.kind === 'veth').length, 5)
    const ports = (bridgeJson(topo.host.name, 'link', 'show') as Array<{ ifname: string; master?: string }>).filter((p) => p.master).map((p) => `${p.ifname}>${p.master}`).sort()
    const host = nsOf(topo.host.name).id
    assert.deepEqual(g.edges.flatMap((e) => (e.kind === 'port' ? [`${e.link.slice(host.length + 1)}>${e.bridge.slice(host.length + 1)}`] : [])).sort(), ports)
    assert.equal(nsOf('tp-a').links.find((l) => l.name === 'va')!.peer, `${nsOf('tp-b').id}/vb`)
  })

  it('networks: bridge, subnets, NAT, DNS from the records; the published port as nft -j has it, to the pod\'s link', () => {
    const web = g.networks.find((n) => n.name === 'web')!
    assert.equal(web.bridgeLink, `${nsOf(topo.host.name).id}/pn-web`)
    assert.deepEqual([web.masquerade, web.internal, web.dns], [true, false, true])
    const db = g.networks.find((n) => n.name === 'db')!
    assert.deepEqual([db.masquerade, db.internal, db.dns], [false, true, false])
    assert.deepEqual(web.attachments.map((a) => [a.id, a.link, a.names]).sort(), [['api', `${nsOf('tp-web2').id}/eth0`, []], ['front', `${nsOf('tp-web1').id}/eth0`, ['front', 'www']]])
    const elems = nftRuleset(topo.host.name).filter((o) => o.map?.table === 'podnet' && o.map.elem?.length)
      .flatMap((o) => (o.map!.elem as Array<[{ elem: { val: { concat: unknown[] } } }, { concat: unknown[] }]>).map(([k, v]) => `${k.elem.val.concat.join(' ')} -> ${v.concat.join(' ')}`))
    assert.deepEqual(g.networks.flatMap((n) => n.publishedPorts.map((p) => `${p.protocol} ${p.hostPort} -> ${p.podIp} ${p.podPort}`)), elems)
    assert.equal(web.publishedPorts[0]!.to, `${nsOf('tp-web1').id}/eth0`)
    assert.deepEqual(g.edges.filter((e) => e.kind === 'publish').length, 1)
  })

  it('SVG: well-formed XML naming every namespace, pod link, network and the published port', async () => {
    const svg = await renderSvg(topologyDot(g))
    assert.match(svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/)
    assertWellFormedXml(svg)
    // the text as a reader sees it (graphviz writes '-' as &#45;)
    const text = svg.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    for (const label of [...nsNames(), 'network web', 'network db', 'tcp *:8080', '10.86.0.2:80', '192.168.77.1/30', 'on web as front']) {
      assert.ok(text.includes(label), `the SVG names ${label}`)
    }
  })

  it('text tree: matches the golden file with the volatile parts masked; --ascii has no box drawing', () => {
    const vethOwners = new Map(g.networks.flatMap((n) => n.attachments.map((a) => [m.attachment(n.name, a.id)!.hostVeth, `${n.name}/${a.id}`] as const)))
    const mask = (s: string): string => s
      .replaceAll(topo.host.name, 'HOSTNS').replaceAll(topo.upstream.name, 'UPNS')
      .replace(/netns \d+/g, 'netns INODE').replace(/#\d+/g, '#N').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
      .replace(/fe80::[0-9a-f:]+\/64/g, 'LINKLOCAL')
      // host veths are named from the state dir's owner id too (a hash of its random path)
      .replace(/pn[0-9a-f]{10}\b/g, (name) => `pn<${vethOwners.get(name) ?? '?'}>`)
    const text = mask(renderText(g))
    if (process.env.PODNET_UPDATE_GOLDEN) writeFileSync(GOLDEN, text)
    assert.equal(text, readFileSync(GOLDEN, 'utf8'))
    const ascii = renderText(g, { ascii: true })
    assert.doesNotMatch(ascii, /[^\x00-\x7f]/)
    assert.equal(ascii.split('\n').length, renderText(g).split('\n').length)
  })

  it('the CLI: --netns limits the namespaces; json, dot and svg formats; a bad format is a usage error', () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'topology', '--state-dir', topo.stateDir, '--run-dir', topo.runDir, '--host-netns', topo.host.name, ...args], { encoding: 'utf8' })
    const j = JSON.parse(run('--netns', 'tp-a', '--netns', 'tp-b', '--format', 'json').stdout) as TopologyGraph
    assert.deepEqual(j.namespaces.map((n) => n.name).sort(), ['tp-a', 'tp-b'])
    assert.equal(j.edges.filter((e) => e.kind === 'veth').length, 1)
    assert.match(run('--format', 'dot').stdout, /^digraph podnet \{/)
    assert.match(run('--ascii').stdout, /^host /)
    const bad = run('--format', 'png')
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /--format: must be text, json, dot, svg/)
  })
})

/** Waits (up to 10 s) until every bridge with a port is up with its IPv6 link-local address (ip -j; podnet's veths have none). */
async function settled(namespaces: readonly string[]): Promise<void> {
  type Link = { ifname: string; operstate: string; master?: string; addr_info: Array<{ family: string; local: string }> }
  const pending = (): string[] => namespaces.flatMap((ns) => {
    const links = ipJson(ns, 'addr', 'show') as Link[]
    const masters = new Set(links.flatMap((l) => (l.master ? [l.master] : [])))
    return links.filter((l) => masters.has(l.ifname))
      .filter((l) => l.operstate !== 'UP' || !l.addr_info.some((a) => a.family === 'inet6' && a.local.startsWith('fe80:')))
      .map((l) => `${ns}/${l.ifname} ${l.operstate}`)
  })
  let left = pending()
  for (let i = 0; i < 100 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100))
    left = pending()
  }
  assert.deepEqual(left, [], 'links settled')
}
