/**
 * A pod's network limits from its annotations: kubernetes.io/ingress-bandwidth and
 * egress-bandwidth shape the pod (iperf3 from the pod's network namespace to upstream, within
 * 10%), podnet.io/network-priority marks it, `update` changes both on the running pod, and pod
 * rm leaves no qdisc, ifb or mark.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { InvalidArgumentError } from '../../../src/errors.js'
import { ifbNameForVeth, type NetworkManager } from '../../../src/bridge/index.js'
import { Netns } from '../../../src/netns/index.js'
import { PodRuntime, validateManifest, type PodSpec } from '../../../src/runtime/index.js'
import { createTopology, ipJson, iperfRate, iperfServer, nftRuleset, stopIperfServers, tcJson, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { buildRootfs, removeCgroupTree } from './support.js'

describe('kernel: pod network limits (annotations)', function () {
  this.timeout(120_000)
  let topo: Topology
  let m: NetworkManager
  let rt: PodRuntime
  let rootfs: string
  const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    rootfs = buildRootfs()
  })
  after(() => {
    removeCgroupTree(cgroupParent)
    if (rootfs) rmSync(rootfs, { recursive: true, force: true })
  })
  beforeEach(async () => {
    topo = createTopology()
    m = topo.manager()
    await m.create({ name: 'pods', subnets: ['10.78.0.0/24'] })
    rt = new PodRuntime({ stateDir: topo.stateDir, runDir: topo.runDir, cgroupParent, backoff: { baseMs: 100 } })
  })
  afterEach(async () => {
    stopIperfServers()
    for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
    rt.close()
    topo.close()
  })

  const spec = (name: string, annotations: Record<string, string>): PodSpec => validateManifest({
    metadata: { name, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': 'pods', ...annotations } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', command: ['sleep', '3600'] }] },
  }).spec
  const ifbs = (): string[] => (ipJson(topo.host.name, 'link', 'show', 'type', 'ifb') as any[]).map((l) => l.ifname)
  const within = (got: number, limit: number): void => assert.ok(Math.abs(got - limit) <= 0.1 * limit, `${(got / 1e6).toFixed(2)} Mbit/s for a limit of ${limit / 1e6}`)

  it('shapes a pod by its annotations, changes the limits in place, and leaves nothing at pod rm', async () => {
    const rec = await rt.run(spec('shaped', {
      'kubernetes.io/ingress-bandwidth': '20M', 'kubernetes.io/egress-bandwidth': '10M', 'podnet.io/network-priority': 'high',
    }), { hostNetns: topo.host.name })
    assert.deepEqual(rec.spec.bandwidth, { ingress: { rateBitsPerSec: 20e6 }, egress: { rateBitsPerSec: 10e6 } })
    assert.equal(rec.spec.networkPriority, 6)
    const a = m.attachment('pods', 'shaped')!
    assert.deepEqual(a.bandwidth, rec.spec.bandwidth)
    assert.equal(a.priority, 6)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', a.hostVeth)[0]!.options!.rate, 20e6 / 8)
    assert.deepEqual(ifbs(), [ifbNameForVeth(a.hostVeth)])
    const podNs = Netns.openPath(rec.sandbox.pins!.net)
    try {
      await iperfServer(topo.upstream, 5501)
      within(iperfRate(podNs, UPSTREAM.upstreamV4, { port: 5501 }), 10e6 * 1448 / 1514)
      await iperfServer(topo.upstream, 5502)
      within(iperfRate(podNs, UPSTREAM.upstreamV4, { port: 5502, reverse: true }), 20e6 * 1448 / 1514)
      // re-applied: egress 5M, no ingress limit, normal priority
      const up = await rt.update('shaped', { 'kubernetes.io/egress-bandwidth': '5M', 'kubernetes.io/ingress-bandwidth': null, 'podnet.io/network-priority': 'normal' })
      assert.deepEqual(up.spec.bandwidth, { egress: { rateBitsPerSec: 5e6 } })
      assert.equal(up.spec.networkPriority, 4)
      assert.equal(up.spec.annotations['kubernetes.io/ingress-bandwidth'], undefined)
      assert.deepEqual(rt.store.read('shaped')?.spec.bandwidth, { egress: { rateBitsPerSec: 5e6 } }, 'recorded')
      assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', a.hostVeth)[0]!.kind, 'noqueue')
      assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifbNameForVeth(a.hostVeth))[0]!.options!.rate, 5e6 / 8)
      assert.equal(m.attachment('pods', 'shaped')?.priority, undefined)
      await iperfServer(topo.upstream, 5503)
      within(iperfRate(podNs, UPSTREAM.upstreamV4, { port: 5503 }), 5e6 * 1448 / 1514)
    } finally {
      podNs.close()
    }
    // a change that is not a limit is refused, naming the annotation; nothing changes
    await assert.rejects(rt.update('shaped', { 'podnet.io/network': 'other' }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'metadata.annotations[podnet.io/network]')
    await assert.rejects(rt.update('shaped', { 'kubernetes.io/egress-bandwidth': '5X' }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'metadata.annotations[kubernetes.io/egress-bandwidth]')
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifbNameForVeth(a.hostVeth))[0]!.options!.rate, 5e6 / 8)
    await rt.remove('shaped', { gracePeriodSeconds: 0 })
    assert.deepEqual(ifbs(), [])
    assert.deepEqual(tcJson(topo.host.name, 'qdisc', 'show').filter((q: any) => q.kind === 'tbf' || q.kind === 'ingress'), [])
    const prio4 = nftRuleset(topo.host.name).find((o) => o.map?.name === 'prio4')?.map
    assert.equal(prio4?.elem, undefined)
  })

  it('a pod without limits gets no qdisc and no ifb', async () => {
    const rec = await rt.run(spec('free', {}), { hostNetns: topo.host.name })
    assert.equal(rec.spec.bandwidth, undefined)
    const a = m.attachment('pods', 'free')!
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', a.hostVeth)[0]!.kind, 'noqueue')
    assert.deepEqual(ifbs(), [])
  })
})
