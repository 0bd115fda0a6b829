/**
 * The node agent as a process going away and coming back while pods run on its node:
 * `podnet node run --keep` stopped with SIGTERM (an upgrade in place: lease, devices and routes
 * stay, the next agent adopts them and no peer ever drops the node) and kill -9 (pods keep
 * their connectivity while the agent is dead; its restart keeps their subnet, bridge and
 * addresses; after the TTL the peers drop the node and take it back on restart).
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOverlayNetwork, listNodes } from '../../../src/overlay/admin.js'
import { nodeKey } from '../../../src/overlay/model.js'
import { bridgeJson, ipJson, useCluster, type Cluster, type ClusterPod } from '../../../src/testing/index.js'
import { probe, serve, stopServers } from '../../../src/testing/index.js'
import { overlayRoutes, waitFor } from '../../support/overlay.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

/** What node i's kernel has for the overlay: device and bridge (with their ifindex: recreated ones differ), routes, FDB, neighbours. */
function dataPlane(c: Cluster, i: number): Record<string, unknown> {
  const ns = c.node(i).ns.name
  const link = (name: string): string => {
    const l = ipJson(ns, 'link', 'show', name)[0]!
    return `${l.ifname} #${l.ifindex} mtu ${l.mtu} ${l.address}`
  }
  return {
    vxlan: link('pnvx-ov'), bridge: link('pn-ov'), routes: overlayRoutes(c, i),
    fdb: bridgeJson(ns, 'fdb', 'show', 'dev', 'pnvx-ov').filter((e: any) => e.dst).map((e: any) => `${e.mac} ${e.dst}`).sort(),
    neigh: (ipJson(ns, 'neigh', 'show', 'dev', 'pnvx-ov') as any[]).map((n) => `${n.dst} ${n.lladdr}`).sort(),
  }
}

