/** Readers for manifest fields: each checks a type and throws InvalidArgumentError with the field path. */
import { InvalidArgumentError } from '../errors.js'

export type Obj = Record<string, unknown>

/** JSON with sorted keys: equal values, equal text. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x))
}


export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

export function shown(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v
}

export function obj(v: unknown, at: string): Obj {
  if (!isObj(v)) throw new InvalidArgumentError(at, `must be an object, got ${shown(v)}`)
  return v
}

export function str(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(at, `must be a string, got ${shown(v)}`)
  return v
}

export function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(at, `must be true or false, got ${shown(v)}`)
  return v
}

/** An integer >= min (Kubernetes' wording: "must be greater than or equal to 0"). */
export function int(v: unknown, at: string, min = 0, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidArgumentError(at, `must be an integer, got ${shown(v)}`)
  if (v < min) throw new InvalidArgumentError(at, `must be greater than or equal to ${min}, got ${v}`)
  if (v > max) throw new InvalidArgumentError(at, `must be less than or equal to ${max}, got ${v}`)
  return v
}

/** A value from a fixed set (Kubernetes' "Unsupported value"). */
export function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  const s = str(v, at)
  if (!(values as readonly string[]).includes(s)) throw new InvalidArgumentError(at, `unsupported value ${JSON.stringify(s)}: supported values: ${values.map((x) => `"${x}"`).join(', ')}`)
  return s as T
}

/**
 * Checks an object's keys: `refused` are Kubernetes fields podnet does not implement (refused,
 * never ignored: they change what runs); anything else not in `known` is an unknown field, as
 * kubectl's strict validation says.
 */
export function checkKeys(o: Obj, at: string, known: readonly string[], refused: Readonly<Record<string, string>> = {}): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue
    const path = at ? `${at}.${k}` : k
    const why = refused[k]
    if (why !== undefined) throw new InvalidArgumentError(path, `not supported by podnet${why ? ` (${why})` : ''}`)
    throw new InvalidArgumentError(path, 'unknown field')
  }
}
