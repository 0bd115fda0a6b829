/**
 * Removals a killed supervisor began (docs/reliability.md, kill -9 during pod rm). `pod rm`
 * records the pod's deletionTimestamp (and the grace period it was given,
 * deletionGracePeriodSeconds) in the state dir before it stops anything, so a record that
 * carries one is a removal to finish, whoever owns the pod: the next supervisor's adoption
 * finishes it, as a restarted kubelet finishes the deletion of a pod it finds with a
 * deletionTimestamp. The grace period counts from the deletionTimestamp: what is left of it
 * (none once it has passed) is what the containers get.
 *
 * Pods whose live state is gone (a reboot, a cleared run dir) are not taken here: restoreLost
 * removes those instead of restoring them (restore.ts).
 */
import { NotFoundError } from '../errors.js'
import { isActive, type PodRecord } from './types.js'
import type { PodStore } from './state-store.js'

/** The grace period left to a removal begun at the record's deletionTimestamp, in whole seconds. */
export function remainingGraceSeconds(rec: PodRecord, nowMs = Date.now()): number {
  const grace = rec.deletionGracePeriodSeconds ?? rec.spec.terminationGracePeriodSeconds
  const since = Date.parse(rec.deletionTimestamp ?? '')
  if (!Number.isFinite(since)) return grace
  return Math.max(0, Math.ceil(grace - (nowMs - since) / 1000))
}

/**
 * The pods whose removal an earlier supervisor began and this one must finish: a
 * deletionTimestamp, and either adopted (`adopted(name)`), live in this boot's run dir, or
 * ended (restoreLost takes the active ones that lost their live state).
 */
export function removalsToFinish(store: Pick<PodStore, 'names' | 'read' | 'readPersistent' | 'hasLive'>, adopted: (name: string) => boolean): PodRecord[] {
  return store.names().flatMap((name) => {
    let rec: PodRecord | undefined
    try {
      rec = store.read(name)
    } catch {
      return [] // a damaged record: pod gc's business
    }
    if (rec?.deletionTimestamp === undefined) return []
    if (adopted(name) || store.hasLive(name)) return [rec]
    const persistent = store.readPersistent(name)
    return persistent && isActive(persistent) ? [] : [rec]
  })
}

/**
 * Finishes those removals, all at once, in the background of the caller (adoption must not
 * wait for grace periods: the supervisor answers requests meanwhile, and a `pod rm` of one of
 * these pods waits for the same stop). Resolves once every one is done; errors go to `onError`.
 */
export async function finishRemovals(
  pods: readonly PodRecord[],
  rt: { remove(name: string, opts: { gracePeriodSeconds?: number }): Promise<void> },
  onError: (err: Error) => void,
): Promise<void> {
  await Promise.all(pods.map(async (rec) => {
    try {
      await rt.remove(rec.name, { gracePeriodSeconds: remainingGraceSeconds(rec) })
    } catch (err) {
      // removed meanwhile by a request: nothing to finish
      if (!(err instanceof NotFoundError)) onError(err as Error)
    }
  }))
}
