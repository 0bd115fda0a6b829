/**
 * Pods on the real kernel, with an in-process PodRuntime: namespaces read from /proc and
 * compared with lsns, zombie reaping, IPC and localhost within a pod, hostname, restart policy
 * and back-off, memory and CPU limits, bad input that leaves nothing behind.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ExistsError, InvalidArgumentError } from '../../../src/errors.js'
import { detectCgroupLayout, namespaceTable, type PodRecord } from '../../../src/runtime/index.js'
import { cpuTicks, isAlive, nsInode, type NsKind } from '../../../src/runtime/proc.js'
import { cgroupExists, compileStatic, eventually, execIn, useRuntime } from './support.js'

const lsns = (pid: number): Map<string, number> => {
  const out = JSON.parse(execFileSync('lsns', ['-J', '-p', String(pid), '-o', 'NS,TYPE'], { encoding: 'utf8' })) as { namespaces: Array<{ ns: number; type: string }> }
  return new Map(out.namespaces.map((n) => [n.type, Number(n.ns)]))
}
const pidOf = (rec: PodRecord, c: string): number => {
  const st = rec.containers.find((x) => x.name === c)!.state
  assert.equal(st.status, 'running', `${c} is ${st.status}`)
  return (st as { pid: number }).pid
}
const log = (rec: PodRecord, c: string): string => readFileSync(rec.containers.find((x) => x.name === c)!.logPath, 'utf8')
const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}
const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return ''
  }
}
const stateOf = (pid: number): string | undefined => {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

describe('kernel: pods', function () {
  this.timeout(60_000)
  const t = useRuntime()

  it('two containers: net, ipc, uts shared with the pause; mnt and pid private; cgroup and user the host\'s (lsns agrees); every container has the pod hostname', async () => {
    const { rt, spec } = t()
    const sleeper = (n: string): object => ({ name: n, command: ['sh', '-c', 'hostname; exec sleep 30'] })
    const rec = await rt.run(spec({ name: 'ns2', spec: { hostname: 'ns-host', containers: [sleeper('a'), sleeper('b')] } }))
    const table = namespaceTable(rec)
    const by = new Map(table.map((r) => [r.kind, r]))
    assert.deepEqual(table.map((r) => r.members.map((m) => m.name)), Array(8).fill(['pause', 'a', 'b']))
    for (const k of ['net', 'ipc', 'uts'] as NsKind[]) assert.equal(by.get(k)!.sharing, 'pod', k)
    for (const k of ['mnt', 'pid'] as NsKind[]) assert.equal(by.get(k)!.sharing, 'private', k)
    for (const k of ['cgroup', 'user', 'time'] as NsKind[]) assert.equal(by.get(k)!.sharing, 'host', k)
    // the oracle: lsns(8) reads the same inodes
    for (const row of table) {
      for (const m of row.members) {
        const theirs = lsns(m.pid).get(row.kind)
        if (theirs !== undefined) assert.equal(m.inode, theirs, `${row.kind} of ${m.name}`)
      }
    }
    assert.equal(by.get('cgroup')!.members[1]!.inode, nsInode('self', 'cgroup'))
    assert.equal(by.get('user')!.members[2]!.inode, nsInode('self', 'user'))
    // each container is PID 1 of its own PID namespace
    for (const c of ['a', 'b']) assert.match(readFileSync(`/proc/${pidOf(rec, c)}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m)
    await eventually(() => (log(rec, 'a').includes('ns-host') && log(rec, 'b').includes('ns-host') ? true : undefined), 5000, 'hostname in the logs')
    assert.equal(execIn(rec, 'b', ['hostname']).stdout.trim(), 'ns-host')
    assert.match(execIn(rec, 'a', ['cat', '/etc/hosts']).stdout, /127\.0\.1\.1\tns-host/)
  })

  it('podnet.io/share-uts "false": each container has a UTS namespace of its own (not the pause\'s, not the host\'s) with the pod hostname; a hostname set in one (with CAP_SYS_ADMIN) stays there', async () => {
    const { rt, spec } = t()
    const hostBefore = hostname()
    const sleeper = (n: string): object => ({ name: n, command: ['sh', '-c', 'hostname; exec sleep 30'], securityContext: { capabilities: { add: ['SYS_ADMIN'] } } })
    const rec = await rt.run(spec({ name: 'uts', annotations: { 'podnet.io/share-uts': 'false' }, spec: { hostname: 'uts-host', containers: [sleeper('a'), sleeper('b')] } }))
    const pause = rec.sandbox.pause!.pid
    const [a, b] = [pidOf(rec, 'a'), pidOf(rec, 'b')]
    const uts = [nsInode(pause, 'uts'), nsInode(a, 'uts'), nsInode(b, 'uts'), nsInode('self', 'uts')]
    assert.ok(uts.every((i) => i !== undefined))
    assert.equal(new Set(uts).size, 4, `pause, a, b, host: ${uts.join(' ')}`)
    for (const k of ['net', 'ipc'] as NsKind[]) assert.deepEqual([nsInode(a, k), nsInode(b, k)], [nsInode(pause, k), nsInode(pause, k)], k)
    const table = namespaceTable(rec)
    assert.equal(table.find((r) => r.kind === 'uts')!.sharing, 'private')
    assert.equal(table.find((r) => r.kind === 'net')!.sharing, 'pod')
    // the pinned UTS namespace is the pause's
    assert.equal(statSync(rec.sandbox.pins!.uts).ino, nsInode(pause, 'uts'))
    // every container starts with the pod hostname (as does the pause's namespace)
    await eventually(() => (log(rec, 'a') === 'uts-host\n' && log(rec, 'b') === 'uts-host\n' ? true : undefined), 5000, 'hostname in the logs')
    for (const c of ['a', 'b']) {
      assert.equal(execIn(rec, c, ['hostname']).stdout, 'uts-host\n', c)
      assert.equal(execIn(rec, c, ['cat', '/etc/hostname']).stdout, 'uts-host\n', c)
    }
    assert.equal(execFileSync('nsenter', [`--uts=${rec.sandbox.pins!.uts}`, 'hostname'], { encoding: 'utf8' }), 'uts-host\n')
    // a hostname set in one container is seen nowhere else
    assert.equal(execIn(rec, 'a', ['hostname', 'renamed-a']).status, 0)
    assert.equal(execIn(rec, 'a', ['hostname']).stdout, 'renamed-a\n')
    assert.equal(execIn(rec, 'b', ['hostname']).stdout, 'uts-host\n')
    assert.equal(execFileSync('nsenter', [`--uts=${rec.sandbox.pins!.uts}`, 'hostname'], { encoding: 'utf8' }), 'uts-host\n')
    assert.equal(hostname(), hostBefore)
  })

  it('with the default share-uts, a hostname set in one container (with CAP_SYS_ADMIN) is the whole pod\'s (the pause\'s namespace), not the host\'s; without it, sethostname is refused', async () => {
    const { rt, spec } = t()
    const hostBefore = hostname()
    const admin = { capabilities: { add: ['SYS_ADMIN'] } }
    const rec = await rt.run(spec({ name: 'uts-shared', spec: { hostname: 'shared-host', containers: [{ name: 'a', command: ['sleep', '30'], securityContext: admin }, { name: 'b', command: ['sleep', '30'] }] } }))
    const refused = execIn(rec, 'b', ['hostname', 'renamed'])
    assert.notEqual(refused.status, 0)
    assert.match(refused.stderr, /not permitted/)
    assert.equal(execIn(rec, 'a', ['hostname', 'renamed']).status, 0)
    assert.equal(execIn(rec, 'b', ['hostname']).stdout, 'renamed\n')
    assert.equal(execFileSync('nsenter', [`--uts=${rec.sandbox.pins!.uts}`, 'hostname'], { encoding: 'utf8' }), 'renamed\n')
    assert.equal(hostname(), hostBefore)
  })

  it('shareProcessNamespace: one PID namespace, the pause is its PID 1 and reaps an orphaned grandchild', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'shared', spec: {
        shareProcessNamespace: true,
        containers: [
          { name: 'a', command: ['sleep', '30'] },
          // the inner sh exits at once: its child `sleep 0.5` is orphaned and becomes the pause's child
          { name: 'b', command: ['sh', '-c', 'sh -c "sleep 0.5 & exit 0"; exec sleep 30'] },
        ],
      },
    }))
    const table = namespaceTable(rec)
    const pid = table.find((r) => r.kind === 'pid')!
    assert.equal(pid.sharing, 'pod')
    assert.equal(table.find((r) => r.kind === 'mnt')!.sharing, 'private')
    const pause = rec.sandbox.pause!.pid
    assert.match(readFileSync(`/proc/${pause}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'the pause is PID 1')
    assert.match(execIn(rec, 'a', ['ps']).stdout, /^\s+1 \S+\s+\/usr\/bin\/catatonit -P$/m)
    const orphan = await eventually(() => children(pause).find((c) => cmdline(c).startsWith('sleep\x000.5')), 5000, 'the orphan under the pause')
    await eventually(() => (stateOf(orphan) === undefined ? true : undefined), 5000, 'the orphan reaped (no zombie)')
  })

  it('without a shared PID namespace the orphan stays a zombie of the container\'s PID 1 (as in Kubernetes)', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({ name: 'private', spec: { containers: [{ name: 'b', command: ['sh', '-c', 'sh -c "sleep 0.2 & exit 0"; exec sleep 30'] }] } }))
    const init = pidOf(rec, 'b')
    const orphan = await eventually(() => children(init).find((c) => cmdline(c).startsWith('sleep\x000.2')), 5000, 'the orphan under the container\'s PID 1')
    await eventually(() => (stateOf(orphan) === 'Z' ? true : undefined), 5000, 'a zombie')
  })

  it('IPC: System V shm and a POSIX message queue made in one container are seen by the other container, not by another pod', async () => {
    const { rt, spec, rootfs } = t()
    compileStatic(SHM_TOOL, join(rootfs, 'bin'), 'shmtool')
    const rec = await rt.run(spec({
      name: 'ipc1', spec: {
        containers: [
          { name: 'writer', command: ['sh', '-c', 'shmtool put 4242 hello-ipc && touch /dev/mqueue/podq && echo done; exec sleep 30'] },
          { name: 'reader', command: ['sleep', '30'] },
        ],
      },
    }))
    const other = await rt.run(spec({ name: 'ipc2', spec: { containers: [{ name: 'reader', command: ['sleep', '30'] }] } }))
    await eventually(() => (log(rec, 'writer').includes('done') ? true : undefined), 5000, 'the writer')
    const same = execIn(rec, 'reader', ['shmtool', 'get', '4242'])
    assert.equal(same.status, 0, same.stderr)
    assert.equal(same.stdout, 'hello-ipc')
    assert.match(execIn(rec, 'reader', ['cat', '/dev/mqueue/podq']).stdout, /QSIZE:0/)
    const notThere = execIn(other, 'reader', ['shmtool', 'get', '4242'])
    assert.equal(notThere.status, 1)
    assert.match(notThere.stderr, /No such file or directory/)
    assert.equal(execIn(other, 'reader', ['ls', '/dev/mqueue']).stdout, '')
  })

  it('localhost: a server in one container answers the other on 127.0.0.1', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'lo', spec: {
        containers: [
          { name: 'server', command: ['nc', '-ll', '-p', '8080', '-e', 'echo', 'hello-from-server'] },
          { name: 'client', command: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do nc 127.0.0.1 8080 && break; sleep 0.2; done; exec sleep 30'] },
        ],
      },
    }))
    await eventually(() => (log(rec, 'client').includes('hello-from-server') ? true : undefined), 5000, 'the answer')
  })

  it('restart policy: exit 0 and exit 1 under Always, OnFailure, Never restart exactly as Kubernetes does', async () => {
    const { rt, spec } = t()
    const cases = [
      { policy: 'Always', code: 0, restarts: true },
      { policy: 'Always', code: 1, restarts: true },
      { policy: 'OnFailure', code: 0, restarts: false, phase: 'Succeeded' },
      { policy: 'OnFailure', code: 1, restarts: true },
      { policy: 'Never', code: 0, restarts: false, phase: 'Succeeded' },
      { policy: 'Never', code: 1, restarts: false, phase: 'Failed' },
    ]
    const names = cases.map((c) => `rp-${c.policy.toLowerCase()}-${c.code}`)
    await Promise.all(cases.map((c, i) => rt.run(spec({ name: names[i]!, spec: { restartPolicy: c.policy, containers: [{ name: 'c', command: ['sh', '-c', `exit ${c.code}`] }] } }))))
    for (const [i, c] of cases.entries()) {
      const name = names[i]!
      if (c.restarts) {
        const rec = await rt.waitFor(name, (r) => r.containers[0]!.restartCount >= 2, 10_000)
        assert.equal(rec.phase, 'Running', name)
        assert.equal(rec.containers[0]!.lastState?.exitCode, c.code)
        assert.equal(rec.containers[0]!.lastState?.reason, c.code === 0 ? 'Completed' : 'Error')
      } else {
        const rec = await rt.waitFor(name, (r) => r.phase !== 'Running' && r.phase !== 'Pending', 10_000)
        assert.equal(rec.phase, c.phase, name)
        assert.equal(rec.containers[0]!.restartCount, 0)
        const st = rec.containers[0]!.state
        assert.ok(st.status === 'terminated' && st.exitCode === c.code && st.reason === (c.code === 0 ? 'Completed' : 'Error'))
        assert.equal(rec.sandbox.state, 'stopped', 'a finished pod has no sandbox')
        assert.ok(!isAlive(rec.sandbox.pause))
      }
    }
  })

  it('CrashLoopBackOff: the delay doubles from the base (100 ms here)', async () => {
    const { rt, spec } = t()
    const starts: number[] = []
    const onChange = (r: PodRecord): void => {
      const last = r.name === 'backoff' ? r.containers[0]!.lastState : undefined
      if (last) {
        const s = Date.parse(last.startedAt)
        if (!starts.includes(s)) starts.push(s)
      }
    }
    rt.on('change', onChange)
    try {
      await rt.run(spec({ name: 'backoff', spec: { containers: [{ name: 'c', command: ['false'] }] } }))
      const rec = await rt.waitFor('backoff', (r) => r.containers[0]!.restartCount >= 5, 20_000)
      assert.equal(rec.containers[0]!.state.status === 'waiting' ? rec.containers[0]!.state.reason : 'CrashLoopBackOff', 'CrashLoopBackOff')
    } finally {
      rt.off('change', onChange)
    }
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!)
    assert.ok(gaps.length >= 4, `starts: ${starts.join(',')}`)
    // gap i = run time (a few ms) + 100 * 2^i
    gaps.slice(0, 4).forEach((g, i) => {
      const want = 100 * 2 ** i
      assert.ok(g >= want && g < want + 150, `gap ${i} is ${g} ms, want about ${want} ms (gaps: ${gaps.join(', ')})`)
    })
  })

  it('memory limit: allocating past it is OOM-killed, and the policy applies', async () => {
    const { rt, spec } = t()
    await rt.run(spec({
      name: 'oom', spec: {
        restartPolicy: 'OnFailure',
        containers: [{ name: 'hog', command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], resources: { limits: { memory: '16Mi' } } }],
      },
    }))
    const rec = await rt.waitFor('oom', (r) => r.containers[0]!.restartCount >= 1 && r.containers[0]!.lastState !== undefined, 10_000)
    const last = rec.containers[0]!.lastState!
    assert.equal(last.reason, 'OOMKilled')
    assert.equal(last.exitCode, 137)
    assert.equal(last.signal, 9)
    const mem = detectCgroupLayout().byController.memory!
    const file = mem.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'
    assert.equal(readFileSync(join(mem.mount, rec.containers[0]!.cgroup!, file), 'utf8').trim(), String(16 * 2 ** 20))
  })

  it('CPU limit: a busy loop under 200m uses about 20% of one CPU', async function () {
    const { rt, spec } = t()
    const rec = await rt.run(spec({ name: 'cpu', spec: { containers: [{ name: 'spin', command: ['sh', '-c', 'while :; do :; done'], resources: { limits: { cpu: '200m' } } }] } }))
    const pid = pidOf(rec, 'spin')
    const cpu = detectCgroupLayout().byController.cpu!
    if (cpu.version === 1) assert.equal(readFileSync(join(cpu.mount, rec.containers[0]!.cgroup!, 'cpu.cfs_quota_us'), 'utf8').trim(), '20000')
    else assert.equal(readFileSync(join(cpu.mount, rec.containers[0]!.cgroup!, 'cpu.max'), 'utf8').trim(), '20000 100000')
    await new Promise((r) => setTimeout(r, 300))
    const t0 = cpuTicks(pid)!
    const w0 = Date.now()
    await new Promise((r) => setTimeout(r, 2000))
    const used = ((cpuTicks(pid)! - t0) * 10) / (Date.now() - w0) // 100 ticks per second
    assert.ok(used > 0.12 && used < 0.3, `used ${(used * 100).toFixed(1)}% of a CPU`)
  })

  it('a command not found in the rootfs: the container fails with StartError, the reason is visible, the policy applies', async () => {
    const { rt, spec } = t()
    await rt.run(spec({ name: 'nocmd', spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', command: ['no-such-program', 'x'] }] } }))
    const rec = await rt.waitFor('nocmd', (r) => r.containers[0]!.restartCount >= 1, 10_000)
    const last = rec.containers[0]!.lastState!
    assert.equal(last.reason, 'StartError')
    assert.equal(last.exitCode, 127)
    assert.equal(last.message, 'exec "no-such-program": executable file not found in $PATH')
    await rt.stop('nocmd', { gracePeriodSeconds: 0 })
    await rt.run(spec({ name: 'nocmd-never', spec: { restartPolicy: 'Never', containers: [{ name: 'c', command: ['/bin/nope'] }] } }))
    const never = await rt.waitFor('nocmd-never', (r) => r.phase === 'Failed', 10_000)
    assert.equal((never.containers[0]!.state as { reason: string }).reason, 'StartError')
  })

  it('stop: SIGTERM, then SIGKILL after the grace period; a handled SIGTERM ends it at once', async () => {
    const { rt, spec } = t()
    await rt.run(spec({
      name: 'stopper', spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'polite', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.05; done'] },
          { name: 'deaf', command: ['sleep', '30'] }, // PID 1 without a handler: SIGTERM is ignored
        ],
      },
    }))
    const t0 = Date.now()
    const rec = await rt.stop('stopper')
    const took = Date.now() - t0
    assert.ok(took >= 1000 && took < 4000, `stop took ${took} ms`)
    const [polite, deaf] = rec.containers
    assert.deepEqual([polite!.state.status, (polite!.state as { exitCode: number }).exitCode], ['terminated', 0])
    assert.deepEqual([deaf!.state.status, (deaf!.state as { exitCode: number }).exitCode], ['terminated', 137])
    assert.deepEqual([(polite!.state as { reason: string }).reason, (deaf!.state as { reason: string }).reason], ['Completed', 'Stopped'], 'a run the stop ended is not an Error')
    assert.deepEqual([rec.phase, rec.reason], ['Succeeded', 'Stopped'], 'a deliberate stop is not a failure')
    assert.equal(rec.sandbox.state, 'stopped')
  })

  it('records: the live record, pins, /dev/shm, /etc files and exit records in the run dir (tmpfs); the state dir is written at creation, once running (the addresses a restore asks for again) and at the end, never on restarts', async () => {
    const { rt, spec, stateDir, runDir } = t()
    const rec = await rt.run(spec({ name: 'split', spec: { restartPolicy: 'OnFailure', containers: [{ name: 'flaky', command: ['sh', '-c', 'sleep 0.2; exit 1'] }, { name: 'steady', command: ['sleep', '30'] }] } }))
    const persistent = join(stateDir, 'pods', 'split', 'pod.json')
    const live = join(runDir, 'pods', 'split', 'status.json')
    const created = statSync(persistent).mtimeMs
    assert.equal((JSON.parse(readFileSync(persistent, 'utf8')) as PodRecord).phase, 'Running', 'the record once running')
    await rt.waitFor('split', (r) => r.containers[0]!.restartCount >= 2, 10_000)
    assert.equal(statSync(persistent).mtimeMs, created, 'restarts do not touch the state dir')
    const cur = JSON.parse(readFileSync(live, 'utf8')) as PodRecord
    assert.deepEqual([cur.phase, cur.containers[0]!.restartCount >= 2], ['Running', true])
    assert.deepEqual(rt.store.read('split')!.containers[0]!.restartCount, cur.containers[0]!.restartCount)
    for (const p of [rec.sandbox.pins!.net, rec.sandbox.pins!.uts, rec.sandbox.shm!, rec.sandbox.hostsFile!]) assert.ok(p.startsWith(`${runDir}/pods/split/`), p)
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.includes('/pods/split/'))
    assert.deepEqual(mounts.sort(), [`${runDir}/pods/split/ns/ipc`, `${runDir}/pods/split/ns/net`, `${runDir}/pods/split/ns/uts`, `${runDir}/pods/split/shm`])
    assert.equal(readFileSync(rec.containers[0]!.logPath, 'utf8'), '', 'logs stay in the state dir')
    assert.ok(rec.containers[0]!.logPath.startsWith(`${stateDir}/pods/split/logs/`))
    await rt.stop('split', { gracePeriodSeconds: 0 })
    const final = JSON.parse(readFileSync(persistent, 'utf8')) as PodRecord
    // flaky, failing (exit 1) between restarts, still fails the pod; ended by the stop while it ran, it does not
    const flaky = final.containers[0]!.state as { reason: string }
    assert.deepEqual([final.phase, final.reason, final.sandbox.state], [flaky.reason === 'Stopped' ? 'Succeeded' : 'Failed', 'Stopped', 'stopped'])
    assert.ok(!existsSync(live), 'no live record once the pod has ended')
    assert.deepEqual(rt.store.read('split'), final)
    await rt.remove('split')
    assert.ok(!existsSync(join(stateDir, 'pods', 'split')))
    assert.ok(!existsSync(join(runDir, 'pods', 'split')))
  })

  it('bad input leaves nothing behind: a running name, a missing rootfs, an unparsable limit', async () => {
    const { rt, spec, stateDir, cgroupParent } = t()
    await rt.run(spec({ name: 'dup', spec: { containers: [{ name: 'c', command: ['sleep', '30'] }] } }))
    await assert.rejects(rt.run(spec({ name: 'dup', spec: { containers: [{ name: 'c', command: ['sleep', '30'] }] } })), (e: unknown) => e instanceof ExistsError && /pod 'dup' already exists \(running\)/.test(e.message))
    const bad = spec({ name: 'norootfs', spec: { containers: [{ name: 'c', command: ['true'] }] } })
    bad.containers[0]!.rootfs = '/nonexistent/rootfs'
    await assert.rejects(rt.run(bad), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'spec.containers[0].rootfs' && /does not exist/.test(e.message))
    assert.ok(!existsSync(join(stateDir, 'pods', 'norootfs')))
    assert.throws(() => spec({ name: 'badmem', spec: { containers: [{ name: 'c', command: ['true'], resources: { limits: { memory: 'lots' } } }] } }), /spec\.containers\[0\]\.resources\.limits\.memory: cannot parse "lots"/)
    await rt.remove('dup', { gracePeriodSeconds: 0 })
    assert.deepEqual(readdirSync(join(stateDir, 'pods')), [])
    assert.ok(!cgroupExists(`${cgroupParent}/dup`))
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(stateDir), 'no pin or shm mount left')
  })
})

/** SysV shared memory for the IPC test (busybox has no ipcmk): put KEY TEXT | get KEY. */
const SHM_TOOL = `
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  key_t key = (key_t)atoi(argv[2]);
  int put = !strcmp(argv[1], "put");
  int id = shmget(key, 4096, put ? IPC_CREAT | 0600 : 0);
  if (id < 0) { fprintf(stderr, "shmget: %s\\n", strerror(errno)); return 1; }
  char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { fprintf(stderr, "shmat: %s\\n", strerror(errno)); return 1; }
  if (put) strncpy(p, argc > 3 ? argv[3] : "", 4095);
  else fputs(p, stdout);
  return 0;
}
`
