/**
 * What a StatefulSet keeps besides its object, in the state dir (it survives reboots and a
 * supervisor's kill -9; every write is atomic and durable, and made before what it names):
 *
 *   workloads/statefulset-state/<sts>.json   revisions (the templates of currentRevision and
 *                                            updateRevision, as Kubernetes' ControllerRevisions)
 *                                            and each ordinal's network addresses
 *   workloads/volumes/<sts>/<claim>.json     a claim (Kubernetes' PersistentVolumeClaim, named
 *                                            CLAIM-STS-ORDINAL) with its storage request
 *   workloads/volumes/<sts>/<claim>/         its volume: a directory, mounted into the pod of
 *                                            that ordinal (persistentVolumeClaim volume source)
 *
 * The claims outlive their pods (replacement, scale-down) and the StatefulSet itself unless
 * spec.persistentVolumeClaimRetentionPolicy says Delete (whenDeleted: with the set; whenScaled:
 * once the ordinal's pod is gone after a scale-down). A StatefulSet made again with the same name
 * finds its retained claims by name, as in Kubernetes.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DamagedRecordError } from '../errors.js'
import { listDir, readJson, writeJsonAtomic } from '../state/index.js'
import type { PersistentVolumeClaimTemplate, PodTemplateSpec, StatefulSet } from './types.js'

/** One revision of the set's template (a ControllerRevision). */
export interface StsRevision { name: string; revision: number; template: PodTemplateSpec }

/**
 * A set's state file when it is this set's (same uid) and has its revisions list; undefined when
 * it is missing, damaged or another set's (a set made again under the same name): the caller
 * starts afresh. Shared by the StatefulSet and DaemonSet state files.
 */
export function readOwnedState<T extends { uid: string; revisions: StsRevision[] }>(path: string, uid: string): T | undefined {
  let s: T | undefined
  try {
    s = readJson<T>(path)
  } catch (err) {
    if (!(err instanceof DamagedRecordError)) throw err
  }
  return s && s.uid === uid && Array.isArray(s.revisions) ? s : undefined
}

export interface StsState {
  /** The StatefulSet this belongs to (a set made again with the same name starts afresh, but for its claims). */
  uid: string
  revisions: StsRevision[]
  /** Per ordinal: the network and the addresses its last pod had, asked for again when the pod is made again. */
  addresses: Record<string, { network: string; ips: string[] }>
}

/** A claim (PersistentVolumeClaim) as recorded. */
export interface ClaimRecord {
  apiVersion: 'v1'
  kind: 'PersistentVolumeClaim'
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp: string }
  spec: PersistentVolumeClaimTemplate['spec']
  status: { phase: 'Bound'; capacity: { storage: string }; accessModes: string[] }
  /** podnet: the StatefulSet, its ordinal, and where the volume is. */
  podnet: { statefulSet: string; template: string; ordinal: number; path: string }
}

/** Kubernetes' claim name: CLAIM-STS-ORDINAL. */
export const claimName = (template: string, sts: string, ordinal: number): string => `${template}-${sts}-${ordinal}`

export class StatefulSetFiles {
  /** The workloads dir (<state>/workloads). */
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  statePath(sts: string): string { return join(this.root, 'statefulset-state', `${sts}.json`) }
  volumesDir(sts: string): string { return join(this.root, 'volumes', sts) }
  claimPath(sts: string, claim: string): string { return join(this.volumesDir(sts), claim) }
  claimRecordPath(sts: string, claim: string): string { return join(this.volumesDir(sts), `${claim}.json`) }

  /** The set's state; a damaged or foreign (another uid) one starts afresh. */
  readState(o: StatefulSet): StsState {
    const s = readOwnedState<StsState>(this.statePath(o.metadata.name), o.metadata.uid)
    if (!s) return { uid: o.metadata.uid, revisions: [], addresses: {} }
    return { uid: s.uid, revisions: s.revisions, addresses: s.addresses ?? {} }
  }

  writeState(sts: string, s: StsState): void {
    writeJsonAtomic(this.statePath(sts), s)
  }

  readClaim(sts: string, claim: string): ClaimRecord | undefined {
    try {
      return readJson<ClaimRecord>(this.claimRecordPath(sts, claim))
    } catch (err) {
      if (err instanceof DamagedRecordError) return undefined
      throw err
    }
  }

  /** Every claim of the set (records), sorted by name. */
  claims(sts: string): ClaimRecord[] {
    return listDir(this.volumesDir(sts)).filter((f) => f.endsWith('.json')).flatMap((f) => {
      const c = this.readClaim(sts, f.slice(0, -'.json'.length))
      return c ? [c] : []
    })
  }

  /**
   * Makes the claim of one ordinal unless it exists: the record first, then the directory
   * (mode 0777, as Kubernetes' hostPath provisioner makes them). Returns whether it was made.
   */
  ensureClaim(o: StatefulSet, t: PersistentVolumeClaimTemplate, ordinal: number, now: string): { record: ClaimRecord; made: boolean } {
    const name = claimName(t.metadata.name, o.metadata.name, ordinal)
    const path = this.claimPath(o.metadata.name, name)
    const prev = this.readClaim(o.metadata.name, name)
    if (prev) {
      mkdirSync(path, { recursive: true, mode: 0o777 })
      return { record: prev, made: false }
    }
    const labels = { ...t.metadata.labels, ...o.spec.selector.matchLabels }
    const record: ClaimRecord = {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name, ...(Object.keys(labels).length && { labels }), ...(t.metadata.annotations && { annotations: t.metadata.annotations }), creationTimestamp: now },
      spec: t.spec,
      status: { phase: 'Bound', capacity: { storage: t.spec.resources.requests.storage }, accessModes: t.spec.accessModes },
      podnet: { statefulSet: o.metadata.name, template: t.metadata.name, ordinal, path },
    }
    writeJsonAtomic(this.claimRecordPath(o.metadata.name, name), record)
    mkdirSync(path, { recursive: true, mode: 0o777 })
    return { record, made: true }
  }

  /** Every claim of every set (those of deleted sets too, when retained), sorted by name. */
  allClaims(): ClaimRecord[] {
    return listDir(join(this.root, 'volumes')).flatMap((sts) => this.claims(sts)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  }

  /** Deletes a claim: its volume, then its record. */
  deleteClaim(sts: string, claim: string): void {
    rmSync(this.claimPath(sts, claim), { recursive: true, force: true })
    rmSync(this.claimRecordPath(sts, claim), { force: true })
  }

  /**
   * The set is gone: its state goes; its claims too when `deleteClaims` (whenDeleted: Delete,
   * and not an orphaning delete), else they stay for a set of the same name.
   */
  removeSet(sts: string, deleteClaims: boolean): void {
    if (deleteClaims) rmSync(this.volumesDir(sts), { recursive: true, force: true })
    rmSync(this.statePath(sts), { force: true })
  }
}
