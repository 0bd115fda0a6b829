/**
 * Labels and owner references on pods (Kubernetes' metadata.labels, metadata.ownerReferences):
 * what the workload controllers (src/workloads) select and adopt pods by. Validation follows
 * Kubernetes' apimachinery rules, with the field path in every error:
 *   metadata.labels[app/x]: name part must consist of alphanumeric characters, '-', '_' or '.' ...
 */
import { InvalidArgumentError } from '../errors.js'

/** A reference from a pod to the object that owns it (Kubernetes' OwnerReference). */
export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  /** The managing controller (at most one per pod). */
  controller?: boolean
  blockOwnerDeletion?: boolean
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const shown = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? JSON.stringify(v) : typeof v)

/** Throws unless `key` is a valid label key (optional DNS-subdomain prefix and '/', a name of at most 63 characters). */
export function validateLabelKey(key: string, field: string): void {
  const slash = key.lastIndexOf('/')
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined
  const name = slash >= 0 ? key.slice(slash + 1) : key
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw new InvalidArgumentError(field, `prefix part of ${JSON.stringify(key)} must be a DNS subdomain (lowercase letters, digits, '-' and '.')`)
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    throw new InvalidArgumentError(field, `name part of ${JSON.stringify(key)} must be 1-63 characters: letters, digits, '-', '_' or '.', starting and ending with a letter or digit`)
  }
}

/** Throws unless `value` is a valid label value (empty, or at most 63 characters as a label name). */
export function validateLabelValue(value: string, field: string): void {
  if (value !== '' && (value.length > 63 || !NAME_PART.test(value))) {
    throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`)
  }
}

/** A validated label map (`field` is its path: metadata.labels). */
export function parseLabels(v: unknown, field: string): Record<string, string> {
  if (!isObj(v)) throw new InvalidArgumentError(field, `must be an object, got ${shown(v)}`)
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(v)) {
    const f = `${field}[${k}]`
    validateLabelKey(k, f)
    if (typeof val !== 'string') throw new InvalidArgumentError(f, `must be a string, got ${shown(val)}`)
    validateLabelValue(val, f)
    out[k] = val
  }
  return out
}

/** Validated owner references (at most one with controller: true, as Kubernetes requires). */
export function parseOwnerReferences(v: unknown, field: string): OwnerReference[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, `must be a list, got ${shown(v)}`)
  let controllers = 0
  return v.map((r, i) => {
    const f = `${field}[${i}]`
    if (!isObj(r)) throw new InvalidArgumentError(f, `must be an object, got ${shown(r)}`)
    const s = (k: string): string => {
      const x = r[k]
      if (typeof x !== 'string' || x === '') throw new InvalidArgumentError(`${f}.${k}`, x === undefined || x === '' ? 'required' : `must be a string, got ${shown(x)}`)
      return x
    }
    const ref: OwnerReference = { apiVersion: s('apiVersion'), kind: s('kind'), name: s('name'), uid: s('uid') }
    for (const k of ['controller', 'blockOwnerDeletion'] as const) {
      if (r[k] === undefined) continue
      if (typeof r[k] !== 'boolean') throw new InvalidArgumentError(`${f}.${k}`, `must be true or false, got ${shown(r[k])}`)
      ref[k] = r[k]
    }
    if (ref.controller && ++controllers > 1) throw new InvalidArgumentError(`${f}.controller`, 'only one reference can have controller set to true')
    return ref
  })
}

/** The managing controller's reference of an object, if any. */
export function controllerOf(refs: readonly OwnerReference[] | undefined): OwnerReference | undefined {
  return refs?.find((r) => r.controller === true)
}
