/** Network configuration: reference bridge / host-local / portmap fields onto podnet networks. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CniRequestError, parseNetConf, type PodnetNetConf } from '../../../src/cni/index.js'
import { parseLocation } from '../../../src/cni/config.js'
import { podRoutesFor, resultRoutes } from '../../../src/cni/config.js'
import { goKey } from '../../../src/cni/go-json.js'

/**
 * containerd 1.6.20's ADD stdin for a sandbox with port_mappings [{host_port: 18080, container_port: 80}]
 * (go-cni, libcni 1.1: the plugin entry re-marshalled by Go, keys sorted), as test/kernel/cni/containerd.test.ts logged it.
 */
const CONTAINERD_16_ADD = '{"bridge":"pn-podnet-k8s","capabilities":{"ips":true,"mac":true,"portMappings":true},"cniVersion":"1.0.0","hairpinMode":true,"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.213.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"},"isGateway":true,"name":"podnet-k8s","podnet":{"stateDir":"/tmp/podnet-cri-teMPrw/state"},"runtimeConfig":{"portMappings":[{"HostPort":18080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]},"type":"podnet-cni"}'

const base = { cniVersion: '1.0.0', name: 'net1', type: 'podnet-cni', ipam: { type: 'host-local', subnet: '10.88.0.0/16' } }
const parse = (extra: Record<string, unknown>, args: Record<string, string> = {}): PodnetNetConf => parseNetConf({ ...base, ...extra }, args)

function rejects(extra: Record<string, unknown>, kind: CniRequestError['kind'], msg: RegExp): void {
  assert.throws(() => parse(extra), (e: unknown) => {
    assert.ok(e instanceof CniRequestError, String(e))
    assert.equal(e.kind, kind)
    assert.match(e.message, msg)
    return true
  })
}

