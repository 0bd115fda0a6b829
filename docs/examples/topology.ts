// podnet/topology: two namespaces joined by a veth pair, read back as a graph and drawn as a text tree.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netns, Rtnl } from 'podnet'
import { collectTopology, renderText } from 'podnet/topology'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const a = Netns.create('example-topo-a')
const b = Netns.create('example-topo-b')
const inA = Rtnl.open({ netns: a })
const inB = Rtnl.open({ netns: b })
try {
  await inA.link.add({ kind: 'veth', name: 'veth-a', address: '02:00:00:00:00:0a', up: true, peer: { name: 'eth0', netns: b, address: '02:00:00:00:00:0b', up: true } })
  await inA.addr.add({ cidr: '10.95.0.1/24', dev: 'veth-a' })
  await inB.addr.add({ cidr: '10.95.0.2/24', dev: 'eth0' })
  await inB.route.add({ dst: 'default', via: '10.95.0.1' })
  // only these two namespaces; podnet's records (networks, pods) from the state and run directories
  const g = await collectTopology({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), netns: ['example-topo-a', 'example-topo-b'] })
  for (const e of g.edges) if (e.kind === 'veth') console.log('veth pair', e.a, e.b)
  console.log('gateways of example-topo-b', JSON.stringify(g.namespaces.find((n) => n.name === 'example-topo-b')?.gateways))
  process.stdout.write(renderText(g, { ascii: true }))     // `podnet topology --ascii`
} finally {
  inA.close()
  inB.close()
  a.close()
  b.close()
  Netns.remove('example-topo-a')
  Netns.remove('example-topo-b')
  rmSync(dir, { recursive: true, force: true })
}
