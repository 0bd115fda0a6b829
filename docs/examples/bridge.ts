// podnet/bridge: a bridge network with NAT in a "host" namespace, a pod attached with a published port.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netns } from 'podnet'
import { NetworkManager } from 'podnet/bridge'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const host = Netns.create('example-host')
const pod = Netns.create('example-pod1')
const m = new NetworkManager({ hostNetns: host, stateDir: join(dir, 'state'), runDir: join(dir, 'run') })
try {
  const net = await m.create({ name: 'web', subnets: ['10.98.0.0/24'] })
  console.log('network', net.name, 'bridge', net.bridge, 'gateway', net.subnets[0]?.gateway)
  const a = await m.attach({ network: 'web', netns: 'example-pod1', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
  console.log('attached', a.id, a.addresses.map((x) => x.address).join(','), 'via', a.hostVeth)
  console.log('drift', JSON.stringify(await m.check('web')))
  console.log('published', (await m.portMapEntries()).map((p) => p.text).join(', '))
  await m.detach({ network: 'web', id: a.id })
  await m.remove('web')
} finally {
  m.close()
  pod.close()
  host.close()
  Netns.remove('example-pod1')
  Netns.remove('example-host')
  rmSync(dir, { recursive: true, force: true })
}
