/** Probes: the manifest's rules (Kubernetes' defaults and validation) and the pure result -> decision function. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import type { ContainerProbes, ProbeSpec } from '../../../src/runtime/probe-spec.js'
import { addEvent, applyProbeResult, dueProbes, initialProbeState, isReady, readyConditions, type ProbeRunState } from '../../../src/runtime/probe-state.js'

const probe = (over: Partial<ProbeSpec> = {}): ProbeSpec => ({
  exec: { command: ['true'] }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, ...over,
})

describe('runtime/probe-spec', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-probes-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))
  const doc = (c: Record<string, unknown>): Record<string, unknown> => ({
    metadata: { name: 'p', annotations: { 'podnet.io/rootfs': dir } },
    spec: { containers: [{ name: 'app', command: ['sleep', '1'], ...c }] },
  })
  const fails = (c: Record<string, unknown>, field: string, re: RegExp): void => {
    assert.throws(() => validateManifest(doc(c)), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err))
      assert.equal(err.field, field)
      assert.match(err.message, re)
      return true
    })
  }

  it("fills in Kubernetes' defaults (0 means the default too) and no warning", () => {
    const { spec, warnings } = validateManifest(doc({
      readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] } },
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0, timeoutSeconds: 0 },
    }))
    assert.deepEqual(warnings, [])
    const c = spec.containers[0]!
    assert.deepEqual(c.readinessProbe, { exec: { command: ['test', '-f', '/tmp/ready'] }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 })
    assert.deepEqual(c.livenessProbe?.tcpSocket, { port: 80 })
    assert.equal(c.livenessProbe?.periodSeconds, 10)
    assert.equal(c.livenessProbe?.timeoutSeconds, 1)
    assert.equal(c.startupProbe, undefined)
  })

  it('httpGet: path "/", scheme HTTP, a named port resolved against the container ports', () => {
    const { spec } = validateManifest(doc({
      ports: [{ containerPort: 8080, name: 'http' }],
      startupProbe: { httpGet: { port: 'http', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, failureThreshold: 30, periodSeconds: 1 },
    }))
    assert.deepEqual(spec.containers[0]!.startupProbe?.httpGet, { path: '/', port: 8080, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] })
  })

  it('refuses bad probes with the field path', () => {
    fails({ readinessProbe: { periodSeconds: -1, exec: { command: ['true'] } } }, 'spec.containers[0].readinessProbe.periodSeconds', /must be >= 0 \(0 or absent: the default, 10\), got -1/)
    fails({ readinessProbe: { failureThreshold: 1.5, exec: { command: ['true'] } } }, 'spec.containers[0].readinessProbe.failureThreshold', /must be an integer/)
    fails({ livenessProbe: {} }, 'spec.containers[0].livenessProbe', /must specify a handler type/)
    fails({ livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 1 } } }, 'spec.containers[0].livenessProbe.tcpSocket', /may not specify more than 1 handler type/)
    fails({ livenessProbe: { grpc: { port: 1 } } }, 'spec.containers[0].livenessProbe.grpc', /not supported/)
    fails({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }, 'spec.containers[0].livenessProbe.successThreshold', /must be 1 for livenessProbe, got 2/)
    fails({ startupProbe: { exec: { command: ['true'] }, successThreshold: 3 } }, 'spec.containers[0].startupProbe.successThreshold', /must be 1/)
    fails({ readinessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 5 } }, 'spec.containers[0].readinessProbe.terminationGracePeriodSeconds', /must not be set for readinessProbes/)
    fails({ readinessProbe: { exec: { command: [] } } }, 'spec.containers[0].readinessProbe.exec.command', /non-empty/)
    fails({ readinessProbe: { tcpSocket: {} } }, 'spec.containers[0].readinessProbe.tcpSocket.port', /required/)
    fails({ readinessProbe: { tcpSocket: { port: 70000 } } }, 'spec.containers[0].readinessProbe.tcpSocket.port', /from 1 to 65535/)
    fails({ readinessProbe: { tcpSocket: { port: 'web' } } }, 'spec.containers[0].readinessProbe.tcpSocket.port', /no port named "web" in spec.containers\[0\].ports/)
    fails({ readinessProbe: { tcpSocket: { port: 80, host: 'db.local' } } }, 'spec.containers[0].readinessProbe.tcpSocket.host', /not an IP address/)
    fails({ readinessProbe: { httpGet: { port: 80, scheme: 'FTP' } } }, 'spec.containers[0].readinessProbe.httpGet.scheme', /supported values: "HTTP", "HTTPS"/)
    fails({ readinessProbe: { httpGet: { port: 80, path: 'healthz' } } }, 'spec.containers[0].readinessProbe.httpGet.path', /must start with "\/"/)
    fails({ readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'Bad Header', value: 'x' }] } } }, 'spec.containers[0].readinessProbe.httpGet.httpHeaders[0].name', /not a valid HTTP header name/)
  })
})

describe('runtime/probe-state', () => {
  const step = (c: ContainerProbes, s: ProbeRunState, results: Array<[kind: 'startup' | 'readiness' | 'liveness', ok: boolean]>) => {
    const outs = []
    for (const [k, ok] of results) {
      const o = applyProbeResult(c, s, k, ok, ok ? '' : 'connection refused')
      s = o.state
      outs.push(o)
    }
    return { s, outs }
  }

  it('without probes a container is started and ready', () => {
    const s = initialProbeState({})
    assert.equal(isReady(s), true)
    assert.deepEqual(dueProbes({}, s), [])
  })

  it('readiness starts false; successThreshold successes make it ready, failureThreshold failures unready', () => {
    const c: ContainerProbes = { readinessProbe: probe({ successThreshold: 2, failureThreshold: 2 }) }
    let s = initialProbeState(c)
    assert.equal(isReady(s), false)
    let r = step(c, s, [['readiness', true]])
    assert.equal(r.outs[0]!.ready, false)
    r = step(c, r.s, [['readiness', true]])
    assert.equal(r.outs[0]!.ready, true)
    // one failure is not enough, and a success in between starts the count over
    r = step(c, r.s, [['readiness', false], ['readiness', true], ['readiness', false]])
    assert.deepEqual(r.outs.map((o) => o.ready), [true, true, true])
    assert.equal(r.outs[0]!.event?.message, 'Readiness probe failed: connection refused')
    r = step(c, r.s, [['readiness', false]])
    assert.equal(r.outs[0]!.ready, false)
    assert.equal(r.outs[0]!.kill, undefined) // readiness never kills
    s = r.s
    assert.equal(isReady(s), false)
  })

  it('liveness kills after failureThreshold consecutive failures, with the reason', () => {
    const c: ContainerProbes = { livenessProbe: probe({ failureThreshold: 3 }) }
    const r = step(c, initialProbeState(c), [['liveness', false], ['liveness', false], ['liveness', true], ['liveness', false], ['liveness', false], ['liveness', false]])
    assert.deepEqual(r.outs.map((o) => o.kill !== undefined), [false, false, false, false, false, true])
    assert.deepEqual(r.outs[5]!.kill, { kind: 'liveness', message: 'Liveness probe failed: connection refused' })
    assert.equal(r.outs[0]!.ready, true) // liveness does not gate readiness
  })

  it('a startup probe gates the others: nothing else runs (or counts) until it has passed', () => {
    const c: ContainerProbes = { startupProbe: probe({ failureThreshold: 5 }), livenessProbe: probe({ failureThreshold: 1 }), readinessProbe: probe() }
    let s = initialProbeState(c)
    assert.deepEqual(dueProbes(c, s), ['startup'])
    assert.equal(isReady(s), false)
    // a liveness failure before the start is ignored: no kill
    let r = step(c, s, [['liveness', false], ['startup', false], ['startup', false]])
    assert.deepEqual(r.outs.map((o) => o.kill), [undefined, undefined, undefined])
    assert.equal(r.outs[0]!.event, undefined)
    r = step(c, r.s, [['startup', true]])
    assert.equal(r.outs[0]!.started, true)
    assert.equal(r.outs[0]!.ready, false) // readiness has not passed yet
    assert.deepEqual(dueProbes(c, r.s), ['liveness', 'readiness'])
    r = step(c, r.s, [['readiness', true], ['liveness', false]])
    assert.equal(r.outs[0]!.ready, true)
    assert.equal(r.outs[1]!.kill?.kind, 'liveness')
    s = initialProbeState(c)
    r = step(c, s, [['startup', false], ['startup', false], ['startup', false], ['startup', false], ['startup', false]])
    assert.deepEqual(r.outs[4]!.kill, { kind: 'startup', message: 'Startup probe failed: connection refused' })
  })

  it('a restarted supervisor keeps what the record says about the same run', () => {
    const c: ContainerProbes = { startupProbe: probe(), readinessProbe: probe() }
    assert.equal(isReady(initialProbeState(c, { ready: true, started: true })), true)
    assert.equal(isReady(initialProbeState(c, { ready: true, started: false })), false)
    assert.equal(initialProbeState(c, { started: true }).started, true)
  })

  it('Ready and ContainersReady conditions: transition times kept while the status stays', () => {
    const t0 = '2026-01-01T00:00:00.000Z'
    const t1 = '2026-01-01T00:00:05.000Z'
    const a = readyConditions([{ name: 'app', ready: false }, { name: 'side', ready: true }], undefined, t0)!
    assert.deepEqual(a.find((c) => c.type === 'Ready'), { type: 'Ready', status: 'False', lastTransitionTime: t0, reason: 'ContainersNotReady', message: 'containers with unready status: [app]' })
    assert.equal(readyConditions([{ name: 'app', ready: false }, { name: 'side', ready: true }], a, t1), undefined)
    const b = readyConditions([{ name: 'app', ready: true }, { name: 'side', ready: true }], [{ type: 'Privileged', status: 'True', lastTransitionTime: t0 }, ...a], t1)!
    assert.deepEqual(b.map((c) => [c.type, c.status, c.lastTransitionTime]), [['Privileged', 'True', t0], ['ContainersReady', 'True', t1], ['Ready', 'True', t1]])
  })

  it('events: identical ones are counted, the last 20 kept', () => {
    let ev = addEvent(undefined, { type: 'Warning', reason: 'Unhealthy', message: 'x', container: 'a' }, 't0')
    ev = addEvent(ev, { type: 'Warning', reason: 'Unhealthy', message: 'x', container: 'a' }, 't1')
    assert.deepEqual(ev, [{ type: 'Warning', reason: 'Unhealthy', message: 'x', container: 'a', count: 2, firstTimestamp: 't0', lastTimestamp: 't1' }])
    for (let i = 0; i < 30; i++) ev = addEvent(ev, { type: 'Normal', reason: 'R', message: String(i) }, 't')
    assert.equal(ev.length, 20)
    assert.equal(ev[19]!.message, '29')
  })
})
