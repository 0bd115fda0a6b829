/**
 * The overlay's view of its distributed store: the handful of etcd v3 operations it needs,
 * behind one small interface so that tests (MemoryStore) and later stores (Kubernetes Node
 * objects) can stand in. Keys and values are UTF-8 strings; revisions are etcd's (one counter
 * for the whole store, bumped by every write); lease ids are decimal strings (etcd's int64).
 */

export interface KeyValue {
  key: string
  value: string
  /** Revision of the write that created the key (0 never appears: absent keys have no KeyValue). */
  createRevision: number
  /** Revision of the last write to the key. */
  modRevision: number
  version: number
  /** The lease the key is attached to ('0': none). */
  lease: string
}

export interface RangeResult {
  kvs: KeyValue[]
  /** The store's revision when the read was served: watch from revision + 1 to miss nothing. */
  revision: number
}

/** A transaction guard. `createRevision: 0` means "the key does not exist". */
export type Compare =
  | { key: string; createRevision: number }
  | { key: string; modRevision: number }
  | { key: string; value: string }

export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string } }
  | { get: { key: string } }

export interface TxnResult {
  succeeded: boolean
  revision: number
  /** For each `get` op of the branch taken, the key's value (undefined when absent). */
  gets: Array<KeyValue | undefined>
}

export interface Lease {
  id: string
  /** Seconds granted. */
  ttl: number
}

export interface WatchEvent {
  type: 'put' | 'delete'
  /** For a delete: the key and the revision of the deletion (value empty). */
  kv: KeyValue
}

export interface WatchListener {
  /** Events of one revision or more, in revision order. */
  events(events: WatchEvent[], revision: number): void
  /**
   * The watch ended: the store became unreachable, or the revision asked for was compacted
   * (CompactedError). No further events come; list again and watch from the new revision.
   */
  error(err: Error): void
}

export interface WatchHandle {
  close(): void
}

export interface Store {
  /** Human-readable location ("etcd http://10.0.0.1:2379,..."), for messages. */
  readonly where: string
  get(key: string): Promise<KeyValue | undefined>
  /** Every key under `prefix`, in key order, with the revision of the read. */
  list(prefix: string): Promise<RangeResult>
  put(key: string, value: string, opts?: { lease?: string }): Promise<number>
  /** Returns the number of keys deleted. */
  delete(key: string): Promise<number>
  txn(compare: Compare[], success: TxnOp[], failure?: TxnOp[]): Promise<TxnResult>
  grantLease(ttlSeconds: number): Promise<Lease>
  /** Renews a lease; returns the TTL it now has, 0 when the lease no longer exists. */
  keepAlive(id: string): Promise<number>
  /** Seconds left on a lease; -1 when it no longer exists. */
  timeToLive(id: string): Promise<number>
  /** Revokes a lease and deletes every key attached to it (a lease already gone is fine). */
  revoke(id: string): Promise<void>
  /** Watches every key under `prefix` from `fromRevision` (inclusive). */
  watch(prefix: string, fromRevision: number, listener: WatchListener): WatchHandle
  close(): void
}

/** The revision a watch asked for is older than the store keeps (compacted): re-list. */
export class CompactedError extends Error {
  readonly compactRevision: number
  constructor(compactRevision: number) {
    super(`the store compacted its history up to revision ${compactRevision}`)
    this.name = 'CompactedError'
    this.compactRevision = compactRevision
  }
}
