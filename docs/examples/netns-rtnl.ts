// podnet: two named namespaces, a veth pair between them, addresses, a route, iproute2-shaped JSON.
import { Netns, Rtnl, isErrno } from 'podnet'

const a = Netns.create('example-a')            // like `ip netns add example-a`
const b = Netns.create('example-b')
const inA = Rtnl.open({ netns: a })            // a Netns, a name or a path: the socket lives there
const inB = Rtnl.open({ netns: 'example-b' })
try {
  await inA.link.add({ kind: 'veth', name: 'veth-a', up: true, peer: { name: 'eth0', netns: b, up: true } })
  await inA.addr.add({ cidr: '10.99.0.1/24', dev: 'veth-a' })
  await inB.addr.add({ cidr: '10.99.0.2/24', dev: 'eth0' })
  await inB.route.add({ dst: 'default', via: '10.99.0.1' })
  const [eth0] = await inB.link.list({ kind: 'veth' })
  console.log(JSON.stringify(eth0))             // {"ifindex":..,"ifname":"eth0","flags":[..],..} as `ip -j -d link show`
  console.log(JSON.stringify(await inB.route.list()))
  try {
    await inA.addr.add({ cidr: '10.99.0.1/24', dev: 'veth-a' })
  } catch (err) {
    console.log('second add:', isErrno(err, 'EEXIST') ? 'EEXIST' : err)
  }
} finally {
  inA.close()
  inB.close()
  a.close()
  b.close()
  Netns.remove('example-a')                    // the veth pair goes with the namespaces
  Netns.remove('example-b')
}
