/**
 * Names users give podnet, validated in one place for the CLI, the library and the CNI plugin:
 * interface names (the kernel's rules), namespace names (file names under /run/netns), network
 * names and container ids. Each validator throws InvalidArgumentError naming the field; the CNI
 * dispatcher turns them into CNI error codes (skel.ts), keeping libcni's wording at the front of
 * each message ("interface name is too long", "invalid characters ...").
 */
import { InvalidArgumentError } from '../errors.js'

/** IFNAMSIZ - 1: the kernel's limit for interface names, in bytes. */
export const IFNAME_MAX_BYTES = 15
/** NAME_MAX: a namespace name is a file name. */
export const NETNS_NAME_MAX_BYTES = 255
/** Network names: as libcni's (letters, digits, '_', '.', '-', starting with a letter or digit), at most 64 bytes. */
export const NETWORK_NAME_MAX_BYTES = 64
/** Container ids: at most 128 bytes (runtimes use 64 hex digits). */
export const CONTAINER_ID_MAX_BYTES = 128

/** Throws InvalidArgumentError unless `name` is a valid Linux interface name (dev_valid_name() in net/core/dev.c). */
export function validateIfname(name: string, field = 'interface name'): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(field, 'interface name must not be empty')
  const bytes = Buffer.byteLength(name)
  if (bytes > IFNAME_MAX_BYTES) throw new InvalidArgumentError(field, `interface name is too long: '${name}' is ${bytes} bytes long; interface names are at most ${IFNAME_MAX_BYTES} bytes`)
  if (name === '.' || name === '..') throw new InvalidArgumentError(field, `interface name cannot be . or ..: '${name}' is not allowed`)
  if (/[/:\s\0]/.test(name)) throw new InvalidArgumentError(field, `interface name contains / or : or whitespace characters: '${name}' contains '/', ':', a NUL or whitespace, which interface names cannot`)
}

/** Throws unless `name` can be a named network namespace (a file name under /run/netns). */
export function validateNetnsName(name: string, field = 'netns name'): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(field, 'must not be empty')
  if (name.includes('\0')) throw new InvalidArgumentError(field, 'contains a NUL byte')
  if (name.includes('/')) throw new InvalidArgumentError(field, `'${name}' contains '/'`)
  if (name === '.' || name === '..') throw new InvalidArgumentError(field, `'${name}' is not allowed`)
  const bytes = Buffer.byteLength(name)
  if (bytes > NETNS_NAME_MAX_BYTES) throw new InvalidArgumentError(field, `is ${bytes} bytes long; the limit is ${NETNS_NAME_MAX_BYTES}`)
}

/** Network names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export function validateNetworkName(name: unknown, field = 'network name'): asserts name is string {
  if (name === undefined || name === null || name === '') throw new InvalidArgumentError(field, 'missing network name')
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new InvalidArgumentError(field, `invalid characters found in network name: ${JSON.stringify(name)} is not valid: use 1-${NETWORK_NAME_MAX_BYTES} letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  if (name.length > NETWORK_NAME_MAX_BYTES) throw new InvalidArgumentError(field, `network name is too long: '${name}' is ${name.length} bytes; at most ${NETWORK_NAME_MAX_BYTES}`)
}

/**
 * Container ids (attachment owners): 1-128 letters, digits or '_.:@+-', starting with a letter or
 * digit. libcni allows '_.-' only; ':', '@' and '+' are podnet's (a namespace name may be an id).
 */
export function validateContainerId(id: string, field = 'id'): void {
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:@+-]*$/.test(id)) {
    throw new InvalidArgumentError(field, `invalid characters in ${field}: ${JSON.stringify(id)} is not valid: use 1-${CONTAINER_ID_MAX_BYTES} letters, digits or '_.:@+-', starting with a letter or digit`)
  }
  if (id.length > CONTAINER_ID_MAX_BYTES) throw new InvalidArgumentError(field, `${field} is too long: ${id.length} characters; podnet accepts at most ${CONTAINER_ID_MAX_BYTES}`)
}
