/**
 * podnet pod ... through the CLI and the supervisor it starts: run -d, ls, inspect, logs, exec,
 * ns (compared with lsns), stop, rm, errors and exit statuses; the supervisor killed with
 * SIGKILL while pods run (they keep running and are re-adopted); gc of unaccounted cgroups.
 * The supervisor started here is stopped here.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { detectCgroupLayout, type NsRow, type PodRecord } from '../../../src/runtime/index.js'
import { isAlive, processStartTime } from '../../../src/runtime/proc.js'
import { buildRootfs, cgroupExists, eventually, removeCgroupTree, stopSupervisorOf } from './support.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

interface Background {
  child: ChildProcess
  stdout: string
  stderr: string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  waitFor(what: 'stdout' | 'stderr', re: RegExp, ms?: number): Promise<unknown>
}

describe('kernel: podnet pod (CLI and supervisor)', function () {
  this.timeout(60_000)
  let stateDir: string
  let rootfs: string
  let dir: string
  const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
  let env: NodeJS.ProcessEnv

  const podnet = (...args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 30_000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const ok = (...args: string[]): string => {
    const r = podnet(...args)
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const inspect = (name: string): PodRecord => JSON.parse(ok('pod', 'inspect', name, '--json')) as PodRecord
  const manifest = (name: string, yaml: string): string => {
    const f = join(dir, `${name}.yaml`)
    writeFileSync(f, yaml)
    return f
  }

  /** A CLI process in the background: its output so far, text to wait for, its exit. */
  const background = (...args: string[]): Background => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const b: Background = {
      child, stdout: '', stderr: '',
      exit: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, at: Date.now() }))),
      waitFor: async (what, re, ms = 10_000) => eventually(() => (re.test(b[what]) ? true : undefined), ms, `${what} to match ${re} (stdout: ${JSON.stringify(b.stdout)}, stderr: ${JSON.stringify(b.stderr)})`),
    }
    child.stdout.setEncoding('utf8').on('data', (d: string) => { b.stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { b.stderr += d })
    running.push(b)
    return b
  }
  const running: Background[] = []
  afterEach(async () => {
    for (const b of running.splice(0)) {
      if (b.child.exitCode === null && b.child.signalCode === null) {
        b.child.kill('SIGKILL')
        await b.exit
      }
    }
  })

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    stateDir = mkdtempSync(join(tmpdir(), 'podnet-cli-'))
    dir = mkdtempSync(join(tmpdir(), 'podnet-cli-manifests-'))
    rootfs = buildRootfs()
    mkdirSync(join(dir, 'rootfs'))
    env = {
      ...process.env, PODNET_STATE_DIR: stateDir, PODNET_CGROUP_PARENT: cgroupParent,
      PODNET_BACKOFF_BASE_MS: '200', PODNET_SUPERVISOR_IDLE_MS: '0',
    }
  })
  afterEach(() => {
    for (const p of JSON.parse(ok('pod', 'ls', '--json')) as PodRecord[]) ok('pod', 'rm', p.name, '-t', '0')
  })
  after(() => {
    if (!stateDir) return
    stopSupervisorOf(stateDir, () => podnet('pod', 'supervisor', 'stop'))
    removeCgroupTree(cgroupParent)
    for (const d of [stateDir, dir, rootfs]) rmSync(d, { recursive: true, force: true })
  })

  it('run -d, ls, inspect, logs, exec, ns (= lsns), stop, rm', async () => {
    const f = manifest('web', `
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: { podnet.io/rootfs: ${rootfs} }
spec:
  hostname: webhost
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    command: [sh, -c, 'echo app-started; exec sleep 30']
    env: [{ name: GREETING, value: hi }]
    workingDir: /srv
  - name: side
    command: [sh, -c, 'echo side-started; exec sleep 30']
`)
    const t0 = Date.now()
    const out = ok('pod', 'run', '-d', '-f', f)
    assert.match(out, /^pod web running\n$/)
    assert.ok(Date.now() - t0 < 15_000)
    const ls = JSON.parse(ok('pod', 'ls', '--json')) as PodRecord[]
    assert.deepEqual(ls.map((p) => [p.name, p.phase]), [['web', 'Running']])
    assert.match(ok('pod', 'ls'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+IP\s+PORTS\s+AGE\nweb\s+2\/2\s+Running\s+0\s/)
    const rec = inspect('web')
    assert.deepEqual(rec.containers.map((c) => [c.name, c.state.status, c.restartCount]), [['app', 'running', 0], ['side', 'running', 0]])
    assert.match(ok('pod', 'inspect', 'web'), /Hostname:\s+webhost/)
    // logs
    await eventually(() => {
      const l = ok('pod', 'logs', 'web')
      return l.includes('[app] app-started') && l.includes('[side] side-started') ? l : undefined
    }, 5000, 'logs')
    assert.equal(ok('pod', 'logs', 'web', '-c', 'app'), 'app-started\n')
    // exec: environment, working dir, hostname, exit status passed through, -c
    assert.equal(ok('pod', 'exec', 'web', '--', 'sh', '-c', 'echo $GREETING $(pwd) $(hostname)'), 'hi /srv webhost\n')
    assert.equal(podnet('pod', 'exec', 'web', '-c', 'side', '--', 'sh', '-c', 'exit 7').status, 7)
    assert.equal(ok('pod', 'exec', 'web', '-c', 'side', '--', 'cat', '/proc/1/cmdline'), 'sleep\x0030\x00')
    // ns: the table lsns agrees with
    const rows = JSON.parse(ok('pod', 'ns', 'web', '--json')) as NsRow[]
    const sharing = Object.fromEntries(rows.map((r) => [r.kind, r.sharing]))
    assert.deepEqual(sharing, { mnt: 'private', uts: 'pod', ipc: 'pod', pid: 'private', net: 'pod', user: 'host', cgroup: 'host', time: 'host' })
    for (const r of rows) {
      for (const m of r.members) {
        const l = JSON.parse(execFileSync('lsns', ['-J', '-p', String(m.pid), '-o', 'NS,TYPE'], { encoding: 'utf8' })) as { namespaces: Array<{ ns: number; type: string }> }
        const theirs = l.namespaces.find((n) => n.type === r.kind)
        if (theirs) assert.equal(Number(theirs.ns), m.inode, `${r.kind} of ${m.name}`)
      }
    }
    assert.match(ok('pod', 'ns', 'web'), /^NS\s+SHARING\s+PAUSE \(\d+\)\s+APP \(\d+\)\s+SIDE \(\d+\)\s+HOST\nmnt\s+private/)
    // stop keeps the record; rm removes it
    const stopped = JSON.parse(ok('pod', 'stop', 'web', '--json')) as PodRecord
    assert.equal(stopped.reason, 'Stopped')
    assert.equal(inspect('web').sandbox.state, 'stopped')
    assert.ok(!isAlive(rec.sandbox.pause))
    ok('pod', 'rm', 'web')
    assert.deepEqual(JSON.parse(ok('pod', 'ls', '--json')), [])
    assert.ok(!cgroupExists(`${cgroupParent}/web`))
  })

  it('pod run without -d: streams the output as it is written, exits with the pod\'s status (the first non-zero container exit code), keeps the record', async () => {
    const f = manifest('fg', `
metadata: { name: fg, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  restartPolicy: Never
  containers:
  - { name: a, command: [sh, -c, 'for i in 1 2 3; do echo a$i; sleep 0.5; done; exit 3'] }
  - { name: b, command: [sh, -c, 'echo b-done'] }
`)
    const run = background('pod', 'run', '-f', f)
    await run.waitFor('stdout', /\[a\] a1\n/)
    assert.doesNotMatch(run.stdout, /a3/, 'a1 is shown while the container still runs')
    assert.equal(run.child.exitCode, null)
    const { code } = await run.exit
    assert.equal(code, 3)
    assert.match(run.stdout, /^(\[b\] b-done\n)?\[a\] a1\n/)
    assert.deepEqual(run.stdout.split('\n').filter((l) => l.startsWith('[a]')), ['[a] a1', '[a] a2', '[a] a3'])
    assert.ok(run.stdout.includes('[b] b-done\n'))
    assert.equal(run.stderr, 'podnet: pod fg failed: a exit 3, b exit 0\n')
    const rec = inspect('fg')
    assert.deepEqual([rec.phase, rec.sandbox.state], ['Failed', 'stopped'])
    assert.ok(!isAlive(rec.sandbox.pause))
    assert.ok(!cgroupExists(`${cgroupParent}/fg`))
    // one container: its output as is, exit 0 when it succeeds
    const one = manifest('fg1', `
metadata: { name: fg1, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { restartPolicy: Never, containers: [{ name: c, command: [sh, -c, 'echo hello; echo oops >&2'] }] }
`)
    const r = podnet('pod', 'run', '-f', one)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'hello\noops\n')
    assert.equal(r.stderr, 'podnet: pod fg1 succeeded: c exit 0\n')
  })

  it('pod run without -d, interrupted (SIGINT): stops the pod (SIGTERM, grace, SIGKILL), streams to the end, exits with its status; the record stays', async () => {
    const f = manifest('intr', `
metadata: { name: intr, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - { name: polite, command: [sh, -c, 'trap "echo got-term; exit 0" TERM; echo up; while :; do sleep 0.1; done'] }
  - { name: deaf, command: [sleep, '60'] }
`)
    const run = background('pod', 'run', '-f', f)
    await run.waitFor('stdout', /\[polite\] up\n/)
    const live = inspect('intr')
    const t0 = Date.now()
    run.child.kill('SIGINT')
    const { code, at } = await run.exit
    assert.ok(at - t0 >= 1000 && at - t0 < 8000, `ended ${at - t0} ms after the interrupt (grace 1 s)`)
    assert.equal(code, 137, 'deaf ignored SIGTERM and was killed')
    assert.match(run.stdout, /\[polite\] got-term\n/)
    assert.match(run.stderr, /^podnet: stopping pod intr: SIGTERM, then SIGKILL after 1s \(interrupt again to kill now\)\npodnet: pod intr stopped: polite exit 0, deaf exit 137\n$/)
    const rec = inspect('intr')
    assert.deepEqual([rec.phase, rec.reason, rec.sandbox.state], ['Succeeded', 'Stopped', 'stopped'])
    for (const c of live.containers) assert.ok(c.state.status === 'running' && processStartTime(c.state.pid) === undefined)
    assert.ok(!isAlive(live.sandbox.pause))
    assert.ok(!cgroupExists(`${cgroupParent}/intr`))
  })

  it('pod run without -d: a second interrupt kills at once; --rm removes the pod; SIGTERM acts as an interrupt', async () => {
    const f = manifest('twice', `
metadata: { name: twice, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { terminationGracePeriodSeconds: 30, containers: [{ name: deaf, command: [sh, -c, 'echo up; exec sleep 60'] }] }
`)
    const run = background('pod', 'run', '--rm', '-f', f)
    await run.waitFor('stdout', /^up\n/)
    run.child.kill('SIGINT')
    await run.waitFor('stderr', /stopping pod twice/)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(run.child.exitCode, null, 'still in its 30 s grace period')
    const t0 = Date.now()
    run.child.kill('SIGINT')
    const { code, at } = await run.exit
    assert.ok(at - t0 < 5000, `killed ${at - t0} ms after the second interrupt`)
    assert.equal(code, 137)
    assert.match(run.stderr, /podnet: killing pod twice now\n/)
    assert.match(run.stderr, /: deaf exit 137; removed\n$/)
    assert.equal(podnet('pod', 'inspect', 'twice').status, 1)
    assert.ok(!existsSync(join(stateDir, 'pods', 'twice')))
    assert.ok(!cgroupExists(`${cgroupParent}/twice`))

    const g = manifest('term', `
metadata: { name: term, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { containers: [{ name: c, command: [sh, -c, 'trap "exit 7" TERM; echo up; while :; do sleep 0.1; done'] }] }
`)
    const run2 = background('pod', 'run', '--rm', '-f', g)
    await run2.waitFor('stdout', /^up\n/)
    run2.child.kill('SIGTERM')
    assert.equal((await run2.exit).code, 7)
    assert.deepEqual(JSON.parse(ok('pod', 'ls', '--json')), [])
  })

  it('pod run --json without -d: one JSON line per output line, then the final record with the exit status; --rm with -d is refused', () => {
    const f = manifest('jl', `
metadata: { name: jl, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { restartPolicy: Never, containers: [{ name: c, command: [sh, -c, 'echo one; echo two; exit 4'] }] }
`)
    const r = podnet('pod', 'run', '--json', '--rm', '-f', f)
    assert.equal(r.status, 4, r.stderr)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines.slice(0, 2), [{ container: 'c', log: 'one' }, { container: 'c', log: 'two' }])
    const last = lines[2] as { pod: PodRecord; exitStatus: number; removed: boolean }
    assert.deepEqual([last.pod.name, last.pod.phase, last.exitStatus, last.removed], ['jl', 'Failed', 4, true])
    const d = podnet('pod', 'run', '-d', '--rm', '-f', f)
    assert.equal(d.status, 2)
    assert.match(d.stderr, /^podnet: --rm: cannot be combined with -d/)
  })

  it('pod logs -f: prints what is there, follows new output, ends when the pod ends', async () => {
    const f = manifest('follow', `
metadata: { name: follow, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { restartPolicy: Never, containers: [{ name: c, command: [sh, -c, 'for i in 1 2 3 4 5; do echo line$i; sleep 0.4; done'] }] }
`)
    ok('pod', 'run', '-d', '-f', f)
    const logs = background('pod', 'logs', 'follow', '-f')
    await logs.waitFor('stdout', /line2\n/)
    assert.doesNotMatch(logs.stdout, /line5/)
    const { code } = await logs.exit
    assert.equal(code, 0)
    assert.equal(logs.stdout, 'line1\nline2\nline3\nline4\nline5\n')
    assert.equal(inspect('follow').phase, 'Succeeded')
  })

  it('pod logs -c C -f: follows C across restarts, ends when C has ended for good while the pod runs on; an interrupt ends it with 130', async () => {
    const f = manifest('multi', `
metadata: { name: multi, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  restartPolicy: OnFailure
  containers:
  - { name: short, command: [sh, -c, 'echo s-; if [ -e /dev/shm/again ]; then exit 0; fi; touch /dev/shm/again; exit 1'] }
  - { name: long, command: [sh, -c, 'echo long-up; exec sleep 60'] }
`)
    ok('pod', 'run', '-d', '-f', f)
    const short = background('pod', 'logs', 'multi', '-c', 'short', '-f')
    const { code } = await short.exit
    assert.equal(code, 0)
    assert.equal(short.stdout, 's-\ns-\n', 'both runs: the first failed, the restart succeeded')
    const rec = inspect('multi')
    assert.equal(rec.phase, 'Running')
    assert.deepEqual(rec.containers.map((c) => [c.name, c.state.status, c.restartCount]), [['short', 'terminated', 1], ['long', 'running', 0]])
    const all = background('pod', 'logs', 'multi', '-f')
    await all.waitFor('stdout', /\[long\] long-up\n/)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(all.child.exitCode, null, 'the pod still runs: still following')
    all.child.kill('SIGINT')
    const end = await all.exit
    assert.equal(end.code, 130)
    assert.deepEqual(all.stdout.split('\n').filter(Boolean).sort(), ['[long] long-up', '[short] s-', '[short] s-'])
  })

  it('errors: exit 2 naming the field for bad manifests, 1 for a name already running or unknown pods', () => {
    const dup = manifest('dup', `
metadata: { name: dup, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { containers: [{ name: a, command: [sleep, '30'] }, { name: a, command: [sleep, '30'] }] }
`)
    let r = podnet('pod', 'run', '-d', '-f', dup)
    assert.equal(r.status, 2)
    assert.equal(r.stderr, 'podnet: spec.containers[1].name: duplicate "a"\n')
    r = podnet('pod', 'run', '-d', '-f', manifest('pol', `
metadata: { name: pol, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { restartPolicy: Sometimes, containers: [{ name: a, command: [sleep, '30'] }] }
`), '--json')
    assert.equal(r.status, 2)
    assert.deepEqual(JSON.parse(r.stderr).error.field, 'spec.restartPolicy')
    r = podnet('pod', 'run', '-d', '-f', manifest('nofs', `
metadata: { name: nofs, annotations: { podnet.io/rootfs: ./missing } }
spec: { containers: [{ name: a, command: [sleep, '30'] }] }
`))
    assert.equal(r.status, 2)
    assert.equal(r.stderr, `podnet: metadata.annotations[podnet.io/rootfs]: rootfs ${join(dir, 'missing')} does not exist\n`)
    const good = manifest('once', `
metadata: { name: once, annotations: { podnet.io/rootfs: ${rootfs} } }
spec: { nodeName: n1, containers: [{ name: a, command: [sleep, '30'] }] }
`)
    r = podnet('pod', 'run', '-d', '-f', good)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, 'podnet: warning: spec.nodeName: not supported, ignored\n', "the supervisor parsed the manifest; its warnings reach the user")
    r = podnet('pod', 'run', '-d', '-f', good)
    assert.equal(r.status, 1)
    assert.equal(r.stderr, "podnet: pod 'once' already exists (running)\n")
    r = podnet('pod', 'inspect', 'nosuch')
    assert.equal(r.status, 1)
    assert.equal(r.stderr, "podnet: pod 'nosuch' does not exist\n")
    assert.equal(podnet('pod', 'logs', 'once', '-c', 'nosuch').status, 1)
  })

  it('the supervisor killed with SIGKILL: pods keep running; the next supervisor adopts them and applies the policy to exits it missed', async () => {
    const f = manifest('survivor', `
metadata: { name: survivor, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 0
  containers:
  - { name: steady, command: [sleep, '30'] }
  - { name: flaky, command: [sh, -c, 'sleep 2; exit 3'] }
`)
    ok('pod', 'run', '-d', '-f', f)
    const sup = JSON.parse(ok('pod', 'supervisor', 'status', '--json')) as { pid: number }
    const pidFile = readFileSync(join(stateDir, 'supervisor.pid'), 'utf8').trim()
    assert.equal(pidFile, String(sup.pid))
    process.kill(sup.pid, 'SIGKILL')
    await eventually(() => (processStartTime(sup.pid) === undefined ? true : undefined), 5000, 'the supervisor gone')
    const before = inspect('survivor')
    const steady = before.containers[0]!.state as { pid: number }
    const flaky = before.containers[1]!.state as { status: string; launcher: { pid: number; startTime: number } }
    assert.equal(flaky.status, 'running')
    // nobody supervises now: flaky exits (its launcher writes the exit record), steady keeps running
    await eventually(() => (isAlive(flaky.launcher) ? undefined : true), 5000, 'flaky ended')
    assert.ok(processStartTime(steady.pid) !== undefined, 'the workload survived its supervisor')
    assert.ok(isAlive(before.sandbox.pause), 'the pause survived')
    assert.deepEqual(inspect('survivor').containers[1]!.restartCount, before.containers[1]!.restartCount, 'no restart without a supervisor')
    // any pod command that needs the supervisor starts one; it adopts the pod
    ok('pod', 'supervisor', 'start')
    const rec = await eventually(() => {
      const r = inspect('survivor')
      return r.containers[1]!.restartCount > before.containers[1]!.restartCount ? r : undefined
    }, 10_000, 'flaky restarted by the new supervisor')
    assert.equal(rec.containers[1]!.lastState?.exitCode, 3)
    assert.equal(rec.containers[1]!.lastState?.reason, 'Error')
    assert.deepEqual([rec.containers[0]!.state.status, (rec.containers[0]!.state as { pid: number }).pid, rec.containers[0]!.restartCount], ['running', steady.pid, 0])
    assert.equal(rec.phase, 'Running')
    // and it still stops and removes everything
    ok('pod', 'rm', 'survivor', '-t', '0')
    assert.ok(processStartTime(steady.pid) === undefined)
    assert.ok(!isAlive(before.sandbox.pause))
    assert.ok(!cgroupExists(`${cgroupParent}/survivor`))
  })

  it('pod gc kills and removes a cgroup no pod accounts for', async () => {
    ok('pod', 'supervisor', 'start')
    const rel = `${cgroupParent}/ghost/ctr-x`
    for (const h of detectCgroupLayout().hierarchies) mkdirSync(join(h.mount, rel), { recursive: true })
    const child = spawn('sleep', ['30'], { stdio: 'ignore' })
    for (const h of detectCgroupLayout().hierarchies) writeFileSync(join(h.mount, rel, 'cgroup.procs'), String(child.pid))
    const exited = new Promise((r) => child.once('exit', r))
    const report = JSON.parse(ok('pod', 'gc', '--json')) as { removedCgroups: string[] }
    assert.deepEqual(report.removedCgroups, [`${cgroupParent}/ghost`])
    await exited
    assert.ok(!cgroupExists(`${cgroupParent}/ghost`))
  })
})
