/**
 * How an allocation picks its addresses: requested ones checked against the network's range sets
 * (mapRequested, with the reason an address cannot be had), and the next free one after the
 * round-robin cursor (pickFree, with the exhaustion error). Pure over the range sets; the store
 * is asked through the callbacks (allocator.ts).
 */
import { AddressExhaustedError, InvalidArgumentError, type RangeUsage } from '../../errors.js'
import { type IpAddress, formatIp, lastAddress, parseIp, tryParseIp } from '../../net/ip.js'
import type { IpRange, RangeSet } from './range-set.js'
import type { StoredAllocation } from './store.js'

// ---- requested addresses --------------------------------------------------------------

export interface Wanted {
  readonly range: IpRange
  readonly value: bigint
  /** The reservation's record (mapReserved). */
  readonly record?: StoredAllocation
}

export function mapRequested(ip: string | readonly string[] | undefined, sets: readonly RangeSet[]): Map<number, Wanted> {
  const out = new Map<number, Wanted>()
  const texts: readonly string[] = ip === undefined ? [] : typeof ip === 'string' ? [ip] : ip
  for (const text of texts) {
    const addr = parseIp(text, 'ip')
    const index = sets.findIndex((s) => s.rangeFor(addr) !== undefined)
    const set = sets[index]
    const range = set?.rangeFor(addr)
    if (!set || !range) throw new InvalidArgumentError('ip', whyNotInRange(text, addr, sets))
    if (addr.value === range.gateway) {
      throw new InvalidArgumentError('ip', `${text} is the gateway of ${range.subnet.text} and cannot be allocated`)
    }
    const other = out.get(index)
    if (other) {
      throw new InvalidArgumentError(
        'ip',
        `${formatIp(other.range.family, other.value)} and ${text} both fall in range set ${index} (${set.toString()}): request at most one address per range set`,
      )
    }
    out.set(index, { range, value: addr.value })
  }
  return out
}

function whyNotInRange(text: string, addr: IpAddress, sets: readonly RangeSet[]): string {
  for (const set of sets) {
    const r = set.subnetFor(addr)
    if (!r) continue
    if (addr.value === r.subnet.network) return `${text} is the network address of ${r.subnet.text} and cannot be allocated`
    if (r.family === 4 && addr.value === lastAddress(r.subnet)) {
      return `${text} is the broadcast address of ${r.subnet.text} and cannot be allocated`
    }
    if (addr.value === r.gateway) return `${text} is the gateway of ${r.subnet.text} and cannot be allocated`
    return `${text} is inside ${r.subnet.text} but outside its allocation range ${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)}`
  }
  const subnets = [...new Set(sets.flatMap((s) => s.ranges.map((r) => r.subnet.text)))].join(', ')
  return `${text} is not in any subnet of this network (${subnets})`
}

// ---- the scan -------------------------------------------------------------------------

/** Positions probed one by one (`isTaken`) before the scan lists every taken address. */
export const PROBES = 16

/**
 * The first allocatable, untaken address after `last` (or from the start of the set when
 * `last` is not inside it), wrapping around.
 *
 * First up to PROBES positions are checked with `isTaken` (one store lookup each). If they are
 * all taken, `allTaken()` lists the taken addresses (canonical texts, so only the positions the
 * scan visits are formatted and nothing is parsed) and the scan restarts from the cursor: every
 * position visited before a free one is either taken or a gateway, so when a free address
 * exists it is found within taken.size + ranges + 1 steps, and a scan that goes further proves
 * the set exhausted. The cost is O(1) while the range is sparse after the cursor and
 * O(allocated) otherwise, whatever the size of the subnet.
 */
export function pickFree(
  set: RangeSet,
  index: number,
  isTaken: (ip: string) => boolean,
  allTaken: () => ReadonlySet<string>,
  last: IpAddress | undefined,
): { range: IpRange; value: bigint } {
  const ranges = set.ranges
  const total = set.ranges.reduce((n, r) => n + (r.end - r.start + 1n), 0n)
  const from = last === undefined ? -1 : ranges.findIndex((r) => last.family === r.family && r.contains(last.value))
  const scan = (steps: bigint, taken: (ip: string) => boolean): { range: IpRange; value: bigint } | undefined => {
    let ri = 0
    let cur = (ranges[0] as IpRange).start
    const advance = (): void => {
      const r = ranges[ri] as IpRange
      if (cur >= r.end) {
        ri = (ri + 1) % ranges.length
        cur = (ranges[ri] as IpRange).start
      } else {
        cur++
      }
    }
    if (last !== undefined && from >= 0) {
      ri = from
      cur = last.value
      advance()
    }
    const n = steps < total ? steps : total
    for (let i = 0n; i < n; i++) {
      const r = ranges[ri] as IpRange
      if (cur !== r.gateway && !taken(formatIp(r.family, cur))) return { range: r, value: cur }
      advance()
    }
    return undefined
  }
  const probed = scan(BigInt(PROBES), isTaken)
  if (probed) return probed
  const taken = allTaken()
  const found = scan(BigInt(taken.size + ranges.length + 1), (ip) => taken.has(ip))
  if (found) return found
  throw exhausted(set, index, taken)
}

/** The exhaustion error, with per-range usage (parses the taken addresses: only on this path). */
function exhausted(set: RangeSet, index: number, taken: ReadonlySet<string>): AddressExhaustedError {
  const inUse = set.ranges.map(() => 0)
  for (const text of taken) {
    const ip = tryParseIp(text)
    if (!ip || ip.family !== set.family) continue
    const i = set.ranges.findIndex((r) => r.isAllocatable(ip.value))
    if (i >= 0) inUse[i] = (inUse[i] ?? 0) + 1
  }
  const usage: RangeUsage[] = set.ranges.map((r, i) => ({ subnet: r.subnet.text, range: r.toString(), inUse: inUse[i] ?? 0 }))
  return new AddressExhaustedError(index, usage)
}
