import assert from 'node:assert/strict'
import { ExistsError, InvalidArgumentError } from '../../../../src/errors.js'
import {
  type IpamStore, type IpamStoreTx, type RangeSet, type RangeSpec,
  AddressExhaustedError, AddressInUseError, AllocationExistsError, Allocator, MemoryStore, PROBES, RESERVATION_PREFIX, parseRangeSets,
} from '../../../../src/bridge/ipam/index.js'

const FIXED = new Date('2026-01-02T03:04:05.000Z')

function setup(...sets: Array<RangeSpec | RangeSpec[]>): { alloc: Allocator; store: MemoryStore; ranges: RangeSet[] } {
  const store = new MemoryStore()
  return { alloc: new Allocator(store, { now: () => FIXED }), store, ranges: parseRangeSets(sets) }
}

async function ipsOf(alloc: Allocator, ranges: RangeSet[], containerId: string, ifname = 'eth0', ip?: string | string[]): Promise<string[]> {
  const got = await alloc.allocate(ip === undefined ? { containerId, ifname } : { containerId, ifname, ip }, ranges)
  return got.map((a) => a.ip)
}


/** A store over a MemoryStore whose second add() fails (a full disk half way through a transaction). */
function failingOnSecondAdd(): { inner: MemoryStore; failing: IpamStore } {
  const inner = new MemoryStore()
  let adds = 0
  const failing: IpamStore = {
    transaction: (fn) => inner.transaction((tx) => fn({
      ...tx,
      add: (a) => {
        if (++adds === 2) throw new Error('disk full')
        tx.add(a)
      },
    } satisfies IpamStoreTx) as never),
  }
  return { inner, failing }
}

