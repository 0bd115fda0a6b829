/**
 * The Deployment controller (Kubernetes' semantics on one node). A Deployment owns ReplicaSets
 * named NAME-<pod-template-hash>, one per template it has had; the one whose template is the
 * Deployment's is the new one, the others are old. planDeployment is a pure step: what the
 * ReplicaSets look like (their replicas and their pods' counts) -> the actions to take (create a
 * ReplicaSet, scale one, raise its revision, delete one past revisionHistoryLimit), the events
 * and the status. syncDeployment reads the views, writes each action durably before the next,
 * and the ReplicaSet controller (replicaset.ts) makes and removes the pods. A supervisor killed
 * between two actions finds everything the next step needs on disk: nothing is done twice.
 *
 * RollingUpdate: the new ReplicaSet grows while the pods of all ReplicaSets stay within
 * replicas + maxSurge, and old ones shrink while the available pods stay at least replicas -
 * maxUnavailable (Kubernetes' reconcileNewReplicaSet and reconcileOldReplicaSets). podnet counts
 * a pod that is still terminating against maxSurge (Kubernetes does not), so a rollout never has
 * more pods at once than replicas + maxSurge. Recreate: old ReplicaSets go to 0, and the new one
 * is scaled up once their last pod is gone.
 */
import { randomUUID } from 'node:crypto'
import type { PodRecord } from '../runtime/types.js'
import type { ControllerContext } from './context.js'
import { canonical } from './fields.js'
import { matches } from './selector.js'
import { isActivePod, isPodAvailable, isPodReady, ownerRef, readySince } from './pods.js'
import { fenceposts } from './validate-apps.js'
import type { Condition, Deployment, DeploymentStatus, PodTemplateSpec, ReplicaSet } from './types.js'

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'
export const HASH_LABEL = 'pod-template-hash'
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause'

/** Kubernetes' alphabet for SafeEncodeString (no vowels, no look-alikes). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'

/** FNV-1a, 32 bits. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/**
 * The pod-template-hash of a template, as Kubernetes makes it (FNV-32a, then each decimal digit
 * through SafeEncodeString); the hashed text is podnet's canonical JSON, so the value is not
 * the one Kubernetes would compute for the same template.
 */
export function templateHash(t: PodTemplateSpec, collisionCount = 0): string {
  const h = fnv32a(canonical(t) + (collisionCount ? `\u0000${collisionCount}` : ''))
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('')
}

/** A template without the pod-template-hash label (what a Deployment's template is compared with). */
export function withoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...t.metadata.labels }
  delete labels[HASH_LABEL]
  const metadata = { ...t.metadata }
  if (Object.keys(labels).length) metadata.labels = labels
  else delete metadata.labels
  return { ...t, metadata }
}

export const sameTemplate = (rsTemplate: PodTemplateSpec, t: PodTemplateSpec): boolean => canonical(withoutHash(rsTemplate)) === canonical(t)

/** What planDeployment sees of one of the Deployment's ReplicaSets. */
export interface RsView {
  name: string
  created: string
  revision: number
  template: PodTemplateSpec
  /** spec.replicas */
  replicas: number
  /** Pods not removed yet: active, terminating and ended. */
  pods: number
  active: number
  ready: number
  /** Ready for minReadySeconds. */
  available: number
  /** When a ready pod waits for minReadySeconds: ms until the first becomes available. */
  availableInMs?: number
}

export type DeploymentAction =
  | { type: 'create'; name: string; hash: string; revision: number; replicas: number; template: PodTemplateSpec }
  | { type: 'scale'; name: string; replicas: number; from: number }
  | { type: 'revision'; name: string; revision: number }
  | { type: 'delete'; name: string }

export interface DeploymentPlan {
  actions: DeploymentAction[]
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>
  status: DeploymentStatus
  /** The Deployment's revision annotation (its new ReplicaSet's). */
  revision?: number
  requeueMs?: number
}

const byCreated = (a: RsView, b: RsView): number => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.name < b.name ? -1 : 1)

