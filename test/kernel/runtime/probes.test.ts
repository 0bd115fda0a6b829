/**
 * Probes on real pods (busybox rootfs): readiness from an exec probe (`test -f`), tcpSocket
 * against busybox nc, httpGet against busybox httpd (200 ready, 404 not), a liveness failure
 * that restarts the container with the reason recorded, a startup probe that holds liveness
 * back, and, through the CLI, probes that resume after the supervisor is killed with SIGKILL
 * (pod ls READY, pod inspect --json conditions, describe events).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PodRecord } from '../../../src/runtime/index.js'
import { isAlive, processStartTime } from '../../../src/runtime/proc.js'
import { eventually, execIn, useCliWorld, useRuntime } from './support.js'

const cond = (rec: PodRecord, type: string): string | undefined => rec.conditions?.find((c) => c.type === type)?.status
const ctr = (rec: PodRecord, name = 'app') => rec.containers.find((c) => c.name === name)!
/** Whether something listens on TCP `port` in the network namespace of `pid` (/proc/PID/net/tcp, state 0A). */
const listening = (pid: number, port: number): boolean => {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  return ['tcp', 'tcp6'].flatMap((f) => readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1)).some((l) => {
    const f = l.trim().split(/\s+/)
    return f[1]?.endsWith(`:${hex}`) === true && f[3] === '0A'
  })
}
const pidOf = (rec: PodRecord, name = 'app'): number => {
  const st = ctr(rec, name).state
  assert.equal(st.status, 'running')
  return (st as { pid: number }).pid
}

