/**
 * The Deployment and DaemonSet controllers as pure steps (no kernel): a small model of the
 * ReplicaSet controller and the pods plays the other side, and every tick checks the
 * invariants a rollout promises (pods within replicas + maxSurge, available pods at least
 * replicas - maxUnavailable). Also validation (field paths), Kubernetes' rounding, hashes,
 * rollback targets and node labels.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import {
  HASH_LABEL, REVISION_ANNOTATION, fenceposts, recordDaemonSetRevision, labelNode, parseLabelArgs, planDaemonSet, planDeployment, readNode, templateHash, undoTemplate, validateDocument,
  type DaemonSet, type DaemonSetSpec, type Deployment, type DeploymentSpec, type DsPodView, type PodTemplateSpec, type ReplicaSet, type RsView,
} from '../../../src/workloads/index.js'

const T0 = Date.parse('2026-12-03T00:00:00Z')
const tmpl = (v: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { restartPolicy: 'Always', containers: [{ name: 'c', command: ['sleep', v] }] } })

function deployment(spec: Partial<DeploymentSpec> = {}): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'u1', generation: 1, creationTimestamp: new Date(T0).toISOString() },
    spec: {
      replicas: 4, selector: { matchLabels: { app: 'web' } }, template: tmpl('1'), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      minReadySeconds: 0, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, ...spec,
    },
  }
}

/** One ReplicaSet in the model: its pods are starting (not ready), ready, or terminating. */
interface ModelRs { view: RsView; starting: number; ready: number; terminating: number; good: boolean }

/** The world: the Deployment controller's plan applied, then one tick of the ReplicaSet controller and the pods. */
class World {
  rss: ModelRs[] = []
  now = T0
  maxPods = 0
  minReady = Infinity
  plans: ReturnType<typeof planDeployment>[] = []
  d: Deployment
  constructor(d: Deployment, readyTemplates = (t: PodTemplateSpec): boolean => (t.spec.containers as Array<{ command: string[] }>)[0]!.command[1] !== 'broken') {
    this.d = d
    this.isGood = readyTemplates
  }

  isGood: (t: PodTemplateSpec) => boolean

  views(): RsView[] {
    return this.rss.map((r) => ({ ...r.view, pods: r.starting + r.ready + r.terminating, active: r.starting + r.ready, ready: r.ready, available: r.ready }))
  }

  step(): ReturnType<typeof planDeployment> {
    const plan = planDeployment(this.d, this.views(), this.now)
    this.plans.push(plan)
    for (const a of plan.actions) {
      if (a.type === 'create') this.rss.push({ view: { name: a.name, created: new Date(this.now).toISOString(), revision: a.revision, template: a.template, replicas: a.replicas, pods: 0, active: 0, ready: 0, available: 0 }, starting: 0, ready: 0, terminating: 0, good: this.isGood(a.template) })
      const rs = this.rss.find((r) => r.view.name === a.name)!
      if (a.type === 'scale') rs.view.replicas = a.replicas
      if (a.type === 'revision') rs.view.revision = a.revision
      if (a.type === 'delete') this.rss.splice(this.rss.indexOf(rs), 1)
    }
    this.d.status = plan.status
    // pods: the terminating go, the starting become ready (good templates), then the ReplicaSet controller acts
    for (const r of this.rss) {
      r.terminating = 0
      if (r.good) {
        r.ready += r.starting
        r.starting = 0
      }
      const active = r.starting + r.ready
      if (active < r.view.replicas) r.starting += r.view.replicas - active
      else if (active > r.view.replicas) {
        let extra = active - r.view.replicas
        const s = Math.min(extra, r.starting)
        r.starting -= s
        extra -= s
        r.ready -= extra
        r.terminating += s + extra
      }
    }
    this.maxPods = Math.max(this.maxPods, this.rss.reduce((n, r) => n + r.starting + r.ready + r.terminating, 0))
    this.minReady = Math.min(this.minReady, this.rss.reduce((n, r) => n + r.ready, 0))
    this.now += 1000
    return plan
  }

