/** One behaviour suite for every Store (MemoryStore in unit tests, EtcdStore against a real etcd). */
import assert from 'node:assert/strict'
import { CompactedError, type Store, type WatchEvent } from '../../src/overlay/store/store.js'

export interface StoreHarness {
  store(): Store
  /** Compacts the store's history up to `revision`. */
  compact(revision: number): Promise<void>
}

function collect(store: Store, prefix: string, from: number): { events: WatchEvent[]; errors: Error[]; close(): void; until(n: number, ms?: number): Promise<void> } {
  const events: WatchEvent[] = []
  const errors: Error[] = []
  const h = store.watch(prefix, from, { events: (e) => events.push(...e), error: (e) => errors.push(e) })
  return {
    events, errors, close: () => h.close(),
    async until(n: number, ms = 5000) {
      const end = Date.now() + ms
      while (events.length + errors.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    },
  }
}

export function storeConformance(h: StoreHarness): void {
  it('puts, gets and lists by prefix with revisions', async () => {
    const s = h.store()
    const r1 = await s.put('/t/a/1', 'one')
    const r2 = await s.put('/t/a/2', 'two')
    await s.put('/t/b', 'other')
    assert.ok(r2 > r1)
    const kv = await s.get('/t/a/1')
    assert.equal(kv?.value, 'one')
    assert.equal(kv?.createRevision, r1)
    assert.equal(await s.get('/t/none'), undefined)
    const l = await s.list('/t/a/')
    assert.deepEqual(l.kvs.map((k) => `${k.key}=${k.value}`), ['/t/a/1=one', '/t/a/2=two'])
    assert.ok(l.revision >= r2)
    await s.put('/t/a/1', 'uno')
    const again = await s.get('/t/a/1')
    assert.equal(again?.createRevision, r1)
    assert.ok(again!.modRevision > r2)
    assert.equal(await s.delete('/t/a/1'), 1)
    assert.equal(await s.delete('/t/a/1'), 0)
  })

  it('claims a key once with a transaction on its create revision', async () => {
    const s = h.store()
    const first = await s.txn([{ key: '/c/k', createRevision: 0 }], [{ put: { key: '/c/k', value: 'mine' } }], [{ get: { key: '/c/k' } }])
    assert.equal(first.succeeded, true)
    const second = await s.txn([{ key: '/c/k', createRevision: 0 }], [{ put: { key: '/c/k', value: 'theirs' } }], [{ get: { key: '/c/k' } }])
    assert.equal(second.succeeded, false)
    assert.equal(second.gets[0]?.value, 'mine')
    assert.equal((await s.get('/c/k'))?.value, 'mine')
  })

  it('attaches keys to a lease; keepalive renews, revoke deletes them', async () => {
    const s = h.store()
    const lease = await s.grantLease(10)
    assert.ok(lease.ttl >= 10)
    await s.put('/l/x', '1', { lease: lease.id })
    assert.equal((await s.get('/l/x'))?.lease, lease.id)
    assert.ok((await s.keepAlive(lease.id)) >= 10)
    const left = await s.timeToLive(lease.id)
    assert.ok(left > 0 && left <= 10, `ttl left ${left}`)
    await s.revoke(lease.id)
    assert.equal(await s.get('/l/x'), undefined)
    assert.equal(await s.keepAlive(lease.id), 0)
    assert.equal(await s.timeToLive(lease.id), -1)
    await s.revoke(lease.id) // already gone: fine
  })

  it('deletes the keys of a lease that is not kept alive', async function () {
    this.timeout(15000)
    const s = h.store()
    const lease = await s.grantLease(2)
    await s.put('/e/x', '1', { lease: lease.id })
    const w = collect(s, '/e/', (await s.list('/e/')).revision + 1)
    await w.until(1, 8000)
    w.close()
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.kv.key}`), ['delete /e/x'])
    assert.equal(await s.get('/e/x'), undefined)
  })

  it('watches a prefix from a revision: replays the past, then follows, in order', async () => {
    const s = h.store()
    const r0 = await s.put('/w/a', '1')
    await s.put('/w/b', '2')
    await s.put('/x/other', 'not mine')
    await s.delete('/w/a')
    const w = collect(s, '/w/', r0)
    await w.until(3)
    await s.put('/w/c', '3')
    await w.until(4)
    w.close()
    assert.deepEqual(w.errors, [])
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.kv.key}${e.type === 'put' ? `=${e.kv.value}` : ''}`), ['put /w/a=1', 'put /w/b=2', 'delete /w/a', 'put /w/c=3'])
    const del = w.events[2]!
    assert.ok(del.kv.modRevision > r0)
  })

  it('ends a watch from a compacted revision with CompactedError', async () => {
    const s = h.store()
    const r0 = await s.put('/k/a', '1')
    const r1 = await s.put('/k/a', '2')
    await s.put('/k/a', '3')
    await h.compact(r1 + 1)
    const w = collect(s, '/k/', r0)
    await w.until(1)
    w.close()
    assert.equal(w.errors.length, 1)
    assert.ok(w.errors[0] instanceof CompactedError, String(w.errors[0]))
    assert.ok((w.errors[0] as CompactedError).compactRevision >= r1)
  })
}
