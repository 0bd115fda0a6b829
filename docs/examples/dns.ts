// podnet/dns: the pure core (a Zone, one query answered), then a network with DNS served in-process and asked from a pod.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netns } from 'podnet'
import { NetworkManager } from 'podnet/bridge'
import { DnsServer, Zone, answerQuery, ipToReverseName } from 'podnet/dns'
import { dnsAddresses, dnsQuery, dnsQueryBytes } from 'podnet/testing'

// names to answers, no I/O: the network's name is the domain
const zone = new Zone('net1', ['10.96.0.0/24'], [{ names: ['web', 'www'], addresses: ['10.96.0.2/24'] }])
for (const q of ['www.net1', 'nope.net1', 'example.com']) console.log(q, JSON.stringify(zone.lookup(q, 'A')))
console.log(ipToReverseName('10.96.0.2'), JSON.stringify(zone.lookup(ipToReverseName('10.96.0.2'), 'PTR')))
const d = answerQuery(dnsQueryBytes('WEB.net1', 'A', { id: 7 }), zone, 'udp')   // one message in, one decision out
console.log('answerQuery', d.action, d.action === 'reply' ? d.rcode : '')

// the same, for real: a network with dns: true, a pod attached with its names, a question from the pod
const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const dirs = { stateDir: join(dir, 'state'), runDir: join(dir, 'run') }
const host = Netns.create('example-dns-host')
const pod = Netns.create('example-dns-pod')
const m = new NetworkManager({ hostNetns: host, ...dirs })
let server: DnsServer | undefined
try {
  const net = await m.create({ name: 'net1', subnets: ['10.96.0.0/24'], dns: true })
  await m.attach({ network: 'net1', netns: 'example-dns-pod', id: 'web', dnsNames: ['web', 'www'] })
  server = await DnsServer.start({ ...dirs, upstreams: [], rescanMs: 0 })   // or ensureDnsResponder: a process of its own
  const gw = net.subnets[0]!.gateway
  console.log('serving', server.status().networks.map((n) => `${n.name} ${n.addresses.join(',')}`).join('; '))
  const a = await dnsQuery(pod, gw, 'www.net1')             // a UDP question sent from inside the pod's namespace
  console.log('www.net1', a.rcode, dnsAddresses(a).join(','))
  console.log('nope.net1', (await dnsQuery(pod, gw, 'nope.net1')).rcode)
  await m.detach({ network: 'net1', id: 'web' })
  await m.remove('net1')
} finally {
  await server?.close()
  m.close()
  pod.close()
  host.close()
  Netns.remove('example-dns-pod')
  Netns.remove('example-dns-host')
  rmSync(dir, { recursive: true, force: true })
}
