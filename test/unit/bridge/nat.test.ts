/** The rules and map elements podnet writes (bridge/nat.ts): pure, so checked without a kernel. */
import assert from 'node:assert/strict'
import {
  PORT_MAPS, TABLE, describePortElement, parseOwnerTag, networkRules, portMapElement, portMapRules, portMapSets, portMapTypesOf, sharedRules,
} from '../../../src/bridge/nat.js'

const net = { owner: '1a2b3c4d', name: 'web', bridge: 'pn-web', subnets: [{ subnet: '10.88.0.0/24', family: 4 as const }, { subnet: 'fd88::/64', family: 6 as const }], nat: true, internal: false }

describe('bridge/nat (rule builders)', () => {
  it('every rule is in table inet podnet and names its owner', () => {
    for (const r of [...sharedRules(), ...networkRules(net), ...portMapRules()]) {
      assert.equal(r.family, TABLE.family)
      assert.equal(r.table, TABLE.table)
      assert.match(r.comment ?? '', /^podnet (shared:|o=1a2b3c4d net=web) /)
    }
  })

  it('a NAT network: masquerade and hairpin per subnet, localhost for IPv4, isolation; no internal drops', () => {
    assert.deepEqual(networkRules(net).map((r) => `${r.chain}:${r.comment}`), [
      'postrouting:podnet o=1a2b3c4d net=web masquerade', 'postrouting:podnet o=1a2b3c4d net=web hairpin', 'postrouting:podnet o=1a2b3c4d net=web localhost',
      'postrouting:podnet o=1a2b3c4d net=web masquerade', 'postrouting:podnet o=1a2b3c4d net=web hairpin',
      'forward:podnet o=1a2b3c4d net=web isolation',
    ])
  })

  it('no NAT: no masquerade; internal: no masquerade and both internal drops', () => {
    const noNat = networkRules({ ...net, nat: false }).map((r) => r.comment)
    assert.ok(!noNat.includes('podnet o=1a2b3c4d net=web masquerade'))
    const internal = networkRules({ ...net, internal: true }).map((r) => r.comment)
    assert.ok(!internal.includes('podnet o=1a2b3c4d net=web masquerade'))
    assert.ok(internal.includes('podnet o=1a2b3c4d net=web internal out') && internal.includes('podnet o=1a2b3c4d net=web internal in'))
  })

  it('four port maps (per family, on one host address or on all), each element counted', () => {
    const sets = portMapSets()
    assert.deepEqual(sets.map((s) => s.name).sort(), ['hostip-ports4', 'hostip-ports6', 'hostports4', 'hostports6'])
    assert.deepEqual(sets.find((s) => s.name === 'hostip-ports4')?.keyType, ['ipv4_addr', 'inet_proto', 'inet_service'])
    assert.deepEqual(sets.find((s) => s.name === 'hostports6')?.dataType, ['ipv6_addr', 'inet_service'])
    for (const s of sets) assert.deepEqual(s.exprs, [{ kind: 'counter' }])
  })

  it('an element per mapping and pod address: key, data, owner comment; its map says its types', () => {
    const any = portMapElement('1a2b3c4d', 'web', 'pod1', 'eth0', { hostPort: 8080, containerPort: 80, protocol: 'tcp' }, '10.88.0.2', 4)
    assert.deepEqual(any, { map: PORT_MAPS[4].any, family: 4, key: [6, 8080], data: ['10.88.0.2', 80], comment: 'podnet o=1a2b3c4d net=web id=pod1 if=eth0' })
    const one = portMapElement('1a2b3c4d', 'web', 'pod1', 'eth0', { hostIp: 'fd09::1', hostPort: 53, containerPort: 5353, protocol: 'udp' }, 'fd88::2', 6)
    assert.deepEqual([one.map, one.key, one.data], [PORT_MAPS[6].hostIp, ['fd09::1', 17, 53], ['fd88::2', 5353]])
    assert.equal(portMapTypesOf('hostports4')?.family, 4)
    assert.equal(portMapTypesOf('someone-elses-map'), undefined)
    assert.equal(describePortElement(one), 'udp [fd09::1]:53 -> [fd88::2]:5353')
    assert.equal(describePortElement({ key: [6, 8080] }), 'tcp *:8080')
  })

  it('the owner is read back from a comment; shared rules and foreign comments have none', () => {
    assert.deepEqual(parseOwnerTag('podnet o=1a2b3c4d net=web id=pod1 if=eth0'), { owner: '1a2b3c4d', network: 'web' })
    assert.equal(parseOwnerTag('podnet shared: replies'), undefined)
    assert.equal(parseOwnerTag('podnet net=web masquerade'), undefined)
    assert.equal(parseOwnerTag(undefined), undefined)
  })

  it('a long owner is cut to nft\'s 128-byte comment limit', () => {
    const e = portMapElement('1a2b3c4d', 'web', 'x'.repeat(200), 'eth0', { hostPort: 1, containerPort: 1, protocol: 'tcp' }, '10.88.0.2', 4)
    assert.equal(Buffer.byteLength(e.comment), 128)
  })
})
