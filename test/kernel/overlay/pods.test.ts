/**
 * Pods and podnet-cni on an overlay network, across two nodes of the cluster fixture (a third
 * node never runs an agent): addresses from the node's leased subnet, the agent's MTU, pings
 * and TCP across nodes, nothing left after DEL / pod rm, the agent's network never rewritten by
 * a CNI configuration, and a clear error naming `podnet node run` where no agent holds a lease.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NotFoundError } from '../../../src/errors.js'
import { createPlugin, type CniFuncs } from '../../../src/cni/index.js'
import { createOverlayNetwork } from '../../../src/overlay/admin.js'
import { cidrContains, parseCidr, parseIp } from '../../../src/net/ip.js'
import { createTempNetns, ipJson, nftRuleset, useCluster, type Cluster, type TempNetns } from '../../../src/testing/index.js'
import { probeAsync, serve, stopServers } from '../../../src/testing/index.js'
import { cniEnv, cniInProcess, hostState as fullHostState, type CniCall } from '../cni/helpers.js'
import { buildRootfs, removeCgroupTree, stopSupervisorOf } from '../runtime/support.js'
import { overlayRoutes, runAsync, waitFor } from '../../support/overlay.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

/** The node's links, addresses and nf_tables ruleset, one line each (readable diffs). */
const hostState = (ns: TempNetns): string[] => {
  const o = JSON.parse(fullHostState(ns)) as { links: unknown[]; addrs: string[] }
  const nft = (nftRuleset(ns.name) as unknown[]).map((x) => JSON.stringify(x).replace(/\{"counter":\{"packets":\d+,"bytes":\d+\}\}/g, 'counter'))
  return [...o.links.map((l) => JSON.stringify(l)), ...o.addrs, ...nft]
}

const inSubnet = (ip: string, subnet: string): boolean => cidrContains(parseCidr(subnet), parseIp(ip.split('/')[0]!))

