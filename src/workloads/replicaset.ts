/**
 * The ReplicaSet controller (Kubernetes' semantics on one node): keeps spec.replicas pods that
 * match the selector, creating `NAME-xxxxx` pods from the template (in batches of 1, 2, 4, ...)
 * and deleting surplus ones in deletionOrder (not ready, then newest, first). A pod that has
 * ended (Failed, Succeeded: its sandbox died, a reboot lost it) is replaced, and podnet removes
 * the ended one. Orphan pods its selector matches are adopted.
 */
import { matches } from './selector.js'
import { podSpecFromTemplate } from './template.js'
import { conditionTrue, setCondition, slowStart, type ControllerContext } from './context.js'
import { deletionOrder, generateName, isActivePod, isPodAvailable, isPodReady, isTerminating, ownerRef } from './pods.js'
import type { ReplicaSet, ReplicaSetStatus } from './types.js'

export async function syncReplicaSet(ctx: ControllerContext, rs: ReplicaSet): Promise<void> {
  const spec = rs.spec
  for (const p of ctx.orphanPods()) {
    if (isActivePod(p) && matches(spec.selector, p.spec.labels)) await ctx.adopt(rs, p)
  }
  let owned = ctx.ownedPods(rs)
  for (const p of owned) if (!isActivePod(p) && !isTerminating(p)) ctx.deletePod(rs, p, `it ended (${p.phase}${p.reason ? `: ${p.reason}` : ''})`)
  const active = owned.filter(isActivePod)
  const diff = active.length - spec.replicas
  let failedCreate: string | undefined
  if (diff < 0) {
    const want = -diff
    const made = await slowStart(want, async () => {
      const name = generateName(rs.metadata.name)
      const ok = await ctx.createPod(rs, podSpecFromTemplate(spec.template, name, { ownerReferences: [ownerRef(rs)] }))
      return ok
    })
    if (made < want) {
      failedCreate = `created ${made} of ${want} pods`
      ctx.requeueAfter(rs, 2000)
    }
  } else if (diff > 0) {
    for (const p of deletionOrder(active).slice(0, diff)) ctx.deletePod(rs, p)
  }
  owned = ctx.ownedPods(rs)
  const now = ctx.now()
  const live = owned.filter(isActivePod)
  const status: ReplicaSetStatus = {
    replicas: live.length,
    fullyLabeledReplicas: live.filter((p) => matches(spec.selector, p.spec.labels)).length,
    readyReplicas: live.filter(isPodReady).length,
    availableReplicas: live.filter((p) => isPodAvailable(p, spec.minReadySeconds, now)).length,
    observedGeneration: rs.metadata.generation,
  }
  if (spec.minReadySeconds > 0 && status.availableReplicas < status.readyReplicas) ctx.requeueAfter(rs, 1000)
  const at = new Date(now).toISOString()
  if (failedCreate) status.conditions = setCondition(rs.status?.conditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failedCreate }, at)
  else if (conditionTrue(rs.status?.conditions, 'ReplicaFailure')) status.conditions = (rs.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure')
  else if (rs.status?.conditions?.length) status.conditions = rs.status.conditions
  if (status.conditions && !status.conditions.length) delete status.conditions
  rs.status = status
}