describe('cni/config', () => {
  it('takes the bandwidth capability (runtimeConfig.bandwidth) or the plugin\'s own fields; 0 means no limit', () => {
    assert.equal(parse({}).bandwidth, undefined)
    assert.deepEqual(parse({ runtimeConfig: { bandwidth: { ingressRate: 10e6, ingressBurst: 1e6, egressRate: 0, egressBurst: 0 } } }).bandwidth, { ingress: { rateBitsPerSec: 10e6, burstBits: 1e6 } })
    assert.deepEqual(parse({ egressRate: 5e6, egressBurst: 2e6, runtimeConfig: { bandwidth: { ingressRate: 10e6, ingressBurst: 1e6 } } }).bandwidth, { egress: { rateBitsPerSec: 5e6, burstBits: 2e6 } })
    assert.equal(parse({ runtimeConfig: { bandwidth: {} } }).bandwidth, undefined)
  })

  it('takes the reference defaults: bridge cni0, no masquerade, no hairpin, no default route', () => {
    const c = parse({})
    assert.deepEqual(c.network, { name: 'net1', subnets: ['10.88.0.0/16'], gateways: [], bridge: 'cni0', mtu: 1500, nat: false, internal: false })
    assert.equal(c.hairpin, false)
    assert.deepEqual(c.routes, [])
    assert.equal(c.defaultGateway, false)
    assert.equal(c.stateDir, '/var/lib/podnet/cni')
    assert.equal(c.runDir, '/run/podnet/cni')
  })

  it('maps the bridge plugin fields and host-local ranges (podman\'s conflist shape)', () => {
    const c = parse({
      bridge: 'cni-podman0', isGateway: true, ipMasq: true, hairpinMode: true, mtu: 1400, ipMasqBackend: 'nftables',
      ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }], [{ subnet: 'fd88::/64' }]] },
    })
    assert.deepEqual(c.network, { name: 'net1', subnets: ['10.88.0.0/16', 'fd88::/64'], gateways: ['10.88.0.1'], bridge: 'cni-podman0', mtu: 1400, nat: true, internal: false })
    assert.equal(c.hairpin, true)
    assert.deepEqual(c.routes, [{ dst: '0.0.0.0/0' }])
  })

  it('isDefaultGateway puts a default route via each gateway first, replacing configured default routes', () => {
    const c = parse({ isDefaultGateway: true, ipam: { subnet: '10.88.0.0/16', routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.88.0.254' }] } })
    const routes = podRoutesFor(c, [{ family: 4, gateway: '10.88.0.1' }, { family: 6, gateway: 'fd88::1' }])
    assert.deepEqual(routes, [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0', gw: 'fd88::1' }, { dst: '192.168.0.0/16', gw: '10.88.0.254' }])
    assert.deepEqual(resultRoutes([{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.88.0.9' }]), [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.88.0.9' }])
  })

  it('reads the capabilities from runtimeConfig, then args.cni, then CNI_ARGS', () => {
    const c = parse({
      runtimeConfig: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }, { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '10.209.0.1' }, { hostPort: 9, containerPort: 9, hostIP: '' }],
        ips: ['10.88.0.9/16'], mac: '0A:58:0A:58:00:09',
      },
    }, { IP: '10.88.0.7', MAC: '02:00:00:00:00:07' })
    assert.deepEqual(c.portMappings, [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIp: '10.209.0.1' },
      { hostPort: 9, containerPort: 9, protocol: 'tcp' },
    ])
    assert.deepEqual(c.ips, ['10.88.0.9'])
    assert.equal(c.mac, '0a:58:0a:58:00:09')
    const fromArgs = parse({ args: { cni: { ips: ['10.88.0.8'] } } }, { IP: '10.88.0.7', MAC: '02:00:00:00:00:07' })
    assert.deepEqual(fromArgs.ips, ['10.88.0.8'])
    assert.equal(fromArgs.mac, '02:00:00:00:00:07')
    assert.deepEqual(parse({}, { IP: '10.88.0.7,fd88::7' }).ips, ['10.88.0.7', 'fd88::7'])
  })

  it('reads runtimeConfig keys as Go does: containerd 1.6 (go-cni) sends capitalised port mapping keys', () => {
    // the exact stdin containerd 1.6.20's CRI gave podnet-cni for a pod with a hostPort (captured
    // by the containerd test's call log; go-cni's PortMapping struct has no JSON tags)
    const stdin = CONTAINERD_16_ADD
    const c = parseNetConf(JSON.parse(stdin) as Record<string, unknown>)
    assert.deepEqual(c.portMappings, [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }])
    // every capability, in any case Go's decoder matches (last matching key wins)
    const any = parse({
      RuntimeConfig: {
        PortMappings: [{ hostport: 1, CONTAINERPORT: 2, PROTOCOL: 'UDP', HostIp: '10.88.0.1' }],
        IPs: ['10.88.0.9'], MAC: '0A:58:0A:58:00:09',
        Bandwidth: { IngressRate: 0, IngressBurst: 0, EgressRate: 0, EgressBurst: 0 },
      },
    })
    assert.deepEqual(any.portMappings, [{ hostPort: 1, containerPort: 2, protocol: 'udp', hostIp: '10.88.0.1' }])
    assert.deepEqual(any.ips, ['10.88.0.9'])
    assert.equal(any.mac, '0a:58:0a:58:00:09')
    assert.deepEqual(parse({ runtimeConfig: { portMappings: [{ hostPort: 1, HostPort: 7, containerPort: 2 }] } }).portMappings, [{ hostPort: 7, containerPort: 2, protocol: 'tcp' }])
    // U+212A KELVIN SIGN and U+017F LONG S fold onto k and s, as in Go's bytes.EqualFold; other letters do not
    assert.deepEqual(parse({ runtimeConfig: { portMappings: [{ ho\u017ftPort: 3, containerPort: 4 }] } }).portMappings, [{ hostPort: 3, containerPort: 4, protocol: 'tcp' }])
    assert.equal(parse({ runtimeConfig: { MA\u0421: '02:00:00:00:00:01' } }).mac, undefined, 'a Cyrillic С is not C')
    assert.equal(goKey({ 'ma\u212a': 1 }, 'mak'), 'ma\u212a')
  })

  it('takes the bandwidth capability in Go\'s key cases (go-cni sends IngressRate...), all-zero meaning no limit', () => {
    assert.equal(parse({ runtimeConfig: { bandwidth: { ingressRate: 0, egressRate: 0 } } }).bandwidth, undefined)
    assert.deepEqual(parse({ runtimeConfig: { Bandwidth: { IngressRate: 1000000, IngressBurst: 100000, EgressRate: 0, EgressBurst: 0 } } }).bandwidth,
      { ingress: { rateBitsPerSec: 1000000, burstBits: 100000 } })
    rejects({ runtimeConfig: { bandwidth: { egressburst: -1 } } }, 'config', /runtimeConfig\.bandwidth\.egressBurst must be a non-negative integer/)
    rejects({ runtimeConfig: { Bandwidth: { EgressRate: '1M' } } }, 'config', /runtimeConfig\.bandwidth\.egressRate must be a non-negative integer/)
  })

  it('passes dns through, or reads it from ipam.resolvConf', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-'))
    try {
      const f = join(dir, 'resolv.conf')
      writeFileSync(f, '# comment\nnameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch a.example b.example\noptions ndots:2\n')
      assert.deepEqual(parse({ ipam: { subnet: '10.88.0.0/16', resolvConf: f } }).dns, { nameservers: ['10.0.0.53', '10.0.0.54'], search: ['a.example', 'b.example'], options: ['ndots:2'] })
      assert.deepEqual(parse({ dns: { nameservers: ['1.1.1.1'], domain: 'x' }, ipam: { subnet: '10.88.0.0/16', resolvConf: f } }).dns, { nameservers: ['1.1.1.1'], domain: 'x' })
    } finally {
      rmSync(dir, { recursive: true })
    }
  })

  it('podnet settings: state and run dirs, internal', () => {
    const c = parse({ podnet: { stateDir: '/tmp/x', internal: true } })
    assert.equal(c.stateDir, '/tmp/x')
    assert.equal(c.runDir, '/tmp/x/run', 'a state dir of its own keeps the volatile part with it')
    assert.equal(c.network.internal, true)
    assert.equal(c.network.nat, false)
    assert.equal(parse({ podnet: { stateDir: '/tmp/x', runDir: '/run/y' } }).runDir, '/run/y')
    assert.deepEqual(parseLocation({ name: 'n' }, { stateDir: '/s', runDir: '/r' }), { name: 'n', stateDir: '/s', runDir: '/r', overlay: false })
  })

  it('an overlay network ("podnet": {"overlay": true}): no ipam needed, the agent\'s directories, a default route; the agent\'s fields refused', () => {
    const c = parseNetConf({ cniVersion: '1.0.0', name: 'web', type: 'podnet-cni', podnet: { overlay: true } }, {}, { stateDir: '/cni', runDir: '/cni/run' })
    assert.equal(c.overlay, true)
    assert.deepEqual([c.stateDir, c.runDir], ['/var/lib/podnet', '/run/podnet'], 'the node agent\'s defaults, not the CNI ones')
    assert.equal(c.defaultGateway, true)
    assert.deepEqual(c.network.subnets, [])
    assert.equal(parseNetConf({ name: 'web', podnet: { overlay: true }, isDefaultGateway: false }).defaultGateway, false)
    assert.deepEqual(parseNetConf({ name: 'web', podnet: { overlay: true }, ipam: { routes: [{ dst: '10.0.0.0/8' }] } }).routes, [{ dst: '10.0.0.0/8' }])
    for (const [extra, field] of [[{ mtu: 9000 }, 'mtu'], [{ ipMasq: true }, 'ipMasq'], [{ bridge: 'cni0' }, 'bridge'], [{ ipam: { subnet: '10.1.0.0/24' } }, 'ipam.subnet'],
      [{ ipam: { ranges: [[{ subnet: '10.1.0.0/24' }]] } }, 'ipam.ranges']] as const) {
      assert.throws(() => parseNetConf({ name: 'web', podnet: { overlay: true }, ...extra }),
        (err: Error) => err instanceof CniRequestError && err.kind === 'config' && err.message.startsWith(`invalid network configuration: ${field} is set by the node agent`))
    }
    assert.throws(() => parseNetConf({ name: 'web', podnet: { overlay: true, internal: true } }), /podnet\.internal is set by the node agent/)
    assert.throws(() => parseNetConf({ name: 'web', podnet: { overlay: 'yes' } }), /podnet\.overlay must be true or false/)
  })

  describe('refuses what podnet does not do (2) and what is malformed (7)', () => {
    const cases: Array<[Record<string, unknown>, CniRequestError['kind'], RegExp]> = [
      [{ isGateway: false }, 'unsupported-field', /unsupported field: isGateway=false/],
      [{ promiscMode: true }, 'unsupported-field', /promiscMode=true/],
      [{ vlan: 100 }, 'unsupported-field', /vlan=100/],
      [{ vlanTrunk: [{ id: 5 }] }, 'unsupported-field', /vlanTrunk/],
      [{ macspoofchk: true }, 'unsupported-field', /macspoofchk=true/],
      [{ enabledad: true }, 'unsupported-field', /enabledad=true/],
      [{ portIsolation: true }, 'unsupported-field', /portIsolation=true/],
      [{ ipam: { type: 'dhcp' } }, 'unsupported-field', /ipam\.type="dhcp"/],
      [{ ipam: { subnet: '10.88.0.0/16', rangeStart: '10.88.0.10' } }, 'unsupported-field', /ipam\.rangeStart="10\.88\.0\.10"/],
      [{ ipam: { ranges: [[{ subnet: '10.88.0.0/24' }, { subnet: '10.89.0.0/24' }]] } }, 'unsupported-field', /ipam\.ranges\[0\]/],
      [{ runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'sctp' }] } }, 'unsupported-field', /protocol="sctp"/],
      [{ ipam: undefined }, 'config', /ipam is missing/],
      [{ ipam: { type: 'host-local' } }, 'config', /has no subnet/],
      [{ ipam: { ranges: [[{ gateway: '10.0.0.1' }]] } }, 'config', /ipam\.ranges\[0\]\[0\]\.subnet is missing/],
      [{ mtu: '1500' }, 'config', /mtu must be an integer/],
      [{ ipMasq: 'yes' }, 'config', /ipMasq must be true or false/],
      [{ bridge: 7 }, 'config', /bridge must be a string/],
      [{ ipMasqBackend: 'pf' }, 'config', /ipMasqBackend/],
      [{ podnet: { stateDir: 'relative' } }, 'config', /podnet\.stateDir must be an absolute path/],
      [{ podnet: { internal: true }, ipMasq: true }, 'config', /podnet\.internal/],
      [{ runtimeConfig: { portMappings: [{ hostPort: 8080 }] } }, 'config', /needs hostPort and containerPort/],
      [{ runtimeConfig: { ips: ['10.88.0.9/24'] } }, 'config', /does not have the prefix length of subnet 10\.88\.0\.0\/16/],
      [{ ipam: { subnet: '10.88.0.0/16', routes: [{ gw: '10.88.0.1' }] } }, 'config', /routes\[0\]\.dst is missing/],
      // the bandwidth capability, validated as the bandwidth plugin (and a little more)
      [{ runtimeConfig: { bandwidth: { ingressRate: 1000000 } } }, 'config', /runtimeConfig\.bandwidth\.ingressBurst is missing: if ingressRate is set, ingressBurst must also be set/],
      [{ runtimeConfig: { bandwidth: { egressBurst: 1000000 } } }, 'config', /runtimeConfig\.bandwidth\.egressRate is missing/],
      [{ runtimeConfig: { bandwidth: { egressRate: 1e6, egressBurst: 2 ** 35 } } }, 'config', /egressBurst .*more than 4 GiB/],
      [{ runtimeConfig: { bandwidth: { egressRate: 1e6, egressBurst: 4000 } } }, 'config', /egressBurst .*smaller than one packet/],
      [{ runtimeConfig: { bandwidth: { ingressRate: 10, ingressBurst: 1e6 } } }, 'config', /ingressRate .*unreasonably small/],
      [{ runtimeConfig: { bandwidth: { ingressRate: '10M', ingressBurst: 1e6 } } }, 'config', /ingressRate must be a non-negative integer/],
      [{ runtimeConfig: { bandwidth: { ingressRate: 1e6, ingressBurst: 1e6, unshapedSubnets: ['10.0.0.0/8'] } } }, 'unsupported-field', /unshapedSubnets/],
    ]
    for (const [extra, kind, msg] of cases) it(`${JSON.stringify(extra)}`, () => rejects(extra, kind, msg))

    it('accepts the fields that only switch off what podnet does not do anyway', () => {
      assert.doesNotThrow(() => parse({ isGateway: true, promiscMode: false, vlan: 0, vlanTrunk: [], macspoofchk: false, enabledad: false, forceAddress: false, preserveDefaultVlan: true }))
    })
  })
})
