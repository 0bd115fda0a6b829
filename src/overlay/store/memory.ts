/**
 * MemoryStore: the Store in memory, with etcd's semantics where the overlay depends on them
 * (one revision counter, create/mod revisions, leases that delete their keys when they expire
 * or are revoked, watches from a past revision, compaction). For unit tests and in-process
 * experiments; `unavailable = true` makes every call fail as an unreachable etcd would, and
 * `expireLease()` ends a lease at once (a node whose agent died).
 */
import { UnavailableError } from '../../errors.js'
import { CompactedError, type Compare, type KeyValue, type Lease, type RangeResult, type Store, type TxnOp, type TxnResult, type WatchEvent, type WatchHandle, type WatchListener } from './store.js'

interface LeaseState {
  ttl: number
  expiresAt: number
  timer: NodeJS.Timeout
  keys: Set<string>
}

interface Watcher {
  prefix: string
  listener: WatchListener
}

export class MemoryStore implements Store {
  readonly where = 'memory store'
  revision = 1
  /** Set to make every call fail with UnavailableError (and end every watch). */
  private down = false
  private readonly kvs = new Map<string, KeyValue>()
  private readonly leases = new Map<string, LeaseState>()
  private readonly watchers = new Set<Watcher>()
  /** Every event ever, for watches from the past (until compacted). */
  private readonly history: Array<{ revision: number; event: WatchEvent }> = []
  private compacted = 0
  private nextLease = 0x1000

  get unavailable(): boolean {
    return this.down
  }

  set unavailable(v: boolean) {
    this.down = v
    if (v) {
      const ws = [...this.watchers]
      this.watchers.clear()
      for (const w of ws) w.listener.error(new UnavailableError(`${this.where} is unavailable`))
    }
  }

  private check(): void {
    if (this.down) throw new UnavailableError(`${this.where} is unavailable`)
  }

  private emit(events: WatchEvent[]): void {
    for (const e of events) this.history.push({ revision: this.revision, event: e })
    for (const w of [...this.watchers]) {
      const mine = events.filter((e) => e.kv.key.startsWith(w.prefix))
      if (mine.length) w.listener.events(mine, this.revision)
    }
  }

