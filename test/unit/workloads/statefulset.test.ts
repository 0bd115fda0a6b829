/**
 * The StatefulSet controller as a pure step (no kernel): a small model of the pods plays the
 * other side (a created pod starts not ready; the test says when it becomes ready or when a
 * deleted one is gone), and each step is checked against Kubernetes' ordering: OrderedReady
 * creates NAME-i only once every lower pod is Running and Ready, stops from the highest ordinal
 * and waits for each to be gone; Parallel acts at once; RollingUpdate goes down from the highest
 * ordinal to the partition, one pod at a time; OnDelete replaces only deleted pods. Also
 * revisions, the pods' identity, and validation with field paths.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import { podSpecFromTemplate } from '../../../src/workloads/template.js'
import type { ControllerContext } from '../../../src/workloads/context.js'
import { StatefulSetFiles } from '../../../src/workloads/statefulset-state.js'
import { addressReservationKey, syncStatefulSet } from '../../../src/workloads/statefulset.js'
import type { PodSpec } from '../../../src/runtime/manifest.js'
import type { PodRecord } from '../../../src/runtime/types.js'
import {
  identityTemplate, nextRevisions, ordinalOf, planStatefulSet, validateDocument,
  type PodTemplateSpec, type StatefulSet, type StatefulSetPlan, type StatefulSetSpec, type StsPodView, type StsRevision,
} from '../../../src/workloads/index.js'

const tmpl = (v: string): PodTemplateSpec => ({ metadata: { labels: { app: 'db' } }, spec: { restartPolicy: 'Always', containers: [{ name: 'c', command: ['sleep', v] }] } })

function sts(spec: Partial<StatefulSetSpec> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default', uid: 'u1', generation: 1, creationTimestamp: '2026-12-03T00:00:00Z' },
    spec: {
      replicas: 3, selector: { matchLabels: { app: 'db' } }, template: tmpl('1'), serviceName: 'db', podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, volumeClaimTemplates: [],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' }, minReadySeconds: 0, revisionHistoryLimit: 10, ...spec,
    },
  }
}

/** The pods as the controller sees them; a test moves them along (ready, gone). */
class Pods {
  list: StsPodView[] = []
  /** Every action in order, as "create db-0@A" / "delete db-2". */
  log: string[] = []
  readonly revs: { current: string; update: string }
  constructor(revs: { current: string; update: string }) {
    this.revs = revs
  }

  step(s: StatefulSet): StatefulSetPlan {
    const plan = planStatefulSet(s, this.list, this.revs)
    for (const a of plan.actions) {
      if (a.type === 'create') {
        // the name cannot be taken twice: a create while the old pod exists is the controller's bug
        assert.ok(!this.list.some((p) => p.name === a.name), `${a.name} created while it exists`)
        this.list.push({ name: a.name, ordinal: a.ordinal, revision: a.revision, phase: 'Pending', terminating: false, ready: false, available: false })
        this.log.push(`create ${a.name}@${a.revision}`)
      } else {
        const p = this.list.find((x) => x.name === a.name)!
        p.terminating = true
        p.ready = false
        p.available = false
        this.log.push(`delete ${a.name}`)
      }
    }
    s.status = plan.status
    return plan
  }

  ready(name: string): void {
    const p = this.list.find((x) => x.name === name)!
    Object.assign(p, { phase: 'Running', ready: true, available: true })
  }

  gone(name: string): void {
    this.list = this.list.filter((p) => p.name !== name)
  }

  running(n: number, revision: string): void {
    for (let i = 0; i < n; i++) this.list.push({ name: `db-${i}`, ordinal: i, revision, phase: 'Running', terminating: false, ready: true, available: true })
  }
}

