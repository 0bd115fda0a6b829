/**
 * The IP allocator: hands each owner (container id, ifname) one address per range set,
 * keeps the records in an IpamStore, and frees exactly what an owner holds.
 *
 * Strategy (host-local's): round robin. Each range set remembers the address it handed out
 * last (`lastReserved`); the next dynamic allocation scans forward from the address after
 * it, skipping taken addresses and the gateway, wrapping from the end of the last range to
 * the start of the first. A freed address is therefore not reused until the scan comes
 * round again, which keeps a crash-looping pod from reappearing on its old address while
 * stale ARP entries or conntrack state still point there. Static requests do not move the
 * cursor (host-local's does): the dynamic sequence stays in order, and a freed static
 * address is picked up when the scan reaches it.
 *
 * Cost: one store transaction per call, independent of the number of allocations while the
 * range is sparse. The scan first probes up to PROBES positions after the cursor with
 * `tx.has()` (a stat each on the disk store); round robin makes the first probe free in the
 * common case. Only when all of them are taken (a nearly full range, or the cursor wrapped into
 * a dense region) does it read the list of taken addresses once (names only) and scan at most
 * (taken addresses + gateways + 1) positions, so even then an allocation is O(allocated) and
 * independent of the size of the subnet (a /16 or a /64 is never enumerated). The
 * duplicate-owner check asks the store for the owner's records (the disk store keeps an owner
 * index: one directory of one or two names, not a read of every record).
 *
 * Reservations: `release(..., { reserveAs: KEY })` does not free the owner's addresses but gives
 * them, in the same transaction, to the reservation KEY (an owner whose containerId is
 * RESERVATION_PREFIX + KEY, same ifname); an `allocate` naming `reservation: KEY` takes them
 * back in one transaction. In between they are taken like any other address: no dynamic
 * allocation picks them, a static request for one fails with AddressInUseError naming the
 * reservation, and gc keeps them. `releaseReservations(prefix)` frees them; `releaseAll` too.
 *
 * Every method runs its store transaction synchronously (the disk store blocks on flock
 * while another process holds the lock) and returns a settled promise.
 */
import { AddressInUseError, AllocationExistsError, InvalidArgumentError } from '../../errors.js'
import { type IpFamily, formatIp, tryParseIp } from '../../net/ip.js'
import type { IpRange, RangeSet } from './range-set.js'
import { type Wanted, mapRequested, pickFree } from './pick.js'
import { type IpamStore, type IpamStoreTx, type Owner, type StoredAllocation, reservationKey, reservationOwner } from './store.js'

/** What to allocate, and for whom. */
export interface AllocateRequest extends Owner {
  /**
   * Static address(es) instead of the next free one: at most one per range set, each inside
   * a range of the network (not the gateway). Plain addresses ('10.88.0.9'), no prefix length.
   * Range sets without a requested address get a dynamic one.
   */
  readonly ip?: string | readonly string[]
  /**
   * Take the addresses reserved under this key (release's `reserveAs`) for this ifname: in the
   * same transaction they become the owner's. A reserved address wins over a requested one of
   * its range set; range sets the reservation has no address in are served as without it, and
   * so is everything when the key holds no reservation.
   */
  readonly reservation?: string
}

/** One address handed out, with what an interface configuration needs. */
export interface AllocatedAddress {
  /** '10.88.0.2' */
  readonly ip: string
  readonly family: IpFamily
  /** Address with the subnet's prefix length: '10.88.0.2/16'. */
  readonly address: string
  /** '10.88.0.0/16' */
  readonly subnet: string
  readonly prefix: number
  /** '10.88.0.1' */
  readonly gateway: string
  /** Index of the range set in the `ranges` argument. */
  readonly rangeSetIndex: number
  /** Taken back from the request's reservation (absent: allocated as usual). */
  readonly reserved?: true
}

/** A stored allocation as list/release/gc report it. */
export interface Allocation extends StoredAllocation {
  readonly family: IpFamily
  /** The reservation's key, when the owner is a reservation (containerId RESERVATION_PREFIX + key). */
  readonly reservation?: string
}

/** Options of Allocator.release. */
export interface ReleaseOptions {
  /**
   * Keep the addresses, reserved under this key (same ifname), instead of freeing them, in the
   * same transaction; an allocate naming the key takes them back. Addresses the key held before
   * in the same families are freed (the newest addresses are the reservation). An owner holding
   * nothing leaves the key's reservation as it is.
   */
  readonly reserveAs?: string
}