  private putLocked(key: string, value: string, lease = '0'): WatchEvent {
    const prev = this.kvs.get(key)
    if (prev && prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(key)
    const kv: KeyValue = {
      key, value, lease, modRevision: this.revision,
      createRevision: prev?.createRevision ?? this.revision, version: (prev?.version ?? 0) + 1,
    }
    this.kvs.set(key, kv)
    if (lease !== '0') {
      const l = this.leases.get(lease)
      if (!l) throw new Error(`etcdserver: requested lease not found`)
      l.keys.add(key)
    }
    return { type: 'put', kv: { ...kv } }
  }

  private deleteLocked(key: string): WatchEvent | undefined {
    const prev = this.kvs.get(key)
    if (!prev) return undefined
    this.kvs.delete(key)
    if (prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(key)
    return { type: 'delete', kv: { key, value: '', createRevision: 0, modRevision: this.revision, version: 0, lease: '0' } }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check()
    const kv = this.kvs.get(key)
    return kv ? { ...kv } : undefined
  }

  async list(prefix: string): Promise<RangeResult> {
    this.check()
    const kvs = [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((kv) => ({ ...kv }))
    return { kvs, revision: this.revision }
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    this.check()
    if (opts.lease && opts.lease !== '0' && !this.leases.has(opts.lease)) throw new Error('etcdserver: requested lease not found')
    this.revision++
    this.emit([this.putLocked(key, value, opts.lease)])
    return this.revision
  }

  async delete(key: string): Promise<number> {
    this.check()
    if (!this.kvs.has(key)) return 0
    this.revision++
    this.emit([this.deleteLocked(key)!])
    return 1
  }

  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    this.check()
    const ok = compare.every((c) => {
      const kv = this.kvs.get(c.key)
      if ('createRevision' in c) return (kv?.createRevision ?? 0) === c.createRevision
      if ('modRevision' in c) return (kv?.modRevision ?? 0) === c.modRevision
      return kv !== undefined && kv.value === c.value
    })
    const branch = ok ? success : failure
    for (const op of branch) if ('put' in op && op.put.lease && op.put.lease !== '0' && !this.leases.has(op.put.lease)) throw new Error('etcdserver: requested lease not found')
    const writes = branch.some((op) => !('get' in op))
    if (writes) this.revision++
    const events: WatchEvent[] = []
    const gets: Array<KeyValue | undefined> = []
    for (const op of branch) {
      if ('put' in op) events.push(this.putLocked(op.put.key, op.put.value, op.put.lease))
      else if ('delete' in op) {
        const e = this.deleteLocked(op.delete.key)
        if (e) events.push(e)
      } else {
        const kv = this.kvs.get(op.get.key)
        gets.push(kv ? { ...kv } : undefined)
      }
    }
    if (events.length) this.emit(events)
    return { succeeded: ok, revision: this.revision, gets }
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.check()
    const id = String(this.nextLease++)
    const l: LeaseState = { ttl: ttlSeconds, expiresAt: Date.now() + ttlSeconds * 1000, timer: setTimeout(() => this.expireLease(id), ttlSeconds * 1000), keys: new Set() }
    l.timer.unref()
    this.leases.set(id, l)
    return { id, ttl: ttlSeconds }
  }

  async keepAlive(id: string): Promise<number> {
    this.check()
    const l = this.leases.get(id)
    if (!l) return 0
    clearTimeout(l.timer)
    l.expiresAt = Date.now() + l.ttl * 1000
    l.timer = setTimeout(() => this.expireLease(id), l.ttl * 1000)
    l.timer.unref()
    return l.ttl
  }

  async timeToLive(id: string): Promise<number> {
    this.check()
    const l = this.leases.get(id)
    return l ? Math.max(0, Math.round((l.expiresAt - Date.now()) / 1000)) : -1
  }

  async revoke(id: string): Promise<void> {
    this.check()
    this.expireLease(id)
  }

  /** Ends a lease now, deleting its keys in one revision (what etcd does at expiry). */
  expireLease(id: string): void {
    const l = this.leases.get(id)
    if (!l) return
    clearTimeout(l.timer)
    this.leases.delete(id)
    if (!l.keys.size) return
    this.revision++
    const events = [...l.keys].sort().flatMap((k) => this.deleteLocked(k) ?? [])
    this.emit(events)
  }

  /** Forgets history before `revision`: a watch from earlier fails with CompactedError. */
  compact(revision: number): void {
    this.compacted = Math.max(this.compacted, revision)
    while (this.history.length && this.history[0]!.revision < revision) this.history.shift()
  }

  watch(prefix: string, fromRevision: number, listener: WatchListener): WatchHandle {
    const w: Watcher = { prefix, listener }
    let closed = false
    queueMicrotask(() => {
      if (closed) return
      if (this.down) {
        listener.error(new UnavailableError(`${this.where} is unavailable`))
        return
      }
      if (fromRevision > 0 && fromRevision < this.compacted) {
        listener.error(new CompactedError(this.compacted))
        return
      }
      // replay the past, grouped by revision, then follow
      const past = this.history.filter((h) => h.revision >= fromRevision && h.event.kv.key.startsWith(prefix))
      let i = 0
      while (i < past.length) {
        const rev = past[i]!.revision
        const group: WatchEvent[] = []
        while (i < past.length && past[i]!.revision === rev) group.push(past[i++]!.event)
        listener.events(group, rev)
      }
      this.watchers.add(w)
    })
    return { close: () => { closed = true; this.watchers.delete(w) } }
  }

  close(): void {
    for (const l of this.leases.values()) clearTimeout(l.timer)
    this.watchers.clear()
  }
}
