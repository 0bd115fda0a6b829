/**
 * IP addresses and prefixes, the one home for them in podnet (IPAM, rtnetlink, nf_tables,
 * conntrack, the CLI and the CNI plugin all parse and format here). Addresses are held as bigint
 * (`value`) plus a family, so range math is plain integer math for IPv4 and IPv6 alike; the wire
 * layers convert to and from network-order bytes with ipToBytes/bytesToIp.
 *
 * Text forms are canonical on output: dotted quad for IPv4, RFC 5952 for IPv6 (lower case,
 * longest zero run compressed, IPv4-mapped addresses as ::ffff:a.b.c.d like inet_ntop(3) and
 * iproute2). Two spellings of one address always format the same, which is what makes the
 * formatted text usable as a file name in the IPAM disk store.
 *
 * Parsing and formatting are hand-written rather than delegated to ip-address: the allocator
 * parses every stored address on each call, and ip-address is ~10x slower per address. The
 * unit tests check both directions against ip-address as an oracle.
 */
import { InvalidArgumentError } from '../errors.js'

/** 4 for IPv4, 6 for IPv6. */
export type IpFamily = 4 | 6

/** One IP address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
export interface IpAddress {
  readonly family: IpFamily
  readonly value: bigint
}

/** A network prefix. `network` has no host bits set. */
export interface Cidr {
  readonly family: IpFamily
  /** The network address (all host bits zero). */
  readonly network: bigint
  /** Prefix length: 0-32 (IPv4) or 0-128 (IPv6). */
  readonly prefix: number
  /** Canonical text, e.g. '10.88.0.0/16' or 'fd00::/64'. */
  readonly text: string
}

/** Address width in bits: 32 or 128. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const V6_CHARS_RE = /^[0-9A-Fa-f:.]+$/

function parseV4(text: string): bigint | undefined {
  const m = V4_RE.exec(text)
  if (!m) return undefined
  let value = 0
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string
    // Leading zeros are refused: inet_aton reads "010" as octal 8, so the text is ambiguous.
    if (part.length > 1 && part.startsWith('0')) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return BigInt(value)
}

const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/

/** Appends the 16-bit groups of `parts` to `out`; a dotted quad is allowed as the very last part. */
function v6Groups(parts: readonly string[], out: number[], lastPart: boolean): boolean {
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string
    if (HEX_GROUP_RE.test(p)) {
      out.push(parseInt(p, 16))
    } else if (lastPart && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p)
      if (v4 === undefined) return false
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn))
    } else {
      return false
    }
  }
  return true
}

