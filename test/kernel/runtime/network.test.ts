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
import { PodRuntime, detectCgroupLayout, validateManifest, type PodSpec } from '../../../src/runtime/index.js'
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

  it('a launcher that cannot be started (spawn E2BIG: a 200 KB environment value past the manifest check): run fails in one line and undoes the whole pod (pause, cgroups, address, port, record); the name and port are free at once', async () => {
    const links = (): string[] => (ipJson(topo.host.name, 'link', 'show') as Array<{ ifname: string }>).map((l) => l.ifname).sort()
    const before = links()
    const big = spec('big', 8082, ['sleep', '30'])
    // a spec as a library caller may build it, past validateManifest (which refuses it: see limits.ts)
    big.containers[0]!.env.push({ name: 'BIG', value: 'x'.repeat(200 * 1024) })
    const pauses = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/pods/big/'))
    await assert.rejects(rt.run(big, { hostNetns: topo.host.name }), (e: unknown) => {
      assert.match(String((e as Error).message), /^pod 'big': container 'web' could not be started \(spawn E2BIG\); the pod was undone$/)
      return true
    })
    assert.deepEqual(rt.store.names(), [])
    assert.deepEqual(m.attachments('pods'), [])
    assert.deepEqual(links(), before)
    assert.deepEqual(pauses(), [], 'no pins or /dev/shm left')
    assert.ok(!existsSync(join(topo.stateDir, 'pods', 'big')))
    assert.ok(!detectCgroupLayout().hierarchies.some((h) => existsSync(join(h.mount, cgroupParent, 'big'))), 'no cgroup left')
    const again = await rt.run(spec('big', 8082, ['sh', '-c', 'exec nc -ll -p 80 -e echo back']), { hostNetns: topo.host.name })
    assert.equal(again.sandbox.ips.length, 1)
    assert.deepEqual(m.attachments('pods').map((x) => x.id), ['big'])
    assert.equal(await eventually(() => { try { return probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8082) } catch { return undefined } }, 5000, 'the port'), 'back')
  })

  it('300 environment variables reach the container (the launcher takes as many as the kernel does)', async () => {
    const s = spec('envy', 8083, ['sleep', '30'])
    for (let i = 0; i < 300; i++) s.containers[0]!.env.push({ name: `V${i}`, value: `value-${i}` })
    const rec = await rt.run(s, { hostNetns: topo.host.name })
    const env = execIn(rec, 'web', ['env']).stdout.split('\n').filter(Boolean)
    assert.equal(env.filter((l) => /^V\d+=value-\d+$/.test(l)).length, 300)
    assert.equal(readFileSync(`/proc/${(rec.containers[0]!.state as { pid: number }).pid}/environ`, 'utf8').split('\0').filter((l) => l.startsWith('V')).length, 300)
  })

  it('hostIP 0.0.0.0 and :: in a manifest mean every address (no hostIp): the port answers on the host\'s addresses', async () => {
    for (const [i, hostIP] of ['0.0.0.0', '::'].entries()) {
      const s = validateManifest({
        metadata: { name: `any${i}`, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': 'pods' } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'web', command: ['sh', '-c', `exec nc -ll -p 80 -e echo any${i}`], ports: [{ containerPort: 80, hostPort: 8084 + i, hostIP }] }] },
      }).spec
      assert.equal(s.containers[0]!.ports[0]!.hostIp, undefined)
      await rt.run(s, { hostNetns: topo.host.name })
      assert.equal(await eventually(() => { try { return probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8084 + i) } catch { return undefined } }, 5000, 'the port'), `any${i}`)
    }
  })
})
