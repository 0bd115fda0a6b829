import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../../src/errors.js'
import { type IpRange, parseRange, parseRangeSet, parseRangeSets } from '../../../../src/bridge/ipam/index.js'
import { formatIp, parseIp } from '../../../../src/net/ip.js'

/** Every allocatable address of a (small) range, as text. */
function allocatable(r: IpRange): string[] {
  const out: string[] = []
  for (let v = r.start; v <= r.end; v++) if (r.isAllocatable(v)) out.push(formatIp(r.family, v))
  return out
}

function invalid(fn: () => unknown, field: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`)
    assert.equal(e.field, field)
    assert.match(e.message, re)
    return true
  })
}

describe('bridge/ipam/range-set', () => {
  describe('IPv4 defaults and exclusions', () => {
    it('a /30 has exactly one allocatable address once the gateway takes one', () => {
      const r = parseRange({ subnet: '10.0.0.0/30' })
      assert.equal(r.gatewayText, '10.0.0.1')
      assert.equal(r.size, 1n)
      assert.deepEqual(allocatable(r), ['10.0.0.2'])
      assert.equal(r.toString(), '10.0.0.2-10.0.0.2')
    })

    it('a /29 has five: network, broadcast and gateway excluded', () => {
      const r = parseRange({ subnet: '192.168.7.8/29' })
      assert.equal(r.size, 5n)
      assert.deepEqual(allocatable(r), ['192.168.7.10', '192.168.7.11', '192.168.7.12', '192.168.7.13', '192.168.7.14'])
      assert.ok(!r.isAllocatable(parseIp('192.168.7.8').value), 'network')
      assert.ok(!r.isAllocatable(parseIp('192.168.7.15').value), 'broadcast')
      assert.ok(!r.isAllocatable(parseIp('192.168.7.9').value), 'gateway')
    })

    it('a gateway in the middle is skipped, the ends stay', () => {
      const r = parseRange({ subnet: '10.0.0.0/29', gateway: '10.0.0.4' })
      assert.deepEqual(allocatable(r), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5', '10.0.0.6'])
      assert.equal(r.toString(), '10.0.0.1-10.0.0.6')
      const top = parseRange({ subnet: '10.0.0.0/29', gateway: '10.0.0.6' })
      assert.equal(top.toString(), '10.0.0.1-10.0.0.5')
    })

    it('rangeStart/rangeEnd narrow the window; a gateway outside it costs nothing', () => {
      const r = parseRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.109' })
      assert.equal(r.size, 10n)
      assert.equal(r.gatewayText, '10.0.0.1')
      assert.equal(r.toString(), '10.0.0.100-10.0.0.109')
    })

    it('a /16 has 65533 allocatable addresses and is never enumerated', () => {
      const r = parseRange({ subnet: '10.88.0.0/16' })
      assert.equal(r.size, 65533n)
      assert.equal(r.toString(), '10.88.0.2-10.88.255.254')
    })
  })

  describe('IPv6 defaults and exclusions', () => {
    it('excludes the subnet-router anycast (::0) and the gateway, keeps the last address', () => {
      const r = parseRange({ subnet: 'fd00::/126' })
      assert.equal(r.gatewayText, 'fd00::1')
      assert.deepEqual(allocatable(r), ['fd00::2', 'fd00::3'])
      assert.ok(!r.isAllocatable(parseIp('fd00::').value))
    })

    it('handles a /64 by arithmetic', () => {
      const r = parseRange({ subnet: 'fd00:1:2:3::/64' })
      assert.equal(r.size, (1n << 64n) - 2n)
      assert.equal(r.toString(), 'fd00:1:2:3::2-fd00:1:2:3:ffff:ffff:ffff:ffff')
    })
  })

  describe('validation messages', () => {
    it('states the minimum-size rule', () => {
      invalid(() => parseRange({ subnet: '10.0.0.0/31' }), 'subnet', /10\.0\.0\.0\/31 is too small: .*network address, a broadcast address, a gateway and at least one address.*at most \/30/)
      invalid(() => parseRange({ subnet: '10.0.0.1/32' }), 'subnet', /10\.0\.0\.1\/32 is too small/)
      invalid(() => parseRange({ subnet: '10.0.0.0/32' }), 'subnet', /too small.*at most \/30/)
      invalid(() => parseRange({ subnet: 'fd00::/127' }), 'subnet', /fd00::\/127 is too small: .*subnet-router anycast.*at most \/126/)
      invalid(() => parseRange({ subnet: 'fd00::/128' }), 'subnet', /too small.*at most \/126/)
    })

    it('refuses a gateway outside the subnet, of the other family, or on a reserved address', () => {
      invalid(() => parseRange({ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), 'gateway', /10\.0\.1\.1 is outside subnet 10\.0\.0\.0\/24 \(usable addresses 10\.0\.0\.1-10\.0\.0\.254\)/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', gateway: 'fd00::1' }), 'gateway', /is IPv6 but subnet 10\.0\.0\.0\/24 is IPv4/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', gateway: '10.0.0.0' }), 'gateway', /is the network address/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', gateway: '10.0.0.255' }), 'gateway', /is the broadcast address/)
      invalid(() => parseRange({ subnet: 'fd00::/64', gateway: 'fd00::' }), 'gateway', /subnet-router anycast/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', gateway: 'nope' }), 'gateway', /is not an IP address/)
    })

    it('refuses a range outside the subnet or upside down', () => {
      invalid(() => parseRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }, 'ranges[0][0]'), 'ranges[0][0].rangeStart', /outside subnet 10\.0\.0\.0\/24/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.255' }), 'rangeEnd', /broadcast address of 10\.0\.0\.0\/24/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.0' }), 'rangeStart', /network address/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.9', rangeEnd: '10.0.0.3' }), 'rangeStart', /10\.0\.0\.9 is after rangeEnd 10\.0\.0\.3/)
      invalid(() => parseRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1' }), 'range', /holds only the gateway \(10\.0\.0\.1\)/)
    })
  })

  describe('range sets', () => {
    it('accepts several ranges of one family and finds the range of an address', () => {
      const set = parseRangeSet([{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.19' }, { subnet: '10.0.1.0/24' }])
      assert.equal(set.family, 4)
      assert.equal(set.size, 10n + 253n)
      assert.equal(set.rangeFor(parseIp('10.0.1.7'))?.subnet.text, '10.0.1.0/24')
      assert.equal(set.rangeFor(parseIp('10.0.0.20')), undefined)
      assert.equal(set.subnetFor(parseIp('10.0.0.20'))?.subnet.text, '10.0.0.0/24')
    })

    it('refuses mixed families and overlapping windows', () => {
      invalid(() => parseRangeSet([{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]), 'ranges[1]', /a range set holds one family/)
      invalid(() => parseRangeSet([{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.50' }, { subnet: '10.0.0.0/24', rangeStart: '10.0.0.50' }]), 'ranges[1]', /overlaps ranges\[0\]/)
      invalid(() => parseRangeSet([]), 'ranges', /at least one range/)
    })

    it('parseRangeSets: dual stack is two sets; sets must not overlap each other', () => {
      const sets = parseRangeSets([{ subnet: '10.0.0.0/24' }, [{ subnet: 'fd00::/64' }]])
      assert.deepEqual(sets.map((s) => s.family), [4, 6])
      invalid(() => parseRangeSets([{ subnet: '10.0.0.0/16' }, { subnet: '10.0.3.0/24' }]), 'ranges[1]', /10\.0\.3\.0\/24 range .* overlaps range set ranges\[0\]/)
      invalid(() => parseRangeSets([]), 'ranges', /at least one range set/)
      invalid(() => parseRangeSets([[{ subnet: '10.0.0.0/31' }]]), 'ranges[0][0].subnet', /too small/)
    })
  })
})
