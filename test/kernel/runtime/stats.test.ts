/**
 * Pod statistics against what really happened: bytes a container sent (dd | nc) are in the pod's
 * tx counters (and in ip's and the host veth's view), O_DIRECT writes to a real block device are
 * in the disk counters, a busy loop under a CPU limit shows CPU near the limit, an OOM kill is
 * counted; the CLI prints the same numbers (`pod stats --no-stream --json`).
 *
 * Disk counters are checked twice: on the machine's own disk (a rootfs under /var/tmp, skipped
 * when that is tmpfs or overlayfs; on cgroup v1 the numbers usually come from /proc/PID/io there,
 * see docs/stats.md), and on a block device of the test's own that works on any machine with
 * loop devices: an ext4 on a loop device made inside the sandbox (createLoopFs), whose per-device
 * lines in the container's and the pod's cgroup files are compared with podnet's numbers.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { PodRuntime, PodStatsReader, detectCgroupLayout, validateManifest, type PodSpec } from '../../../src/runtime/index.js'
import { createTopology, ipJson, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { buildRootfs, createLoopFs, eventually, removeCgroupTree, type LoopFs } from './support.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
/** statfs f_type of file systems without block accounting. */
const NO_BLOCK_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x9123683e: 'btrfs (no single device)' }

