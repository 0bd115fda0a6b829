/** What pods of a DNS network are told (resolv.conf, names), and the manifest fields that give names. */
import assert from 'node:assert/strict'
import { podDnsConfig } from '../../../src/dns/index.js'
import { resolvConf } from '../../../src/runtime/etc-files.js'
import { podDnsNames } from '../../../src/runtime/dns-names.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import { InvalidArgumentError } from '../../../src/errors.js'
import { normalizeDnsName } from '../../../src/net/index.js'

const host = '# host\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0 trust-ad\n'

describe('dns for pods', () => {
  it('podDnsConfig: the gateways (IPv4 first) and the network as search domain; undefined with DNS off', () => {
    const subnets = [{ subnet: 'fd88::/64', gateway: 'fd88::1', family: 6 as const }, { subnet: '10.88.0.0/24', gateway: '10.88.0.1', family: 4 as const }]
    assert.deepEqual(podDnsConfig({ name: 'Web', dns: true, subnets }), { nameservers: ['10.88.0.1', 'fd88::1'], search: ['web'] })
    assert.equal(podDnsConfig({ name: 'web', subnets }), undefined)
  })

  it('resolv.conf: the responder alone, the network searched first, the host\'s search and options kept', () => {
    assert.equal(resolvConf(host, { nameservers: ['10.88.0.1'], search: ['net1'] }), 'nameserver 10.88.0.1\nsearch net1 corp.example\noptions edns0 trust-ad\n')
    // DNS off: today's behaviour
    assert.equal(resolvConf(host), 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0 trust-ad\n')
  })

  it('podDnsNames: pod name, hostname, HOSTNAME.SUBDOMAIN, containers, aliases, each once', () => {
    const { spec } = validateManifest({
      metadata: { name: 'web-0', annotations: { 'podnet.io/rootfs': '/', 'podnet.io/aliases': ' Primary , db.main,web-0' } },
      spec: { hostname: 'web', subdomain: 'svc', containers: [{ name: 'app', command: ['x'] }, { name: 'sidecar', command: ['y'] }] },
    }, { checkRootfs: false })
    assert.equal(spec.subdomain, 'svc')
    assert.deepEqual(spec.aliases, ['primary', 'db.main', 'web-0'])
    assert.deepEqual(podDnsNames(spec), ['web-0', 'web', 'web.svc', 'app', 'sidecar', 'primary', 'db.main'])
  })

  it('bad names are refused naming the field', () => {
    assert.throws(() => validateManifest({
      metadata: { name: 'p', annotations: { 'podnet.io/rootfs': '/', 'podnet.io/aliases': 'ok,-bad' } },
      spec: { containers: [{ name: 'a', command: ['x'] }] },
    }, { checkRootfs: false }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'metadata.annotations[podnet.io/aliases]')
    assert.throws(() => validateManifest({ metadata: { name: 'p', annotations: { 'podnet.io/rootfs': '/' } }, spec: { subdomain: 'Not_A_Label', containers: [{ name: 'a', command: ['x'] }] } }, { checkRootfs: false }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'spec.subdomain')
    assert.equal(normalizeDnsName('Web.Example.'), 'web.example')
    for (const bad of ['', '.', 'a..b', 'a b', `${'x'.repeat(64)}.y`, 'x.'.repeat(130), 'é']) assert.throws(() => normalizeDnsName(bad, '--alias'), InvalidArgumentError, JSON.stringify(bad))
  })
})
