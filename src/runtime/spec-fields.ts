/**
 * Field readers shared by the Pod manifest's parsers (manifest.ts, probe-spec.ts, volumes.ts):
 * each checks one value's type and throws InvalidArgumentError naming the field path.
 */
import { InvalidArgumentError } from '../errors.js'

export type Obj = Record<string, unknown>

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** What a value is, for an error message: null, a list, a quoted string, or its type. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'string' ? JSON.stringify(v) : typeof v
}

export function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new InvalidArgumentError(field, `must be an object, got ${describeValue(v)}`)
  return v
}

export function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(field, `must be a string, got ${describeValue(v)}`)
  return v
}