/** Why a loop-backed file system cannot be made here, or undefined when it can. */
function loopFsUnavailable(): string | undefined {
  if (!detectCgroupLayout().byController.io) return 'no blkio (v1) or io (v2) cgroup controller is mounted'
  if (!existsSync('/dev/loop-control')) return 'no loop devices here (/dev/loop-control is missing)'
  try {
    accessSync('/dev/loop-control', constants.W_OK)
  } catch {
    return 'this user cannot allocate loop devices (/dev/loop-control is not writable: a --rootless sandbox?)'
  }
  for (const tool of ['losetup', 'mkfs.ext4']) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed`
  }
  return undefined
}

interface DeviceIo { rbytes: number; wbytes: number; rios: number; wios: number }

/**
 * One cgroup's I/O per device ("MAJ:MIN"), read straight from its files, not through podnet: v1
 * blkio.throttle.io_service_bytes_recursive and io_serviced_recursive ("7:0 Write 8388608"), v2
 * io.stat ("7:0 rbytes=0 wbytes=8388608 rios=0 wios=8 ...").
 */
function deviceIo(cgroup: string): Map<string, DeviceIo> {
  const h = detectCgroupLayout().byController.io!
  const dir = join(h.mount, cgroup)
  const out = new Map<string, DeviceIo>()
  const entry = (dev: string): DeviceIo => {
    let e = out.get(dev)
    if (!e) out.set(dev, (e = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 }))
    return e
  }
  if (h.version === 1) {
    for (const [file, r, w] of [['blkio.throttle.io_service_bytes_recursive', 'rbytes', 'wbytes'], ['blkio.throttle.io_serviced_recursive', 'rios', 'wios']] as const) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const m = /^(\d+:\d+) (Read|Write) (\d+)$/.exec(line)
        if (m) entry(m[1]!)[m[2] === 'Read' ? r : w] += Number(m[3])
      }
    }
  } else {
    for (const line of readFileSync(join(dir, 'io.stat'), 'utf8').split('\n')) {
      const [dev, ...kv] = line.trim().split(/\s+/)
      if (!dev || !/^\d+:\d+$/.test(dev)) continue
      const e = entry(dev)
      for (const pair of kv) {
        const [k, v] = pair.split('=')
        if (k === 'rbytes' || k === 'wbytes' || k === 'rios' || k === 'wios') e[k] += Number(v)
      }
    }
  }
  return out
}

const sum = (m: Map<string, DeviceIo>): DeviceIo => {
  const t = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 }
  for (const e of m.values()) for (const k of ['rbytes', 'wbytes', 'rios', 'wios'] as const) t[k] += e[k]
  return t
}

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

  it('shows O_DIRECT writes to the machine\'s own disk (a rootfs under /var/tmp) in the disk counters', async function () {
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

  describe('on a block device of its own: a loop-backed ext4 made in the sandbox', () => {
    let disk: LoopFs | undefined
    let loopRootfs: string
    before(function () {
      if (process.getuid?.() !== 0) this.skip()
      const why = loopFsUnavailable()
      if (why) {
        console.error(`    skipped: ${why}`)
        this.skip()
      }
      disk = createLoopFs()
      loopRootfs = buildRootfs({}, disk.dir)
      // v1 keeps no blkio.throttle counters for a device until a throttle rule has existed for it
      // (docs/stats.md): one set and removed in a scratch cgroup makes this device's counters live
      const io = detectCgroupLayout().byController.io!
      if (io.version === 1) {
        const scratch = join(io.mount, `${cgroupParent}-blkthrottle`)
        mkdirSync(scratch)
        try {
          writeFileSync(join(scratch, 'blkio.throttle.write_bps_device'), `${disk.majMin} ${2 ** 40}`)
          writeFileSync(join(scratch, 'blkio.throttle.write_bps_device'), `${disk.majMin} 0`)
        } finally {
          rmdirSync(scratch)
        }
      }
    })
    // after the outer afterEach has removed the pods: unmount, release exactly our loop device
    after(() => disk?.close())

    it('O_DIRECT writes to it: the container\'s and the pod\'s cgroup files (blkio.throttle.* on v1, io.stat on v2) count them for the loop device, and podnet\'s PodStats and pod stats --json/table show the same numbers', async () => {
      const mb = 8
      await rt.run(spec('loopw', [{ name: 'w', command: ['sh', '-c', `dd if=/dev/zero of=/srv/stats-direct bs=1M count=${mb} oflag=direct conv=fsync && rm /srv/stats-direct; sleep 3600`] }],
        { 'podnet.io/rootfs': loopRootfs }), { hostNetns: topo.host.name })
      const rec = rt.get('loopw')
      const ctrCgroup = rec.containers[0]!.cgroup!
      const podCgroup = rec.sandbox.cgroup!
      // the loop device's line in the container's own cgroup files, once dd is done
      const dev = await eventually(() => {
        const x = deviceIo(ctrCgroup).get(disk!.majMin)
        return x && x.wbytes >= mb * 2 ** 20 ? x : undefined
      }, 20000, `${mb} MiB written to ${disk!.device} (${disk!.majMin}) in the cgroup files`)
      assert.ok(dev.wios >= mb, `at least one write request per MiB on ${disk!.majMin}: ${dev.wios}`)
      await new Promise((r) => setTimeout(r, 300)) // dd has exited; let the last completions land
      const ctrFile = sum(deviceIo(ctrCgroup))
      const podFile = sum(deviceIo(podCgroup))
      assert.ok(podFile.wbytes >= ctrFile.wbytes, 'the pod\'s (recursive) counters include its container\'s')
      const asPodnet = (x: { rbytes: number; wbytes: number; rios: number; wios: number }): unknown =>
        ({ readBytes: x.rbytes, writeBytes: x.wbytes, readOps: x.rios, writeOps: x.wios, source: detectCgroupLayout().byController.io!.version === 1 ? 'blkio' : 'io.stat' })
      // podnet's library
      const s = reader.read('loopw')
      assert.deepEqual(s.containers[0]?.io, asPodnet(ctrFile), 'PodStats of the container = its cgroup files')
      assert.deepEqual(s.io, asPodnet(podFile), 'PodStats of the pod = its cgroup files')
      // the CLI
      const r = spawnSync(process.execPath, [bin, 'pod', 'stats', 'loopw', '--no-stream', '--json', '--state-dir', topo.stateDir, '--run-dir', topo.runDir], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      const [cli] = JSON.parse(r.stdout)
      assert.deepEqual(cli.containers[0].io, asPodnet(ctrFile))
      assert.deepEqual(cli.io, asPodnet(podFile))
      const table = spawnSync(process.execPath, [bin, 'pod', 'stats', 'loopw', '--no-stream', '--state-dir', topo.stateDir, '--run-dir', topo.runDir], { encoding: 'utf8' })
      assert.equal(table.status, 0, table.stderr)
      assert.ok(ctrFile.wbytes < 1e7, 'written bytes print as N.NNMB')
      assert.match(table.stdout, new RegExp(`\\nloopw\\s+w\\s+.*\\s\\S+ / ${(ctrFile.wbytes / 1e6).toFixed(2).replace('.', '\\.')}MB\\s`), table.stdout)
      // nothing moved while we looked
      assert.deepEqual(sum(deviceIo(ctrCgroup)), ctrFile)
    })
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
