/**
 * The Job controller (Kubernetes' semantics on one node): runs pods until spec.completions of
 * them succeed, at most spec.parallelism at a time. Failed pods (restartPolicy Never) count
 * towards backoffLimit and delay the next pod by the back-off (10 s doubling up to 6 min,
 * Kubernetes' numbers; the supervisor takes others for tests); with OnFailure the restarts of
 * running pods count. activeDeadlineSeconds ends every running pod. Indexed Jobs give each
 * index 0..completions-1 one pod at a time (JOB_COMPLETION_INDEX, hostname NAME-INDEX) until
 * it succeeds once. Ended pods stay until the Job is deleted, as in Kubernetes.
 */
import type { PodRecord } from '../runtime/types.js'
import { podSpecFromTemplate } from './template.js'
import { conditionTrue, setCondition, slowStart, type ControllerContext } from './context.js'
import { deletionOrder, generateName, isActivePod, isPodReady, ownerRef } from './pods.js'
import type { Job, JobStatus } from './types.js'

export const JOB_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index'
export const JOB_INDEX_LABEL = 'batch.kubernetes.io/job-completion-index'
export const JOB_INDEX_ENV = 'JOB_COMPLETION_INDEX'
export const JOB_UID_LABEL = 'batch.kubernetes.io/controller-uid'
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name'

/** Kubernetes' default Job back-off: 10 s, doubling, at most 6 min. */
export const JOB_BACKOFF = { baseMs: 10_000, maxMs: 360_000 }

const indexOf = (p: PodRecord): number | undefined => {
  const v = p.spec.annotations[JOB_INDEX_ANNOTATION]
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined
}

/** "0-2,4,6-7" (Kubernetes' completedIndexes). */
export function formatIndexes(idx: number[]): string {
  const s = [...new Set(idx)].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < s.length;) {
    let j = i
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++
    out.push(j === i ? `${s[i]}` : `${s[i]}-${s[j]}`)
    i = j + 1
  }
  return out.join(',')
}

const finishedAt = (p: PodRecord): number => Date.parse(p.finishedAt ?? p.createdAt)

