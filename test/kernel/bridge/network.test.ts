/**
 * Bridge networks with real packets, all inside the sandbox: a "host" namespace holding the
 * bridges, pod namespaces, and an "upstream" namespace standing for the internet.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { AddressInUseError, ExistsError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import type { NetworkManager } from '../../../src/bridge/index.js'
import type { ChildProcess } from 'node:child_process'
import { Conntrack, IPS_DST_NAT } from '../../../src/netlink/conntrack/index.js'
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
    assert.equal(br!.linkinfo!.info_kind, 'bridge')
    assert.equal(br!.mtu, 1400)
    assert.equal(br!.address, c.bridgeMac)
    assert.ok(br!.flags.includes('UP'))
    assert.equal(br!.linkinfo!.info_data!.stp_state, 0)
    const addrs = ipJson(topo.host.name, 'addr', 'show', 'dev', c.bridge)[0]!.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)
    assert.ok(addrs.includes('10.88.0.1/24') && addrs.includes('fd88::1/64'))
    const sysctl = (p: string): string => topo.host.ns.runSync(() => readFileSync(`/proc/sys/${p}`, 'utf8').trim())
    assert.equal(sysctl('net/ipv4/ip_forward'), '1')
    assert.equal(sysctl(`net/ipv4/conf/${c.bridge}/route_localnet`), '1')
    assert.equal(sysctl(`net/ipv6/conf/${c.bridge}/accept_ra`), '0')
    const rules = nftRuleset(topo.host.name).filter((o) => o.rule).map((o) => o.rule)
    assert.ok(rules.every((r: any) => r.family === 'inet' && r.table === 'podnet'))
    assert.ok(rules.some((r: any) => r.chain === 'postrouting' && r.comment === `podnet o=${m.owner} net=web masquerade`))
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
    assert.equal(eth0!.address, a.mac)
    assert.ok(eth0!.flags.includes('UP'))
    assert.deepEqual(eth0!.addr_info.filter((x: any) => x.family === 'inet').map((x: any) => `${x.local}/${x.prefixlen}`), ['10.88.0.2/24'])
    assert.deepEqual(JSON.parse(ip(pod.name, '-j', 'route')).find((r: any) => r.dst === 'default'), { dst: 'default', gateway: '10.88.0.1', dev: 'eth0', flags: [] })
    assert.ok(pod.link('lo')!.flags.includes('UP'))
    assert.equal(pod.ns.runSync(() => readFileSync('/proc/sys/net/ipv4/conf/eth0/arp_notify', 'utf8').trim()), '1')
    const port = bridgeJson(topo.host.name, 'link', 'show', 'dev', a.hostVeth)[0]!
    assert.equal(port.master, c.bridge)
    assert.equal(port.hairpin, true)
    assert.deepEqual(ipJson(topo.host.name, 'addr', 'show', 'dev', a.hostVeth)[0]!.addr_info, [], 'no IPv6 link-local on the host end')
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

  it('reservations: a detach keeps the addresses under a key, nobody else gets them (nor gc), an attach naming the key takes them back; released by prefix or with the network', async () => {
    await m.create({ name: 'web', subnets: ['10.88.0.0/24', 'fd88::/64'] })
    const podAddrs = (name: string): string[] => ipJson(name, 'addr', 'show', 'dev', 'eth0')[0]!.addr_info.filter((x: any) => x.scope === 'global').map((x: any) => x.local)
    const first = topo.pod()
    const a = await m.attach({ network: 'web', netns: first.name, id: 'web-1', reservation: 'statefulset/web/1' })
    const ips = a.addresses.map((x) => addr(x.address))
    assert.deepEqual(ips, ['10.88.0.2', 'fd88::2'], 'a key without a reservation: as usual')
    assert.deepEqual(await m.reservations('web'), [])
    assert.equal((await m.detach({ network: 'web', id: 'web-1', reserveAs: 'statefulset/web/1' })).detached, true)
    assert.deepEqual((await m.reservations('web')).map((r) => `${r.network} ${r.key} ${r.ifname} ${r.ip}`), ['web statefulset/web/1 eth0 10.88.0.2', 'web statefulset/web/1 eth0 fd88::2'])
    assert.deepEqual(await m.detach({ network: 'web', id: 'web-1', reserveAs: 'statefulset/web/1' }).then((r) => r.detached), false)
    assert.equal((await m.reservations('web')).length, 2, 'a second detach leaves the reservation alone')
    // others: refused when they ask for it, another address when they do not
    const other = topo.pod()
    await assert.rejects(m.attach({ network: 'web', netns: other.name, id: 'squatter', ips: ['10.88.0.2'] }), (e: unknown) => e instanceof AddressInUseError && e.reservation === 'statefulset/web/1' && /owned by the reservation 'statefulset\/web\/1'/.test(e.message))
    assert.equal(other.link('eth0'), undefined, 'nothing made')
    const b = await m.attach({ network: 'web', netns: other.name, id: 'other' })
    assert.deepEqual(b.addresses.map((x) => addr(x.address)), ['10.88.0.3', 'fd88::3'])
    // gc and check: a reservation is neither a leftover nor drift
    assert.deepEqual((await m.gc()).releasedAddresses, [])
    assert.deepEqual(await m.check(), [])
    assert.equal((await m.reservations('web')).length, 2)
    // taken back by the next pod naming the key (another id), also with another --ip asked for
    const second = topo.pod()
    const c = await m.attach({ network: 'web', netns: second.name, id: 'web-1-again', ips: ['10.88.0.77'], reservation: 'statefulset/web/1' })
    assert.deepEqual(c.addresses.map((x) => addr(x.address)), ips)
    assert.deepEqual(podAddrs(second.name), ips)
    assert.deepEqual(await m.reservations('web'), [])
    // an attach that fails after taking the reservation puts it back (the host port is taken)
    await m.detach({ network: 'web', id: 'web-1-again', reserveAs: 'statefulset/web/1' })
    await m.attach({ network: 'web', netns: topo.pod().name, id: 'port', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    await assert.rejects(m.attach({ network: 'web', netns: topo.pod().name, id: 'web-1-x', reservation: 'statefulset/web/1', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }), /already exists/)
    assert.deepEqual((await m.reservations('web')).map((r) => r.ip), ips)
    // released by key prefix (a prefix of another set's keys is not touched)
    await m.detach({ network: 'web', id: 'other', reserveAs: 'statefulset/webx/0' })
    assert.deepEqual((await m.releaseReservations('statefulset/web/')).map((r) => `${r.network} ${r.key} ${r.ip}`), ['web statefulset/web/1 10.88.0.2', 'web statefulset/web/1 fd88::2'])
    assert.deepEqual((await m.reservations('web')).map((r) => r.key), ['statefulset/webx/0', 'statefulset/webx/0'])
    const d = await m.attach({ network: 'web', netns: topo.pod().name, id: 'd', ips: ['10.88.0.2'] })
    assert.equal(addr(d.addresses[0]!.address), '10.88.0.2', 'free again')
    // the network's removal drops the rest
    await m.remove('web', { force: true })
    await m.create({ name: 'web', subnets: ['10.88.0.0/24', 'fd88::/64'] })
    assert.deepEqual(await m.reservations('web'), [])
  })

  it('remove refuses while pods are attached, then removes everything (and the table with the last network)', async () => {
    const before = hostState()
    const c = await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
    const pod = topo.pod()
    await m.attach({ network: 'web', netns: pod.name })
    await assert.rejects(m.remove('web'), /has 1 attachment\(s\).*force/)
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

  describe('published ports are map elements', () => {
    const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp' }

    it('attach adds one element per mapping and family (owner comment, counter); nft -j shows what podnet reads back; detach deletes them by key', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24', 'fd88::/64'] })
      const pod = topo.pod()
      const before = hostState()
      const a = await m.attach({ network: 'web', netns: pod.name, portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: UPSTREAM.hostV4, hostPort: 5353, containerPort: 53, protocol: 'udp' },
        { hostIp: UPSTREAM.hostV6, hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      ] })
      assert.ok(!('rules' in a), 'no rule per port')
      assert.deepEqual(a.portElements, [
        { map: 'hostports4', key: [6, 8080] },
        { map: 'hostports6', key: [6, 8080] },
        { map: 'hostip-ports4', key: [UPSTREAM.hostV4, 17, 5353] },
        { map: 'hostip-ports6', key: [UPSTREAM.hostV6, 6, 8443] },
      ])
      const owner = `podnet o=${m.owner} net=web id=${pod.name} if=eth0`
      const json = nftRuleset(topo.host.name).filter((o) => o.map).map((o) => o.map)
      const fromNft = json.flatMap((mp: any) => (mp.elem ?? []).map(([k, v]: any) => ({ map: mp.name, key: k.elem.val.concat, data: v.concat, comment: k.elem.comment, counter: k.elem.counter })))
      const fromPodnet = (await m.portMapEntries()).map((e) => ({
        map: e.map, key: e.key.map((x, i) => (i === e.key.length - 2 ? PROTO[x as number] : x)), data: e.data, comment: e.comment,
        counter: { packets: Number(e.packets), bytes: Number(e.bytes) },
      }))
      const byKey = (x: { map: string; key: unknown }): string => `${x.map} ${JSON.stringify(x.key)}`
      assert.deepEqual(fromPodnet.sort((x, y) => byKey(x).localeCompare(byKey(y))), fromNft.sort((x: any, y: any) => byKey(x).localeCompare(byKey(y))))
      assert.equal(fromPodnet.length, 4)
      assert.ok(fromPodnet.every((e) => e.comment === owner))
      // the element counters count the packets DNATed through them
      await serve(pod, 'tcp', 80)
      probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080)
      const used = (await m.portMapEntries()).find((e) => e.map === 'hostports4')
      assert.ok((used?.packets ?? 0n) >= 1n, 'the element counted the connection')
      assert.deepEqual(await m.check(), [])
      await m.detach({ network: 'web', id: a.id })
      assert.deepEqual(await m.portMapEntries(), [])
      assert.equal(hostState(), before)
    })

    it('check reports a published port whose element went missing', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      const a = await m.attach({ network: 'web', netns: topo.pod().name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      await m.nft.transaction().delElements({ family: 'inet', table: 'podnet', name: 'hostports4', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [6, 8080] }] }).commit()
      assert.deepEqual(await m.check(), [{ network: 'web', object: `attachment ${a.id}@eth0 published port tcp *:8080 (map hostports4)`, problem: 'missing' }])
      // detach still succeeds (the element is already gone)
      assert.equal((await m.detach({ network: 'web', id: a.id })).detached, true)
    })

  })

  describe('UDP: stale conntrack entries are flushed when a port is published', () => {
    const children: ChildProcess[] = []
    afterEach(() => {
      for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
    })

    /** A UDP server in the namespace answering every datagram with `tag`. */
    async function udpServer(ns: { ns: { spawn: typeof topo.host.ns.spawn } }, port: number, tag: string, v6 = false): Promise<void> {
      const code = `const s=require('dgram').createSocket('${v6 ? 'udp6' : 'udp4'}');s.on('message',(m,r)=>s.send('${tag}',r.port,r.address));s.bind(${port},()=>console.log('ready'))`
      const c = ns.ns.spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
      children.push(c)
      await new Promise<void>((resolve, reject) => { c.stdout!.once('data', () => resolve()); c.once('exit', (x) => reject(new Error(`server exited ${x}`))) })
    }

    /** A client in upstream sending a datagram every 50 ms from one source port (one conntrack flow); collects the answers. */
    function udpClient(host: string, port: number, srcPort = 40000): { answers: string[] } {
      const v6 = host.includes(':')
      const code = `const s=require('dgram').createSocket('${v6 ? 'udp6' : 'udp4'}');s.on('message',(m)=>process.stdout.write(m+'\\n'));s.on('error',()=>{});s.bind(${srcPort},()=>setInterval(()=>s.send('hi',${port},'${host}'),50))`
      const c = topo.upstream.ns.spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
      children.push(c)
      const out = { answers: [] as string[] }
      c.stdout!.on('data', (d) => { out.answers.push(...String(d).split('\n').filter(Boolean)) })
      return out
    }

    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
    async function answered(c: { answers: string[] }, tag: string, ms: number): Promise<boolean> {
      const from = c.answers.length
      for (let t = 0; t < ms; t += 50) {
        if (c.answers.slice(from).includes(tag)) return true
        await sleep(50)
      }
      return false
    }

    it('a client that kept sending before the port was published (and to the pod that had it before) reaches the new pod', async () => {
      await m.create({ name: 'web', subnets: ['10.88.0.0/24'] })
      const [p1, p2, p3] = [topo.pod(), topo.pod(), topo.pod()]
      for (const [p, tag] of [[p1, 'p1'], [p2, 'p2'], [p3, 'p3']] as const) await udpServer(p, 53, tag)
      const a1 = await m.attach({ network: 'web', netns: p1.name })
      const client = udpClient(UPSTREAM.hostV4, 5353)
      const ct = Conntrack.open({ netns: topo.host.ns })
      try {
        // wait for the client's flow: an entry to the host itself (nothing listens there)
        let flows = ct.list({ family: 4, protocol: 17, dstPort: 5353 })
        for (let t = 0; t < 5000 && !flows.length; t += 50) {
          await sleep(50)
          flows = ct.list({ family: 4, protocol: 17, dstPort: 5353 })
        }
        assert.equal(flows.length, 1, 'one flow, to the host')
        assert.equal(flows[0]!.orig.dst, UPSTREAM.hostV4)
        assert.equal(flows[0]!.status & IPS_DST_NAT, 0)
        // the bug, shown: publishing the port without a flush leaves the client where it was
        const el = { family: 'inet', table: 'podnet', name: 'hostports4', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] } as const
        await m.nft.transaction().addElements({ ...el, elements: [{ key: [17, 5353], data: [addr(a1.addresses[0]!.address), 53] }] }).commit()
        assert.equal(await answered(client, 'p1', 1000), false, 'without a flush the stale entry keeps sending to the host')
        await m.nft.transaction().delElements({ ...el, elements: [{ key: [17, 5353] }] }).commit()
        // podnet publishes and flushes
        const a2 = await m.attach({ network: 'web', netns: p2.name, portMappings: [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }] })
        assert.ok(await answered(client, 'p2', 3000), 'the client reaches the pod that published the port')
        // the port moves to another pod: the client follows
        await m.detach({ network: 'web', id: a2.id })
        const a3 = await m.attach({ network: 'web', netns: p3.name, portMappings: [{ hostIp: UPSTREAM.hostV4, hostPort: 5353, containerPort: 53, protocol: 'udp' }] })
        assert.ok(await answered(client, 'p3', 3000), 'the client follows the port to the next pod')
        const now = ct.list({ family: 4, protocol: 17, dstPort: 5353 })
        assert.equal(now.length, 1)
        assert.ok(now[0]!.status & IPS_DST_NAT, 'DNATed')
        assert.equal(now[0]!.reply.src, addr(a3.addresses[0]!.address), 'to p3')
        // the dump-and-delete path (kernels < 6.12 have no delete by filter): other ports are left alone, this one goes
        assert.equal(ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5354 }), 0)
        assert.equal(ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5353 }, (f) => f.orig.dst === UPSTREAM.hostV4), 1)
        // and the delete by filter (kernel >= 6.12) leaves flows to the same port on another address
        ct.flush({ family: 4, protocol: 17, dstPort: 5353, dst: '10.209.0.99' })
        await sleep(200)
        assert.equal(ct.list({ family: 4, protocol: 17, dstPort: 5353 }).length, 1, 'the client made a new entry; the flush spared it')
      } finally {
        ct.close()
      }
    })

    it('IPv6: the same for a port on every address', async () => {
      await m.create({ name: 'six', subnets: ['fd88::/64'] })
      const [p1, p2] = [topo.pod(), topo.pod()]
      await udpServer(p1, 53, 'p1', true)
      await udpServer(p2, 53, 'p2', true)
      const client = udpClient(UPSTREAM.hostV6, 5353)
      const a1 = await m.attach({ network: 'six', netns: p1.name, portMappings: [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }] })
      assert.ok(await answered(client, 'p1', 3000))
      await m.detach({ network: 'six', id: a1.id })
      await m.attach({ network: 'six', netns: p2.name, portMappings: [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }] })
      assert.ok(await answered(client, 'p2', 3000))
    })
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
    const comments = (await m.portMapEntries()).map((x) => x.comment ?? '')
    assert.ok(!comments.some((x) => x.includes(gone.name)))
    assert.ok(comments.some((x) => x.includes(keep.name)))
    // a stray element (no attachment recorded it) goes too, reported with the rules
    // (of this state directory: another one's element, or one without an owner tag, stays)
    const stray = (port: number, comment?: string): Promise<unknown> => m.nft.transaction().addElements({
      family: 'inet', table: 'podnet', name: 'hostports4', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'],
      elements: [{ key: [6, port], data: ['10.88.0.99', 80], ...(comment !== undefined && { comment }) }],
    }).commit()
    await stray(9999, `podnet o=${m.owner} net=web id=gone if=eth0`)
    await stray(9998, 'podnet o=00000000 net=web id=other if=eth0')
    await stray(9997)
    assert.deepEqual((await m.gc()).removedRules, [`map hostports4 tcp *:9999 -> 10.88.0.99:80 podnet o=${m.owner} net=web id=gone if=eth0`])
    assert.deepEqual((await m.portMapEntries()).filter((e) => e.data[0] === '10.88.0.99').map((e) => e.key[1]).sort(), [9997, 9998])
    await m.nft.transaction().destroyElements({ family: 'inet', table: 'podnet', name: 'hostports4', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [6, 9998] }, { key: [6, 9997] }] }).commit()
    assert.deepEqual(await m.check(), [])
    assert.deepEqual(await m.gc(), { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [], removedIfbs: [] })
  })
})
