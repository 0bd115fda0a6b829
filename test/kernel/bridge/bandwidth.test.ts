/**
 * Bandwidth limits on real traffic: iperf3 between a pod and the upstream namespace (through the
 * bridge and the host's masquerade), the measured rate within +/-10% of the limit in each
 * direction, unlimited pods unaffected, and every qdisc and ifb gone after detach (tc -j, ip -j).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { InvalidArgumentError } from '../../../src/errors.js'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { ifbNameForVeth } from '../../../src/bridge/index.js'
import { createTopology, ipJson, iperfRate, iperfServer, stopIperfServers, tcJson, UPSTREAM, type Topology } from '../../../src/testing/index.js'

const within = (measured: number, limit: number, tol = 0.1): void => {
  if (process.env.PODNET_TEST_VERBOSE) console.error(`    measured ${(measured / 1e6).toFixed(2)} Mbit/s for a limit of ${(limit / 1e6).toFixed(2)}`)
  assert.ok(Math.abs(measured - limit) <= tol * limit, `measured ${(measured / 1e6).toFixed(2)} Mbit/s, limit ${(limit / 1e6).toFixed(2)} Mbit/s (+/-${tol * 100}%)`)
}

describe('kernel: bandwidth limits (tbf + ifb over rtnetlink)', function () {
  this.timeout(120000)
  let topo: Topology
  let m: NetworkManager
  beforeEach(async function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
    await m.create({ name: 'bw', subnets: ['10.91.0.0/24'] })
  })
  afterEach(() => {
    stopIperfServers()
    topo?.close()
  })

  const host = (...args: string[]): any => tcJson(topo.host.name, ...args)
  const ifbs = (): string[] => (ipJson(topo.host.name, 'link', 'show', 'type', 'ifb') as any[]).map((l) => l.ifname)

  it('limits traffic into the pod (tbf on the host veth) and out of it (ifb), each within 10%', async () => {
    const pod = topo.pod()
    const ingress = 20e6
    const egress = 10e6
    const a = await m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: ingress }, egress: { rateBitsPerSec: egress } } })
    // the kernel objects, as tc sees them
    const [root] = host('qdisc', 'show', 'dev', a.hostVeth)
    assert.deepEqual([root.kind, root.handle, root.options.rate], ['tbf', '1:', ingress / 8])
    assert.deepEqual(host('qdisc', 'show', 'dev', a.hostVeth, 'ingress').map((q: any) => q.kind), ['ingress'])
    const ifb = ifbNameForVeth(a.hostVeth)
    assert.deepEqual(ifbs(), [ifb])
    const node = host('filter', 'show', 'dev', a.hostVeth, 'ingress').find((f: any) => f.options?.actions)
    assert.deepEqual([node.options.actions[0].kind, node.options.actions[0].to_dev], ['mirred', ifb])
    assert.equal(host('qdisc', 'show', 'dev', ifb)[0].options.rate, egress / 8)
    assert.deepEqual(await m.check(), [])
    // real traffic: pod -> upstream is the pod's egress, -R (upstream -> pod) its ingress
    await iperfServer(topo.upstream, 5201)
    within(iperfRate(pod, UPSTREAM.upstreamV4, { port: 5201 }), egress)
    await iperfServer(topo.upstream, 5202)
    within(iperfRate(pod, UPSTREAM.upstreamV4, { port: 5202, reverse: true }), ingress)
  })

  it('leaves an unlimited pod alone, and a limited one shaped, side by side', async () => {
    const free = topo.pod()
    const slow = topo.pod()
    const fa = await m.attach({ network: 'bw', netns: free.name })
    await m.attach({ network: 'bw', netns: slow.name, bandwidth: { egress: { rateBitsPerSec: 8e6 } } })
    assert.equal(host('qdisc', 'show', 'dev', fa.hostVeth)[0].kind, 'noqueue')
    assert.deepEqual(host('qdisc', 'show', 'dev', fa.hostVeth, 'ingress'), [])
    await iperfServer(topo.upstream, 5203)
    const freeRate = iperfRate(free, UPSTREAM.upstreamV4, { port: 5203, seconds: 3 })
    assert.ok(freeRate > 10 * 8e6, `the unlimited pod got ${(freeRate / 1e6).toFixed(1)} Mbit/s`)
    await iperfServer(topo.upstream, 5204)
    within(iperfRate(slow, UPSTREAM.upstreamV4, { port: 5204 }), 8e6)
  })

  it('changes and removes the limits of an attached pod in place (setBandwidth)', async () => {
    const pod = topo.pod()
    const a = await m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: 20e6 } } })
    assert.deepEqual(ifbs(), [], 'no ifb without an egress limit')
    await m.setBandwidth('bw', a.id, 'eth0', { ingress: { rateBitsPerSec: 40e6 }, egress: { rateBitsPerSec: 5e6, burstBits: 2e6 } })
    assert.equal(host('qdisc', 'show', 'dev', a.hostVeth)[0].options.rate, 5e6)
    const ifb = ifbNameForVeth(a.hostVeth)
    assert.equal(host('qdisc', 'show', 'dev', ifb)[0].options.rate, 625000)
    assert.ok(Math.abs(host('qdisc', 'show', 'dev', ifb)[0].options.burst - 250000) <= 1) // tc rounds the buffer time to microseconds
    assert.deepEqual(m.attachment('bw', a.id)?.bandwidth, { ingress: { rateBitsPerSec: 40e6 }, egress: { rateBitsPerSec: 5e6, burstBits: 2e6 } })
    // again with the same limits: nothing doubles
    await m.setBandwidth('bw', a.id, 'eth0', { ingress: { rateBitsPerSec: 40e6 }, egress: { rateBitsPerSec: 5e6, burstBits: 2e6 } })
    assert.equal(host('filter', 'show', 'dev', a.hostVeth, 'ingress').filter((f: any) => f.options?.actions).length, 1)
    await iperfServer(topo.upstream, 5205)
    within(iperfRate(pod, UPSTREAM.upstreamV4, { port: 5205 }), 5e6)
    // drop the egress limit only
    await m.setBandwidth('bw', a.id, 'eth0', { ingress: { rateBitsPerSec: 40e6 } })
    assert.deepEqual(ifbs(), [])
    assert.deepEqual(host('qdisc', 'show', 'dev', a.hostVeth, 'ingress'), [])
    assert.equal(host('qdisc', 'show', 'dev', a.hostVeth)[0].kind, 'tbf')
    // and all
    await m.setBandwidth('bw', a.id, 'eth0', undefined)
    assert.equal(host('qdisc', 'show', 'dev', a.hostVeth)[0].kind, 'noqueue')
    assert.equal(m.attachment('bw', a.id)?.bandwidth, undefined)
    assert.deepEqual(await m.check(), [])
  })

  it('detach leaves no qdisc and no ifb (with and without netnsGoing)', async () => {
    for (const netnsGoing of [false, true]) {
      const pod = topo.pod()
      const a = await m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: 1e6 }, egress: { rateBitsPerSec: 1e6 } } })
      assert.equal(ifbs().length, 1)
      await m.detach({ network: 'bw', id: a.id, netnsGoing })
      assert.deepEqual(ifbs(), [], `no ifb after detach (netnsGoing ${netnsGoing})`)
      pod.close()
      // with netnsGoing the veth dies with the pod's namespace, which the kernel tears down
      // asynchronously (its cleanup work queue): wait for the host end to go
      for (let i = 0; i < 100 && (ipJson(topo.host.name, 'link', 'show') as any[]).some((l) => l.ifname === a.hostVeth); i++) await new Promise((r) => setTimeout(r, 50))
      // no tbf, ingress qdisc or u32 filter anywhere in the host namespace
      const qs = host('qdisc', 'show').filter((q: any) => ['tbf', 'ingress', 'htb'].includes(q.kind))
      assert.deepEqual(qs, [])
    }
  })

  it('gc deletes an ifb whose attach was killed (no record) and keeps a live one', async () => {
    const pod = topo.pod()
    const a = await m.attach({ network: 'bw', netns: pod.name, bandwidth: { egress: { rateBitsPerSec: 1e6 } } })
    // what a kill -9 between "ifb created" and "record written" leaves: an ifb with podnet's name and no owner
    execFileSync('ip', ['-n', topo.host.name, 'link', 'add', 'pnifb0123456789', 'type', 'ifb'])
    const r = await m.gc()
    assert.deepEqual(r.removedIfbs, ['pnifb0123456789'])
    assert.deepEqual(ifbs(), [ifbNameForVeth(a.hostVeth)])
    // the pod's namespace goes without a detach: gc takes the attachment, its veth and its ifb
    pod.close()
    const r2 = await m.gc()
    assert.deepEqual(r2.removedIfbs, [ifbNameForVeth(a.hostVeth)])
    assert.deepEqual(ifbs(), [])
  })

  it('check reports a limit removed behind podnet\'s back', async () => {
    const pod = topo.pod()
    const a = await m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: 2e6 } } })
    execFileSync('tc', ['-n', topo.host.name, 'qdisc', 'del', 'dev', a.hostVeth, 'root'])
    const drift = await m.check()
    assert.equal(drift.length, 1)
    assert.match(drift[0]!.problem, /ingress limit 2000000 bit\/s missing/)
  })

  it('refuses bad limits with the field named and creates nothing', async () => {
    const pod = topo.pod()
    const before = (ipJson(topo.host.name, 'link', 'show') as any[]).length
    await assert.rejects(m.attach({ network: 'bw', netns: pod.name, bandwidth: { egress: { rateBitsPerSec: 500 } } }), (e: unknown) => e instanceof InvalidArgumentError && /egress rate.*unreasonably small/.test((e as Error).message))
    await assert.rejects(m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: 1e6, burstBits: 8000 } } }), /smaller than one packet/)
    await assert.rejects(m.attach({ network: 'bw', netns: pod.name, bandwidth: { ingress: { rateBitsPerSec: 2e15 } } }), /unreasonably large/)
    assert.equal((ipJson(topo.host.name, 'link', 'show') as any[]).length, before)
    assert.deepEqual(m.attachments('bw'), [])
  })
})
