/**
 * createLab: a topology described in one call, checked against the kernel (ip -j, bridge -j,
 * nft -j) and with real packets: routing through a router, a switch, NAT to the internet, a plain
 * node that does not forward, faults on lab nodes, the picture, and bad input that makes nothing.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { InvalidArgumentError } from '../../../src/errors.js'
import {
  bridgeJson, createLab, ipJson, listen, nftRuleset, partition, probeAsync, reachable, useLab, type Lab,
} from '../../../src/testing/index.js'
import { assertWellFormedXml } from '../../support/xml.js'

const labNamespaces = (): string[] => readdirSync('/run/netns').filter((n) => n.startsWith('lab-'))

describe('kernel: podnet/testing createLab', function () {
  this.timeout(60_000)
  const lab = useLab({
    nodes: { client: {}, r1: { router: true }, server: {}, c2: {}, c3: {} },
    links: [['client', 'r1'], ['r1', 'server']],
    switches: { lan: { members: ['r1', 'c2', 'c3'] } },
    internet: 'r1',
  }, { scope: 'all' })

  it('makes every node, interface and address as planned (ip -j), the switch as a bridge with one port per member (bridge -j)', () => {
    const l = lab()
    for (const i of l.interfaces()) {
      const [link] = ipJson(l.node(i.node).name, 'addr', 'show', 'dev', i.ifname) as any[]
      assert.equal(link.operstate === 'UP' || link.operstate === 'UNKNOWN' || link.flags.includes('UP'), true, `${i.node} ${i.ifname} up`)
      assert.ok(link.addr_info.some((a: any) => `${a.local}/${a.prefixlen}` === i.cidr), `${i.node} ${i.ifname} has ${i.cidr}`)
    }
    assert.deepEqual(l.interfaces('r1').map((i) => `${i.ifname} ${i.cidr}`), ['eth0 10.0.1.2/24', 'eth1 10.0.2.1/24', 'eth2 10.0.3.1/24', 'eth3 203.0.113.1/24'])
    const swNs = labNamespaces().find((n) => n.startsWith('lab-sw-lan-'))!
    const ports = (bridgeJson(swNs, 'link', 'show') as any[]).filter((p) => p.master === 'br0').map((p) => p.ifname).sort()
    assert.deepEqual(ports, ['p0', 'p1', 'p2'])
  })

  it('installs the computed routes, and nothing else beyond the connected ones (ip -j route)', () => {
    const l = lab()
    for (const n of ['client', 'r1', 'server', 'c2', 'c3']) {
      const kernel = (ipJson(l.node(n).name, 'route', 'show') as any[]).filter((r) => r.gateway).map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`).sort()
      assert.deepEqual(kernel, l.routes(n).sort(), n)
    }
    assert.deepEqual(l.routes('client'), ['10.0.2.0/24 via 10.0.1.2 dev eth0', '10.0.3.0/24 via 10.0.1.2 dev eth0', '203.0.113.0/24 via 10.0.1.2 dev eth0', 'default via 10.0.1.2 dev eth0'])
  })

  it('carries TCP and UDP across the router with the sender\'s own address; the switch members reach each other and the others', async () => {
    const l = lab()
    for (const n of ['server', 'c3']) for (const proto of ['tcp', 'udp'] as const) await listen(l.node(n), proto, 7100)
    assert.equal(await probeAsync(l.node('client'), 'tcp', l.address('server'), 7100), l.address('client'))
    assert.equal(await probeAsync(l.node('client'), 'udp', l.address('server'), 7100), l.address('client'))
    assert.equal(await probeAsync(l.node('c2'), 'tcp', l.address('c3'), 7100), l.address('c2'))
    assert.equal(await probeAsync(l.node('c3'), 'tcp', l.address('server'), 7100), l.address('c3'))
  })

  it('masquerades to the internet (it sees the router\'s uplink address), which cannot reach inside (nft -j shows the rule)', async () => {
    const l = lab()
    await listen(l.node('internet'), 'tcp', 7200)
    assert.equal(await probeAsync(l.node('client'), 'tcp', l.internetHost!, 7200), l.address('r1', 'internet'))
    assert.equal(await probeAsync(l.node('c2'), 'tcp', l.internetHost!, 7200), '203.0.113.1')
    assert.equal(await reachable(l.node('internet'), 'tcp', l.address('server'), 7100, { timeoutMs: 300 }), false, 'the internet has no route into the lab')
    const masq = nftRuleset(l.node('r1').name).filter((o) => o.rule?.table === 'lab-nat')
    assert.equal(masq.length, 1)
    assert.ok(JSON.stringify(masq[0]!.rule!.expr).includes('"masquerade"'))
  })

  it('faults work on lab nodes: a partition between client and server, then heal()', async () => {
    const l = lab()
    const p = partition(l.node('client'), l.node('server'))
    assert.equal(await reachable(l.node('client'), 'tcp', l.address('server'), 7100, { timeoutMs: 300 }), false)
    p.heal()
    assert.equal(await reachable(l.node('client'), 'tcp', l.address('server'), 7100), true)
  })

  it('picture(): the text tree and the SVG name every node namespace and address', async () => {
    const l = lab()
    const text = await l.picture()
    for (const n of ['client', 'r1', 'server', 'c2', 'c3', 'internet']) assert.ok(text.includes(l.node(n).name), `${n} in the text`)
    for (const i of l.interfaces()) assert.ok(text.includes(i.cidr), `${i.cidr} in the text`)
    const svg = await l.picture({ format: 'svg' })
    assertWellFormedXml(svg)
    // Graphviz writes '-' as &#45;
    const svgText = svg.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)))
    for (const n of ['client', 'server', 'internet']) assert.ok(svgText.includes(l.node(n).name), `${n} in the SVG`)
    const graph = JSON.parse(await l.picture({ format: 'json' })) as { namespaces: Array<{ name: string }> }
    assert.equal(graph.namespaces.filter((n) => n.name.startsWith('lab-')).length, 7, 'six machines and the switch')
  })
})

describe('kernel: podnet/testing createLab, the edges', function () {
  this.timeout(60_000)

  it('a plain node does not forward: a reaches b\'s far address, not c behind it', async () => {
    const lab: Lab = createLab({ nodes: ['a', 'b', 'c'], links: [['a', 'b'], ['b', 'c']] })
    try {
      await listen(lab.node('b'), 'tcp', 7300)
      await listen(lab.node('c'), 'tcp', 7300)
      assert.equal(await probeAsync(lab.node('a'), 'tcp', lab.address('b', 'c'), 7300), lab.address('a'))
      assert.equal(await reachable(lab.node('a'), 'tcp', lab.address('c'), 7300, { timeoutMs: 300 }), false)
    } finally {
      lab.close()
    }
    assert.deepEqual(labNamespaces(), [], 'close() deletes every namespace')
  })

  it('bad input throws InvalidArgumentError naming the field and makes no namespace', () => {
    const before = labNamespaces()
    assert.throws(() => createLab({ nodes: ['a', 'b'], links: [['a', 'x']] }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'links[0].b')
    assert.throws(() => createLab({ nodes: ['a', 'b'], links: [{ a: 'a', b: 'b', subnet: '10.0.0.0/33' }] }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'links[0].subnet')
    assert.deepEqual(labNamespaces(), before)
  })

  it('a failure half-way (a link MTU the kernel refuses) closes what was made and rethrows', () => {
    const before = labNamespaces()
    assert.throws(() => createLab({ nodes: ['a', 'b'], links: [{ a: 'a', b: 'b', mtu: 10 }] }), /mtu|Invalid argument|EINVAL/i)
    assert.deepEqual(labNamespaces(), before)
  })
})
