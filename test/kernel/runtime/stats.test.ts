/**
 * Pod statistics against what really happened: bytes a container sent (dd | nc) are in the pod's
 * tx counters (and in ip's and the host veth's view), O_DIRECT writes to a real block device are
 * in the disk counters, a busy loop under a CPU limit shows CPU near the limit, an OOM kill is
 * counted; the CLI prints the same numbers (`pod stats --no-stream --json`).
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, statfsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { PodRuntime, PodStatsReader, detectCgroupLayout, validateManifest, type PodSpec } from '../../../src/runtime/index.js'
import { createTopology, ipJson, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { buildRootfs, eventually, removeCgroupTree } from './support.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
/** statfs f_type of file systems without block accounting. */
const NO_BLOCK_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x9123683e: 'btrfs (no single device)' }

describe('kernel: pod stats', function () {
  this.timeout(120_000)
  let topo: Topology
  let m: NetworkManager
  let rt: PodRuntime
  let reader: PodStatsReader
  let rootfs: string
  let sink: ChildProcess | undefined
  const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    // on the disk (the sandbox's TMPDIR is a tmpfs, which has no block device to account)
    rootfs = buildRootfs({}, '/var/tmp')
  })
  after(() => {
    removeCgroupTree(cgroupParent)
    if (rootfs) rmSync(rootfs, { recursive: true, force: true })
  })
  beforeEach(async () => {
    topo = createTopology()
    m = topo.manager()
    await m.create({ name: 'st', subnets: ['10.79.0.0/24'] })
    rt = new PodRuntime({ stateDir: topo.stateDir, runDir: topo.runDir, cgroupParent, backoff: { baseMs: 100 } })
    reader = new PodStatsReader({ stateDir: topo.stateDir, runDir: topo.runDir })
  })
  afterEach(async () => {
    sink?.kill('SIGKILL')
    sink = undefined
    reader.close()
    for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
    rt.close()
    topo.close()
  })

  const spec = (name: string, containers: unknown[], annotations: Record<string, string> = {}): PodSpec => validateManifest({
    metadata: { name, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': 'st', ...annotations } },
    spec: { terminationGracePeriodSeconds: 0, restartPolicy: 'Never', containers },
  }).spec

  it('counts the bytes a pod sends: tx >= what dd wrote, equal to ip -s in the pod and rx of the host veth', async () => {
    // a TCP sink upstream that reads everything
    sink = topo.upstream.ns.spawn(process.execPath, ['-e', "require('net').createServer((s)=>s.resume()).listen(9000,()=>console.log('ok'))"], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((r) => sink!.stdout!.once('data', r))
    const bytes = 3_000_000
    const rec = await rt.run(spec('sender', [{ name: 'c', command: ['sh', '-c', `dd if=/dev/zero bs=1000 count=${bytes / 1000} | nc ${UPSTREAM.upstreamV4} 9000; sleep 3600`] }]), { hostNetns: topo.host.name })
    const s = await eventually(() => {
      const x = reader.read('sender')
      return x.network.txBytes >= bytes ? x : undefined
    }, 20000, `${bytes} bytes sent`)
    assert.deepEqual(s.network.interfaces.map((i) => i.name), ['eth0'])
    const ipView = JSON.parse(execFileSync('nsenter', [`--net=${rec.sandbox.pins!.net}`, 'ip', '-j', '-s', 'link', 'show', 'eth0'], { encoding: 'utf8' }))[0].stats64
    const again = reader.read('sender')
    assert.ok(Math.abs(again.network.txBytes - ipView.tx.bytes) < 2000, `podnet ${again.network.txBytes}, ip ${ipView.tx.bytes}`)
    assert.equal(again.network.txDropped, ipView.tx.dropped)
    const host = ipJson(topo.host.name, '-s', 'link', 'show', m.attachment('st', 'sender')!.hostVeth)[0]!.stats64!
    assert.ok(Math.abs(host.rx.bytes - again.network.txBytes) < 2000, 'the host end received what the pod sent')
    assert.equal(again.containers[0]?.name, 'c')
    assert.ok((again.memoryUsageBytes ?? 0) > 0)
    assert.ok((again.pids ?? 0) >= 2, 'pause + the container')
    // the CLI prints the same numbers
    const r = spawnSync(process.execPath, [bin, 'pod', 'stats', 'sender', '--no-stream', '--json', '--state-dir', topo.stateDir, '--run-dir', topo.runDir], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    const [cli] = JSON.parse(r.stdout)
    assert.equal(cli.name, 'sender')
    assert.ok(Math.abs(cli.network.txBytes - again.network.txBytes) < 2000)
    const table = spawnSync(process.execPath, [bin, 'pod', 'stats', '--no-stream', '--state-dir', topo.stateDir, '--run-dir', topo.runDir], { encoding: 'utf8' })
    assert.match(table.stdout, /^POD\s+CONTAINER\s+CPU %\s+CPU TIME\s+MEM USAGE \/ LIMIT\s+MEM %\s+OOM\s+NET RX \/ TX\s+DROPS RX \/ TX\s+BLOCK R \/ W\s+PIDS\nsender\s+-\s+/)
    assert.match(table.stdout, /\nsender\s+c\s+/)
  })

  it('shows O_DIRECT writes to a real block device in the disk counters', async function () {
    const layout = detectCgroupLayout()
    if (!layout.byController.io) this.skip() // no blkio (v1) or io (v2) controller mounted
    const fsType = statfsSync(rootfs).type
    if (NO_BLOCK_FS[fsType]) {
      console.error(`    skipped: the test rootfs is on ${NO_BLOCK_FS[fsType]}, which has no block device to account`)
      this.skip()
    }
    const mb = 8
    await rt.run(spec('writer', [{ name: 'w', command: ['sh', '-c', `dd if=/dev/zero of=/srv/stats-direct bs=1M count=${mb} oflag=direct conv=fsync && rm /srv/stats-direct; sleep 3600`] }]), { hostNetns: topo.host.name })
    const s = await eventually(() => {
      const x = reader.read('writer')
      return (x.io?.writeBytes ?? 0) >= mb * 2 ** 20 ? x : undefined
    }, 20000, `${mb} MiB written`)
    assert.ok((s.containers[0]?.io?.writeBytes ?? 0) >= mb * 2 ** 20, 'charged to the container')
    if (s.io?.source === 'proc') assert.equal(s.io.writeOps, undefined, 'no op counts from /proc/PID/io')
    else assert.ok((s.io?.writeOps ?? 0) >= mb, `at least one write per MiB (${s.io?.source})`)
  })

  it('CPU of a busy loop under a 300m limit is near 30%; an OOM kill is counted', async () => {
    await rt.run(spec('busy', [
      { name: 'spin', command: ['sh', '-c', 'while :; do :; done'], resources: { limits: { cpu: '300m' } } },
      { name: 'hog', command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], resources: { limits: { memory: '16Mi' } } },
    ]), { hostNetns: topo.host.name })
    await new Promise((r) => setTimeout(r, 1500))
    reader.read('busy') // the first sample: average since start
    await new Promise((r) => setTimeout(r, 2000))
    const s = reader.read('busy')
    const spin = s.containers.find((c) => c.name === 'spin')!
    assert.ok(spin.cpuPercent !== undefined && spin.cpuPercent <= 36 && spin.cpuPercent >= 12, `spin at ${spin.cpuPercent}% for a 300m limit`)
    assert.ok((spin.cpuSeconds ?? 0) > 0.3)
    const hog = await eventually(() => {
      const c = reader.read('busy').containers.find((x) => x.name === 'hog')!
      return c.oomKills >= 1 ? c : undefined
    }, 10000, 'the OOM kill')
    assert.equal(hog.memoryLimitBytes, 16 * 2 ** 20)
    assert.ok(reader.read('busy').oomKills >= 1, 'and in the pod total')
  })
})
