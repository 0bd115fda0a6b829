/**
 * podnet-cni's `bandwidth` capability (runtimeConfig.bandwidth, as the CNI bandwidth plugin):
 * ADD shapes, the result names the ifb, CHECK compares, DEL and GC leave no ifb and no qdisc.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { ifbNameForVeth } from '../../../src/bridge/index.js'
import { createPlugin, type CniFuncs } from '../../../src/cni/index.js'
import { createTopology, ipJson, iperfRate, iperfServer, stopIperfServers, tcJson, UPSTREAM, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniInProcess } from './helpers.js'

describe('kernel: podnet-cni bandwidth capability', function () {
  this.timeout(90000)
  let topo: Topology
  let funcs: CniFuncs
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    funcs = createPlugin({ hostNetns: topo.host.name })
  })
  afterEach(() => {
    stopIperfServers()
    topo?.close()
  })
  const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0', name: 'bwnet', type: 'podnet-cni', bridge: 'cni-bw0', ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.202.0.0/24', routes: [{ dst: '0.0.0.0/0' }] },
    podnet: { stateDir: join(topo.stateDir, 'cni') }, ...extra,
  })
  const call = (cmd: string, pod: TempNetns | undefined, id: string, extra: Record<string, unknown> = {}) =>
    cniInProcess(funcs, cniEnv(cmd, { id, netns: pod ? pod.ns.path : '', ifname: 'eth0' }), conf(extra))
  const ifbs = (): string[] => (ipJson(topo.host.name, 'link', 'show', 'type', 'ifb') as any[]).map((l) => l.ifname)
  const shaped = (): any[] => tcJson(topo.host.name, 'qdisc', 'show').filter((q: any) => q.kind === 'tbf' || q.kind === 'ingress')

  it('ADD shapes both directions, the result lists the ifb, CHECK passes, DEL leaves nothing', async () => {
    const pod = topo.pod()
    const bandwidth = { ingressRate: 30_000_000, ingressBurst: 1_000_000, egressRate: 12_000_000, egressBurst: 1_000_000 }
    const add = await call('ADD', pod, 'c1', { runtimeConfig: { bandwidth } })
    assert.equal(add.status, 0, add.stdout)
    const hostVeth = add.json.interfaces[1].name
    const ifb = ifbNameForVeth(hostVeth)
    assert.deepEqual(add.json.interfaces.map((i: any) => i.name), ['cni-bw0', hostVeth, 'eth0', ifb])
    assert.equal(add.json.interfaces[3].sandbox, undefined)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', hostVeth)[0]!.options!.rate, 30e6 / 8)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifb)[0]!.options!.rate, 12e6 / 8)
    assert.ok(Math.abs(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifb)[0]!.options!.burst! - 125000) <= 1) // 1e6 bits; tc rounds to microseconds
    const check = await call('CHECK', pod, 'c1', { runtimeConfig: { bandwidth }, prevResult: add.json })
    assert.equal(check.status, 0, check.stdout)
    // CHECK with other limits than ADD's fails, naming the bandwidth
    const other = await call('CHECK', pod, 'c1', { runtimeConfig: { bandwidth: { ...bandwidth, egressRate: 1e6 } }, prevResult: add.json })
    assert.equal(other.status, 1)
    assert.match(other.json.details, /bandwidth: configured/)
    await iperfServer(topo.upstream, 5301)
    const rate = iperfRate(pod, UPSTREAM.upstreamV4, { port: 5301 })
    assert.ok(Math.abs(rate - 12e6) <= 1.2e6, `egress ${(rate / 1e6).toFixed(2)} Mbit/s for a 12 Mbit/s limit`)
    const del = await call('DEL', pod, 'c1')
    assert.equal(del.status, 0, del.stdout)
    assert.deepEqual(ifbs(), [])
    assert.deepEqual(shaped(), [])
    // DEL again: nothing to do, still 0
    assert.equal((await call('DEL', pod, 'c1')).status, 0)
  })

  it('DEL after the pod namespace is gone still deletes the ifb; GC removes a stray one', async () => {
    const pod = topo.pod()
    const add = await call('ADD', pod, 'c2', { runtimeConfig: { bandwidth: { egressRate: 1e6, egressBurst: 1e6 } } })
    assert.equal(add.status, 0, add.stdout)
    pod.close()
    assert.equal((await call('DEL', undefined, 'c2')).status, 0)
    assert.deepEqual(ifbs(), [])
    // a killed ADD's ifb, then GC with nothing valid
    execFileSync('ip', ['-n', topo.host.name, 'link', 'add', 'pnifbaaaaaaaaaa', 'type', 'ifb'])
    const pod2 = topo.pod()
    assert.equal((await call('ADD', pod2, 'c3')).status, 0)
    const gc = await cniInProcess(funcs, cniEnv('GC', {}), conf({ 'cni.dev/valid-attachments': [{ containerID: 'c3', ifname: 'eth0' }] }))
    assert.equal(gc.status, 0, gc.stdout)
    assert.deepEqual(ifbs(), [])
  })

  it('refuses a rate without a burst with error 7 naming the field, and makes nothing', async () => {
    const pod = topo.pod()
    const r = await call('ADD', pod, 'c4', { runtimeConfig: { bandwidth: { ingressRate: 1e6 } } })
    assert.equal(r.status, 1)
    assert.equal(r.json.code, 7)
    assert.match(r.json.msg, /runtimeConfig\.bandwidth\.ingressBurst is missing/)
    assert.deepEqual(ifbs(), [])
    assert.deepEqual((ipJson(topo.host.name, 'link', 'show', 'type', 'veth') as any[]).filter((l) => l.ifname !== 'up0'), [])
  })
})
