/**
 * Where a container's log was at a given time, for `pod logs --since` and `--tail`.
 *
 * A container writes its stdout and stderr straight into its log file (no pipe through podnet,
 * so a supervisor's restart never stalls or breaks a container's output), so its lines carry no
 * timestamps. Instead the runtime notes the log's size once a second while it grows, one line
 * `MS SIZE` per change in `<log>.marks` beside it: "at MS the log was SIZE bytes long". Every
 * byte after SIZE was written after MS, so `--since T` starts at the last mark at or before T:
 * it may show up to one mark interval of earlier output, never less than asked for.
 *
 * On kill -9 of the supervisor the marks stop with it (the next one resumes them); a marks file
 * cut off mid-line is read up to its last whole line. Logs with no marks (written before any
 * runtime marked them) are shown whole by --since unless their mtime is before T.
 */
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs'

/** How often the runtime samples the logs' sizes (ms): the precision of --since. */
export const LOG_MARK_INTERVAL_MS = 1000

export const marksPath = (logPath: string): string => `${logPath}.marks`

/** Samples the sizes of the logs `paths()` names every `intervalMs` and appends a mark when one grew. */
export class LogMarker {
  private readonly last = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private readonly paths: () => string[]
  private readonly intervalMs: number
  private readonly now: () => number

  constructor(paths: () => string[], intervalMs = LOG_MARK_INTERVAL_MS, now: () => number = Date.now) {
    this.paths = paths
    this.intervalMs = intervalMs
    this.now = now
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.tick(), this.intervalMs)
    this.timer.unref() // never what keeps a process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** One sample (also called directly by tests). Errors (a removed pod, a full disk) lose a mark, nothing else. */
  tick(): void {
    const seen = new Set<string>()
    for (const p of this.paths()) {
      seen.add(p)
      let size: number
      try {
        size = statSync(p).size
      } catch {
        continue
      }
      if (this.last.get(p) === size) continue
      if (this.last.get(p) === undefined && size === 0) { this.last.set(p, 0); continue }
      try {
        appendFileSync(marksPath(p), `${this.now()} ${size}\n`)
        this.last.set(p, size)
      } catch {
        // the next tick tries again
      }
    }
    for (const p of this.last.keys()) if (!seen.has(p)) this.last.delete(p)
  }
}

/** The marks of a log, in order: [ms, size]. */
export function readMarks(logPath: string): Array<[number, number]> {
  let text: string
  try {
    text = readFileSync(marksPath(logPath), 'utf8')
  } catch {
    return []
  }
  const out: Array<[number, number]> = []
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line)
    if (m) out.push([Number(m[1]), Number(m[2])])
  }
  return out
}

/** The offset from which output was written at or after `sinceMs` (see the header: never later than that). */
export function offsetSince(logPath: string, sinceMs: number): number {
  let size: number
  let mtimeMs: number
  try {
    ({ size, mtimeMs } = statSync(logPath))
  } catch {
    return 0
  }
  if (mtimeMs < sinceMs) return size // nothing written since
  let off = 0
  for (const [ms, sz] of readMarks(logPath)) {
    if (ms > sinceMs) break
    off = sz
  }
  return Math.min(off, size)
}

/**
 * The offset where the last `lines` lines of the log begin, not before `from` (docker's --tail:
 * a last line without its newline counts as a line). Reads backwards in 64 KiB blocks.
 */
export function offsetOfTail(logPath: string, lines: number, from = 0): number {
  let fd: number
  try {
    fd = openSync(logPath, 'r')
  } catch {
    return 0
  }
  try {
    const size = fstatSync(fd).size
    if (lines <= 0) return size
    const buf = Buffer.alloc(64 * 1024)
    let end = size
    let newlines = 0
    while (end > from) {
      const start = Math.max(from, end - buf.length)
      const n = readSync(fd, buf, 0, end - start, start)
      for (let i = n - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) continue
        if (start + i === size - 1) continue // the last line's own newline
        if (++newlines === lines) return start + i + 1
      }
      end = start
    }
    return from
  } finally {
    closeSync(fd)
  }
}
