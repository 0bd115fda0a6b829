/**
 * Pods on a podnet network: the sandbox's network namespace attached through the bridge layer,
 * hostPorts published, /etc/hosts with the pod address; a taken hostPort is refused by field
 * and leaves nothing behind.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { PodRuntime, validateManifest, type PodSpec } from '../../../src/runtime/index.js'
import { createTopology, ipJson, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { probe, serve, stopServers } from '../../../src/testing/index.js'
import { buildRootfs, eventually, execIn, removeCgroupTree } from './support.js'
import { readFileSync, rmSync } from 'node:fs'

describe('kernel: pod network', function () {
  this.timeout(60_000)
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
    await m.create({ name: 'pods', subnets: ['10.77.0.0/24'] })
    rt = new PodRuntime({ stateDir: topo.stateDir, runDir: topo.runDir, cgroupParent, backoff: { baseMs: 100 } })
  })
  afterEach(async () => {
    stopServers()
    for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
    rt.close()
    topo.close()
  })

  const spec = (name: string, hostPort: number, cmd: string[]): PodSpec => validateManifest({
    metadata: { name, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': 'pods' } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'web', command: cmd, ports: [{ containerPort: 80, hostPort }] }] },
  }).spec

  it('attaches the sandbox: address, /etc/hosts, published port from upstream, masquerade to upstream', async () => {
    await serve(topo.upstream, 'tcp', 9000)
    const rec = await rt.run(spec('web', 8080, ['sh', '-c', 'nc 10.209.0.2 9000; exec nc -ll -p 80 -e echo hello-from-pod']), { hostNetns: topo.host.name })
    assert.deepEqual(rec.sandbox.ips, ['10.77.0.2/24'])
    assert.equal(rec.sandbox.attached, true)
    const [a] = m.attachments('pods')
    assert.equal(a?.id, 'web')
    assert.equal(a?.netns, rec.sandbox.pins!.net)
    assert.match(execIn(rec, 'web', ['cat', '/etc/hosts']).stdout, /\n10\.77\.0\.2\tweb\n/)
    assert.match(execIn(rec, 'web', ['cat', '/proc/net/dev']).stdout, /eth0:/)
    assert.match(execIn(rec, 'web', ['cat', '/etc/resolv.conf']).stdout, /^nameserver /m)
    // the pod reached upstream through the host's masquerade
    await eventually(() => (readFileSync(rec.containers[0]!.logPath, 'utf8').includes(`from ${UPSTREAM.hostV4}`) ? true : undefined), 5000, 'the upstream answer')
    // and upstream reaches the pod through the published port
    const got = await eventually(() => {
      try { return probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080) } catch { return undefined }
    }, 5000, 'the published port')
    assert.equal(got, 'hello-from-pod')
  })

  it('hostUsers: false: the pod\'s own user namespace owns its network namespace, and podnet attaches it all the same (address, published port, masquerade)', async () => {
    await serve(topo.upstream, 'tcp', 9000)
    const s = spec('userns', 8081, ['sh', '-c', 'nc 10.209.0.2 9000; exec nc -ll -p 80 -e echo hello-from-userns'])
    const rec = await rt.run({ ...s, hostUsers: false }, { hostNetns: topo.host.name })
    assert.ok(rec.sandbox.userns && rec.sandbox.pins?.user)
    assert.deepEqual(rec.sandbox.ips, ['10.77.0.2/24'])
    assert.match(execIn(rec, 'web', ['cat', '/proc/net/dev']).stdout, /eth0:/)
    await eventually(() => (readFileSync(rec.containers[0]!.logPath, 'utf8').includes(`from ${UPSTREAM.hostV4}`) ? true : undefined), 5000, 'the upstream answer')
    const got = await eventually(() => {
      try { return probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8081) } catch { return undefined }
    }, 5000, 'the published port')
    assert.equal(got, 'hello-from-userns')
  })

  it('a hostPort already taken: refused naming the field, nothing left; free again after pod rm', async () => {
    await rt.run(spec('first', 8080, ['sleep', '30']), { hostNetns: topo.host.name })
    const links = (): string[] => (ipJson(topo.host.name, 'link', 'show') as Array<{ ifname: string }>).map((l) => l.ifname).sort()
    const before = links()
    await assert.rejects(rt.run(spec('second', 8080, ['sleep', '30']), { hostNetns: topo.host.name }), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e))
      assert.equal(e.field, 'spec.containers[0].ports[0].hostPort')
      assert.match(e.message, /8080\/TCP is already taken/)
      return true
    })
    assert.ok(!existsSync(join(topo.stateDir, 'pods', 'second')))
    assert.deepEqual(m.attachments('pods').map((x) => x.id), ['first'])
    assert.deepEqual(links(), before)
    await rt.remove('first')
    assert.deepEqual(m.attachments('pods'), [])
    const again = await rt.run(spec('second', 8080, ['sleep', '30']), { hostNetns: topo.host.name })
    assert.equal(again.sandbox.ips.length, 1)
    assert.deepEqual(m.attachments('pods').map((x) => x.id), ['second'])
  })
})
