import assert from 'node:assert/strict'
import fc from 'fast-check'
import { InvalidArgumentError } from '../../../src/errors.js'
import {
  cidrContains, formatIp, overlaps, parseCidr, parseIp, reservedRangeOverlap, tryParseIp,
} from '../../../src/net/ip.js'

describe('net/ip', () => {
  describe('parseIp / formatIp', () => {
    it('parses IPv4 and formats it back', () => {
      const ip = parseIp('10.88.0.5')
      assert.equal(ip.family, 4)
      assert.equal(ip.value, (10n << 24n) | (88n << 16n) | 5n)
      assert.equal(formatIp(4, ip.value), '10.88.0.5')
      assert.equal(formatIp(4, 0n), '0.0.0.0')
      assert.equal(formatIp(4, 0xffffffffn), '255.255.255.255')
    })

    it('canonicalises IPv6 (RFC 5952: lower case, longest zero run compressed)', () => {
      for (const [input, canonical] of [
        ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
        ['fd00::0001', 'fd00::1'],
        ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
        ['::', '::'],
        ['::1', '::1'],
      ] as const) {
        const ip = parseIp(input)
        assert.equal(ip.family, 6)
        assert.equal(formatIp(6, ip.value), canonical, input)
      }
    })

    it('refuses what is not an address, with the field named', () => {
      for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', ' 10.0.0.1', '10.0.0.1/24', 'fe80::1%eth0', 'fd00::/64', 'fd00:::1', 'x']) {
        assert.equal(tryParseIp(bad), undefined, bad)
        assert.throws(() => parseIp(bad, 'ip'), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'ip' && e.message.includes('is not an IP address'))
      }
    })

    it('round-trips any address of either family (property)', () => {
      fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (v) => {
        assert.deepEqual(parseIp(formatIp(4, v)), { family: 4, value: v })
      }))
      fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        assert.deepEqual(parseIp(formatIp(6, v)), { family: 6, value: v })
      }))
    })
  })

  describe('parseCidr', () => {
    it('parses IPv4 and IPv6 prefixes into canonical text', () => {
      assert.deepEqual(parseCidr('10.88.0.0/16'), { family: 4, network: 10n << 24n | 88n << 16n, prefix: 16, text: '10.88.0.0/16' })
      assert.equal(parseCidr('FD00:0::/64').text, 'fd00::/64')
      assert.equal(parseCidr('0.0.0.0/0').prefix, 0)
      assert.equal(parseCidr('::/0').text, '::/0')
    })

    it('says what the network address would be when host bits are set', () => {
      assert.throws(() => parseCidr('10.88.0.1/16'), { message: "subnet: '10.88.0.1/16' has host bits set: its network address is 10.88.0.0/16" })
      assert.throws(() => parseCidr('fd00::1/64', 'ranges[0].subnet'), { message: "ranges[0].subnet: 'fd00::1/64' has host bits set: its network address is fd00::/64" })
      assert.equal(parseCidr('10.88.0.1/16', 'x', { allowHostBits: true }).text, '10.88.0.0/16')
    })

    it('refuses malformed CIDRs with a reason', () => {
      const cases: Array<[string, RegExp]> = [
        ['10.0.0.0', /expected address\/prefix-length/],
        ['10.0.0.0/', /prefix length must be a number from 0 to 32 for IPv4/],
        ['10.0.0.0/33', /from 0 to 32 for IPv4/],
        ['10.0.0.0/08', /from 0 to 32/],
        ['10.0.0.0/-1', /from 0 to 32/],
        ['fd00::/129', /from 0 to 128 for IPv6/],
        ['10.0.0/8', /'10\.0\.0' is not an IP address/],
        ['fe80::%eth0/64', /is not an IP address/],
      ]
      for (const [text, re] of cases) {
        assert.throws(() => parseCidr(text), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message), text)
      }
    })

    it('cidrContains respects family and prefix', () => {
      const net = parseCidr('10.0.0.0/30')
      assert.ok(cidrContains(net, parseIp('10.0.0.3')))
      assert.ok(!cidrContains(net, parseIp('10.0.0.4')))
      assert.ok(!cidrContains(net, parseIp('::a00:1')))
    })
  })

  describe('overlaps', () => {
    it('detects containment both ways and ignores other families', () => {
      assert.equal(overlaps('10.0.0.0/8', '10.1.0.0/16'), true)
      assert.equal(overlaps('10.1.0.0/16', '10.0.0.0/8'), true)
      assert.equal(overlaps('10.1.0.0/16', '10.1.0.0/16'), true)
      assert.equal(overlaps('10.1.0.0/16', '10.2.0.0/16'), false)
      assert.equal(overlaps('10.0.0.0/30', '10.0.0.4/30'), false)
      assert.equal(overlaps('fd00::/64', 'fd00::8000:0:0:0/65'), true)
      assert.equal(overlaps('fd00::/64', 'fd00:0:0:1::/64'), false)
      assert.equal(overlaps('0.0.0.0/0', '::/0'), false)
      assert.equal(overlaps(parseCidr('0.0.0.0/0'), '192.168.1.0/24'), true)
    })

    it('rejects invalid CIDR strings', () => {
      assert.throws(() => overlaps('10.0.0.1/8', '10.0.0.0/8'), InvalidArgumentError)
    })

    it('agrees with a brute-force comparison of address sets (property)', () => {
      // Small prefixes inside a /24 so both sides can be enumerated.
      const arb = fc.record({ host: fc.integer({ min: 0, max: 255 }), prefix: fc.integer({ min: 24, max: 32 }) })
      fc.assert(fc.property(arb, arb, (a, b) => {
        const ca = parseCidr(`10.0.0.${a.host}/${a.prefix}`, 'a', { allowHostBits: true })
        const cb = parseCidr(`10.0.0.${b.host}/${b.prefix}`, 'b', { allowHostBits: true })
        let shared = false
        for (let i = 0; i < 256 && !shared; i++) {
          const ip = parseIp(`10.0.0.${i}`)
          shared = cidrContains(ca, ip) && cidrContains(cb, ip)
        }
        assert.equal(overlaps(ca, cb), shared)
        assert.equal(overlaps(cb, ca), shared)
      }))
    })
  })

  describe('reservedRangeOverlap', () => {
    it('names the range a subnet overlaps that pods cannot use, and passes private ranges', () => {
      for (const [cidr, re] of [['127.0.0.0/16', /^127\.0\.0\.0\/8 \(loopback\)$/], ['0.0.0.0/0', /^0\.0\.0\.0\/8/], ['224.1.0.0/16', /multicast/],
        ['255.255.255.0/24', /class E/], ['169.254.0.0/24', /link-local/], ['fe80::/64', /link-local/], ['::ffff:0:0/96', /IPv4-mapped/],
        ['::/0', /unspecified and loopback/], ['ff02::/16', /multicast/]] as const) {
        assert.match(reservedRangeOverlap(cidr) ?? '', re, cidr)
      }
      for (const ok of ['10.88.0.0/24', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fd00::/8', '2001:db8::/64']) assert.equal(reservedRangeOverlap(ok), undefined, ok)
    })
  })
})