describe('workloads: StatefulSet planner', () => {
  it('OrderedReady: creates db-i only once db-0..i-1 are Running and Ready, one at a time', () => {
    const s = sts()
    const w = new Pods({ current: 'A', update: 'A' })
    let plan = w.step(s)
    assert.deepEqual(w.log, ['create db-0@A'])
    for (let k = 0; k < 3; k++) {
      plan = w.step(s)
      assert.deepEqual(plan.actions, [], 'nothing while db-0 is not ready')
      assert.equal(plan.waiting, 'db-0 to be Running and Ready')
    }
    w.ready('db-0')
    w.step(s)
    assert.deepEqual(w.log, ['create db-0@A', 'create db-1@A'])
    w.step(s)
    assert.deepEqual(w.log.length, 2, 'db-2 waits for db-1')
    w.ready('db-1')
    w.step(s)
    w.ready('db-2')
    plan = w.step(s)
    assert.deepEqual(w.log, ['create db-0@A', 'create db-1@A', 'create db-2@A'])
    assert.deepEqual(plan.actions, [])
    assert.equal(plan.waiting, undefined)
    assert.deepEqual([plan.status.replicas, plan.status.readyReplicas, plan.status.currentReplicas, plan.status.updatedReplicas], [3, 3, 3, 3])
  })

  it('OrderedReady: waits for minReadySeconds (available) before the next pod', () => {
    const s = sts({ minReadySeconds: 5 })
    const w = new Pods({ current: 'A', update: 'A' })
    w.step(s)
    Object.assign(w.list[0]!, { phase: 'Running', ready: true, available: false })
    const plan = w.step(s)
    assert.deepEqual(plan.actions, [])
    assert.equal(plan.waiting, 'db-0 to be available (minReadySeconds)')
  })

  it('OrderedReady: a pod below that stops being ready holds the ones above', () => {
    const s = sts()
    const w = new Pods({ current: 'A', update: 'A' })
    w.running(2, 'A')
    Object.assign(w.list[0]!, { ready: false, available: false })
    const plan = w.step(s)
    assert.deepEqual(plan.actions, [], 'db-2 is not created while db-0 is not ready')
  })

  it('OrderedReady: scales down from the highest ordinal, each gone before the next', () => {
    const s = sts({ replicas: 4 })
    const w = new Pods({ current: 'A', update: 'A' })
    w.running(4, 'A')
    s.spec.replicas = 1
    w.step(s)
    assert.deepEqual(w.log, ['delete db-3'])
    for (let k = 0; k < 2; k++) assert.deepEqual(w.step(s).actions, [], 'db-2 waits while db-3 terminates')
    w.gone('db-3')
    w.step(s)
    w.step(s)
    w.gone('db-2')
    w.step(s)
    w.gone('db-1')
    assert.deepEqual(w.step(s).actions, [])
    assert.deepEqual(w.log, ['delete db-3', 'delete db-2', 'delete db-1'])
    assert.deepEqual(w.list.map((p) => p.name), ['db-0'])
  })

  it('OrderedReady: a scale down waits while a lower pod is not ready, but an unhealthy top pod may go', () => {
    const s = sts()
    const w = new Pods({ current: 'A', update: 'A' })
    w.running(3, 'A')
    Object.assign(w.list[1]!, { ready: false, available: false })
    s.spec.replicas = 2
    assert.deepEqual(w.step(s).actions, [], 'db-1 is not ready: no scale down')
    Object.assign(w.list[1]!, { ready: true, available: true })
    Object.assign(w.list[2]!, { ready: false, available: false })
    w.step(s)
    assert.deepEqual(w.log, ['delete db-2'], 'the first unhealthy pod is the condemned one: it goes')
  })

  it('an ended pod is deleted and made again once gone', () => {
    const s = sts()
    const w = new Pods({ current: 'A', update: 'A' })
    w.running(3, 'A')
    Object.assign(w.list[1]!, { phase: 'Failed', ready: false, available: false })
    w.step(s)
    assert.deepEqual(w.log, ['delete db-1'])
    assert.deepEqual(w.step(s).actions, [])
    w.gone('db-1')
    w.step(s)
    assert.deepEqual(w.log, ['delete db-1', 'create db-1@A'])
  })

  it('Parallel: creates every missing pod at once and deletes every surplus one at once', () => {
    const s = sts({ podManagementPolicy: 'Parallel', replicas: 4 })
    const w = new Pods({ current: 'A', update: 'A' })
    w.step(s)
    assert.deepEqual(w.log, ['create db-0@A', 'create db-1@A', 'create db-2@A', 'create db-3@A'])
    assert.deepEqual(w.step(s).actions, [], 'nothing more while they start')
    for (const p of w.list) w.ready(p.name)
    s.spec.replicas = 1
    w.log = []
    w.step(s)
    assert.deepEqual(w.log, ['delete db-3', 'delete db-2', 'delete db-1'])
  })

  it('RollingUpdate: from the highest ordinal down, one at a time, each Ready before the next; the partition keeps the ordinals below it', () => {
    const s = sts({ replicas: 4, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } })
    const w = new Pods({ current: 'A', update: 'B' })
    w.running(4, 'A')
    let plan = w.step(s)
    assert.deepEqual(w.log, ['delete db-3'])
    assert.equal(plan.status.currentRevision, 'A', 'not complete')
    assert.deepEqual(w.step(s).actions, [], 'waits until db-3 is gone')
    w.gone('db-3')
    w.step(s)
    assert.deepEqual(w.log, ['delete db-3', 'create db-3@B'])
    assert.deepEqual(w.step(s).actions, [], 'db-2 waits for db-3 to be ready')
    w.ready('db-3')
    w.step(s)
    w.gone('db-2')
    w.step(s)
    w.ready('db-2')
    plan = w.step(s)
    assert.deepEqual(w.log, ['delete db-3', 'create db-3@B', 'delete db-2', 'create db-2@B'])
    assert.deepEqual(plan.actions, [], 'db-0 and db-1 are below the partition')
    assert.deepEqual([plan.status.currentRevision, plan.status.updateRevision, plan.status.currentReplicas, plan.status.updatedReplicas], ['A', 'B', 2, 2])
    // a pod below the partition deleted by someone: made again from the current revision
    w.list.find((p) => p.name === 'db-0')!.terminating = true
    w.gone('db-0')
    w.step(s)
    assert.equal(w.log.at(-1), 'create db-0@A')
    w.ready('db-0')
    // partition lowered to 0: the rest are updated, and the rollout completes
    s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }
    w.step(s)
    assert.equal(w.log.at(-1), 'delete db-1')
    w.gone('db-1'); w.step(s); w.ready('db-1'); w.step(s)
    w.gone('db-0'); w.step(s); w.ready('db-0')
    plan = w.step(s)
    assert.deepEqual(w.log.slice(-4), ['delete db-1', 'create db-1@B', 'delete db-0', 'create db-0@B'])
    assert.deepEqual(plan.actions, [])
    assert.deepEqual([plan.status.currentRevision, plan.status.currentReplicas, plan.status.updatedReplicas], ['B', 4, 4], 'completeRollingUpdate')
  })

  it('RollingUpdate under Parallel still replaces one pod at a time', () => {
    const s = sts({ podManagementPolicy: 'Parallel' })
    const w = new Pods({ current: 'A', update: 'B' })
    w.running(3, 'A')
    w.step(s)
    assert.deepEqual(w.log, ['delete db-2'])
    w.gone('db-2')
    w.step(s)
    assert.deepEqual(w.step(s).actions, [], 'db-1 waits for the new db-2 to be ready')
  })

  it('OnDelete: a template change replaces nothing; a deleted pod comes back from the update revision', () => {
    const s = sts({ updateStrategy: { type: 'OnDelete' } })
    const w = new Pods({ current: 'A', update: 'B' })
    w.running(3, 'A')
    const plan = w.step(s)
    assert.deepEqual(plan.actions, [])
    assert.equal(plan.status.currentRevision, 'A')
    w.gone('db-1')
    w.step(s)
    assert.deepEqual(w.log, ['create db-1@B'])
    w.ready('db-1')
    assert.deepEqual(w.step(s).actions, [])
    assert.deepEqual([w.step(s).status.currentReplicas, w.step(s).status.updatedReplicas], [2, 1])
  })

  it('knows its pods by name: NAME-<ordinal>, no leading zeros', () => {
    assert.equal(ordinalOf('db', 'db-0'), 0)
    assert.equal(ordinalOf('db', 'db-12'), 12)
    assert.equal(ordinalOf('db', 'db-01'), undefined)
    assert.equal(ordinalOf('db', 'db-x'), undefined)
    assert.equal(ordinalOf('db', 'dbx-1'), undefined)
    assert.equal(ordinalOf('db-1', 'db-1-0'), 0)
  })
})

