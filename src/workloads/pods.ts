/** What the controllers read from pod records: activity, readiness, ranking for deletion, names. */
import { randomInt } from 'node:crypto'
import { controllerOf, type OwnerReference } from '../runtime/labels.js'
import type { PodRecord } from '../runtime/types.js'
import { KINDS, type WorkloadObject } from './types.js'

/** Kubernetes' alphabet for generated name suffixes (no vowels, no 0/1/3: no words, no look-alikes). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/** `prefix-xxxxx`, as generateName makes them. */
export function generateName(prefix: string, len = 5): string {
  let s = ''
  for (let i = 0; i < len; i++) s += ALPHABET[randomInt(ALPHABET.length)]
  return `${prefix}-${s}`
}

/** The reference a workload's pods carry. */
export function ownerRef(o: WorkloadObject): OwnerReference {
  return { apiVersion: KINDS[o.kind].apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true }
}

/** The uid of a pod's managing controller. */
export const controllerUid = (p: PodRecord): string | undefined => controllerOf(p.spec.ownerReferences)?.uid

/** Being deleted (`pod rm`, a controller's delete): no longer counted. */
export const isTerminating = (p: PodRecord): boolean => p.deletionTimestamp !== undefined

/** Pending or Running and not being deleted: what counts towards replicas and parallelism. */
export const isActivePod = (p: PodRecord): boolean => (p.phase === 'Pending' || p.phase === 'Running') && !isTerminating(p)

/**
 * Ready: Running, every container running, and no Ready=False condition (readiness probes set
 * one). Without probes a pod is ready once its containers run, as in Kubernetes.
 */
export function isPodReady(p: PodRecord): boolean {
  if (p.phase !== 'Running' || isTerminating(p)) return false
  if (!p.containers.every((c) => c.state.status === 'running')) return false
  const cond = p.conditions?.find((c) => c.type === 'Ready')
  return cond === undefined || cond.status === 'True'
}

/** When the pod became ready (its Ready condition, else its last container start). */
export function readySince(p: PodRecord): number | undefined {
  if (!isPodReady(p)) return undefined
  const cond = p.conditions?.find((c) => c.type === 'Ready')
  if (cond) return Date.parse(cond.lastTransitionTime)
  let t = Date.parse(p.startedAt ?? p.createdAt)
  for (const c of p.containers) if (c.state.status === 'running') t = Math.max(t, Date.parse(c.state.startedAt))
  return t
}

/** Ready for at least minReadySeconds. */
export function isPodAvailable(p: PodRecord, minReadySeconds: number, now: number): boolean {
  const since = readySince(p)
  return since !== undefined && now - since >= minReadySeconds * 1000
}

export const restarts = (p: PodRecord): number => p.containers.reduce((n, c) => n + c.restartCount, 0)

const PHASE_RANK: Record<string, number> = { Pending: 0, Running: 2 }

/**
 * The order in which a ReplicaSet deletes pods when it scales down (Kubernetes' ActivePods
 * ranking, on one node): Pending before Running, not ready before ready, ready for a shorter
 * time before longer, more restarts before fewer, newer before older.
 */
export function deletionOrder(pods: PodRecord[]): PodRecord[] {
  return [...pods].sort((a, b) => {
    const pa = PHASE_RANK[a.phase] ?? 1
    const pb = PHASE_RANK[b.phase] ?? 1
    if (pa !== pb) return pa - pb
    const ra = isPodReady(a)
    const rb = isPodReady(b)
    if (ra !== rb) return ra ? 1 : -1
    if (ra && rb) {
      const sa = readySince(a)!
      const sb = readySince(b)!
      if (sa !== sb) return sb - sa
    }
    const xa = restarts(a)
    const xb = restarts(b)
    if (xa !== xb) return xb - xa
    const ca = Date.parse(a.createdAt)
    const cb = Date.parse(b.createdAt)
    if (ca !== cb) return cb - ca
    return a.name < b.name ? 1 : -1
  })
}