/** Options of Allocator. */
export interface AllocatorOptions {
  /** Clock for `allocatedAt` (tests pin it). */
  readonly now?: () => Date
}

/** Options of Allocator.gc. */
export interface GcOptions {
  /**
   * Also remove records whose owner cannot be read (corrupt files, shown with containerId '').
   * Off by default: such an address may belong to a live pod, and freeing it could hand it out twice.
   */
  readonly removeUnreadable?: boolean
}

/** Allocates and releases addresses of one network, over one IpamStore. */
export class Allocator {
  readonly store: IpamStore
  readonly #now: () => Date

  constructor(store: IpamStore, options: AllocatorOptions = {}) {
    this.store = store
    this.#now = options.now ?? (() => new Date())
  }

  /**
   * Gives `request`'s owner one address from each range set, all or nothing.
   *
   * @throws InvalidArgumentError bad owner, a requested address outside every range (or the
   *   gateway, network or broadcast address), two requested addresses for one range set.
   * @throws AllocationExistsError (an ExistsError) when the owner already holds addresses:
   *   nothing is changed, in particular its current addresses stay allocated.
   * @throws AddressInUseError (an ExistsError) when a requested address belongs to someone,
   *   whose (containerId, ifname) the error carries.
   * @throws AddressExhaustedError when a range set has no free address left.
   */
  async allocate(request: AllocateRequest, ranges: readonly RangeSet[]): Promise<AllocatedAddress[]> {
    const owner = checkOwner(request.containerId, request.ifname)
    if (ranges.length === 0) throw new InvalidArgumentError('ranges', 'at least one range set is required')
    const requested = mapRequested(request.ip, ranges)
    const held = request.reservation === undefined ? undefined : reservationOwner(checkKey(request.reservation, 'reservation'), owner.ifname)
    const allocatedAt = this.#now().toISOString()

    return this.store.transaction((tx) => {
      const mine = tx.byOwner(owner)
      if (mine.length > 0) throw new AllocationExistsError(owner, sortIps(mine.map((a) => a.ip)))
      // the reservation's addresses by range set; one that fits none (the subnets changed) is freed
      const { bySet: reserved, unusable } = held ? mapReserved(tx.byOwner(held), ranges) : { bySet: new Map<number, Wanted>(), unusable: [] }

      // Addresses picked in this call; the store's records are asked one address at a time.
      const picked = new Set<string>()
      const isTaken = (ip: string): boolean => picked.has(ip) || tx.has(ip)
      const allTaken = (): Set<string> => new Set([...tx.ips(), ...picked])
      const picks: Array<{ index: number; range: IpRange; value: bigint; dynamic: boolean; reserved?: StoredAllocation }> = []
      ranges.forEach((set, index) => {
        const want = requested.get(index)
        const mineAgain = reserved.get(index)
        if (mineAgain) {
          picks.push({ index, range: mineAgain.range, value: mineAgain.value, dynamic: false, reserved: mineAgain.record! })
          picked.add(mineAgain.record!.ip)
        } else if (want) {
          const ip = formatIp(want.range.family, want.value)
          if (isTaken(ip)) {
            const holder = tx.get(ip) ?? { containerId: '', ifname: '' }
            throw new AddressInUseError(ip, { containerId: holder.containerId, ifname: holder.ifname }, want.range.subnet.text, reservationKey(holder))
          }
          picks.push({ index, range: want.range, value: want.value, dynamic: false })
          picked.add(ip)
        } else {
          const last = tx.lastReserved(index)
          const pick = pickFree(set, index, isTaken, allTaken, last === undefined ? undefined : tryParseIp(last))
          picks.push({ index, range: pick.range, value: pick.value, dynamic: true })
          picked.add(formatIp(pick.range.family, pick.value))
        }
      })

      const written: string[] = []
      const takenBack: StoredAllocation[] = []
      try {
        for (const p of picks) {
          const ip = formatIp(p.range.family, p.value)
          if (p.reserved) {
            tx.replace({ ip, containerId: owner.containerId, ifname: owner.ifname, allocatedAt })
            takenBack.push(p.reserved)
          } else {
            tx.add({ ip, containerId: owner.containerId, ifname: owner.ifname, allocatedAt })
            written.push(ip)
          }
        }
      } catch (err) {
        for (const ip of written) {
          try { tx.remove(ip) } catch { /* the original error matters more */ }
        }
        for (const r of takenBack) {
          try { tx.replace(r) } catch { /* the original error matters more */ }
        }
        throw err
      }
      for (const ip of unusable) tx.remove(ip)
      for (const p of picks) if (p.dynamic) tx.setLastReserved(p.index, formatIp(p.range.family, p.value))

      return picks.map((p): AllocatedAddress => {
        const ip = formatIp(p.range.family, p.value)
        return {
          ip,
          family: p.range.family,
          address: `${ip}/${p.range.subnet.prefix}`,
          subnet: p.range.subnet.text,
          prefix: p.range.subnet.prefix,
          gateway: p.range.gatewayText,
          rangeSetIndex: p.index,
          ...(p.reserved && { reserved: true as const }),
        }
      })
    })
  }

