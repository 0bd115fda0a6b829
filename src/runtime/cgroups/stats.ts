/**
 * Usage counters of one cgroup, from whichever version serves each controller (detect.ts):
 *
 *   CPU time   v1 cpuacct.usage (ns)                     v2 cpu.stat usage_usec
 *   memory     v1 memory.usage_in_bytes, limit_in_bytes, v2 memory.current, memory.max,
 *              memory.stat total_inactive_file              memory.stat inactive_file
 *   OOM kills  v1 memory.oom_control oom_kill            v2 memory.events oom_kill
 *   disk I/O   v1 blkio.throttle.io_service_bytes_recursive and io_serviced_recursive
 *              (Read/Write lines per device)             v2 io.stat rbytes/wbytes/rios/wios per device
 *              On v1, kernels that set blk-throttle up only when a throttle rule exists for the
 *              device (Linux 6.x: the counters stay 0 until then; kernel 6.18 here) leave the
 *              blkio counters at zero: podnet then sums /proc/PID/io (read_bytes,
 *              write_bytes: storage I/O, which includes the processes' reaped children) of the
 *              cgroup's processes, with no op counts. `source` says which.
 *   processes  pids.current (both)
 *
 * Every counter of a parent includes its children (v1 hierarchies are hierarchical on kernels
 * since 4.x; v2 always), so a pod's cgroup sums its containers and its pause. Reading is a few
 * small file reads: no process, no walk of the tree. Block I/O is what reached a block device
 * from this cgroup: O_DIRECT and synchronous writes are charged to the writer, while buffered
 * writes flushed later by the kernel's flusher threads are charged to those on cgroup v1.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CgroupLayout } from './detect.js'

export interface IoCounters {
  readBytes: number
  writeBytes: number
  /** Requests that reached the device (absent when only /proc/PID/io had numbers). */
  readOps?: number
  writeOps?: number
  /** Where the numbers come from. */
  source: 'io.stat' | 'blkio' | 'proc'
}

export interface CgroupStats {
  /** CPU time used, nanoseconds. */
  cpuNs?: number
  memoryUsageBytes?: number
  /** Usage minus inactive file cache: what kubectl top and the OOM killer look at. */
  memoryWorkingSetBytes?: number
  /** undefined: no limit. */
  memoryLimitBytes?: number
  oomKills: number
  io?: IoCounters
  pids?: number
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
const num = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const t = text.trim()
  return t === '' || t === 'max' ? undefined : Number(t)
}

/** "key value" lines (cpu.stat, memory.stat, memory.events) as a map. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v))
  }
  return out
}

/** v1 blkio "MAJ:MIN Read N" lines summed over devices (the Total line is left out). */
export function parseBlkio(text: string): { read: number; write: number } {
  let r = 0
  let w = 0
  for (const line of text.split('\n')) {
    const [dev, op, v] = line.trim().split(/\s+/)
    if (!dev || !/^\d+:\d+$/.test(dev) || v === undefined) continue
    if (op === 'Read') r += Number(v)
    else if (op === 'Write') w += Number(v)
  }
  return { read: r, write: w }
}

/** v2 io.stat "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines summed over devices. */
export function parseIoStat(text: string): IoCounters {
  const out = { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0, source: 'io.stat' as const }
  for (const line of text.split('\n')) {
    for (const kv of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = kv.split('=')
      const n = Number(v)
      if (!Number.isFinite(n)) continue
      if (k === 'rbytes') out.readBytes += n
      else if (k === 'wbytes') out.writeBytes += n
      else if (k === 'rios') out.readOps += n
      else if (k === 'wios') out.writeOps += n
    }
  }
  return out
}

/** Storage I/O of the processes listed in a cgroup.procs text, from /proc/PID/io (gone ones count 0). */
export function procIo(procs: string, readIo: (pid: string) => string | undefined = (pid) => read(`/proc/${pid}/io`)): IoCounters {
  const out: IoCounters = { readBytes: 0, writeBytes: 0, source: 'proc' }
  for (const pid of procs.split('\n')) {
    if (!/^\d+$/.test(pid.trim())) continue
    const kv = parseKeyValuesColon(readIo(pid.trim()) ?? '')
    out.readBytes += kv.get('read_bytes') ?? 0
    out.writeBytes += Math.max(0, (kv.get('write_bytes') ?? 0) - (kv.get('cancelled_write_bytes') ?? 0))
  }
  return out
}

/** "key: value" lines (/proc/PID/io). */
function parseKeyValuesColon(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(\d+)$/.exec(line.trim())
    if (m) out.set(m[1]!, Number(m[2]))
  }
  return out
}

/** v1 reports "no limit" as a page-rounded LONG_MAX. */
const V1_UNLIMITED = 2 ** 62

/** The counters of `path` (relative to each hierarchy's root); fields stay undefined where no controller serves them. */
export function readCgroupStats(layout: CgroupLayout, path: string): CgroupStats {
  const out: CgroupStats = { oomKills: 0 }
  const dir = (c: keyof CgroupLayout['byController']): { v: 1 | 2; d: string } | undefined => {
    const h = layout.byController[c]
    return h ? { v: h.version, d: join(h.mount, path) } : undefined
  }
  const cpu = dir('cpuacct')
  if (cpu) {
    if (cpu.v === 1) {
      const ns = num(read(join(cpu.d, 'cpuacct.usage')))
      if (ns !== undefined) out.cpuNs = ns
    } else {
      const usec = parseKeyValues(read(join(cpu.d, 'cpu.stat')) ?? '').get('usage_usec')
      if (usec !== undefined) out.cpuNs = usec * 1000
    }
  }
  const mem = dir('memory')
  if (mem) {
    const v1 = mem.v === 1
    const usage = num(read(join(mem.d, v1 ? 'memory.usage_in_bytes' : 'memory.current')))
    if (usage !== undefined) {
      out.memoryUsageBytes = usage
      const inactive = parseKeyValues(read(join(mem.d, 'memory.stat')) ?? '').get(v1 ? 'total_inactive_file' : 'inactive_file') ?? 0
      out.memoryWorkingSetBytes = Math.max(0, usage - inactive)
    }
    const limit = num(read(join(mem.d, v1 ? 'memory.limit_in_bytes' : 'memory.max')))
    if (limit !== undefined && limit < V1_UNLIMITED) out.memoryLimitBytes = limit
    out.oomKills = parseKeyValues(read(join(mem.d, v1 ? 'memory.oom_control' : 'memory.events')) ?? '').get('oom_kill') ?? 0
  }
  const io = dir('io')
  if (io) {
    if (io.v === 1) {
      const bytes = read(join(io.d, 'blkio.throttle.io_service_bytes_recursive'))
      const ops = read(join(io.d, 'blkio.throttle.io_serviced_recursive'))
      if (bytes !== undefined && ops !== undefined) {
        const b = parseBlkio(bytes)
        const o = parseBlkio(ops)
        out.io = { readBytes: b.read, writeBytes: b.write, readOps: o.read, writeOps: o.write, source: 'blkio' }
        if (b.read + b.write === 0) {
          const p = procIo(read(join(io.d, 'cgroup.procs')) ?? '')
          if (p.readBytes + p.writeBytes > 0) out.io = p
        }
      }
    } else {
      const text = read(join(io.d, 'io.stat'))
      if (text !== undefined) out.io = parseIoStat(text)
    }
  }
  const pids = dir('pids')
  if (pids) {
    const n = num(read(join(pids.d, 'pids.current')))
    if (n !== undefined) out.pids = n
  }
  return out
}
