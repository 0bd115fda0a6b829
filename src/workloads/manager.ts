/**
 * WorkloadManager: the workload controllers inside the supervisor. It keeps the objects
 * (store.ts) and an index of the runtime's pods, and syncs each object level-triggered: on
 * apply, on every change of a pod it owns, on its timers (back-offs, deadlines) and every
 * resyncMs. Syncs of one object run one at a time (a burst of changes makes one more sync);
 * objects sync concurrently.
 *
 * Crash safety: everything it decides from is on disk: the objects, and the pods with their
 * ownerReferences (in the pod records). A new supervisor adopts the running pods (PodRuntime),
 * then this syncs every object from what exists: nothing is restarted, nothing created twice.
 * A delete is recorded (metadata.deletionTimestamp) before the dependents go.
 */
import { NotFoundError } from '../errors.js'
import type { PodRuntime } from '../runtime/pod-runtime.js'
import type { PodSpec } from '../runtime/manifest.js'
import type { PodRecord } from '../runtime/types.js'
import { controllerOf } from '../runtime/labels.js'
import { JOB_BACKOFF, syncJob } from './job.js'
import { controllerUid, ownerRef } from './pods.js'
import { syncReplicaSet } from './replicaset.js'
import { syncDeployment, deploymentDone } from './deployment.js'
import { syncDaemonSet } from './daemonset.js'
import { DaemonSetFiles } from './daemonset-state.js'
import { addressReservationPrefix, statefulSetDone, syncStatefulSet } from './statefulset.js'
import { StatefulSetFiles } from './statefulset-state.js'
import { readNode } from './node.js'
import { matches } from './selector.js'
import { WorkloadStore } from './store.js'
import { conditionTrue, type ControllerContext } from './context.js'
import { canonical } from './fields.js'
import { ANNOTATION_HOST_NETNS, handleRequest, type RequestHost, type WorkloadRequest, type WorkloadResponse } from './requests.js'
import { KINDS, objectRef, type DaemonSet, type Deployment, type Job, type ReplicaSet, type StatefulSet, type WorkloadKind, type WorkloadObject } from './types.js'

export interface WorkloadManagerOptions {
  stateDir?: string
  /** Job pod-failure back-off (default Kubernetes': 10 s doubling to 6 min). */
  jobBackoff?: { baseMs?: number; maxMs?: number }
  /** Every object is synced at least this often (default 10 s). */
  resyncMs?: number
  log?: (msg: string) => void
}

const keyOf = (kind: string, name: string): string => `${kind}/${name}`

interface SyncState { running: boolean; again: boolean }

export class WorkloadManager implements RequestHost {
  readonly store: WorkloadStore
  readonly runtime: PodRuntime
  private readonly opts: WorkloadManagerOptions
  private readonly objects = new Map<string, WorkloadObject>()
  private readonly byUid = new Map<string, string>()
  private readonly pods = new Map<string, PodRecord>()
  /** Pods whose removal this manager started. */
  private readonly deleting = new Set<string>()
  private readonly syncs = new Map<string, SyncState>()
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  private readonly gone = new Map<string, Array<() => void>>()
  private readonly ctx: ControllerContext
  readonly stsFiles: StatefulSetFiles
  readonly dsFiles: DaemonSetFiles
  private started = false
  private closed = false
  private resync: NodeJS.Timeout | undefined
  private readonly onChange = (rec: PodRecord): void => this.podChanged(rec)
  private readonly onRemoved = (name: string): void => this.podRemoved(name)

  constructor(runtime: PodRuntime, opts: WorkloadManagerOptions = {}) {
    this.runtime = runtime
    this.opts = opts
    this.store = new WorkloadStore({ stateDir: opts.stateDir ?? runtime.store.root })
    this.stsFiles = new StatefulSetFiles(this.store.root)
    this.dsFiles = new DaemonSetFiles(this.store.root)
    const jobBackoff = { baseMs: opts.jobBackoff?.baseMs ?? JOB_BACKOFF.baseMs, maxMs: opts.jobBackoff?.maxMs ?? JOB_BACKOFF.maxMs }
    this.ctx = {
      now: () => Date.now(),
      ownedPods: (o) => this.ownedPods(o),
      orphanPods: () => [...this.pods.values()].filter((p) => controllerOf(p.spec.ownerReferences) === undefined),
      adopt: (o, p) => this.adopt(o, p),
      setAddressReservation: async (p, key) => {
        const rec = await this.runtime.setAddressReservation(p.name, key)
        this.pods.set(rec.name, rec)
      },
      createPod: (o, spec, opts) => this.createPod(o, spec, opts),
      deletePod: (o, p, why) => this.deletePod(o, p, why),
      event: (o, type, reason, message) => this.event(o, type, reason, message),
      requeueAfter: (o, ms) => this.requeueAfter(keyOf(o.kind, o.metadata.name), ms),
      deleteObject: (o) => this.deleteChild(o, 'Background'),
      ownedObjects: (o, kind) => [...this.objects.values()].filter((x) => x.kind === kind && controllerOf(x.metadata.ownerReferences)?.uid === o.metadata.uid),
      orphanObjects: (kind) => [...this.objects.values()].filter((x) => x.kind === kind && controllerOf(x.metadata.ownerReferences) === undefined),
      objectNames: (kind) => [...this.objects.values()].filter((x) => x.kind === kind).map((x) => x.metadata.name),
      putObject: (o) => this.put(o),
      node: () => readNode(this.store.root),
      jobBackoff,
    }
    for (const kind of Object.keys(KINDS) as WorkloadKind[]) {
      for (const o of this.store.list(kind, (err) => this.log(`warning: ${err.message}; remove the file to go on`))) this.remember(o)
    }
    runtime.on('change', this.onChange)
    runtime.on('removed', this.onRemoved)
  }