  /**
   * Frees the addresses held by exactly this owner (containerId AND ifname) and returns them.
   * Addresses of any other owner, including the same container's other interfaces, are never
   * touched. Releasing an owner that holds nothing succeeds and returns [] (CNI DEL semantics).
   * The round-robin cursor is kept, so the freed addresses are not handed out again at once.
   * With `options.reserveAs` the addresses are not freed but kept under that key, in the same
   * transaction, and the reservation's records are returned (ReleaseOptions).
   * @throws InvalidArgumentError for an empty containerId, an invalid ifname or reservation key.
   */
  async release(containerId: string, ifname: string, options: ReleaseOptions = {}): Promise<Allocation[]> {
    const owner = checkOwner(containerId, ifname)
    const keep = options.reserveAs === undefined ? undefined : reservationOwner(checkKey(options.reserveAs, 'reserveAs'), owner.ifname)
    const at = keep && this.#now().toISOString()
    return this.store.transaction((tx) => {
      const mine = tx.byOwner(owner)
      if (keep && mine.length) {
        // the owner's addresses become the reservation, in this transaction: never free in between.
        // What the key held in a family the owner has an address of is freed (the newest is kept);
        // the other families stay (a release a kill interrupted half way, done again, keeps both).
        const families = new Set(mine.map((a) => withFamily(a).family))
        for (const old of tx.byOwner(keep)) if (families.has(withFamily(old).family)) tx.remove(old.ip)
        const reserved: Allocation[] = []
        for (const a of mine) {
          const r: StoredAllocation = { ip: a.ip, containerId: keep.containerId, ifname: keep.ifname, allocatedAt: at! }
          tx.replace(r)
          reserved.push(withFamily(r))
        }
        return sortAllocations(reserved)
      }
      const removed: Allocation[] = []
      for (const a of mine) if (tx.remove(a.ip)) removed.push(withFamily(a))
      return sortAllocations(removed)
    })
  }

  /** Frees every allocation of the store (e.g. when the network is removed) and returns them. */
  async releaseAll(): Promise<Allocation[]> {
    return this.store.transaction((tx) => removeWhere(tx, () => true))
  }

  /**
   * Frees the reservations whose key starts with `keyPrefix` ('' frees every reservation) and
   * returns them. Addresses of containers are never touched.
   */
  async releaseReservations(keyPrefix: string): Promise<Allocation[]> {
    if (typeof keyPrefix !== 'string') throw new InvalidArgumentError('keyPrefix', 'must be a string')
    return this.store.transaction((tx) => removeWhere(tx, (a) => reservationKey(a)?.startsWith(keyPrefix) === true))
  }

  /** The reservations (each with its key in `reservation`), IPv4 first, each family in address order. */
  async reservations(): Promise<Allocation[]> {
    return this.store.transaction((tx) => sortAllocations(tx.list().filter((a) => reservationKey(a) !== undefined).map(withFamily)))
  }

  /** Every allocation, IPv4 first, each family in address order. */
  async list(): Promise<Allocation[]> {
    return this.store.transaction((tx) => sortAllocations(tx.list().map(withFamily)))
  }

  /** The addresses this owner holds ([] when none). */
  async find(containerId: string, ifname: string): Promise<Allocation[]> {
    const owner = checkOwner(containerId, ifname)
    return this.store.transaction((tx) => sortAllocations(tx.byOwner(owner).map(withFamily)))
  }

  /**
   * Removes allocations whose owner is not in `validOwners` (the pods that exist) and returns
   * them. Reservations are kept (they have no pod by design: releaseReservations frees them).
   * Records with an unreadable owner are kept unless `options.removeUnreadable`.
   */
  async gc(validOwners: Iterable<Owner>, options: GcOptions = {}): Promise<Allocation[]> {
    const valid = new Set<string>()
    for (const o of validOwners) valid.add(ownerKey(o))
    return this.store.transaction((tx) =>
      removeWhere(tx, (a) => (isUnreadable(a) ? options.removeUnreadable === true : reservationKey(a) === undefined && !valid.has(ownerKey(a)))),
    )
  }
}

