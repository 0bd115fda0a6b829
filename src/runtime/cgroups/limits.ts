/**
 * Writing limits and reading counters, per cgroup version. The kernel's file names:
 *   v1  cpu.cfs_period_us + cpu.cfs_quota_us, memory.limit_in_bytes (+ memory.memsw.limit_in_bytes),
 *       OOM kills in memory.oom_control "oom_kill N"
 *   v2  cpu.max "QUOTA PERIOD", memory.max (+ memory.swap.max 0), OOM kills in memory.events
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PodnetError } from '../../errors.js'

/** CFS period podnet uses (the kernel's default, 100 ms). */
export const CFS_PERIOD_US = 100_000

export interface Limits {
  cpuMillis?: number
  memoryBytes?: number
}

function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value)
  } catch (err) {
    throw new PodnetError(`cannot write ${value.trim()} to ${join(dir, file)}: ${(err as Error).message}`, { cause: err })
  }
}

/** The CFS quota for a CPU limit: millicores of one period, at least 1 ms (the kernel's minimum). */
export const cfsQuotaUs = (cpuMillis: number): number => Math.max(1000, Math.round((cpuMillis * CFS_PERIOD_US) / 1000))

export function writeCpuLimit(version: 1 | 2, dir: string, cpuMillis: number): void {
  if (version === 1) {
    write(dir, 'cpu.cfs_period_us', String(CFS_PERIOD_US))
    write(dir, 'cpu.cfs_quota_us', String(cfsQuotaUs(cpuMillis)))
  } else {
    write(dir, 'cpu.max', `${cfsQuotaUs(cpuMillis)} ${CFS_PERIOD_US}`)
  }
}

export function writeMemoryLimit(version: 1 | 2, dir: string, bytes: number): void {
  if (version === 1) {
    write(dir, 'memory.limit_in_bytes', String(bytes))
    // no swapping past the limit (memsw = memory + swap; it exists only with swap accounting)
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) write(dir, 'memory.memsw.limit_in_bytes', String(bytes))
  } else {
    write(dir, 'memory.max', String(bytes))
    if (existsSync(join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', '0')
  }
}

/** How many times the OOM killer killed a process of this cgroup (0 when unknown). */
export function oomKillCount(version: 1 | 2, dir: string): number {
  try {
    const text = readFileSync(join(dir, version === 1 ? 'memory.oom_control' : 'memory.events'), 'utf8')
    const m = /^oom_kill (\d+)$/m.exec(text)
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

