/**
 * The requests of `podnet apply`, `delete` and `scale` (docs/workloads.md), run by the manager
 * (manager.ts) in the supervisor. apply validates every document and checks it against what
 * exists before it changes anything: one bad document, and nothing is created.
 */
import { randomUUID } from 'node:crypto'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError } from '../errors.js'
import type { PodRuntime } from '../runtime/pod-runtime.js'
import type { PodRecord } from '../runtime/types.js'
import { locate, splitDocuments, type ManifestSource } from './documents.js'
import { canonical } from './fields.js'
import { JOB_NAME_LABEL, JOB_UID_LABEL } from './job.js'
import { isClaimKind, resolveKind, type ResourceKind } from './kinds.js'
import type { StatefulSetFiles } from './statefulset-state.js'
import type { WorkloadStore } from './store.js'
import { controllerOf } from '../runtime/labels.js'
import { labelNode } from './node.js'
import { keepManaged, restartTemplate, undoRevisionTemplate, undoTemplate } from './rollout.js'
import type { DaemonSetFiles } from './daemonset-state.js'
import { KINDS, objectRef, type DaemonSet, type Deployment, type JobSpec, type ReplicaSet, type StatefulSet, type WorkloadKind, type WorkloadObject } from './types.js'
import { validateDocument, type ValidDocument } from './validate.js'

/** The annotation on a pod (template) that names the namespace playing the host for its network (`pod run --host-netns`). */
export const ANNOTATION_HOST_NETNS = 'podnet.io/host-netns'

export type WorkloadRequest =
  | { action: 'apply'; sources: ManifestSource[] }
  | { action: 'delete'; kind?: string; name?: string; sources?: ManifestSource[]; cascade?: 'background' | 'orphan'; gracePeriodSeconds?: number }
  | { action: 'scale'; kind: string; name: string; replicas: number }
  | { action: 'rollout'; verb: 'undo' | 'restart'; kind: string; name: string; toRevision?: number }
  | { action: 'label'; kind: string; name: string; labels: string[]; overwrite?: boolean }

export interface WorkloadResponse {
  /** kubectl's lines: "replicaset.apps/web created". */
  lines: string[]
  warnings: string[]
  /** Failures of a delete of several objects (the others went). */
  errors?: string[]
}

/** What the requests need of the manager. */
export interface RequestHost {
  readonly runtime: PodRuntime
  readonly store: WorkloadStore
  /** The StatefulSets' revisions and claims (rollout undo, delete pvc). */
  readonly stsFiles: StatefulSetFiles
  /** The DaemonSets' revisions (rollout undo). */
  readonly dsFiles: DaemonSetFiles
  object(kind: WorkloadKind, name: string): WorkloadObject | undefined
  /** Writes a created or changed object (durably, first) and syncs it. */
  put(o: WorkloadObject): void
  /** Records the delete (the intent first), then waits until the object and its dependents are gone. */
  markDeleted(o: WorkloadObject, propagation: 'Background' | 'Orphan', gracePeriodSeconds?: number): Promise<void>
  /** A pod apply made. */
  podChanged(rec: PodRecord): void
  /** Objects of a kind whose managing controller is o. */
  owned(o: WorkloadObject, kind: WorkloadKind): WorkloadObject[]
  /** Syncs every object of a kind. */
  resyncKind(kind: WorkloadKind): void
}

export function handleRequest(m: RequestHost, req: WorkloadRequest): Promise<WorkloadResponse> {
  switch (req.action) {
    case 'apply': return apply(m, req.sources)
    case 'delete': return remove(m, req)
    case 'scale': return scale(m, req.kind, req.name, req.replicas)
    case 'rollout': return rollout(m, req)
    case 'label': return label(m, req)
    default: throw new PodnetError(`unknown workloads action '${(req as { action: string }).action}'`)
  }
}

