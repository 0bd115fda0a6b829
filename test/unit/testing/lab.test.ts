/** The lab's plan (names, segments, addresses) and its routes, without a kernel. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { computeRoutes, type RouteGraph } from '../../../src/testing/lab-routes.js'
import { planLab, type LabSpec } from '../../../src/testing/lab.js'

const graphOf = (spec: LabSpec): RouteGraph => {
  const plan = planLab(spec)
  const segs = plan.segments.map((s) => ({
    name: s.name, subnet: s.subnet.text, family: s.subnet.family,
    ends: s.ends.map((e) => ({ node: e.node, ifname: e.ifname, address: `${s.subnet.text.split('.').slice(0, 3).join('.')}.${e.host}` })),
  }))
  return {
    routers: new Set([...plan.nodes].filter(([, o]) => o.router).map(([n]) => n)), segments: segs,
    ...(spec.internet !== undefined && { gateway: { router: spec.internet, via: '203.0.113.2', dev: segs.find((s) => s.name === 'internet')!.ends[0]!.ifname } }),
  }
}
const routes = (spec: LabSpec, node: string): string[] => computeRoutes(graphOf(spec), node).map((r) => `${r.dst} via ${r.via} dev ${r.dev}`)

describe('testing/lab: plan and routes', () => {
  it('numbers segments 10.0.K.0/24 and interfaces eth0.. in the order given', () => {
    const p = planLab({ nodes: ['a', 'r', 'b', 'c'], links: [['a', 'r'], ['r', 'b']], switches: { lan: { members: ['r', 'c'] } } })
    assert.deepEqual(p.segments.map((s) => [s.name, s.kind, s.subnet.text, s.ends.map((e) => `${e.node}.${e.ifname}=.${e.host}`).join(' ')]), [
      ['a-r', 'link', '10.0.1.0/24', 'a.eth0=.1 r.eth0=.2'],
      ['r-b', 'link', '10.0.2.0/24', 'r.eth1=.1 b.eth0=.2'],
      ['lan', 'switch', '10.0.3.0/24', 'r.eth2=.1 c.eth0=.2'],
    ])
  })

  it('a chain through a router: each side reaches the other subnet via the router, the default via the internet router', () => {
    const spec: LabSpec = { nodes: { client: {}, r1: { router: true }, server: {} }, links: [['client', 'r1'], ['r1', 'server']], internet: 'r1' }
    assert.deepEqual(routes(spec, 'client'), ['10.0.2.0/24 via 10.0.1.2 dev eth0', '203.0.113.0/24 via 10.0.1.2 dev eth0', 'default via 10.0.1.2 dev eth0'])
    assert.deepEqual(routes(spec, 'r1'), ['default via 203.0.113.2 dev eth2'])
    assert.deepEqual(routes(spec, 'server'), ['10.0.1.0/24 via 10.0.2.1 dev eth0', '203.0.113.0/24 via 10.0.2.1 dev eth0', 'default via 10.0.2.1 dev eth0'])
  })

  it('two routers in a row: the first hop is the nearest router; a plain node is never crossed', () => {
    const spec: LabSpec = { nodes: { a: {}, r1: { router: true }, r2: { router: true }, b: {}, x: {} }, links: [['a', 'r1'], ['r1', 'r2'], ['r2', 'b'], ['b', 'x']] }
    assert.deepEqual(routes(spec, 'a'), ['10.0.2.0/24 via 10.0.1.2 dev eth0', '10.0.3.0/24 via 10.0.1.2 dev eth0', '10.0.4.0/24 via 10.0.1.2 dev eth0'],
      'b-x (10.0.4.0/24) goes towards b (no router on it), which answers for its own address only')
    assert.deepEqual(routes(spec, 'x'), ['10.0.3.0/24 via 10.0.4.1 dev eth0'], "b does not forward: x reaches b's own address on r2-b and nothing beyond")
  })

  it('refuses bad input with the field, before anything is made', () => {
    const bad = (spec: LabSpec, field: string, re: RegExp): void => {
      assert.throws(() => planLab(spec), (e: unknown) => e instanceof InvalidArgumentError && e.field === field && re.test(e.message))
    }
    bad({ nodes: ['a', 'a'] }, 'nodes[1]', /given twice/)
    bad({ nodes: ['a b'] }, 'nodes[0]', /not a node name/)
    bad({ nodes: ['a'], links: [['a', 'z']] }, 'links[0].b', /no node 'z'/)
    bad({ nodes: ['a'], links: [['a', 'a']] }, 'links[0]', /to itself/)
    bad({ nodes: ['a', 'b', 'c'], links: [{ a: 'a', b: 'b', subnet: '10.1.0.0/16' }, { a: 'b', b: 'c', subnet: '10.1.2.0/24' }] }, 'links[1].subnet', /overlaps 10\.1\.0\.0\/16 of a-b/)
    bad({ nodes: ['a', 'b', 'c'], switches: { s: { members: ['a', 'b', 'c'], subnet: '10.9.9.0/31' } } }, 'switches.s.subnet', /room for/)
    bad({ nodes: ['internet'], internet: 'internet' }, 'nodes[0]', /internet/)
    bad({ nodes: ['a'], internet: 'b' }, 'internet', /no node 'b'/)
  })
})