export async function syncJob(ctx: ControllerContext, job: Job): Promise<void> {
  const spec = job.spec
  const now = ctx.now()
  const at = new Date(now).toISOString()
  const st: JobStatus = { active: 0, ready: 0, succeeded: 0, failed: 0, ...job.status }
  const owned = ctx.ownedPods(job)
  const finished = conditionTrue(st.conditions, 'Complete') || conditionTrue(st.conditions, 'Failed')
  const active = owned.filter(isActivePod)
  // a pod a stop ended (pod stop, a deletion: Succeeded with reason Stopped) did not complete its work: failed, as Kubernetes counts a disrupted pod
  const stopped = (p: PodRecord): boolean => p.reason === 'Stopped'
  const succeededPods = owned.filter((p) => p.phase === 'Succeeded' && !stopped(p))
  const failedPods = owned.filter((p) => p.phase === 'Failed' || (p.phase === 'Succeeded' && stopped(p)))
  const indexed = spec.completionMode === 'Indexed'
  const doneIndexes = indexed ? [...new Set(succeededPods.map(indexOf).filter((i): i is number => i !== undefined && i < spec.completions!))] : []
  st.succeeded = indexed ? doneIndexes.length : succeededPods.length
  st.failed = failedPods.length
  if (indexed) {
    if (doneIndexes.length) st.completedIndexes = formatIndexes(doneIndexes)
    else delete st.completedIndexes
  }

  const endActive = (): void => { for (const p of active) ctx.deletePod(job, p) }

  if (finished) {
    endActive()
    finishStatus()
    const ttl = spec.ttlSecondsAfterFinished
    if (ttl !== undefined) {
      const end = Date.parse(st.completionTime ?? st.conditions?.find((c) => c.type === 'Failed')?.lastTransitionTime ?? at)
      const left = end + ttl * 1000 - now
      if (left <= 0) ctx.deleteObject(job)
      else ctx.requeueAfter(job, left)
    }
    return
  }

  if (spec.suspend) {
    endActive()
    st.conditions = setCondition(st.conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, at)
    finishStatus()
    return
  }
  if (conditionTrue(st.conditions, 'Suspended')) {
    st.conditions = setCondition(st.conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, at)
    st.startTime = at // Kubernetes restarts the deadline's clock on resume
  }
  st.startTime ??= at

  // failure: the back-off limit, then the deadline
  const restartsOnFailure = spec.template.spec.restartPolicy === 'OnFailure'
    ? active.reduce((n, p) => n + p.containers.reduce((m, c) => m + c.restartCount, 0), 0) : 0
  const pastBackoff = st.failed > spec.backoffLimit || (restartsOnFailure > 0 && (spec.backoffLimit === 0 || restartsOnFailure >= spec.backoffLimit))
  const deadlineAt = spec.activeDeadlineSeconds !== undefined ? Date.parse(st.startTime) + spec.activeDeadlineSeconds * 1000 : undefined
  const failure = pastBackoff
    ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }
    : deadlineAt !== undefined && now >= deadlineAt ? { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' } : undefined
  if (failure) {
    endActive()
    st.conditions = setCondition(st.conditions, { type: 'Failed', status: 'True', ...failure }, at)
    ctx.event(job, 'Warning', failure.reason, failure.message)
    finishStatus()
    if (spec.ttlSecondsAfterFinished !== undefined) ctx.requeueAfter(job, spec.ttlSecondsAfterFinished * 1000)
    return
  }
  if (deadlineAt !== undefined) ctx.requeueAfter(job, deadlineAt - now)

  // completion
  const complete = spec.completions === undefined ? st.succeeded > 0 && active.length === 0 : st.succeeded >= spec.completions
  if (complete) {
    endActive()
    st.completionTime = at
    st.conditions = setCondition(st.conditions, { type: 'Complete', status: 'True' }, at)
    ctx.event(job, 'Normal', 'Completed', 'Job completed')
    finishStatus()
    if (spec.ttlSecondsAfterFinished !== undefined) ctx.requeueAfter(job, spec.ttlSecondsAfterFinished * 1000)
    return
  }

  // the back-off after failures since the last success
  const lastSuccess = Math.max(0, ...succeededPods.map(finishedAt))
  const recentFailures = failedPods.filter((p) => finishedAt(p) > lastSuccess)
  let waitMs = 0
  if (recentFailures.length) {
    const delay = Math.min(ctx.jobBackoff.baseMs * 2 ** (recentFailures.length - 1), ctx.jobBackoff.maxMs)
    waitMs = Math.max(...recentFailures.map(finishedAt)) + delay - now
  }

  if (indexed) {
    const busy = new Set(active.map(indexOf))
    const done = new Set(doneIndexes)
    const todo: number[] = []
    for (let i = 0; i < spec.completions! && todo.length + active.length < spec.parallelism; i++) if (!done.has(i) && !busy.has(i)) todo.push(i)
    // an index with two active pods (a supervisor that died mid-create): the newer one goes
    const seen = new Set<number>()
    for (const p of [...active].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))) {
      const i = indexOf(p)
      if (i === undefined || done.has(i) || seen.has(i)) ctx.deletePod(job, p, 'its index is done or taken')
      else seen.add(i)
    }
    if (todo.length && waitMs > 0) ctx.requeueAfter(job, waitMs)
    else if (todo.length) {
      let k = 0
      await slowStart(todo.length, () => {
        const i = todo[k++]!
        const name = generateName(`${job.metadata.name}-${i}`)
        return ctx.createPod(job, podSpecFromTemplate(spec.template, name, {
          ownerReferences: [ownerRef(job)], labels: { [JOB_INDEX_LABEL]: String(i) }, annotations: { [JOB_INDEX_ANNOTATION]: String(i) },
          env: [{ name: JOB_INDEX_ENV, value: String(i) }], hostname: `${job.metadata.name}-${i}`,
        }))
      })
    }
  } else {
    const want = spec.completions === undefined ? (st.succeeded > 0 ? 0 : spec.parallelism) : Math.min(spec.parallelism, spec.completions - st.succeeded)
    if (active.length > want) for (const p of deletionOrder(active).slice(0, active.length - want)) ctx.deletePod(job, p)
    else if (active.length < want) {
      if (waitMs > 0) ctx.requeueAfter(job, waitMs)
      else {
        await slowStart(want - active.length, () => {
          const name = generateName(job.metadata.name)
          return ctx.createPod(job, podSpecFromTemplate(spec.template, name, { ownerReferences: [ownerRef(job)] }))
        })
      }
    }
  }
  finishStatus()

  function finishStatus(): void {
    const live = ctx.ownedPods(job).filter(isActivePod)
    st.active = live.length
    st.ready = live.filter(isPodReady).length
    job.status = st
  }
}