describe('workloads: StatefulSet revisions and identity', () => {
  it('keeps the current revision until the update is complete; a template put back is the newest revision again', () => {
    const s = sts()
    let r = nextRevisions(s, [], new Set())
    assert.match(r.update, /^db-[bcdfghjklmnpqrstvwxz2456789]+$/)
    assert.equal(r.current, r.update)
    assert.deepEqual(r.revisions.map((x) => x.revision), [1])
    const first = r.update
    s.status = { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, currentRevision: first, updateRevision: first, collisionCount: 0 }
    s.spec.template = tmpl('2')
    r = nextRevisions(s, r.revisions, new Set([first]))
    assert.notEqual(r.update, first)
    assert.equal(r.current, first)
    assert.deepEqual(r.revisions.map((x) => [x.name, x.revision]), [[first, 1], [r.update, 2]])
    const second = r.update
    s.spec.template = tmpl('1')
    r = nextRevisions(s, r.revisions, new Set([first, second]))
    assert.equal(r.update, first)
    assert.deepEqual(r.revisions.map((x) => [x.name, x.revision]), [[second, 2], [first, 3]])
  })

  it('drops unused revisions past revisionHistoryLimit', () => {
    const s = sts({ revisionHistoryLimit: 1 })
    const kept: StsRevision[] = [1, 2, 3].map((i) => ({ name: `db-r${i}`, revision: i, template: tmpl(`old${i}`) }))
    const r = nextRevisions(s, kept, new Set())
    assert.deepEqual(r.revisions.map((x) => x.name), ['db-r3', r.update])
  })

  it('raises collisionCount when the hashed name holds another template', () => {
    const s = sts()
    const name = nextRevisions(s, [], new Set()).update
    const r = nextRevisions(s, [{ name, revision: 1, template: tmpl('other') }], new Set([name]))
    assert.notEqual(r.update, name)
    assert.equal(r.collisionCount, 1)
  })

  it('gives each pod its identity: hostname, subdomain, labels, claims as volumes', () => {
    const s = sts({
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' } }],
    })
    s.spec.template.spec.volumes = [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: {} }]
    const t = identityTemplate(s, { name: 'db-abc', revision: 1, template: s.spec.template }, 2)
    assert.equal(t.spec.hostname, 'db-2')
    assert.equal(t.spec.subdomain, 'db')
    assert.deepEqual(t.metadata.labels, { app: 'db', 'controller-revision-hash': 'db-abc', 'statefulset.kubernetes.io/pod-name': 'db-2', 'apps.kubernetes.io/pod-index': '2' })
    assert.deepEqual(t.spec.volumes, [{ name: 'tmp', emptyDir: {} }, { name: 'data', persistentVolumeClaim: { claimName: 'data-db-2' } }])
    const rootfs = mkdtempSync(join(tmpdir(), 'podnet-sts-'))
    try {
      t.metadata.annotations = { 'podnet.io/rootfs': rootfs }
      const spec = podSpecFromTemplate(t, 'db-2', {}, { claimDirs: { 'data-db-2': '/var/lib/podnet/workloads/volumes/db/data-db-2' } })
      assert.deepEqual(spec.volumes?.find((v) => v.name === 'data'), { name: 'data', persistentVolumeClaim: { claimName: 'data-db-2', path: '/var/lib/podnet/workloads/volumes/db/data-db-2' } })
      assert.equal(spec.hostname, 'db-2')
      assert.equal(spec.subdomain, 'db')
      assert.throws(() => podSpecFromTemplate(t, 'db-2'), /spec\.volumes\[1\]\.persistentVolumeClaim\.claimName: persistentvolumeclaim "data-db-2" not found/)
    } finally {
      rmSync(rootfs, { recursive: true, force: true })
    }
    delete s.spec.serviceName
    assert.equal(identityTemplate(s, { name: 'db-abc', revision: 1, template: { ...s.spec.template, spec: { ...s.spec.template.spec, subdomain: 'x' } } }, 0).spec.subdomain, undefined)
  })
})