describe('runtime/probes (in-process runtime)', function () {
  this.timeout(60_000)
  const fx = useRuntime()

  it('readinessProbe exec `test -f`: not ready (READY 0/1, Ready=False) until the file exists, unready again when it goes', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'ready-file',
      spec: { containers: [{ name: 'app', command: ['sleep', '1000'], readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    }))
    // a probe has run and failed: the event says so, the container and the pod are not ready
    let rec = await rt.waitFor('ready-file', (r) => (r.events ?? []).some((e) => e.reason === 'Unhealthy'), 15_000)
    assert.equal(ctr(rec).ready, false)
    assert.equal(cond(rec, 'Ready'), 'False')
    assert.equal(cond(rec, 'ContainersReady'), 'False')
    assert.match(rec.conditions!.find((c) => c.type === 'Ready')!.message!, /containers with unready status: \[app\]/)
    assert.equal(execIn(rec, 'app', ['test', '-f', '/tmp/ready']).status, 1) // the oracle: no file
    assert.equal(rt.store.read('ready-file')!.conditions?.find((c) => c.type === 'Ready')?.status, 'False') // what pod inspect reads
    assert.equal(execIn(rec, 'app', ['touch', '/tmp/ready']).status, 0)
    rec = await rt.waitFor('ready-file', (r) => cond(r, 'Ready') === 'True', 15_000)
    assert.equal(ctr(rec).ready, true)
    assert.equal(ctr(rec).started, true)
    assert.equal(rt.store.read('ready-file')!.conditions?.find((c) => c.type === 'Ready')?.status, 'True')
    assert.equal(execIn(rec, 'app', ['busybox', 'rm', '/tmp/ready']).status, 0)
    rec = await rt.waitFor('ready-file', (r) => cond(r, 'Ready') === 'False', 15_000)
    assert.equal(ctr(rec).restartCount, 0) // readiness never restarts
    assert.equal(ctr(rec).state.status, 'running')
  })

  it('readinessProbe tcpSocket: ready once busybox nc listens in the pod (on its loopback: the probe runs in the pod\'s namespace)', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'ready-tcp',
      spec: { containers: [{
        name: 'app', command: ['sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.1; done; exec nc -ll -p 9000 -e /bin/true'],
        readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 },
      }] },
    }))
    let rec = await rt.waitFor('ready-tcp', (r) => (r.events ?? []).some((e) => /Readiness probe failed: dial tcp 127\.0\.0\.1:9000: connect: connection refused/.test(e.message)), 15_000)
    const pid = pidOf(rec)
    assert.equal(listening(pid, 9000), false)
    assert.equal(ctr(rec).ready, false)
    execIn(rec, 'app', ['touch', '/tmp/go'])
    rec = await rt.waitFor('ready-tcp', (r) => ctr(r).ready === true, 15_000)
    assert.equal(listening(pid, 9000), true)
    assert.equal(cond(rec, 'Ready'), 'True')
  })

  it('readinessProbe httpGet against busybox httpd: 404 is a failure, 200 makes it ready', async () => {
    const { rt, rootfs } = fx()
    const page = `ok-${randomBytes(3).toString('hex')}.html`
    try {
      await fx().run(fx().spec({
        name: 'ready-http',
        spec: { containers: [{
          name: 'app', command: ['busybox', 'httpd', '-f', '-p', '8080', '-h', '/srv'], ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: `/${page}`, port: 'http' }, periodSeconds: 1 },
        }] },
      }))
      // (the first probe may come before httpd listens: connection refused)
      let rec = await rt.waitFor('ready-http', (r) => (r.events ?? []).some((e) => e.message === 'Readiness probe failed: HTTP probe failed with statuscode: 404'), 15_000)
      assert.equal(ctr(rec).ready, false)
      writeFileSync(join(rootfs, 'srv', page), 'ok\n')
      rec = await rt.waitFor('ready-http', (r) => cond(r, 'Ready') === 'True', 15_000)
      assert.equal(ctr(rec).ready, true)
    } finally {
      rmSync(join(rootfs, 'srv', page), { force: true })
    }
  })

  it('httpGet: a redirect (3xx: busybox httpd answers 302 for a directory without its slash) counts as success', async () => {
    const { rt, rootfs } = fx()
    const d = `d-${randomBytes(3).toString('hex')}`
    mkdirSync(join(rootfs, 'srv', d))
    writeFileSync(join(rootfs, 'srv', d, 'index.html'), 'ok\n')
    try {
      await fx().run(fx().spec({
        name: 'ready-redirect',
        spec: { containers: [{ name: 'app', command: ['busybox', 'httpd', '-f', '-p', '8080', '-h', '/srv'], readinessProbe: { httpGet: { path: `/${d}`, port: 8080 }, periodSeconds: 1 } }] },
      }))
      const rec = await rt.waitFor('ready-redirect', (r) => cond(r, 'Ready') === 'True', 15_000)
      assert.equal((rec.events ?? []).filter((e) => e.reason === 'Unhealthy').length, 0)
    } finally {
      rmSync(join(rootfs, 'srv', d), { recursive: true, force: true })
    }
  })

  it('livenessProbe failure: the container is killed and restarted (restart count, reason in lastState and events)', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'live',
      spec: { containers: [{
        name: 'app', command: ['sh', '-c', 'touch /tmp/alive; exec sleep 1000'],
        livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 },
      }] },
    }))
    let rec = await rt.waitFor('live', (r) => ctr(r).state.status === 'running', 15_000)
    const first = ctr(rec).state as { pid: number; launcher: { pid: number; startTime: number } }
    // alive: the probe passes (no event) while the file is there
    assert.equal(execIn(rec, 'app', ['busybox', 'rm', '/tmp/alive']).status, 0)
    rec = await rt.waitFor('live', (r) => ctr(r).restartCount === 1 && ctr(r).state.status === 'running', 30_000)
    const c = ctr(rec)
    assert.equal(c.lastState?.exitCode, 137) // sh as PID 1 ignores SIGTERM: SIGKILL after the grace period
    assert.match(c.lastState?.message ?? '', /^Liveness probe failed: command exited with 1$/)
    assert.equal(processStartTime(first.pid), undefined) // the old process is gone
    assert.equal(isAlive(first.launcher), false)
    assert.notEqual(pidOf(rec), first.pid)
    const ev = rec.events ?? []
    assert.ok(ev.some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: command exited with 1' && e.count >= 2), JSON.stringify(ev))
    assert.ok(ev.some((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'), JSON.stringify(ev))
    // the new run made its file again: it stays alive
    assert.equal(execIn(rec, 'app', ['test', '-f', '/tmp/alive']).status, 0)
  })

  it('livenessProbe failure under restartPolicy Never: killed, not restarted, the pod fails', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'live-never',
      spec: { restartPolicy: 'Never', containers: [{ name: 'app', command: ['sleep', '1000'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    }))
    const rec = await rt.waitFor('live-never', (r) => r.phase === 'Failed', 30_000)
    assert.equal(ctr(rec).restartCount, 0)
    assert.equal((ctr(rec).state as { message?: string }).message, 'Liveness probe failed: command exited with 1')
    assert.equal(ctr(rec).ready, false)
    assert.equal(cond(rec, 'Ready'), 'False')
  })

  it('startupProbe holds liveness back until it passes; then the failing liveness probe restarts the container', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'startup',
      spec: { containers: [{
        name: 'app', command: ['sleep', '1000'],
        startupProbe: { exec: { command: ['test', '-f', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 60 },
        livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
      }] },
    }))
    // three startup failures, no liveness probe run, no restart
    let rec = await rt.waitFor('startup', (r) => (r.events ?? []).some((e) => e.message.startsWith('Startup probe failed') && e.count >= 3), 30_000)
    assert.equal((rec.events ?? []).some((e) => e.message.startsWith('Liveness')), false)
    assert.equal(ctr(rec).restartCount, 0)
    assert.equal(ctr(rec).started, false)
    assert.equal(ctr(rec).ready, false)
    execIn(rec, 'app', ['touch', '/tmp/started'])
    rec = await rt.waitFor('startup', (r) => ctr(r).restartCount >= 1, 30_000)
    assert.match(ctr(rec).lastState?.message ?? '', /^Liveness probe failed/)
  })
})

