/** podnet network attach --ingress-rate/--egress-rate/--priority, network bandwidth/priority, inspect --stats, qos: through the executable. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTopology, ipJson, nftRuleset, probe, serve, stopServers, tcJson, tcText, UPSTREAM, type Topology } from '../../../src/testing/index.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: cli network limits, stats and qos', function () {
  this.timeout(60000)
  let topo: Topology
  const podnet = (...args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args, '--host-netns', topo.host.name, '--state-dir', topo.stateDir, '--run-dir', topo.runDir], { encoding: 'utf8' })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const ok = (...args: string[]): string => {
    const r = podnet(...args)
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const ifbs = (): string[] => (ipJson(topo.host.name, 'link', 'show', 'type', 'ifb') as any[]).map((l) => l.ifname)
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
  })
  afterEach(() => {
    stopServers()
    topo?.close()
  })

  it('attach with limits and a priority, inspect --stats, change them, qos uplink, detach leaves nothing', async () => {
    ok('network', 'create', 'web', '--subnet', '10.88.0.0/24')
    const pod = topo.pod()
    const a = JSON.parse(ok('network', 'attach', 'web', '--netns', pod.name, '-p', '8080:80', '--ingress-rate', '10M', '--egress-rate', '5M', '--priority', 'high', '--json'))
    assert.deepEqual(a.bandwidth, { ingress: { rateBitsPerSec: 10e6 }, egress: { rateBitsPerSec: 5e6 } })
    assert.equal(a.priority, 6)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', a.hostVeth)[0]!.options!.rate, 1_250_000)
    assert.equal(ifbs().length, 1)
    await serve(pod, 'tcp', 80)
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4)
    const st = JSON.parse(ok('network', 'inspect', 'web', '--stats', '--json')).stats
    assert.equal(st.length, 1)
    assert.equal(st[0].id, pod.name)
    assert.ok(st[0].rxBytes > 0 && st[0].txBytes > 0, JSON.stringify(st[0]))
    const host = ipJson(topo.host.name, '-s', 'link', 'show', a.hostVeth)[0]!.stats64!
    assert.ok(Math.abs(st[0].txBytes - host.rx.bytes) < 500, 'tx of the pod = rx of the host end')
    assert.deepEqual(st[0].ports.map((p: any) => p.port), ['tcp *:8080 -> 10.88.0.2:80'])
    assert.ok(st[0].ports[0].packets >= 1, 'the probe went through the published port')
    assert.deepEqual([st[0].shaping.ingress.rateBitsPerSec, st[0].shaping.egress.rateBitsPerSec], [10e6, 5e6])
    assert.match(ok('network', 'inspect', 'web', '--stats'), /\nID\s+IFNAME\s+RX \(PKTS\)\s+TX \(PKTS\)\s+DROPS RX \/ TX\s+SHAPING\s+PUBLISHED PORTS\n/)
    // change in place
    assert.match(ok('network', 'bandwidth', 'web', '--id', pod.name, '--egress-rate', '2M'), /no limits|in - out 2M/)
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', a.hostVeth)[0]!.kind, 'noqueue')
    assert.match(ok('network', 'priority', 'web', 'low', '--id', pod.name), /priority low \(2\)/)
    // the uplink
    ok('qos', 'uplink', 'add', 'up0', '--rate', '50M')
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', 'up0')[0]!.kind, 'htb')
    assert.match(tcText(topo.host.name, 'class', 'show', 'dev', 'up0'), /class htb 1:1 root rate 50Mbit ceil 50Mbit/)
    const q = JSON.parse(ok('qos', 'show', '--json'))
    assert.equal(q.uplinks[0].dev, 'up0')
    assert.equal(q.uplinks[0].applied, true)
    assert.deepEqual(q.marks.map((x: any) => [x.address, x.level]), [['10.88.0.2', 2]])
    assert.match(ok('qos', 'show'), /^uplink up0 50Mbit\nLEVEL\s+CLASS\s+BYTES/)
    ok('network', 'detach', 'web', '--netns', pod.name)
    assert.deepEqual(ifbs(), [])
    assert.equal(nftRuleset(topo.host.name).find((o) => o.map?.name === 'prio4')!.map!.elem, undefined)
    ok('qos', 'uplink', 'rm', 'up0')
    assert.equal(tcJson(topo.host.name, 'qdisc', 'show', 'dev', 'up0')[0]!.kind, 'noqueue')
  })

  it('bad rates and priorities: exit 2, one line naming the flag, nothing made', () => {
    ok('network', 'create', 'web', '--subnet', '10.88.0.0/24')
    const pod = topo.pod()
    const cases: Array<[string[], RegExp]> = [
      [['--ingress-rate', '10X'], /^podnet: --ingress-rate: cannot parse "10X" as a quantity/],
      [['--egress-rate', '100'], /^podnet: --egress-rate: "100" is unreasonably small \(< 1kbit\)/],
      [['--egress-burst', '1M'], /^podnet: --egress-burst: needs --egress-rate/],
      [['--priority', 'urgent'], /^podnet: --priority: "urgent" is not a priority/],
      [['--ingress-rate', '1M', '--ingress-burst', '800'], /^podnet: ingress rate: .*smaller than one packet|^podnet: .*smaller than one packet/],
    ]
    for (const [flags, msg] of cases) {
      const r = podnet('network', 'attach', 'web', '--netns', pod.name, ...flags)
      assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, msg)
      assert.equal(r.stderr.trim().split('\n').length, 1)
    }
    assert.deepEqual(JSON.parse(ok('network', 'inspect', 'web', '--json')).attachments, [])
    assert.deepEqual(ifbs(), [])
    const u = podnet('qos', 'uplink', 'add', 'nosuch0', '--rate', '10M')
    assert.equal(u.status, 1)
    assert.match(u.stderr, /nosuch0/)
  })
})