describe('kernel: overlay: agent restarts with pods running (--keep, kill -9)', function () {
  this.timeout(90000)
  const cl = useCluster({ nodes: 2, etcdMembers: 1, agents: false, agentMode: 'process', leaseTtl: 4 })
  const pods: ClusterPod[] = []
  let own: ChildProcess | undefined
  const subnetOf = async (c: Cluster, node: string): Promise<string> => (await listNodes(c.node(1).store())).find((n) => n.node === node)!.subnets[0]!.subnet
  const traffic = (): void => {
    assert.equal(probe(pods[0]!.ns, 'tcp', pods[1]!.ip, 7301), pods[0]!.ip, 'node 1 pod -> node 2 pod')
    assert.equal(probe(pods[1]!.ns, 'tcp', pods[0]!.ip, 7301), pods[1]!.ip, 'node 2 pod -> node 1 pod')
  }

  /** `podnet node run --keep` on node 2 (a long TTL: the restart below has to happen within it). */
  async function startKeepAgent(c: Cluster): Promise<ChildProcess> {
    const nd = c.node(2)
    const logPath = join(nd.stateDir, 'keep-agent.log')
    const mark = (() => { try { return readFileSync(logPath, 'utf8').length } catch { return 0 } })()
    const fd = openSync(logPath, 'a')
    let p: ChildProcess
    try {
      p = nd.ns.ns.spawn(process.execPath, [bin, 'node', 'run', '--keep', '--store', c.storeUrl, '--name', nd.name, '--underlay', nd.address,
        '--state-dir', nd.stateDir, '--run-dir', nd.runDir, '--lease-ttl', '20'], { stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd)
    }
    own = p
    await waitFor('the --keep agent to be ready', () => {
      if (p.exitCode !== null) throw new Error(`agent exited: ${readFileSync(logPath, 'utf8').slice(mark)}`)
      return readFileSync(logPath, 'utf8').slice(mark).includes(`node ${nd.name} ready`)
    }, 20000)
    return p
  }
  const sigterm = async (p: ChildProcess): Promise<number | null> => {
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)))
    p.kill('SIGTERM')
    return exited
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    const c = cl()
    await createOverlayNetwork(c.node(1).store(), { name: 'ov', subnet: '10.244.0.0/16' })
    await c.startAgent(1)
    await startKeepAgent(c)
    await waitFor('both nodes programmed', () => overlayRoutes(c, 1).length === 1 && overlayRoutes(c, 2).length === 1)
    for (const i of [1, 2]) pods.push(await c.pod(i, 'ov'))
    for (const p of pods) await serve(p.ns, 'tcp', 7301)
    traffic()
  })
  after(async () => {
    stopServers()
    if (own && own.exitCode === null && own.signalCode === null) {
      const exited = new Promise((r) => own!.once('exit', r))
      own.kill('SIGKILL')
      await exited
    }
  })

  it('SIGTERM of `node run --keep` leaves lease, devices and routes; the restarted agent adopts them and no peer ever drops the node', async () => {
    const c = cl()
    const store = c.node(1).store()
    const before = [dataPlane(c, 1), dataPlane(c, 2)]
    const rec = await store.get(nodeKey('node-2'))
    assert.ok(rec, 'node-2 is in the store')
    const s2 = await subnetOf(c, 'node-2')
    // sample node 1's route to node 2 all along: it must never go
    let gone = 0
    const sampler = setInterval(() => { if (!overlayRoutes(c, 1).some((r) => r.startsWith(s2))) gone++ }, 50)
    try {
      assert.equal(await sigterm(own!), 0)
      // everything stays: kernel objects (same ifindex: not recreated), the lease and the node's keys
      assert.deepEqual([dataPlane(c, 1), dataPlane(c, 2)], before)
      const after = await store.get(nodeKey('node-2'))
      assert.equal(after?.lease, rec.lease, 'the lease was not revoked')
      assert.ok((await store.timeToLive(rec.lease)) > 0)
      traffic()
      await startKeepAgent(c)
      // adopted: the same lease, the same subnet, nothing recreated
      const again = await store.get(nodeKey('node-2'))
      assert.equal(again?.lease, rec.lease, 'the restarted agent adopted the lease')
      assert.equal(await subnetOf(c, 'node-2'), s2)
      assert.deepEqual([dataPlane(c, 1), dataPlane(c, 2)], before)
      traffic()
    } finally {
      clearInterval(sampler)
    }
    assert.equal(gone, 0, 'node 1 never dropped its route to node 2')
    // done with the --keep agent: killed, its 20 s lease revoked by hand (the next test wants the fixture's 4 s TTL)
    own!.kill('SIGKILL')
    await new Promise((r) => own!.once('exit', r))
    await store.revoke(rec.lease)
  })

  it('kill -9 of the agent: pods keep their connectivity; a restart keeps subnet, bridge and addresses; after the TTL the peers drop the node and take it back', async () => {
    const c = cl()
    // the --keep agent of the test before is gone and so is its lease: the fixture's agent claims the persisted subnet
    await c.startAgent(2)
    const s2 = await subnetOf(c, 'node-2')
    const before = dataPlane(c, 2)
    const attach = c.node(2).manager().attachments('ov').map((a) => `${a.id} ${a.addresses[0]!.address} ${a.hostVeth}`)
    await c.stopAgent(2, { signal: 'SIGKILL' })
    // the data plane outlives the agent
    traffic()
    assert.deepEqual(dataPlane(c, 2), before)
    await c.startAgent(2)
    assert.equal(await subnetOf(c, 'node-2'), s2, 'the same subnet after kill -9 and restart')
    assert.deepEqual(dataPlane(c, 2), before, 'bridge and VXLAN device kept (same ifindex), the same peers')
    assert.deepEqual(c.node(2).manager().attachments('ov').map((a) => `${a.id} ${a.addresses[0]!.address} ${a.hostVeth}`), attach, 'pods keep their addresses and veths')
    traffic()
    // killed again and left dead past its TTL (4 s): node 1 drops it, a restart brings it back with the same subnet
    await c.stopAgent(2, { signal: 'SIGKILL' })
    await waitFor('node 1 to drop node 2 after its TTL', () => !overlayRoutes(c, 1).some((r) => r.startsWith(s2)), 4000 + 2500)
    await c.startAgent(2)
    assert.equal(await subnetOf(c, 'node-2'), s2)
    await waitFor('node 2 back on node 1', () => overlayRoutes(c, 1).some((r) => r.startsWith(s2)))
    assert.equal(dataPlane(c, 2).bridge, before.bridge, 'the bridge the pods are on was kept')
    traffic()
  })
})
