/**
 * A DaemonSet's revisions (Kubernetes' ControllerRevisions), in the state dir:
 *
 *   workloads/daemonset-state/<ds>.json   the templates it has rolled out, numbered, named
 *                                         <ds>-<template hash> (its pods' controller-revision-hash)
 *
 * Kept: the current template's, those of pods that still run, and revisionHistoryLimit more,
 * newest first. `rollout history` lists them and `rollout undo` puts one back. A DaemonSet made
 * again with the same name (another uid) starts afresh; the file goes with the set. Written
 * atomically and durably, only when a revision is added, renumbered or dropped.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeJsonAtomic } from '../state/index.js'
import { templateHash } from './deployment.js'
import { canonical } from './fields.js'
import { readOwnedState, type StsRevision } from './statefulset-state.js'
import type { DaemonSet } from './types.js'

export interface DsState {
  /** The DaemonSet this belongs to. */
  uid: string
  revisions: StsRevision[]
}

export class DaemonSetFiles {
  /** The workloads dir (<state>/workloads). */
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  statePath(ds: string): string { return join(this.root, 'daemonset-state', `${ds}.json`) }

  /** The set's revisions; a damaged or foreign (another uid) file starts afresh. */
  readState(o: DaemonSet): DsState {
    return readOwnedState<DsState>(this.statePath(o.metadata.name), o.metadata.uid) ?? { uid: o.metadata.uid, revisions: [] }
  }

  writeState(ds: string, s: DsState): void {
    writeJsonAtomic(this.statePath(ds), s)
  }

  remove(ds: string): void {
    rmSync(this.statePath(ds), { force: true })
  }
}

/**
 * The revisions once the set's current template is recorded: an equal one kept is made the
 * newest (a template put back), else a new one is added; then only the current one, those
 * `inUse` (revision names of pods that run) and the newest revisionHistoryLimit others stay.
 * `changed`: something to write.
 */
export function recordDaemonSetRevision(ds: DaemonSet, kept: readonly StsRevision[], inUse: ReadonlySet<string>): { revisions: StsRevision[]; current: string; changed: boolean } {
  const t = ds.spec.template
  let revisions = kept.map((r) => ({ ...r }))
  const max = Math.max(0, ...revisions.map((r) => r.revision))
  let changed = false
  let current = revisions.find((r) => canonical(r.template) === canonical(t))
  if (current) {
    if (current.revision < max) {
      current.revision = max + 1
      changed = true
    }
  } else {
    current = { name: `${ds.metadata.name}-${templateHash(t)}`, revision: max + 1, template: t }
    revisions = revisions.filter((r) => r.name !== current!.name) // a hash collision: the newest template wins the name
    revisions.push(current)
    changed = true
  }
  const needed = (r: StsRevision): boolean => r === current || inUse.has(r.name)
  const history = revisions.filter((r) => !needed(r)).sort((a, b) => b.revision - a.revision).slice(0, ds.spec.revisionHistoryLimit)
  const after = revisions.filter((r) => needed(r) || history.includes(r)).sort((a, b) => a.revision - b.revision)
  if (after.length !== revisions.length) changed = true
  return { revisions: after, current: current.name, changed }
}
