/**
 * Where IPAM keeps its allocations. The allocator does all its reading and writing inside one
 * `transaction`, which the store runs under its lock: the disk store (disk-store.ts) holds an
 * exclusive flock for the whole callback, so allocations from many processes never collide.
 *
 * Transactions are synchronous on purpose (the `SyncOnly` type rejects async callbacks): a
 * lock held across an `await` could deadlock against another transaction of the same process.
 *
 * Addresses are passed as canonical text (formatIp in cidr.ts): the store does not parse them.
 */
import type { SyncOnly } from '../../sys/netns-switch.js'

export type { SyncOnly }

/** Who holds an address: one container's one interface, or a reservation (below). */
export interface Owner {
  readonly containerId: string
  readonly ifname: string
}

/**
 * The containerId prefix of a reservation: an address kept for whoever takes it back by key
 * (Allocator.release's `reserveAs`, AllocateRequest's `reservation`), e.g. a StatefulSet pod's
 * while its ordinal has no pod. No container id can start with it (ids start with a letter or
 * a digit: net/names.ts), so a reservation is never mistaken for a container.
 */
export const RESERVATION_PREFIX = '@reserved:'

/** The owner that holds the addresses reserved under `key` for interface `ifname`. */
export function reservationOwner(key: string, ifname: string): Owner {
  return { containerId: `${RESERVATION_PREFIX}${key}`, ifname }
}

/** The key of a reservation's owner, or undefined when `owner` is not a reservation. */
export function reservationKey(owner: Owner): string | undefined {
  return owner.containerId.startsWith(RESERVATION_PREFIX) ? owner.containerId.slice(RESERVATION_PREFIX.length) : undefined
}

/** One allocation record. An unreadable record has containerId '' and ifname ''. */
export interface StoredAllocation extends Owner {
  /** Canonical address text: '10.88.0.5', 'fd00::5'. */
  readonly ip: string
  /** ISO 8601 time of the allocation ('' when unknown). */
  readonly allocatedAt: string
}

/** The operations available inside a transaction. */
export interface IpamStoreTx {
  /** Addresses that have a record, cheaply (no record is read). Order is unspecified. */
  ips(): string[]
  /** Whether `ip` has a record (one stat, no listing). */
  has(ip: string): boolean
  /** The record for `ip`, or undefined. */
  get(ip: string): StoredAllocation | undefined
  /** Every record. Order is unspecified. */
  list(): StoredAllocation[]
  /** The records of exactly this owner (containerId and ifname both equal). */
  byOwner(owner: Owner): StoredAllocation[]
  /** Creates the record for `allocation.ip`; throws if one exists (never overwrites). */
  add(allocation: StoredAllocation): void
  /**
   * Gives the existing record for `allocation.ip` to another owner in one step (the address is
   * never without a record, also if the process dies half way); throws if there is no record.
   */
  replace(allocation: StoredAllocation): void
  /** Deletes the record for `ip`; false when there was none. */
  remove(ip: string): boolean
  /** The address last handed out dynamically from range set `rangeSetIndex`, if recorded. */
  lastReserved(rangeSetIndex: number): string | undefined
  /** Records the address last handed out dynamically from range set `rangeSetIndex`. */
  setLastReserved(rangeSetIndex: number, ip: string): void
}

/** Persistent (or in-memory) allocation state of one network. */
export interface IpamStore {
  /**
   * Runs `fn` with exclusive access to the state and returns its result. Changes made before
   * `fn` throws stay made: callers undo their own partial work.
   */
  transaction<R>(fn: (tx: IpamStoreTx) => SyncOnly<R>): R
}
