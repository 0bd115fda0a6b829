/** Up-front validation of names and values, so bad input fails before anything is changed. */
import { isIP } from 'node:net'
import { InvalidArgumentError } from '../../errors.js'

/** IFNAMSIZ - 1: the kernel's limit for interface names, in bytes. */
export const IFNAME_MAX_BYTES = 15

/** Throws InvalidArgumentError unless `name` is a valid Linux interface name. */
export function validateIfname(name: string, field = 'interface name'): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(field, 'must not be empty')
  const bytes = Buffer.byteLength(name)
  if (bytes > IFNAME_MAX_BYTES) throw new InvalidArgumentError(field, `'${name}' is ${bytes} bytes long; interface names are at most ${IFNAME_MAX_BYTES} bytes`)
  if (name === '.' || name === '..') throw new InvalidArgumentError(field, `'${name}' is not allowed`)
  if (/[/:\s\0]/.test(name)) throw new InvalidArgumentError(field, `'${name}' contains '/', ':', a NUL or whitespace, which interface names cannot`)
}

/** Throws unless `mtu` is an integer from 68 to 65535 (the device may narrow that further). */
export function validateMtu(mtu: number, field = 'mtu'): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(field, `'${mtu}' is not a valid MTU (an integer from 68 to 65535)`)
}

/** Throws unless `mac` is a unicast Ethernet address "aa:bb:cc:dd:ee:ff". */
export function validateMac(mac: string, field = 'address'): void {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new InvalidArgumentError(field, `'${mac}' is not a MAC address (expected six colon-separated hex bytes, e.g. 02:42:ac:11:00:02)`)
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidArgumentError(field, `'${mac}' is a multicast address; an interface needs a unicast one`)
}

export interface Cidr {
  address: string
  prefixlen: number
  family: 4 | 6
}

/** Parses "10.0.0.1/24" or "fd00::1/64" (a bare address gets /32 or /128). */
export function parseCidr(text: string, field = 'address'): Cidr {
  const [addr = '', len, ...rest] = String(text).split('/')
  const fam = isIP(addr)
  if (!fam || rest.length) throw new InvalidArgumentError(field, `'${text}' is not an IP address or CIDR (e.g. 10.88.0.1/16 or fd00::1/64)`)
  const max = fam === 4 ? 32 : 128
  const prefixlen = len === undefined ? max : Number(len)
  if (len !== undefined && (!/^\d+$/.test(len) || prefixlen > max)) throw new InvalidArgumentError(field, `'${text}' has an invalid prefix length (0-${max})`)
  return { address: addr, prefixlen, family: fam as 4 | 6 }
}

/** Parses a bare IP address. */
export function parseIp(text: string, field = 'address'): { address: string; family: 4 | 6 } {
  const fam = isIP(String(text))
  if (!fam) throw new InvalidArgumentError(field, `'${text}' is not an IP address`)
  return { address: text, family: fam as 4 | 6 }
}
