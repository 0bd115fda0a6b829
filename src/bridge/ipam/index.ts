/**
 * IPAM for podnet's bridge networks: subnets and ranges (range-set.ts, cidr.ts), the
 * round-robin allocator (allocator.ts) and its stores (store.ts, disk-store.ts, memory-store.ts).
 * Re-exports only.
 */
export {
  type Cidr, type IpAddress, type IpFamily,
  cidrContains, cidrSize, familyBits, familyName, formatIp, hostMask, lastAddress, makeCidr,
  overlaps, parseCidr, parseIp, tryParseIp,
} from './cidr.js'
export { type RangeSpec, IpRange, MAX_PREFIX, RangeSet, parseRange, parseRangeSet, parseRangeSets } from './range-set.js'
export type { IpamStore, IpamStoreTx, Owner, StoredAllocation } from './store.js'
export {
  type DiskStoreOptions, DiskStore, INDEX_COMPLETE, LAST_RESERVED_PREFIX, LOCK_FILE, OWNERS_DIR, ipFromRecordFileName, ownerHash, parseRecord,
  recordFileName,
} from './disk-store.js'
export { MemoryStore } from './memory-store.js'
export {
  type AllocateRequest, type AllocatedAddress, type Allocation, type AllocatorOptions, type GcOptions,
  Allocator, PROBES,
} from './allocator.js'
export { type RangeUsage, AddressExhaustedError, AddressInUseError, AllocationExistsError } from './errors.js'