describe('runtime/probes (CLI, supervisor killed with SIGKILL)', function () {
  this.timeout(120_000)
  const world = useCliWorld()

  it('probes resume for adopted pods: READY follows the readiness probe across a supervisor kill -9; describe shows the events', async () => {
    const w = world()
    const f = w.manifest('probed', `
apiVersion: v1
kind: Pod
metadata:
  name: probed
  annotations: { podnet.io/rootfs: ${w.rootfs}, podnet.io/network: ${w.network} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    command: [busybox, httpd, -f, -p, "8080", -h, /tmp]
    readinessProbe: { httpGet: { path: /ready.html, port: 8080 }, periodSeconds: 1 }
`)
    const run = w.podnet(['pod', 'run', '-d', '-f', f, '--host-netns', w.topo.host.name])
    assert.equal(run.status, 0, run.stderr)
    assert.doesNotMatch(run.stderr, /readinessProbe/) // no "ignored" warning any more
    const lsReady = (): string | undefined => / (\d\/\d) /.exec(w.ok('pod', 'ls').split('\n').find((l) => l.startsWith('probed')) ?? '')?.[1]
    await eventually(() => (w.inspect('probed').events?.some((e) => e.message === 'Readiness probe failed: HTTP probe failed with statuscode: 404') ? true : undefined), 20_000, 'a failed probe')
    assert.equal(lsReady(), '0/1')
    assert.equal(w.podnet(['pod', 'exec', 'probed', '--', 'sh', '-c', 'echo ok > /tmp/ready.html']).status, 0)
    await eventually(() => (lsReady() === '1/1' ? true : undefined), 20_000, 'READY 1/1')
    assert.equal(w.inspect('probed').conditions?.find((c) => c.type === 'Ready')?.status, 'True')

    const sup = w.supervisorPid()!
    process.kill(sup, 'SIGKILL')
    await eventually(() => (processStartTime(sup) === undefined ? true : undefined), 5000, 'the supervisor gone')
    assert.equal(w.podnet(['pod', 'exec', 'probed', '--', 'busybox', 'rm', '/tmp/ready.html']).status, 0)
    w.ok('pod', 'supervisor', 'start')
    // the new supervisor probes again: unready
    await eventually(() => (lsReady() === '0/1' ? true : undefined), 20_000, 'READY 0/1 after the restart')
    assert.equal(w.inspect('probed').conditions?.find((c) => c.type === 'Ready')?.status, 'False')
    const describe = w.ok('describe', 'pod', 'probed')
    assert.match(describe, /Ready:\s+false/)
    assert.match(describe, /Unhealthy .*Readiness probe failed: HTTP probe failed with statuscode: 404/)
  })
})
