/**
 * Bridge networks with real packets, all inside the sandbox: a "host" namespace holding the
 * bridges, pod namespaces, and an "upstream" namespace standing for the internet.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ExistsError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { bridgeJson, createTopology, ip, ipJson, nftApply, nftRuleset, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { probe, serve, stopServers, unreachable } from '../../../src/testing/index.js'

const addr = (cidr: string): string => cidr.split('/')[0]!

describe('kernel: bridge networks', function () {
  this.timeout(60000)
  let topo: Topology
  let m: NetworkManager
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
  })
  afterEach(() => {
    stopServers()
    topo?.close()
  })

  /** Host state that podnet's actions change: links, global addresses, the whole nf_tables ruleset (without counters). */
  const hostState = (): string => JSON.stringify({
    links: (ipJson(topo.host.name, 'link', 'show') as any[]).map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind, master: l.master, mtu: l.mtu, address: l.address })),
    addrs: (ipJson(topo.host.name, 'addr', 'show') as any[]).flatMap((l) => l.addr_info.filter((a: any) => a.scope !== 'link').map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen}`)),
    nft: JSON.stringify(nftRuleset(topo.host.name)).replace(/\{"counter":\{"packets":\d+,"bytes":\d+\}\}/g, 'counter'),
  })

  it('creates the bridge, gateway, sysctls and rules (read back with ip, bridge, nft, and podnet)', async () => {
    const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24', 'fd88::/64'], mtu: 1400 })
    const [br] = ipJson(topo.host.name, 'link', 'show', c.bridge)
    assert.equal(br.linkinfo.info_kind, 'bridge')
    assert.equal(br.mtu, 1400)
    assert.equal(br.address, c.bridgeMac)
    assert.ok(br.flags.includes('UP'))
    assert.equal(br.linkinfo.info_data.stp_state, 0)
    const addrs = ipJson(topo.host.name, 'addr', 'show', 'dev', c.bridge)[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)
    assert.ok(addrs.includes('10.88.0.1/24') && addrs.includes('fd88::1/64'))
    const sysctl = (p: string): string => topo.host.ns.runSync(() => readFileSync(`/proc/sys/${p}`, 'utf8').trim())
    assert.equal(sysctl('net/ipv4/ip_forward'), '1')
    assert.equal(sysctl(`net/ipv4/conf/${c.bridge}/route_localnet`), '1')
    assert.equal(sysctl(`net/ipv6/conf/${c.bridge}/accept_ra`), '0')
    const rules = nftRuleset(topo.host.name).filter((o) => o.rule).map((o) => o.rule)
    assert.ok(rules.every((r: any) => r.family === 'inet' && r.table === 'podnet'))
    assert.ok(rules.some((r: any) => r.chain === 'postrouting' && r.comment === 'podnet net=web masquerade'))
    assert.deepEqual((await m.podnetRules()).map((r) => r.comment).sort(), rules.map((r: any) => r.comment).sort())
    assert.deepEqual(await m.check(), [])
    assert.deepEqual(m.list().map((n) => n.name), ['web'])
  })

  it('attaches a pod: eth0 in the pod, address, route, lo up, hairpin port on the bridge without IPv6 link-local', async () => {
    const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const pod = topo.pod()
    const a = await m.attach({ network: 'web', netns: pod.name })
    assert.deepEqual(a.addresses.map((x) => x.address), ['10.88.0.2/24'])
    const [eth0] = pod.ip('addr', 'show', 'dev', 'eth0')
    assert.equal(eth0.address, a.mac)
    assert.ok(eth0.flags.includes('UP'))
    assert.deepEqual(eth0.addr_info.filter((x: any) => x.family === 'inet').map((x: any) => `${x.local}/${x.prefixlen}`), ['10.88.0.2/24'])
    assert.deepEqual(JSON.parse(ip(pod.name, '-j', 'route')).find((r: any) => r.dst === 'default'), { dst: 'default', gateway: '10.88.0.1', dev: 'eth0', flags: [] })
    assert.ok(pod.link('lo').flags.includes('UP'))
    assert.equal(pod.ns.runSync(() => readFileSync('/proc/sys/net/ipv4/conf/eth0/arp_notify', 'utf8').trim()), '1')
    const port = bridgeJson(topo.host.name, 'link', 'show', 'dev', a.hostVeth)[0]
    assert.equal(port.master, c.bridge)
    assert.equal(port.hairpin, true)
    assert.deepEqual(ipJson(topo.host.name, 'addr', 'show', 'dev', a.hostVeth)[0].addr_info, [], 'no IPv6 link-local on the host end')
    assert.deepEqual(await m.check(), [])
  })

  it('moves real packets: pod to gateway, pod to pod, masquerade to upstream, DNAT from upstream, host and 127.0.0.1, hairpin', async () => {
    await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const p1 = topo.pod()
    const p2 = topo.pod()
    const a1 = await m.attach({ network: 'web', netns: p1.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp' }] })
    const a2 = await m.attach({ network: 'web', netns: p2.name })
    await serve(topo.host, 'tcp', 7000)
    await serve(p1, 'tcp', 80)
    await serve(p1, 'udp', 53)
    await serve(p2, 'tcp', 81)
    await serve(topo.upstream, 'tcp', 9000)
    assert.equal(probe(p1, 'tcp', '10.88.0.1', 7000), addr(a1.addresses[0]!.address), 'pod -> gateway')
    assert.equal(probe(p1, 'tcp', addr(a2.addresses[0]!.address), 81), addr(a1.addresses[0]!.address), 'pod -> pod')
    assert.equal(probe(p1, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, 'pod -> upstream is masqueraded')
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4, 'upstream -> hostPort -> pod keeps the client address')
    assert.equal(probe(topo.upstream, 'udp', UPSTREAM.hostV4, 5353), UPSTREAM.upstreamV4, 'udp published port')
    assert.ok(probe(topo.host, 'tcp', UPSTREAM.hostV4, 8080), 'host -> own address:hostPort')
    assert.ok(probe(topo.host, 'tcp', '127.0.0.1', 8080), 'host -> 127.0.0.1:hostPort')
    assert.equal(probe(p1, 'tcp', UPSTREAM.hostV4, 8080), '10.88.0.1', 'pod -> its own published port (hairpin)')
    assert.equal(probe(p2, 'tcp', UPSTREAM.hostV4, 8080), '10.88.0.1', 'pod -> another pod published port')
  })

  it('IPv6: pod to upstream through masquerade, upstream to a published port', async () => {
    await m.create({ name: 'six', subnets: ['10.89.0.0/24', 'fd89::/64'] })
    const p1 = topo.pod()
    const a1 = await m.attach({ network: 'six', netns: p1.name, portMappings: [{ hostPort: 8443, containerPort: 443, protocol: 'tcp' }] })
    assert.deepEqual(a1.addresses.map((x) => x.address), ['10.89.0.2/24', 'fd89::2/64'])
    await serve(p1, 'tcp', 443)
    await serve(topo.upstream, 'tcp', 9000)
    assert.equal(probe(p1, 'tcp', UPSTREAM.upstreamV6, 9000), UPSTREAM.hostV6, 'masqueraded IPv6')
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV6, 8443), UPSTREAM.upstreamV6, 'DNAT IPv6')
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8443), UPSTREAM.upstreamV4, 'and IPv4 on the same mapping')
    const p2 = topo.pod()
    const a2 = await m.attach({ network: 'six', netns: p2.name })
    assert.equal(probe(p2, 'tcp', addr(a1.addresses[1]!.address), 443), addr(a2.addresses[1]!.address), 'pod to pod over IPv6')
    assert.equal(probe(p1, 'tcp', UPSTREAM.hostV6, 8443), 'fd89::1', 'IPv6 hairpin to its own published port')
    assert.equal(probe(topo.host, 'tcp', UPSTREAM.hostV6, 8443), UPSTREAM.hostV6, 'host to its own IPv6 address and published port')
    await m.create({ name: 'other6', subnets: ['fd90::/64'] })
    const p3 = topo.pod()
    await m.attach({ network: 'other6', netns: p3.name })
    assert.ok(unreachable(p3, 'tcp', addr(a1.addresses[1]!.address), 443), 'IPv6 isolation between networks')
  })

  it('isolates networks from each other; --internal has no way out; --no-nat routes without masquerade', async () => {
    await m.create({ name: 'a', subnets: ['10.90.0.0/24'] })
    await m.create({ name: 'b', subnets: ['10.91.0.0/24'] })
    await m.create({ name: 'in', subnets: ['10.92.0.0/24'], internal: true })
    await m.create({ name: 'plain', subnets: ['10.93.0.0/24'], nat: false })
    const pa = topo.pod(), pb = topo.pod(), pi = topo.pod(), pi2 = topo.pod(), pp = topo.pod()
    const aa = await m.attach({ network: 'a', netns: pa.name })
    const ab = await m.attach({ network: 'b', netns: pb.name })
    const ai = await m.attach({ network: 'in', netns: pi.name })
    await m.attach({ network: 'in', netns: pi2.name })
    await m.attach({ network: 'plain', netns: pp.name })
    await serve(pb, 'tcp', 80)
    await serve(pa, 'tcp', 80)
    await serve(pi, 'tcp', 80)
    await serve(topo.upstream, 'tcp', 9000)
    assert.ok(unreachable(pa, 'tcp', addr(ab.addresses[0]!.address), 80), 'a cannot reach b')
    assert.ok(unreachable(pb, 'tcp', addr(aa.addresses[0]!.address), 80), 'b cannot reach a')
    assert.ok(unreachable(pi, 'tcp', UPSTREAM.upstreamV4, 9000), 'internal: no way out')
    assert.ok(unreachable(pa, 'tcp', addr(ai.addresses[0]!.address), 80), 'internal: no way in')
    assert.ok(probe(pi2, 'tcp', addr(ai.addresses[0]!.address), 80), 'internal: pods reach each other')
    await assert.rejects(m.attach({ network: 'in', netns: topo.pod().name, portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }] }), /is internal .* cannot publish ports/)
    // plain (no NAT): the upstream sees the pod address, and (having no route back) cannot answer
    assert.ok(unreachable(pp, 'tcp', UPSTREAM.upstreamV4, 9000), 'no-nat: unmasqueraded, no route back from upstream')
    ip(topo.upstream.name, 'route', 'add', '10.93.0.0/24', 'via', UPSTREAM.hostV4)
    assert.equal(probe(pp, 'tcp', UPSTREAM.upstreamV4, 9000), '10.93.0.2', 'no-nat: source kept')
  })

  it('detach removes exactly what attach added, and says so when already gone', async () => {
    await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const pod = topo.pod()
    const before = hostState()
    const a = await m.attach({ network: 'web', netns: pod.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    assert.notEqual(hostState(), before)
    const r = await m.detach({ network: 'web', id: a.id })
    assert.equal(r.detached, true)
    assert.equal(hostState(), before)
    assert.equal(pod.link('eth0'), undefined)
    const again = await m.detach({ network: 'web', id: a.id })
    assert.equal(again.detached, false)
    assert.match(again.reason!, /is not attached/)
    // the address is free again and is handed out to the next pod (round robin moves on)
    const b = await m.attach({ network: 'web', netns: pod.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    assert.equal(b.portMappings.length, 1, 'the host port was released')
  })

  it('remove refuses while pods are attached, then removes everything (and the table with the last network)', async () => {
    const before = hostState()
    const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const pod = topo.pod()
    await m.attach({ network: 'web', netns: pod.name })
    await assert.rejects(m.remove('web'), /has 1 attachment\(s\).*--force/)
    await m.remove('web', { force: true })
    assert.equal(topo.host.link(c.bridge), undefined)
    assert.deepEqual(nftRuleset(topo.host.name).filter((o) => o.table), [])
    assert.equal(hostState(), before)
    await assert.rejects(m.remove('web'), NotFoundError)
  })

  it('never touches a table it did not create', async () => {
    nftApply(topo.host.name, 'table ip foreign {\n chain post { type nat hook postrouting priority 50; policy accept; ip saddr 10.1.0.0/16 masquerade comment "theirs"; }\n}\n')
    const foreign = (): string => JSON.stringify(nftRuleset(topo.host.name).filter((o) => JSON.stringify(o).includes('"foreign"')))
    const snapshot = foreign()
    await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const pod = topo.pod()
    await m.attach({ network: 'web', netns: pod.name, portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }] })
    await m.gc()
    await m.remove('web', { force: true })
    assert.equal(foreign(), snapshot)
  })

  describe('bad input: a clear error and nothing changed', () => {
    async function unchanged(fn: () => Promise<unknown>, pattern: RegExp | (new (...a: any[]) => Error)): Promise<void> {
      const before = hostState()
      const files = JSON.stringify(m.list()) + JSON.stringify(m.list().map((n) => m.attachments(n.name)))
      await assert.rejects(fn(), pattern as any)
      assert.equal(hostState(), before, 'kernel state unchanged')
      assert.equal(JSON.stringify(m.list()) + JSON.stringify(m.list().map((n) => m.attachments(n.name))), files, 'podnet state unchanged')
    }

    it('refuses bad networks', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      await unchanged(() => m.create({ name: 'web2', subnets: ['10.88.0.128/25'] }), /10\.88\.0\.128\/25 overlaps 10\.88\.0\.0\/24 of network 'web'/)
      await unchanged(() => m.create({ name: 'up', subnets: ['10.209.0.0/16'] }), /overlaps 10\.209\.0\.0\/24 on up0, already routed in the host namespace/)
      await unchanged(() => m.create({ name: 'tiny', subnets: ['10.95.0.0/31'] }), /too small|\/30/)
      await unchanged(() => m.create({ name: 'gw', subnets: ['10.95.0.0/24'], gateways: ['10.96.0.1'] }), /10\.96\.0\.1/)
      await unchanged(() => m.create({ name: 'long', subnets: ['10.95.0.0/24'], bridge: 'bridge-name-too-long' }), /at most 15 bytes/)
      ip(topo.host.name, 'link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken1')
      await unchanged(() => m.create({ name: 'taken', subnets: ['10.95.0.0/24'], bridge: 'taken0' }), /'taken0' exists and is a veth/)
      await unchanged(() => m.create({ name: 'web', subnets: ['10.97.0.0/24'] }), ExistsError)
      await unchanged(() => m.create({ name: 'bad name!', subnets: ['10.97.0.0/24'] }), InvalidArgumentError)
      await unchanged(() => m.create({ name: 'x', subnets: ['10.97.0.300/24'] }), InvalidArgumentError)
      await unchanged(() => m.create({ name: 'x', subnets: ['10.97.0.1/24'] }), /host bits|10\.97\.0\.0\/24/)
    })

    it('refuses bad attachments', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/29'] })
      const p1 = topo.pod()
      const p2 = topo.pod()
      await m.attach({ network: 'web', netns: p1.name, ips: ['10.88.0.5'], portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      await unchanged(() => m.attach({ network: 'nope', netns: p2.name }), /network 'nope' does not exist/)
      await unchanged(() => m.attach({ network: 'web', netns: 'pn-missing' }), /netns 'pn-missing' does not exist/)
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, ips: ['10.88.1.5'] }), /10\.88\.1\.5/)
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, ips: ['10.88.0.5'] }), /'10\.88\.0\.5' .*owned by container/)
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }), /host port '8080\/tcp' already exists \(published by .* on network 'web'\)/)
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] }), /out of range/)
      await unchanged(() => m.attach({ network: 'web', netns: p1.name }), /attachment .* already exists/)
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, ifname: 'this-is-too-long' }), /at most 15 bytes/)
      // an interface of that name already in the pod: the veth is not created, IPAM and ports are undone
      ip(p2.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1')
      await unchanged(() => m.attach({ network: 'web', netns: p2.name, portMappings: [{ hostPort: 9090, containerPort: 80, protocol: 'tcp' }] }), /interface 'eth0' already exists/)
      // exhaustion: a /29 has 5 usable addresses besides the gateway
      for (let i = 0; i < 4; i++) await m.attach({ network: 'web', netns: topo.pod().name })
      await unchanged(() => m.attach({ network: 'web', netns: topo.pod().name }), /no free address/i)
    })
  })

  describe("known failures of the reference CNI chain, which podnet does not repeat", () => {
    it('rules and addresses do not leak when the namespace is gone before detach', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      const pod = topo.pod()
      const before = hostState()
      const a = await m.attach({ network: 'web', netns: pod.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      pod.close()
      const r = await m.detach({ network: 'web', id: a.id })
      assert.equal(r.detached, true)
      await new Promise((res) => setTimeout(res, 200)) // the namespace dies asynchronously
      assert.equal(hostState(), before)
      assert.deepEqual(await m.check(), [])
    })

    it('a failed duplicate attach and its detach do not free the live pod', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      const live = topo.pod()
      const dup = topo.pod()
      const a = await m.attach({ network: 'web', netns: live.name, id: 'c1' })
      await assert.rejects(m.attach({ network: 'web', netns: dup.name, id: 'c1' }), ExistsError)
      const r = await m.detach({ network: 'web', id: 'c1', netns: dup.name })
      assert.equal(r.detached, false)
      assert.match(r.reason!, /belongs to netns/)
      assert.deepEqual(m.attachments('web').map((x) => x.id), ['c1'])
      const next = await m.attach({ network: 'web', netns: dup.name, id: 'c2' })
      assert.notEqual(next.addresses[0]!.address, a.addresses[0]!.address)
      assert.deepEqual(await m.check(), [])
    })

    it('two pods cannot publish the same host port', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      await m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      await assert.rejects(m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostPort: 8080, containerPort: 81, protocol: 'tcp' }] }), /already exists/)
      await assert.rejects(m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostIp: UPSTREAM.hostV4, hostPort: 8080, containerPort: 81, protocol: 'tcp' }] }), /already exists/)
      await m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostPort: 8080, containerPort: 81, protocol: 'udp' }] })
    })

    it('check passes for an IPv4-only network with published ports', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      await m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      assert.deepEqual(await m.check(), [])
    })

    it('check reports drift', async () => {
      const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      const pod = topo.pod()
      const a = await m.attach({ network: 'web', netns: pod.name })
      ip(pod.name, 'addr', 'flush', 'dev', 'eth0')
      ip(topo.host.name, 'link', 'set', c.bridge, 'down')
      const drift = await m.check('web')
      assert.ok(drift.some((d) => d.object === `bridge ${c.bridge}` && d.problem === 'down'))
      assert.ok(drift.some((d) => d.object.includes(a.addresses[0]!.address)))
    })
  })

  it('gc removes leftovers: orphan veths, unowned addresses, rules and ports of vanished pods', async () => {
    const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const keep = topo.pod()
    const gone = topo.pod()
    await m.attach({ network: 'web', netns: keep.name, portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] })
    await m.attach({ network: 'web', netns: gone.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    gone.close()
    // an orphan podnet veth on the bridge, as a crashed attach would leave
    ip(topo.host.name, 'link', 'add', 'pn0123456789', 'master', c.bridge, 'type', 'veth', 'peer', 'name', 'orphan1')
    const r = await m.gc()
    assert.deepEqual(r.removedAttachments, [`web/${gone.name}@eth0`])
    assert.ok(r.removedVeths.includes('pn0123456789'))
    assert.deepEqual(r.releasedAddresses, ['web/10.88.0.3'])
    assert.deepEqual(m.attachments('web').map((a) => a.id), [keep.name])
    const comments = (await m.podnetRules()).map((x) => x.comment ?? '')
    assert.ok(!comments.some((x) => x.includes(gone.name)))
    assert.ok(comments.some((x) => x.includes(keep.name)))
    assert.deepEqual(await m.check(), [])
    assert.deepEqual(await m.gc(), { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [] })
  })
})