/** Validates every document first (nothing is created when one is bad), then creates or updates each. */
async function apply(m: RequestHost, sources: ManifestSource[]): Promise<WorkloadResponse> {
  const docs: Array<{ v: ValidDocument; where: string }> = []
  const seen = new Map<string, string>()
  for (const src of sources) {
    let split
    try {
      split = splitDocuments(src)
    } catch (err) {
      throw locate(err, src.source)
    }
    for (const d of split) {
      let v: ValidDocument
      try {
        v = validateDocument(d.doc, d.baseDir)
      } catch (err) {
        const named = nameOf(d.doc)
        const kind = (d.doc as { kind?: unknown } | undefined)?.kind
        throw locate(err, named ? `${d.where} (${typeof kind === 'string' && kind ? objectRef(kind, named) : named})` : d.where)
      }
      const ref = objectRef(v.kind, v.name)
      const prev = seen.get(ref)
      if (prev) throw locate(new InvalidArgumentError('metadata.name', `duplicate ${ref} (also in ${prev})`), d.where)
      seen.set(ref, d.where)
      docs.push({ v, where: d.where })
    }
  }
  if (!docs.length) throw new InvalidArgumentError('manifest', 'no objects passed to apply')
  // every check against what exists, before anything changes
  const plans = docs.map(({ v, where }) => {
    try {
      return plan(m, v)
    } catch (err) {
      throw locate(err, `${where} (${objectRef(v.kind, v.name)})`)
    }
  })
  const lines: string[] = []
  const warnings = docs.flatMap(({ v }) => v.warnings.map((w) => `${objectRef(v.kind, v.name)}: ${w}`))
  for (const p of plans) lines.push(await p())
  return { lines, warnings }
}

/** Checks one document against what exists; returns the change to make. */
function plan(m: RequestHost, v: ValidDocument): () => Promise<string> {
  const ref = objectRef(v.kind, v.name)
  if (v.kind === 'Pod') {
    const cur = m.runtime.store.read(v.name)
    if (cur) {
      if (canonical(cur.spec) === canonical(v.spec)) return () => Promise.resolve(`${ref} unchanged`)
      throw new ExistsError('pod', v.name, 'with another spec: a pod cannot be updated (podnet pod rm it, then apply again)')
    }
    return async () => {
      const hostNetns = v.spec.annotations[ANNOTATION_HOST_NETNS]
      const rec = await m.runtime.run(v.spec, hostNetns !== undefined ? { hostNetns } : {})
      m.podChanged(m.runtime.get(rec.name))
      return `${ref} created`
    }
  }
  const cur = m.object(v.kind, v.name)
  if (cur?.metadata.deletionTimestamp) throw new PodnetError(`${ref} is being deleted; apply it again once it is gone`)
  const uid = cur?.metadata.uid ?? randomUUID()
  const { spec, annotations } = keepManaged(cur, materialize(v, uid), v.annotations)
  const labels = v.labels
  if (cur) {
    const owner = controllerOf(cur.metadata.ownerReferences)
    if (owner) throw new PodnetError(`${ref} is managed by ${objectRef(owner.kind, owner.name)}: change that instead`)
    if (canonical(cur.spec) === canonical(spec) && canonical(cur.metadata.labels) === canonical(labels) && canonical(cur.metadata.annotations) === canonical(annotations)) {
      return () => Promise.resolve(`${ref} unchanged`)
    }
    checkImmutable(v.kind, cur.spec as Record<string, unknown>, spec as Record<string, unknown>)
    return () => {
      const changed = canonical(cur.spec) !== canonical(spec)
      const next: WorkloadObject = { ...cur, metadata: { ...cur.metadata, generation: cur.metadata.generation + (changed ? 1 : 0) }, spec }
      if (labels) next.metadata.labels = labels
      else delete next.metadata.labels
      if (annotations) next.metadata.annotations = annotations
      else delete next.metadata.annotations
      m.put(next)
      return Promise.resolve(`${ref} configured`)
    }
  }
  return () => {
    const o: WorkloadObject = {
      apiVersion: v.apiVersion, kind: v.kind,
      metadata: {
        name: v.name, namespace: 'default', uid, generation: 1, creationTimestamp: new Date().toISOString(),
        ...(labels && { labels }), ...(annotations && { annotations }),
      },
      spec,
    }
    m.put(o)
    return Promise.resolve(`${ref} created`)
  }
}

