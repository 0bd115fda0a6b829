/**
 * DNS through the command line (network create starts the responder, attach --alias, dns
 * status/records/stop, --no-dns, network rm) and through podnet-cni (podnet.dns: the result's
 * dns names the responder, K8S_POD_NAME resolves).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPlugin } from '../../../src/cni/index.js'
import { dnsResponderStatus, stopDnsResponder } from '../../../src/dns/index.js'
import { TestResolver, UPSTREAM, createTopology, dnsAddresses, dnsQuery, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniInProcess } from '../cni/helpers.js'

const podnetBin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: dns through the CLI and podnet-cni', function () {
  this.timeout(90_000)
  let topo: Topology
  let dir: string
  let env: NodeJS.ProcessEnv
  let upstream: TestResolver
  const podnet = (...args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [podnetBin, ...args], { encoding: 'utf8', env, timeout: 30_000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const ok = (...args: string[]): string => {
    const r = podnet(...args)
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    dir = mkdtempSync(join(tmpdir(), 'podnet-dns-cli-'))
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${UPSTREAM.upstreamV4}\n`)
    upstream = await TestResolver.start(topo.upstream.ns, UPSTREAM.upstreamV4, { records: { 'www.example.test': [{ type: 'A', data: '192.0.2.10' }] } })
    env = { ...process.env, PODNET_STATE_DIR: topo.stateDir, PODNET_RUN_DIR: topo.runDir, PODNET_RESOLV_CONF: join(dir, 'resolv.conf'), PODNET_DNS_IDLE_MS: '1000' }
  })
  after(async () => {
    if (!topo) return
    await stopDnsResponder({ stateDir: topo.stateDir, runDir: topo.runDir })
    await stopDnsResponder({ stateDir: join(topo.stateDir, 'cni'), runDir: join(topo.stateDir, 'cni', 'run') })
    upstream.close()
    topo.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('network create starts the responder; attach --alias; dns records and status; --no-dns serves nothing; rm stops serving, and the responder exits when idle', async () => {
    const h = ['--host-netns', topo.host.name]
    assert.match(ok('network', 'create', 'web', '--subnet', '10.95.0.0/24', ...h), /DNS on 10\.95\.0\.1:53/)
    const st = JSON.parse(ok('dns', 'status', '--json'))
    assert.equal(st.running, true)
    assert.deepEqual(st.networks.map((n: { name: string; addresses: string[] }) => [n.name, n.addresses]), [['web', ['10.95.0.1:53']]])
    assert.ok(st.rssBytes > 0)
    const a = topo.pod('pn-dnscli')
    const b = topo.pod('pn-dnscli')
    ok('network', 'attach', 'web', '--netns', a.name, '--id', 'api', '--alias', 'API-v1', '--alias', 'backend.svc', ...h)
    ok('network', 'attach', 'web', '--netns', b.name, '--id', 'client', ...h)
    const apiIp = (JSON.parse(ok('network', 'inspect', 'web', '--json', ...h)).attachments as Array<{ id: string; addresses: Array<{ address: string }> }>).find((x) => x.id === 'api')!.addresses[0]!.address.split('/')[0]!
    const recs = JSON.parse(ok('dns', 'records', 'web', '--json'))
    assert.deepEqual(recs.records.map((r: { name: string }) => r.name), ['api', 'api-v1', 'backend.svc', 'client'])
    assert.match(ok('dns', 'records', 'web'), /api-v1\s+api-v1\.web\s+10\.95\.0\./)
    for (const n of ['api', 'api-v1.web', 'backend.svc']) assert.deepEqual(dnsAddresses(await dnsQuery(b.ns, '10.95.0.1', n)), [apiIp], n)
    assert.deepEqual(dnsAddresses(await dnsQuery(b.ns, '10.95.0.1', 'www.example.test')), ['192.0.2.10'])
    assert.match(ok('network', 'inspect', 'web', ...h), /dns\s+on: 10\.95\.0\.1 port 53, search web/)
    assert.match(ok('dns', 'status'), /web\s+10\.95\.0\.1:53\s+4\s+/)

    // a bad alias is a usage error naming the flag, and nothing is attached
    const bad = podnet('network', 'attach', 'web', '--netns', topo.pod('pn-dnscli').name, '--alias', 'no way', ...h)
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /--alias: "no way" is not a DNS name/)

    // --no-dns: nobody on its gateway's port 53
    assert.doesNotMatch(ok('network', 'create', 'quiet', '--subnet', '10.96.0.0/24', '--no-dns', ...h), /DNS/)
    const q = topo.pod('pn-dnscli')
    ok('network', 'attach', 'quiet', '--netns', q.name, ...h)
    await assert.rejects(dnsQuery(q.ns, '10.96.0.1', q.name, 'A', { timeoutMs: 500 }))
    assert.deepEqual(JSON.parse(ok('dns', 'status', '--json')).networks.map((n: { name: string }) => n.name), ['web'])

    // rm: served no more at once; then idle, the responder exits by itself
    const pid = JSON.parse(ok('dns', 'status', '--json')).pid as number
    ok('network', 'rm', 'web', '--force', ...h)
    await assert.rejects(dnsQuery(b.ns, '10.95.0.1', 'api', 'A', { timeoutMs: 500 }))
    ok('network', 'rm', 'quiet', '--force', ...h)
    for (let i = 0; i < 200 && dnsResponderStatus({ stateDir: topo.stateDir, runDir: topo.runDir }); i++) await new Promise((r) => setTimeout(r, 25))
    assert.equal(dnsResponderStatus({ stateDir: topo.stateDir, runDir: topo.runDir }), undefined, `responder ${pid} exited when idle`)
    assert.match(ok('dns', 'status'), /not running/)
  })

  it('podnet-cni with podnet.dns: the result\'s dns names the responder and the network; K8S_POD_NAME resolves; without it the config\'s dns as before', async () => {
    const funcs = createPlugin({ hostNetns: topo.host.name })
    const stateDir = join(topo.stateDir, 'cni')
    const conf = (dns: boolean): Record<string, unknown> => ({
      cniVersion: '1.1.0', name: dns ? 'cnidns' : 'cniplain', type: 'podnet-cni', bridge: dns ? 'cni-dns0' : 'cni-dns1',
      ipam: { type: 'host-local', subnet: dns ? '10.97.0.0/24' : '10.98.0.0/24', routes: [{ dst: '0.0.0.0/0' }] },
      dns: { nameservers: ['192.0.2.53'], search: ['corp.example'], options: ['ndots:2'] },
      podnet: { stateDir, dns },
    })
    const p1 = topo.pod('pn-dnscni')
    const p2 = topo.pod('pn-dnscni')
    process.env.PODNET_RESOLV_CONF = join(dir, 'resolv.conf')
    try {
      const r1 = await cniInProcess(funcs, cniEnv('ADD', { id: 'ctr1', netns: p1.ns.path, ifname: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAME=web-0' }), conf(true))
      assert.equal(r1.status, 0, r1.stdout)
      assert.deepEqual(r1.json.dns, { nameservers: ['10.97.0.1'], search: ['cnidns', 'corp.example'], options: ['ndots:2'] })
      const r2 = await cniInProcess(funcs, cniEnv('ADD', { id: 'ctr2', netns: p2.ns.path, ifname: 'eth0' }), conf(true))
      assert.equal(r2.status, 0, r2.stdout)
      const ip1 = (r1.json.ips[0].address as string).split('/')[0]
      assert.deepEqual(dnsAddresses(await dnsQuery(p2.ns, '10.97.0.1', 'web-0')), [ip1])
      assert.deepEqual(dnsAddresses(await dnsQuery(p2.ns, '10.97.0.1', 'web-0.cnidns')), [ip1])
      const p3 = topo.pod('pn-dnscni')
      const r3 = await cniInProcess(funcs, cniEnv('ADD', { id: 'ctr3', netns: p3.ns.path, ifname: 'eth0' }), conf(false))
      assert.equal(r3.status, 0, r3.stdout)
      assert.deepEqual(r3.json.dns, { nameservers: ['192.0.2.53'], search: ['corp.example'], options: ['ndots:2'] })
      // DEL: gone from DNS at once
      assert.equal((await cniInProcess(funcs, cniEnv('DEL', { id: 'ctr1', netns: p1.ns.path, ifname: 'eth0' }), conf(true))).status, 0)
      assert.equal((await dnsQuery(p2.ns, '10.97.0.1', 'web-0.cnidns')).rcode, 'NXDOMAIN')
    } finally {
      delete process.env.PODNET_RESOLV_CONF
    }
  })
})