function parseV6(text: string): bigint | undefined {
  // Zones ('%eth0') and prefixes are not part of an address.
  if (!V6_CHARS_RE.test(text) || !text.includes(':')) return undefined
  const gap = text.indexOf('::')
  const head: number[] = []
  const tail: number[] = []
  if (gap < 0) {
    if (!v6Groups(text.split(':'), head, true) || head.length !== 8) return undefined
  } else {
    if (text.includes('::', gap + 1)) return undefined
    const left = text.slice(0, gap)
    const right = text.slice(gap + 2)
    if (left !== '' && !v6Groups(left.split(':'), head, false)) return undefined
    if (right !== '' && !v6Groups(right.split(':'), tail, true)) return undefined
    if (head.length + tail.length > 7) return undefined // '::' stands for at least one group
  }
  let value = 0n
  for (const g of head) value = (value << 16n) | BigInt(g)
  value <<= BigInt(16 * (8 - head.length - tail.length))
  for (const g of tail) value = (value << 16n) | BigInt(g)
  return value
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (>= 2) of zero groups as '::'. */
function formatV6(value: bigint): string {
  if (value >> 32n === 0xffffn) return `::ffff:${formatIp(4, value & 0xffffffffn)}` // IPv4-mapped (RFC 5952 section 5)
  const groups: number[] = []
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn))
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { bestAt = i; bestLen = j - i }
    i = j
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':')
  if (bestAt < 0) return hex(groups)
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`
}

/** Parses an IP address without failing: undefined when `text` is not one. */
export function tryParseIp(text: string): IpAddress | undefined {
  const v4 = parseV4(text)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const v6 = parseV6(text)
  if (v6 !== undefined) return { family: 6, value: v6 }
  return undefined
}

/**
 * Parses an IPv4 or IPv6 address ('10.88.0.5', 'fd00::5').
 * @throws InvalidArgumentError naming `field` when the text is not an address.
 */
export function parseIp(text: string, field = 'address'): IpAddress {
  const ip = tryParseIp(text)
  if (!ip) {
    throw new InvalidArgumentError(field, `'${text}' is not an IP address (expected e.g. 10.88.0.5 or fd00::5)`)
  }
  return ip
}

/** Canonical text of an address: '10.88.0.5', 'fd00::5'. */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    const n = Number(value)
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  }
  return formatV6(value)
}

/** 'IPv4' or 'IPv6', for messages. */
export function familyName(family: IpFamily): string {
  return family === 4 ? 'IPv4' : 'IPv6'
}

/** The host-part mask of a prefix: 0.0.0.255 for a /24. */
export function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix)) - 1n
}

/** The last address of a prefix (the IPv4 broadcast address). */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.network | hostMask(cidr.family, cidr.prefix)
}

/** Number of addresses a prefix spans, network and broadcast included. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix)
}

/** Whether `ip` lies inside `cidr` (same family, same leading prefix bits). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.family === cidr.family && (ip.value & ~hostMask(cidr.family, cidr.prefix)) === cidr.network
}

/** Builds a Cidr from a network address and a prefix length; host bits are cleared. */
export function makeCidr(family: IpFamily, value: bigint, prefix: number): Cidr {
  const network = value & ~hostMask(family, prefix)
  return { family, network, prefix, text: `${formatIp(family, network)}/${prefix}` }
}

const PREFIX_RE = /^(0|[1-9]\d{0,2})$/

/**
 * Parses and validates a CIDR ('10.88.0.0/16', 'fd00:1::/64').
 *
 * Refused, with the reason in the message: a missing or out-of-range prefix length, an
 * invalid address, and (unless `allowHostBits`) host bits set, in which case the message
 * names the network address the caller probably meant.
 * @throws InvalidArgumentError naming `field`.
 */
export function parseCidr(text: string, field = 'subnet', options: { allowHostBits?: boolean } = {}): Cidr {
  const slash = text.indexOf('/')
  if (slash < 0) {
    throw new InvalidArgumentError(field, `'${text}' is not a CIDR: expected address/prefix-length, e.g. 10.88.0.0/16 or fd00::/64`)
  }
  const addrText = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  const ip = tryParseIp(addrText)
  if (!ip) {
    throw new InvalidArgumentError(field, `'${text}' is not a CIDR: '${addrText}' is not an IP address`)
  }
  const bits = familyBits(ip.family)
  if (!PREFIX_RE.test(prefixText) || Number(prefixText) > bits) {
    throw new InvalidArgumentError(
      field,
      `'${text}' is not a CIDR: the prefix length must be a number from 0 to ${bits} for ${familyName(ip.family)}`,
    )
  }
  const cidr = makeCidr(ip.family, ip.value, Number(prefixText))
  if (!options.allowHostBits && cidr.network !== ip.value) {
    throw new InvalidArgumentError(
      field,
      `'${text}' has host bits set: its network address is ${cidr.text}`,
    )
  }
  return cidr
}

function asCidr(c: Cidr | string, field: string): Cidr {
  return typeof c === 'string' ? parseCidr(c, field) : c
}

/**
 * Whether two prefixes share at least one address (one contains the other).
 * Prefixes of different families never overlap. Strings are parsed with parseCidr.
 */
export function overlaps(a: Cidr | string, b: Cidr | string): boolean {
  const x = asCidr(a, 'a')
  const y = asCidr(b, 'b')
  if (x.family !== y.family) return false
  const shorter = Math.min(x.prefix, y.prefix)
  const mask = ~hostMask(x.family, shorter)
  return (x.network & mask) === (y.network & mask)
}

/** 4 or 6 when `text` is an IPv4 or IPv6 address, else 0 (like node:net's isIP, but podnet's parser). */
/**
 * Ranges no network of pods can use: their addresses mean something else to every host (RFC 6890
 * and the kernel's own handling). The name says why, for the error.
 */
const RESERVED: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', '"this network" (RFC 1122)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved (class E) and broadcast'],
  ['::/127', 'the unspecified and loopback addresses'],
  ['::ffff:0:0/96', 'IPv4-mapped'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
]

/** The reserved range `cidr` overlaps, as "127.0.0.0/8 (loopback)"; undefined when none. */
export function reservedRangeOverlap(cidr: Cidr | string): string | undefined {
  const hit = RESERVED.find(([r]) => overlaps(cidr, r))
  return hit ? `${hit[0]} (${hit[1]})` : undefined
}

export function ipFamily(text: string): 0 | IpFamily {
  return tryParseIp(text)?.family ?? 0
}

/** An address with a prefix length, as on an interface: '10.88.0.2/16' (host bits are the point). */
export interface PrefixedAddress {
  readonly family: IpFamily
  /** The address itself. */
  readonly value: bigint
  /** Canonical text of the address, without the prefix. */
  readonly address: string
  readonly prefixlen: number
}

/**
 * Parses an interface address: 'ADDR/LEN', or a bare 'ADDR' (then /32 or /128).
 * @throws InvalidArgumentError naming `field`.
 */
export function parsePrefixedAddress(text: string, field = 'address'): PrefixedAddress {
  const slash = String(text).indexOf('/')
  const addrText = slash < 0 ? String(text) : text.slice(0, slash)
  const ip = tryParseIp(addrText)
  if (!ip) throw new InvalidArgumentError(field, `'${text}' is not an IP address or CIDR (e.g. 10.88.0.1/16 or fd00::1/64)`)
  const bits = familyBits(ip.family)
  let prefixlen: number = bits
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!PREFIX_RE.test(p) || Number(p) > bits) throw new InvalidArgumentError(field, `'${text}' has an invalid prefix length (0-${bits})`)
    prefixlen = Number(p)
  }
  return { family: ip.family, value: ip.value, address: formatIp(ip.family, ip.value), prefixlen }
}

/** An address's network-order bytes (4 or 16). */
export function ipValueToBytes(family: IpFamily, value: bigint): Buffer {
  const out = Buffer.alloc(family === 4 ? 4 : 16)
  let v = value
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** IPv4 or IPv6 text to its 4 or 16 network-order bytes. @throws TypeError when it is not an address. */
export function ipToBytes(text: string): Buffer {
  const ip = tryParseIp(text)
  if (!ip) throw new TypeError(`not an IP address: '${text}'`)
  return ipValueToBytes(ip.family, ip.value)
}

/**
 * 4 or 16 network-order bytes to canonical text. Written directly over the bytes (no bigint):
 * it runs for every address of every decoded netlink message.
 */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  if (b.length !== 16) throw new TypeError(`an IP address is 4 or 16 bytes, not ${b.length}`)
  const g: number[] = []
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0))
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = g.map((x) => x.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}