describe('workloads: StatefulSet address reservations (syncStatefulSet with a fake context)', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-sts-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('each pod it makes carries its ordinal\'s key (and asks for the recorded address); live pods without it get it, others are left alone', async () => {
    const s = sts({ replicas: 3, podManagementPolicy: 'Parallel' })
    s.spec.template.metadata.annotations = { 'podnet.io/rootfs': dir, 'podnet.io/network': 'pods' }
    const pod = (name: string, extra: Partial<PodRecord> = {}, spec: Partial<PodSpec> = {}): PodRecord => ({
      name, phase: 'Running', createdAt: '2026-12-03T00:00:00Z', containers: [], sandbox: { state: 'ready', ips: [] },
      spec: { name, annotations: {}, network: 'pods', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u1', controller: true }], ...spec } as PodSpec,
      ...extra,
    })
    const owned = [
      pod('db-0', { sandbox: { state: 'ready', ips: ['10.79.0.7/24'] } }), // made before podnet had keys
      pod('db-2', { deletionTimestamp: '2026-12-03T00:00:01Z' }), // terminating: its removal decides
    ]
    const keys: string[] = []
    const created: Array<{ spec: PodSpec; ips: string[] | undefined }> = []
    const ctx = {
      now: () => Date.parse('2026-12-03T00:01:00Z'), ownedPods: () => owned, orphanPods: () => [], adopt: async () => {},
      setAddressReservation: async (p: PodRecord, key: string | undefined) => { keys.push(`${p.name}=${key}`) },
      createPod: async (_o: unknown, spec: PodSpec, opts: { ips?: string[] } = {}) => { created.push({ spec, ips: opts.ips }); return true },
      deletePod: () => {}, event: () => {}, requeueAfter: () => {},
    } as unknown as ControllerContext
    const files = new StatefulSetFiles(join(dir, 'workloads'))
    files.writeState('db', { uid: 'u1', revisions: [], addresses: { 1: { network: 'pods', ips: ['10.79.0.8'] } } })
    await syncStatefulSet(ctx, s, files)
    assert.deepEqual(keys, ['db-0=statefulset/db/0'])
    assert.deepEqual(created.map((c) => [c.spec.name, c.spec.addressReservation, c.ips]), [['db-1', 'statefulset/db/1', ['10.79.0.8']]])
    assert.equal(addressReservationKey('web', 12), 'statefulset/web/12')
    // once it has its key, nothing more is written
    owned[0] = pod('db-0', {}, { addressReservation: 'statefulset/db/0' })
    keys.length = 0
    await syncStatefulSet(ctx, s, files)
    assert.deepEqual(keys, [])
  })
})

