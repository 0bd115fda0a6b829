/**
 * DNS names podnet answers for (pod names, hostnames, container names, aliases): validated and
 * put in one canonical form (lowercase, no trailing dot) wherever they enter, so the responder
 * compares plain strings.
 */
import { InvalidArgumentError } from '../errors.js'

/** RFC 1035: 255 octets on the wire, 253 characters as text without the final dot. */
export const DNS_NAME_MAX = 253
/** RFC 1035: labels of at most 63 octets. */
export const DNS_LABEL_MAX = 63

/** One label: letters, digits, '-' and '_' (service labels), not starting or ending with '-'. */
const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/

/** The canonical form of a DNS name (lowercase, no trailing dot), or InvalidArgumentError naming `field`. */
export function normalizeDnsName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name === '' || name === '.') throw new InvalidArgumentError(field, 'a DNS name must not be empty')
  const n = name.toLowerCase().replace(/\.$/, '')
  if (n.length > DNS_NAME_MAX) throw new InvalidArgumentError(field, `${JSON.stringify(name)} is ${n.length} characters long; DNS names have at most ${DNS_NAME_MAX}`)
  for (const label of n.split('.')) {
    if (label.length > DNS_LABEL_MAX) throw new InvalidArgumentError(field, `${JSON.stringify(name)} has a label of ${label.length} characters; labels have at most ${DNS_LABEL_MAX}`)
    if (!LABEL.test(label)) {
      throw new InvalidArgumentError(field, `${JSON.stringify(name)} is not a DNS name: use letters, digits, '-' and '_' in dot-separated labels, not starting or ending with '-'`)
    }
  }
  return n
}

/** True when `name` is a valid DNS name (normalizeDnsName would accept it). */
export function isDnsName(name: string): boolean {
  try {
    normalizeDnsName(name)
    return true
  } catch {
    return false
  }
}
