// podnet/overlay: two nodes (namespaces on one underlay link) share a VXLAN overlay through a store.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netns, Rtnl } from 'podnet'
import { MemoryStore, OverlayAgent, createOverlayNetwork, listNodes } from 'podnet/overlay'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const n1 = Netns.create('example-node1')
const n2 = Netns.create('example-node2')
const rt1 = Rtnl.open({ netns: n1 })
const rt2 = Rtnl.open({ netns: n2 })
const store = new MemoryStore()                 // EtcdStore('etcd://HOST:2379,...') across machines
const agents: OverlayAgent[] = []
try {
  // the underlay: one veth pair between the two "machines"
  await rt1.link.add({ kind: 'veth', name: 'uplink', up: true, peer: { name: 'uplink', netns: n2, up: true } })
  await rt1.addr.add({ cidr: '192.168.77.1/24', dev: 'uplink' })
  await rt2.addr.add({ cidr: '192.168.77.2/24', dev: 'uplink' })
  await createOverlayNetwork(store, { name: 'web', subnet: '10.244.0.0/16', vni: 7 })
  for (const [i, ns] of [[1, 'example-node1'], [2, 'example-node2']] as const) {
    const agent = new OverlayAgent({ store, name: `node${i}`, hostNetns: ns, underlayDev: 'uplink', stateDir: join(dir, `node${i}`) })
    await agent.start()                         // leases a node subnet, makes the bridge and the VXLAN device
    agents.push(agent)
  }
  await new Promise((r) => setTimeout(r, 200)) // each agent programs the other from the store's watch
  for (const n of await listNodes(store)) console.log('node', n.node, 'underlay', n.underlay)
  for (const a of agents) {
    const net = a.status().networks[0]
    console.log(a.status().node, 'subnet', net?.subnet, 'peers', net?.peers.map((p) => p.node).join(','))
  }
} finally {
  for (const a of agents) await a.stop()
  store.close()
  rt1.close()
  rt2.close()
  n1.close()
  n2.close()
  Netns.remove('example-node1')
  Netns.remove('example-node2')
  rmSync(dir, { recursive: true, force: true })
}
