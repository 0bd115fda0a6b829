/**
 * An in-memory IpamStore for unit tests and dry runs: same semantics as the disk store
 * (records never overwritten, one transaction at a time), no persistence and no locking
 * across processes.
 */
import { ExistsError, NotFoundError, PodnetError } from '../../errors.js'
import type { IpamStore, IpamStoreTx, StoredAllocation, SyncOnly } from './store.js'

/** A fake IpamStore keeping its records in Maps. */
export class MemoryStore implements IpamStore {
  readonly #records = new Map<string, StoredAllocation>()
  readonly #last = new Map<number, string>()
  #inTransaction = false
  /** Number of transactions run so far (tests use it to check batching). */
  transactions = 0

  transaction<R>(fn: (tx: IpamStoreTx) => SyncOnly<R>): R {
    if (this.#inTransaction) throw new PodnetError('MemoryStore: nested transaction (it would deadlock on a real store)')
    this.#inTransaction = true
    this.transactions++
    try {
      return fn(this.#tx)
    } finally {
      this.#inTransaction = false
    }
  }

  readonly #tx: IpamStoreTx = {
    ips: () => [...this.#records.keys()],
    has: (ip) => this.#records.has(ip),
    get: (ip) => this.#records.get(ip),
    list: () => [...this.#records.values()],
    byOwner: (o) => [...this.#records.values()].filter((a) => a.containerId === o.containerId && a.ifname === o.ifname),
    add: (a) => {
      if (this.#records.has(a.ip)) throw new ExistsError('IPAM record', a.ip)
      this.#records.set(a.ip, { ip: a.ip, containerId: a.containerId, ifname: a.ifname, allocatedAt: a.allocatedAt })
    },
    replace: (a) => {
      if (!this.#records.has(a.ip)) throw new NotFoundError('IPAM record', a.ip)
      this.#records.set(a.ip, { ip: a.ip, containerId: a.containerId, ifname: a.ifname, allocatedAt: a.allocatedAt })
    },
    remove: (ip) => this.#records.delete(ip),
    lastReserved: (i) => this.#last.get(i),
    setLastReserved: (i, ip) => {
      this.#last.set(i, ip)
    },
  }
}
