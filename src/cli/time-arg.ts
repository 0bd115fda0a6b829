/**
 * docker's --since: a duration back from now (Go's syntax: 10s, 42m, 1h30m, 1.5h, 250ms) or a
 * point in time (RFC 3339 / ISO 8601 such as 2026-12-02T10:00:00Z, a date 2026-12-02, or Unix
 * seconds 1764669600[.5]). A time without a zone is UTC, as docker reads it.
 */
import { InvalidArgumentError } from '../errors.js'

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Milliseconds since the epoch that `text` names (`now` for durations); a usage error naming `flag` otherwise. */
export function parseSince(text: string, flag = '--since', now = Date.now()): number {
  const t = text.trim()
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) {
    let ms = 0
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNITS[m[2]!]!
    return now - ms
  }
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000)
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(t) || !t.includes(':') ? t : `${t}Z`
    const ms = Date.parse(zoned.replace(' ', 'T'))
    if (!Number.isNaN(ms)) return ms
  }
  throw new InvalidArgumentError(flag, `'${text}' is not a duration (10s, 42m, 1h30m) or a time (2026-12-02T10:00:00Z, Unix seconds)`)
}