  /** Starts the controllers once the runtime's pods are adopted and restored (`restored`). */
  async start(restored: Promise<void> = Promise.resolve()): Promise<void> {
    await restored
    if (this.closed) return
    for (const n of this.runtime.store.names()) {
      try {
        this.pods.set(n, this.runtime.get(n))
      } catch {
        // a half-removed directory: not a pod
      }
    }
    this.started = true
    // removals a killed supervisor began (the pod's deletionTimestamp is recorded first) are
    // finished by the runtime's adoption, for every pod (src/runtime/finish-removals.ts): until
    // its 'removed' event such a pod counts as terminating
    for (const k of this.objects.keys()) this.enqueue(k)
    const every = this.opts.resyncMs ?? 10_000
    this.resync = setInterval(() => { for (const k of this.objects.keys()) this.enqueue(k) }, every)
    this.resync.unref()
  }

  close(): void {
    this.closed = true
    if (this.resync) clearInterval(this.resync)
    for (const t of this.timers.values()) clearTimeout(t.timer)
    this.timers.clear()
    this.runtime.off('change', this.onChange)
    this.runtime.off('removed', this.onRemoved)
  }

  /** True while something needs the supervisor: an unfinished Job, a delete, a pending sync or timer. */
  busy(): boolean {
    if (this.timers.size || [...this.syncs.values()].some((s) => s.running)) return true
    for (const o of this.objects.values()) {
      if (o.metadata.deletionTimestamp) return true
      if (o.kind === 'Job' && !conditionTrue((o as Job).status?.conditions, 'Complete') && !conditionTrue((o as Job).status?.conditions, 'Failed')) return true
      if (o.kind === 'Deployment' && !deploymentDone(o as Deployment)) return true
      if (o.kind === 'StatefulSet' && !statefulSetDone(o as StatefulSet)) return true
    }
    return false
  }

  get(kind: WorkloadKind, name: string): WorkloadObject | undefined {
    return this.objects.get(keyOf(kind, name))
  }

  object(kind: WorkloadKind, name: string): WorkloadObject | undefined {
    return this.get(kind, name)
  }

  put(o: WorkloadObject): void {
    this.store.write(o)
    this.remember(o)
    this.enqueue(keyOf(o.kind, o.metadata.name))
  }

  owned(o: WorkloadObject, kind: WorkloadKind): WorkloadObject[] {
    return this.ctx.ownedObjects(o, kind)
  }

  handle(req: WorkloadRequest): Promise<WorkloadResponse> {
    return handleRequest(this, req)
  }

  private log(msg: string): void {
    this.opts.log?.(`workloads: ${msg}`)
  }

  private remember(o: WorkloadObject): void {
    this.objects.set(keyOf(o.kind, o.metadata.name), o)
    this.byUid.set(o.metadata.uid, keyOf(o.kind, o.metadata.name))
  }

  private forget(o: WorkloadObject): void {
    const key = keyOf(o.kind, o.metadata.name)
    this.objects.delete(key)
    this.byUid.delete(o.metadata.uid)
    const t = this.timers.get(key)
    if (t) clearTimeout(t.timer)
    this.timers.delete(key)
    for (const w of this.gone.get(key) ?? []) w()
    this.gone.delete(key)
    this.enqueueOwner(o)
  }

  /** Syncs the object's managing controller (a ReplicaSet's Deployment), if it has one. */
  private enqueueOwner(o: WorkloadObject): void {
    const uid = controllerOf(o.metadata.ownerReferences)?.uid
    const key = uid !== undefined ? this.byUid.get(uid) : undefined
    if (key) this.enqueue(key)
  }

  /** Syncs every object of a kind (DaemonSets when the node's labels change). */
  resyncKind(kind: WorkloadKind): void {
    for (const [k, o] of this.objects) if (o.kind === kind) this.enqueue(k)
  }

