/**
 * `podnet rollout undo` and `restart` (kubectl's client-side steps, done in the supervisor):
 * undo copies a ReplicaSet's template (without its pod-template-hash) back into the
 * Deployment, so the Deployment controller rolls it out as the newest revision; restart sets
 * the template annotation kubectl.kubernetes.io/restartedAt, so every pod is replaced.
 * StatefulSets and DaemonSets keep their own revisions (statefulset-state.ts, daemonset-state.ts, as
 * Kubernetes' ControllerRevisions): undo copies one of those back.
 */
import { InvalidArgumentError, PodnetError } from '../errors.js'
import { canonical } from './fields.js'
import { REVISION_ANNOTATION, withoutHash } from './deployment.js'
import type { StsRevision } from './statefulset-state.js'
import type { DaemonSet, Deployment, PodTemplateSpec, ReplicaSet, StatefulSet } from './types.js'

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt'

export const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0

/**
 * The template `rollout undo` goes back to: revision toRevision, or (0) the one before the
 * current (kubectl's "the last revision": the second highest). Undefined: already there.
 */
export function undoTemplate(d: Deployment, rss: ReplicaSet[], toRevision = 0): { template: PodTemplateSpec; revision: number } | { skipped: number } {
  const byRev = rss.map((rs) => ({ rs, rev: revisionOf(rs) })).filter((x) => x.rev > 0).sort((a, b) => b.rev - a.rev)
  let target
  if (toRevision === 0) {
    target = byRev[1]
    if (!target) throw new PodnetError(`no rollout history found for deployment "${d.metadata.name}"`)
  } else {
    target = byRev.find((x) => x.rev === toRevision)
    if (!target) throw new InvalidArgumentError('--to-revision', `unable to find specified revision ${toRevision} in history`)
  }
  const template = withoutHash(target.rs.spec.template)
  if (canonical(template) === canonical(d.spec.template)) return { skipped: target.rev }
  return { template, revision: target.rev }
}

/** undoTemplate for a StatefulSet or a DaemonSet, over its kept revisions (ControllerRevisions). */
export function undoRevisionTemplate(o: StatefulSet | DaemonSet, revisions: readonly StsRevision[], toRevision = 0): { template: PodTemplateSpec; revision: number } | { skipped: number } {
  const byRev = [...revisions].sort((a, b) => b.revision - a.revision)
  const target = toRevision === 0 ? byRev[1] : byRev.find((r) => r.revision === toRevision)
  if (!target) {
    if (toRevision === 0) throw new PodnetError(`no rollout history found for ${o.kind.toLowerCase()} "${o.metadata.name}"`)
    throw new InvalidArgumentError('--to-revision', `unable to find specified revision ${toRevision} in history`)
  }
  if (canonical(target.template) === canonical(o.spec.template)) return { skipped: target.revision }
  return { template: target.template, revision: target.revision }
}

/** The template with restartedAt set to now (RFC 3339, as kubectl writes it). */
export function restartTemplate<T extends Deployment | DaemonSet | StatefulSet>(o: T, now = new Date()): T['spec']['template'] {
  const t = o.spec.template
  return { ...t, metadata: { ...t.metadata, annotations: { ...t.metadata.annotations, [RESTARTED_AT_ANNOTATION]: now.toISOString().replace(/\.\d{3}Z$/, 'Z') } } }
}

/**
 * What apply keeps of the current object that the manifest does not say (kubectl's three-way
 * merge keeps fields it never set): the controller's deployment.kubernetes.io/ annotations, and
 * a restartedAt that `rollout restart` put in the template.
 */
export function keepManaged(cur: { spec: unknown; metadata: { annotations?: Record<string, string> } } | undefined, spec: unknown, annotations: Record<string, string> | undefined): { spec: unknown; annotations: Record<string, string> | undefined } {
  if (!cur) return { spec, annotations }
  const kept = Object.entries(cur.metadata.annotations ?? {}).filter(([k]) => k.startsWith('deployment.kubernetes.io/'))
  const outA = kept.length ? { ...Object.fromEntries(kept), ...annotations } : annotations
  const ct = (cur.spec as { template?: PodTemplateSpec }).template
  const nt = (spec as { template?: PodTemplateSpec }).template
  const restarted = ct?.metadata.annotations?.[RESTARTED_AT_ANNOTATION]
  if (!nt || restarted === undefined || nt.metadata.annotations?.[RESTARTED_AT_ANNOTATION] !== undefined) return { spec, annotations: outA }
  return { spec: { ...(spec as object), template: { ...nt, metadata: { ...nt.metadata, annotations: { ...nt.metadata.annotations, [RESTARTED_AT_ANNOTATION]: restarted } } } }, annotations: outA }
}
