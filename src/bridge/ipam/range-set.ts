/**
 * Subnets, allocation ranges and range sets: what IPAM may hand out.
 *
 * A range is a subnet with an optional [rangeStart, rangeEnd] window and a gateway. Never
 * allocatable:
 * - the network address (for IPv6 this is also the subnet-router anycast address, RFC 4291 2.6.1);
 * - the IPv4 broadcast address (the last address of the subnet);
 * - the gateway, which defaults to the first address after the network address.
 *
 * A range set is one or more ranges of one family; IPAM gives an owner one address per set,
 * so `[[v4 range], [v6 range]]` is a dual-stack network. This is host-local's model.
 */
import { InvalidArgumentError } from '../../errors.js'
import {
  type Cidr, type IpAddress, type IpFamily,
  cidrContains, familyName, formatIp, lastAddress, parseCidr, parseIp,
} from '../../net/ip.js'

/** One range as configured (all addresses as text). */
export interface RangeSpec {
  /** The subnet, e.g. '10.88.0.0/16'. Host bits must be zero. */
  readonly subnet: string
  /** First address that may be allocated; defaults to the first address after the network address. */
  readonly rangeStart?: string
  /** Last address that may be allocated; defaults to the broadcast address - 1 (IPv4) or the last address (IPv6). */
  readonly rangeEnd?: string
  /** The gateway (never allocated); defaults to the first address after the network address. */
  readonly gateway?: string
}

/** Largest prefix lengths that still leave a gateway plus one allocatable address. */
export const MAX_PREFIX: Readonly<Record<IpFamily, number>> = { 4: 30, 6: 126 }

/**
 * A validated range. Addresses are bigints of the range's family; `start`..`end` are inclusive.
 * Build it with parseRange: the constructor only derives fields and does not validate.
 */
export class IpRange {
  readonly family: IpFamily
  readonly subnet: Cidr
  readonly start: bigint
  readonly end: bigint
  readonly gateway: bigint
  /** Lowest allocatable address (start, or start + 1 when the gateway sits on start). */
  readonly first: bigint
  /** Highest allocatable address. */
  readonly last: bigint
  /** Number of allocatable addresses (the gateway excluded). */
  readonly size: bigint

  constructor(subnet: Cidr, start: bigint, end: bigint, gateway: bigint) {
    this.family = subnet.family
    this.subnet = subnet
    this.start = start
    this.end = end
    this.gateway = gateway
    this.first = start === gateway ? start + 1n : start
    this.last = end === gateway ? end - 1n : end
    this.size = end - start + 1n - (gateway >= start && gateway <= end ? 1n : 0n)
  }

  /** Whether `ip` (of this family) lies within rangeStart..rangeEnd. The gateway may be inside. */
  contains(ip: bigint): boolean {
    return ip >= this.start && ip <= this.end
  }

  /** Whether `ip` may be handed out: inside the range and not the gateway. */
  isAllocatable(ip: bigint): boolean {
    return this.contains(ip) && ip !== this.gateway
  }

  /** Gateway as text. */
  get gatewayText(): string {
    return formatIp(this.family, this.gateway)
  }

  /** The allocatable window as text: '10.0.0.2-10.0.0.254'. */
  toString(): string {
    return `${formatIp(this.family, this.first)}-${formatIp(this.family, this.last)}`
  }
}

/**
 * One or more ranges of one family; an owner gets one address from each set.
 * Build it with parseRangeSet/parseRangeSets, which check families and overlaps.
 */
export class RangeSet {
  readonly family: IpFamily
  readonly ranges: readonly IpRange[]

  constructor(ranges: readonly IpRange[]) {
    const head = ranges[0]
    if (!head) throw new InvalidArgumentError('ranges', 'a range set needs at least one range')
    this.family = head.family
    this.ranges = ranges
  }

  /** The range whose rangeStart..rangeEnd holds `ip`, if any. */
  rangeFor(ip: IpAddress): IpRange | undefined {
    if (ip.family !== this.family) return undefined
    return this.ranges.find((r) => r.contains(ip.value))
  }

  /** The range whose subnet holds `ip` (possibly outside its window), if any. */
  subnetFor(ip: IpAddress): IpRange | undefined {
    return this.ranges.find((r) => cidrContains(r.subnet, ip))
  }

  /** Number of allocatable addresses over all ranges. */
  get size(): bigint {
    return this.ranges.reduce((n, r) => n + r.size, 0n)
  }

  /** '10.0.0.0/24 (10.0.0.2-10.0.0.254)', ranges joined with ', '. */
  toString(): string {
    return this.ranges.map((r) => `${r.subnet.text} (${r.toString()})`).join(', ')
  }
}

function at(field: string, key: string): string {
  return field ? `${field}.${key}` : key
}

/**
 * Validates one range and fills in its defaults.
 *
 * Rules, each with its own message:
 * - the subnet is a valid CIDR without host bits;
 * - the subnet is large enough: it needs the network address, the IPv4 broadcast address, a
 *   gateway and at least one address to hand out, so the prefix length is at most /30 (IPv4;
 *   a /30 then has exactly one allocatable address) or /126 (IPv6);
 * - gateway, rangeStart and rangeEnd are addresses of the subnet's family inside the subnet,
 *   and none is the network address or the IPv4 broadcast address;
 * - rangeStart <= rangeEnd, and the window holds at least one address besides the gateway.
 *
 * @param field prefix for error fields, e.g. 'ranges[0][0]' gives 'ranges[0][0].gateway'.
 * @throws InvalidArgumentError
 */