  run(n: number): void { for (let i = 0; i < n; i++) this.step() }
  /** Steps until the rollout is complete and the old pods are gone; returns the number of steps. */
  settle(max = 60): number {
    for (let i = 1; i <= max; i++) {
      this.step()
      const p = this.d.status?.conditions?.find((c) => c.type === 'Progressing')
      if (p?.reason === 'NewReplicaSetAvailable' && this.rss.every((r) => r.terminating === 0 && (r.view.replicas > 0 || r.starting + r.ready === 0))) return i
    }
    throw new Error(`no settled rollout in ${max} steps: ${JSON.stringify(this.rss)}`)
  }
  rs(name: string): ModelRs { return this.rss.find((r) => r.view.name === name)! }
}

const progressing = (d: Deployment) => d.status!.conditions!.find((c) => c.type === 'Progressing')!

describe('workloads: Deployment and DaemonSet controllers (pure steps)', () => {
  it("resolves maxSurge up and maxUnavailable down (Kubernetes' fenceposts)", () => {
    assert.deepEqual(fenceposts('25%', '25%', 4), { surge: 1, unavailable: 1 })
    assert.deepEqual(fenceposts('25%', '25%', 5), { surge: 2, unavailable: 1 })
    assert.deepEqual(fenceposts('10%', '10%', 3), { surge: 1, unavailable: 0 })
    assert.deepEqual(fenceposts(0, '10%', 3), { surge: 0, unavailable: 1 }, 'both 0 after rounding: unavailable 1')
    assert.deepEqual(fenceposts(2, 1, 10), { surge: 2, unavailable: 1 })
  })

  it('rolls out 4 replicas with maxSurge 1, maxUnavailable 0: never more than 5 pods, never fewer than 4 ready', () => {
    const w = new World(deployment())
    w.run(6)
    assert.equal(w.rss.length, 1)
    const first = w.rss[0]!
    assert.equal(first.view.name, `web-${templateHash(tmpl('1'))}`)
    assert.equal(first.view.template.metadata.labels![HASH_LABEL], templateHash(tmpl('1')))
    assert.equal(first.ready, 4)
    assert.equal(progressing(w.d).reason, 'NewReplicaSetAvailable')
    w.maxPods = 0
    w.minReady = Infinity
    w.d.spec.template = tmpl('2')
    w.d.metadata.generation++
    w.run(20)
    assert.ok(w.maxPods <= 5, `at most 5 pods, saw ${w.maxPods}`)
    assert.ok(w.minReady >= 4, `at least 4 ready, saw ${w.minReady}`)
    const second = w.rss.find((r) => r !== first)!
    assert.equal(second.view.replicas, 4)
    assert.equal(second.ready, 4)
    assert.equal(first.view.replicas, 0)
    assert.equal(second.view.revision, 2)
    assert.equal(w.plans.at(-1)!.revision, 2)
    assert.deepEqual([w.d.status!.replicas, w.d.status!.updatedReplicas, w.d.status!.availableReplicas], [4, 4, 4])
    assert.equal(progressing(w.d).reason, 'NewReplicaSetAvailable')
    const scaling = w.plans.flatMap((p) => p.events).filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message)
    assert.ok(scaling.includes(`Scaled up replica set ${second.view.name} to 1`), scaling.join('\n'))
    assert.ok(scaling.includes(`Scaled down replica set ${first.view.name} to 3 from 4`), scaling.join('\n'))
  })

  it('with 25%/25% defaults and 8 replicas keeps within 10 pods and 6 available', () => {
    const w = new World(deployment({ replicas: 8, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } }))
    w.run(6)
    w.maxPods = 0
    w.minReady = Infinity
    w.d.spec.template = tmpl('2')
    w.run(20)
    assert.ok(w.maxPods <= 10, `saw ${w.maxPods}`)
    assert.ok(w.minReady >= 6, `saw ${w.minReady}`)
    assert.equal(w.d.status!.updatedReplicas, 8)
  })

  it('stalls when the new pods never get ready: old pods stay, ProgressDeadlineExceeded after the deadline', () => {
    const w = new World(deployment({ progressDeadlineSeconds: 5 }))
    w.run(6)
    const first = w.rss[0]!
    w.d.spec.template = tmpl('broken')
    w.run(3)
    assert.equal(progressing(w.d).status, 'True')
    w.run(5)
    assert.equal(first.view.replicas, 4)
    assert.equal(first.ready, 4)
    const bad = w.rss.find((r) => r !== first)!
    assert.equal(bad.view.replicas, 1)
    const p = progressing(w.d)
    assert.deepEqual([p.status, p.reason, p.message], ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${bad.view.name}" has timed out progressing.`])
    assert.equal(w.d.status!.conditions!.find((c) => c.type === 'Available')!.status, 'True')
    assert.ok(w.plans.some((pl) => pl.events.some((e) => e.reason === 'ProgressDeadlineExceeded')))
    // the template fixed: progress again
    w.d.spec.template = tmpl('3')
    w.settle()
    assert.equal(w.rss.find((r) => r.view.name === bad.view.name)!.view.replicas, 0)
  })

  it('Recreate: old pods all gone before the new ReplicaSet scales up', () => {
    const w = new World(deployment({ strategy: { type: 'Recreate' } }))
    w.run(4)
    const first = w.rss[0]!
    w.d.spec.template = tmpl('2')
    let sawGap = false
    for (let i = 0; i < 10; i++) {
      w.step()
      const second = w.rss.find((r) => r !== first)
      if (second) assert.ok(first.ready + first.starting + first.terminating === 0 || second.starting + second.ready === 0, 'never both')
      if (w.rss.reduce((n, r) => n + r.ready + r.starting, 0) === 0) sawGap = true
    }
    assert.ok(sawGap, 'Recreate leaves a moment without pods')
    assert.equal(w.rss.find((r) => r !== first)!.ready, 4)
    assert.equal(first.view.replicas, 0)
  })

  it('an old template again makes its ReplicaSet the newest revision; history beyond revisionHistoryLimit goes', () => {
    const w = new World(deployment({ revisionHistoryLimit: 1 }))
    w.run(5)
    for (const v of ['2', '3', '1']) {
      w.d.spec.template = tmpl(v)
      w.settle()
    }
    w.run(2)
    const revs = w.rss.map((r) => [r.view.template.spec.containers, r.view.revision] as const)
    assert.equal(w.rss.length, 2, JSON.stringify(revs))
    const cur = w.rss.find((r) => r.view.replicas === 4)!
    assert.equal(cur.view.name, `web-${templateHash(tmpl('1'))}`)
    assert.equal(cur.view.revision, 4)
    assert.ok(w.plans.some((p) => p.actions.some((a) => a.type === 'revision' && a.revision === 4)))
    assert.equal(progressing(w.d).reason, 'NewReplicaSetAvailable')
  })

  it('scales a rolled-out Deployment through its new ReplicaSet', () => {
    const w = new World(deployment())
    w.run(5)
    w.d.spec.replicas = 2
    w.run(3)
    assert.equal(w.rss[0]!.view.replicas, 2)
    w.d.spec.replicas = 6
    w.run(3)
    assert.equal(w.rss[0]!.ready, 6)
  })

  it('undo finds the previous revision, a given one, or says it is already there', () => {
    const d = deployment()
    const rs = (rev: number, v: string): ReplicaSet => ({
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `web-${v}`, namespace: 'default', uid: v, generation: 1, creationTimestamp: '', annotations: { [REVISION_ANNOTATION]: String(rev) } },
      spec: { replicas: 0, minReadySeconds: 0, selector: { matchLabels: { app: 'web' } }, template: { ...tmpl(v), metadata: { labels: { app: 'web', [HASH_LABEL]: v } } } },
    })
    const list = [rs(1, '1'), rs(2, '2'), rs(3, '3')]
    d.spec.template = tmpl('3')
    assert.deepEqual(undoTemplate(d, list), { template: tmpl('2'), revision: 2 })
    assert.deepEqual(undoTemplate(d, list, 1), { template: tmpl('1'), revision: 1 })
    assert.deepEqual(undoTemplate(d, list, 3), { skipped: 3 })
    assert.throws(() => undoTemplate(d, list, 7), /--to-revision: unable to find specified revision 7 in history/)
    assert.throws(() => undoTemplate(d, [rs(1, '3')]), /no rollout history found for deployment "web"/)
  })

  it('hashes templates into names of the safe alphabet', () => {
    const h = templateHash(tmpl('1'))
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/)
    assert.equal(templateHash(tmpl('1')), h)
    assert.notEqual(templateHash(tmpl('2')), h)
    assert.notEqual(templateHash(tmpl('1'), 1), h)
  })

  describe('validation', () => {
    let dir: string
    before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-apps-')) })
    after(() => rmSync(dir, { recursive: true, force: true }))
    const doc = (kind: string, spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): Record<string, unknown> => ({
      apiVersion: 'apps/v1', kind, metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' }, annotations: { 'podnet.io/rootfs': dir } }, spec: { containers: [{ name: 'c', command: ['sleep', '1'] }], ...podSpec } }, ...spec },
    })
    const fails = (d: unknown, field: string, re: RegExp): void => {
      assert.throws(() => validateDocument(d, dir), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err))
        assert.equal(err.field, field)
        assert.match(err.message, re)
        return true
      })
    }

    it('fills in the defaults of a Deployment and a DaemonSet', () => {
      const s = validateDocument(doc('Deployment'), dir).spec as DeploymentSpec
      assert.deepEqual([s.replicas, s.strategy, s.minReadySeconds, s.revisionHistoryLimit, s.progressDeadlineSeconds],
        [1, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, 0, 10, 600])
      const ds = validateDocument(doc('DaemonSet', {}, { nodeSelector: { disk: 'ssd' } }), dir)
      assert.deepEqual(ds.warnings, [], 'nodeSelector is the controller\'s, not ignored')
      const dss = ds.spec as DaemonSetSpec
      assert.deepEqual(dss.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } })
      assert.deepEqual(dss.template.spec.nodeSelector, { disk: 'ssd' })
    })

    it('refuses bad input with the field path', () => {
      const ru = (r: Record<string, unknown>): Record<string, unknown> => ({ strategy: { type: 'RollingUpdate', rollingUpdate: r } })
      fails(doc('Deployment', ru({ maxSurge: 0, maxUnavailable: 0 })), 'spec.strategy.rollingUpdate.maxUnavailable', /may not be 0 when `maxSurge` is 0/)
      fails(doc('Deployment', ru({ maxSurge: '0%', maxUnavailable: '0%' })), 'spec.strategy.rollingUpdate.maxUnavailable', /may not be 0/)
      fails(doc('Deployment', ru({ maxSurge: 'x%' })), 'spec.strategy.rollingUpdate.maxSurge', /integer or percentage/)
      fails(doc('Deployment', ru({ maxUnavailable: '150%' })), 'spec.strategy.rollingUpdate.maxUnavailable', /not be greater than 100%/)
      fails(doc('Deployment', ru({ maxSurge: -1 })), 'spec.strategy.rollingUpdate.maxSurge', /greater than or equal to 0/)
      fails(doc('Deployment', { strategy: { type: 'Recreate', rollingUpdate: {} } }), 'spec.strategy.rollingUpdate', /may not be specified/)
      fails(doc('Deployment', { strategy: { type: 'Blue' } }), 'spec.strategy.type', /unsupported value "Blue"/)
      fails(doc('Deployment', { minReadySeconds: 10, progressDeadlineSeconds: 5 }), 'spec.progressDeadlineSeconds', /greater than minReadySeconds/)
      fails(doc('Deployment', { paused: true }), 'spec.paused', /not supported by podnet/)
      fails(doc('Deployment', { replicas: -2 }), 'spec.replicas', /greater than or equal to 0, got -2/)
      fails(doc('Deployment', { selector: { matchLabels: { app: 'x' } } }), 'spec.template.metadata.labels', /does not match spec.selector/)
      fails(doc('Deployment', {}, { restartPolicy: 'Never' }), 'spec.template.spec.restartPolicy', /unsupported value "Never"/)
      fails({ ...doc('Deployment'), metadata: { name: 'd'.repeat(112) } }, 'metadata.name', /no more than 111/)
      fails(doc('DaemonSet', { updateStrategy: { type: 'OnDelete', rollingUpdate: {} } }), 'spec.updateStrategy.rollingUpdate', /may not be specified/)
      fails(doc('DaemonSet', { replicas: 2 }), 'spec.replicas', /unknown field/)
      fails(doc('DaemonSet', {}, { affinity: {} }), 'spec.template.spec.affinity', /not supported by podnet/)
      fails(doc('DaemonSet', {}, { nodeSelector: { a: 1 } }), 'spec.template.spec.nodeSelector[a]', /must be a string/)
    })
  })

  describe('DaemonSet', () => {
    const ds = (nodeSelector?: Record<string, string>, maxSurge: number | string = 0): DaemonSet => ({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default', uid: 'd1', generation: 1, creationTimestamp: '' },
      spec: {
        selector: { matchLabels: { app: 'agent' } }, minReadySeconds: 0, revisionHistoryLimit: 10,
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [], ...(nodeSelector && { nodeSelector }) } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: maxSurge ? 0 : 1, maxSurge } },
      },
    })
    const node = { name: 'n1', labels: { 'kubernetes.io/os': 'linux', disk: 'ssd' } }
    const pod = (name: string, hash: string | undefined, x: Partial<DsPodView> = {}): DsPodView => ({ name, hash, created: name, active: true, terminating: false, ready: true, available: true, ...x })

    it('records its revisions: a new template is the newest, an old one again is renumbered, revisionHistoryLimit trims all but the current and those of running pods', () => {
      const withCmd = (o: DaemonSet, cmd: string, limit = 10): DaemonSet => ({ ...o, spec: { ...o.spec, revisionHistoryLimit: limit, template: { ...o.spec.template, spec: { containers: [{ name: 'c', command: [cmd] }] } } } })
      const a = withCmd(ds(), 'a'), b = withCmd(ds(), 'b'), c = withCmd(ds(), 'c')
      const r1 = recordDaemonSetRevision(a, [], new Set())
      assert.deepEqual([r1.changed, r1.revisions.map((r) => r.revision), r1.current], [true, [1], `agent-${templateHash(a.spec.template)}`])
      assert.equal(recordDaemonSetRevision(a, r1.revisions, new Set()).changed, false, 'the same template: nothing to write')
      const r2 = recordDaemonSetRevision(b, r1.revisions, new Set())
      const r3 = recordDaemonSetRevision(a, r2.revisions, new Set())
      assert.deepEqual(r3.revisions.map((r) => [r.name, r.revision]), [[r2.current, 2], [r1.current, 3]], 'a put back: renumbered, not a new revision')
      // limit 0: only the current one and the one a running pod still has
      const r4 = recordDaemonSetRevision(withCmd(c, 'c', 0), r3.revisions, new Set([r2.current]))
      assert.deepEqual(r4.revisions.map((r) => r.revision), [2, 4])
      assert.deepEqual(recordDaemonSetRevision(withCmd(c, 'c', 0), r4.revisions, new Set()).revisions.map((r) => r.revision), [4])
    })

    it('creates one pod when the nodeSelector matches, none (and removes its pod) when it does not', () => {
      assert.deepEqual(planDaemonSet(ds({ disk: 'ssd' }), [], node).actions.map((a) => a.type), ['create'])
      assert.deepEqual(planDaemonSet(ds(), [], node).actions.map((a) => a.type), ['create'])
      const none = planDaemonSet(ds({ disk: 'hdd' }), [], node)
      assert.deepEqual(none.actions, [])
      assert.equal(none.status.desiredNumberScheduled, 0)
      const h = templateHash(ds({ disk: 'hdd' }).spec.template)
      const mis = planDaemonSet(ds({ disk: 'hdd' }), [pod('a', h)], node)
      assert.deepEqual(mis.actions.map((a) => a.type === 'delete' && a.name), ['a'])
      assert.equal(mis.status.numberMisscheduled, 1)
      const one = planDaemonSet(ds({ disk: 'ssd' }), [pod('a', templateHash(ds({ disk: 'ssd' }).spec.template))], node)
      assert.deepEqual(one.actions, [])
      assert.deepEqual([one.status.desiredNumberScheduled, one.status.currentNumberScheduled, one.status.numberReady, one.status.updatedNumberScheduled, one.status.numberAvailable], [1, 1, 1, 1, 1])
    })

    it('keeps one pod: extras go, the oldest stays; a new pod waits for a terminating one', () => {
      const h = templateHash(ds().spec.template)
      assert.deepEqual(planDaemonSet(ds(), [pod('a', h), pod('b', h)], node).actions.map((a) => a.type === 'delete' && a.name), ['b'])
      assert.deepEqual(planDaemonSet(ds(), [pod('a', h, { active: false, terminating: true })], node).actions, [])
    })

    it('rolls an outdated pod: maxSurge 0 deletes first, maxSurge 1 creates first and deletes once the new one is available', () => {
      const d0 = ds()
      const h = templateHash(d0.spec.template)
      assert.deepEqual(planDaemonSet(d0, [pod('a', 'old')], node).actions.map((a) => a.type), ['delete'])
      assert.deepEqual(planDaemonSet(d0, [pod('a', 'old', { active: false, terminating: true })], node).actions, [])
      assert.deepEqual(planDaemonSet(d0, [], node).actions, [{ type: 'create', hash: h }])
      const d1 = ds(undefined, 1)
      const h1 = templateHash(d1.spec.template)
      assert.deepEqual(planDaemonSet(d1, [pod('a', 'old')], node).actions.map((a) => a.type), ['create'])
      assert.deepEqual(planDaemonSet(d1, [pod('a', 'old'), pod('b', h1, { ready: false, available: false })], node).actions, [])
      assert.deepEqual(planDaemonSet(d1, [pod('a', 'old'), pod('b', h1)], node).actions.map((a) => a.type === 'delete' && a.name), ['a'])
    })
  })

  it('labels this node as kubectl label does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-node-'))
    try {
      const n = readNode(dir)
      assert.equal(n.labels['kubernetes.io/os'], 'linux')
      assert.equal(n.labels['kubernetes.io/hostname'], n.name)
      assert.equal(labelNode(dir, n.name, ['disk=ssd'], false), true)
      assert.equal(readNode(dir).labels.disk, 'ssd')
      assert.throws(() => labelNode(dir, n.name, ['disk=hdd'], false), /'disk' already has a value \(ssd\), and --overwrite is false/)
      assert.equal(labelNode(dir, n.name, ['disk=hdd'], true), true)
      assert.equal(labelNode(dir, n.name, ['disk-'], false), true)
      assert.equal(readNode(dir).labels.disk, undefined)
      assert.throws(() => labelNode(dir, 'other', ['a=b'], false), /node.*other/)
      assert.throws(() => parseLabelArgs(['novalue']), /KEY=VALUE/)
      assert.throws(() => parseLabelArgs(['a=b c']), /a/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
