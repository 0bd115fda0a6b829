/**
 * The DNS responder with real queries from inside pods: the responder process that podnet runs
 * (ensureDnsResponder), its sockets on each network's gateway inside the topology's host
 * namespace, answers from the attachment records, forwarding to a resolver of the test's own in
 * the "internet" namespace (never the machine's: PODNET_RESOLV_CONF points at it).
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NetworkManager } from '../../../src/bridge/index.js'
import { dnsPaths, dnsResponderStatus, ensureDnsResponder, ipToReverseName, stopDnsResponder, type DnsStatus } from '../../../src/dns/index.js'
import { PodRuntime, detectCgroupLayout, validateManifest, type PodRecord } from '../../../src/runtime/index.js'
import { containerEnv, ensureLauncher, execArgs } from '../../../src/runtime/launcher.js'
import { resolveSecurity, seccompFilterBytes } from '../../../src/runtime/security/index.js'
import { TestResolver, UPSTREAM, createTopology, dnsAddresses, dnsExchange, dnsQuery, dnsQueryBytes, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { buildRootfs, removeCgroupTree } from '../runtime/support.js'
import { namespaceTable } from '../../../src/runtime/ns-table.js'
import { podNamespacesDot, renderSvg } from '../../../src/topology/index.js'
import { assertWellFormedXml } from '../../support/xml.js'

const GW1 = '10.91.0.1'
const GW1V6 = 'fd91::1'
const GW2 = '10.92.0.1'

/** Runs argv in a running container without blocking the event loop (the test's resolver runs in this process). */
function execAsync(rec: PodRecord, container: string, argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const cs = rec.containers.find((c) => c.name === container)
  if (!cs || cs.state.status !== 'running') throw new Error(`container ${container} is not running`)
  const spec = rec.spec.containers.find((c) => c.name === container)!
  const procs = cs.cgroup !== undefined ? detectCgroupLayout().hierarchies.map((h) => join(h.mount, cs.cgroup!, 'cgroup.procs')) : []
  const security = resolveSecurity(rec.spec.securityContext, spec.securityContext)
  const filter = seccompFilterBytes(security)
  const child = spawn(ensureLauncher(), execArgs({ target: cs.state.pid, cgroupProcs: procs, env: containerEnv(rec.spec.hostname, spec.env), argv, security, seccompFd: 0 }))
  child.stdin.end(filter ?? '')
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ status: code ?? -1, stdout, stderr }) }))
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('kernel: dns responder', function () {
  this.timeout(90_000)
  let topo: Topology
  let m: NetworkManager
  let upstream: TestResolver
  let dir: string
  let env: NodeJS.ProcessEnv
  let dirs: { stateDir: string; runDir: string }
  /** Pod namespaces by name, with their IPv4 address. */
  const pods = new Map<string, { ns: TempNetns; ip: string; ip6?: string }>()

  async function podOn(network: string, name: string, names: string[] = [name]): Promise<{ ns: TempNetns; ip: string; ip6?: string }> {
    const ns = topo.pod('pn-dnspod')
    const a = await m.attach({ network, netns: ns.name, id: name, dnsNames: names })
    const p = { ns, ip: a.addresses.find((x) => x.family === 4)!.address.split('/')[0]!, ...(a.addresses.some((x) => x.family === 6) && { ip6: a.addresses.find((x) => x.family === 6)!.address.split('/')[0]! }) }
    pods.set(name, p)
    return p
  }
  const pod = (name: string): { ns: TempNetns; ip: string; ip6?: string } => pods.get(name)!
  const status = (): DnsStatus => {
    const st = dnsResponderStatus(dirs)
    assert.ok(st, 'the responder runs')
    return st
  }

  /** Waits (up to 4 s: the status file is rewritten every 2 s) until a counter of the responder reaches n. */
  async function counterAtLeast(network: string, k: keyof DnsStatus['networks'][number]['counters'], n: number): Promise<void> {
    let v = 0
    for (let i = 0; i < 200; i++) {
      v = status().networks.find((x) => x.name === network)?.counters[k] ?? 0
      if (v >= n) return
      await sleep(20)
    }
    assert.fail(`${network} ${k}: ${v}, expected at least ${n}`)
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    m = topo.manager()
    dirs = { stateDir: topo.stateDir, runDir: topo.runDir }
    await m.create({ name: 'net1', subnets: ['10.91.0.0/24', 'fd91::/64'], dns: true })
    await m.create({ name: 'net2', subnets: ['10.92.0.0/24'], dns: true })
    await m.create({ name: 'plain', subnets: ['10.93.0.0/24'] })
    upstream = await TestResolver.start(topo.upstream.ns, UPSTREAM.upstreamV4, {
      records: {
        'www.example.test': [{ type: 'A', data: '192.0.2.10', ttl: 1234 }, { type: 'AAAA', data: '2001:db8::10', ttl: 1234 }],
        'big.example.test': Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, data: `198.51.100.${i + 1}`, ttl: 60 })),
        '10.2.0.192.in-addr.arpa': [{ type: 'PTR', data: 'www.example.test' }],
      },
      servfail: ['broken.example.test'],
      silent: ['slow.example.test'],
    })
    dir = mkdtempSync(join(tmpdir(), 'podnet-dns-test-'))
    writeFileSync(join(dir, 'resolv.conf'), `# the test's internet\nnameserver 127.0.0.53\nnameserver ${UPSTREAM.upstreamV4}\n`)
    // every responder this process starts (the runtime's watchdog too) asks the test's internet only
    process.env.PODNET_RESOLV_CONF = join(dir, 'resolv.conf')
    env = { ...process.env, PODNET_DNS_IDLE_MS: '60000' }
    await ensureDnsResponder(dirs, { network: 'net1', env })
    await ensureDnsResponder(dirs, { network: 'net2', env })
    await podOn('net1', 'web', ['web', 'www', 'frontend'])
    await podOn('net1', 'client')
    await podOn('net2', 'other')
  })

  after(async () => {
    delete process.env.PODNET_RESOLV_CONF
    if (!topo) return
    await stopDnsResponder(dirs)
    upstream?.close()
    topo.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('listens on each gateway of each network with DNS, in the host namespace, UDP and TCP port 53 (ss oracle)', () => {
    const st = status()
    assert.deepEqual(st.networks.map((n) => [n.name, n.addresses, n.error]), [['net1', [`${GW1}:53`, `[${GW1V6}]:53`], undefined], ['net2', [`${GW2}:53`], undefined]])
    assert.deepEqual(st.upstreams, [`${UPSTREAM.upstreamV4}:53`], 'the loopback server of resolv.conf is skipped')
    const ss = (flag: string): string => topo.host.ns.spawnSync('ss', ['-Hn', flag, 'state', flag === '-u' ? 'unconnected' : 'listening'], { encoding: 'utf8' }).stdout as string
    for (const flag of ['-u', '-t']) {
      const out = ss(flag)
      for (const a of [`${GW1}:53`, `[${GW1V6}]:53`, `${GW2}:53`]) assert.ok(out.includes(a), `${flag} ${a} in:\n${out}`)
      assert.ok(!out.includes('10.93.0.1:53'), 'nothing on the network without DNS')
    }
    // only in the host namespace: not in the sandbox's own namespace, where the process runs
    assert.ok(!(spawnSync('ss', ['-Hnul'], { encoding: 'utf8' }).stdout).includes(`${GW1}:53`))
  })

  it('a pod resolves pods of its network by name, alias and NETWORK suffix, A and AAAA, over UDP and TCP', async () => {
    const web = pod('web')
    const client = pod('client').ns.ns
    for (const name of ['web', 'www', 'frontend.net1', 'WEB.NET1.']) {
      const r = await dnsQuery(client, GW1, name)
      assert.equal(r.rcode, 'NOERROR', name)
      assert.ok(r.flag_aa, 'authoritative')
      assert.deepEqual(dnsAddresses(r), [web.ip], name)
      assert.equal((r.answers![0] as { ttl: number }).ttl, 5)
    }
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1, 'web', 'AAAA')), [web.ip6])
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1, 'web', 'A', { tcp: true })), [web.ip])
    // over IPv6 to the IPv6 gateway
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1V6, 'web.net1', 'A')), [web.ip])
    assert.equal((await dnsQuery(client, GW1, 'nobody.net1')).rcode, 'NXDOMAIN')
  })

  it('isolation: another network\'s pods are not names here, and its pods get REFUSED (TCP: closed) at this gateway', async () => {
    const other = pod('other').ns.ns
    // net2's responder knows nothing of net1: web is forwarded and the internet has no such name
    const r = await dnsQuery(other, GW2, 'web')
    assert.equal(r.rcode, 'NXDOMAIN')
    assert.deepEqual(dnsAddresses(r), [])
    assert.equal((await dnsQuery(other, GW2, 'web.net1')).rcode, 'NXDOMAIN')
    // its own network's names work
    assert.deepEqual(dnsAddresses(await dnsQuery(other, GW2, 'other')), [pod('other').ip])
    // net1's gateway is reachable through the host, but not for net2's pods
    const refused = await dnsQuery(other, GW1, 'web')
    assert.equal(refused.rcode, 'REFUSED')
    assert.deepEqual(refused.answers, [])
    await assert.rejects(dnsQuery(other, GW1, 'web', 'A', { tcp: true }), /closed|ECONNRESET/)
    // nor for the internet (given a route to the gateway)
    topo.upstream.rt.route.addSync({ dst: '10.91.0.0/24', family: 4, via: UPSTREAM.hostV4 })
    assert.equal((await dnsQuery(topo.upstream.ns, GW1, 'web')).rcode, 'REFUSED')
    await counterAtLeast('net1', 'refused', 3)
  })

  it('reverse lookups: PTR of a pod address (IPv4 and IPv6) is its own name in the network; unknown addresses NXDOMAIN', async () => {
    const client = pod('client').ns.ns
    const web = pod('web')
    for (const ip of [web.ip, web.ip6!]) {
      const r = await dnsQuery(client, GW1, ipToReverseName(ip), 'PTR')
      assert.equal(r.rcode, 'NOERROR')
      assert.deepEqual(r.answers?.map((a) => (a as { data: string }).data), ['web.net1'])
    }
    assert.equal((await dnsQuery(client, GW1, ipToReverseName('10.91.0.200'), 'PTR')).rcode, 'NXDOMAIN')
    // outside the subnets: forwarded
    assert.deepEqual((await dnsQuery(client, GW1, ipToReverseName('192.0.2.10'), 'PTR')).answers?.map((a) => (a as { data: string }).data), ['www.example.test'])
  })

  it('a name appears when attach returns and is gone when detach returns (20 rounds, no waiting)', async () => {
    const client = pod('client').ns.ns
    const ns = topo.pod('pn-dnspod')
    try {
      for (let i = 0; i < 20; i++) {
        const a = await m.attach({ network: 'net1', netns: ns.name, id: 'flash', dnsNames: ['flash'] })
        const up = await dnsQuery(client, GW1, 'flash')
        assert.deepEqual(dnsAddresses(up), [a.addresses[0]!.address.split('/')[0]], `round ${i}: present after attach`)
        await m.detach({ network: 'net1', id: 'flash', netnsGoing: true })
        const gone = await dnsQuery(client, GW1, 'flash.net1')
        assert.equal(gone.rcode, 'NXDOMAIN', `round ${i}: gone after detach`)
        assert.equal((await dnsQuery(client, GW1, ipToReverseName(a.addresses[0]!.address.split('/')[0]!), 'PTR')).rcode, 'NXDOMAIN')
        // the veth goes with the namespace later; here the next attach needs it gone
        const v = topo.host.rt.link.findSync(a.hostVeth)
        if (v) await topo.host.rt.link.del(a.hostVeth)
      }
    } finally {
      ns.close()
    }
  })

  it('forwards other names to the upstream: TTLs kept, NXDOMAIN and SERVFAIL passed through, no answer -> SERVFAIL', async () => {
    const client = pod('client').ns.ns
    const r = await dnsQuery(client, GW1, 'www.example.test')
    assert.equal(r.rcode, 'NOERROR')
    assert.deepEqual(dnsAddresses(r), ['192.0.2.10'])
    assert.equal((r.answers![0] as { ttl: number }).ttl, 1234, "the upstream's TTL")
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1V6, 'www.example.test', 'AAAA')), ['2001:db8::10'])
    assert.equal((await dnsQuery(client, GW1, 'missing.example.test')).rcode, 'NXDOMAIN')
    assert.equal((await dnsQuery(client, GW1, 'broken.example.test')).rcode, 'SERVFAIL')
    const t0 = Date.now()
    assert.equal((await dnsQuery(client, GW1, 'slow.example.test', 'A', { timeoutMs: 6000 })).rcode, 'SERVFAIL')
    assert.ok(Date.now() - t0 >= 1500, 'after the upstream timeout')
    assert.ok(upstream.asked.udp.includes('www.example.test/A'))
  })

  it('EDNS and truncation: a big forwarded answer comes back with TC over UDP and whole over TCP (the forwarder asks over TCP)', async () => {
    const client = pod('client').ns.ns
    const udp = await dnsQuery(client, GW1, 'big.example.test')
    assert.ok(udp.flag_tc, '60 addresses do not fit in 512 bytes')
    const edns = await dnsQuery(client, GW1, 'big.example.test', 'A', { edns: 4096 })
    assert.ok(!edns.flag_tc, 'the client\'s EDNS size reached the upstream')
    assert.equal(dnsAddresses(edns).length, 60)
    assert.equal(edns.additionals?.find((a) => a.type === 'OPT')?.type, 'OPT')
    const before = upstream.asked.tcp.length
    const tcp = await dnsQuery(client, GW1, 'big.example.test', 'A', { tcp: true })
    assert.ok(!tcp.flag_tc)
    assert.equal(dnsAddresses(tcp).length, 60)
    assert.equal(upstream.asked.tcp.length, before + 1, 'the upstream was asked over TCP')
  })

  it('a burst of 100 questions for 100 names is answered without loss', async () => {
    const client = pod('client').ns.ns
    const want = new Map<string, string>()
    for (let i = 0; i < 10; i++) {
      const names = Array.from({ length: 10 }, (_, j) => `b${i}-${j}`)
      const p = await podOn('net1', `burst${i}`, names)
      for (const n of names) want.set(n, p.ip)
    }
    const before = status().networks.find((n) => n.name === 'net1')!.counters.queries
    const answers = await Promise.all([...want.keys()].map((n) => dnsQuery(client, GW1, n, 'A', { timeoutMs: 5000 })))
    assert.equal(answers.length, 100)
    answers.forEach((r, i) => {
      const n = [...want.keys()][i]!
      assert.equal(r.rcode, 'NOERROR', n)
      assert.deepEqual(dnsAddresses(r), [want.get(n)], n)
    })
    await counterAtLeast('net1', 'queries', before + 100)
  })

  it('malformed packets (truncated header, label loops, oversized, garbage over TCP) get FORMERR or are dropped; the responder lives on', async () => {
    const client = pod('client').ns.ns
    const pid = status().pid
    const q = dnsQueryBytes('web.net1', 'A', { id: 4321 })
    // a header cut short: dropped (no answer)
    await assert.rejects(dnsExchange(client, GW1, q.subarray(0, 7), { timeoutMs: 500 }), /timeout/)
    // a truncated question, a label loop, a 320-character name: FORMERR with the id
    const loop = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])])
    const long = Buffer.concat([q.subarray(0, 12), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0, 0, 1, 0, 1])])
    for (const [what, bad] of [['truncated', q.subarray(0, q.length - 2)], ['loop', loop], ['long', long]] as const) {
      const r = await dnsExchange(client, GW1, bad).catch((e: Error) => assert.fail(`${what}: ${e.message}`))
      assert.equal(r.readUInt16BE(0), 4321)
      assert.equal(r.readUInt16BE(2) & 0x800f, 0x8001, 'a response with FORMERR')
    }
    // oversized: a 4000-byte datagram of garbage after a valid header
    const huge = Buffer.concat([q.subarray(0, 12), randomBytes(4000)])
    const hr = await dnsExchange(client, GW1, huge).catch(() => undefined)
    if (hr) assert.equal(hr.readUInt16BE(2) & 0xf, 1)
    // a response sent to the server: dropped
    const resp = Buffer.from(q)
    resp[2] = resp[2]! | 0x80
    await assert.rejects(dnsExchange(client, GW1, resp, { timeoutMs: 500 }), /timeout/)
    // TCP: a frame of garbage, then a frame that is too short: FORMERR, then the connection closes
    await dnsExchange(client, GW1, loop, { tcp: true }).then((r) => assert.equal(r.readUInt16BE(2) & 0xf, 1), (e: Error) => assert.fail(`tcp loop: ${e.message}`))
    await assert.rejects(dnsExchange(client, GW1, Buffer.alloc(5), { tcp: true, timeoutMs: 2000 }), /closed|timeout/)
    // 200 random datagrams
    await Promise.all(Array.from({ length: 200 }, () => dnsExchange(client, GW1, randomBytes(1 + Math.floor(Math.random() * 600)), { timeoutMs: 300 }).catch(() => undefined)))
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1, 'web').catch((e: Error) => assert.fail(`after: ${e.message}; log: ${readFileSync(dnsPaths(dirs).log, 'utf8')}`))), [pod('web').ip], 'still answering')
    assert.equal(status().pid, pid, 'the same process')
    assert.match(readFileSync(dnsPaths(dirs).log, 'utf8'), /listening on/)
  })

  it('killed (SIGKILL): ensureDnsResponder (network create, attach, the supervisor) starts another that rebuilds everything from the records', async () => {
    const client = pod('client').ns.ns
    const old = status().pid
    process.kill(old, 'SIGKILL')
    await assert.rejects(dnsQuery(client, GW1, 'web', 'A', { timeoutMs: 500 }))
    const st = await ensureDnsResponder(dirs, { network: 'net1', env })
    assert.notEqual(st.pid, old)
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1, 'www')), [pod('web').ip])
    assert.deepEqual(dnsAddresses(await dnsQuery(client, GW1, 'b3-7')), [pod('burst3').ip])
    assert.deepEqual(dnsAddresses(await dnsQuery(pod('other').ns.ns, GW2, 'other')), [pod('other').ip])
  })

  it('a network removed: its listener goes; a network created: served once ensureDnsResponder returns', async () => {
    await m.create({ name: 'net3', subnets: ['10.94.0.0/24'], dns: true })
    const st = await ensureDnsResponder(dirs, { network: 'net3', env })
    assert.deepEqual(st.networks.find((n) => n.name === 'net3')?.addresses, ['10.94.0.1:53'])
    const p = await podOn('net3', 'n3')
    assert.deepEqual(dnsAddresses(await dnsQuery(p.ns.ns, '10.94.0.1', 'n3')), [p.ip])
    await m.detach({ network: 'net3', id: 'n3' })
    await m.remove('net3')
    process.kill(status().pid, 'SIGHUP')
    for (let i = 0; i < 100 && status().networks.some((n) => n.name === 'net3'); i++) await sleep(20)
    assert.ok(!status().networks.some((n) => n.name === 'net3'))
  })

  describe('pods of the runtime', () => {
    let rt: PodRuntime
    let rootfs: string
    const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
    before(() => {
      rootfs = buildRootfs()
      symlinkSync('busybox', join(rootfs, 'bin', 'nslookup'))
      rt = new PodRuntime({ stateDir: topo.stateDir, runDir: topo.runDir, cgroupParent, backoff: { baseMs: 100 } })
    })
    after(async () => {
      for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
      rt.close()
      removeCgroupTree(cgroupParent)
      rmSync(rootfs, { recursive: true, force: true })
    })
    const run = (name: string, network: string, extra: Record<string, unknown> = {}, annotations: Record<string, string> = {}): Promise<PodRecord> => rt.run(validateManifest({
      metadata: { name, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': network, ...annotations } },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', command: ['sleep', '3600'] }, { name: 'side', command: ['sleep', '3600'] }], ...extra },
    }).spec, { hostNetns: topo.host.name })

    it('busybox nslookup in a pod: resolv.conf names the gateway and the network; pod, hostname, HOSTNAME.SUBDOMAIN, container and alias names resolve; others are forwarded', async () => {
      const db = await run('db-0', 'net1', { hostname: 'db', subdomain: 'dbs' }, { 'podnet.io/aliases': 'primary' })
      const app = await run('app', 'net1')
      const conf = await execAsync(app, 'main', ['cat', '/etc/resolv.conf'])
      assert.match(conf.stdout, new RegExp(`^nameserver ${GW1.replace(/\./g, '\\.')}$`, 'm'))
      assert.match(conf.stdout, /^search net1\b/m)
      assert.doesNotMatch(conf.stdout, /127\.0\.0\.53/)
      const dbIp = db.sandbox.ips[0]!.split('/')[0]!
      for (const name of ['db-0', 'db', 'db.dbs', 'db.dbs.net1', 'primary', 'side.net1']) {
        const r = await execAsync(app, 'main', ['nslookup', name])
        const ips = name === 'side.net1' ? [dbIp, app.sandbox.ips[0]!.split('/')[0]!] : [dbIp]
        assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`)
        for (const ip of ips) assert.match(r.stdout, new RegExp(`Address:\\s*${ip.replace(/\./g, '\\.')}\\b`), `${name}:\n${r.stdout}`)
      }
      const ext = await execAsync(app, 'main', ['nslookup', 'www.example.test'])
      assert.match(ext.stdout, /192\.0\.2\.10/, ext.stdout + ext.stderr)
      const rev = await execAsync(app, 'main', ['nslookup', dbIp])
      assert.match(rev.stdout, /db-0\.net1/, rev.stdout + rev.stderr)
      // removed: gone at once
      await rt.remove('db-0', { gracePeriodSeconds: 0 })
      const gone = await execAsync(app, 'main', ['nslookup', 'db-0'])
      assert.notEqual(gone.status, 0, gone.stdout)
      assert.doesNotMatch(gone.stdout, new RegExp(dbIp.replace(/\./g, '\\.')))
    })

    it('the runtime restarts a responder that died (within its watchdog period)', async () => {
      const app = rt.store.names().includes('app') ? rt.get('app') : await run('app', 'net1')
      const old = status().pid
      process.kill(old, 'SIGKILL')
      let st: DnsStatus | undefined
      for (let i = 0; i < 100; i++) {
        st = dnsResponderStatus(dirs)
        if (st && st.pid !== old && st.networks.some((n) => n.name === 'net1')) break
        await sleep(50)
      }
      assert.ok(st && st.pid !== old, 'a new responder')
      const r = await execAsync(app, 'main', ['nslookup', 'app'])
      assert.equal(r.status, 0, r.stdout + r.stderr)
    })

    it('pod ns --format svg: the pause and both containers as boxes, the shared namespaces as the pod\'s region (well-formed SVG)', async () => {
      const app = rt.store.names().includes('app') ? rt.get('app') : await run('app', 'net1')
      const rows = namespaceTable(app)
      const svg = await renderSvg(podNamespacesDot(app, rows))
      assertWellFormedXml(svg)
      const text = svg.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
      for (const label of ['pod app', 'pause', 'main', 'side', 'shared: ', "the host's namespaces"]) assert.ok(text.includes(label), label)
      const shared = rows.filter((r) => r.sharing === 'pod').map((r) => r.kind)
      assert.deepEqual(shared.sort(), ['ipc', 'net', 'uts'])
      for (const k of shared) assert.match(text, new RegExp(`shared: .*${k} \\d+`))
      assert.match(text, /own:/)
    })

    it('--no-dns (dns off): the host\'s nameservers, as before', async () => {
      const p = await run('plainpod', 'plain')
      const conf = await execAsync(p, 'main', ['cat', '/etc/resolv.conf'])
      assert.doesNotMatch(conf.stdout, /10\.93\.0\.1/)
      assert.match(conf.stdout, /^nameserver /m)
    })
  })
})
