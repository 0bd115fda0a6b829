/**
 * The DaemonSet controller on one node: exactly one pod on this machine when the template's
 * nodeSelector matches this node's labels (node.ts), none when it does not. Under Kubernetes
 * the same object makes one pod per matching node; podnet is one node, so "every node" is this
 * one (docs/workloads.md).
 *
 * planDaemonSet is a pure step (the pods as seen -> pods to create and delete, and the status);
 * syncDaemonSet acts on it. Pods carry the template's hash in `controller-revision-hash`; a pod
 * with another hash is outdated. RollingUpdate replaces it: maxSurge 0 deletes the old pod and
 * creates the new one once the old is gone (the node may be without its pod for a moment:
 * maxUnavailable >= 1); maxSurge 1 creates the new pod first and deletes the old one once the
 * new is available. OnDelete replaces a pod only when it is deleted.
 */
import { podSpecFromTemplate } from './template.js'
import { recordDaemonSetRevision, type DaemonSetFiles } from './daemonset-state.js'
import type { ControllerContext } from './context.js'
import { templateHash } from './deployment.js'
import { generateName, isActivePod, isPodAvailable, isPodReady, ownerRef, readySince } from './pods.js'
import { scaled } from './validate-apps.js'
import type { DaemonSet, DaemonSetStatus, PodTemplateSpec } from './types.js'

export const REVISION_HASH_LABEL = 'controller-revision-hash'

export interface DsPodView {
  name: string
  hash: string | undefined
  created: string
  /** Pending or Running, not being deleted. */
  active: boolean
  /** Being deleted, not gone yet. */
  terminating: boolean
  ready: boolean
  available: boolean
}

export type DaemonSetAction = { type: 'create'; hash: string } | { type: 'delete'; name: string; why: string }

/** Whether a nodeSelector (every key=value) matches the node's labels. */
export const nodeSelectorMatches = (sel: Record<string, string> | undefined, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v)

/** The pod template without the nodeSelector (the controller's business, not the pod's). */
export function podTemplate(t: PodTemplateSpec): PodTemplateSpec {
  const spec = { ...t.spec }
  delete spec.nodeSelector
  return { ...t, spec }
}

export function planDaemonSet(ds: DaemonSet, pods: readonly DsPodView[], node: { name: string; labels: Readonly<Record<string, string>> }): { actions: DaemonSetAction[]; status: DaemonSetStatus; shouldRun: boolean } {
  const spec = ds.spec
  const shouldRun = nodeSelectorMatches(spec.template.spec.nodeSelector as Record<string, string> | undefined, node.labels)
  const hash = templateHash(spec.template)
  const actions: DaemonSetAction[] = []
  const del = (p: DsPodView, why: string): void => { actions.push({ type: 'delete', name: p.name, why }) }
  const oldestFirst = [...pods].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.name < b.name ? -1 : 1))
  const active = oldestFirst.filter((p) => p.active)
  for (const p of oldestFirst) if (!p.active && !p.terminating) del(p, 'it ended')
  const current = active.filter((p) => p.hash === hash)
  const outdated = active.filter((p) => p.hash !== hash)
  if (!shouldRun) {
    for (const p of active) del(p, `node ${node.name} does not match the nodeSelector`)
  } else if (!active.length) {
    // one pod per node: a new one once every earlier one is gone
    if (!pods.some((p) => p.terminating)) actions.push({ type: 'create', hash })
  } else {
    // more than one updated pod (a crashed create, an adopted one): the oldest stays
    for (const p of current.slice(1)) del(p, 'one pod per node')
    if (spec.updateStrategy.type === 'RollingUpdate' && outdated.length) {
      const ru = spec.updateStrategy.rollingUpdate
      const surge = scaled(ru.maxSurge, 1, true)
      const newest = current[0]
      for (const o of outdated) {
        if (newest) {
          if (newest.available || !o.available) del(o, 'replaced by an updated pod')
        } else if (surge === 0 || !o.available) del(o, 'outdated')
        else if (o === outdated[0] && !pods.some((p) => p.terminating)) actions.push({ type: 'create', hash })
      }
    } else if (spec.updateStrategy.type === 'OnDelete') {
      // outdated pods stay until someone deletes them; extras go
      for (const p of outdated.slice(current.length ? 0 : 1)) del(p, 'one pod per node')
    }
  }
  const deleted = new Set(actions.flatMap((a) => (a.type === 'delete' ? [a.name] : [])))
  const kept = active.filter((p) => !deleted.has(p.name))
  const run = shouldRun ? 1 : 0
  const status: DaemonSetStatus = {
    observedGeneration: ds.metadata.generation,
    desiredNumberScheduled: run,
    currentNumberScheduled: shouldRun && active.length ? 1 : 0,
    numberMisscheduled: !shouldRun && active.length ? 1 : 0,
    numberReady: shouldRun && kept.some((p) => p.ready) ? 1 : 0,
    updatedNumberScheduled: shouldRun && current.length ? 1 : 0,
    numberAvailable: shouldRun && kept.some((p) => p.available) ? 1 : 0,
    numberUnavailable: 0,
  }
  status.numberUnavailable = run - status.numberAvailable
  return { actions, status, shouldRun }
}

export async function syncDaemonSet(ctx: ControllerContext, ds: DaemonSet, files?: DaemonSetFiles): Promise<void> {
  const now = ctx.now()
  const min = ds.spec.minReadySeconds
  const owned = ctx.ownedPods(ds)
  if (files) {
    // the revisions (rollout history and undo): the current template's recorded before its pods are made
    const inUse = new Set(owned.filter(isActivePod).flatMap((p) => { const h = p.spec.labels?.[REVISION_HASH_LABEL]; return h ? [`${ds.metadata.name}-${h}`] : [] }))
    const state = files.readState(ds)
    const r = recordDaemonSetRevision(ds, state.revisions, inUse)
    if (r.changed) files.writeState(ds.metadata.name, { uid: ds.metadata.uid, revisions: r.revisions })
  }
  const views: DsPodView[] = owned.map((p) => ({
    name: p.name, hash: p.spec.labels?.[REVISION_HASH_LABEL], created: p.createdAt, active: isActivePod(p), terminating: p.deletionTimestamp !== undefined,
    ready: isPodReady(p), available: isPodAvailable(p, min, now),
  }))
  const node = ctx.node()
  const plan = planDaemonSet(ds, views, node)
  for (const a of plan.actions) {
    if (a.type === 'delete') {
      const p = owned.find((x) => x.name === a.name)
      if (p) ctx.deletePod(ds, p, a.why)
    } else {
      const name = generateName(ds.metadata.name)
      const ok = await ctx.createPod(ds, podSpecFromTemplate(podTemplate(ds.spec.template), name, { labels: { [REVISION_HASH_LABEL]: a.hash }, ownerReferences: [ownerRef(ds)] }))
      if (!ok) ctx.requeueAfter(ds, 2000)
    }
  }
  const waiting = owned.filter((p) => isPodReady(p) && !isPodAvailable(p, min, now)).map((p) => readySince(p)! + min * 1000 - now)
  if (waiting.length) ctx.requeueAfter(ds, Math.max(0, Math.min(...waiting)) + 10)
  ds.status = plan.status
}
