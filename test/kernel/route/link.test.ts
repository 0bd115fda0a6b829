/**
 * Links, differential against iproute2: what podnet creates is read back with `ip -j -d` and
 * with podnet; what `ip` creates is read by podnet and compared field by field.
 */
import assert from 'node:assert/strict'
import { ExistsError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import type { Link } from '../../../src/netlink/route/index.js'
import { linkToJson } from '../../../src/cli/output.js'
import { ip, bridgeJson, useTempNetns, createTempNetns } from '../../../src/testing/index.js'

/** The fields both tools know, from `ip -j -d link show` output. */
function common(o: any): Record<string, unknown> {
  return {
    ifindex: o.ifindex, ifname: o.ifname, mtu: o.mtu, address: o.address, operstate: o.operstate,
    // ip(8) adds M-DOWN when the device behind IFLA_LINK (a veth's peer) is down: not a flag of this link
    flags: [...(o.flags ?? [])].filter((f) => f !== 'M-DOWN').sort(), master: o.master, link_netnsid: o.link_netnsid,
    kind: o.linkinfo?.info_kind, slave_kind: o.linkinfo?.info_slave_kind, txqlen: o.txqlen,
  }
}

function podnetView(links: Link[], l: Link): Record<string, unknown> {
  const byIndex = new Map(links.map((x) => [x.index, x.name]))
  return common(linkToJson(l, (i) => byIndex.get(i)))
}

describe('kernel: route/link (differential with iproute2)', () => {
  const t = useTempNetns()

  it('creates a veth pair with the peer directly in another namespace', async () => {
    const other = createTempNetns()
    try {
      const l = await t().rt.link.add({ kind: 'veth', name: 'pn0', mtu: 1400, peer: { name: 'pn1', netns: other.ns, mtu: 1400 } })
      assert.equal(l?.name, 'pn0')
      assert.equal(l?.kind, 'veth')
      const mine = t().link('pn0')!
      assert.equal(mine.linkinfo!.info_kind, 'veth')
      assert.equal(mine.mtu, 1400)
      assert.equal(typeof mine.link_netnsid, 'number', 'peer is in another namespace')
      const peer = other.link('pn1')!
      assert.equal(peer.linkinfo!.info_kind, 'veth')
      assert.equal(peer.mtu, 1400)
      assert.equal(peer.link_index, mine.ifindex, 'the peer points back at pn0')
      assert.equal((await other.rt.link.get('pn1')).link, mine.ifindex)
      assert.equal(t().link('pn1'), undefined, 'pn1 is not in the first namespace')
    } finally {
      other.close()
    }
  })

  it('creates both ends up when asked (peer brought up by a second request)', async () => {
    await t().rt.link.add({ kind: 'veth', name: 'pa', up: true, peer: { name: 'pb', up: true } })
    for (const n of ['pa', 'pb']) assert.ok(t().ip('link', 'show', n)[0]!.flags.includes('UP'), `${n} up`)
  })

  it('creates every supported kind and reads each back like ip(8) does', async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'bridge', name: 'br0', mtu: 1450, bridge: { stpState: 0, forwardDelay: 0 } })
    await rt.link.add({ kind: 'veth', name: 'v0', peer: { name: 'v1' } })
    await rt.link.add({ kind: 'vxlan', name: 'vx0', vxlan: { id: 42, port: 4789, local: '10.9.0.1' } })
    await rt.link.add({ kind: 'macvlan', name: 'mv0', parent: 'v0', mode: 'bridge' })
    await rt.link.add({ kind: 'ifb', name: 'ifb0', txqlen: 32 })
    const links = await rt.link.list()
    const theirs = t().ip('link', 'show') as any[]
    assert.deepEqual(links.map((l) => l.name).sort(), theirs.map((o) => o.ifname).sort())
    for (const o of theirs) {
      const l = links.find((x) => x.index === o.ifindex)!
      assert.deepEqual(podnetView(links, l), common(o), `link ${o.ifname}`)
    }
    const br = theirs.find((o) => o.ifname === 'br0')
    assert.equal(br.linkinfo.info_data.stp_state, 0)
    assert.equal(br.linkinfo.info_data.forward_delay, 0)
    const vx = theirs.find((o) => o.ifname === 'vx0')
    assert.equal(vx.linkinfo.info_data.id, 42)
    assert.equal(vx.linkinfo.info_data.port, 4789)
    assert.equal(vx.linkinfo.info_data.local, '10.9.0.1')
    assert.equal((await rt.link.get('vx0')).data?.port, 4789)
    assert.equal(theirs.find((o) => o.ifname === 'mv0').linkinfo.info_data.mode, 'bridge')
    assert.equal(theirs.find((o) => o.ifname === 'ifb0').txqlen, 32)
  })

  it('reads links created by ip(8) field by field', async () => {
    const n = t().name
    ip(n, 'link', 'add', 'b1', 'type', 'bridge')
    ip(n, 'link', 'add', 'x0', 'mtu', '1300', 'type', 'veth', 'peer', 'name', 'x1')
    ip(n, 'link', 'set', 'x0', 'master', 'b1')
    ip(n, 'link', 'set', 'x0', 'up')
    ip(n, 'link', 'set', 'b1', 'up')
    ip(n, 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '7', 'dstport', '8472')
    const links = await t().rt.link.list()
    for (const o of t().ip('link', 'show') as any[]) {
      assert.deepEqual(podnetView(links, links.find((x) => x.index === o.ifindex)!), common(o), o.ifname)
    }
    const x0 = await t().rt.link.get('x0')
    assert.equal(x0.slaveKind, 'bridge')
    assert.equal(x0.master, (await t().rt.link.get('b1')).index)
  })

  it('filters by master and by kind in the kernel', async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'bridge', name: 'br0' })
    await rt.link.add({ kind: 'veth', name: 'a0', peer: { name: 'a1' } })
    await rt.link.add({ kind: 'veth', name: 'c0', peer: { name: 'c1' } })
    await rt.link.set('a0', { master: 'br0' })
    assert.deepEqual((await rt.link.list({ master: 'br0' })).map((l) => l.name), ['a0'])
    assert.deepEqual((await rt.link.list({ kind: 'bridge' })).map((l) => l.name), ['br0'])
    assert.deepEqual((await rt.link.list({ kind: 'veth' })).map((l) => l.name).sort(), ['a0', 'a1', 'c0', 'c1'])
  })

  it('sets up/down, mtu, address, txqueuelen, master, name; reads them back with ip(8)', async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'bridge', name: 'br0' })
    await rt.link.add({ kind: 'veth', name: 'v0', peer: { name: 'v1' } })
    await rt.link.set('v0', { up: true, mtu: 1280, address: '02:00:00:00:00:aa', txqlen: 77, master: 'br0' })
    let o = t().link('v0')!
    assert.ok(o.flags.includes('UP'))
    assert.equal(o.mtu, 1280)
    assert.equal(o.address, '02:00:00:00:00:aa')
    assert.equal(o.txqlen, 77)
    assert.equal(o.master, 'br0')
    await rt.link.set('v0', { master: null, up: false })
    o = t().link('v0')!
    assert.equal(o.master, undefined)
    assert.ok(!o.flags.includes('UP'))
    await rt.link.set('v0', { name: 'renamed0' })
    assert.equal(t().link('renamed0')!.ifname, 'renamed0')
  })

  it('sets bridge-port hairpin, learning, flood and isolated (bridge -j link)', async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'bridge', name: 'br0' })
    await rt.link.add({ kind: 'veth', name: 'v0', peer: { name: 'v1' } })
    await rt.link.set('v0', { master: 'br0', hairpin: true, learning: false, flood: false, isolated: true })
    const [port] = bridgeJson(t().name, 'link', 'show', 'dev', 'v0')
    assert.equal(port!.hairpin, true)
    assert.equal(port!.learning, false)
    assert.equal(port!.flood, false)
    assert.equal(port!.isolated, true)
    const sd = (await rt.link.get('v0')).slaveData!
    assert.deepEqual([sd.mode, sd.learning, sd.unicastFlood, sd.isolated], [1, 0, 0, 1])
    await rt.link.set('v0', { hairpin: false })
    assert.equal(bridgeJson(t().name, 'link', 'show', 'dev', 'v0')[0]!.hairpin, false)
  })

  it('moves a link to another namespace', async () => {
    const other = createTempNetns()
    try {
      await t().rt.link.add({ kind: 'veth', name: 'm0', peer: { name: 'm1' } })
      await t().rt.link.set('m1', { netns: other.ns })
      assert.equal(t().link('m1'), undefined)
      assert.equal(other.link('m1')!.ifname, 'm1')
      assert.equal((await other.rt.link.get('m1')).kind, 'veth')
    } finally {
      other.close()
    }
  })

  it('deletes a link (and a veth takes its peer with it)', async () => {
    await t().rt.link.add({ kind: 'veth', name: 'd0', peer: { name: 'd1' } })
    await t().rt.link.del('d0')
    assert.deepEqual(t().ip('link', 'show', 'type', 'veth'), [])
  })

  describe('bad input: a clear error and nothing changed', () => {
    const snapshot = (): string => JSON.stringify(t().ip('link', 'show'))

    it('says which side of a veth collided', async () => {
      const other = createTempNetns()
      try {
        await t().rt.link.add({ kind: 'veth', name: 'e0', peer: { name: 'e1', netns: other.ns } })
        const before = snapshot()
        await assert.rejects(t().rt.link.add({ kind: 'veth', name: 'e0', peer: { name: 'zz', netns: other.ns } }),
          (e: unknown) => e instanceof ExistsError && /'e0' already exists .*first end/.test(e.message))
        await assert.rejects(t().rt.link.add({ kind: 'veth', name: 'new0', peer: { name: 'e1', netns: other.ns } }),
          (e: unknown) => e instanceof ExistsError && e.objectName === 'e1' && /in netns 'pn-test-[0-9a-f]+' \(the peer end/.test(e.message))
        assert.equal(snapshot(), before)
        assert.equal(other.link('zz'), undefined)
      } finally {
        other.close()
      }
    })

    it('rejects bad names, MTUs and MACs before touching the kernel', async () => {
      const before = snapshot()
      const rt = t().rt
      for (const name of ['', 'this-is-16-bytes', 'a/b', 'a:b', 'a b', '.', '..']) {
        await assert.rejects(rt.link.add({ kind: 'bridge', name }), InvalidArgumentError, JSON.stringify(name))
      }
      await assert.rejects(rt.link.add({ kind: 'bridge', name: 'ok0', mtu: 67 }), /not a valid MTU/)
      await assert.rejects(rt.link.add({ kind: 'bridge', name: 'ok0', address: 'zz:00:00:00:00:00' }), /not a MAC address/)
      await assert.rejects(rt.link.add({ kind: 'veth', name: 'ok0', peer: { name: 'ok0' } }), /both ends would collide/)
      assert.equal(snapshot(), before)
    })

    it('refuses a master that is not a bridge', async () => {
      await t().rt.link.add({ kind: 'veth', name: 'v0', peer: { name: 'v1' } })
      await assert.rejects(t().rt.link.set('v0', { master: 'v1' }), /'v1' is a veth; a master must be a bridge/)
      assert.equal(t().link('v0')!.master, undefined)
    })

    it('says plainly when deleting or getting what does not exist', async () => {
      await assert.rejects(t().rt.link.del('ghost0'), (e: unknown) => e instanceof NotFoundError && /link 'ghost0' does not exist/.test(e.message))
      await assert.rejects(t().rt.link.get('ghost0'), NotFoundError)
      await assert.rejects(t().rt.link.get(9999), NotFoundError)
    })

    it('reports a link kind this kernel lacks', async () => {
      await assert.rejects(t().rt.link.add({ kind: 'dummy', name: 'd0' } as never), /this kernel has no 'dummy' link type/)
    })

    it('carries the kernel ext-ack message in netlink errors', async () => {
      await t().rt.link.add({ kind: 'bridge', name: 'br0' })
      await t().rt.link.add({ kind: 'bridge', name: 'br1' })
      await assert.rejects(t().rt.link.set('br1', { master: 'br0' }),
        (e: any) => e.errnoName === 'ELOOP' && e.extAck?.message === 'Can not enslave a bridge to a bridge' && e.message.includes("link 'br1'"))
      assert.equal(t().link('br1')!.master, undefined)
    })
  })
})
