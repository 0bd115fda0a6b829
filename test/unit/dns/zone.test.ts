/** The zone of a network: names from attachment records, the network as search domain, reverse names of its subnets. */
import assert from 'node:assert/strict'
import { Zone, ipToReverseName, reverseNameToIp } from '../../../src/dns/index.js'
import { formatIp } from '../../../src/net/index.js'

describe('dns zone', () => {
  const zone = new Zone('Net1', ['10.88.0.0/24', 'fd88::/64'], [
    { names: ['web', 'www', 'web-0.svc'], addresses: ['10.88.0.2/24', 'fd88::2/64'] },
    { names: ['db'], addresses: ['10.88.0.3/24'] },
    { names: ['worker'], addresses: ['10.88.0.4/24'] },
    { names: ['worker2', 'worker'], addresses: ['10.88.0.5/24'] },
    { names: [], addresses: ['10.88.0.9/24'] },
  ])

  it('answers a name bare and under the network, in any case, with or without the final dot', () => {
    for (const q of ['web', 'web.net1', 'WEB.Net1.', 'www', 'web-0.svc.net1']) {
      assert.deepEqual(zone.lookup(q, 'A'), { kind: 'answer', type: 'A', data: ['10.88.0.2'] }, q)
    }
    assert.deepEqual(zone.lookup('web', 'AAAA'), { kind: 'answer', type: 'AAAA', data: ['fd88::2'] })
  })

  it('a name shared by two records answers with both addresses', () => {
    assert.deepEqual(zone.lookup('worker', 'A'), { kind: 'answer', type: 'A', data: ['10.88.0.4', '10.88.0.5'] })
  })

  it('NODATA for a type the name has no address of, NXDOMAIN for unknown names of the network, forward for the rest', () => {
    assert.deepEqual(zone.lookup('db', 'AAAA'), { kind: 'nodata' })
    assert.deepEqual(zone.lookup('db', 'MX'), { kind: 'nodata' })
    assert.deepEqual(zone.lookup('net1', 'A'), { kind: 'nodata' })
    assert.deepEqual(zone.lookup('nope.net1', 'A'), { kind: 'nxdomain' })
    assert.deepEqual(zone.lookup('nope', 'A'), { kind: 'forward' })
    assert.deepEqual(zone.lookup('example.com', 'A'), { kind: 'forward' })
    assert.deepEqual(zone.lookup('web.net2', 'A'), { kind: 'forward' })
  })

  it('reverse names: the record\'s own name for its addresses, NXDOMAIN inside the subnets, forward outside', () => {
    assert.deepEqual(zone.lookup('2.0.88.10.in-addr.arpa', 'PTR'), { kind: 'answer', type: 'PTR', data: ['web.net1'] })
    assert.deepEqual(zone.lookup(ipToReverseName('fd88::2'), 'PTR'), { kind: 'answer', type: 'PTR', data: ['web.net1'] })
    assert.deepEqual(zone.lookup('5.0.88.10.in-addr.arpa.', 'PTR'), { kind: 'answer', type: 'PTR', data: ['worker2.net1'] })
    assert.deepEqual(zone.lookup('9.0.88.10.in-addr.arpa', 'PTR'), { kind: 'nxdomain' }, 'an address without a name')
    assert.deepEqual(zone.lookup('77.0.88.10.in-addr.arpa', 'PTR'), { kind: 'nxdomain' })
    assert.deepEqual(zone.lookup('1.1.1.1.in-addr.arpa', 'PTR'), { kind: 'forward' })
    assert.deepEqual(zone.lookup('0.88.10.in-addr.arpa', 'PTR'), { kind: 'forward' }, 'a partial name is a zone cut, not an address')
  })

  it('reverse names round-trip', () => {
    for (const ip of ['10.88.0.2', '255.0.1.0', 'fd88::2', '2001:db8::abcd:1']) {
      const back = reverseNameToIp(ipToReverseName(ip))!
      assert.equal(formatIp(back.family, back.value), ip)
    }
    assert.equal(ipToReverseName('10.88.0.2'), '2.0.88.10.in-addr.arpa')
    assert.equal(reverseNameToIp('256.0.88.10.in-addr.arpa'), undefined)
    assert.equal(reverseNameToIp('01.0.88.10.in-addr.arpa'), undefined)
    assert.equal(reverseNameToIp('x.ip6.arpa'), undefined)
  })

  it('entries list every name with its addresses', () => {
    assert.deepEqual(zone.entries().map((e) => e.name), ['db', 'web', 'web-0.svc', 'worker', 'worker2', 'www'])
    assert.equal(zone.size, 6)
  })
})
