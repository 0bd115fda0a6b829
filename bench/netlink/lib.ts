/**
 * Helpers shared by the netlink bench orchestrator and its workers: statistics, child processes
 * that answer with one JSON line, and the pair naming/addressing every peer uses.
 */
import { spawn, spawnSync } from 'node:child_process'

export const nowMs = (): number => performance.now()

export interface Summary {
  median: number
  min: number
  max: number
  n: number
}

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  const median = s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length }
}

export const median = (xs: readonly number[]): number => summarize(xs).median

/** The IPv4 address of pair i (1-based): 10.100.0.1, ... one /32 per peer end. */
export function pairAddr(i: number): string {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
}

export const hostName = (i: number): string => `h${i}`
export const peerName = (i: number): string => `p${i}`

/** Per-pair cost of pairs [from, to) from cumulative completion marks (ms since start). */
export function perPair(marks: readonly number[], from: number, to: number): number {
  const end = marks[to - 1]
  const start = from === 0 ? 0 : marks[from - 1]
  if (end === undefined || start === undefined) return NaN
  return (end - start) / (to - from)
}

export interface ChildResult {
  status: number
  stdout: string
  stderr: string
  wallMs: number
}

/** Runs a command to completion (async, so the orchestrator's event loop stays free). */
export function run(cmd: string, args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs()
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code, sig) => {
      resolve({
        status: code ?? (sig ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs: nowMs() - t0,
      })
    })
  })
}

/** Runs a command and throws with its stderr when it fails. */
export async function mustRun(cmd: string, args: readonly string[]): Promise<ChildResult> {
  const r = await run(cmd, args)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().slice(0, 2000)}`)
  return r
}

/** Runs a worker that prints one JSON object as its last stdout line. */
export async function runJson<T>(cmd: string, args: readonly string[]): Promise<T> {
  const r = await mustRun(cmd, args)
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as T
  } catch {
    throw new Error(`${cmd} ${args.join(' ')} printed no JSON result: ${r.stdout.slice(-500)} ${r.stderr.slice(-1000)}`)
  }
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

/** A sleep that does not keep anything alive. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const fmtMs = (ms: number): string => (Number.isNaN(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))
export const fmtRange = (s: Summary): string => (s.n === 0 ? '–' : `${fmtMs(s.median)} [${fmtMs(s.min)}–${fmtMs(s.max)}]`)
export const fmtMb = (kb: number | undefined): string => (kb === undefined || Number.isNaN(kb) ? '–' : (kb / 1024).toFixed(0))
export const fmtX = (x: number): string => (Number.isNaN(x) || !Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`)
