/**
 * IPAM's errors. They extend the shared classes of src/errors.ts, so callers that only know
 * ExistsError / PodnetError keep working, and add the structured detail IPAM knows.
 */
import { ExistsError, PodnetError } from '../../errors.js'
import type { Owner } from './store.js'

function ownerText(o: Owner): string {
  return o.containerId === '' && o.ifname === ''
    ? 'an unknown owner (unreadable record)'
    : `container '${o.containerId}' ifname '${o.ifname}'`
}

/** A requested (static) address is already allocated; `owner` says to whom. */
export class AddressInUseError extends ExistsError {
  readonly ip: string
  readonly owner: Owner
  constructor(ip: string, owner: Owner, subnet: string) {
    super('allocation of address', ip, `in ${subnet}: it is owned by ${ownerText(owner)}`)
    this.ip = ip
    this.owner = owner
  }
}

/** The owner already holds addresses: IPAM gives an owner one allocation (release it first). */
export class AllocationExistsError extends ExistsError {
  readonly owner: Owner
  readonly ips: readonly string[]
  constructor(owner: Owner, ips: readonly string[]) {
    super('IPAM allocation for container', owner.containerId, `with ifname '${owner.ifname}' (${ips.join(', ')}); release it before allocating again`)
    this.owner = owner
    this.ips = ips
  }
}

/** Usage of one range when a range set ran out. */
export interface RangeUsage {
  /** '10.0.0.0/30' */
  readonly subnet: string
  /** The allocatable window, '10.0.0.2-10.0.0.2'. */
  readonly range: string
  /** Allocations inside the window. */
  readonly inUse: number
}

/**
 * A range set has no free address left:
 * "no free address in 10.0.0.0/30 (range 10.0.0.2-10.0.0.2: 1 in use)".
 */
export class AddressExhaustedError extends PodnetError {
  readonly rangeSetIndex: number
  readonly usage: readonly RangeUsage[]
  constructor(rangeSetIndex: number, usage: readonly RangeUsage[]) {
    super(`no free address in ${usage.map((u) => `${u.subnet} (range ${u.range}: ${u.inUse} in use)`).join(', ')}`)
    this.rangeSetIndex = rangeSetIndex
    this.usage = usage
  }
}
