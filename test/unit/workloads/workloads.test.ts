/** Workload validation (field paths, defaults), selectors, documents, deletion order, Job index ranges, events. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import type { PodRecord } from '../../../src/runtime/index.js'
import {
  WorkloadStore, canonical, deletionOrder, formatIndexes, matches, parseSelector, resolveKind, splitDocuments, validateDocument,
  type JobSpec, type ReplicaSetSpec,
} from '../../../src/workloads/index.js'

describe('workloads', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-workloads-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const rs = (spec: Record<string, unknown> = {}, tmpl: Record<string, unknown> = {}): Record<string, unknown> => ({
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' }, annotations: { 'podnet.io/rootfs': dir } }, spec: { containers: [{ name: 'c', command: ['sleep', '1'] }], ...tmpl } },
      ...spec,
    },
  })
  const job = (spec: Record<string, unknown> = {}, tmpl: Record<string, unknown> = { restartPolicy: 'Never' }): Record<string, unknown> => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi' },
    spec: { template: { metadata: { annotations: { 'podnet.io/rootfs': dir } }, spec: { containers: [{ name: 'c', command: ['true'] }], ...tmpl } }, ...spec },
  })
  const fails = (doc: unknown, field: string, re: RegExp): void => {
    assert.throws(() => validateDocument(doc, dir), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err))
      assert.equal(err.field, field)
      assert.match(err.message, re)
      return true
    })
  }

  it('fills in Kubernetes defaults', () => {
    const r = validateDocument(rs(), dir)
    assert.equal(r.kind, 'ReplicaSet')
    const s = r.spec as ReplicaSetSpec
    assert.equal(s.replicas, 1)
    assert.equal(s.minReadySeconds, 0)
    assert.equal(s.template.spec.restartPolicy, 'Always')
    const j = validateDocument(job(), dir).spec as JobSpec
    assert.deepEqual([j.completions, j.parallelism, j.backoffLimit, j.completionMode, j.suspend], [1, 1, 6, 'NonIndexed', false])
    const wq = validateDocument(job({ parallelism: 3 }), dir).spec as JobSpec
    assert.equal(wq.completions, undefined, 'parallelism alone: a work queue')
  })

  it('refuses bad input with the field path', () => {
    fails(rs({ replicas: -1 }), 'spec.replicas', /must be greater than or equal to 0, got -1/)
    fails(rs({ replicas: 1.5 }), 'spec.replicas', /must be an integer/)
    fails(rs({ selector: { matchLabels: { app: 'x' } } }), 'spec.template.metadata.labels', /does not match spec.selector \(app=x\)/)
    fails(rs({ selector: {} }), 'spec.selector', /empty selector/)
    fails(rs({ selector: undefined }), 'spec.selector', /required/)
    fails(rs({}, { restartPolicy: 'Never' }), 'spec.template.spec.restartPolicy', /unsupported value "Never": supported values: "Always"/)
    fails(rs({}, { containers: [{ name: 'C', command: ['x'] }] }), 'spec.template.spec.containers[0].name', /not valid/)
    fails(rs({ paused: true }), 'spec.paused', /unknown field/)
    fails(job({}, {}), 'spec.template.spec.restartPolicy', /required: supported values: "OnFailure", "Never"/)
    fails(job({}, { restartPolicy: 'Always' }), 'spec.template.spec.restartPolicy', /unsupported value "Always"/)
    fails(job({ completionMode: 'Indexed', completions: undefined, parallelism: 2 }), 'spec.completions', /required when completionMode is "Indexed"/)
    fails(job({ podFailurePolicy: {} }), 'spec.podFailurePolicy', /not supported by podnet/)
    fails(job({ selector: { matchLabels: { a: 'b' } } }), 'spec.selector', /not supported/)
    fails({ ...rs(), kind: 'Frob' }, 'kind', /unsupported kind "Frob"/)
    fails({ ...rs(), apiVersion: 'extensions/v1beta1' }, 'apiVersion', /does not serve kind "ReplicaSet": use "apps\/v1"/)
    fails({ ...rs(), metadata: { name: 'Web' } }, 'metadata.name', /not valid/)
    fails({ ...rs(), metadata: { name: 'web', namespace: 'kube-system' } }, 'metadata.namespace', /one namespace/)
    fails({ ...rs(), metadata: { name: 'web', labels: { 'a/b/c': 'x' } } }, 'metadata.labels[a/b/c]', /prefix part/)
    fails({ ...job(), metadata: { name: 'j'.repeat(64) } }, 'metadata.name', /no more than 63/)
  })

  it('matches selectors with matchLabels and every operator', () => {
    const sel = parseSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] }, 'spec.selector')
    assert.ok(matches(sel, { app: 'web', tier: 'a' }))
    assert.ok(!matches(sel, { app: 'web', tier: 'c' }))
    assert.ok(!matches(sel, { app: 'web', tier: 'a', x: '' }))
    assert.ok(!matches(sel, undefined))
    assert.throws(() => parseSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] }, 's'), /s\.matchExpressions\[0\]\.values: must be specified/)
  })

  it('splits multi-document YAML and Lists, skipping empty documents', () => {
    const docs = splitDocuments({ text: 'a: 1\n---\n---\nkind: List\nitems: [{b: 2}, {c: 3}]\n', baseDir: '/', source: 'f.yaml' })
    assert.deepEqual(docs.map((d) => d.where), ['f.yaml, document 1', 'f.yaml, document 3, items[0]', 'f.yaml, document 3, items[1]'])
    assert.throws(() => splitDocuments({ text: 'a: [', baseDir: '/', source: 'x' }), /manifest: not valid YAML/)
  })

  it('resolves kubectl resource names', () => {
    assert.deepEqual(['rs', 'replicasets', 'ReplicaSet', 'replicaset.apps', 'po', 'jobs', 'deploy', 'sts', 'ds'].map((k) => resolveKind(k)),
      ['ReplicaSet', 'ReplicaSet', 'ReplicaSet', 'ReplicaSet', 'Pod', 'Job', 'Deployment', 'StatefulSet', 'DaemonSet'])
    assert.throws(() => resolveKind('services'), /doesn't have a resource type "services"/)
  })

  it('scales down not-ready pods first, then the newest', () => {
    const at = (s: number): string => new Date(1_700_000_000_000 + s * 1000).toISOString()
    const pod = (name: string, created: number, ready: boolean): PodRecord => ({
      name, createdAt: at(created), phase: 'Running', spec: { annotations: {} } as PodRecord['spec'], sandbox: { state: 'ready', ips: [] },
      containers: [{ name: 'c', restartCount: 0, backoffStep: 0, logPath: '', state: ready ? { status: 'running', startedAt: at(created + 1), pid: 1, launcher: { pid: 1, startTime: 1 } } : { status: 'waiting', reason: 'CrashLoopBackOff' } }],
    })
    const order = deletionOrder([pod('old', 0, true), pod('new', 10, true), pod('broken', 5, false), pod('mid', 5, true)]).map((p) => p.name)
    assert.deepEqual(order, ['broken', 'new', 'mid', 'old'])
  })

  it('formats completed indexes as Kubernetes does', () => {
    assert.equal(formatIndexes([0, 1, 2, 4, 6, 7, 1]), '0-2,4,6-7')
    assert.equal(formatIndexes([]), '')
  })

  it('keeps objects and aggregates repeated events', () => {
    const s = new WorkloadStore({ stateDir: dir })
    s.addEvent('Job', 'pi', { type: 'Warning', reason: 'FailedCreate', message: 'x', involvedObject: { kind: 'Job', name: 'pi' } })
    s.addEvent('Job', 'pi', { type: 'Warning', reason: 'FailedCreate', message: 'x', involvedObject: { kind: 'Job', name: 'pi' } })
    s.addEvent('Job', 'pi', { type: 'Normal', reason: 'Completed', message: 'Job completed', involvedObject: { kind: 'Job', name: 'pi' } })
    const ev = s.events('Job', 'pi')
    assert.deepEqual(ev.map((e) => [e.reason, e.count]), [['FailedCreate', 2], ['Completed', 1]])
    assert.equal(canonical({ b: 1, a: { d: 1, c: 2 } }), canonical({ a: { c: 2, d: 1 }, b: 1 }))
  })
})
