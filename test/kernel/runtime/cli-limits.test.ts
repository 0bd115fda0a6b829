/**
 * A pod's network limits and statistics through the CLI and the supervisor: pod run -d with
 * bandwidth annotations, pod update (flags, and a re-applied manifest), pod stats (one sample and
 * streaming), pod rm. The kernel state is read back with tc -j and ip -j.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ifbNameForVeth } from '../../../src/bridge/index.js'
import { createTopology, ipJson, tcJson, type Topology } from '../../../src/testing/index.js'
import { buildRootfs, eventually, removeCgroupTree, stopSupervisorOf } from './support.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: pod limits and stats through the CLI', function () {
  this.timeout(90_000)
  let topo: Topology
  let rootfs: string
  let env: NodeJS.ProcessEnv
  const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
  const podnet = (...args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 30_000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const ok = (...args: string[]): string => {
    const r = podnet(...args)
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const yaml = (annotations: Record<string, string>, cmd = '3600'): string => {
    const f = join(topo.stateDir, `m-${randomBytes(3).toString('hex')}.yaml`)
    writeFileSync(f, [
      'metadata:', '  name: lim', '  annotations:', `    podnet.io/rootfs: ${rootfs}`, '    podnet.io/network: pods',
      ...Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`),
      'spec:', '  terminationGracePeriodSeconds: 0', '  containers:', '  - name: c', `    command: [sleep, "${cmd}"]`, '',
    ].join('\n'))
    return f
  }
  const ifbs = (): string[] => (ipJson(topo.host.name, 'link', 'show', 'type', 'ifb') as any[]).map((l) => l.ifname)

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    rootfs = buildRootfs()
  })
  after(() => {
    removeCgroupTree(cgroupParent)
    if (rootfs) rmSync(rootfs, { recursive: true, force: true })
  })
  beforeEach(() => {
    topo = createTopology()
    env = { ...process.env, PODNET_STATE_DIR: topo.stateDir, PODNET_RUN_DIR: topo.runDir, PODNET_CGROUP_PARENT: cgroupParent, PODNET_SUPERVISOR_IDLE_MS: '60000' }
    ok('network', 'create', 'pods', '--subnet', '10.80.0.0/24', '--host-netns', topo.host.name)
  })
  afterEach(() => {
    podnet('pod', 'rm', 'lim', '-t', '0')
    stopSupervisorOf(topo.stateDir, () => podnet('pod', 'supervisor', 'stop'))
    topo.close()
  })

  it('run with limits, update them in place, read stats, rm leaves no ifb', async () => {
    ok('pod', 'run', '-d', '-f', yaml({ 'kubernetes.io/egress-bandwidth': '10M' }), '--host-netns', topo.host.name)
    const att = JSON.parse(ok('network', 'inspect', 'pods', '--json', '--host-netns', topo.host.name)).attachments[0]
    const ifb = ifbNameForVeth(att.hostVeth)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifb)[0]!.options!.rate, 10e6 / 8)
    // flags
    const up = JSON.parse(ok('pod', 'update', 'lim', '--egress-bandwidth', '4M', '--network-priority', 'high', '--json'))
    assert.deepEqual(up.spec.bandwidth, { egress: { rateBitsPerSec: 4e6 } })
    assert.equal(up.spec.networkPriority, 6)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', ifb)[0]!.options!.rate, 4e6 / 8)
    assert.equal(JSON.parse(ok('pod', 'inspect', 'lim', '--json')).spec.annotations['kubernetes.io/egress-bandwidth'], '4M')
    // a re-applied manifest: ingress added, egress dropped
    assert.match(ok('pod', 'update', 'lim', '-f', yaml({ 'kubernetes.io/ingress-bandwidth': '20M' })), /updated; ingress 20M egress - priority normal \(4\)/)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', att.hostVeth)[0]!.options!.rate, 20e6 / 8)
    assert.deepEqual(ifbs(), [])
    // what cannot change, and bad values: exit 2 naming the field, nothing changes
    const cmd = podnet('pod', 'update', 'lim', '-f', yaml({ 'kubernetes.io/ingress-bandwidth': '20M' }, '60'))
    assert.equal(cmd.status, 2)
    assert.match(cmd.stderr, /^podnet: spec\.containers\[0\]\.argv\[1\]: differs from the running pod/)
    const bad = podnet('pod', 'update', 'lim', '--network-priority', 'urgent')
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /metadata\.annotations\[podnet\.io\/network-priority\]: "urgent" is not a priority/)
    assert.equal(podnet('pod', 'update', 'nosuch', '--egress-bandwidth', '1M').status, 1)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', att.hostVeth)[0]!.options!.rate, 20e6 / 8)
    // stats: one sample, then a stream interrupted
    const [s] = JSON.parse(ok('pod', 'stats', 'lim', '--no-stream', '--json'))
    assert.equal(s.name, 'lim')
    assert.deepEqual(s.network.interfaces.map((i: any) => i.name), ['eth0'])
    assert.ok(s.containers[0].cpuSeconds >= 0)
    const child = spawn(process.execPath, [bin, 'pod', 'stats', '--interval', '200'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    await eventually(() => ((out.match(/^POD\s+CONTAINER/gm)?.length ?? 0) >= 3 ? true : undefined), 15000, 'three samples')
    const code = new Promise((r) => child.once('close', r))
    child.kill('SIGINT')
    assert.equal(await code, 0)
    assert.match(out, /\nlim\s+c\s+/)
    ok('pod', 'rm', 'lim', '-t', '0')
    assert.deepEqual(ifbs(), [])
    assert.deepEqual(tcJson(topo.host.name, 'qdisc', 'show').filter((q: any) => q.kind === 'tbf' || q.kind === 'ingress'), [])
  })
})
