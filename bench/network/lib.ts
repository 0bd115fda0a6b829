/**
 * Helpers of the bridge-network bench (issue 3): percentiles, child processes answering with one
 * JSON line, machine load, and the result shapes every peer reports.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'

export const nowMs = (): number => performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[Math.min(rank, s.length) - 1] ?? NaN
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

export interface Spread {
  median: number
  min: number
  max: number
  runs: number
}

export function spread(xs: readonly number[]): Spread {
  const ok = xs.filter((x) => !Number.isNaN(x))
  return { median: median(ok), min: ok.length ? Math.min(...ok) : NaN, max: ok.length ? Math.max(...ok) : NaN, runs: ok.length }
}

/** What every pod-lifecycle worker (podnet, CNI driver, ip script, pyroute2) prints as its last stdout line. */
export interface PodRun {
  tool: string
  n: number
  /** Wall time of each pod's ADD (create the namespace + attach), ms, in pod order. */
  add: number[]
  /** Wall time of each pod's removal, ms (empty when the run did not remove pods one by one). */
  del: number[]
  /** Teardown mode of this run ('remove', 'detach', 'gc', 'del'). */
  teardown: string
  /** podnet only: the Netns.create part of each ADD, ms. */
  netnsMs?: number[]
  /** podnet only, with `breakdown`: wall ms per ADD by kind of work (bench/network/breakdown.ts). */
  breakdown?: Array<{ what: string; meanMs: number; firstMs: number; lastMs: number; callsPerPod: number }>
  /** One-off setup before the first pod (network create), ms. */
  setupMs?: number
  /** gc: one call for all leftovers, ms. */
  gcMs?: number
  /** Time from the end of the teardown loop until the kernel had destroyed every pod veth, ms. */
  settleMs?: number
  /** CPU time of the worker and its children over the ADD loop / DEL loop, ms. */
  addCpuMs?: number
  delCpuMs?: number
  /** Child processes started per ADD (measured or counted by the driver). */
  procsPerAdd?: number
  /** Rules in the host's NAT state after the last ADD (per tool's own counting). */
  notes?: string[]
}

/** p50, p95 of one run's samples, plus the slices the targets need. */
export interface RunStats {
  p50: number
  p95: number
  first100p50: number
  last100p50: number
  totalS: number
}

export function runStats(xs: readonly number[]): RunStats {
  const slice = Math.min(100, Math.max(1, Math.floor(xs.length / 10)))
  return {
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    first100p50: percentile(xs.slice(0, slice), 50),
    last100p50: percentile(xs.slice(-slice), 50),
    totalS: xs.reduce((a, b) => a + b, 0) / 1000,
  }
}

export interface ChildResult {
  status: number
  stdout: string
  stderr: string
  wallMs: number
}

/** Runs a command to completion without blocking the event loop. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs()
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env && { env: opts.env }) })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => {
      err.push(b)
      if (process.env.BENCH_VERBOSE) process.stderr.write(b)
    })
    child.on('error', reject)
    // a child that exits before reading its input (a missing peer, a failed exec) is reported by its status, not an EPIPE
    child.stdin.on('error', () => undefined)
    child.on('close', (code, sig) => {
      resolve({ status: code ?? (sig ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs: nowMs() - t0 })
    })
    child.stdin.end(opts.input ?? '')
  })
}

export async function mustRun(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const r = await run(cmd, args, opts)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-3000)}`)
  return r
}

/** Runs a worker that prints one JSON object as its last stdout line. */
export async function runJson<T>(cmd: string, args: readonly string[]): Promise<T> {
  const r = await mustRun(cmd, args)
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as T
  } catch {
    throw new Error(`${cmd} ${args.join(' ')} printed no JSON result: ${r.stdout.slice(-500)} ${r.stderr.slice(-2000)}`)
  }
}

/** CPU time (user + system) of this process and its waited-for children, ms, from /proc/self/stat. */
export function cpuMsWithChildren(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields after ')' start at field 3 (state): utime=14, stime=15, cutime=16, cstime=17 (1-based)
  const ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(f[i] ?? 0), 0)
  return (ticks * 1000) / 100 // USER_HZ is 100 on Linux
}

/** The 1-minute load average and the CPU busy share of the last `ms` (from /proc/stat). */
export async function machineLoad(ms = 1000): Promise<{ load1: number; busyPct: number }> {
  const read = (): [number, number] => {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    return [f.reduce((a, b) => a + b, 0), idle]
  }
  const [t0, i0] = read()
  await sleep(ms)
  const [t1, i1] = read()
  return { load1: loadavg()[0] ?? NaN, busyPct: t1 > t0 ? (100 * (t1 - t0 - (i1 - i0))) / (t1 - t0) : NaN }
}

/** Number of live struct net objects in the kernel (all namespaces of the machine, dying ones included). */
export function liveNetnsCount(): number {
  const line = readFileSync('/proc/slabinfo', 'utf8').split('\n').find((l) => l.startsWith('net_namespace '))
  return Number(line?.split(/\s+/)[1] ?? NaN)
}

export const fmtMs = (ms: number): string => (Number.isNaN(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))
export const fmtX = (x: number): string => (Number.isNaN(x) || !Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`)
export const fmtSpread = (s: Spread): string =>
  s.runs === 0 ? '–' : s.runs === 1 ? fmtMs(s.median) : `${fmtMs(s.median)} [${fmtMs(s.min)}–${fmtMs(s.max)}]`

/** The options every bench script reads: --quick, --only a,b, --out DIR and positive integers. */
export interface BenchArgs {
  quick: boolean
  /** The positive integer after `flag`, else `dflt`. */
  num(flag: string, dflt: number): number
  /** The comma-separated list after --only, else `dflt`. */
  only(dflt: readonly string[]): Set<string>
  /** The directory after --out, else `dflt`. */
  out(dflt: string): string
}

export function benchArgs(argv: readonly string[]): BenchArgs {
  const after = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i < 0 ? undefined : argv[i + 1]
  }
  return {
    quick: argv.includes('--quick'),
    num(flag, dflt) {
      const raw = after(flag)
      if (raw === undefined && !argv.includes(flag)) return dflt
      const v = Number(raw)
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag} needs a positive integer`)
      return v
    },
    only: (dflt) => new Set(argv.includes('--only') ? (after('--only') ?? '').split(',') : dflt),
    out: (dflt) => after('--out') ?? dflt,
  }
}
