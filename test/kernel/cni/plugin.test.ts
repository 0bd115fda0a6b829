/**
 * podnet-cni in-process, one suite per supported spec version (as the reference plugins test),
 * driven through runPlugin's injected I/O with the environment a runtime sets. Kernel state is
 * read back with ip/bridge/nft and with podnet's own view.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NetworkManager } from '../../../src/bridge/index.js'
import { createPlugin, hasCheck, hasGc, hasStatus, ipsHaveVersion, interfacesHaveMtu, SUPPORTED_CNI_VERSIONS, type CniFuncs } from '../../../src/cni/index.js'
import { bridgeJson, createTopology, ip, ipJson, probe, serve, stopServers, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniInProcess, hostState, podAddrs, podnetPublishedPorts, podnetRuleComments } from './helpers.js'

const BRIDGE = 'cni-t0'

function setup(): { topo: () => Topology; funcs: () => CniFuncs; stateDir: () => string; manager: () => NetworkManager } {
  let topo: Topology | undefined
  let funcs: CniFuncs | undefined
  let mgr: NetworkManager | undefined
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    funcs = createPlugin({ hostNetns: topo.host.name })
  })
  afterEach(() => {
    stopServers()
    mgr?.close()
    mgr = undefined
    topo?.close()
    topo = undefined
  })
  const stateDir = (): string => join(topo!.stateDir, 'cni')
  return {
    topo: () => topo!,
    funcs: () => funcs!,
    stateDir,
    // podnet's own view of the plugin's state
    manager: () => (mgr ??= new NetworkManager({ hostNetns: topo!.host.name, stateDir: stateDir(), runDir: join(stateDir(), 'run') })),
  }
}

const nsPath = (t: TempNetns): string => t.ns.path

for (const ver of SUPPORTED_CNI_VERSIONS) {
  describe(`kernel: [${ver}] podnet-cni (in-process)`, function () {
    this.timeout(60000)
    const t = setup()
    const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      cniVersion: ver, name: 'cninet', type: 'podnet-cni', bridge: BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.201.0.0/24', gateway: '10.201.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
      podnet: { stateDir: t.stateDir() },
      ...extra,
    })
    const add = (pod: TempNetns, id = 'c1', extra: Record<string, unknown> = {}, ifname = 'eth0') =>
      cniInProcess(t.funcs(), cniEnv('ADD', { id, netns: nsPath(pod), ifname, args: `IgnoreUnknown=1;K8S_POD_NAME=${id}` }), conf(extra))
    const del = (pod: TempNetns | undefined, id = 'c1', extra: Record<string, unknown> = {}) =>
      cniInProcess(t.funcs(), cniEnv('DEL', { id, netns: pod ? nsPath(pod) : '', ifname: 'eth0' }), conf(extra))
    const check = (pod: TempNetns, id: string, prevResult: unknown) =>
      cniInProcess(t.funcs(), cniEnv('CHECK', { id, netns: nsPath(pod), ifname: 'eth0' }), conf({ prevResult }))

    it('ADD wires the pod and answers in this version\'s result shape', async () => {
      const pod = t.topo().pod()
      const r = await add(pod)
      assert.equal(r.status, 0, r.stdout)
      const res = r.json
      assert.equal(res.cniVersion, ver)
      // interfaces: bridge, host veth, pod eth0 in its sandbox
      assert.deepEqual(res.interfaces.map((i: any) => i.name).slice(0, 1), [BRIDGE])
      const [, hostIf, podIf] = res.interfaces
      assert.equal(podIf.name, 'eth0')
      assert.equal(podIf.sandbox, nsPath(pod))
      assert.equal(podIf.mtu, interfacesHaveMtu(ver) ? 1500 : undefined)
      assert.deepEqual(res.ips, [{ ...(ipsHaveVersion(ver) && { version: '4' }), address: '10.201.0.2/24', gateway: '10.201.0.1', interface: 2 }])
      assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0' }])
      assert.deepEqual(res.dns, {})
      // the kernel agrees (oracle: iproute2)
      const [eth0] = pod.ip('addr', 'show', 'dev', 'eth0')
      assert.equal(eth0!.address, podIf.mac)
      assert.deepEqual(podAddrs(pod), ['10.201.0.2/24'])
      assert.deepEqual(JSON.parse(ip(pod.name, '-j', 'route')).find((x: any) => x.dst === 'default'), { dst: 'default', gateway: '10.201.0.1', dev: 'eth0', flags: [] })
      const [br] = ipJson(t.topo().host.name, 'addr', 'show', 'dev', BRIDGE)
      assert.equal(br!.address, res.interfaces[0].mac)
      assert.ok(br!.addr_info.some((a: any) => a.local === '10.201.0.1' && a.prefixlen === 24))
      const port = bridgeJson(t.topo().host.name, 'link', 'show', 'dev', hostIf.name)[0]!
      assert.equal(port.master, BRIDGE)
      assert.equal(port.hairpin, true)
      assert.ok(podnetRuleComments(t.topo().host).some((c) => /^podnet o=[0-9a-f]{8} net=cninet masquerade$/.test(c)))
      // and podnet's view
      const att = t.manager().attachment('cninet', 'c1', 'eth0')
      assert.deepEqual(att?.addresses.map((a) => a.address), ['10.201.0.2/24'])
      assert.equal(att?.hostVeth, hostIf.name)
    })

    it('hairpinMode false, no routes, mtu: as configured', async () => {
      const pod = t.topo().pod()
      const r = await add(pod, 'c1', { hairpinMode: false, ipMasq: false, mtu: 1400, ipam: { subnet: '10.202.0.0/24' } })
      assert.equal(r.status, 0, r.stdout)
      assert.deepEqual(r.json.routes, [])
      assert.equal(JSON.parse(ip(pod.name, '-j', 'route')).find((x: any) => x.dst === 'default'), undefined)
      assert.equal(pod.link('eth0')!.mtu, 1400)
      assert.equal(bridgeJson(t.topo().host.name, 'link', 'show', 'dev', r.json.interfaces[1].name)[0]!.hairpin, false)
      assert.ok(!podnetRuleComments(t.topo().host).some((c) => /^podnet o=[0-9a-f]{8} net=cninet masquerade$/.test(c)), 'ipMasq false: no masquerade')
    })

    if (hasCheck(ver)) {
      it('CHECK passes after ADD and reports drift with code 101', async () => {
        const pod = t.topo().pod()
        const r = await add(pod)
        const ok = await check(pod, 'c1', r.json)
        assert.equal(ok.status, 0, ok.stdout)
        assert.equal(ok.stdout, '')
        ip(pod.name, 'addr', 'flush', 'dev', 'eth0')
        const bad = await check(pod, 'c1', r.json)
        assert.equal(bad.status, 1)
        assert.equal(bad.json.code, 101)
        assert.equal(bad.json.cniVersion, ver)
        assert.match(bad.json.details, /address 10\.201\.0\.2\/24: missing/)
        const lie = await check(pod, 'c1', { ...r.json, ips: [{ address: '10.201.0.99/24', interface: 2 }] })
        assert.match(lie.json.details, /prevResult has addresses \[10\.201\.0\.99\/24\]/)
        const unknown = await check(pod, 'nobody', r.json)
        assert.equal(unknown.json.code, 3)
        const noPrev = await cniInProcess(t.funcs(), cniEnv('CHECK', { id: 'c1', netns: nsPath(pod), ifname: 'eth0' }), conf())
        assert.equal(noPrev.json.code, 7)
      })
    } else {
      it('CHECK is refused with code 1 (it exists from 0.4.0)', async () => {
        const pod = t.topo().pod()
        const r = await check(pod, 'c1', {})
        assert.equal(r.json.code, 1)
        assert.match(r.json.msg, /does not allow CHECK/)
      })
    }

    it('DEL removes exactly what ADD added, is idempotent, and works when the namespace is gone', async () => {
      const p1 = t.topo().pod()
      const p2 = t.topo().pod()
      assert.equal((await add(p1, 'c1', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } })).status, 0)
      const withOne = hostState(t.topo().host)
      const r2 = await add(p2, 'c2', { runtimeConfig: { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] } })
      assert.equal(r2.status, 0, r2.stdout)
      assert.notEqual(hostState(t.topo().host), withOne)
      const d = await del(p2, 'c2')
      assert.equal(d.status, 0, d.stdout)
      assert.equal(d.stdout, '')
      assert.equal(hostState(t.topo().host), withOne, 'the host is as before the second ADD')
      assert.equal(p2.link('eth0'), undefined)
      assert.equal((await del(p2, 'c2')).status, 0, 'DEL twice')
      assert.equal((await del(undefined, 'never-added')).status, 0, 'DEL of an unknown container')
      // the namespace goes first, then DEL (with and without CNI_NETNS)
      p1.close()
      const gone = await del(p1, 'c1')
      assert.equal(gone.status, 0, gone.stdout)
      assert.equal((await del(undefined, 'c1')).status, 0)
      assert.deepEqual(t.manager().attachments('cninet'), [])
      assert.ok(!podnetRuleComments(t.topo().host).some((c) => c.includes('id=')), 'no port mapping rule left')
      assert.deepEqual(podnetPublishedPorts(t.topo().host), [], 'no published port left')
      assert.deepEqual(await t.manager().check('cninet'), [])
      // a DEL for a network never set up
      assert.equal((await del(undefined, 'c1', { name: 'othernet' })).status, 0)
    })

    it('ADD fails if the interface already exists, and leaves nothing behind', async () => {
      const p0 = t.topo().pod()
      assert.equal((await add(p0, 'c0')).status, 0)
      const pod = t.topo().pod()
      ip(pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1')
      const before = hostState(t.topo().host)
      const r = await add(pod, 'c1', { runtimeConfig: { portMappings: [{ hostPort: 9090, containerPort: 80, protocol: 'tcp' }] } })
      assert.equal(r.status, 1)
      assert.equal(r.json.code, 100)
      assert.match(r.json.msg, /interface 'eth0' already exists/)
      assert.equal(hostState(t.topo().host), before)
      assert.equal(t.manager().attachment('cninet', 'c1', 'eth0'), undefined)
      // and a first ADD that fails takes the network it created with it
      const fresh = t.topo().pod()
      ip(fresh.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1')
      const before2 = hostState(t.topo().host)
      const r2 = await add(fresh, 'c9', { name: 'net2', bridge: 'cni-t2', ipam: { subnet: '10.203.0.0/24' } })
      assert.equal(r2.json.code, 100)
      assert.equal(hostState(t.topo().host), before2)
    })

    it('a DEL for a failed duplicate ADD in another namespace does not touch the live pod', async () => {
      const live = t.topo().pod()
      const dup = t.topo().pod()
      const r = await add(live, 'c1')
      const again = await add(dup, 'c1')
      assert.equal(again.json.code, 100)
      assert.equal((await del(dup, 'c1')).status, 0)
      assert.deepEqual(podAddrs(live), ['10.201.0.2/24'])
      assert.ok(t.manager().attachment('cninet', 'c1', 'eth0'))
      await serve(t.topo().host, 'tcp', 7000)
      assert.equal(probe(live, 'tcp', '10.201.0.1', 7000), '10.201.0.2')
      // the address is still taken: the next pod gets another one
      const next = await add(dup, 'c2')
      assert.notEqual(next.json.ips[0].address, r.json.ips[0].address)
    })

    if (hasGc(ver)) {
      it('GC removes every attachment not in cni.dev/valid-attachments; STATUS reports free addresses', async () => {
        const keep = t.topo().pod()
        const drop = t.topo().pod()
        await add(keep, 'keep')
        await add(drop, 'drop', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } })
        const dropVeth = t.manager().attachment('cninet', 'drop', 'eth0')!.hostVeth
        const gc = await cniInProcess(t.funcs(), cniEnv('GC'), conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }))
        assert.equal(gc.status, 0, gc.stdout)
        assert.equal(gc.stdout, '')
        assert.deepEqual(t.manager().attachments('cninet').map((a) => a.id), ['keep'])
        assert.equal(t.topo().host.link(dropVeth), undefined)
        assert.equal(drop.link('eth0'), undefined)
        assert.ok(!podnetRuleComments(t.topo().host).some((c) => c.includes('id=drop')))
        assert.deepEqual(podAddrs(keep), ['10.201.0.2/24'])
        assert.deepEqual(await t.manager().check('cninet'), [])
        const noList = await cniInProcess(t.funcs(), cniEnv('GC'), conf())
        assert.equal(noList.json.code, 7, 'GC without the list removes nothing')
        assert.deepEqual(t.manager().attachments('cninet').map((a) => a.id), ['keep'])
        // STATUS: fine before the network exists and while addresses are free; 50 when none is left
        const st = await cniInProcess(t.funcs(), cniEnv('STATUS'), conf())
        assert.equal(st.status, 0, st.stdout)
        const small = { name: 'tiny', bridge: 'cni-t3', ipam: { subnet: '10.204.0.0/30' } }
        assert.equal((await cniInProcess(t.funcs(), cniEnv('STATUS'), conf(small))).status, 0)
        assert.equal((await add(t.topo().pod(), 't1', small)).status, 0)
        const full = await cniInProcess(t.funcs(), cniEnv('STATUS'), conf(small))
        assert.equal(full.json.code, 50)
        assert.match(full.json.details, /1 of 1 addresses in use/)
      })
    } else {
      it('GC and STATUS are refused with code 1 (they exist from 1.1.0)', async () => {
        for (const cmd of ['GC', 'STATUS']) {
          const r = await cniInProcess(t.funcs(), cniEnv(cmd), conf({ 'cni.dev/valid-attachments': [] }))
          assert.equal(r.json.code, 1, `${cmd}: ${r.stdout}`)
          assert.equal(hasStatus(ver), false)
        }
      })
    }

    it('passes a previous plugin\'s result on, appending its own', async () => {
      const pod = t.topo().pod()
      const prevResult = { cniVersion: ver, interfaces: [{ name: 'net9', sandbox: nsPath(pod) }], ips: [{ ...(ipsHaveVersion(ver) && { version: '4' }), address: '192.168.77.2/24', interface: 0 }], routes: [], dns: { nameservers: ['192.168.77.1'] } }
      const r = await add(pod, 'c1', { prevResult })
      assert.equal(r.status, 0, r.stdout)
      assert.deepEqual(r.json.interfaces.map((i: any) => i.name).filter((n: string) => !n.startsWith('pn')), ['net9', BRIDGE, 'eth0'])
      assert.deepEqual(r.json.ips.map((i: any) => [i.address, i.interface]), [['192.168.77.2/24', 0], ['10.201.0.2/24', 3]])
      assert.deepEqual(r.json.dns, { nameservers: ['192.168.77.1'] })
    })
  })
}

describe('kernel: podnet-cni bad input (in-process): error JSON, non-zero exit, nothing half-done', function () {
  this.timeout(60000)
  const t = setup()
  const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0', name: 'cninet', type: 'podnet-cni', bridge: BRIDGE, isGateway: true, ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.201.0.0/29' }, podnet: { stateDir: t.stateDir() }, ...extra,
  })
  const tiny = { name: 'tiny', bridge: 'cni-t4', ipam: { subnet: '10.205.0.0/30' } }

  it('answers each with the spec\'s code and changes nothing', async () => {
    const first = t.topo().pod()
    assert.equal((await cniInProcess(t.funcs(), cniEnv('ADD', { id: 'c0', netns: nsPath(first), ifname: 'eth0' }), conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } }))).status, 0)
    assert.equal((await cniInProcess(t.funcs(), cniEnv('ADD', { id: 't0', netns: nsPath(t.topo().pod()), ifname: 'eth0' }), conf(tiny))).status, 0)
    const pod = t.topo().pod()
    const file = join(t.topo().stateDir, 'not-a-netns')
    writeFileSync(file, '')
    const env = (extra: Record<string, string> = {}) => ({ ...cniEnv('ADD', { id: 'c1', netns: nsPath(pod), ifname: 'eth0' }), ...extra })
    const cases: Array<[string, Record<string, string>, unknown, number, RegExp]> = [
      ['malformed JSON', env(), '{"cniVersion":"1.1.0","name":', 6, /error decoding network configuration/],
      ['missing CNI_CONTAINERID', { CNI_COMMAND: 'ADD', CNI_NETNS: nsPath(pod), CNI_IFNAME: 'eth0' }, conf(), 4, /\[CNI_CONTAINERID\] missing/],
      ['missing CNI_NETNS', { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, conf(), 4, /\[CNI_NETNS\] missing/],
      ['unsupported cniVersion', env(), conf({ cniVersion: '0.2.0' }), 1, /incompatible CNI versions/],
      ['a netns path that is a plain file', env({ CNI_NETNS: file }), conf(), 4, /is not a network namespace/],
      ['a netns path that is a mount namespace', env({ CNI_NETNS: '/proc/self/ns/mnt' }), conf(), 4, /is not a network namespace/],
      ['a netns path that does not exist', env({ CNI_NETNS: '/run/netns/nonexistent' }), conf(), 4, /does not exist/],
      ['the host\'s own namespace', env({ CNI_NETNS: t.topo().host.ns.path }), conf(), 4, /namespace the plugin runs in/],
      ['an interface name too long', env({ CNI_IFNAME: 'eth0-too-long-16' }), conf(), 4, /interface name is too long/],
      ['IPAM exhausted (/30: one address)', env(), conf(tiny), 11, /no free address in 10\.205\.0\.0\/30/],
      ['a host port already published', env(), conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 81 }] } }), 100, /host port '8080\/tcp' already exists/],
      ['an unsupported field', env(), conf({ vlan: 7 }), 2, /unsupported field: vlan=7/],
      ['a bad MAC', env(), conf({ runtimeConfig: { mac: 'zz:00' } }), 7, /mac/],
      ['a static address outside the subnet', env(), conf({ runtimeConfig: { ips: ['10.9.9.9'] } }), 7, /10\.9\.9\.9/],
      ['a changed subnet under a live pod', env(), conf({ ipam: { subnet: '10.201.0.0/24' } }), 7, /exists with other settings and has 1 pod/],
    ]
    const podnetState = (): string => JSON.stringify([t.manager().list(), t.manager().attachments('cninet'), t.manager().attachments('tiny'), readdirSync(join(t.stateDir(), 'run')).sort()])
    const before = hostState(t.topo().host)
    const beforeFiles = podnetState()
    for (const [what, e, c, code, msg] of cases) {
      const r = await cniInProcess(t.funcs(), e, c)
      assert.equal(r.status, 1, what)
      assert.equal(r.json.code, code, `${what}: ${r.stdout}`)
      assert.match(r.json.msg, msg, what)
      assert.equal(typeof r.json.cniVersion, 'string')
      assert.equal(hostState(t.topo().host), before, `${what}: kernel state unchanged`)
      assert.equal(podnetState(), beforeFiles, `${what}: podnet state unchanged`)
      assert.equal(pod.link('eth0'), undefined, what)
    }
    assert.ok(existsSync(file))
  })
})
