/**
 * The namespace table of a pod (`podnet pod ns`): for the pause and every running container,
 * the inode of each namespace kind, read from /proc/PID/ns as lsns(8) does, and whether the
 * kind is shared by the whole pod, private to each container, or the host's.
 */
import { NS_KINDS, isAlive, nsInode, type NsKind } from './proc.js'
import type { PodRecord } from './types.js'

export interface NsMember {
  /** "pause" or the container name. */
  name: string
  role: 'pause' | 'container'
  pid: number
}

export type NsSharing = 'pod' | 'private' | 'host' | 'mixed'

export interface NsRow {
  kind: NsKind
  /**
   * pod: one namespace for the pause and every container, not the host's; private: every
   * container has its own; host: everyone is in the caller's namespace; mixed: anything else.
   */
  sharing: NsSharing
  /** The caller's namespace of this kind (the reference for "host"). */
  host?: number
  members: Array<NsMember & { inode?: number }>
}

/** The pause and the running containers of a pod, with their host pids. */
export function podMembers(rec: PodRecord): NsMember[] {
  const out: NsMember[] = []
  if (rec.sandbox.pause && isAlive(rec.sandbox.pause)) out.push({ name: 'pause', role: 'pause', pid: rec.sandbox.pause.pid })
  for (const c of rec.containers) {
    if (c.state.status === 'running' && isAlive(c.state.launcher)) out.push({ name: c.name, role: 'container', pid: c.state.pid })
  }
  return out
}

/** Classifies one kind from the members' inodes. */
export function classify(members: ReadonlyArray<{ role: 'pause' | 'container'; inode?: number }>, host: number | undefined): NsSharing {
  const inodes = members.map((m) => m.inode)
  if (inodes.length && inodes.every((i) => i !== undefined && i === inodes[0])) return inodes[0] === host ? 'host' : 'pod'
  const pause = members.find((m) => m.role === 'pause')?.inode
  const cont = members.filter((m) => m.role === 'container').map((m) => m.inode)
  if (cont.every((i) => i !== undefined) && new Set(cont).size === cont.length && (pause === undefined || !cont.includes(pause))) return 'private'
  return 'mixed'
}

/** The table for a pod; `reference` is the process whose namespaces count as the host's. */
export function namespaceTable(rec: PodRecord, reference: number | 'self' = 'self'): NsRow[] {
  const members = podMembers(rec)
  return NS_KINDS.map((kind) => {
    const host = nsInode(reference, kind)
    const ms = members.map((m) => {
      const inode = nsInode(m.pid, kind)
      return inode === undefined ? { ...m } : { ...m, inode }
    })
    return { kind, sharing: classify(ms, host), ...(host !== undefined && { host }), members: ms }
  })
}
