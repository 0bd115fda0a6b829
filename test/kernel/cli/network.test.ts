/** podnet network / nat commands through the executable, acting in a host namespace. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTopology, ipJson, nftRuleset, probe, serve, stopServers, UPSTREAM, type Topology } from '../../../src/testing/index.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: cli network', function () {
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
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
  })
  afterEach(() => {
    stopServers()
    topo?.close()
  })

  it('create, attach with a published port, inspect, nat ls, nat ports, check, detach, rm', async () => {
    const created = JSON.parse(ok('network', 'create', 'web', '--subnet', '10.88.0.0/24', '--mtu', '1400', '--json'))
    assert.equal(created.bridge, 'pn-web')
    assert.equal(ipJson(topo.host.name, 'link', 'show', 'pn-web')[0]!.mtu, 1400)
    const pod = topo.pod()
    const a = JSON.parse(ok('network', 'attach', 'web', '--netns', pod.name, '-p', '8080:80', '--json'))
    assert.deepEqual(a.addresses, [{ address: '10.88.0.2/24', gateway: '10.88.0.1', family: 4 }])
    assert.deepEqual(a.portMappings, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }])
    assert.equal(pod.link('eth0')!.address, a.mac)
    await serve(pod, 'tcp', 80)
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4)
    const ls = JSON.parse(ok('network', 'ls', '--json'))
    assert.deepEqual(ls.map((n: any) => [n.name, n.attachments]), [['web', 1]])
    assert.match(ok('network', 'ls'), /^NAME\s+BRIDGE\s+SUBNETS\s+MODE\s+ATTACHMENTS\nweb\s+pn-web\s+10\.88\.0\.0\/24\s+nat\s+1/)
    const inspect = JSON.parse(ok('network', 'inspect', 'web', '--json'))
    assert.equal(inspect.attachments[0].hostVeth, a.hostVeth)
    const rules = JSON.parse(ok('nat', 'ls', '--json'))
    const theirs = nftRuleset(topo.host.name).filter((o) => o.rule).map((o) => `${o.rule!.chain}#${o.rule!.handle}`)
    assert.deepEqual(rules.map((r: any) => `${r.chain}#${r.handle}`).sort(), theirs.sort())
    // published ports: podnet's map elements, against nft's view of the same map
    const ports = JSON.parse(ok('nat', 'ports', '--json'))
    assert.deepEqual(ports.map((p: any) => [p.map, p.port]), [['hostports4', 'tcp *:8080 -> 10.88.0.2:80']])
    assert.match(ports[0].owner, new RegExp(`net=web id=${pod.name} if=eth0`))
    const map = nftRuleset(topo.host.name).find((o) => o.map?.name === 'hostports4')!.map!
    assert.equal(map.elem!.length, 1)
    assert.ok(ports[0].packets >= 1, 'the probe went through the element')
    assert.equal(ports[0].packets, Number(/"packets":(\d+)/.exec(JSON.stringify(map.elem![0]))?.[1]), "the element's counter as nft shows it")
    assert.match(ok('nat', 'ports'), /^PUBLISHED\s+OWNER\s+PACKETS\s+MAP\ntcp \*:8080 -> 10\.88\.0\.2:80\s+o=[0-9a-f]{8} net=web/)
    assert.equal(ok('network', 'check'), 'no drift\n')
    assert.match(ok('network', 'detach', 'web', '--netns', pod.name), /^detached /)
    assert.deepEqual(JSON.parse(ok('nat', 'ports', '--json')), [])
    assert.match(ok('network', 'detach', 'web', '--netns', pod.name), /^nothing to detach: .* is not attached/)
    ok('network', 'rm', 'web')
    assert.deepEqual(ipJson(topo.host.name, 'link', 'show').filter((l: any) => l.ifname === 'pn-web'), [])
  })

  it('bad input: clear errors and exit statuses', () => {
    ok('network', 'create', 'web', '--subnet', '10.88.0.0/24')
    const pod = topo.pod()
    const cases: Array<[string[], number, RegExp]> = [
      [['network', 'create', 'x'], 2, /required option '--subnet/],
      [['network', 'create', 'web2', '--subnet', '10.88.0.0/25'], 2, /overlaps 10\.88\.0\.0\/24 of network 'web'/],
      [['network', 'create', 'web', '--subnet', '10.89.0.0/24'], 1, /network 'web' already exists/],
      [['network', 'attach', 'nope', '--netns', pod.name], 1, /network 'nope' does not exist/],
      [['network', 'attach', 'web', '--netns', pod.name, '-p', '99999:80'], 2, /out of range/],
      [['network', 'attach', 'web', '--netns', pod.name, '-p', 'eighty'], 2, /is not \[HOSTIP:\]HOSTPORT:PORT/],
      [['network', 'attach', 'web', '--netns', 'pn-nope'], 1, /netns 'pn-nope' does not exist/],
      [['network', 'detach', 'web'], 2, /give --pod-netns or --id/],
    ]
    for (const [args, status, pattern] of cases) {
      const r = podnet(...args)
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, pattern)
    }
    // --internal needs no --no-nat (an internal network has no NAT by definition)
    const internal = JSON.parse(ok('network', 'create', 'int', '--subnet', '10.90.0.0/24', '--internal', '--json'))
    assert.deepEqual([internal.internal, internal.nat], [true, false])
    ok('network', 'rm', 'int')
    ok('network', 'attach', 'web', '--netns', pod.name)
    const r = podnet('network', 'rm', 'web')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /has 1 attachment\(s\).*--force/)
    ok('network', 'rm', 'web', '--force')
  })
})