// ---- owners ---------------------------------------------------------------------------

const CONTROL_RE = /[\u0000-\u001f\u007f]/
const IFNAME_BAD_RE = /[/:\s]/

function checkOwner(containerId: unknown, ifname: unknown): Owner {
  if (typeof containerId !== 'string' || containerId === '') {
    throw new InvalidArgumentError('containerId', 'must be a non-empty string')
  }
  if (CONTROL_RE.test(containerId)) throw new InvalidArgumentError('containerId', `${JSON.stringify(containerId)} contains control characters`)
  if (typeof ifname !== 'string' || ifname === '') throw new InvalidArgumentError('ifname', 'must be a non-empty interface name')
  if (Buffer.byteLength(ifname) > 15 || ifname === '.' || ifname === '..' || IFNAME_BAD_RE.test(ifname) || CONTROL_RE.test(ifname)) {
    throw new InvalidArgumentError(
      'ifname',
      `${JSON.stringify(ifname)} is not a valid interface name (1-15 bytes, not '.' or '..', no '/', ':' or whitespace)`,
    )
  }
  return { containerId, ifname }
}

/** Reservation keys: non-empty text without control characters, at most 512 characters. */
function checkKey(key: unknown, field: string): string {
  if (typeof key !== 'string' || key === '') throw new InvalidArgumentError(field, 'a reservation key must be a non-empty string')
  if (CONTROL_RE.test(key)) throw new InvalidArgumentError(field, `${JSON.stringify(key)} contains control characters`)
  if (key.length > 512) throw new InvalidArgumentError(field, `a reservation key is at most 512 characters, got ${key.length}`)
  return key
}

function ownerKey(o: Owner): string {
  return `${o.containerId}\u0000${o.ifname}`
}

function isUnreadable(a: Owner): boolean {
  return a.containerId === ''
}

// ---- a reservation's addresses ---------------------------------------------------------

/**
 * A reservation's records by range set: each allocatable address in the set whose range holds
 * it (the first per set); the others (outside every range now, a second one in a set) are
 * `unusable`, freed when the reservation is taken.
 */
function mapReserved(records: readonly StoredAllocation[], sets: readonly RangeSet[]): { bySet: Map<number, Wanted>; unusable: string[] } {
  const bySet = new Map<number, Wanted>()
  const unusable: string[] = []
  for (const record of sortAllocations(records.map(withFamily))) {
    const addr = tryParseIp(record.ip)
    const index = addr ? sets.findIndex((s) => s.rangeFor(addr) !== undefined) : -1
    const range = addr && index >= 0 ? sets[index]!.rangeFor(addr) : undefined
    if (!addr || !range || addr.value === range.gateway || bySet.has(index)) unusable.push(record.ip)
    else bySet.set(index, { range, value: addr.value, record: { ip: record.ip, containerId: record.containerId, ifname: record.ifname, allocatedAt: record.allocatedAt } })
  }
  return { bySet, unusable }
}

// ---- helpers --------------------------------------------------------------------------

function removeWhere(tx: IpamStoreTx, pred: (a: StoredAllocation) => boolean): Allocation[] {
  const removed: Allocation[] = []
  for (const a of tx.list()) {
    if (pred(a) && tx.remove(a.ip)) removed.push(withFamily(a))
  }
  return sortAllocations(removed)
}

function withFamily(a: StoredAllocation): Allocation {
  const key = reservationKey(a)
  return { ...a, family: tryParseIp(a.ip)?.family ?? (a.ip.includes(':') ? 6 : 4), ...(key !== undefined && { reservation: key }) }
}

function sortKey(ip: string): [number, bigint] {
  const p = tryParseIp(ip)
  return p ? [p.family, p.value] : [7, 0n]
}

function compareIps(a: string, b: string): number {
  const [fa, va] = sortKey(a)
  const [fb, vb] = sortKey(b)
  return fa !== fb ? fa - fb : va < vb ? -1 : va > vb ? 1 : a < b ? -1 : a > b ? 1 : 0
}

function sortIps(ips: string[]): string[] {
  return ips.sort(compareIps)
}

function sortAllocations(list: Allocation[]): Allocation[] {
  return list.sort((a, b) => compareIps(a.ip, b.ip))
}
