/** ADD results per spec version, and prevResult read and passed on. */
import assert from 'node:assert/strict'
import { CniRequestError, formatResult, parsePrevResult, SUPPORTED_CNI_VERSIONS, ipsHaveVersion, interfacesHaveMtu, type ResultParts } from '../../../src/cni/index.js'
import { mergeParts } from '../../../src/cni/result.js'

const parts: ResultParts = {
  interfaces: [
    { name: 'cni0', mac: '02:00:00:00:00:01', mtu: 1500 },
    { name: 'pn0123456789', mac: '02:00:00:00:00:02', mtu: 1500 },
    { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500, sandbox: '/run/netns/p1' },
  ],
  ips: [{ address: '10.88.0.2/16', gateway: '10.88.0.1', interface: 2 }, { address: 'fd88::2/64', gateway: 'fd88::1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
}

describe('cni/result', () => {
  for (const ver of SUPPORTED_CNI_VERSIONS) {
    it(`[${ver}] shapes the result as the spec version says`, () => {
      const r = formatResult(ver, parts)
      assert.equal(r.cniVersion, ver)
      assert.deepEqual(r.ips!.map((ip) => ip.version), ipsHaveVersion(ver) ? ['4', '6'] : [undefined, undefined])
      assert.deepEqual(r.interfaces!.map((i) => i.mtu), interfacesHaveMtu(ver) ? [1500, 1500, 1500] : [undefined, undefined, undefined])
      assert.deepEqual(r.interfaces![2], { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/p1', ...(interfacesHaveMtu(ver) && { mtu: 1500 }) })
      assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }])
      assert.deepEqual(r.dns, {})
      // exactly the keys of the spec, in JSON
      const json = JSON.parse(JSON.stringify(r))
      assert.deepEqual(Object.keys(json), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'])
      assert.deepEqual(Object.keys(json.ips[0]), ipsHaveVersion(ver) ? ['version', 'address', 'gateway', 'interface'] : ['address', 'gateway', 'interface'])
    })
  }

  it('reads a prevResult of any version back to the same parts', () => {
    for (const ver of SUPPORTED_CNI_VERSIONS) {
      const back = parsePrevResult(JSON.parse(JSON.stringify(formatResult(ver, parts))))
      assert.deepEqual(back.ips, parts.ips)
      assert.deepEqual(back.interfaces.map((i) => i.name), ['cni0', 'pn0123456789', 'eth0'])
    }
  })

  it('appends to a previous plugin\'s result, shifting interface indexes', () => {
    const prev = parsePrevResult({ cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: '/run/netns/p1' }], ips: [{ address: '192.168.5.2/24', interface: 0 }], routes: [{ dst: '192.168.0.0/16' }], dns: { nameservers: ['1.1.1.1'] } })
    const m = mergeParts(prev, parts)
    assert.deepEqual(m.interfaces.map((i) => i.name), ['net1', 'cni0', 'pn0123456789', 'eth0'])
    assert.deepEqual(m.ips.map((i) => i.interface), [0, 3, 3])
    assert.deepEqual(m.routes, [{ dst: '192.168.0.0/16' }, { dst: '0.0.0.0/0' }])
    assert.deepEqual(m.dns, { nameservers: ['1.1.1.1'] }, 'the previous DNS stays when this plugin has none')
  })

  it('refuses a malformed prevResult as invalid configuration', () => {
    for (const bad of [[], 'x', { ips: 'no' }, { interfaces: [{ mac: 'x' }] }, { ips: [{ gateway: '1.1.1.1' }] }, { routes: [{}] }]) {
      assert.throws(() => parsePrevResult(bad), (e: unknown) => e instanceof CniRequestError && e.kind === 'config')
    }
  })
})
