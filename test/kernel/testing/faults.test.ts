/**
 * Fault injection (podnet/testing faults.ts, capture.ts) between two namespaces joined by a veth:
 * partitions make a TCP client time out and heal lets it through again, isolate leaves only
 * loopback, 20% loss is measured over 1,000 datagrams, a rate limit holds within 10%, delay says
 * why it cannot run without sch_netem, and captures parse with tcpdump -r. Every fault is read
 * back with nft -j / tc -j and is gone after heal().
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { TimeoutError, UnsupportedError } from '../../../src/errors.js'
import {
  FAULT_TABLE, activeFaults, capture, createTempNetns, heal, impair, iperfRate, iperfServer, isolate, listen, netemSupport,
  nftRuleset, partition, request, stopIperfServers, tcJson, type TempNetns,
} from '../../../src/testing/index.js'

const A = '10.230.0.1'
const B = '10.230.0.2'
const faultTable = (ns: string): boolean => nftRuleset(ns).some((o) => o.table?.family === 'inet' && o.table.name === FAULT_TABLE)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('kernel: podnet/testing faults and capture', function () {
  this.timeout(120_000)
  let a: TempNetns
  let b: TempNetns
  beforeEach(() => {
    a = createTempNetns('pn-fa')
    b = createTempNetns('pn-fb')
    for (const t of [a, b]) t.ns.runSync(() => writeFileSync('/proc/sys/net/ipv6/conf/default/disable_ipv6', '1'))
    a.rt.link.addSync({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth0', netns: b.ns, up: true } })
    a.rt.addr.addSync({ cidr: `${A}/24`, dev: 'eth0' })
    b.rt.addr.addSync({ cidr: `${B}/24`, dev: 'eth0' })
    b.rt.link.setSync('eth0', { up: true })
  })
  afterEach(() => {
    heal()
    stopIperfServers()
    a.close()
    b.close()
  })

  it('partition: a TCP client times out while partitioned and gets through after heal(); nft -j shows the rules, then none', async () => {
    await listen(b, 'tcp', 7, { reply: 'echo' })
    assert.equal((await request(a, 'tcp', B, 7, 'before')).toString(), 'before')
    const f = partition(a, b)
    assert.equal(f.description, `partition ${a.name} <-> ${b.name}`)
    assert.ok(faultTable(a.name))
    const drops = nftRuleset(a.name).filter((o) => o.rule?.table === FAULT_TABLE).map((o) => `${o.rule!.chain} ${JSON.stringify(o.rule!.expr)}`)
    assert.equal(drops.length, 2)
    assert.match(drops.find((d) => d.startsWith('output'))!, new RegExp(`"daddr"\\}\\},"right":"${B.replace(/\./g, '\\.')}".*"drop":null`))
    assert.match(drops.find((d) => d.startsWith('input'))!, new RegExp(`"saddr"\\}\\},"right":"${B.replace(/\./g, '\\.')}".*"drop":null`))
    await assert.rejects(request(a, 'tcp', B, 7, 'during', { timeoutMs: 500 }), TimeoutError)
    await assert.rejects(request(b, 'tcp', A, 7, 'x', { timeoutMs: 500 }), TimeoutError, 'b -> a is cut too')
    heal()
    assert.equal(faultTable(a.name), false)
    assert.deepEqual(activeFaults(), [])
    assert.equal((await request(a, 'tcp', B, 7, 'after', { timeoutMs: 5000 })).toString(), 'after')
  })

  it('partition oneWay: a -> b is dropped, b -> a still arrives (the reply does not)', async () => {
    const inA = await listen(a, 'udp', 9, { reply: 'echo' })
    await listen(b, 'tcp', 7, { reply: 'echo' })
    const f = partition(a, b, { oneWay: true })
    await assert.rejects(request(a, 'tcp', B, 7, 'x', { timeoutMs: 400 }), TimeoutError)
    await assert.rejects(request(b, 'udp', A, 9, 'x', { timeoutMs: 400 }), TimeoutError)
    assert.equal(inA.served, 1, "b's datagram reached a")
    f.heal()
    assert.equal((await request(b, 'udp', A, 9, 'y', { timeoutMs: 5000 })).toString(), 'y')
  })

  it('isolate: only loopback works, until heal()', async () => {
    await listen(a, 'tcp', 7, { reply: 'echo' })
    await listen(b, 'tcp', 7, { reply: 'echo' })
    isolate(a)
    await assert.rejects(request(a, 'tcp', B, 7, 'x', { timeoutMs: 400 }), TimeoutError)
    await assert.rejects(request(b, 'tcp', A, 7, 'x', { timeoutMs: 400 }), TimeoutError)
    assert.equal((await request(a, 'tcp', '127.0.0.1', 7, 'lo')).toString(), 'lo')
    heal()
    assert.equal((await request(a, 'tcp', B, 7, 'ok', { timeoutMs: 5000 })).toString(), 'ok')
  })

  it('impair loss 0.2: about 20% of 1,000 datagrams are dropped (4.7 standard deviations), the rule counter agrees exactly', async () => {
    const sink = await listen(b, 'udp', 9, { reply: () => Buffer.alloc(0) })
    impair({ ns: a, ifname: 'eth0' }, { loss: 0.2 })
    const rule = nftRuleset(a.name).find((o) => o.rule?.table === FAULT_TABLE)!.rule!
    assert.match(JSON.stringify(rule.expr), /"numgen":\{"mode":"random","mod":10000(,"offset":0)?\}\},"right":2000\}/)
    const sock = await a.udp()
    for (let i = 0; i < 1000; i++) {
      sock.send(`p${i}`, 9, B)
      if (i % 50 === 49) await sleep(5) // paced: the receiver's buffer never overflows
    }
    let last = -1
    while (sink.served !== last) {
      last = sink.served
      await sleep(200)
    }
    const counted = nftRuleset(a.name).find((o) => o.rule?.table === FAULT_TABLE)!.rule!.expr.find((e) => 'counter' in e)!.counter as { packets: number }
    const dropped = counted.packets
    assert.equal(sink.served + dropped, 1000, `received ${sink.served} + dropped ${dropped}`)
    // binomial(1000, 0.2): mean 200, sd 12.6
    assert.ok(dropped >= 140 && dropped <= 260, `dropped ${dropped} of 1000`)
  })

  it('impair rate 20 Mbit/s: a tbf root qdisc (tc -j), iperf3 within 10% of the rate, gone after heal()', async () => {
    impair({ ns: a, ifname: 'eth0' }, { rateBitsPerSec: 20e6 })
    const [q] = tcJson(a.name, 'qdisc', 'show', 'dev', 'eth0')
    assert.equal(q!.kind, 'tbf')
    assert.equal(q!.options!.rate, 2_500_000)
    // TCP payload is 95.6% of the frames a shaper counts at MTU 1500; a loaded machine can only
    // make a run slower, never faster than the shaper: up to three runs, any above the band fails
    const want = 20e6 * 0.956
    const rates: number[] = []
    for (let run = 0; run < 3; run++) {
      await iperfServer(b, 5201)
      const r = iperfRate(a, B, { port: 5201, seconds: 4, omit: 1 })
      rates.push(r)
      assert.ok(r <= want * 1.1, `run ${run}: ${(r / 1e6).toFixed(2)} Mbit/s is above the shaper's rate`)
      if (r >= want * 0.9) break
    }
    assert.ok(rates.some((r) => r >= want * 0.9), `rates ${rates.map((r) => (r / 1e6).toFixed(2)).join(', ')} Mbit/s, want ${(want / 1e6).toFixed(2)} within 10%`)
    heal()
    assert.notEqual(tcJson(a.name, 'qdisc', 'show', 'dev', 'eth0')[0]!.kind, 'tbf')
  })

  it('impair delay: UnsupportedError naming sch_netem, with the reason (this kernel has no netem)', function () {
    const n = netemSupport()
    assert.throws(() => impair({ ns: a, ifname: 'eth0' }, { delayMs: 50 }), (e: unknown) => e instanceof UnsupportedError && e.feature === 'sch_netem' && e.message.includes(n.ok ? 'does not encode netem' : n.reason))
    assert.equal(faultTable(a.name), false, 'nothing half-done')
  })

  it('capture: a pcap of exactly `count` packets that tcpdump -r reads; maxBytes stops it too', async () => {
    await listen(b, 'udp', 7, { reply: 'echo' })
    await request(a, 'udp', B, 7, 'arp first') // neighbours resolved before the capture starts
    const cap = capture(b, 'eth0', { count: 4 })
    for (const m of ['one', 'two']) assert.equal((await request(a, 'udp', B, 7, m)).toString(), m)
    const res = await cap.done
    assert.deepEqual([res.packets, res.reason], [4, 'count'])
    const text = execFileSync('tcpdump', ['-nn', '-r', res.file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')
    assert.equal(text.length, 4, text.join('\n'))
    assert.equal(text.filter((l) => new RegExp(`IP ${A}\\.\\d+ > ${B}\\.7: UDP, length 3$`).test(l)).length, 2, text.join('\n'))
    assert.equal(text.filter((l) => new RegExp(`IP ${B}\\.7 > ${A}\\.\\d+: UDP, length 3$`).test(l)).length, 2, text.join('\n'))
    const small = capture(b, 'eth0', { maxBytes: 50 })
    await request(a, 'udp', B, 7, 'three')
    const r2 = await small.done
    assert.deepEqual([r2.packets, r2.reason], [1, 'bytes'])
    assert.equal(execFileSync('tcpdump', ['-nn', '-r', r2.file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').length, 1)
  })
})