  // -------------------------------------------------------------------------------------------
  // pods

  private ownedPods(o: WorkloadObject): PodRecord[] {
    return [...this.pods.values()].filter((p) => controllerUid(p) === o.metadata.uid)
  }

  podChanged(rec: PodRecord): void {
    this.pods.set(rec.name, rec)
    this.kickOwner(rec)
  }

  private podRemoved(name: string): void {
    const rec = this.pods.get(name)
    this.pods.delete(name)
    this.deleting.delete(name)
    if (rec) this.kickOwner(rec)
  }

  private kickOwner(rec: PodRecord): void {
    const uid = controllerUid(rec)
    if (uid !== undefined) {
      const key = this.byUid.get(uid)
      if (key) {
        this.enqueue(key)
        this.enqueueOwner(this.objects.get(key)!)
      }
      return
    }
    // an orphan: a ReplicaSet whose selector matches adopts it
    for (const [k, o] of this.objects) if (o.kind === 'ReplicaSet' && matches((o as ReplicaSet).spec.selector, rec.spec.labels)) this.enqueue(k)
  }

  private async adopt(o: WorkloadObject, p: PodRecord): Promise<void> {
    const rec = await this.runtime.setOwnerReferences(p.name, [...(p.spec.ownerReferences ?? []).filter((r) => r.uid !== o.metadata.uid), ownerRef(o)])
    this.pods.set(rec.name, rec)
    this.event(o, 'Normal', 'Adopted', `Adopted pod: ${p.name}`)
  }

  private async createPod(o: WorkloadObject, spec: PodSpec, opts: { ips?: string[] } = {}): Promise<boolean> {
    const hostNetns = spec.annotations[ANNOTATION_HOST_NETNS]
    // a StatefulSet's events say it as Kubernetes' statefulset-controller does
    const sts = o.kind === 'StatefulSet'
    try {
      const rec = await this.runtime.run(spec, { ...(hostNetns !== undefined && { hostNetns }), ...(opts.ips?.length && { ips: opts.ips }) })
      this.pods.set(rec.name, this.runtime.get(rec.name))
      this.event(o, 'Normal', 'SuccessfulCreate', sts ? `create Pod ${spec.name} in StatefulSet ${o.metadata.name} successful` : `Created pod: ${spec.name}`)
      return true
    } catch (err) {
      this.event(o, 'Warning', 'FailedCreate', sts ? `create Pod ${spec.name} in StatefulSet ${o.metadata.name} failed error: ${(err as Error).message}` : `Error creating: ${(err as Error).message}`)
      return false
    }
  }