describe('workloads: StatefulSet validation', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-sts-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))
  const doc = (spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}, name = 'db'): Record<string, unknown> => ({
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name },
    spec: {
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' }, annotations: { 'podnet.io/rootfs': dir } }, spec: { containers: [{ name: 'c', command: ['sleep', '1'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }], ...podSpec } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...spec,
    },
  })
  const fails = (d: unknown, field: string, re: RegExp): void => {
    assert.throws(() => validateDocument(d, dir), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err))
      assert.equal(err.field, field)
      assert.match(err.message, re)
      return true
    })
  }

  it('fills in Kubernetes\' defaults; serviceName is optional; a volumeMount may name a claim template', () => {
    const v = validateDocument(doc(), dir)
    assert.deepEqual(v.warnings, [])
    const s = v.spec as StatefulSetSpec
    assert.deepEqual([s.replicas, s.podManagementPolicy, s.updateStrategy, s.persistentVolumeClaimRetentionPolicy, s.minReadySeconds, s.revisionHistoryLimit, s.serviceName],
      [1, 'OrderedReady', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, { whenDeleted: 'Retain', whenScaled: 'Retain' }, 0, 10, undefined])
    assert.deepEqual(s.volumeClaimTemplates, [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' } }])
    assert.equal(s.template.spec.volumes, undefined, 'the claims are each pod\'s, not the stored template\'s')
    assert.equal(s.template.spec.hostname, undefined)
    assert.equal(s.template.spec.restartPolicy, 'Always')
    const named = validateDocument(doc({ serviceName: 'db', podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }), dir).spec as StatefulSetSpec
    assert.deepEqual([named.serviceName, named.podManagementPolicy, named.updateStrategy], ['db', 'Parallel', { type: 'OnDelete' }])
    assert.match(validateDocument(doc({}, { hostname: 'x' }), dir).warnings.join('\n'), /spec\.template\.spec\.hostname: replaced by each pod's name/)
  })

  it('refuses bad input with the field path', () => {
    fails(doc({ replicas: -1 }), 'spec.replicas', /must be greater than or equal to 0, got -1/)
    fails(doc({ selector: { matchLabels: { app: 'other' } } }), 'spec.template.metadata.labels', /does not match spec\.selector \(app=other\)/)
    fails(doc({ selector: {} }), 'spec.selector', /empty selector is invalid/)
    fails(doc({ podManagementPolicy: 'Burst' }), 'spec.podManagementPolicy', /unsupported value "Burst": supported values: "OrderedReady", "Parallel"/)
    fails(doc({ updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } }), 'spec.updateStrategy.rollingUpdate', /only allowed for updateStrategy 'RollingUpdate'/)
    fails(doc({ updateStrategy: { rollingUpdate: { partition: -2 } } }), 'spec.updateStrategy.rollingUpdate.partition', /greater than or equal to 0/)
    fails(doc({ updateStrategy: { rollingUpdate: { maxUnavailable: 2 } } }), 'spec.updateStrategy.rollingUpdate.maxUnavailable', /not supported by podnet/)
    fails(doc({ ordinals: { start: 1 } }), 'spec.ordinals', /not supported by podnet/)
    fails(doc({ serviceName: 'Not_A_Label' }), 'spec.serviceName', /not a valid DNS-1123 label/)
    fails(doc({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep' } }), 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted', /supported values: "Retain", "Delete"/)
    const claim = (spec: Record<string, unknown>, name = 'data'): Record<string, unknown> => ({ volumeClaimTemplates: [{ metadata: { name }, spec }] })
    fails(doc(claim({ resources: { requests: { storage: '1Gi' } } })), 'spec.volumeClaimTemplates[0].spec.accessModes', /at least 1 access mode is required/)
    fails(doc(claim({ accessModes: ['ReadWriteOnce'] })), 'spec.volumeClaimTemplates[0].spec.resources[storage]', /required/)
    fails(doc(claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '0' } } })), 'spec.volumeClaimTemplates[0].spec.resources.requests.storage', /must be greater than zero/)
    fails(doc(claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: 'lots' } } })), 'spec.volumeClaimTemplates[0].spec.resources.requests.storage', /cannot parse "lots" as a quantity/)
    fails(doc(claim({ accessModes: ['ReadWriteOnce'], volumeMode: 'Block', resources: { requests: { storage: '1Gi' } } })), 'spec.volumeClaimTemplates[0].spec.volumeMode', /not supported by podnet/)
    fails(doc(claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, 'other')), 'spec.template.spec.containers[0].volumeMounts[0].name', /no volume named "data"/)
    fails(doc({}, { restartPolicy: 'OnFailure' }), 'spec.template.spec.restartPolicy', /unsupported value "OnFailure": supported values: "Always"/)
    fails(doc({}, {}, 'x'.repeat(53)), 'metadata.name', /must be no more than 52 characters/)
    fails(doc({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }, { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }), 'spec.volumeClaimTemplates[1].metadata.name', /duplicate "data"/)
  })
})

describe('workloads: StatefulSet claims on disk', () => {
  it('allClaims lists every set\'s claims by name; a delete killed between the volume and the record is finished by a second one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-claims-'))
    try {
      const files = new StatefulSetFiles(dir)
      const t = { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }
      const b = { ...sts(), metadata: { ...sts().metadata, name: 'b' } }
      for (const o of [b, sts()]) for (const i of [1, 0]) files.ensureClaim(o, t as never, i, '2026-12-03T00:00:00Z')
      assert.deepEqual(files.allClaims().map((c) => c.metadata.name), ['data-b-0', 'data-b-1', 'data-db-0', 'data-db-1'])
      // killed after the volume went: the record is still listed, and the next delete removes it
      rmSync(files.claimPath('db', 'data-db-1'), { recursive: true })
      assert.ok(files.allClaims().some((c) => c.metadata.name === 'data-db-1'))
      files.deleteClaim('db', 'data-db-1')
      assert.deepEqual(files.allClaims().map((c) => c.metadata.name), ['data-b-0', 'data-b-1', 'data-db-0'])
      assert.ok(!existsSync(files.claimRecordPath('db', 'data-db-1')))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
