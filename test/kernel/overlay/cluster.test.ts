/**
 * The overlay across real namespaces, with real etcd members and real packets: three nodes
 * (plus a fourth that joins later) on one underlay switch, a pod on each.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import { createOverlayNetwork, listNodes } from '../../../src/overlay/admin.js'
import { OverlayAgent } from '../../../src/overlay/agent.js'
import { subnetsPrefix } from '../../../src/overlay/model.js'
import { CLUSTER_NET, bridgeJson, ipJson, useCluster, type Cluster, type ClusterPod } from '../../../src/testing/index.js'
import { probeAsync, serve, stopServers } from '../../../src/testing/index.js'
import { overlayRoutes, runAsync, waitFor } from '../../support/overlay.js'

const subnetOf = (c: Cluster, i: number, net = 'ov'): string | undefined => c.node(i).agent?.status().networks.find((n) => n.name === net)?.subnet

describe('kernel: overlay: three nodes, a VXLAN overlay from etcd', function () {
  this.timeout(60000)
  const cl = useCluster({ nodes: 4, etcdMembers: 3, agents: false, leaseTtl: 3 })
  const pods: ClusterPod[] = []
  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    const c = cl()
    for (const i of [1, 2, 3]) await c.startAgent(i)
    // the network appears after the agents: they pick it up from the watch
    const r = await createOverlayNetwork(c.node(1).store(), { name: 'ov', subnet: '10.244.0.0/16' })
    assert.equal(r.created, true)
    await waitFor('every agent to hold a subnet and know both peers', () => [1, 2, 3].every((i) => c.node(i).agent!.status().networks[0]?.peers.length === 2))
    for (const i of [1, 2, 3]) pods.push(await c.pod(i, 'ov'))
  })
  after(() => stopServers())

  it('leases one node subnet per node and programs VXLAN device, FDB, neighbours and onlink routes', async () => {
    const c = cl()
    const subnets = [1, 2, 3].map((i) => subnetOf(c, i)!)
    assert.equal(new Set(subnets).size, 3)
    for (const s of subnets) assert.match(s, /^10\.244\.\d+\.0\/24$/)
    for (const i of [1, 2, 3]) {
      const ns = c.node(i).ns.name
      const [vx] = ipJson(ns, 'link', 'show', 'pnvx-ov')
      assert.equal(vx!.linkinfo!.info_kind, 'vxlan')
      assert.equal(vx!.linkinfo!.info_data!.id, 1)
      assert.equal(vx!.linkinfo!.info_data!.port, 4789)
      assert.equal(vx!.linkinfo!.info_data!.learning, false)
      assert.equal(vx!.linkinfo!.info_data!.local, c.node(i).address)
      assert.equal(vx!.mtu, 1450, 'underlay 1500 - 50')
      const [br] = ipJson(ns, 'link', 'show', 'pn-ov')
      assert.equal(br!.mtu, 1450)
      const others = [1, 2, 3].filter((j) => j !== i)
      const gw = (j: number): string => subnetOf(c, j)!.replace(/0\/24$/, '1')
      assert.deepEqual(overlayRoutes(c, i), others.map((j) => `${subnetOf(c, j)} via ${gw(j)} dev pnvx-ov onlink`).sort())
      const fdb = bridgeJson(ns, 'fdb', 'show', 'dev', 'pnvx-ov').filter((e: any) => e.dst).map((e: any) => `${e.mac} ${e.dst} ${e.state}`).sort()
      const macs = others.map((j) => c.node(j).agent!.status().networks[0]!.vtepMac!)
      assert.deepEqual(fdb, others.map((j, k) => `${macs[k]} ${c.node(j).address} permanent`).sort())
      const neigh = (ipJson(ns, 'neigh', 'show', 'dev', 'pnvx-ov') as any[]).map((n) => `${n.dst} ${n.lladdr} ${n.state.join(',')}`).sort()
      assert.deepEqual(neigh, others.map((j, k) => `${gw(j)} ${macs[k]} PERMANENT`).sort())
      // podnet reads back the same
      const ours = c.node(i).agent!.status().networks[0]!.peers.map((p) => p.subnet).sort()
      assert.deepEqual(ours, others.map((j) => subnetOf(c, j)!).sort())
    }
    const nodes = await listNodes(c.node(1).store())
    assert.deepEqual(nodes.filter((n) => n.subnets.length).map((n) => n.node), ['node-1', 'node-2', 'node-3'])
    // etcd reports the whole seconds left: 0 is a live lease whose keep-alive is due (late on a loaded machine)
    for (const n of nodes.filter((x) => x.subnets.length)) assert.ok(n.ttl >= 0 && n.ttl <= 3, `${n.node} ttl ${n.ttl}`)
  })

  it('carries TCP and UDP pod to pod across every pair with the pods\' own source addresses', async () => {
    for (const p of pods) {
      await serve(p.ns, 'tcp', 7001)
      await serve(p.ns, 'udp', 7002)
    }
    for (const a of pods) {
      for (const b of pods) {
        if (a === b) continue
        assert.equal(await probeAsync(a.ns, 'tcp', b.ip, 7001, { timeoutMs: 5000 }), a.ip, `tcp ${a.node.name} -> ${b.node.name}`)
        assert.equal(await probeAsync(a.ns, 'udp', b.ip, 7002, { timeoutMs: 5000 }), a.ip, `udp ${a.node.name} -> ${b.node.name}`)
      }
    }
  })

  it('masquerades only traffic leaving the cluster: a pod reaches the internet as its node', async () => {
    const c = cl()
    await serve(c.internet.ns, 'tcp', 7003)
    for (const p of pods) assert.equal(await probeAsync(p.ns, 'tcp', CLUSTER_NET.internetHost, 7003, { timeoutMs: 5000 }), p.node.address)
  })

  it('publishes a port on node 2 reachable from the underlay', async () => {
    const c = cl()
    const pub = await c.pod(2, 'ov', 'published')
    // attach again with a port mapping (the fixture's pod() has none): detach and re-attach
    const m = c.node(2).manager()
    await m.detach({ network: 'ov', id: 'published' })
    const a = await m.attach({ network: 'ov', netns: pub.ns.name, id: 'published', portMappings: [{ hostPort: 8080, containerPort: 7004, protocol: 'tcp' }] })
    await serve(pub.ns, 'tcp', 7004)
    assert.equal(await probeAsync(c.internet.ns, 'tcp', c.node(2).address, 8080, { timeoutMs: 5000 }), CLUSTER_NET.gateway)
    assert.ok(a.addresses[0]!.address.startsWith(subnetOf(c, 2)!.replace(/0\/24$/, '')))
  })

  it('passes a 1,400-byte DF ping and a 20 MB TCP transfer across nodes (MTU right, no blackhole)', async () => {
    const [a, , b] = pods as [ClusterPod, ClusterPod, ClusterPod]
    const ping = await runAsync('ip', ['netns', 'exec', a.ns.name, 'ping', '-c', '2', '-W', '2', '-M', 'do', '-s', String(1400 - 28), b.ip])
    assert.equal(ping.status, 0, ping.stdout + ping.stderr)
    // one byte more than the overlay MTU must be refused locally, not blackholed
    const big = await runAsync('ip', ['netns', 'exec', a.ns.name, 'ping', '-c', '1', '-W', '1', '-M', 'do', '-s', String(1451 - 28), b.ip])
    assert.notEqual(big.status, 0)
    const server = spawn('ip', ['netns', 'exec', b.ns.name, 'socat', '-u', 'TCP-LISTEN:7005,reuseaddr', 'SYSTEM:wc -c'], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      let out = ''
      server.stdout.on('data', (d) => { out += d })
      const done = new Promise<void>((r) => server.once('exit', () => r()))
      // the listener is up when ss shows it (a fixed sleep was too short on a slow machine)
      await waitFor('the socat listener on 7005', async () => (await runAsync('ip', ['netns', 'exec', b.ns.name, 'ss', '-Hltn', 'sport = :7005'])).stdout.includes(':7005'))
      const t0 = Date.now()
      const sent = await runAsync('ip', ['netns', 'exec', a.ns.name, 'bash', '-c', `head -c 20000000 /dev/zero | timeout 20 socat -u - TCP:${b.ip}:7005`])
      if (sent.status !== 0) {
        // say where it stalled: the overlay's MTUs and the socket's view of the path
        const mtus = [a, b].map((p) => `${p.node.name}: ${ipJson(p.node.ns.name, 'link', 'show').map((l: any) => `${l.ifname} ${l.mtu}`).join(', ')}`)
        const leases = [1, 2, 3].map((i) => `${cl().node(i).name} ${cl().node(i).agent?.status().connected ? 'connected' : 'not connected'} (${cl().node(i).log.slice(-3).join(' | ')})`)
        assert.fail(`socat exited ${sent.status}${sent.signal ? ` (${sent.signal})` : ''} after ${Date.now() - t0} ms: ${sent.stderr.trim()}; received ${out.trim() || 'nothing yet'}; ${mtus.join('; ')}; agents: ${leases.join('; ')}`)
      }
      await done
      assert.equal(out.trim(), '20000000')
    } finally {
      server.kill('SIGKILL')
    }
  })

  it('a node that joins later becomes reachable from all; SIGTERM-style leave removes it everywhere', async () => {
    const c = cl()
    await c.startAgent(4)
    const s4 = subnetOf(c, 4)!
    await waitFor('node 4 on every node', () => [1, 2, 3].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s4))))
    const p4 = await c.pod(4, 'ov', 'p4')
    await serve(p4.ns, 'tcp', 7006)
    for (const p of pods) assert.equal(await probeAsync(p.ns, 'tcp', p4.ip, 7006, { timeoutMs: 5000 }), p.ip)
    await c.stopAgent(4) // releases the lease
    const ms = await waitFor('node 4 gone from every node', () => [1, 2, 3].every((i) => !overlayRoutes(c, i).some((r) => r.startsWith(s4))), 3000)
    assert.ok(ms < 2000, `removal took ${ms} ms`)
    assert.deepEqual(ipJson(c.node(4).ns.name, 'link', 'show').filter((l: any) => l.ifname === 'pnvx-ov'), [])
  })

  it('a crashed node is removed within TTL + 2 s; restarted, it gets its subnet back and traffic resumes', async () => {
    const c = cl()
    await c.startAgent(4)
    const s4 = subnetOf(c, 4)!
    await waitFor('node 4 on every node', () => [1, 2, 3].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s4))))
    const p4 = pods.length > 3 ? pods[3]! : await c.pod(4, 'ov', 'p4b')
    await c.stopNode(4, { crash: true }) // no release: the lease has to expire
    const ms = await waitFor('the crashed node gone everywhere', () => [1, 2, 3].every((i) => !overlayRoutes(c, i).some((r) => r.startsWith(s4))), 3000 + 2500)
    assert.ok(ms <= 5000, `took ${ms} ms`)
    await c.startAgent(4)
    assert.equal(subnetOf(c, 4), s4, 'the same subnet after a restart')
    await waitFor('node 4 back everywhere', () => [1, 2, 3].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s4))))
    await serve(p4.ns, 'tcp', 7007)
    assert.equal(await probeAsync(pods[0]!.ns, 'tcp', p4.ip, 7007, { timeoutMs: 5000 }), pods[0]!.ip)
    await c.stopAgent(4)
  })

  it('with one of three etcd members down, joins and leaves still work', async () => {
    const c = cl()
    await c.node(3).etcd!.stop()
    try {
      await c.startAgent(4)
      const s4 = subnetOf(c, 4)!
      await waitFor('node 4 on every node', () => [1, 2, 3].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s4))))
      await c.stopAgent(4)
      await waitFor('node 4 gone', () => [1, 2, 3].every((i) => !overlayRoutes(c, i).some((r) => r.startsWith(s4))))
    } finally {
      c.node(3).etcd!.launch()
      await c.node(3).etcd!.waitHealthy()
    }
  })

  it('with every etcd member down, running traffic keeps flowing; changes resume when they return', async () => {
    const c = cl()
    const before = [1, 2, 3].map((i) => overlayRoutes(c, i))
    await Promise.all([1, 2, 3].map((i) => c.node(i).etcd!.stop()))
    try {
      await waitFor('the agents to notice', () => [1, 2, 3].every((i) => !c.node(i).agent!.status().connected), 10000)
      assert.deepEqual([1, 2, 3].map((i) => overlayRoutes(c, i)), before)
      assert.equal(await probeAsync(pods[0]!.ns, 'tcp', pods[2]!.ip, 7001, { timeoutMs: 5000 }), pods[0]!.ip)
    } finally {
      // the members come back even when an assertion failed: the tests after this one need them
      for (const i of [1, 2, 3]) c.node(i).etcd!.launch()
      await Promise.all([1, 2, 3].map((i) => c.node(i).etcd!.waitHealthy(20000)))
    }
    await waitFor('the agents to reconnect', () => [1, 2, 3].every((i) => c.node(i).agent!.status().connected), 15000)
    assert.deepEqual([1, 2, 3].map((i) => overlayRoutes(c, i)), before)
    await c.startAgent(4)
    const s4 = subnetOf(c, 4)!
    await waitFor('node 4 on every node', () => [1, 2, 3].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s4))))
    await c.stopAgent(4)
  })

  it('an agent partitioned from etcd past its TTL loses its lease and claims it again without disturbing the others', async () => {
    const c = cl()
    const s3 = subnetOf(c, 3)!
    const r12 = [1, 2].map((i) => overlayRoutes(c, i).filter((r) => !r.startsWith(s3)))
    c.partition(3)
    try {
      // TTL (3 s) + 4 s, or more when node 3's etcd member was the leader: the members left elect a
      // new one (about a second) and it renews every lease by the TTL plus its election timeout
      // (etcd's lessor.Promote), so node 3's lease can live up to ~5 s past the partition; on a
      // loaded 2-CPU machine the election itself can take several rounds (a full CI run beside two
      // other builds once needed more than TTL + 9 s), hence TTL + 15 s
      await waitFor('node 3 gone from nodes 1 and 2', () => [1, 2].every((i) => !overlayRoutes(c, i).some((r) => r.startsWith(s3))), 3000 + 15000)
      assert.deepEqual([1, 2].map((i) => overlayRoutes(c, i).filter((r) => !r.startsWith(s3))), r12)
    } finally {
      c.heal()
    }
    await waitFor('node 3 back on nodes 1 and 2', () => [1, 2].every((i) => overlayRoutes(c, i).some((r) => r.startsWith(s3))), 15000)
    assert.equal(subnetOf(c, 3), s3)
    assert.equal(await probeAsync(pods[0]!.ns, 'tcp', pods[2]!.ip, 7001, { timeoutMs: 5000 }), pods[0]!.ip)
  })

  it('refuses a node name held by a live agent, a different config, an overlapping subnet', async () => {
    const c = cl()
    const other = new OverlayAgent({ store: c.node(4).store(), name: 'node-1', underlay: c.node(4).address, hostNetns: c.node(4).ns.name, stateDir: `${c.node(4).stateDir}/other`, runDir: `${c.node(4).runDir}/other`, leaseTtl: 3 })
    await assert.rejects(other.start(), (err: Error) => err instanceof ConflictError && /node name 'node-1' is held by a live agent/.test(err.message))
    const s = c.node(1).store()
    assert.equal((await createOverlayNetwork(s, { name: 'ov', subnet: '10.244.0.0/16' })).created, false)
    await assert.rejects(createOverlayNetwork(s, { name: 'ov', subnet: '10.244.0.0/16', vni: 2 }), (err: Error) => err instanceof ConflictError && /different config/.test(err.message))
    await assert.rejects(createOverlayNetwork(s, { name: 'ov2', subnet: '10.244.128.0/17' }), (err: Error) => err instanceof InvalidArgumentError && /overlaps 10\.244\.0\.0\/16/.test(err.message))
  })

  it('skips a malformed record written by hand with a warning, and keeps working', async () => {
    const c = cl()
    const s = c.node(1).store()
    const mark = c.node(2).log.length
    await s.put(`${subnetsPrefix('ov')}10.244.99.0-24`, '{"node": "evil", "subnet": "10.244.99.0/24"')
    await s.put(`${subnetsPrefix('ov')}10.244.98.0-24`, JSON.stringify({ node: 'x', subnet: '10.244.98.0/24', gateway: '10.244.98.1', underlay: 'nope', vtepMac: '02:00:00:00:00:01' }))
    await waitFor('warnings', () => c.node(2).log.slice(mark).filter((l) => /skipping .*10\.244\.9[89]\.0-24/.test(l)).length >= 2)
    await s.delete(`${subnetsPrefix('ov')}10.244.99.0-24`)
    await s.delete(`${subnetsPrefix('ov')}10.244.98.0-24`)
    for (const i of [1, 2, 3]) assert.ok(c.node(i).agent!.status().connected)
    assert.equal(await probeAsync(pods[1]!.ns, 'udp', pods[0]!.ip, 7002, { timeoutMs: 5000 }), pods[1]!.ip)
  })

  it('reports an exhausted subnet pool; attach on that node fails with a clear error', async () => {
    const c = cl()
    await assert.rejects(createOverlayNetwork(c.node(1).store(), { name: 'tiny', subnet: '10.250.0.0/23', nodePrefix: 24 }), /vni: 1 is the VNI of overlay network 'ov'/)
    await createOverlayNetwork(c.node(1).store(), { name: 'tiny', subnet: '10.250.0.0/23', nodePrefix: 24, vni: 2 })
    await waitFor('two nodes with a tiny subnet and one without', () => {
      const st = [1, 2, 3].map((i) => c.node(i).agent!.status().networks.find((n) => n.name === 'tiny'))
      return st.filter((n) => n?.subnet).length === 2 && st.filter((n) => n?.error).length === 1
    })
    const loser = [1, 2, 3].find((i) => c.node(i).agent!.status().networks.find((n) => n.name === 'tiny')?.error)!
    assert.match(c.node(loser).agent!.status().networks.find((n) => n.name === 'tiny')!.error!, /subnet pool of overlay network 'tiny' is exhausted/)
    const p = await c.pod(loser, 'ov', 'for-tiny')
    await assert.rejects(c.node(loser).manager().attach({ network: 'tiny', netns: p.ns.name, id: 'tiny-pod' }),
      (err: Error) => err instanceof NotFoundError && /no node subnet here/.test(err.message))
  })
})
