/**
 * The StatefulSet controller (Kubernetes' semantics on one node; its stateful_set_control.go
 * step by step). Pods are NAME-0 .. NAME-(replicas-1), each with a stable identity: hostname =
 * its name, subdomain = spec.serviceName (so NAME-i.SERVICE in the network's DNS), a claim per
 * volumeClaimTemplate (CLAIM-NAME-i, a directory that outlives the pod: statefulset-state.ts)
 * and, beyond Kubernetes, its address: each pod carries the reservation key of its ordinal
 * (PodSpec.addressReservation, `statefulset/NAME/i`), so when it goes its network keeps its
 * address under that key, in the same IPAM transaction (nobody can take it meanwhile), and the
 * next pod of the ordinal takes it back; the set's deletion frees them (manager.ts). A pod made
 * again also asks for the address the last one had, recorded here: what a reservation lost with
 * the run dir (a reboot) falls back on (taken meanwhile: a fresh one, and an AddressChanged event).
 *
 * planStatefulSet is a pure step (the pods as seen -> the pods to create and delete, and the
 * status); syncStatefulSet makes the revisions and claims durable first, then acts.
 *
 * - OrderedReady (monotonic): NAME-i is created only once NAME-0..i-1 are Running and Ready
 *   (and available for minReadySeconds); at most one pod is created or deleted per step, and a
 *   step waits while any pod below is not ready or is terminating. Scale down deletes the
 *   highest ordinal first and waits until it is gone before the next.
 * - Parallel: every missing pod is created and every surplus one deleted at once.
 * - RollingUpdate: from the highest ordinal down to spec.updateStrategy.rollingUpdate.partition,
 *   one pod at a time: a pod of another revision is deleted, made again from the update
 *   revision, and the next waits until it is Running and Ready. Ordinals below the partition are
 *   made (when deleted) from the current revision. OnDelete: a pod is replaced only when someone
 *   deletes it, and then from the update revision.
 * - Revisions: controller-revision-hash = NAME-<hash of the template> on every pod;
 *   status.currentRevision / updateRevision; currentRevision becomes updateRevision once every
 *   pod is updated and ready under RollingUpdate (Kubernetes' completeRollingUpdate: under
 *   OnDelete it stays).
 */
import { NotFoundError } from '../errors.js'
import type { PodRecord } from '../runtime/types.js'
import type { ControllerContext } from './context.js'
import { templateHash } from './deployment.js'
import { REVISION_HASH_LABEL } from './daemonset.js'
import { canonical } from './fields.js'
import { isPodAvailable, isPodReady, ownerRef, readySince } from './pods.js'
import { matches } from './selector.js'
import { claimName, StatefulSetFiles, type StsRevision, type StsState } from './statefulset-state.js'
import { podSpecFromTemplate } from './template.js'
import type { PodTemplateSpec, StatefulSet, StatefulSetStatus } from './types.js'

/** The key a StatefulSet's ordinal's addresses are reserved under while it has no pod (PodSpec.addressReservation). */
export const addressReservationKey = (sts: string, ordinal: number): string => `${addressReservationPrefix(sts)}${ordinal}`
/** The prefix of every reservation key of a StatefulSet (released when it is deleted). */
export const addressReservationPrefix = (sts: string): string => `statefulset/${sts}/`

/** Labels Kubernetes puts on a StatefulSet's pods. */
export const STS_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name'
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index'

/** What planStatefulSet sees of one pod of the set. */
export interface StsPodView {
  name: string
  ordinal: number
  /** Its controller-revision-hash label. */
  revision: string | undefined
  phase: PodRecord['phase']
  /** Being deleted, not gone yet. */
  terminating: boolean
  /** Running and Ready (not terminating). */
  ready: boolean
  /** Ready for minReadySeconds. */
  available: boolean
}

export type StatefulSetAction =
  | { type: 'create'; ordinal: number; name: string; revision: string }
  | { type: 'delete'; ordinal: number; name: string; why: string }

export interface StatefulSetPlan {
  actions: StatefulSetAction[]
  status: StatefulSetStatus
  /** Why the step stopped short (OrderedReady and updates wait for a pod), for logs and tests. */
  waiting?: string
}

/** The ordinal of a pod named NAME-i (undefined: not one of the set's names). */
export function ordinalOf(sts: string, pod: string): number | undefined {
  if (!pod.startsWith(`${sts}-`)) return undefined
  const rest = pod.slice(sts.length + 1)
  return /^(0|[1-9]\d{0,8})$/.test(rest) ? Number(rest) : undefined
}

