/**
 * Full disks under pods: small tmpfs mounts (in the sandbox's own mount namespace) on the pods'
 * directories of the state dir and the run dir, filled to ENOSPC. The supervisor never dies of a
 * failed write: it keeps the record, says so (a RecordWritten=False condition, 'write-failed',
 * its log, `pod supervisor status`), keeps supervising and writes the record once it can; every
 * command that cannot record what it makes undoes it and says so in one line.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { MNT_DETACH } from '../../../src/sys/constants.js'
import { umount2 } from '../../../src/sys/syscall.js'
import { detectCgroupLayout, type PodRecord } from '../../../src/runtime/index.js'
import { cgroupExists, eventually, useCliWorld, useRuntime } from '../runtime/support.js'

/** Mounts a small tmpfs on dir (created if needed). */
function smallTmpfs(dir: string, size = '1m'): void {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'podnet-full', dir])
}

/** Fills the filesystem of dir to ENOSPC with one file; returns its path. */
function fill(dir: string): string {
  const f = join(dir, 'filler')
  const fd = openSync(f, 'w')
  const buf = Buffer.alloc(64 * 1024, 0x61)
  try {
    for (;;) writeSync(fd, buf)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return f
}

const unmount = (dir: string): void => { try { umount2(dir, MNT_DETACH) } catch { /* not mounted */ } }

describe('kernel: pods on a full disk (in-process runtime)', function () {
  this.timeout(60_000)
  const t = useRuntime({ writeRetryMs: 100, backoff: { baseMs: 100, maxMs: 400, resetAfterMs: 60_000 } })

  it('the state dir full: an ended pod keeps its final record in memory and in the live file (with a condition) until it can be written; crash-looping pods go on restarting; a new pod is refused in one line with nothing made', async () => {
    const { rt, spec, stateDir, runDir, cgroupParent } = t()
    const pods = join(stateDir, 'pods')
    smallTmpfs(pods)
    try {
      const failed: string[] = []
      const recovered: string[] = []
      rt.on('write-failed', (n: string) => failed.push(n))
      rt.on('write-recovered', (n: string) => recovered.push(n))
      await rt.run(spec({ name: 'crash', spec: { restartPolicy: 'Always', containers: [{ name: 'c', command: ['sh', '-c', 'exit 3'] }] } }))
      await rt.run(spec({ name: 'once', spec: { restartPolicy: 'Never', containers: [{ name: 'c', command: ['sleep', '1.5'] }] } }))
      const filler = fill(pods)
      const restarts = rt.get('crash').containers[0]!.restartCount

      const once = await rt.waitFor('once', (r) => r.phase === 'Succeeded', 10_000)
      assert.deepEqual(once.conditions?.map((c) => [c.type, c.status, c.reason]), [['RecordWritten', 'False', 'WriteFailed']])
      assert.match(once.conditions![0]!.message!, /^cannot write .*\/pods\/once\/pod\.json: no space left on device \(ENOSPC\) \(kept by the supervisor, retried\)$/)
      assert.equal(rt.store.read('once')?.phase, 'Succeeded', 'what `pod inspect` reads: the live file (tmpfs) has the truth')
      assert.equal((JSON.parse(readFileSync(join(pods, 'once', 'pod.json'), 'utf8')) as PodRecord).phase, 'Running', 'the state dir could not be written')
      assert.deepEqual(failed, ['once'])
      assert.deepEqual(rt.unsavedRecords().map((u) => u.pod), ['once'])
      assert.equal(rt.get('once').sandbox.state, 'stopped', 'the sandbox went all the same')

      await rt.waitFor('crash', (r) => r.containers[0]!.restartCount >= restarts + 2, 10_000)

      await assert.rejects(rt.run(spec({ name: 'fresh', spec: { containers: [{ name: 'c', command: ['sleep', '30'] }] } })), (e: unknown) => {
        assert.match((e as Error).message, /^cannot write .*\/pods\/fresh\/pod\.json: no space left on device \(ENOSPC\)$/)
        return true
      })
      assert.ok(!rt.store.names().includes('fresh'))
      assert.ok(!cgroupExists(`${cgroupParent}/fresh`))
      assert.ok(!existsSync(join(runDir, 'pods', 'fresh')))

      rmSync(filler)
      await eventually(() => (recovered.includes('once') ? true : undefined), 5000, 'the record written')
      const disk = JSON.parse(readFileSync(join(pods, 'once', 'pod.json'), 'utf8')) as PodRecord
      assert.deepEqual([disk.phase, disk.conditions], ['Succeeded', undefined])
      assert.ok(!existsSync(join(runDir, 'pods', 'once', 'status.json')), 'no live file once the final record is written')
      assert.equal(rt.get('once').conditions, undefined)
      assert.deepEqual(rt.unsavedRecords(), [])
    } finally {
      for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
      unmount(pods)
    }
  })

  it('removing crash-looping pods never races a late record write: the pod directories stay gone, no error', async () => {
    const { rt, spec, stateDir, runDir } = t()
    for (let i = 0; i < 8; i++) {
      await rt.run(spec({ name: 'looper', spec: { restartPolicy: 'Always', containers: [{ name: 'a', command: ['sh', '-c', 'exit 1'] }, { name: 'b', command: ['sh', '-c', 'sleep 0.05; exit 2'] }] } }))
      await rt.waitFor('looper', (r) => r.containers.every((c) => c.restartCount >= 1 + (i % 3)), 10_000)
      await rt.remove('looper', { gracePeriodSeconds: 0 })
      await new Promise((r) => setTimeout(r, 150)) // past the next exits and back-offs
      assert.ok(!existsSync(join(stateDir, 'pods', 'looper')), `round ${i}: the state dir's pod directory stays gone`)
      assert.ok(!existsSync(join(runDir, 'pods', 'looper')), `round ${i}: the run dir's pod directory stays gone`)
    }
    // (useRuntime fails the test on any 'error' the runtime emitted)
  })
})

describe('kernel: pods on a full disk (CLI, supervisor)', function () {
  this.timeout(90_000)
  const w = useCliWorld()

  it('the state dir and the run dir full: the supervisor lives on and keeps restarting a crash-looping pod, reports the unsaved record (status, log), refuses a new pod in one line with nothing made, and writes everything once there is space', async () => {
    const { ok, podnet, inspect, topo, manifest, rootfs, supervisorPid, cgroupParent, leftovers } = w()
    const dirs = [join(topo.stateDir, 'pods'), join(topo.runDir, 'pods')]
    for (const d of dirs) smallTmpfs(d)
    try {
      ok('pod', 'run', '-d', '-f', manifest('loop', `
metadata: { name: loop, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  restartPolicy: Always
  containers:
  - { name: app, command: [sh, -c, 'sleep 0.2; exit 3'] }
`))
      const sup = supervisorPid()!
      const start = inspect('loop').containers[0]!.restartCount
      const fillers = dirs.map(fill)
      // the container goes on being restarted: new processes in its cgroup
      const h = detectCgroupLayout().hierarchies[0]!
      const procs = join(h.mount, cgroupParent, 'loop', 'ctr-app', 'cgroup.procs')
      const seen = new Set<string>()
      await eventually(() => {
        for (const p of readFileSync(procs, 'utf8').split('\n').filter(Boolean)) seen.add(p)
        return seen.size >= 3 ? true : undefined
      }, 15_000, 'three runs of the container on the full disk')
      assert.equal(supervisorPid(), sup, 'the supervisor lives')
      // a restart deletes the last run's exit record, which frees a page of the run dir: a record
      // write may then succeed until the next exit record takes it, so the report comes and goes
      await eventually(() => (/\nunsaved record of pod loop since .* attempts\): cannot write .*: no space left on device \(ENOSPC\)\n/.test(ok('pod', 'supervisor', 'status')) ? true : undefined), 20_000, 'the unsaved record in `supervisor status`')
      assert.match(readFileSync(join(topo.stateDir, 'supervisor.log'), 'utf8'), /pod loop: cannot write .*ENOSPC.*; the record is kept in memory and the write retried/)

      const r = podnet(['pod', 'run', '-d', '-f', manifest('late', `
metadata: { name: late, annotations: { podnet.io/rootfs: ${rootfs}, podnet.io/network: ${w().network} } }
spec: { containers: [{ name: app, command: [sleep, '60'], ports: [{ containerPort: 80, hostPort: 8160 }] }] }
`), '--host-netns', topo.host.name])
      assert.equal(r.status, 1)
      assert.match(r.stderr, /^podnet: cannot write .*\/pods\/late\/(status|pod)\.json: no space left on device \(ENOSPC\)\n$/)
      assert.deepEqual(leftovers('late', []), [])

      for (const f of fillers) rmSync(f)
      const back = await eventually(() => {
        const rec = inspect('loop')
        return rec.containers[0]!.restartCount >= start + 3 && !rec.conditions ? rec : undefined
      }, 20_000, 'the record written again')
      assert.equal(back.phase, 'Running')
      await eventually(() => (ok('pod', 'supervisor', 'status').includes('unsaved') ? undefined : true), 35_000, 'no unsaved record left')
      assert.equal(supervisorPid(), sup)
      ok('pod', 'rm', 'loop', '-t', '0')
      assert.deepEqual(leftovers('loop', []), [])
    } finally {
      w().podnet(['pod', 'rm', 'loop', 'late', '-t', '0'])
      for (const d of dirs) unmount(d)
    }
  })
})
