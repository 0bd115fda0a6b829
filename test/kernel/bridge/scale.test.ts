/** Concurrency, crash recovery and the bridge port limit. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { Netns } from '../../../src/netns/index.js'
import { Rtnl } from '../../../src/netlink/route/index.js'
import { createTopology, ipJson, nftRuleset, type Topology } from '../../../src/testing/index.js'

const worker = join(dirname(fileURLToPath(import.meta.url)), '../../support/attach-worker.js')

function runWorker(topo: Topology, prefix: string, count: number, portBase?: number): { done: Promise<string[]>; pid: number; kill: () => void } {
  const child = spawn(process.execPath, [worker, 'web', prefix, String(count)], {
    env: { ...process.env, PODNET_STATE_DIR: topo.stateDir, PODNET_RUN_DIR: topo.runDir, HOST_NETNS: topo.host.name, ...(portBase !== undefined && { PUBLISH_PORT_BASE: String(portBase) }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('exit', (code, sig) => {
      if (code === 0 || sig === 'SIGKILL') resolve(out.trim().split('\n').filter(Boolean))
      else reject(new Error(`worker ${prefix} exited ${code}: ${err}`))
    })
  })
  return { done, pid: child.pid!, kill: () => child.kill('SIGKILL') }
}

function removeNamespaces(prefix: string): void {
  for (const n of Netns.list()) if (n.startsWith(prefix)) Netns.remove(n)
}

/** Every podnet object in the kernel has a record and vice versa. */
async function assertConsistent(m: NetworkManager, topo: Topology): Promise<void> {
  assert.deepEqual(await m.check(), [])
  const atts = m.attachments('web')
  const bridge = m.get('web').bridge
  const ports = (ipJson(topo.host.name, 'link', 'show', 'master', bridge) as any[]).map((l) => l.ifname).sort()
  assert.deepEqual(ports, atts.map((a) => a.hostVeth).sort(), 'bridge ports = recorded attachments')
  const rules = nftRuleset(topo.host.name).filter((o) => o.rule).map((o) => o.rule!.comment as string)
  for (const c of rules.filter((x) => x.includes(' id='))) assert.ok(atts.some((a) => c.includes(` id=${a.id} `)), `rule without owner: ${c}`)
  // published ports: the map elements are exactly the recorded ones (check() reports missing ones)
  const elements = nftRuleset(topo.host.name).filter((o) => o.map).flatMap((o) => (o.map!.elem ?? []).map(([k]: any) => `${o.map!.name} ${k.elem.comment}`))
  const recorded = atts.flatMap((a) => (a.portElements ?? []).map((e) => `${e.map} podnet o=${m.owner} net=web id=${a.id} if=${a.ifname}`))
  assert.deepEqual(elements.sort(), recorded.sort(), 'map elements = recorded published ports')
}

describe('kernel: bridge networks at scale', function () {
  this.timeout(180000)
  let topo: Topology
  let m: NetworkManager
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
  })
  afterEach(() => {
    removeNamespaces('cc-')
    removeNamespaces('crash-')
    topo?.close()
  })

  it('8 processes attaching 25 namespaces each end with 200 distinct addresses and consistent state', async () => {
    await m.create({ name: 'web', subnets: ['10.100.0.0/16'] })
    const workers = Array.from({ length: 8 }, (_, p) => runWorker(topo, `cc-${p}`, 25, 30000 + p * 100))
    const lines = (await Promise.all(workers.map((w) => w.done))).flat()
    assert.equal(lines.length, 200)
    const addrs = lines.map((l) => l.split(' ')[2])
    assert.equal(new Set(addrs).size, 200, 'distinct addresses')
    assert.equal(m.attachments('web').length, 200)
    assert.equal((await m.portMapEntries()).length, 200, 'one published port each')
    await assertConsistent(m, topo)
  })

  it('kill -9 during attach, then gc, leaves no orphan veth, leaked address or stale rule', async () => {
    await m.create({ name: 'web', subnets: ['10.100.0.0/16'] })
    for (let round = 0; round < 3; round++) {
      const w = runWorker(topo, `crash-${round}`, 0, 20000 + round * 1000)
      await new Promise((r) => setTimeout(r, 800 + round * 137))
      w.kill()
      await w.done
      await m.gc()
      await assertConsistent(m, topo)
      const ipam = (await import('../../../src/bridge/ipam/index.js'))
      const allocs = await new ipam.Allocator(new ipam.DiskStore(m.state.ipamDir('web'))).list()
      assert.deepEqual(allocs.map((a) => `${a.containerId}@${a.ifname}`).sort(), m.attachments('web').map((a) => `${a.id}@${a.ifname}`).sort(), 'no leaked address')
    }
    // and removing the namespaces makes gc collect the attachments too
    removeNamespaces('crash-')
    await new Promise((r) => setTimeout(r, 300))
    await m.gc()
    assert.equal(m.attachments('web').length, 0)
    await assertConsistent(m, topo)
  })

  it('the 1,024th port on one bridge is refused with the kernel limit named, and nothing is left', async () => {
    const c = await m.create({ name: 'web', subnets: ['10.100.0.0/16'] })
    const filler = topo.pod('pn-fill')
    const rt = Rtnl.open({ netns: topo.host.ns })
    try {
      for (let i = 0; i < 1023; i++) rt.link.addSync({ kind: 'veth', name: `f${i}`, master: c.bridge, peer: { name: `g${i}`, netns: filler.ns } })
      await assert.rejects(rt.link.add({ kind: 'veth', name: 'f1023', master: c.bridge, peer: { name: 'g1023', netns: filler.ns } }), /already has 1023 ports, the kernel's limit/)
      const pod = topo.pod()
      await assert.rejects(m.attach({ network: 'web', netns: pod.name }), /already has 1023 ports, the kernel's limit/)
      assert.deepEqual(m.attachments('web'), [])
      assert.equal(pod.link('eth0'), undefined)
    } finally {
      rt.close()
    }
  })
})
