import assert from 'node:assert/strict'
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExistsError, NotFoundError, PodnetError } from '../../../../src/errors.js'
import {
  AddressInUseError, AllocationExistsError, Allocator, DiskStore, ipFromRecordFileName, ownerHash, parseRangeSets,
  recordFileName,
} from '../../../../src/bridge/ipam/index.js'

const FIXED = new Date('2026-01-02T03:04:05.000Z')

describe('bridge/ipam/disk-store', () => {
  let base = ''
  let dir = ''
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'podnet-ipam-'))
    dir = join(base, 'networks', 'net1', 'ipam')
  })
  afterEach(() => { rmSync(base, { recursive: true, force: true }) })

  const ranges = parseRangeSets([{ subnet: '10.0.0.0/24' }, { subnet: 'fd00:1::/64' }])

  it('writes the documented layout: one JSON file per address, last_reserved.<i>, lock', async () => {
    const alloc = new Allocator(new DiskStore(dir, { fsync: true }), { now: () => FIXED })
    await alloc.allocate({ containerId: 'abc123', ifname: 'eth0' }, ranges)
    assert.deepEqual(readdirSync(dir).sort(), ['10.0.0.2', 'fd00_1__2', 'last_reserved.0', 'last_reserved.1', 'lock', 'owners'])
    const body = '{"containerId":"abc123","ifname":"eth0","allocatedAt":"2026-01-02T03:04:05.000Z"}\n'
    assert.equal(readFileSync(join(dir, '10.0.0.2'), 'utf8'), body)
    assert.equal(readFileSync(join(dir, 'fd00_1__2'), 'utf8'), body)
    // The owner index: one directory per owner hash, hard links named after the records, and
    // the marker saying every record is indexed.
    const h = ownerHash({ containerId: 'abc123', ifname: 'eth0' })
    assert.match(h, /^[0-9a-f]{32}$/)
    assert.deepEqual(readdirSync(join(dir, 'owners')).sort(), [h, 'complete'])
    assert.deepEqual(readdirSync(join(dir, 'owners', h)).sort(), ['10.0.0.2', 'fd00_1__2'])
    assert.equal(statSync(join(dir, 'owners', h, '10.0.0.2')).ino, statSync(join(dir, '10.0.0.2')).ino)
    assert.equal(statSync(join(dir, 'owners', h, 'fd00_1__2')).ino, statSync(join(dir, 'fd00_1__2')).ino)
    assert.equal(readFileSync(join(dir, 'last_reserved.0'), 'utf8'), '10.0.0.2')
    assert.equal(readFileSync(join(dir, 'last_reserved.1'), 'utf8'), 'fd00:1::2')
    assert.equal(statSync(join(dir, '10.0.0.2')).mode & 0o777, 0o644)
    assert.equal(statSync(join(dir, 'lock')).size, 0)
  })

  it('maps IPv6 names both ways and recognises only record names', () => {
    assert.equal(recordFileName('fd00::1:2'), 'fd00__1_2')
    assert.equal(ipFromRecordFileName('fd00__1_2'), 'fd00::1:2')
    assert.equal(ipFromRecordFileName('__1'), '::1')
    assert.equal(ipFromRecordFileName('10.0.0.9'), '10.0.0.9')
    for (const other of ['lock', 'last_reserved.0', '.tmp-1-2', 'README', 'owners']) assert.equal(ipFromRecordFileName(other), undefined, other)
  })

  it('state survives a new store instance, round robin included', async () => {
    const a1 = new Allocator(new DiskStore(dir))
    await a1.allocate({ containerId: 'a', ifname: 'eth0' }, ranges)
    await a1.allocate({ containerId: 'b', ifname: 'eth0' }, ranges)
    await a1.release('a', 'eth0')
    const a2 = new Allocator(new DiskStore(dir))
    assert.deepEqual((await a2.list()).map((a) => `${a.containerId}=${a.ip}`), ['b=10.0.0.3', 'b=fd00:1::3'])
    assert.deepEqual((await a2.allocate({ containerId: 'c', ifname: 'eth0' }, ranges)).map((a) => a.ip), ['10.0.0.4', 'fd00:1::4'])
    // After the last release the directory keeps lock and last_reserved (as host-local).
    await a2.releaseAll()
    assert.deepEqual(readdirSync(dir).sort(), ['last_reserved.0', 'last_reserved.1', 'lock', 'owners'])
    assert.deepEqual(readdirSync(join(dir, 'owners')), ['complete'], 'empty owner directories are removed')
  })

  it('reads host-local records (id\\r\\nifname) and never hands their address out', async () => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, '10.0.0.2'), 'legacy-id\r\neth0')
    const alloc = new Allocator(new DiskStore(dir))
    assert.deepEqual(await alloc.list(), [{ ip: '10.0.0.2', family: 4, containerId: 'legacy-id', ifname: 'eth0', allocatedAt: '' }])
    assert.deepEqual((await alloc.allocate({ containerId: 'new', ifname: 'eth0' }, ranges)).map((a) => a.ip)[0], '10.0.0.3')
    await assert.rejects(alloc.allocate({ containerId: 'x', ifname: 'eth0', ip: '10.0.0.2' }, ranges), AddressInUseError)
    // the owner lookup of the allocation above indexed the legacy record
    assert.ok(existsSync(join(dir, 'owners', ownerHash({ containerId: 'legacy-id', ifname: 'eth0' }), '10.0.0.2')))
    assert.deepEqual((await alloc.release('legacy-id', 'eth0')).map((a) => a.ip), ['10.0.0.2'])
    assert.ok(!existsSync(join(dir, '10.0.0.2')))
  })

  it('the owner index heals: stale entries are dropped, a deleted index is rebuilt', async () => {
    const alloc = new Allocator(new DiskStore(dir))
    await alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges) // .2
    // A crash between index entry and record leaves an entry without a record.
    const ghost = join(dir, 'owners', ownerHash({ containerId: 'ghost', ifname: 'eth0' }))
    mkdirSync(ghost)
    writeFileSync(join(ghost, '10.0.0.3'), '{"containerId":"ghost","ifname":"eth0","allocatedAt":""}\n')
    assert.deepEqual(await alloc.find('ghost', 'eth0'), [])
    assert.ok(!existsSync(ghost), 'the stale entry and its owner directory are removed')
    assert.deepEqual((await alloc.allocate({ containerId: 'b', ifname: 'eth0' }, ranges)).map((a) => a.ip), ['10.0.0.3', 'fd00:1::3'])
    // An entry left behind for an address someone else holds now is stale too.
    const old = join(dir, 'owners', ownerHash({ containerId: 'old', ifname: 'eth0' }))
    mkdirSync(old)
    writeFileSync(join(old, '10.0.0.3'), '{"containerId":"old","ifname":"eth0","allocatedAt":""}\n')
    assert.deepEqual(await alloc.find('old', 'eth0'), [])
    assert.ok(!existsSync(old))
    assert.equal((await alloc.find('b', 'eth0')).length, 2)
    // Without the index, lookups still find every owner and rebuild it.
    rmSync(join(dir, 'owners'), { recursive: true })
    await assert.rejects(alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges), AllocationExistsError)
    const entries = (): number => readdirSync(join(dir, 'owners')).filter((n) => n !== 'complete')
      .reduce((n, d) => n + readdirSync(join(dir, 'owners', d)).length, 0)
    assert.equal(entries(), 4)
    assert.deepEqual((await alloc.release('b', 'eth0')).map((a) => a.ip), ['10.0.0.3', 'fd00:1::3'])
    assert.equal(entries(), 2)
  })

  it('migrates the flat owner index of podnet 0.1 (owners/<hash>.<record>)', async () => {
    const alloc = new Allocator(new DiskStore(dir))
    await alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges)
    // Rewrite the index the old way: flat hard links, no marker.
    const h = ownerHash({ containerId: 'a', ifname: 'eth0' })
    rmSync(join(dir, 'owners'), { recursive: true })
    mkdirSync(join(dir, 'owners'))
    for (const r of ['10.0.0.2', 'fd00_1__2']) linkSync(join(dir, r), join(dir, 'owners', `${h}.${r}`))
    assert.deepEqual((await alloc.find('a', 'eth0')).map((x) => x.ip), ['10.0.0.2', 'fd00:1::2'])
    assert.deepEqual(readdirSync(join(dir, 'owners')).sort(), [h, 'complete'])
    assert.equal(statSync(join(dir, '10.0.0.2')).nlink, 2)
  })

  it('list() indexes a record a foreign writer added after the index was complete', async () => {
    const alloc = new Allocator(new DiskStore(dir))
    await alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges)
    writeFileSync(join(dir, '10.0.0.9'), 'foreign\r\neth0')
    // Never handed out (the allocator probes addresses) ...
    await assert.rejects(alloc.allocate({ containerId: 'x', ifname: 'eth0', ip: '10.0.0.9' }, ranges), AddressInUseError)
    // ... and indexed by the next list (gc, network inspect).
    assert.equal((await alloc.list()).length, 3)
    assert.deepEqual((await alloc.find('foreign', 'eth0')).map((x) => x.ip), ['10.0.0.9'])
  })

  it('treats an unreadable record as taken by an unknown owner', async () => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, '10.0.0.2'), '{"truncated')
    const alloc = new Allocator(new DiskStore(dir))
    await assert.rejects(alloc.allocate({ containerId: 'x', ifname: 'eth0', ip: '10.0.0.2' }, ranges), {
      message: /owned by an unknown owner \(unreadable record\)/,
    })
    assert.equal((await alloc.allocate({ containerId: 'y', ifname: 'eth0' }, ranges))[0]?.ip, '10.0.0.3')
    assert.deepEqual(await alloc.gc([{ containerId: 'y', ifname: 'eth0' }]), [])
    assert.deepEqual((await alloc.gc([{ containerId: 'y', ifname: 'eth0' }], { removeUnreadable: true })).map((a) => a.ip), ['10.0.0.2'])
  })

  it('never overwrites a record; removes stale temporary files; ignores foreign files', () => {
    const store = new DiskStore(dir)
    const rec = { ip: '10.0.0.5', containerId: 'a', ifname: 'eth0', allocatedAt: '' }
    store.transaction((tx) => tx.add(rec))
    assert.throws(() => store.transaction((tx) => tx.add({ ...rec, containerId: 'b' })), ExistsError)
    assert.equal(store.transaction((tx) => tx.get('10.0.0.5'))?.containerId, 'a')
    writeFileSync(join(dir, '.tmp-99999-0'), 'half')
    writeFileSync(join(dir, 'NOTES'), 'hello')
    assert.deepEqual(store.transaction((tx) => tx.ips()), ['10.0.0.5'])
    assert.ok(!existsSync(join(dir, '.tmp-99999-0')))
    assert.ok(existsSync(join(dir, 'NOTES')))
    assert.equal(store.transaction((tx) => tx.remove('10.0.0.5')), true)
    assert.equal(store.transaction((tx) => tx.remove('10.0.0.5')), false)
    assert.equal(store.transaction((tx) => tx.get('10.0.0.5')), undefined)
  })

  it('replace gives a record to another owner in one rename; the index follows; a crash on either side of the rename heals', () => {
    const store = new DiskStore(dir)
    const a = { ip: '10.0.0.5', containerId: 'a', ifname: 'eth0', allocatedAt: '' }
    const r = { ip: '10.0.0.5', containerId: '@reserved:k', ifname: 'eth0', allocatedAt: '2026-01-02T03:04:05.000Z' }
    assert.throws(() => store.transaction((tx) => tx.replace(a)), NotFoundError)
    store.transaction((tx) => tx.add(a))
    const ino = statSync(join(dir, '10.0.0.5')).ino
    store.transaction((tx) => tx.replace(r))
    assert.notEqual(statSync(join(dir, '10.0.0.5')).ino, ino, 'a new file under the name (renamed over it)')
    assert.equal(readFileSync(join(dir, '10.0.0.5'), 'utf8'), '{"containerId":"@reserved:k","ifname":"eth0","allocatedAt":"2026-01-02T03:04:05.000Z"}\n')
    const ha = ownerHash(a)
    const hr = ownerHash(r)
    assert.deepEqual(readdirSync(join(dir, 'owners')).filter((n) => n !== 'complete'), [hr], "the old owner's entry and directory are gone")
    assert.equal(statSync(join(dir, 'owners', hr, '10.0.0.5')).ino, statSync(join(dir, '10.0.0.5')).ino)
    assert.deepEqual(store.transaction((tx) => [tx.byOwner(a), tx.byOwner(r).map((x) => x.ip)]), [[], ['10.0.0.5']])
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.tmp-')), [])
    // killed after the rename: the old owner's entry is left (a link to the old content), and ignored and dropped
    mkdirSync(join(dir, 'owners', ha))
    writeFileSync(join(dir, 'owners', ha, '10.0.0.5'), '{"containerId":"a","ifname":"eth0","allocatedAt":""}\n')
    assert.deepEqual(store.transaction((tx) => tx.byOwner(a)), [])
    assert.ok(!existsSync(join(dir, 'owners', ha)))
    // killed before the rename: the new owner's entry is left, the record is the old owner's
    store.transaction((tx) => tx.replace(a))
    mkdirSync(join(dir, 'owners', hr))
    writeFileSync(join(dir, 'owners', hr, '10.0.0.5'), '{"containerId":"@reserved:k","ifname":"eth0","allocatedAt":""}\n')
    assert.deepEqual(store.transaction((tx) => tx.byOwner(r)), [])
    assert.deepEqual(store.transaction((tx) => tx.byOwner(a).map((x) => x.ip)), ['10.0.0.5'])
  })

  it('a reservation on disk: kept by a new store instance, taken back, refused to others', async () => {
    const a1 = new Allocator(new DiskStore(dir, { fsync: true }), { now: () => FIXED })
    await a1.allocate({ containerId: 'web-1', ifname: 'eth0' }, ranges)
    await a1.release('web-1', 'eth0', { reserveAs: 'statefulset/web/1' })
    const a2 = new Allocator(new DiskStore(dir))
    assert.deepEqual((await a2.reservations()).map((a) => `${a.reservation}/${a.ifname}=${a.ip}`), ['statefulset/web/1/eth0=10.0.0.2', 'statefulset/web/1/eth0=fd00:1::2'])
    await assert.rejects(a2.allocate({ containerId: 'x', ifname: 'eth0', ip: '10.0.0.2' }, ranges), { name: 'AddressInUseError', message: /reservation 'statefulset\/web\/1'/ })
    assert.deepEqual(await a2.gc([]), [])
    const back = await a2.allocate({ containerId: 'web-1', ifname: 'eth0', reservation: 'statefulset/web/1' }, ranges)
    assert.deepEqual(back.map((a) => a.ip), ['10.0.0.2', 'fd00:1::2'])
    assert.deepEqual((await a2.find('web-1', 'eth0')).map((a) => a.ip), ['10.0.0.2', 'fd00:1::2'])
    assert.deepEqual(readdirSync(join(dir, 'owners')).sort(), [ownerHash({ containerId: 'web-1', ifname: 'eth0' }), 'complete'].sort())
  })

  it('refuses a nested transaction on the same directory instead of deadlocking', () => {
    const s1 = new DiskStore(dir)
    const s2 = new DiskStore(join(dir, '..', 'ipam'))
    assert.throws(() => s1.transaction(() => s2.transaction(() => 1)), (e: unknown) => e instanceof PodnetError && /nested transaction/.test(e.message))
    // the lock was released on the way out
    assert.equal(s2.transaction(() => 2), 2)
  })

  it('recreates its directory if it disappears', async () => {
    const alloc = new Allocator(new DiskStore(dir))
    await alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges)
    rmSync(dir, { recursive: true })
    assert.deepEqual(await alloc.list(), [])
    assert.ok(existsSync(join(dir, 'lock')))
  })
})
