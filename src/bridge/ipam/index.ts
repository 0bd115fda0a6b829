/**
 * IPAM for podnet's bridge networks: subnets and ranges (range-set.ts; addresses themselves are
 * net/ip.ts), the round-robin allocator (allocator.ts) and its stores (store.ts, disk-store.ts
 * with disk-layout.ts, memory-store.ts). Re-exports only.
 */
export { type RangeSpec, IpRange, MAX_PREFIX, RangeSet, parseRange, parseRangeSet, parseRangeSets } from './range-set.js'
export { type IpamStore, type IpamStoreTx, type Owner, type StoredAllocation, RESERVATION_PREFIX, reservationKey, reservationOwner } from './store.js'
export { type DiskStoreOptions, DiskStore } from './disk-store.js'
export {
  INDEX_COMPLETE, LAST_RESERVED_PREFIX, LOCK_FILE, OWNERS_DIR, ipFromRecordFileName, ownerHash, parseRecord, recordFileName,
} from './disk-layout.js'
export { MemoryStore } from './memory-store.js'
export {
  type AllocateRequest, type AllocatedAddress, type Allocation, type AllocatorOptions, type GcOptions, type ReleaseOptions,
  Allocator,
} from './allocator.js'
export { PROBES } from './pick.js'

export { AddressExhaustedError, AddressInUseError, AllocationExistsError, type RangeUsage } from '../../errors.js'
