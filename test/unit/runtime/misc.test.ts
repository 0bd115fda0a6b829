/** cgroup layout detection, /etc files, namespace classification. */
import assert from 'node:assert/strict'
import { cfsQuotaUs, parseCgroupLayout } from '../../../src/runtime/cgroups/index.js'
import { hostsFile, resolvConf } from '../../../src/runtime/etc-files.js'
import { classify } from '../../../src/runtime/ns-table.js'
import { podExitStatus, type ContainerStatus, type PodRecord } from '../../../src/runtime/types.js'
import { PodStore } from '../../../src/runtime/state-store.js'
import { dirsFromEnv, resolveDirs, type DirOptions } from '../../../src/state/index.js'

import { HALT_STAGES } from '../../../src/runtime/pod-runtime.js'
import { podDetachRequest } from '../../../src/runtime/sandbox.js'
import { runtimeOptionsFromEnv } from '../../../src/runtime/supervisor.js'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The run dir for explicit options and an environment, as the CLI resolves it (flags over variables, then the one rule). */
const runDirFor = (o: DirOptions, env: NodeJS.ProcessEnv): string => resolveDirs(dirsFromEnv(o, env)).runDir

const HYBRID = `
25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
const V2 = '40 25 0:33 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n'

describe('runtime/cgroups detect', () => {
  it('hybrid: every controller on v1 when the unified root offers only hugetlb', () => {
    const l = parseCgroupLayout(HYBRID, () => ['hugetlb'])
    assert.equal(l.byController.cpu?.mount, '/sys/fs/cgroup/cpu')
    assert.equal(l.byController.memory?.mount, '/sys/fs/cgroup/memory')
    assert.equal(l.byController.pids?.mount, '/sys/fs/cgroup/pids')
    assert.equal(l.byController.cpuacct?.mount, '/sys/fs/cgroup/cpuacct')
    assert.equal(l.byController.io, undefined, 'no blkio mount in this mountinfo')
    assert.deepEqual(l.hierarchies.map((h) => `${h.version}:${h.mount}`), ['1:/sys/fs/cgroup/cpu', '1:/sys/fs/cgroup/memory', '1:/sys/fs/cgroup/pids', '1:/sys/fs/cgroup/cpuacct'])
  })
  it('v1 blkio serves io; on v2 cpu serves cpuacct and io is io', () => {
    const l = parseCgroupLayout(`${HYBRID}37 30 0:33 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n`, () => ['hugetlb'])
    assert.equal(l.byController.io?.mount, '/sys/fs/cgroup/blkio')
    const v2 = parseCgroupLayout(V2, () => ['cpuset', 'cpu', 'io', 'memory', 'pids'])
    assert.equal(v2.byController.cpuacct, v2.byController.cpu)
    assert.equal(v2.byController.io?.version, 2)
  })
  it('hybrid with memory delegated to v2', () => {
    const l = parseCgroupLayout(HYBRID, () => ['memory', 'hugetlb'])
    assert.equal(l.byController.memory?.version, 2)
    assert.equal(l.byController.cpu?.version, 1)
  })
  it('pure v2', () => {
    const l = parseCgroupLayout(V2, () => ['cpuset', 'cpu', 'io', 'memory', 'pids'])
    assert.deepEqual(l.hierarchies, [{ version: 2, mount: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] }])
  })
  it('CFS quota', () => {
    assert.equal(cfsQuotaUs(200), 20000)
    assert.equal(cfsQuotaUs(1), 1000)
    assert.equal(cfsQuotaUs(2500), 250000)
  })
})

describe('runtime/etc files', () => {
  it('hosts maps the hostname to the pod address, or to 127.0.1.1 without one', () => {
    assert.match(hostsFile('web', ['10.88.0.2/24']), /\n10\.88\.0\.2\tweb\n$/)
    assert.match(hostsFile('web', []), /\n127\.0\.1\.1\tweb\n$/)
    assert.match(hostsFile('web', []), /^# podnet-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/)
  })
  it('resolv.conf drops loopback servers, keeps search/options, falls back', () => {
    assert.equal(resolvConf('nameserver 127.0.0.53\nsearch lan\noptions edns0\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\noptions edns0\n')
    assert.equal(resolvConf('# c\nnameserver 10.0.0.1\nnameserver ::1\n'), 'nameserver 10.0.0.1\n')
    assert.equal(resolvConf(undefined), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n')
  })
})

describe('runtime/ns-table classify', () => {
  const P = 'pause' as const
  const C = 'container' as const
  it('pod, private, host, mixed', () => {
    assert.equal(classify([{ role: P, inode: 1 }, { role: C, inode: 1 }, { role: C, inode: 1 }], 9), 'pod')
    assert.equal(classify([{ role: P, inode: 9 }, { role: C, inode: 9 }], 9), 'host')
    assert.equal(classify([{ role: P, inode: 9 }, { role: C, inode: 2 }, { role: C, inode: 3 }], 9), 'private')
    assert.equal(classify([{ role: P, inode: 1 }, { role: C, inode: 2 }, { role: C, inode: 2 }], 9), 'mixed')
  })
})

describe('runtime/podExitStatus (pod run in the foreground)', () => {
  const pod = (phase: PodRecord['phase'], exits: Array<number | 'running'>): PodRecord => ({
    name: 'p', phase, createdAt: '', sandbox: { state: 'stopped', ips: [] }, spec: {} as PodRecord['spec'],
    containers: exits.map((e, i): ContainerStatus => ({
      name: `c${i}`, restartCount: 0, backoffStep: 0, logPath: '',
      state: e === 'running' ? { status: 'running', startedAt: '', pid: 1, launcher: { pid: 1, startTime: 1 } } : { status: 'terminated', exitCode: e, reason: e ? 'Error' : 'Completed', startedAt: '', finishedAt: '' },
    })),
  })
  it('0 when Succeeded, else the first non-zero exit code in manifest order, else 1', () => {
    assert.equal(podExitStatus(pod('Succeeded', [0, 0])), 0)
    assert.equal(podExitStatus(pod('Failed', [0, 3, 137])), 3)
    assert.equal(podExitStatus(pod('Failed', [143, 0])), 143)
    assert.equal(podExitStatus(pod('Failed', [0, 0])), 1, 'failed without a failing container (SandboxDied)')
    assert.equal(podExitStatus(pod('Failed', ['running'])), 1)
    assert.equal(podExitStatus(pod('Succeeded', [0, 143])), 143, 'a stopped pod (Succeeded, Stopped): the code of the run the stop ended, as docker run')
  })
})

describe('runtime/podDetachRequest', () => {
  it('names the pod, its host namespace and, when its spec has one, its address reservation (reserveAs)', () => {
    const rec = (spec: Partial<PodRecord['spec']>, hostNetns?: string): PodRecord => ({
      name: 'web-1', phase: 'Running', createdAt: '', spec: spec as PodRecord['spec'], containers: [],
      sandbox: { state: 'ready', ips: [], ...(hostNetns !== undefined && { hostNetns }) },
    })
    assert.deepEqual(podDetachRequest(rec({}), 'pods'), { network: 'pods', id: 'web-1' })
    assert.deepEqual(podDetachRequest(rec({ addressReservation: 'statefulset/web/1' }, 'host'), 'pods'), { network: 'pods', id: 'web-1', hostNetns: 'host', reserveAs: 'statefulset/web/1' })
  })
})

describe('runtime/PodStore: persistent and volatile records', () => {
  const rec = (phase: PodRecord['phase']): PodRecord => ({
    name: 'p', phase, createdAt: '2026-01-01T00:00:00.000Z', sandbox: { state: 'ready', ips: [] }, spec: {} as PodRecord['spec'],
    containers: [
      { name: 'a', restartCount: 0, backoffStep: 0, logPath: '', state: { status: 'running', startedAt: '', pid: 1, launcher: { pid: 1, startTime: 1 } } },
      { name: 'b', restartCount: 0, backoffStep: 0, logPath: '', state: { status: 'terminated', exitCode: 3, reason: 'Error', startedAt: '', finishedAt: '' } },
    ],
  })
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-store-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('the run dir follows podnet network\'s rule', () => {
    assert.equal(runDirFor({ stateDir: '/s' }, {}), '/s/run')
    assert.equal(runDirFor({ stateDir: '/s', runDir: '/r' }, {}), '/r')
    assert.equal(runDirFor({ stateDir: '/s' }, { PODNET_RUN_DIR: '/e' }), '/e')
    assert.equal(runDirFor({}, {}), '/run/podnet')
    assert.equal(new PodStore({ stateDir: join(dir, 'state'), runDir: join(dir, 'run') }).statusPath('x'), join(dir, 'run', 'pods', 'x', 'status.json'))
  })

  it('active: the live record in the run dir; ended: the final one in the state dir and no live one', () => {
    const s = new PodStore({ stateDir: join(dir, 'state'), runDir: join(dir, 'run') })
    assert.ok(s.claim('p'))
    assert.ok(!s.claim('p'))
    s.create(rec('Pending'))
    s.write(rec('Running'))
    assert.equal(s.read('p')!.phase, 'Running')
    assert.deepEqual(s.names(), ['p'])
    s.write(rec('Failed'))
    assert.ok(!existsSync(s.statusPath('p')))
    assert.equal(s.read('p')!.phase, 'Failed')
    s.remove('p')
    assert.deepEqual(s.names(), [])
  })

  it('an active pod whose live record is gone (reboot, cleared run dir) reads as Failed, Lost; its containers ContainerStatusUnknown', () => {
    const s = new PodStore({ stateDir: join(dir, 'state'), runDir: join(dir, 'run') })
    s.claim('p')
    s.create(rec('Running'))
    rmSync(join(dir, 'run'), { recursive: true })
    const lost = s.read('p')!
    assert.deepEqual([lost.phase, lost.reason, lost.sandbox.state], ['Failed', 'Lost', 'stopped'])
    assert.match(lost.message!, /machine rebooted or the run directory was cleared/)
    assert.deepEqual(lost.containers.map((c) => c.state.status === 'terminated' && [c.state.exitCode, c.state.reason]), [[137, 'ContainerStatusUnknown'], [3, 'Error']])
    assert.equal(podExitStatus(lost), 137)
  })
})

describe('runtime/the PODNET_TEST_HALT_AT hook', () => {
  it('reaches a supervisor\'s runtime options; an unknown stage is refused, naming the stages', () => {
    assert.equal(typeof runtimeOptionsFromEnv({ PODNET_TEST_HALT_AT: 'network' }).checkpoint, 'function')
    assert.equal(runtimeOptionsFromEnv({}).checkpoint, undefined)
    assert.deepEqual([...HALT_STAGES], ['namespaces', 'cgroups', 'network', 'ready', 'launch', 'launched', 'removing', 'removing-stopped'])
    assert.throws(() => runtimeOptionsFromEnv({ PODNET_TEST_HALT_AT: 'nope' }), /PODNET_TEST_HALT_AT: unknown stage 'nope' \(one of namespaces, cgroups/)
    // the checkpoint stops the process only at its own stage (other stages pass through)
    const cp = runtimeOptionsFromEnv({ PODNET_TEST_HALT_AT: 'network' }).checkpoint!
    for (const stage of HALT_STAGES) if (stage !== 'network') cp(stage)
  })
})
