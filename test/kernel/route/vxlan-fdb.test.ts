/** The overlay's rtnetlink objects: a VXLAN device without learning, FDB entries, permanent neighbours, onlink routes. */
import assert from 'node:assert/strict'
import { NotFoundError } from '../../../src/errors.js'
import { NTF_SELF, NUD_PERMANENT } from '../../../src/netlink/route/constants/neighbour.js'
import { RTNH_F_ONLINK } from '../../../src/netlink/route/constants/rtnetlink.js'
import { bridgeJson, useTempNetns } from '../../../src/testing/index.js'

describe('kernel: route/vxlan, fdb, neigh, onlink (differential with iproute2)', () => {
  const t = useTempNetns()
  beforeEach(async () => {
    await t().rt.link.add({ kind: 'veth', name: 'u0', up: true, peer: { name: 'u1', up: true } })
    await t().rt.addr.add({ cidr: '192.0.2.1/24', dev: 'u0' })
    const u0 = await t().rt.link.get('u0')
    await t().rt.link.add({ kind: 'vxlan', name: 'vx0', mtu: 1450, up: true, vxlan: { id: 7, local: '192.0.2.1', link: u0.index, port: 4789, learning: false } })
  })

  it('creates a VXLAN device without learning on the given port and VNI', async () => {
    const [l] = t().ip('link', 'show', 'vx0')
    assert.equal(l!.mtu, 1450)
    assert.equal(l!.linkinfo!.info_kind, 'vxlan')
    assert.equal(l!.linkinfo!.info_data!.id, 7)
    assert.equal(l!.linkinfo!.info_data!.port, 4789)
    assert.equal(l!.linkinfo!.info_data!.learning, false)
    assert.equal(l!.linkinfo!.info_data!.local, '192.0.2.1')
    const ours = await t().rt.link.get('vx0')
    assert.equal(ours.data?.learning, 0)
    assert.equal(ours.data?.port, 4789)
  })

  it('appends, lists and deletes FDB entries to remote endpoints', async () => {
    const rt = t().rt
    await rt.neigh.append({ family: 'bridge', dev: 'vx0', lladdr: '02:00:00:00:00:02', dst: '192.0.2.2', self: true })
    await rt.neigh.append({ family: 'bridge', dev: 'vx0', lladdr: '02:00:00:00:00:02', dst: '192.0.2.2', self: true }) // again: fine
    await rt.neigh.append({ family: 'bridge', dev: 'vx0', lladdr: '02:00:00:00:00:03', dst: '192.0.2.3', self: true })
    const theirs = bridgeJson(t().name, 'fdb', 'show', 'dev', 'vx0').filter((e: any) => e.dst).map((e: any) => `${e.mac} ${e.dst} ${e.state}`).sort()
    assert.deepEqual(theirs, ['02:00:00:00:00:02 192.0.2.2 permanent', '02:00:00:00:00:03 192.0.2.3 permanent'])
    const ours = (await rt.neigh.list({ family: 'bridge', dev: 'vx0' })).filter((n) => n.dst)
    assert.deepEqual(ours.map((n) => `${n.lladdr} ${n.dst}`).sort(), ['02:00:00:00:00:02 192.0.2.2', '02:00:00:00:00:03 192.0.2.3'])
    assert.ok(ours.every((n) => n.flags & NTF_SELF && n.state & NUD_PERMANENT))
    await rt.neigh.del({ family: 'bridge', dev: 'vx0', lladdr: '02:00:00:00:00:02', dst: '192.0.2.2', self: true })
    assert.deepEqual(bridgeJson(t().name, 'fdb', 'show', 'dev', 'vx0').filter((e: any) => e.dst).map((e: any) => e.mac), ['02:00:00:00:00:03'])
    await assert.rejects(rt.neigh.del({ family: 'bridge', dev: 'vx0', lladdr: '02:00:00:00:00:02', dst: '192.0.2.2', self: true }), NotFoundError)
  })

  it('replaces permanent neighbours and adds onlink routes through them', async () => {
    const rt = t().rt
    await rt.neigh.replace({ dev: 'vx0', dst: '10.244.2.1', lladdr: '02:00:00:00:00:02' })
    await rt.neigh.replace({ dev: 'vx0', dst: '10.244.2.1', lladdr: '02:00:00:00:00:09' })
    const [n] = t().ip('neigh', 'show', 'dev', 'vx0')
    assert.equal(n!.dst, '10.244.2.1')
    assert.equal(n!.lladdr, '02:00:00:00:00:09')
    assert.deepEqual(n!.state, ['PERMANENT'])
    await rt.route.replace({ dst: '10.244.2.0/24', via: '10.244.2.1', dev: 'vx0', onlink: true })
    const [r] = t().ip('route', 'show', '10.244.2.0/24')
    assert.equal(r!.gateway, '10.244.2.1')
    assert.equal(r!.dev, 'vx0')
    assert.ok(r!.flags.includes('onlink'))
    const ours = (await rt.route.list()).find((x) => x.dst === '10.244.2.0/24')
    assert.ok(ours && ours.flags & RTNH_F_ONLINK)
    // without onlink the kernel refuses a gateway no address of vx0 covers
    await assert.rejects(rt.route.replace({ dst: '10.244.3.0/24', via: '10.244.3.1', dev: 'vx0' }), /ENETUNREACH|EINVAL/)
    await rt.neigh.del({ dev: 'vx0', dst: '10.244.2.1' })
    assert.deepEqual(t().ip('neigh', 'show', 'dev', 'vx0'), [])
    await assert.rejects(rt.neigh.del({ dev: 'vx0', dst: '10.244.2.1' }), NotFoundError)
  })
})
