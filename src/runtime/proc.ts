/**
 * Reading processes from /proc: start times (a pid plus its start time names one process for
 * ever, even after the pid is reused), liveness, namespace identities.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** A process identity that survives pid reuse: the pid and its start time in clock ticks since boot. */
export interface ProcessRef {
  pid: number
  /** Field 22 of /proc/PID/stat. */
  startTime: number
}

/** Field 22 (starttime) of /proc/PID/stat, or undefined when the process does not exist. */
export function processStartTime(pid: number): number | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); field 22 is rest[19]
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined
  const v = Number(rest[19])
  return Number.isFinite(v) ? v : undefined
}

/** A reference to a running process (undefined when it is gone). */
export function processRef(pid: number): ProcessRef | undefined {
  const startTime = processStartTime(pid)
  return startTime === undefined ? undefined : { pid, startTime }
}

/** True while the process the ref names is alive (not a zombie, pid not reused). */
export function isAlive(ref: ProcessRef | undefined): boolean {
  return ref !== undefined && processStartTime(ref.pid) === ref.startTime
}

/** Namespace kinds as /proc/PID/ns names them, in lsns order. */
export const NS_KINDS = ['mnt', 'uts', 'ipc', 'pid', 'net', 'user', 'cgroup', 'time'] as const
export type NsKind = (typeof NS_KINDS)[number]

/** The inode number of a process's namespace of one kind (what lsns prints in its NS column). */
export function nsInode(pid: number | 'self', kind: NsKind): number | undefined {
  try {
    const link = readlinkSync(`/proc/${pid}/ns/${kind}`) // "net:[4026531840]"
    const m = /\[(\d+)\]$/.exec(link)
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Sum of utime and stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return undefined
  }
}

/** Resident set size of a process in bytes (VmRSS), undefined when gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Every process whose namespace of this kind is the given inode (a scan of /proc). */
export function processesInNamespace(kind: NsKind, inode: number): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue
    const pid = Number(e)
    if (pid !== process.pid && nsInode(pid, kind) === inode) out.push(pid)
  }
  return out
}

/** The children of a process (its main thread's), [] when it has none or is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return []
  }
}
