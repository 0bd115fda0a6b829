/**
 * Traffic priority under contention: two pods saturate the same rate-limited uplink, one high,
 * one low; the high one gets at least 80% of the link while both send, and alone each gets the
 * whole link. The marks are read back with nft -j, the uplink's classes with tc.
 */
import assert from 'node:assert/strict'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { PRIORITY_LEVELS } from '../../../src/bridge/index.js'
import { applyUplink, classidFor, ensureUplinks, removeUplink, uplinkState, writeUplinks } from '../../../src/bridge/priority.js'
import { InvalidArgumentError } from '../../../src/errors.js'
import { createTopology, iperfRun, iperfServer, nftRuleset, stopIperfServers, tcJson, tcText, UPSTREAM, type Topology } from '../../../src/testing/index.js'

const LINK = 20e6 // bit/s: the uplink's capacity as podnet is told it
/** What an iperf3 receiver measures of a link's rate: TCP payload of 1448 bytes per 1514-byte frame. */
const GOODPUT = 1448 / 1514

describe('kernel: traffic priority on the uplink (nf_tables meta priority + htb)', function () {
  this.timeout(180000)
  let topo: Topology
  let m: NetworkManager
  beforeEach(async function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
    await m.create({ name: 'pr', subnets: ['10.92.0.0/24'] })
    writeUplinks(m.state, [{ dev: 'up0', rateBitsPerSec: LINK }])
    await applyUplink(m.rt, { dev: 'up0', rateBitsPerSec: LINK })
  })
  afterEach(() => {
    stopIperfServers()
    topo?.close()
  })

  it('marks a pod by its address in podnet-qos (nft -j) and puts the htb tree on the uplink (tc)', async () => {
    const pod = topo.pod()
    const a = await m.attach({ network: 'pr', netns: pod.name, priority: PRIORITY_LEVELS.high })
    assert.equal(a.priority, 6)
    const rs = nftRuleset(topo.host.name)
    const map = rs.find((o) => o.map?.table === 'podnet-qos' && o.map.name === 'prio4')!.map!
    assert.deepEqual([map.type, map.map], ['ipv4_addr', 'classid'])
    // each element is [{ elem: { val, comment } }, classid]
    assert.deepEqual(map.elem!.map((e: any) => [e[0].elem.val, e[1], e[0].elem.comment]), [['10.92.0.2', '1:16', `podnet o=${m.owner} net=pr id=${pod.name} if=eth0 prio=6`]])
    const chain = rs.find((o) => o.chain?.table === 'podnet-qos')!.chain!
    assert.deepEqual([chain.hook, chain.prio, chain.type], ['postrouting', -150, 'filter'])
    assert.equal(rs.filter((o) => o.rule?.table === 'podnet-qos').length, 2)
    assert.match(JSON.stringify(rs.filter((o) => o.rule?.table === 'podnet-qos')), /"mangle":\{"key":\{"meta":\{"key":"priority"\}\},"value":\{"map":\{"key":\{"payload":\{"protocol":"ip","field":"saddr"\}\},"data":"@prio4"\}\}\}/)
    const [root] = tcJson(topo.host.name, 'qdisc', 'show', 'dev', 'up0')
    assert.deepEqual([root!.kind, root!.handle, root!.options!.default], ['htb', '1:', '0x14'])
    const classes = tcText(topo.host.name, 'class', 'show', 'dev', 'up0')
    assert.match(classes, /class htb 1:16 parent 1:1 prio 1 rate 1Mbit ceil 20Mbit/)
    assert.match(classes, /class htb 1:12 parent 1:1 prio 5 rate 1Mbit ceil 20Mbit/)
    assert.equal(uplinkState(m.rt, { dev: 'up0', rateBitsPerSec: LINK }).classes.length, 8)
    assert.deepEqual(await m.check(), [])
    // normal is no mark at all; detach removes the element
    const p2 = topo.pod()
    const b = await m.attach({ network: 'pr', netns: p2.name, priority: PRIORITY_LEVELS.normal })
    assert.equal(b.priority, undefined)
    await m.detach({ network: 'pr', id: a.id })
    const after = nftRuleset(topo.host.name).find((o) => o.map?.name === 'prio4')!.map!
    assert.equal(after.elem, undefined)
  })

  it('a high pod gets at least 80% of a saturated uplink against a low one; alone, each gets all of it', async () => {
    const hi = topo.pod()
    const lo = topo.pod()
    await m.attach({ network: 'pr', netns: hi.name, priority: PRIORITY_LEVELS.high })
    await m.attach({ network: 'pr', netns: lo.name, priority: PRIORITY_LEVELS.low })
    for (const port of [5401, 5402]) await iperfServer(topo.upstream, port)
    const [h, l] = await Promise.all([
      iperfRun(hi, UPSTREAM.upstreamV4, { port: 5401, seconds: 6, omit: 2 }),
      iperfRun(lo, UPSTREAM.upstreamV4, { port: 5402, seconds: 6, omit: 2 }),
    ])
    if (process.env.PODNET_TEST_VERBOSE) console.error(`    together: high ${(h / 1e6).toFixed(2)}, low ${(l / 1e6).toFixed(2)} Mbit/s`)
    assert.ok(h >= 0.8 * LINK * GOODPUT, `high got ${(h / 1e6).toFixed(2)} Mbit/s of ${LINK / 1e6} (low ${(l / 1e6).toFixed(2)})`)
    assert.ok(h + l <= 1.1 * LINK, 'the uplink is the bottleneck')
    // the htb counters say the same: the high class carried most bytes
    const st = uplinkState(m.rt, { dev: 'up0', rateBitsPerSec: LINK })
    const bytes = (cid: number): number => st.classes.find((c) => c.classid === `1:${(cid & 0xffff).toString(16)}`)?.bytes ?? 0
    assert.ok(bytes(classidFor(6)) > 4 * bytes(classidFor(2)), `class 1:16 ${bytes(classidFor(6))} bytes, 1:12 ${bytes(classidFor(2))}`)
    for (const [pod, port] of [[hi, 5403], [lo, 5404]] as const) {
      await iperfServer(topo.upstream, port)
      const alone = await iperfRun(pod, UPSTREAM.upstreamV4, { port, seconds: 4, omit: 1 })
      if (process.env.PODNET_TEST_VERBOSE) console.error(`    alone: ${(alone / 1e6).toFixed(2)} Mbit/s`)
      assert.ok(Math.abs(alone - LINK * GOODPUT) <= 0.1 * LINK, `alone: ${(alone / 1e6).toFixed(2)} Mbit/s on a ${LINK / 1e6} Mbit/s link`)
    }
  })

  it('setPriority changes a running pod; gc removes marks without attachment; ensureUplinks puts a lost tree back', async () => {
    const pod = topo.pod()
    const a = await m.attach({ network: 'pr', netns: pod.name })
    assert.equal(nftRuleset(topo.host.name).some((o) => o.table?.name === 'podnet-qos'), false, 'no table before the first priority')
    await m.setPriority('pr', a.id, 'eth0', 1)
    let map = nftRuleset(topo.host.name).find((o) => o.map?.name === 'prio4')!.map!
    assert.equal(map.elem!.length, 1)
    assert.equal(m.attachment('pr', a.id)?.priority, 1)
    await m.setPriority('pr', a.id, 'eth0', undefined)
    map = nftRuleset(topo.host.name).find((o) => o.map?.name === 'prio4')!.map!
    assert.equal(map.elem, undefined)
    // a mark whose attach was killed before the record was written
    await m.setPriority('pr', a.id, 'eth0', 7)
    pod.close()
    const r = await m.gc()
    assert.ok(r.removedRules.some((x) => /^map prio4 10\.92\.0\.2 podnet o=[0-9a-f]{8} net=pr/.test(x)), JSON.stringify(r))
    // a reboot-like loss of the uplink tree: the recorded uplink is put back
    await removeUplink(m.rt, 'up0')
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', 'up0')[0]!.kind, 'noqueue')
    assert.deepEqual(await ensureUplinks(m.rt, m.state), ['up0'])
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', 'up0')[0]!.kind, 'htb')
    await assert.rejects(m.setPriority('pr', a.id, 'eth0', 9), InvalidArgumentError)
  })
})