describe('kernel: overlay: pods and podnet-cni on an overlay network', function () {
  this.timeout(60000)
  const cl = useCluster({ nodes: 3, etcdMembers: 1, agents: false, leaseTtl: 3 })
  const temps: TempNetns[] = []
  const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
  let rootfs = ''
  let dir = ''
  const plugins = new Map<number, CniFuncs>()

  const subnetOf = (c: Cluster, i: number): string => c.node(i).agent!.status().networks.find((n) => n.name === 'ov')!.subnet!
  const pod = (): TempNetns => {
    const t = createTempNetns('pn-ovpod')
    temps.push(t)
    return t
  }
  const plugin = (i: number): CniFuncs => {
    let p = plugins.get(i)
    if (!p) plugins.set(i, (p = createPlugin({ hostNetns: cl().node(i).ns.name })))
    return p
  }
  const conf = (i: number, extra: Record<string, unknown> = {}, podnet: Record<string, unknown> = { overlay: true }): Record<string, unknown> => ({
    cniVersion: '1.1.0', name: 'ov', type: 'podnet-cni', ...extra,
    podnet: { stateDir: cl().node(i).stateDir, runDir: cl().node(i).runDir, ...podnet },
  })
  const cni = (i: number, cmd: string, id: string, p: TempNetns | undefined, c: unknown = conf(i)): Promise<CniCall> =>
    cniInProcess(plugin(i), cniEnv(cmd, { id, netns: p ? p.ns.path : '', ifname: 'eth0' }), c)
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, PODNET_CGROUP_PARENT: cgroupParent, PODNET_SUPERVISOR_IDLE_MS: '0', PODNET_BACKOFF_BASE_MS: '200' })
  // the agents run in this process: a command must not block the event loop past their lease TTL
  const podnet = async (i: number, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
    const nd = cl().node(i)
    const r = await runAsync(process.execPath, [bin, ...args, '--state-dir', nd.stateDir, '--run-dir', nd.runDir], 30000, env())
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  /** For the after hook (the agents are stopped by then). */
  const podnetSync = (i: number, ...args: string[]): { status: number; stdout: string; stderr: string } => {
    const nd = cl().node(i)
    const r = spawnSync(process.execPath, [bin, ...args, '--state-dir', nd.stateDir, '--run-dir', nd.runDir], { encoding: 'utf8', env: env(), timeout: 30000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const manifest = (name: string): string => {
    const f = join(dir, `${name}.yaml`)
    writeFileSync(f, `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${rootfs}, podnet.io/network: ov }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    command: [sleep, '60']
`)
    return f
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    rootfs = buildRootfs()
    dir = mkdtempSync(join(tmpdir(), 'podnet-ovpods-'))
    // the network exists in etcd from the start; no agent runs yet anywhere
    await createOverlayNetwork(cl().node(1).store(), { name: 'ov', subnet: '10.244.0.0/16' })
  })
  after(function () {
    this.timeout(30000)
    stopServers()
    const c = (() => { try { return cl() } catch { return undefined } })()
    for (const i of [1, 2, 3]) {
      if (!c) break
      try {
        for (const p of JSON.parse(podnetSync(i, 'pod', 'ls', '--json').stdout || '[]') as Array<{ name: string }>) podnetSync(i, 'pod', 'rm', p.name, '-t', '0')
      } catch { /* the supervisor below goes anyway */ }
      stopSupervisorOf(c.node(i).stateDir, () => podnetSync(i, 'pod', 'supervisor', 'stop'))
    }
    removeCgroupTree(cgroupParent)
    for (const t of temps.splice(0)) t.close()
    for (const d of [rootfs, dir]) if (d) rmSync(d, { recursive: true, force: true })
  })

  it('where no agent ever ran, attach, pod run and CNI ADD fail with one line naming `podnet node run`; nothing is made', async () => {
    const c = cl()
    const nd = c.node(3)
    const before = hostState(nd.ns)
    const p = pod()
    await assert.rejects(nd.manager().attach({ network: 'ov', netns: p.name, id: 'x' }),
      (err: Error) => err instanceof NotFoundError && /^network 'ov' does not exist on this node: .*start its node agent here \(podnet node run --store URLS --name NODE\)$/.test(err.message))
    const attach = await runAsync('ip', ['netns', 'exec', nd.ns.name, process.execPath, bin, 'network', 'attach', 'ov', '--netns', p.name, '--state-dir', nd.stateDir, '--run-dir', nd.runDir])
    assert.equal(attach.status, 1, attach.stderr)
    assert.equal(attach.stderr.trim().split('\n').length, 1, attach.stderr)
    assert.match(attach.stderr, /network 'ov' does not exist on this node.*podnet node run --store URLS --name NODE/)
    const run = await podnet(3, 'pod', 'run', '-d', '-f', manifest('nowhere'), '--host-netns', nd.ns.name)
    assert.notEqual(run.status, 0, run.stdout)
    assert.match(run.stderr, /podnet\.io\/network.*network 'ov' does not exist on this node.*podnet node run --store URLS --name NODE/)
    await podnet(3, 'pod', 'rm', 'nowhere', '-t', '0')
    const add = await cni(3, 'ADD', 'c3', p)
    assert.equal(add.status, 1)
    assert.equal(add.json.code, 11, add.stdout)
    assert.match(add.json.msg, /^overlay network 'ov' has no node subnet on this node \(no node agent holds a subnet lease for it here\); start the node agent here: podnet node run --store URLS --name NODE --state-dir /)
    const status = await cni(3, 'STATUS', '', undefined)
    assert.equal(status.json.code, 50, status.stdout)
    assert.match(status.json.msg, /podnet node run/)
    assert.deepEqual(hostState(nd.ns), before, 'nothing changed on the node')
    assert.deepEqual(ipJson(p.name, 'link', 'show').map((l: any) => l.ifname), ['lo'])
  })

  it('CNI ADD takes the leased subnet, MTU and NAT of the agent; pods on two nodes ping each other; DEL leaves nothing', async () => {
    const c = cl()
    await c.startAgent(1)
    await c.startAgent(2)
    await waitFor('both nodes programmed', () => overlayRoutes(c, 1).length === 1 && overlayRoutes(c, 2).length === 1)
    const netFile = (i: number): string => readFileSync(join(c.node(i).stateDir, 'networks', 'ov', 'network.json'), 'utf8')
    const files = [netFile(1), netFile(2)]
    const hosts = [hostState(c.node(1).ns), hostState(c.node(2).ns)]
    const st = await cni(1, 'STATUS', '', undefined)
    assert.equal(st.status, 0, st.stdout)
    const pods = [pod(), pod()]
    const results = [await cni(1, 'ADD', 'a1', pods[0]), await cni(2, 'ADD', 'a2', pods[1])]
    const ips: string[] = []
    for (const [k, r] of results.entries()) {
      const i = k + 1
      assert.equal(r.status, 0, r.stdout + r.stderr)
      const ip = r.json.ips[0].address as string
      assert.ok(inSubnet(ip, subnetOf(c, i)), `${ip} in node ${i}'s leased ${subnetOf(c, i)}`)
      assert.equal(ip.split('/')[1], '24')
      assert.equal(r.json.interfaces[0].name, 'pn-ov')
      ips.push(ip.split('/')[0]!)
      // the oracle: address, MTU of the agent (underlay 1500 - 50), default route via the node subnet's gateway
      const [eth0] = pods[k]!.ip('addr', 'show', 'dev', 'eth0')
      assert.equal(eth0!.mtu, 1450)
      assert.deepEqual(eth0!.addr_info.filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`), [ip])
      const routes = pods[k]!.ip('route', 'show', 'default')
      assert.equal(routes[0]?.gateway, subnetOf(c, i).replace(/0\/24$/, '1'))
      // podnet reads back the same
      assert.deepEqual(c.node(i).manager().attachments('ov').map((a) => a.addresses[0]!.address), [ip])
    }
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const ping = await runAsync('ip', ['netns', 'exec', pods[from]!.name, 'ping', '-c', '1', '-W', '2', ips[to]!])
      assert.equal(ping.status, 0, ping.stdout + ping.stderr)
    }
    await serve(pods[1]!, 'tcp', 7201)
    assert.equal(await probeAsync(pods[0]!, 'tcp', ips[1]!, 7201, { timeoutMs: 5000 }), ips[0], 'the pod\'s own source address across nodes')
    // CHECK agrees, the agent's network is as the agent made it
    const chk = await cni(1, 'CHECK', 'a1', pods[0], { ...conf(1), prevResult: results[0]!.json })
    assert.equal(chk.status, 0, chk.stdout)
    assert.deepEqual([netFile(1), netFile(2)], files, 'network.json untouched by the plugin')
    stopServers()
    for (const [k, i] of [[0, 1], [1, 2]] as const) {
      const del = await cni(i, 'DEL', `a${i}`, pods[k])
      assert.equal(del.status, 0, del.stdout)
      assert.deepEqual(c.node(i).manager().attachments('ov'), [])
      assert.deepEqual(ipJson(pods[k]!.name, 'link', 'show').map((l: any) => l.ifname), ['lo'])
    }
    assert.deepEqual([hostState(c.node(1).ns), hostState(c.node(2).ns)], hosts, 'nothing left on the nodes after DEL')
    assert.equal(overlayRoutes(c, 1).length, 1, 'the overlay itself stays')
  })

  it('never rewrites the agent\'s network: a configuration without "overlay" asking for other settings is refused (7), overlay with mtu too', async () => {
    const c = cl()
    const netFile = readFileSync(join(c.node(1).stateDir, 'networks', 'ov', 'network.json'), 'utf8')
    const br = c.node(1).ns.link('pn-ov')
    const vx = c.node(1).ns.link('pnvx-ov')
    const routes = overlayRoutes(c, 1)
    const p = pod()
    // a plain bridge configuration that happens to name the overlay network (no pod attached)
    const plain = conf(1, { ipMasq: true, ipam: { type: 'host-local', subnet: '10.99.0.0/24' } }, {})
    const r = await cni(1, 'ADD', 'b1', p, plain)
    assert.equal(r.json?.code, 7, r.stdout)
    assert.match(r.json.msg, /ov is an overlay network on this node/)
    assert.match(r.json.details, /ipMasq false -> true; podnet\.dns true -> false; subnets 10\.244\.\d+\.0\/24 -> 10\.99\.0\.0\/24; .*"podnet": \{"overlay": true\}/)
    const withMtu = await cni(1, 'ADD', 'b2', p, conf(1, { mtu: 9000 }))
    assert.equal(withMtu.json?.code, 7, withMtu.stdout)
    assert.match(withMtu.json.msg, /mtu is set by the node agent for an overlay network/)
    assert.equal(readFileSync(join(c.node(1).stateDir, 'networks', 'ov', 'network.json'), 'utf8'), netFile)
    assert.equal(c.node(1).ns.link('pn-ov')!.ifindex, br!.ifindex, 'the same bridge')
    assert.equal(c.node(1).ns.link('pnvx-ov')!.ifindex, vx!.ifindex, 'the same VXLAN device')
    assert.deepEqual(overlayRoutes(c, 1), routes)
    assert.deepEqual(ipJson(p.name, 'link', 'show').map((l: any) => l.ifname), ['lo'])
    // the same configuration with the agent's own settings is an overlay attach like any other
    const same = conf(1, { bridge: 'pn-ov', mtu: 1450, ipam: { subnet: subnetOf(c, 1) } }, { dns: true })
    const ok = await cni(1, 'ADD', 'b3', p, same)
    assert.equal(ok.status, 0, ok.stdout)
    assert.equal((await cni(1, 'DEL', 'b3', p, same)).status, 0)
  })

  it('pod run with podnet.io/network on the overlay: addresses from each node\'s lease, pings across nodes, pod rm leaves nothing', async () => {
    const c = cl()
    const hosts = [hostState(c.node(1).ns), hostState(c.node(2).ns)]
    const recs: Array<{ ip: string; pid: number }> = []
    for (const i of [1, 2]) {
      const r = await podnet(i, 'pod', 'run', '-d', '-f', manifest(`web${i}`), '--host-netns', c.node(i).ns.name)
      assert.equal(r.status, 0, r.stderr)
      const rec = JSON.parse((await podnet(i, 'pod', 'inspect', `web${i}`, '--json')).stdout)
      const ip = rec.sandbox.ips[0] as string
      assert.ok(inSubnet(ip, subnetOf(c, i)), `${ip} in node ${i}'s leased ${subnetOf(c, i)}`)
      const [att] = c.node(i).manager().attachments('ov')
      assert.equal(att?.addresses[0]?.address, ip)
      assert.equal(att?.mtu, 1450)
      recs.push({ ip: ip.split('/')[0]!, pid: rec.sandbox.pause.pid as number })
    }
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const ping = await runAsync('nsenter', [`--net=/proc/${recs[from]!.pid}/ns/net`, 'ping', '-c', '1', '-W', '2', recs[to]!.ip])
      assert.equal(ping.status, 0, ping.stdout + ping.stderr)
    }
    for (const i of [1, 2]) {
      const r = await podnet(i, 'pod', 'rm', `web${i}`, '-t', '0')
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(c.node(i).manager().attachments('ov'), [])
    }
    assert.deepEqual([hostState(c.node(1).ns), hostState(c.node(2).ns)], hosts, 'nothing left on the nodes after pod rm')
  })

  it('after the agent released its lease (a pod still attached), ADD says try again and STATUS 50 with the reason; a restarted agent serves ADD again', async () => {
    const c = cl()
    const keep = pod()
    assert.equal((await cni(2, 'ADD', 'k2', keep)).status, 0)
    await c.stopAgent(2) // SIGTERM-style: lease revoked; the local network stays for the attached pod
    const p = pod()
    const add = await cni(2, 'ADD', 'n2', p)
    assert.equal(add.json?.code, 11, add.stdout)
    assert.match(add.json.msg, /^overlay network 'ov' has no node subnet on this node \('ov' is an overlay network and no node agent holds a subnet lease for it here.*\); start the node agent here: podnet node run/)
    assert.equal((await cni(2, 'STATUS', '', undefined)).json?.code, 50)
    assert.deepEqual(ipJson(p.name, 'link', 'show').map((l: any) => l.ifname), ['lo'])
    await c.startAgent(2)
    const again = await cni(2, 'ADD', 'n2', p)
    assert.equal(again.status, 0, again.stdout)
    assert.ok(inSubnet(again.json.ips[0].address, subnetOf(c, 2)))
    assert.equal((await cni(2, 'STATUS', '', undefined)).status, 0)
    for (const [id, ns] of [['n2', p], ['k2', keep]] as const) assert.equal((await cni(2, 'DEL', id, ns)).status, 0)
  })
})