export function parseRange(spec: RangeSpec, field = ''): IpRange {
  const subnetField = at(field, 'subnet')
  if (typeof spec.subnet !== 'string') throw new InvalidArgumentError(subnetField, 'a subnet is required, e.g. 10.88.0.0/16')
  const subnet = parseCidr(spec.subnet, subnetField)
  const fam = familyName(subnet.family)
  const max = MAX_PREFIX[subnet.family]
  if (subnet.prefix > max) {
    const why = subnet.family === 4
      ? 'an IPv4 subnet needs a network address, a broadcast address, a gateway and at least one address to allocate'
      : 'an IPv6 subnet needs its subnet-router anycast address (the all-zeros host part), a gateway and at least one address to allocate'
    throw new InvalidArgumentError(
      subnetField,
      `${subnet.text} is too small: ${why}, so the ${fam} prefix length must be at most /${max}`,
    )
  }
  const network = subnet.network
  const top = lastAddress(subnet)
  const usableLow = network + 1n
  const usableHigh = subnet.family === 4 ? top - 1n : top
  const usable = `${formatIp(subnet.family, usableLow)}-${formatIp(subnet.family, usableHigh)}`

  const address = (key: 'gateway' | 'rangeStart' | 'rangeEnd', text: string | undefined, dflt: bigint): bigint => {
    if (text === undefined) return dflt
    const f = at(field, key)
    if (typeof text !== 'string') throw new InvalidArgumentError(f, 'must be an IP address string')
    const ip = parseIp(text, f)
    if (ip.family !== subnet.family) {
      throw new InvalidArgumentError(f, `${text} is ${familyName(ip.family)} but subnet ${subnet.text} is ${fam}`)
    }
    if (!cidrContains(subnet, ip)) {
      throw new InvalidArgumentError(f, `${text} is outside subnet ${subnet.text} (usable addresses ${usable})`)
    }
    if (ip.value === network) {
      const what = subnet.family === 4 ? 'network address' : 'network (subnet-router anycast) address'
      throw new InvalidArgumentError(f, `${text} is the ${what} of ${subnet.text} (usable addresses ${usable})`)
    }
    if (subnet.family === 4 && ip.value === top) {
      throw new InvalidArgumentError(f, `${text} is the broadcast address of ${subnet.text} (usable addresses ${usable})`)
    }
    return ip.value
  }

  const gateway = address('gateway', spec.gateway, usableLow)
  const start = address('rangeStart', spec.rangeStart, usableLow)
  const end = address('rangeEnd', spec.rangeEnd, usableHigh)
  if (start > end) {
    throw new InvalidArgumentError(
      at(field, 'rangeStart'),
      `${formatIp(subnet.family, start)} is after rangeEnd ${formatIp(subnet.family, end)}`,
    )
  }
  const range = new IpRange(subnet, start, end, gateway)
  if (range.size === 0n) {
    throw new InvalidArgumentError(
      field || 'range',
      `range ${formatIp(subnet.family, start)}-${formatIp(subnet.family, end)} of ${subnet.text} holds only the gateway (${range.gatewayText}): nothing left to allocate`,
    )
  }
  return range
}

function describe(r: IpRange): string {
  return `${r.subnet.text} range ${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)}`
}

/**
 * Validates a range set: one or more ranges, all of one family, with windows that do not overlap.
 * @param field prefix for error fields, e.g. 'ranges[1]'.
 * @throws InvalidArgumentError
 */
export function parseRangeSet(specs: RangeSpec | readonly RangeSpec[], field = ''): RangeSet {
  if (!isSpecArray(specs)) return new RangeSet([parseRange(specs, field)])
  field ||= 'ranges'
  if (specs.length === 0) throw new InvalidArgumentError(field, 'a range set needs at least one range')
  const ranges = specs.map((s, i) => parseRange(s, `${field}[${i}]`))
  const head = ranges[0] as IpRange
  ranges.forEach((r, i) => {
    if (r.family !== head.family) {
      throw new InvalidArgumentError(
        `${field}[${i}]`,
        `${r.subnet.text} is ${familyName(r.family)} but ${head.subnet.text} in the same range set is ${familyName(head.family)}: a range set holds one family (use a second range set for dual stack)`,
      )
    }
    for (let j = 0; j < i; j++) {
      const o = ranges[j] as IpRange
      if (rangesOverlap(r, o)) {
        throw new InvalidArgumentError(`${field}[${i}]`, `${describe(r)} overlaps ${field}[${j}] (${describe(o)})`)
      }
    }
  })
  return new RangeSet(ranges)
}

/**
 * Validates the range sets of a network: each with parseRangeSet, and no range of one set
 * overlapping a range of another (an address must belong to one set only).
 * @throws InvalidArgumentError with fields like 'ranges[1][0]'.
 */
export function parseRangeSets(sets: readonly (RangeSpec | readonly RangeSpec[])[], field = 'ranges'): RangeSet[] {
  if (sets.length === 0) throw new InvalidArgumentError(field, 'at least one range set is required')
  const parsed = sets.map((s, i) => parseRangeSet(s, `${field}[${i}]`))
  parsed.forEach((set, i) => {
    for (let j = 0; j < i; j++) {
      const other = parsed[j] as RangeSet
      for (const r of set.ranges) {
        const o = other.ranges.find((x) => rangesOverlap(r, x))
        if (o) {
          throw new InvalidArgumentError(`${field}[${i}]`, `${describe(r)} overlaps range set ${field}[${j}] (${describe(o)})`)
        }
      }
    }
  })
  return parsed
}

function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end
}

function isSpecArray(x: RangeSpec | readonly RangeSpec[]): x is readonly RangeSpec[] {
  return Array.isArray(x)
}