async function remove(m: RequestHost, req: Extract<WorkloadRequest, { action: 'delete' }>): Promise<WorkloadResponse> {
  if (!req.sources && req.kind !== undefined && req.name !== undefined && isClaimKind(req.kind)) return removeClaim(m, req.name)
  const targets: Array<{ kind: ResourceKind; name: string }> = []
  if (req.sources) {
    for (const src of req.sources) {
      for (const d of splitDocuments(src)) {
        const kind = typeof (d.doc as { kind?: unknown })?.kind === 'string' ? resolveKind((d.doc as { kind: string }).kind, 'kind') : undefined
        const name = nameOf(d.doc)
        if (!kind || !name) throw locate(new InvalidArgumentError(kind ? 'metadata.name' : 'kind', 'required'), d.where)
        targets.push({ kind, name })
      }
    }
  } else if (req.kind !== undefined && req.name !== undefined) targets.push({ kind: resolveKind(req.kind), name: req.name })
  else throw new InvalidArgumentError('NAME', 'a resource type and a name, or -f FILE, are required')
  const lines: string[] = []
  const errors: string[] = []
  await Promise.all(targets.map(async (t) => {
    const shown = `${t.kind === 'Pod' ? 'pod' : `${t.kind.toLowerCase()}.${KINDS[t.kind].group}`} "${t.name}"`
    try {
      if (t.kind === 'Pod') await m.runtime.remove(t.name, req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {})
      else {
        const o = m.object(t.kind, t.name)
        if (!o) throw new NotFoundError(t.kind.toLowerCase(), t.name)
        await m.markDeleted(o, req.cascade === 'orphan' ? 'Orphan' : 'Background', req.gracePeriodSeconds)
      }
      lines.push(`${shown} deleted`)
    } catch (err) {
      if (targets.length === 1) throw err
      errors.push((err as Error).message)
    }
  }))
  return { lines, warnings: [], ...(errors.length && { errors }) }
}

/**
 * `delete pvc NAME`: a claim no pod can use any more (its StatefulSet is gone, or scaled below its
 * ordinal, and the ordinal's pod is gone) goes with its data. One in use is refused, in one line
 * saying what to do (Kubernetes holds such a claim until its pod is gone; podnet says so at once).
 */
function removeClaim(m: RequestHost, name: string): Promise<WorkloadResponse> {
  const c = m.stsFiles.allClaims().find((x) => x.metadata.name === name)
  if (!c) throw new NotFoundError('persistentvolumeclaim', name)
  const { statefulSet, ordinal } = c.podnet
  const set = m.object('StatefulSet', statefulSet) as StatefulSet | undefined
  if (set && !set.metadata.deletionTimestamp && ordinal < set.spec.replicas) {
    throw new PodnetError(`persistentvolumeclaim "${name}" is in use by statefulset.apps "${statefulSet}" (ordinal ${ordinal} of ${set.spec.replicas} replicas): scale it to ${ordinal} or fewer, or delete it, first`)
  }
  const pod = `${statefulSet}-${ordinal}`
  if (m.runtime.store.read(pod)) throw new PodnetError(`persistentvolumeclaim "${name}" is in use by pod "${pod}": delete the pod first`)
  m.stsFiles.deleteClaim(statefulSet, name)
  return Promise.resolve({ lines: [`persistentvolumeclaim "${name}" deleted`], warnings: [] })
}

function scale(m: RequestHost, kindWord: string, name: string, replicas: number): Promise<WorkloadResponse> {
  const kind = resolveKind(kindWord)
  if (!Number.isInteger(replicas) || replicas < 0) throw new InvalidArgumentError('--replicas', `must be an integer greater than or equal to 0, got ${replicas}`)
  if (kind !== 'ReplicaSet' && kind !== 'Deployment' && kind !== 'StatefulSet') throw new InvalidArgumentError('KIND', `${KINDS[kind as WorkloadKind]?.plural ?? 'pods'} cannot be scaled${kind === 'Job' ? ' (set spec.parallelism and apply)' : ''}`)
  const o = m.object(kind, name) as ReplicaSet | Deployment | StatefulSet | undefined
  if (!o) throw new NotFoundError(kind.toLowerCase(), name)
  if (o.metadata.deletionTimestamp) throw new PodnetError(`${objectRef(kind, name)} is being deleted`)
  if (o.spec.replicas !== replicas) {
    m.put({ ...o, metadata: { ...o.metadata, generation: o.metadata.generation + 1 }, spec: { ...o.spec, replicas } } as WorkloadObject)
  }
  return Promise.resolve({ lines: [`${objectRef(kind, name)} scaled`], warnings: [] })
}

