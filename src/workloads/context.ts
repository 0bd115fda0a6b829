/** What a controller may do: the manager (manager.ts) implements it over the runtime and the store. */
import type { PodSpec } from '../runtime/manifest.js'
import type { PodRecord } from '../runtime/types.js'
import type { Condition, WorkloadKind, WorkloadObject } from './types.js'

export interface ControllerContext {
  now(): number
  /** Pods whose managing controller is this object (terminating ones included). */
  ownedPods(o: WorkloadObject): PodRecord[]
  /** Pods with no managing controller (ReplicaSets adopt those their selector matches). */
  orphanPods(): PodRecord[]
  /** Makes the object the pod's controller (Kubernetes' adoption). */
  adopt(o: WorkloadObject, pod: PodRecord): Promise<void>
  /** Sets (undefined: removes) the key the pod's addresses are kept under while it has no sandbox (PodSpec.addressReservation). */
  setAddressReservation(pod: PodRecord, key: string | undefined): Promise<void>
  /** Creates a pod; a failure is a FailedCreate event (and false), never a throw. `ips`: addresses to ask for again (a StatefulSet's pod). */
  createPod(o: WorkloadObject, spec: PodSpec, opts?: { ips?: string[] }): Promise<boolean>
  /** Starts deleting a pod (its grace period runs in the background); records SuccessfulDelete. */
  deletePod(o: WorkloadObject, pod: PodRecord, why?: string): void
  event(o: WorkloadObject, type: 'Normal' | 'Warning', reason: string, message: string): void
  /** Syncs the object again after ms (a back-off, a deadline, minReadySeconds). */
  requeueAfter(o: WorkloadObject, ms: number): void
  /** Deletes an object, cascading (a Job's ttlSecondsAfterFinished, a Deployment's old ReplicaSets). */
  deleteObject(o: WorkloadObject): void
  /** Objects of a kind whose managing controller is o (a Deployment's ReplicaSets). */
  ownedObjects(o: WorkloadObject, kind: WorkloadKind): WorkloadObject[]
  /** Objects of a kind with no managing controller. */
  orphanObjects(kind: WorkloadKind): WorkloadObject[]
  /** Names of every object of a kind. */
  objectNames(kind: WorkloadKind): string[]
  /** Writes an object a controller made or changed (durably, before returning) and syncs it. */
  putObject(o: WorkloadObject): void
  /** This node's name and labels (DaemonSets). */
  node(): { name: string; labels: Record<string, string> }
  /** Job pod-failure back-off (Kubernetes': 10 s doubling up to 6 min). */
  jobBackoff: { baseMs: number; maxMs: number }
}

/** Sets (or replaces) a condition; lastTransitionTime changes only when the status does. */
export function setCondition(list: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const out = [...(list ?? [])]
  const i = out.findIndex((x) => x.type === c.type)
  const prev = i >= 0 ? out[i] : undefined
  const next: Condition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now }
  if (i >= 0) out[i] = next
  else out.push(next)
  return out
}

export const conditionTrue = (list: Condition[] | undefined, type: string): boolean => list?.some((c) => c.type === type && c.status === 'True') ?? false

/** Creates `count` pods in batches of 1, 2, 4, ... (Kubernetes' slow start); stops at the first failed batch. Returns how many were made. */
export async function slowStart(count: number, make: () => Promise<boolean>): Promise<number> {
  let made = 0
  let batch = 1
  while (made < count) {
    const n = Math.min(batch, count - made)
    const results = await Promise.all(Array.from({ length: n }, () => make()))
    const ok = results.filter(Boolean).length
    made += ok
    if (ok < n) break
    batch *= 2
  }
  return made
}
