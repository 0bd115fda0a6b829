/** The input checks split out of bridge/network.ts: port mappings and pod routes. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { checkMappingsFit, mappingTargets, normalizePortMapping, parsePortMapping, portClaimFile, validatePortMapping } from '../../../src/bridge/port-mapping.js'
import { podRoutes, validatePodRoute } from '../../../src/bridge/routes.js'
import type { NetworkConfig } from '../../../src/bridge/types.js'

const config = (subnets: Array<[string, string, 4 | 6]>, internal = false): NetworkConfig => ({
  name: 'web', bridge: 'pn-web', bridgeMac: '02:00:00:00:00:01', mtu: 1500, nat: !internal, internal, createdBridge: true,
  hostNetns: null, createdAt: '', rules: [], subnets: subnets.map(([subnet, gateway, family]) => ({ subnet, gateway, family })),
})
const v4 = config([['10.88.0.0/24', '10.88.0.1', 4]])
const dual = config([['10.88.0.0/24', '10.88.0.1', 4], ['fd88::/64', 'fd88::1', 6]])
const addrs = [
  { address: '10.88.0.2/24', ip: '10.88.0.2', prefix: 24, gateway: '10.88.0.1', family: 4 as const, subnet: '10.88.0.0/24', rangeSetIndex: 0 },
  { address: 'fd88::2/64', ip: 'fd88::2', prefix: 64, gateway: 'fd88::1', family: 6 as const, subnet: 'fd88::/64', rangeSetIndex: 1 },
]

describe('bridge/port-mapping', () => {
  it('parses [HOSTIP:]HOSTPORT:PORT[/tcp|udp], IPv6 host addresses in brackets', () => {
    assert.deepEqual(parsePortMapping('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' })
    assert.deepEqual(parsePortMapping('127.0.0.1:5353:53/udp'), { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' })
    assert.deepEqual(parsePortMapping('[fd00::1]:8443:443'), { hostIp: 'fd00::1', hostPort: 8443, containerPort: 443, protocol: 'tcp' })
  })

  it('takes TCP and UDP as Kubernetes manifests spell them (-p 9090:80/TCP); mixed case is refused', () => {
    assert.deepEqual(parsePortMapping('9090:80/TCP'), { hostPort: 9090, containerPort: 80, protocol: 'tcp' })
    assert.deepEqual(parsePortMapping('5353:53/UDP'), { hostPort: 5353, containerPort: 53, protocol: 'udp' })
    assert.throws(() => parsePortMapping('9090:80/Tcp'), /'9090:80\/Tcp' is not \[HOSTIP:\]HOSTPORT:PORT\[\/tcp\|udp\]/)
  })

  it('takes a host address of 0.0.0.0 or :: as every address (as Kubernetes and Docker write it)', () => {
    assert.deepEqual(parsePortMapping('0.0.0.0:8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' })
    assert.deepEqual(parsePortMapping('[::]:8080:80/udp'), { hostPort: 8080, containerPort: 80, protocol: 'udp' })
    assert.deepEqual(normalizePortMapping({ hostIp: '0.0.0.0', hostPort: 1, containerPort: 2, protocol: 'tcp' }), { hostPort: 1, containerPort: 2, protocol: 'tcp' })
    assert.deepEqual(normalizePortMapping({ hostIp: '10.0.0.1', hostPort: 1, containerPort: 2, protocol: 'tcp' }).hostIp, '10.0.0.1')
  })

  it('refuses what is not a mapping, naming the problem', () => {
    for (const [text, re] of [['80', /is not \[HOSTIP:\]HOSTPORT:PORT/], ['0:80', /host port 0 is out of range/], ['8080:70000', /container port 70000/],
      ['8080:80/sctp', /is not \[HOSTIP/], ['10.0.0.300:80:80', /not an IP address/]] as const) {
      assert.throws(() => parsePortMapping(text), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message), text)
    }
    assert.throws(() => validatePortMapping({ hostPort: 1, containerPort: 1, protocol: 'icmp' as never }), /is not tcp or udp/)
  })

  it('a network fits its mappings: internal publishes nothing, the host address needs its family, no port twice', () => {
    assert.doesNotThrow(() => checkMappingsFit(dual, [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }, { hostPort: 80, containerPort: 80, protocol: 'udp' }]))
    assert.throws(() => checkMappingsFit(config([['10.88.0.0/24', '10.88.0.1', 4]], true), [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }]), /is internal/)
    assert.throws(() => checkMappingsFit(v4, [{ hostIp: 'fd09::1', hostPort: 80, containerPort: 80, protocol: 'tcp' }]), /has no IPv6 subnet/)
    assert.throws(() => checkMappingsFit(v4, [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }, { hostPort: 80, containerPort: 81, protocol: 'tcp' }]), /given twice/)
  })

  it('a mapping forwards to the pod address of its host address\'s family, or to every family', () => {
    assert.deepEqual(mappingTargets({ hostPort: 1, containerPort: 1, protocol: 'tcp' }, addrs).map((a) => a.ip), ['10.88.0.2', 'fd88::2'])
    assert.deepEqual(mappingTargets({ hostIp: '10.209.0.1', hostPort: 1, containerPort: 1, protocol: 'tcp' }, addrs).map((a) => a.ip), ['10.88.0.2'])
    assert.equal(portClaimFile({ hostPort: 8080, containerPort: 80, protocol: 'tcp' }), 'tcp-8080/*')
    assert.equal(portClaimFile({ hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' }), 'udp-53/127.0.0.1')
  })
})

describe('bridge/routes', () => {
  it('default: one default route per address family via its gateway; requested ones get the family\'s gateway', () => {
    assert.deepEqual(podRoutes(undefined, addrs), [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0', gw: 'fd88::1' }])
    assert.deepEqual(podRoutes([{ dst: '10.0.0.0/8' }, { dst: '192.168.0.0/16', gw: '10.88.0.254' }], addrs),
      [{ dst: '10.0.0.0/8', gw: '10.88.0.1' }, { dst: '192.168.0.0/16', gw: '10.88.0.254' }])
    assert.deepEqual(podRoutes([], addrs), [])
  })

  it('refuses a destination of a family the network lacks, or a gateway of the other family', () => {
    assert.doesNotThrow(() => validatePodRoute(v4, { dst: '10.0.0.0/8', gw: '10.88.0.1' }))
    assert.throws(() => validatePodRoute(v4, { dst: 'fd00::/8' }), /has no IPv6 subnet/)
    assert.throws(() => validatePodRoute(dual, { dst: '10.0.0.0/8', gw: 'fd88::1' }), /not of the family/)
    assert.throws(() => validatePodRoute(v4, { dst: '10.0.0.1/8' }), /host bits set/)
  })
})