/** One step of the StatefulSet controller. `revisions`: the current and update revision names. */
export function planStatefulSet(sts: StatefulSet, pods: readonly StsPodView[], revisions: { current: string; update: string }, collisionCount = 0): StatefulSetPlan {
  const spec = sts.spec
  const name = sts.metadata.name
  const monotonic = spec.podManagementPolicy !== 'Parallel'
  const partition = spec.updateStrategy.type === 'RollingUpdate' ? spec.updateStrategy.rollingUpdate.partition : 0
  const byOrdinal = new Map(pods.map((p) => [p.ordinal, p]))
  const replicas = Array.from({ length: spec.replicas }, (_, i) => byOrdinal.get(i))
  const condemned = pods.filter((p) => p.ordinal >= spec.replicas).sort((a, b) => b.ordinal - a.ordinal)
  const healthy = (p: StsPodView): boolean => p.ready && !p.terminating
  // the first unhealthy pod (lowest in range, else highest condemned) may be deleted on a scale down
  const firstUnhealthy = [...replicas, ...condemned].find((p) => p !== undefined && !healthy(p))
  const revisionFor = (ordinal: number): string => (spec.updateStrategy.type === 'RollingUpdate' && ordinal < partition ? revisions.current : revisions.update)
  const actions: StatefulSetAction[] = []
  const status = statusOf(sts, pods, revisions, collisionCount)
  const done = (waiting?: string): StatefulSetPlan => ({ actions, status, ...(waiting !== undefined && { waiting }) })

  for (let i = 0; i < replicas.length; i++) {
    const p = replicas[i]
    if (p && (p.phase === 'Failed' || p.phase === 'Succeeded') && !p.terminating) {
      // an ended pod is deleted, and made again once it is gone
      actions.push({ type: 'delete', ordinal: i, name: p.name, why: `it ended (${p.phase})` })
      if (monotonic) return done(`${p.name} to be made again`)
      continue
    }
    if (!p) {
      actions.push({ type: 'create', ordinal: i, name: `${name}-${i}`, revision: revisionFor(i) })
      if (monotonic) return done(`${name}-${i} to be Running and Ready`)
      continue
    }
    if (p.terminating) {
      if (monotonic) return done(`${p.name} to be gone`)
      continue
    }
    if (monotonic && !p.ready) return done(`${p.name} to be Running and Ready`)
    if (monotonic && !p.available) return done(`${p.name} to be available (minReadySeconds)`)
  }

  for (const p of condemned) {
    if (p.terminating) {
      if (monotonic) return done(`${p.name} to be gone`)
      continue
    }
    if (monotonic && !healthy(p) && p !== firstUnhealthy) return done(`${firstUnhealthy!.name} to be Running and Ready before scaling down`)
    actions.push({ type: 'delete', ordinal: p.ordinal, name: p.name, why: 'scale down' })
    if (monotonic) return done(`${p.name} to be gone`)
  }

  if (spec.updateStrategy.type === 'OnDelete') return done()
  const created = new Set(actions.filter((a) => a.type === 'create').map((a) => a.ordinal))
  for (let target = replicas.length - 1; target >= partition; target--) {
    const p = replicas[target]
    if (!p || created.has(target)) return done(`${name}-${target} to be Running and Ready`)
    if (p.revision !== revisions.update && !p.terminating) {
      actions.push({ type: 'delete', ordinal: target, name: p.name, why: `update to revision ${revisions.update}` })
      return done(`${p.name} to be made again from revision ${revisions.update}`)
    }
    if (!healthy(p)) return done(`${p.name} to be Running and Ready`)
  }
  return done()
}

/** The status of the set from its pods (Kubernetes' counting: every pod that exists is a replica). */
function statusOf(sts: StatefulSet, pods: readonly StsPodView[], revisions: { current: string; update: string }, collisionCount: number): StatefulSetStatus {
  const live = pods.filter((p) => !p.terminating)
  const status: StatefulSetStatus = {
    observedGeneration: sts.metadata.generation,
    replicas: pods.length,
    readyReplicas: pods.filter((p) => p.ready).length,
    currentReplicas: live.filter((p) => p.revision === revisions.current).length,
    updatedReplicas: live.filter((p) => p.revision === revisions.update).length,
    availableReplicas: pods.filter((p) => p.available).length,
    currentRevision: revisions.current,
    updateRevision: revisions.update,
    collisionCount,
  }
  // completeRollingUpdate
  if (sts.spec.updateStrategy.type === 'RollingUpdate' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas
    status.currentRevision = status.updateRevision
  }
  return status
}