/** One step of the Deployment controller. `taken`: names of ReplicaSets that exist (any owner). */
export function planDeployment(d: Deployment, views: readonly RsView[], now: number, taken: ReadonlySet<string> = new Set()): DeploymentPlan {
  const spec = d.spec
  const at = new Date(now).toISOString()
  const rss = views.map((v) => ({ ...v }))
  const actions: DeploymentAction[] = []
  const events: DeploymentPlan['events'] = []
  const scale = (rs: RsView, to: number): void => {
    if (rs.replicas === to) return
    actions.push({ type: 'scale', name: rs.name, replicas: to, from: rs.replicas })
    events.push({ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled ${to > rs.replicas ? 'up' : 'down'} replica set ${rs.name} to ${to} from ${rs.replicas}` })
    rs.replicas = to
  }
  let newRs = rss.filter((r) => sameTemplate(r.template, spec.template)).sort(byCreated)[0]
  const old = rss.filter((r) => r !== newRs).sort(byCreated)
  const maxOldRevision = Math.max(0, ...old.map((r) => r.revision))
  let created = false
  let found = false
  let collisionCount = d.status?.collisionCount ?? 0
  if (newRs && newRs.revision <= maxOldRevision) {
    // an old template again (rollout undo, a re-apply): its ReplicaSet becomes the newest revision
    newRs.revision = maxOldRevision + 1
    actions.push({ type: 'revision', name: newRs.name, revision: newRs.revision })
    found = true
  }
  const createNew = (replicas: number): RsView => {
    let hash = templateHash(spec.template, collisionCount)
    while (taken.has(`${d.metadata.name}-${hash}`) || rss.some((r) => r.name === `${d.metadata.name}-${hash}`)) hash = templateHash(spec.template, ++collisionCount)
    const name = `${d.metadata.name}-${hash}`
    const template: PodTemplateSpec = { ...spec.template, metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata.labels, [HASH_LABEL]: hash } } }
    actions.push({ type: 'create', name, hash, revision: maxOldRevision + 1, replicas, template })
    events.push({ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${name} to ${replicas}` })
    const v: RsView = { name, created: at, revision: maxOldRevision + 1, template, replicas, pods: 0, active: 0, ready: 0, available: 0 }
    rss.push(v)
    created = true
    return v
  }
  const sum = (f: (r: RsView) => number, list: RsView[] = rss): number => list.reduce((n, r) => n + f(r), 0)
  const avail = (r: RsView): number => Math.min(r.available, r.replicas)
  let maxUnavailable = 0
  if (spec.strategy.type === 'Recreate') {
    for (const o of old) scale(o, 0)
    if (sum((r) => r.pods, old) === 0) {
      if (!newRs) newRs = createNew(spec.replicas)
      else scale(newRs, spec.replicas)
    }
  } else {
    const f = fenceposts(spec.strategy.rollingUpdate.maxSurge, spec.strategy.rollingUpdate.maxUnavailable, spec.replicas)
    maxUnavailable = f.unavailable
    // pods of every ReplicaSet, terminating ones included, stay within replicas + maxSurge
    const room = (cur: number): number => {
      const current = sum((r) => Math.max(r.replicas, r.pods))
      const maxTotal = spec.replicas + f.surge
      return current >= maxTotal ? cur : cur + Math.max(0, Math.min(maxTotal - current, spec.replicas - cur))
    }
    let scaledUp = false
    if (!newRs) newRs = createNew(room(0))
    else if (newRs.replicas > spec.replicas) scale(newRs, spec.replicas)
    else if (newRs.replicas < spec.replicas) {
      const to = room(newRs.replicas)
      scaledUp = to > newRs.replicas
      scale(newRs, to)
    }
    const nr = newRs
    if (!scaledUp && sum((r) => r.replicas, old) > 0) {
      const minAvailable = spec.replicas - f.unavailable
      let maxScaledDown = sum((r) => r.replicas) - minAvailable - (nr.replicas - avail(nr))
      if (maxScaledDown > 0) {
        // the old pods that are not available go first: they count for nothing
        for (const o of old) {
          const unhealthy = o.replicas - avail(o)
          if (maxScaledDown <= 0) break
          if (unhealthy <= 0) continue
          const n = Math.min(unhealthy, maxScaledDown)
          scale(o, o.replicas - n)
          maxScaledDown -= n
        }
        let total = sum(avail) - minAvailable
        for (const o of old) {
          if (total <= 0) break
          if (o.replicas === 0) continue
          const n = Math.min(o.replicas, total)
          scale(o, o.replicas - n)
          total -= n
        }
      }
    }
  }

  const nr = newRs
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: sum((r) => r.active), updatedReplicas: nr?.active ?? 0, readyReplicas: sum((r) => r.ready), availableReplicas: sum((r) => r.available),
    unavailableReplicas: 0,
    ...(collisionCount && { collisionCount }),
  }
  status.unavailableReplicas = Math.max(0, spec.replicas - status.availableReplicas)
  const prev = d.status
  let conditions = [...(prev?.conditions ?? [])]
  const set = (c: Omit<Condition, 'lastTransitionTime' | 'lastUpdateTime'>, touch: boolean): void => {
    const i = conditions.findIndex((x) => x.type === c.type)
    const cur = i >= 0 ? conditions[i] : undefined
    const same = cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message
    const next: Condition = {
      ...c, lastUpdateTime: same && !touch ? (cur.lastUpdateTime ?? at) : at,
      lastTransitionTime: cur && cur.status === c.status ? cur.lastTransitionTime : at,
    }
    conditions = i >= 0 ? conditions.map((x, j) => (j === i ? next : x)) : [...conditions, next]
  }
  const complete = status.updatedReplicas === spec.replicas && status.replicas === spec.replicas && status.availableReplicas === spec.replicas
  const progressing = prev !== undefined && (status.updatedReplicas > prev.updatedReplicas || status.readyReplicas > prev.readyReplicas
    || status.availableReplicas > prev.availableReplicas || status.replicas - status.updatedReplicas < prev.replicas - prev.updatedReplicas)
  const progress = conditions.find((c) => c.type === 'Progressing')
  const deadlineMs = spec.progressDeadlineSeconds * 1000
  let requeueMs: number | undefined
  if (nr) {
    if (created) set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${nr.name}"` }, true)
    else if (found) set({ type: 'Progressing', status: 'True', reason: 'FoundNewReplicaSet', message: `Found new replica set "${nr.name}"` }, true)
    else if (!(progress?.reason === 'NewReplicaSetAvailable' && status.replicas === status.updatedReplicas && progress.message?.includes(`"${nr.name}"`))) {
      if (complete) set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${nr.name}" has successfully progressed.` }, true)
      else if (progressing) set({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${nr.name}" is progressing.` }, true)
      else if (progress && progress.status === 'True' && now - Date.parse(progress.lastUpdateTime ?? progress.lastTransitionTime) > deadlineMs) {
        set({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${nr.name}" has timed out progressing.` }, true)
        events.push({ type: 'Warning', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${nr.name}" has timed out progressing.` })
      }
    }
    const p = conditions.find((c) => c.type === 'Progressing')
    if (!complete && p?.status === 'True') requeueMs = Math.max(0, Date.parse(p.lastUpdateTime ?? p.lastTransitionTime) + deadlineMs - now) + 10
  }
  if (status.availableReplicas >= spec.replicas - maxUnavailable) set({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, false)
  else set({ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, false)
  // Kubernetes lists Available first
  conditions.sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0))
  status.conditions = conditions

  // revisionHistoryLimit: once complete, the oldest empty old ReplicaSets go
  if (complete) {
    const empty = old.filter((r) => r.replicas === 0 && r.pods === 0).sort((a, b) => a.revision - b.revision)
    for (const r of empty.slice(0, Math.max(0, empty.length - spec.revisionHistoryLimit))) actions.push({ type: 'delete', name: r.name })
  }
  for (const r of rss) if (r.availableInMs !== undefined) requeueMs = Math.min(requeueMs ?? Infinity, r.availableInMs + 10)
  return { actions, events, status, ...(nr && { revision: nr.revision }), ...(requeueMs !== undefined && { requeueMs }) }
}

/** Rolled out: every replica updated and available (Progressing's NewReplicaSetAvailable), or stalled past its deadline. */
export function deploymentDone(d: Deployment): boolean {
  const p = d.status?.conditions?.find((c) => c.type === 'Progressing')
  return d.status?.observedGeneration === d.metadata.generation && (p?.reason === 'NewReplicaSetAvailable' || p?.reason === 'ProgressDeadlineExceeded')
}

/** The planner's view of one ReplicaSet and its pods. */
export function rsView(rs: ReplicaSet, pods: PodRecord[], now: number): RsView {
  const active = pods.filter(isActivePod)
  const ready = active.filter(isPodReady)
  const min = rs.spec.minReadySeconds
  const available = ready.filter((p) => isPodAvailable(p, min, now))
  const waiting = ready.filter((p) => !isPodAvailable(p, min, now)).map((p) => readySince(p)! + min * 1000 - now)
  return {
    name: rs.metadata.name, created: rs.metadata.creationTimestamp, revision: Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0,
    template: rs.spec.template, replicas: rs.spec.replicas, pods: pods.length, active: active.length, ready: ready.length, available: available.length,
    ...(waiting.length && { availableInMs: Math.max(0, Math.min(...waiting)) }),
  }
}

/** A Deployment's sync: adopt orphan ReplicaSets its selector matches, plan, then act (each action written before the next). */
export function syncDeployment(ctx: ControllerContext, d: Deployment): void {
  for (const rs of ctx.orphanObjects('ReplicaSet') as ReplicaSet[]) {
    if (!rs.metadata.deletionTimestamp && matches(d.spec.selector, rs.metadata.labels)) {
      ctx.putObject({ ...rs, metadata: { ...rs.metadata, ownerReferences: [ownerRef(d)] } })
      ctx.event(d, 'Normal', 'Adopted', `Adopted replica set: ${rs.metadata.name}`)
    }
  }
  const now = ctx.now()
  const owned = (ctx.ownedObjects(d, 'ReplicaSet') as ReplicaSet[]).filter((rs) => !rs.metadata.deletionTimestamp)
  const byName = new Map(owned.map((rs) => [rs.metadata.name, rs]))
  // the Deployment's minReadySeconds is its ReplicaSets'
  for (const rs of owned) {
    if (rs.spec.minReadySeconds !== d.spec.minReadySeconds) {
      const next = { ...rs, spec: { ...rs.spec, minReadySeconds: d.spec.minReadySeconds } }
      ctx.putObject(next)
      byName.set(rs.metadata.name, next)
    }
  }
  const views = [...byName.values()].map((rs) => rsView(rs, ctx.ownedPods(rs), now))
  const plan = planDeployment(d, views, now, new Set(ctx.objectNames('ReplicaSet')))
  const changeCause = d.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION]
  for (const a of plan.actions) {
    const rs = byName.get(a.name)
    if (a.type === 'create') {
      const sel = d.spec.selector
      ctx.putObject({
        apiVersion: 'apps/v1', kind: 'ReplicaSet',
        metadata: {
          name: a.name, namespace: 'default', uid: randomUUID(), generation: 1, creationTimestamp: new Date(now).toISOString(),
          labels: a.template.metadata.labels!, annotations: { [REVISION_ANNOTATION]: String(a.revision), ...(changeCause !== undefined && { [CHANGE_CAUSE_ANNOTATION]: changeCause }) },
          ownerReferences: [ownerRef(d)],
        },
        spec: { replicas: a.replicas, minReadySeconds: d.spec.minReadySeconds, selector: { ...sel, matchLabels: { ...sel.matchLabels, [HASH_LABEL]: a.hash } }, template: a.template },
      } satisfies ReplicaSet)
    } else if (rs && a.type === 'scale') {
      ctx.putObject({ ...rs, metadata: { ...rs.metadata, generation: rs.metadata.generation + 1 }, spec: { ...rs.spec, replicas: a.replicas } })
    } else if (rs && a.type === 'revision') {
      const annotations: Record<string, string> = { ...rs.metadata.annotations, [REVISION_ANNOTATION]: String(a.revision) }
      if (changeCause !== undefined) annotations[CHANGE_CAUSE_ANNOTATION] = changeCause
      ctx.putObject({ ...rs, metadata: { ...rs.metadata, annotations } })
    } else if (rs && a.type === 'delete') ctx.deleteObject(rs)
  }
  for (const e of plan.events) ctx.event(d, e.type, e.reason, e.message)
  if (plan.revision !== undefined) d.metadata.annotations = { ...d.metadata.annotations, [REVISION_ANNOTATION]: String(plan.revision) }
  d.status = plan.status
  if (plan.requeueMs !== undefined) ctx.requeueAfter(d, plan.requeueMs)
}