describe('bridge/ipam/allocator', () => {
  describe('dynamic allocation', () => {
    it('hands out the allocatable addresses of a /29 in order, then reports exhaustion', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/29' })
      const got: string[] = []
      for (let i = 0; i < 5; i++) got.push(...await ipsOf(alloc, ranges, `c${i}`))
      assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'])
      await assert.rejects(ipsOf(alloc, ranges, 'c5'), {
        name: 'AddressExhaustedError',
        message: 'no free address in 10.0.0.0/29 (range 10.0.0.2-10.0.0.6: 5 in use)',
      })
    })

    it('exhausts a /30 after one address, with the documented message', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/30' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'a'), ['10.0.0.2'])
      const err = await alloc.allocate({ containerId: 'b', ifname: 'eth0' }, ranges).then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof AddressExhaustedError)
      assert.equal(err.message, 'no free address in 10.0.0.0/30 (range 10.0.0.2-10.0.0.2: 1 in use)')
      assert.equal(err.rangeSetIndex, 0)
      assert.deepEqual(err.usage, [{ subnet: '10.0.0.0/30', range: '10.0.0.2-10.0.0.2', inUse: 1 }])
    })

    it('returns what an interface needs: address with prefix, subnet, gateway', async () => {
      const { alloc, ranges } = setup({ subnet: '10.201.0.0/16' }, { subnet: 'fd00:c1::/64', gateway: 'fd00:c1::fe' })
      assert.deepEqual(await alloc.allocate({ containerId: 'c', ifname: 'eth0' }, ranges), [
        { ip: '10.201.0.2', family: 4, address: '10.201.0.2/16', subnet: '10.201.0.0/16', prefix: 16, gateway: '10.201.0.1', rangeSetIndex: 0 },
        { ip: 'fd00:c1::1', family: 6, address: 'fd00:c1::1/64', subnet: 'fd00:c1::/64', prefix: 64, gateway: 'fd00:c1::fe', rangeSetIndex: 1 },
      ])
    })

    it('round robin: a freed address is not reused until the scan wraps', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/29' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'a'), ['10.0.0.2'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'b'), ['10.0.0.3'])
      await alloc.release('a', 'eth0')
      assert.deepEqual(await ipsOf(alloc, ranges, 'c'), ['10.0.0.4'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'd'), ['10.0.0.5'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'e'), ['10.0.0.6'])
      // wraps to the start: .2 is free again, .3 still taken
      assert.deepEqual(await ipsOf(alloc, ranges, 'f'), ['10.0.0.2'])
      await alloc.release('d', 'eth0')
      assert.deepEqual(await ipsOf(alloc, ranges, 'g'), ['10.0.0.5'])
    })

    it('skips the gateway wherever it sits and wraps across the ranges of a set', async () => {
      const { alloc, ranges } = setup([
        { subnet: '10.0.0.0/29', gateway: '10.0.0.3', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.4' },
        { subnet: '10.0.1.0/30' },
      ])
      const got: string[] = []
      for (let i = 0; i < 3; i++) got.push(...await ipsOf(alloc, ranges, `c${i}`))
      assert.deepEqual(got, ['10.0.0.2', '10.0.0.4', '10.0.1.2'])
      await assert.rejects(ipsOf(alloc, ranges, 'x'), {
        message: 'no free address in 10.0.0.0/29 (range 10.0.0.2-10.0.0.4: 2 in use), 10.0.1.0/30 (range 10.0.1.2-10.0.1.2: 1 in use)',
      })
      await alloc.release('c0', 'eth0')
      assert.deepEqual(await ipsOf(alloc, ranges, 'y'), ['10.0.0.2'])
    })

    it('starts from rangeStart when the cursor is outside the set (ranges changed)', async () => {
      const { alloc, store } = setup({ subnet: '10.0.0.0/24' })
      store.transaction((tx) => tx.setLastReserved(0, '192.168.0.7'))
      const ranges = parseRangeSets([{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50' }])
      assert.deepEqual(await ipsOf(alloc, ranges, 'a'), ['10.0.0.50'])
      store.transaction((tx) => tx.setLastReserved(0, 'garbage'))
      assert.deepEqual(await ipsOf(alloc, ranges, 'b'), ['10.0.0.51'])
    })

    it('allocates thousands on a /16 and on a /64 (the /64 would never finish if the space were enumerated)', async function () {
      this.timeout(20000)
      const { alloc, ranges } = setup({ subnet: '10.88.0.0/16' }, { subnet: 'fd00:88::/64' })
      for (let i = 0; i < 3000; i++) await alloc.allocate({ containerId: `c${i}`, ifname: 'eth0' }, ranges)
      const all = await alloc.list()
      assert.equal(all.length, 6000)
      assert.equal(new Set(all.map((a) => a.ip)).size, 6000)
      assert.equal(all.at(2999)?.ip, '10.88.11.185') // 2 + 2999 = 3001 = 11*256 + 185
    })
    it('probes a few addresses one by one and lists the store only behind a dense block', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' })
      // Count the store calls of each allocation.
      const calls = { has: 0, ips: 0 }
      const inner = store.transaction.bind(store)
      store.transaction = ((fn: (tx: IpamStoreTx) => unknown) => inner((tx) => fn({
        ...tx,
        has: (ip: string) => { calls.has++; return tx.has(ip) },
        ips: () => { calls.ips++; return tx.ips() },
      }))) as IpamStore['transaction']
      assert.deepEqual(await ipsOf(alloc, ranges, 'a'), ['10.0.0.2'])
      assert.deepEqual(calls, { has: 1, ips: 0 })
      // A static block of PROBES + 4 addresses right after the cursor: the probes all fail,
      // then one listing finds the first free address after the block.
      for (let i = 3; i < 3 + PROBES + 4; i++) await ipsOf(alloc, ranges, `s${i}`, 'eth0', `10.0.0.${i}`)
      calls.has = 0
      assert.deepEqual(await ipsOf(alloc, ranges, 'b'), [`10.0.0.${3 + PROBES + 4}`])
      assert.deepEqual(calls, { has: PROBES, ips: 1 })
    })
  })

  describe('static requests', () => {
    it('honours a requested address without moving the round-robin cursor', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'a', 'eth0', '10.0.0.77'), ['10.0.0.77'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'b'), ['10.0.0.2'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'c', 'eth0', '10.0.0.3'), ['10.0.0.3'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'd'), ['10.0.0.4'], 'skips the static .3')
    })

    it('refuses a taken address and names its owner', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'pod1', 'eth0')
      const err = await alloc.allocate({ containerId: 'pod2', ifname: 'eth0', ip: '10.0.0.2' }, ranges).then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof AddressInUseError && err instanceof ExistsError)
      assert.deepEqual(err.owner, { containerId: 'pod1', ifname: 'eth0' })
      assert.equal(err.message, "allocation of address '10.0.0.2' already exists in 10.0.0.0/24: it is owned by container 'pod1' ifname 'eth0'")
      assert.equal((await alloc.list()).length, 1)
    })

    it('refuses addresses outside the ranges, with the reason', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }, { subnet: 'fd00::/64' })
      const cases: Array<[string | string[], RegExp]> = [
        ['10.9.0.1', /^ip: 10\.9\.0\.1 is not in any subnet of this network \(10\.0\.0\.0\/24, fd00::\/64\)$/],
        ['10.0.0.50', /^ip: 10\.0\.0\.50 is inside 10\.0\.0\.0\/24 but outside its allocation range 10\.0\.0\.10-10\.0\.0\.20$/],
        ['10.0.0.1', /is the gateway of 10\.0\.0\.0\/24/],
        ['10.0.0.0', /is the network address of 10\.0\.0\.0\/24/],
        ['10.0.0.255', /is the broadcast address of 10\.0\.0\.0\/24/],
        ['fd00::1', /is the gateway of fd00::\/64/],
        ['fd00::', /is the network address of fd00::\/64/],
        ['not-an-ip', /is not an IP address/],
        ['10.0.0.10/24', /is not an IP address/],
        [['10.0.0.11', '10.0.0.12'], /10\.0\.0\.11 and 10\.0\.0\.12 both fall in range set 0/],
      ]
      for (const [ip, re] of cases) {
        await assert.rejects(alloc.allocate({ containerId: 'x', ifname: 'eth0', ip }, ranges), (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError, String(e))
          assert.match(e.message, re)
          return true
        })
      }
      assert.deepEqual(await alloc.list(), [])
    })

    it('mixes static and dynamic across the range sets of a dual-stack network', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'a', 'eth0', ['fd00::abcd']), ['10.0.0.2', 'fd00::abcd'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'b', 'eth0', ['fd00:0::abce', '10.0.0.9']), ['10.0.0.9', 'fd00::abce'])
    })
  })

  describe('one allocation per owner; all or nothing', () => {
    it('refuses a second allocation for the same (containerId, ifname) and changes nothing', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      await alloc.allocate({ containerId: 'pod1', ifname: 'eth0' }, ranges)
      const before = await alloc.list()
      const err = await alloc.allocate({ containerId: 'pod1', ifname: 'eth0' }, ranges).then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof AllocationExistsError && err instanceof ExistsError)
      assert.equal(err.message, "IPAM allocation for container 'pod1' already exists with ifname 'eth0' (10.0.0.2, fd00::2); release it before allocating again")
      await assert.rejects(alloc.allocate({ containerId: 'pod1', ifname: 'eth0', ip: '10.0.0.99' }, ranges), AllocationExistsError)
      assert.deepEqual(await alloc.list(), before)
      // another interface of the same container is another owner
      assert.deepEqual(await ipsOf(alloc, ranges, 'pod1', 'eth1'), ['10.0.0.3', 'fd00::3'])
    })

    it('takes nothing when one range set is exhausted', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/126' })
      await ipsOf(alloc, ranges, 'a')
      await ipsOf(alloc, ranges, 'b')
      await assert.rejects(ipsOf(alloc, ranges, 'c'), { message: 'no free address in fd00::/126 (range fd00::2-fd00::3: 2 in use)' })
      assert.equal((await alloc.list()).length, 4)
      assert.equal(store.transaction((tx) => tx.lastReserved(0)), '10.0.0.3')
    })

    it('undoes its own records when the store fails half way', async () => {
      const { inner, failing } = failingOnSecondAdd()
      const alloc = new Allocator(failing)
      const ranges = parseRangeSets([{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }])
      await assert.rejects(alloc.allocate({ containerId: 'a', ifname: 'eth0' }, ranges), /disk full/)
      assert.deepEqual(inner.transaction((tx) => tx.list()), [])
      assert.equal(inner.transaction((tx) => tx.lastReserved(0)), undefined)
    })

    it('validates the owner', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await assert.rejects(alloc.allocate({ containerId: '', ifname: 'eth0' }, ranges), { name: 'InvalidArgumentError', message: /^containerId: / })
      await assert.rejects(alloc.allocate({ containerId: 'a\nb', ifname: 'eth0' }, ranges), /control characters/)
      for (const ifname of ['', 'a-very-long-name', 'eth/0', 'eth 0', 'eth:0', '.', '..']) {
        await assert.rejects(alloc.allocate({ containerId: 'a', ifname }, ranges), { name: 'InvalidArgumentError' }, ifname)
      }
      await assert.rejects(alloc.allocate({ containerId: 'a', ifname: 'eth0' }, []), { message: /at least one range set/ })
      await assert.rejects(alloc.release('', 'eth0'), InvalidArgumentError)
    })
  })

  describe('release', () => {
    it('frees exactly the owner (containerId AND ifname) and is idempotent', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'pod1', 'eth0') // .2
      await ipsOf(alloc, ranges, 'pod1', 'eth1') // .3
      await ipsOf(alloc, ranges, 'pod2', 'eth0') // .4
      const freed = await alloc.release('pod1', 'eth1')
      assert.deepEqual(freed, [{ ip: '10.0.0.3', family: 4, containerId: 'pod1', ifname: 'eth1', allocatedAt: FIXED.toISOString() }])
      assert.deepEqual((await alloc.list()).map((a) => `${a.containerId}/${a.ifname}=${a.ip}`), ['pod1/eth0=10.0.0.2', 'pod2/eth0=10.0.0.4'])
      assert.deepEqual(await alloc.release('pod1', 'eth1'), [])
      assert.deepEqual(await alloc.release('never-added', 'eth0'), [])
      assert.deepEqual((await alloc.find('pod1', 'eth0')).map((a) => a.ip), ['10.0.0.2'])
    })

    it('the failed duplicate ADD scenario never frees the live pod\'s address', async () => {
      // host-local: an ADD reusing pod1's container id fails, and the DEL that cleans up
      // after it frees pod1's IP while pod1 still uses it. Here the failed ADD changes
      // nothing, and only a release of pod1's exact owner frees pod1's address.
      const { alloc, ranges } = setup({ subnet: '10.201.0.0/16' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'pod1'), ['10.201.0.2'])
      assert.deepEqual(await ipsOf(alloc, ranges, 'pod2'), ['10.201.0.3'])
      await assert.rejects(alloc.allocate({ containerId: 'pod1', ifname: 'eth0' }, ranges), AllocationExistsError)
      // Cleanup of the failed attempt with any other owner frees nothing of pod1's.
      assert.deepEqual(await alloc.release('pod1', 'eth1'), [])
      assert.deepEqual(await alloc.release('pod1-retry', 'eth0'), [])
      assert.deepEqual((await alloc.find('pod1', 'eth0')).map((a) => a.ip), ['10.201.0.2'])
      // New pods never get pod1's address while it is held.
      for (let i = 0; i < 50; i++) assert.notEqual((await ipsOf(alloc, ranges, `p${i}`))[0], '10.201.0.2')
      // Releasing pod2 frees pod2's only.
      assert.deepEqual((await alloc.release('pod2', 'eth0')).map((a) => a.ip), ['10.201.0.3'])
      assert.deepEqual((await alloc.find('pod1', 'eth0')).map((a) => a.ip), ['10.201.0.2'])
    })

    it('releaseAll frees everything and keeps the round-robin cursor', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      await ipsOf(alloc, ranges, 'a')
      await ipsOf(alloc, ranges, 'b')
      const freed = await alloc.releaseAll()
      assert.deepEqual(freed.map((a) => a.ip), ['10.0.0.2', '10.0.0.3', 'fd00::2', 'fd00::3'])
      assert.deepEqual(await alloc.list(), [])
      assert.equal(store.transaction((tx) => tx.lastReserved(1)), 'fd00::3')
      assert.deepEqual(await ipsOf(alloc, ranges, 'c'), ['10.0.0.4', 'fd00::4'])
    })
  })

  describe('list and gc', () => {
    it('lists IPv4 first, each family in numeric order', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      await ipsOf(alloc, ranges, 'a', 'eth0', ['10.0.0.100', 'fd00::a'])
      await ipsOf(alloc, ranges, 'b', 'eth0', ['10.0.0.9', 'fd00::9'])
      await ipsOf(alloc, ranges, 'c', 'eth0', ['10.0.0.20', 'fd00::1:0'])
      assert.deepEqual((await alloc.list()).map((a) => a.ip), ['10.0.0.9', '10.0.0.20', '10.0.0.100', 'fd00::9', 'fd00::a', 'fd00::1:0'])
    })

    it('gc removes allocations whose owner is not valid, and keeps unreadable records unless asked', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'live', 'eth0') // .2
      await ipsOf(alloc, ranges, 'live', 'eth1') // .3
      await ipsOf(alloc, ranges, 'dead', 'eth0') // .4
      store.transaction((tx) => tx.add({ ip: '10.0.0.50', containerId: '', ifname: '', allocatedAt: '' }))
      const removed = await alloc.gc([{ containerId: 'live', ifname: 'eth0' }])
      assert.deepEqual(removed.map((a) => `${a.containerId}/${a.ifname}`), ['live/eth1', 'dead/eth0'])
      assert.deepEqual((await alloc.list()).map((a) => a.ip), ['10.0.0.2', '10.0.0.50'])
      assert.deepEqual((await alloc.gc([{ containerId: 'live', ifname: 'eth0' }], { removeUnreadable: true })).map((a) => a.ip), ['10.0.0.50'])
      assert.deepEqual((await alloc.gc(new Set())).map((a) => a.ip), ['10.0.0.2'])
    })
  })
  describe('reservations', () => {
    const owners = async (alloc: Allocator): Promise<string[]> => (await alloc.list()).map((a) => `${a.containerId}/${a.ifname}=${a.ip}`)

    it('release with reserveAs keeps the addresses under the key; an allocate naming it takes them back', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      assert.deepEqual(await ipsOf(alloc, ranges, 'web-1'), ['10.0.0.2', 'fd00::2'])
      const before = store.transactions
      const kept = await alloc.release('web-1', 'eth0', { reserveAs: 'sts/web/1' })
      assert.equal(store.transactions, before + 1, 'one transaction: never free in between')
      assert.deepEqual(kept, [
        { ip: '10.0.0.2', containerId: `${RESERVATION_PREFIX}sts/web/1`, ifname: 'eth0', allocatedAt: FIXED.toISOString(), family: 4, reservation: 'sts/web/1' },
        { ip: 'fd00::2', containerId: `${RESERVATION_PREFIX}sts/web/1`, ifname: 'eth0', allocatedAt: FIXED.toISOString(), family: 6, reservation: 'sts/web/1' },
      ])
      assert.deepEqual(await owners(alloc), ['@reserved:sts/web/1/eth0=10.0.0.2', '@reserved:sts/web/1/eth0=fd00::2'])
      assert.deepEqual((await alloc.reservations()).map((a) => `${a.reservation}=${a.ip}`), ['sts/web/1=10.0.0.2', 'sts/web/1=fd00::2'])
      // meanwhile nobody gets them: the dynamic scan skips them
      assert.deepEqual(await ipsOf(alloc, ranges, 'other'), ['10.0.0.3', 'fd00::3'])
      // the new pod (another container id) takes them back in one transaction
      const n = store.transactions
      const back = await alloc.allocate({ containerId: 'web-1-new', ifname: 'eth0', reservation: 'sts/web/1' }, ranges)
      assert.equal(store.transactions, n + 1)
      assert.deepEqual(back.map((a) => [a.ip, a.address, a.reserved]), [['10.0.0.2', '10.0.0.2/24', true], ['fd00::2', 'fd00::2/64', true]])
      assert.deepEqual(await owners(alloc), ['web-1-new/eth0=10.0.0.2', 'other/eth0=10.0.0.3', 'web-1-new/eth0=fd00::2', 'other/eth0=fd00::3'])
      assert.deepEqual(await alloc.reservations(), [])
      // taking them back did not move the round-robin cursor
      assert.deepEqual(await ipsOf(alloc, ranges, 'third'), ['10.0.0.4', 'fd00::4'])
    })

    it('a key without a reservation: as without it, a requested address included; only the same ifname takes one back', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      const got = await alloc.allocate({ containerId: 'a', ifname: 'eth0', reservation: 'k', ip: '10.0.0.50' }, ranges)
      assert.deepEqual(got.map((a) => [a.ip, a.reserved]), [['10.0.0.50', undefined]])
      assert.deepEqual(Object.keys(got[0]!).includes('reserved'), false)
      await alloc.release('a', 'eth0', { reserveAs: 'k' })
      // eth1 under the same key is another reservation: nothing to take
      assert.deepEqual(await ipsOf(alloc, ranges, 'b', 'eth1'), ['10.0.0.2'])
      assert.deepEqual((await alloc.allocate({ containerId: 'c', ifname: 'eth1', reservation: 'k' }, ranges)).map((a) => a.ip), ['10.0.0.3'])
      // the reserved address wins over a requested one of its range set
      assert.deepEqual((await alloc.allocate({ containerId: 'd', ifname: 'eth0', reservation: 'k', ip: '10.0.0.60' }, ranges)).map((a) => a.ip), ['10.0.0.50'])
    })

    it('a different owner asking for a reserved address gets AddressInUseError naming the reservation; nothing changes', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'web-0')
      await alloc.release('web-0', 'eth0', { reserveAs: 'sts/web/0' })
      const err = await alloc.allocate({ containerId: 'squatter', ifname: 'eth0', ip: '10.0.0.2' }, ranges).then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof AddressInUseError)
      assert.equal(err.reservation, 'sts/web/0')
      assert.deepEqual(err.owner, { containerId: '@reserved:sts/web/0', ifname: 'eth0' })
      assert.equal(err.message, "allocation of address '10.0.0.2' already exists in 10.0.0.0/24: it is owned by the reservation 'sts/web/0' ifname 'eth0' (an address kept while its pod is away)")
      // a request naming another key cannot take it either
      await assert.rejects(alloc.allocate({ containerId: 'x', ifname: 'eth0', ip: '10.0.0.2', reservation: 'sts/web/9' }, ranges), AddressInUseError)
      assert.deepEqual(await owners(alloc), ['@reserved:sts/web/0/eth0=10.0.0.2'])
    })

    it('a failed allocate leaves the reservation as it was (checks come before any write)', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/126' })
      await ipsOf(alloc, ranges, 'p') // .2, fd00::2
      await alloc.release('p', 'eth0', { reserveAs: 'k' })
      await ipsOf(alloc, ranges, 'q', 'eth0', ['10.0.0.9', 'fd00::3']) // the v6 range is now full
      // the reservation has both families: taking it needs nothing else
      assert.deepEqual((await alloc.allocate({ containerId: 'r', ifname: 'eth0', reservation: 'k' }, ranges)).map((a) => a.ip), ['10.0.0.2', 'fd00::2'])
      await alloc.release('r', 'eth0', { reserveAs: 'k' })
      // a request for a taken address of a set the reservation does not cover: refused, reservation kept
      const { alloc: a2, store: store2, ranges: r2 } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      await a2.allocate({ containerId: 'v4only', ifname: 'eth0', ip: ['10.0.0.7', 'fd00::7'] }, r2)
      await a2.allocate({ containerId: 'holder', ifname: 'eth0', ip: ['10.0.0.8', 'fd00::8'] }, r2)
      await a2.release('v4only', 'eth0', { reserveAs: 'k' })
      store2.transaction((tx) => { tx.remove('fd00::7') }) // the reservation holds only 10.0.0.7 now
      await assert.rejects(a2.allocate({ containerId: 'n', ifname: 'eth0', reservation: 'k', ip: 'fd00::8' }, r2), AddressInUseError)
      assert.deepEqual((await a2.reservations()).map((a) => a.ip), ['10.0.0.7'])
      assert.deepEqual((await a2.allocate({ containerId: 'n', ifname: 'eth0', reservation: 'k', ip: 'fd00::9' }, r2)).map((a) => [a.ip, a.reserved]), [['10.0.0.7', true], ['fd00::9', undefined]])
    })

    it('undoes the addresses it took back when the store fails half way', async () => {
      const { inner, failing } = failingOnSecondAdd()
      const alloc = new Allocator(failing)
      const v4 = parseRangeSets([{ subnet: '10.0.0.0/24' }])
      const both = parseRangeSets([{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }])
      await alloc.allocate({ containerId: 'a', ifname: 'eth0' }, v4) // add #1
      await alloc.release('a', 'eth0', { reserveAs: 'k' })
      await assert.rejects(alloc.allocate({ containerId: 'b', ifname: 'eth0', reservation: 'k' }, both), /disk full/)
      assert.deepEqual(inner.transaction((tx) => tx.list()).map((a) => `${a.containerId}=${a.ip}`), ['@reserved:k=10.0.0.2'])
    })

    it('release with reserveAs replaces what the key held; an owner holding nothing leaves the reservation alone', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'old') // .2
      await alloc.release('old', 'eth0', { reserveAs: 'k' })
      assert.deepEqual(await alloc.release('old', 'eth0', { reserveAs: 'k' }), [], 'a second detach changes nothing')
      assert.deepEqual(await alloc.release('never', 'eth0', { reserveAs: 'k' }), [])
      assert.deepEqual(await owners(alloc), ['@reserved:k/eth0=10.0.0.2'])
      await ipsOf(alloc, ranges, 'new') // .3, made without the reservation
      await alloc.release('new', 'eth0', { reserveAs: 'k' })
      assert.deepEqual(await owners(alloc), ['@reserved:k/eth0=10.0.0.3'], 'the newest addresses are the reservation; the old one is free')
    })

    it('a release with reserveAs a kill interrupted between two families, done again, keeps both', async () => {
      const { alloc, store, ranges } = setup({ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' })
      await ipsOf(alloc, ranges, 'p') // 10.0.0.2, fd00::2
      // the first replace of the transaction happened, the second did not
      store.transaction((tx) => tx.replace({ ip: '10.0.0.2', containerId: '@reserved:k', ifname: 'eth0', allocatedAt: '' }))
      await alloc.release('p', 'eth0', { reserveAs: 'k' })
      assert.deepEqual(await owners(alloc), ['@reserved:k/eth0=10.0.0.2', '@reserved:k/eth0=fd00::2'])
      // and an allocate interrupted the same way is undone by the next release
      store.transaction((tx) => tx.replace({ ip: 'fd00::2', containerId: 'q', ifname: 'eth0', allocatedAt: '' }))
      await alloc.release('q', 'eth0', { reserveAs: 'k' })
      assert.deepEqual((await alloc.allocate({ containerId: 'r', ifname: 'eth0', reservation: 'k' }, ranges)).map((a) => a.ip), ['10.0.0.2', 'fd00::2'])
    })

    it('gc keeps reservations; releaseReservations frees those of a key prefix only; releaseAll frees them too', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      for (const p of ['web-0', 'web-1', 'webx-0', 'db-0', 'live']) await ipsOf(alloc, ranges, p)
      await alloc.release('web-0', 'eth0', { reserveAs: 'sts/web/0' })
      await alloc.release('web-1', 'eth0', { reserveAs: 'sts/web/1' })
      await alloc.release('webx-0', 'eth0', { reserveAs: 'sts/webx/0' })
      await alloc.release('db-0', 'eth0', { reserveAs: 'sts/db/0' })
      assert.deepEqual(await alloc.gc([{ containerId: 'live', ifname: 'eth0' }]), [])
      assert.equal((await alloc.list()).length, 5)
      assert.deepEqual((await alloc.gc([])).map((a) => a.containerId), ['live'])
      const freed = await alloc.releaseReservations('sts/web/')
      assert.deepEqual(freed.map((a) => `${a.reservation}=${a.ip}`), ['sts/web/0=10.0.0.2', 'sts/web/1=10.0.0.3'])
      assert.deepEqual((await alloc.reservations()).map((a) => a.reservation), ['sts/webx/0', 'sts/db/0'])
      assert.deepEqual(await alloc.releaseReservations('sts/web/'), [])
      // a freed reservation's address can be requested again
      assert.deepEqual(await ipsOf(alloc, ranges, 'x', 'eth0', '10.0.0.2'), ['10.0.0.2'])
      assert.deepEqual((await alloc.releaseAll()).length, 3)
    })

    it('a reserved address outside the ranges now is freed when the reservation is taken', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await ipsOf(alloc, ranges, 'a') // .2
      await alloc.release('a', 'eth0', { reserveAs: 'k' })
      const narrower = parseRangeSets([{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.100' }])
      assert.deepEqual((await alloc.allocate({ containerId: 'b', ifname: 'eth0', reservation: 'k' }, narrower)).map((a) => [a.ip, a.reserved]), [['10.0.0.100', undefined]])
      assert.deepEqual(await owners(alloc), ['b/eth0=10.0.0.100'])
    })

    it('validates the key', async () => {
      const { alloc, ranges } = setup({ subnet: '10.0.0.0/24' })
      await assert.rejects(alloc.allocate({ containerId: 'a', ifname: 'eth0', reservation: '' }, ranges), { name: 'InvalidArgumentError', message: /^reservation: / })
      await assert.rejects(alloc.release('a', 'eth0', { reserveAs: 'a\nb' }), { name: 'InvalidArgumentError', message: /^reserveAs: .*control characters/ })
      await assert.rejects(alloc.release('a', 'eth0', { reserveAs: 'k'.repeat(513) }), /at most 512/)
    })
  })
})
