/**
 * Kubernetes resource quantities ("500m", "0.2", "64Mi", "1G", "1e3"): parsing for
 * resources.limits.cpu (to millicores) and resources.limits.memory (to bytes).
 */
import { InvalidArgumentError } from '../errors.js'

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 }
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 }

/** The value of a quantity as a plain number (64Mi -> 67108864, 200m -> 0.2). Throws with the field path. */
export function parseQuantity(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(field, `${value} is not a quantity`)
    return value
  }
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `must be a quantity such as "500m" or "64Mi", got ${JSON.stringify(value)}`)
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E)?)$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError(field, `cannot parse ${JSON.stringify(value)} as a quantity (examples: "500m", "0.5", "64Mi", "1G")`)
  const n = Number(m[1])
  if (m[2]) return n * BINARY[m[2]]!
  if (m[3]) return n * 10 ** Number(m[3].slice(1))
  return n * DECIMAL[m[4] ?? '']!
}

/** A CPU limit in millicores (at least 1, as Kubernetes rounds up). */
export function parseCpuMillis(value: unknown, field: string): number {
  const cores = parseQuantity(value, field)
  if (cores <= 0) throw new InvalidArgumentError(field, `must be greater than 0, got ${JSON.stringify(value)}`)
  return Math.max(1, Math.ceil(Math.round(cores * 1e9) / 1e6))
}

/** A memory limit in bytes (fractions round up). */
export function parseMemoryBytes(value: unknown, field: string): number {
  const bytes = parseQuantity(value, field)
  if (bytes <= 0) throw new InvalidArgumentError(field, `must be greater than 0, got ${JSON.stringify(value)}`)
  const b = Math.ceil(bytes - 1e-6)
  if (!Number.isSafeInteger(b)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is too large`)
  return b
}

/** Formats millicores as Kubernetes prints them ("200m", "1"). */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`
}

/** Formats bytes with the largest exact binary suffix ("64Mi", "1500"). */
export function formatBytes(bytes: number): string {
  for (const [s, f] of Object.entries(BINARY).reverse()) if (bytes >= f && bytes % f === 0) return `${bytes / f}${s}`
  return String(bytes)
}

/**
 * A bandwidth in bits per second from a Kubernetes quantity ("10M" = 10,000,000 bit/s, "1G",
 * "500k"), as kubernetes.io/ingress-bandwidth takes it: at least 1k, at most 1P (Kubernetes'
 * pkg/util/bandwidth bounds). Fractions round to whole bits.
 */
export function parseBitRate(value: unknown, field: string): number {
  const v = parseQuantity(value, field)
  if (v < 1e3) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is unreasonably small (< 1kbit)`)
  if (v > 1e15) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is unreasonably large (> 1Pbit)`)
  return Math.round(v)
}

/** A size in bits from a quantity ("2M", "512Ki"): a token bucket's burst. */
export function parseBits(value: unknown, field: string): number {
  const v = parseQuantity(value, field)
  if (!(v > 0)) throw new InvalidArgumentError(field, `must be greater than 0, got ${JSON.stringify(value)}`)
  if (!Number.isSafeInteger(Math.round(v))) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is too large`)
  return Math.round(v)
}