/** rollout undo and restart (Deployments, DaemonSets, StatefulSets): a new template, rolled out by the controller. */
function rollout(m: RequestHost, req: Extract<WorkloadRequest, { action: 'rollout' }>): Promise<WorkloadResponse> {
  const kind = resolveKind(req.kind)
  if (kind !== 'Deployment' && kind !== 'StatefulSet' && kind !== 'DaemonSet') {
    throw new InvalidArgumentError('KIND', `rollout ${req.verb} of ${KINDS[kind as WorkloadKind]?.plural ?? 'pods'} is not supported by podnet (deployments, daemonsets and statefulsets)`)
  }
  const o = m.object(kind, req.name) as Deployment | DaemonSet | StatefulSet | undefined
  if (!o) throw new NotFoundError(kind.toLowerCase(), req.name)
  const ref = objectRef(kind, req.name)
  if (o.metadata.deletionTimestamp) throw new PodnetError(`${ref} is being deleted`)
  let template
  if (req.verb === 'undo') {
    const r = kind === 'StatefulSet'
      ? undoRevisionTemplate(o as StatefulSet, m.stsFiles.readState(o as StatefulSet).revisions, req.toRevision ?? 0)
      : kind === 'DaemonSet'
        ? undoRevisionTemplate(o as DaemonSet, m.dsFiles.readState(o as DaemonSet).revisions, req.toRevision ?? 0)
        : undoTemplate(o as Deployment, m.owned(o, 'ReplicaSet') as ReplicaSet[], req.toRevision ?? 0)
    if ('skipped' in r) return Promise.resolve({ lines: [`${ref} skipped rollback (current template already matches revision ${r.skipped})`], warnings: [] })
    template = r.template
  } else template = restartTemplate(o)
  m.put({ ...o, metadata: { ...o.metadata, generation: o.metadata.generation + 1 }, spec: { ...o.spec, template } } as WorkloadObject)
  return Promise.resolve({ lines: [`${ref} ${req.verb === 'undo' ? 'rolled back' : 'restarted'}`], warnings: [] })
}

/** `label node NAME KEY=VALUE... KEY-`: this node's labels, which DaemonSets' nodeSelectors match. */
function label(m: RequestHost, req: Extract<WorkloadRequest, { action: 'label' }>): Promise<WorkloadResponse> {
  if (!['node', 'nodes', 'no'].includes(req.kind.toLowerCase())) throw new InvalidArgumentError('KIND', `podnet labels nodes only (pods and workloads take labels from their manifests), got ${JSON.stringify(req.kind)}`)
  const changed = labelNode(m.store.root, req.name, req.labels, req.overwrite ?? false)
  if (changed) m.resyncKind('DaemonSet')
  return Promise.resolve({ lines: [`node/${req.name} ${changed ? 'labeled' : 'not labeled'}`], warnings: [] })
}

function nameOf(doc: unknown): string | undefined {
  const n = (doc as { metadata?: { name?: unknown } } | undefined)?.metadata?.name
  return typeof n === 'string' ? n : undefined
}

/** The stored spec: a Job gets its generated selector and labels (Kubernetes' controller-uid). */
function materialize(v: Extract<ValidDocument, { apiVersion: string }>, uid: string): unknown {
  if (v.kind !== 'Job') return v.spec
  const s = v.spec as Omit<JobSpec, 'selector'>
  const labels = { ...s.template.metadata.labels, [JOB_UID_LABEL]: uid, [JOB_NAME_LABEL]: v.name, 'controller-uid': uid, 'job-name': v.name }
  const out: JobSpec = { ...s, selector: { matchLabels: { [JOB_UID_LABEL]: uid } }, template: { ...s.template, metadata: { ...s.template.metadata, labels } } }
  return out
}

/** Kubernetes' immutable fields: a selector never changes; a Job's template, completions and mode neither. */
function checkImmutable(kind: WorkloadKind, cur: Record<string, unknown>, next: Record<string, unknown>): void {
  if (kind === 'StatefulSet') {
    for (const f of ['selector', 'serviceName', 'podManagementPolicy', 'volumeClaimTemplates', 'revisionHistoryLimit']) {
      if (canonical(cur[f]) !== canonical(next[f])) {
        throw new InvalidArgumentError(`spec.${f}`, "updates to statefulset spec for fields other than 'replicas', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
      }
    }
    return
  }
  const fields = kind === 'Job' ? ['selector', 'template', 'completions', 'completionMode'] : ['selector']
  for (const f of fields) if (canonical(cur[f]) !== canonical(next[f])) throw new InvalidArgumentError(`spec.${f}`, 'field is immutable')
}
