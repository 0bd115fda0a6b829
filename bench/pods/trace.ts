/**
 * A small span tracer for the pod-start breakdown: wraps methods on objects and prototypes
 * (src/ is not changed), records wall-clock spans on the epoch clock shared by every process
 * of the machine (performance.timeOrigin + performance.now(), sub-millisecond), and nests them
 * by a stack. It is meant for one request in flight at a time (the breakdown phase sends one
 * `pod run` at a time), so a span that starts while another is open is its child.
 */
import { appendFileSync } from 'node:fs'

/** Milliseconds since the epoch, with sub-millisecond resolution, comparable across processes. */
export const epochMs = (): number => performance.timeOrigin + performance.now()

export interface Span {
  label: string
  t0: number
  t1: number
  /** Index of the parent span in the same list, -1 for a root. */
  parent: number
}

export class Tracer {
  spans: Span[] = []
  private stack: number[] = []
  /** Called whenever a root span ends (the tracer may be reset inside). */
  onRootEnd: ((spans: Span[]) => void) | undefined

  /** While set, nothing is recorded (the tracer's own output goes through wrapped calls). */
  private muted = false
  /** When set, a span that would be a root is recorded only when this accepts its label. */
  rootFilter: ((label: string) => boolean) | undefined

  begin(label: string): number {
    if (this.muted || (this.stack.length === 0 && this.rootFilter && !this.rootFilter(label))) return -1
    const i = this.spans.push({ label, t0: epochMs(), t1: NaN, parent: this.stack.at(-1) ?? -1 }) - 1
    this.stack.push(i)
    return i
  }

  end(i: number): void {
    const s = this.spans[i]
    if (!s) return
    s.t1 = epochMs()
    const k = this.stack.lastIndexOf(i)
    if (k >= 0) this.stack.splice(k, 1)
    if (s.parent < 0 && this.stack.length === 0 && this.onRootEnd) {
      this.muted = true
      try {
        this.onRootEnd(this.spans)
      } finally {
        this.muted = false
      }
    }
  }

  reset(): void {
    this.spans = []
    this.stack = []
  }

  /**
   * Replaces obj[method] by a wrapper that records a span around every call (until a returned
   * promise settles). label(args) may return undefined to skip tracing that call.
   */
  wrap(obj: object, method: string, label: string | ((args: unknown[]) => string | undefined)): void {
    const o = obj as Record<string, unknown>
    const orig = o[method]
    if (typeof orig !== 'function') throw new Error(`trace: ${method} is not a function`)
    const tracer = this
    const fn = orig as (...a: unknown[]) => unknown
    o[method] = function (this: unknown, ...args: unknown[]): unknown {
      const l = typeof label === 'string' ? label : label(args)
      if (l === undefined) return fn.apply(this, args)
      const i = tracer.begin(l)
      let r: unknown
      try {
        r = fn.apply(this, args)
      } catch (err) {
        tracer.end(i)
        throw err
      }
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
        return (r as Promise<unknown>).then(
          (v) => { tracer.end(i); return v },
          (e: unknown) => { tracer.end(i); throw e },
        )
      }
      tracer.end(i)
      return r
    }
  }
}

/** One line of a trace file. */
export interface TraceLine {
  who: 'cli' | 'supervisor' | 'supervisor-start'
  pid: number
  /** performance.timeOrigin of the process: when node started. */
  origin: number
  marks: Record<string, number>
  spans?: Span[]
  /** Connections to the supervisor: the request's op ('?' when nothing was sent), connect() called (t0), connected (tc), answer read or error (t1). */
  conns?: Array<{ op: string; t0: number; tc?: number; t1: number; err?: string }>
}

export function writeTrace(file: string | undefined, line: TraceLine): void {
  if (!file) return
  appendFileSync(file, `${JSON.stringify(line)}\n`)
}

/** Aggregated span tree: one row per label path, inclusive and self wall ms. */
export interface TreeRow {
  path: string[]
  inclMs: number
  selfMs: number
  calls: number
}

export function spanTree(spans: readonly Span[]): TreeRow[] {
  const paths = spans.map((s) => {
    const p: string[] = []
    for (let cur: Span | undefined = s; cur; cur = cur.parent >= 0 ? spans[cur.parent] : undefined) p.unshift(cur.label)
    return p
  })
  const childMs = spans.map(() => 0)
  spans.forEach((s) => { if (s.parent >= 0) childMs[s.parent]! += s.t1 - s.t0 })
  const rows = new Map<string, TreeRow>()
  spans.forEach((s, i) => {
    const key = paths[i]!.join('\u0000')
    let r = rows.get(key)
    if (!r) rows.set(key, (r = { path: paths[i]!, inclMs: 0, selfMs: 0, calls: 0 }))
    r.inclMs += s.t1 - s.t0
    r.selfMs += s.t1 - s.t0 - childMs[i]!
    r.calls++
  })
  return [...rows.values()]
}