  private deletePod(o: WorkloadObject, p: PodRecord, why?: string, gracePeriodSeconds?: number): void {
    if (this.deleting.has(p.name)) return
    this.deleting.add(p.name)
    const what = o.kind === 'StatefulSet' ? `delete Pod ${p.name} in StatefulSet ${o.metadata.name} successful` : `Deleted pod: ${p.name}`
    this.event(o, 'Normal', 'SuccessfulDelete', `${what}${why ? ` (${why})` : ''}`)
    const key = keyOf(o.kind, o.metadata.name)
    void this.runtime.remove(p.name, gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}).catch((err: Error) => {
      if (err instanceof NotFoundError) return
      this.event(o, 'Warning', 'FailedDelete', `Error deleting pod ${p.name}: ${err.message}`)
    }).finally(() => {
      this.deleting.delete(p.name)
      if (!this.runtime.store.names().includes(p.name)) this.pods.delete(p.name)
      this.enqueue(key)
    })
  }

  private event(o: WorkloadObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    try {
      this.store.addEvent(o.kind, o.metadata.name, { type, reason, message, involvedObject: { kind: o.kind, name: o.metadata.name, uid: o.metadata.uid } })
    } catch (err) {
      this.log(`${objectRef(o.kind, o.metadata.name)}: event ${reason} not recorded: ${(err as Error).message}`)
    }
  }

  // -------------------------------------------------------------------------------------------
  // syncing

  private enqueue(key: string): void {
    if (!this.started || this.closed) return
    const s = this.syncs.get(key)
    if (s?.running) {
      s.again = true
      return
    }
    const st: SyncState = s ?? { running: false, again: false }
    this.syncs.set(key, st)
    st.running = true
    void (async () => {
      do {
        st.again = false
        try {
          await this.sync(key)
        } catch (err) {
          this.log(`${key}: sync failed: ${(err as Error).stack ?? (err as Error).message}`)
          this.requeueAfter(key, 5000)
        }
      } while (st.again && !this.closed)
      st.running = false
      if (!this.objects.has(key)) this.syncs.delete(key)
    })()
  }

  private requeueAfter(key: string, ms: number): void {
    if (this.closed) return
    const at = Date.now() + Math.max(0, ms)
    const cur = this.timers.get(key)
    if (cur && cur.at <= at) return
    if (cur) clearTimeout(cur.timer)
    const timer = setTimeout(() => {
      this.timers.delete(key)
      this.enqueue(key)
    }, Math.max(0, ms) + 5)
    this.timers.set(key, { at, timer })
  }

  private async sync(key: string): Promise<void> {
    const o = this.objects.get(key)
    if (!o) return
    if (o.metadata.deletionTimestamp) return this.finishDelete(o)
    const before = canonical([o.status, o.metadata.annotations])
    if (o.kind === 'ReplicaSet') await syncReplicaSet(this.ctx, o as ReplicaSet)
    else if (o.kind === 'Job') await syncJob(this.ctx, o as Job)
    else if (o.kind === 'Deployment') syncDeployment(this.ctx, o as Deployment)
    else if (o.kind === 'DaemonSet') await syncDaemonSet(this.ctx, o as DaemonSet, this.dsFiles)
    else if (o.kind === 'StatefulSet') await syncStatefulSet(this.ctx, o as StatefulSet, this.stsFiles)
    if (this.objects.get(key) === o && canonical([o.status, o.metadata.annotations]) !== before) {
      this.store.write(o)
      this.enqueueOwner(o)
    }
  }

  /** A deleted object: its dependents (ReplicaSets, pods) go (or are orphaned), then the object. */
  private async finishDelete(o: WorkloadObject): Promise<void> {
    const pods = this.ownedPods(o)
    const children = [...this.objects.values()].filter((x) => controllerOf(x.metadata.ownerReferences)?.uid === o.metadata.uid)
    if (o.metadata.deletionPropagation === 'Orphan') {
      for (const c of children) {
        const refs = (c.metadata.ownerReferences ?? []).filter((r) => r.uid !== o.metadata.uid)
        const next: WorkloadObject = { ...c, metadata: { ...c.metadata } }
        if (refs.length) next.metadata.ownerReferences = refs
        else delete next.metadata.ownerReferences
        this.put(next)
      }
    } else if (children.length) {
      for (const c of children) this.deleteChild(c, 'Background', o.metadata.deletionGracePeriodSeconds)
      return // the last child's removal syncs again
    }
    if (o.metadata.deletionPropagation === 'Orphan') {
      for (const p of pods) {
        let rec = await this.runtime.setOwnerReferences(p.name, (p.spec.ownerReferences ?? []).filter((r) => r.uid !== o.metadata.uid))
        // an orphan's addresses are freed when it goes: nobody is left to take them back
        if (o.kind === 'StatefulSet' && rec.spec.addressReservation !== undefined) rec = await this.runtime.setAddressReservation(p.name, undefined)
        this.pods.set(rec.name, rec)
      }
    } else {
      for (const p of pods) this.deletePod(o, p, undefined, o.metadata.deletionGracePeriodSeconds)
      if (pods.length) return // the last removal syncs again
    }
    if (o.kind === 'StatefulSet') {
      // its claims go with it only when asked (whenDeleted: Delete) and not orphaning; its revisions and addresses go,
      // the addresses IPAM keeps for its ordinals first (on every network: its pods are gone, or orphaned)
      const s = o as StatefulSet
      await this.runtime.releaseAddressReservations(addressReservationPrefix(s.metadata.name))
      this.stsFiles.removeSet(s.metadata.name, s.metadata.deletionPropagation !== 'Orphan' && s.spec.persistentVolumeClaimRetentionPolicy.whenDeleted === 'Delete')
    }
    if (o.kind === 'DaemonSet') this.dsFiles.remove(o.metadata.name)
    this.store.remove(o.kind, o.metadata.name)
    this.forget(o)
  }

  /** Starts a delete without waiting for it (a controller's dependents). */
  private deleteChild(o: WorkloadObject, propagation: 'Background' | 'Orphan', gracePeriodSeconds?: number): void {
    void this.markDeleted(o, propagation, gracePeriodSeconds).catch((err: Error) => this.log(`${objectRef(o.kind, o.metadata.name)}: delete: ${err.message}`))
  }

  async markDeleted(o: WorkloadObject, propagation: 'Background' | 'Orphan', gracePeriodSeconds?: number): Promise<void> {
    const key = keyOf(o.kind, o.metadata.name)
    if (!o.metadata.deletionTimestamp) {
      o.metadata.deletionTimestamp = new Date().toISOString()
      o.metadata.deletionPropagation = propagation
      if (gracePeriodSeconds !== undefined) o.metadata.deletionGracePeriodSeconds = gracePeriodSeconds
      this.store.write(o) // the intent first: a supervisor that dies now finishes it next time
    }
    const done = new Promise<void>((r) => { this.gone.set(key, [...(this.gone.get(key) ?? []), r]) })
    this.enqueue(key)
    await done
  }
}