/** Settled: every replica exists and is ready, for the current spec (the supervisor may idle). */
export function statefulSetDone(sts: StatefulSet): boolean {
  const st = sts.status
  return st !== undefined && st.observedGeneration === sts.metadata.generation && st.replicas === sts.spec.replicas && st.readyReplicas === sts.spec.replicas
}

/**
 * The set's revisions for its template: an equal one already kept is the update revision
 * (made the newest when it was an older one: a template put back), else a new one named
 * NAME-<hash> (collisionCount raised while the name holds another template). Kept: the current
 * and update revisions, those of existing pods, and revisionHistoryLimit more, newest first.
 */
export function nextRevisions(sts: StatefulSet, kept: readonly StsRevision[], podRevisions: ReadonlySet<string>): { revisions: StsRevision[]; current: string; update: string; collisionCount: number } {
  const t = sts.spec.template
  let revisions = kept.map((r) => ({ ...r }))
  const max = Math.max(0, ...revisions.map((r) => r.revision))
  let collisionCount = sts.status?.collisionCount ?? 0
  let update = revisions.find((r) => canonical(r.template) === canonical(t))
  if (update) {
    if (update.revision < max) update.revision = max + 1
  } else {
    let name = `${sts.metadata.name}-${templateHash(t, collisionCount)}`
    while (revisions.some((r) => r.name === name)) name = `${sts.metadata.name}-${templateHash(t, ++collisionCount)}`
    update = { name, revision: max + 1, template: t }
    revisions.push(update)
  }
  const statusCurrent = sts.status?.currentRevision
  const current = statusCurrent !== undefined && revisions.some((r) => r.name === statusCurrent) ? statusCurrent : update.name
  const needed = (r: StsRevision): boolean => r.name === current || r.name === update.name || podRevisions.has(r.name)
  const history = revisions.filter((r) => !needed(r)).sort((a, b) => b.revision - a.revision).slice(0, sts.spec.revisionHistoryLimit)
  revisions = revisions.filter((r) => needed(r) || history.includes(r)).sort((a, b) => a.revision - b.revision)
  return { revisions, current, update: update.name, collisionCount }
}

/**
 * The template of pod NAME-i: the revision's template with the pod's identity (hostname = its
 * name, subdomain = serviceName), its labels (revision, pod name, index) and its claims as
 * persistentVolumeClaim volumes (replacing template volumes of the same name, as Kubernetes).
 */
export function identityTemplate(sts: StatefulSet, rev: StsRevision, ordinal: number): PodTemplateSpec {
  const pod = `${sts.metadata.name}-${ordinal}`
  const spec: Record<string, unknown> = { ...rev.template.spec, hostname: pod }
  if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName
  else delete spec.subdomain
  const claims = sts.spec.volumeClaimTemplates.map((c) => ({ name: c.metadata.name, persistentVolumeClaim: { claimName: claimName(c.metadata.name, sts.metadata.name, ordinal) } }))
  if (claims.length) {
    const own = Array.isArray(spec.volumes) ? (spec.volumes as Array<{ name?: unknown }>).filter((v) => !claims.some((c) => c.name === v.name)) : []
    spec.volumes = [...own, ...claims]
  }
  const labels = { ...rev.template.metadata.labels, [REVISION_HASH_LABEL]: rev.name, [STS_POD_NAME_LABEL]: pod, [POD_INDEX_LABEL]: String(ordinal) }
  return { metadata: { ...rev.template.metadata, labels }, spec }
}

const plainIps = (p: PodRecord): string[] => p.sandbox.ips.map((a) => a.split('/')[0]!)

