/**
 * Helpers shared by the netlink bench orchestrator and its workers: statistics, child processes
 * that answer with one JSON line, and the pair naming/addressing every peer uses.
 */
import { spawnSync } from 'node:child_process'

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

// child processes that answer with one JSON line: shared with the network bench
export { type ChildResult, run, mustRun, runJson } from '../network/lib.js'

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

/** A sleep that does not keep anything alive. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const fmtMs = (ms: number): string => (Number.isNaN(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))
export const fmtRange = (s: Summary): string => (s.n === 0 ? '–' : `${fmtMs(s.median)} [${fmtMs(s.min)}–${fmtMs(s.max)}]`)
export const fmtMb = (kb: number | undefined): string => (kb === undefined || Number.isNaN(kb) ? '–' : (kb / 1024).toFixed(0))
export const fmtX = (x: number): string => (Number.isNaN(x) || !Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`)
