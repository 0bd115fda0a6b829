/**
 * Traffic control, differential against tc(8): what podnet creates is read back with `tc -j`
 * (and tc's text for htb classes, which tc 6.1 does not print as JSON) and with podnet; what tc
 * creates is read by podnet. This kernel has tbf, htb, ingress, clsact, u32 and mirred (no
 * matchall, prio, netem).
 */
import assert from 'node:assert/strict'
import { ExistsError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import { createTempNetns, probe, serve, stopServers, tcJson, tcText, useTempNetns } from '../../../src/testing/index.js'

const mirredToIfb = { kind: 'mirred' as const, mirred: { action: 'redirect' as const, direction: 'egress' as const, dev: 'ifb0' } }

describe('kernel: route/tc (differential with tc)', () => {
  const t = useTempNetns()
  const tc = (...args: string[]): any => tcJson(t().name, ...args)
  afterEach(() => stopServers())

  beforeEach(async () => {
    await t().rt.link.add({ kind: 'veth', name: 'va', up: true, peer: { name: 'vb', up: true } })
    await t().rt.link.add({ kind: 'ifb', name: 'ifb0', up: true })
  })

  it('adds a tbf as tc does and reads it back as tc does', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 1_250_000, burstBytes: 32768, latencyMs: 25 } })
    const [q] = tc('qdisc', 'show', 'dev', 'va')
    assert.equal(q.kind, 'tbf')
    assert.equal(q.handle, '1:')
    assert.equal(q.root, true)
    // tc truncates the buffer time to whole microseconds before turning it back into bytes: 32767
    assert.deepEqual(q.options, { rate: 1_250_000, burst: 32767, lat: 25000 })
    const mine = await t().rt.qdisc.find({ dev: 'va' })
    assert.equal(mine?.kind, 'tbf')
    assert.equal(mine?.handleText, '1:')
    assert.equal(mine?.parentText, 'root')
    assert.deepEqual(mine?.tbf, { rateBytesPerSec: 1_250_000, burstBytes: 32768, limitBytes: 64018 })
    await assert.rejects(t().rt.qdisc.add({ dev: 'va', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 1000, burstBytes: 3000 } }), ExistsError)
  })

  it('uses TCA_TBF_RATE64 above 2^32-1 bytes/s (40 Gbit/s)', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'tbf', tbf: { rateBytesPerSec: 5e9, burstBytes: 1 << 20 } })
    const [q] = tc('qdisc', 'show', 'dev', 'va')
    assert.equal(q.options.rate, 5e9)
    assert.equal((await t().rt.qdisc.find({ dev: 'va' }))?.tbf?.rateBytesPerSec, 5e9)
  })

  it('replaces a tbf in place (a new rate for a running pod)', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 1_250_000, burstBytes: 32768 } })
    await t().rt.qdisc.replace({ dev: 'va', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 2_500_000, burstBytes: 65536 } })
    const qs = tc('qdisc', 'show', 'dev', 'va')
    assert.equal(qs.length, 1)
    assert.equal(qs[0].options.rate, 2_500_000)
  })

  it('deletes the root qdisc; deleting it again is NotFoundError (the default noqueue is not deletable)', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 1_250_000, burstBytes: 32768 } })
    await t().rt.qdisc.del({ dev: 'va' })
    assert.equal(tc('qdisc', 'show', 'dev', 'va')[0].kind, 'noqueue')
    assert.equal((await t().rt.qdisc.find({ dev: 'va' }))?.kind, 'noqueue')
    await assert.rejects(t().rt.qdisc.del({ dev: 'va' }), NotFoundError)
  })

  it('ingress + u32 filter with a mirred redirect to an ifb (the egress shaper of the CNI bandwidth plugin)', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'ingress' })
    await t().rt.filter.add({ dev: 'va', parent: 'ffff:', protocol: 'all', prio: 1, kind: 'u32', u32: { actions: [mirredToIfb] } })
    const qs = tc('qdisc', 'show', 'dev', 'va', 'ingress')
    assert.deepEqual(qs.map((q: any) => [q.kind, q.handle, q.parent]), [['ingress', 'ffff:', 'ffff:fff1']])
    const node = tc('filter', 'show', 'dev', 'va', 'ingress').find((f: any) => f.options?.actions)
    assert.equal(node.kind, 'u32')
    assert.equal(node.pref, 1)
    assert.equal(node.protocol, 'all')
    assert.deepEqual(node.options.match, { value: '0', mask: '0', offmask: '', off: 0 })
    const act = node.options.actions[0]
    assert.deepEqual([act.kind, act.mirred_action, act.direction, act.to_dev, act.control_action.type], ['mirred', 'redirect', 'egress', 'ifb0', 'stolen'])
    // podnet's view
    const ifb = await t().rt.link.get('ifb0')
    const mine = (await t().rt.filter.list({ dev: 'va', parent: 'ingress' })).find((f) => f.u32?.actions.length)
    assert.equal(mine?.prio, 1)
    assert.equal(mine?.protocol, 3)
    assert.equal(mine?.handleText, '800::800')
    assert.equal(mine?.u32?.terminal, true)
    assert.deepEqual(mine?.u32?.actions.map((a) => a.mirred), [{ action: 'redirect', direction: 'egress', ifindex: ifb.index, controlAction: 4 }])
    // delete the filter, then the qdisc; both are gone for tc and podnet
    await t().rt.filter.del({ dev: 'va', parent: 'ffff:', protocol: 'all', prio: 1, kind: 'u32' })
    assert.deepEqual(tc('filter', 'show', 'dev', 'va', 'ingress'), [])
    await t().rt.qdisc.del({ dev: 'va', parent: 'ingress' })
    assert.deepEqual(tc('qdisc', 'show', 'dev', 'va', 'ingress'), [])
    assert.equal(await t().rt.qdisc.find({ dev: 'va', parent: 'ingress' }), undefined)
    await assert.rejects(t().rt.qdisc.del({ dev: 'va', parent: 'ingress' }), NotFoundError)
  })

  it('redirected traffic is counted by the mirred action and shaped on the ifb', async () => {
    const other = createTempNetns()
    try {
      await t().rt.link.set('vb', { netns: other.ns })
      await other.rt.link.set('vb', { up: true })
      await t().rt.addr.add({ cidr: '10.77.0.1/24', dev: 'va' })
      await other.rt.addr.add({ cidr: '10.77.0.2/24', dev: 'vb' })
      await t().rt.qdisc.add({ dev: 'va', kind: 'ingress' })
      await t().rt.filter.add({ dev: 'va', parent: 'ingress', prio: 1, kind: 'u32', u32: { actions: [mirredToIfb] } })
      await t().rt.qdisc.add({ dev: 'ifb0', kind: 'tbf', handle: '1:', tbf: { rateBytesPerSec: 1_250_000, burstBytes: 32768 } })
      await serve(t(), 'tcp', 7000)
      for (let i = 0; i < 3; i++) assert.equal(probe(other, 'tcp', '10.77.0.1', 7000), '10.77.0.2')
      // podnet's counters and tc's, read while no packet passes in between (a TCP close's last
      // segments can still be on their way on a loaded machine: read until two reads agree)
      let ifbQ = (await t().rt.qdisc.find({ dev: 'ifb0' }))!
      let theirs = tc('-s', 'qdisc', 'show', 'dev', 'ifb0')[0]
      for (let i = 0; i < 20 && ifbQ.stats!.packets !== theirs.packets; i++) {
        await new Promise((r) => setTimeout(r, 100))
        ifbQ = (await t().rt.qdisc.find({ dev: 'ifb0' }))!
        theirs = tc('-s', 'qdisc', 'show', 'dev', 'ifb0')[0]
      }
      assert.ok(ifbQ.stats!.packets >= 3, `ifb tbf saw ${ifbQ.stats!.packets} packets`)
      assert.equal(ifbQ.stats!.packets, theirs.packets)
      assert.equal(ifbQ.stats!.bytes, theirs.bytes)
      const f = (await t().rt.filter.list({ dev: 'va', parent: 'ingress' })).find((x) => x.u32?.actions.length)
      assert.ok(f!.u32!.actions[0]!.stats!.packets >= 3)
    } finally {
      other.close()
    }
  })

  it('htb qdisc and classes with rates, ceilings and priorities (read back from tc text)', async () => {
    const rt = t().rt
    await rt.qdisc.add({ dev: 'vb', kind: 'htb', handle: '1:', htb: { defaultClass: 0x20 } })
    await rt.tclass.add({ dev: 'vb', parent: '1:', classid: '1:1', kind: 'htb', htb: { rateBytesPerSec: 12_500_000 } })
    await rt.tclass.add({ dev: 'vb', parent: '1:1', classid: '1:10', kind: 'htb', htb: { rateBytesPerSec: 625_000, ceilBytesPerSec: 12_500_000, prio: 0 } })
    await rt.tclass.add({ dev: 'vb', parent: '1:1', classid: '1:20', kind: 'htb', htb: { rateBytesPerSec: 625_000, ceilBytesPerSec: 12_500_000, prio: 7, burstBytes: 16000 } })
    const [q] = tc('qdisc', 'show', 'dev', 'vb')
    assert.deepEqual([q.kind, q.handle, q.options.default, q.options.r2q], ['htb', '1:', '0x20', 10])
    const text = tcText(t().name, 'class', 'show', 'dev', 'vb')
    assert.match(text, /class htb 1:1 root rate 100Mbit ceil 100Mbit burst 1600b cburst 1600b/)
    assert.match(text, /class htb 1:10 parent 1:1 prio 0 rate 5Mbit ceil 100Mbit burst 1600b cburst 1600b/)
    assert.match(text, /class htb 1:20 parent 1:1 prio 7 rate 5Mbit ceil 100Mbit burst 16000b cburst 1600b/)
    const mine = await rt.tclass.list({ dev: 'vb' })
    const byId = new Map(mine.map((c) => [c.classidText, c]))
    assert.deepEqual([...byId.keys()].sort(), ['1:1', '1:10', '1:20'])
    assert.equal(byId.get('1:10')?.htb?.rateBytesPerSec, 625_000)
    assert.equal(byId.get('1:10')?.htb?.ceilBytesPerSec, 12_500_000)
    assert.equal(byId.get('1:20')?.htb?.prio, 7)
    assert.equal(byId.get('1:20')?.htb?.burstBytes, 16000)
    assert.equal(byId.get('1:10')?.parentText, '1:1')
    assert.deepEqual((await rt.tclass.list({ dev: 'vb', parent: '1:1' })).map((c) => c.classidText).sort(), ['1:10', '1:20'])
    assert.equal((await rt.qdisc.find({ dev: 'vb' }))?.htb?.defaultClass, 0x20)
    await rt.tclass.del({ dev: 'vb', classid: '1:20' })
    assert.doesNotMatch(tcText(t().name, 'class', 'show', 'dev', 'vb'), /1:20/)
    await assert.rejects(rt.tclass.del({ dev: 'vb', classid: '1:20' }), NotFoundError)
  })

  it('reads what tc made: tbf, ingress, u32 + mirred, htb classes', async () => {
    const n = t().name
    tcText(n, 'qdisc', 'add', 'dev', 'va', 'root', 'handle', '5:', 'tbf', 'rate', '80mbit', 'burst', '64kb', 'limit', '100000')
    tcText(n, 'qdisc', 'add', 'dev', 'va', 'ingress')
    tcText(n, 'filter', 'add', 'dev', 'va', 'parent', 'ffff:', 'protocol', 'ip', 'prio', '3', 'u32', 'match', 'u32', '0x0a000000', '0xff000000', 'at', '16', 'action', 'mirred', 'egress', 'mirror', 'dev', 'ifb0')
    const q = await t().rt.qdisc.find({ dev: 'va' })
    assert.deepEqual(q?.tbf, { rateBytesPerSec: 10_000_000, burstBytes: 65536, limitBytes: 100000 })
    assert.equal(q?.handleText, '5:')
    const f = (await t().rt.filter.list({ dev: 'va', parent: 'ingress' })).find((x) => x.u32?.actions.length)
    assert.equal(f?.prio, 3)
    assert.equal(f?.protocol, 0x0800)
    assert.deepEqual(f?.u32?.keys, [{ value: 0x0a000000, mask: 0xff000000, offset: 16, offmask: 0 }])
    assert.equal(f?.u32?.actions[0]?.mirred?.action, 'mirror')
    const all = await t().rt.qdisc.list({ dev: 'va' })
    assert.deepEqual(all.map((x) => x.kind).sort(), ['ingress', 'tbf'])
  })

  it('clsact with a filter on its egress hook', async () => {
    await t().rt.qdisc.add({ dev: 'va', kind: 'clsact' })
    await t().rt.filter.add({ dev: 'va', parent: 'egress', prio: 2, kind: 'u32', u32: { actions: [mirredToIfb] } })
    assert.deepEqual(tc('qdisc', 'show', 'dev', 'va', 'clsact').map((q: any) => q.kind), ['clsact'])
    const eg = tc('filter', 'show', 'dev', 'va', 'egress').find((f: any) => f.options?.actions)
    assert.equal(eg.options.actions[0].to_dev, 'ifb0')
    await t().rt.qdisc.del({ dev: 'va', parent: 'clsact' })
    assert.deepEqual(tc('qdisc', 'show', 'dev', 'va', 'clsact'), [])
  })

  it('refuses bad input with the field named, before sending anything', async () => {
    await assert.rejects(t().rt.qdisc.add({ dev: 'va', kind: 'tbf', tbf: { rateBytesPerSec: 0, burstBytes: 1000 } }), (e: unknown) => e instanceof InvalidArgumentError && /tbf rate/.test((e as Error).message))
    await assert.rejects(t().rt.qdisc.add({ dev: 'va', kind: 'tbf', handle: '1:5', tbf: { rateBytesPerSec: 1000, burstBytes: 1000 } }), /no minor part/)
    await assert.rejects(t().rt.tclass.add({ dev: 'va', parent: '1:', classid: '1:', kind: 'htb', htb: { rateBytesPerSec: 1000 } }), /no minor id/)
    await assert.rejects(t().rt.qdisc.add({ dev: 'nosuch', kind: 'ingress' }), NotFoundError)
    // a classifier this kernel lacks
    await t().rt.qdisc.add({ dev: 'va', kind: 'ingress' })
    await assert.rejects(t().rt.filter.add({ dev: 'va', parent: 'ingress', prio: 1, kind: 'matchall', matchall: { actions: [mirredToIfb] } }), /matchall/)
    assert.deepEqual(tc('filter', 'show', 'dev', 'va', 'ingress'), [])
  })
})