/** A StatefulSet's sync: adopt, keep revisions, plan, then act (claims and revisions written before the pods that use them). */
export async function syncStatefulSet(ctx: ControllerContext, sts: StatefulSet, files: StatefulSetFiles): Promise<void> {
  const name = sts.metadata.name
  const spec = sts.spec
  for (const p of ctx.orphanPods()) {
    if (p.deletionTimestamp === undefined && ordinalOf(name, p.name) !== undefined && matches(spec.selector, p.spec.labels)) await ctx.adopt(sts, p)
  }
  const now = ctx.now()
  const at = new Date(now).toISOString()
  const owned = ctx.ownedPods(sts).filter((p) => ordinalOf(name, p.name) !== undefined)
  // every live pod carries its ordinal's reservation key (pods adopted, or made before podnet had them)
  for (const p of owned) {
    const key = addressReservationKey(name, ordinalOf(name, p.name)!)
    if (p.spec.addressReservation === key || p.deletionTimestamp !== undefined || (p.phase !== 'Pending' && p.phase !== 'Running')) continue
    try {
      await ctx.setAddressReservation(p, key)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err // removed meanwhile
    }
  }
  const state: StsState = files.readState(sts)
  const before = canonical(state)
  const r = nextRevisions(sts, state.revisions, new Set(owned.flatMap((p) => p.spec.labels?.[REVISION_HASH_LABEL] ?? [])))
  state.revisions = r.revisions
  // each pod's addresses, for the next pod of its ordinal (also when a killed supervisor made it and did not record them)
  for (const p of owned) {
    const ips = plainIps(p)
    if (!ips.length || p.spec.network === undefined || p.deletionTimestamp !== undefined) continue
    const ord = String(ordinalOf(name, p.name))
    const prev = state.addresses[ord]
    if (prev && prev.network === p.spec.network && canonical(prev.ips) === canonical(ips)) continue
    if (prev && prev.network === p.spec.network) {
      ctx.event(sts, 'Warning', 'AddressChanged', `pod ${p.name} could not have its address ${prev.ips.join(', ')} on network ${prev.network} again (taken by another pod, or outside the subnet now): it has ${ips.join(', ')}, its address from now on`)
    }
    state.addresses[ord] = { network: p.spec.network, ips }
  }
  if (canonical(state) !== before) files.writeState(name, state)

  const min = spec.minReadySeconds
  const views: StsPodView[] = owned.map((p) => ({
    name: p.name, ordinal: ordinalOf(name, p.name)!, revision: p.spec.labels?.[REVISION_HASH_LABEL], phase: p.phase,
    terminating: p.deletionTimestamp !== undefined, ready: isPodReady(p), available: isPodAvailable(p, min, now),
  }))
  const plan = planStatefulSet(sts, views, { current: r.current, update: r.update }, r.collisionCount)
  for (const a of plan.actions) {
    if (a.type === 'delete') {
      const p = owned.find((x) => x.name === a.name)
      if (p) ctx.deletePod(sts, p, a.why)
      continue
    }
    const rev = state.revisions.find((x) => x.name === a.revision)!
    const claimDirs: Record<string, string> = {}
    for (const t of spec.volumeClaimTemplates) {
      const c = files.ensureClaim(sts, t, a.ordinal, at)
      claimDirs[c.record.metadata.name] = c.record.podnet.path
      if (c.made) ctx.event(sts, 'Normal', 'SuccessfulCreate', `create Claim ${c.record.metadata.name} Pod ${a.name} in StatefulSet ${name} success`)
    }
    let podSpec
    try {
      podSpec = podSpecFromTemplate(identityTemplate(sts, rev, a.ordinal), a.name, { ownerReferences: [ownerRef(sts)] }, { claimDirs })
    } catch (err) {
      ctx.event(sts, 'Warning', 'FailedCreate', `create Pod ${a.name} in StatefulSet ${name} failed error: ${(err as Error).message}`)
      ctx.requeueAfter(sts, 2000)
      break
    }
    podSpec.addressReservation = addressReservationKey(name, a.ordinal)
    const known = state.addresses[String(a.ordinal)]
    const ips = known && known.network === podSpec.network ? known.ips : undefined
    const ok = await ctx.createPod(sts, podSpec, ips ? { ips } : {})
    if (!ok) {
      ctx.requeueAfter(sts, 2000)
      break
    }
  }

  // whenScaled: Delete: the claims of ordinals scaled away go once their pod is gone
  if (spec.persistentVolumeClaimRetentionPolicy.whenScaled === 'Delete') {
    const present = new Set(ctx.ownedPods(sts).map((p) => ordinalOf(name, p.name)))
    for (const c of files.claims(name)) {
      if (c.podnet.ordinal >= spec.replicas && !present.has(c.podnet.ordinal)) {
        files.deleteClaim(name, c.metadata.name)
        ctx.event(sts, 'Normal', 'SuccessfulDelete', `delete Claim ${c.metadata.name} in StatefulSet ${name} success`)
      }
    }
  }
  const waiting = owned.filter((p) => isPodReady(p) && !isPodAvailable(p, min, now)).map((p) => readySince(p)! + min * 1000 - now)
  if (waiting.length) ctx.requeueAfter(sts, Math.max(0, Math.min(...waiting)) + 10)
  sts.status = { ...plan.status, ...(sts.status?.conditions && { conditions: sts.status.conditions }) }
}
