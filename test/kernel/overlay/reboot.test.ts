/**
 * A node of an overlay cluster rebooted, its state directory kept (docs/overlay.md, "Reboot").
 *
 * The reboot is simulated inside the node's namespace, as the boot would leave it: every process
 * of the node dies (its agent: SIGKILL; its pods' namespaces go), every kernel object podnet made
 * goes (bridge, VXLAN device, veths, routes, neighbours, FDB, nf_tables tables; ip_forward back to
 * 0), and the run directory (tmpfs) is empty. The node's own NIC and address stay, as the
 * machine's network configuration brings them back at boot. Then, as the boot unit does:
 * `podnet network restore` (the local network's bridge, gateway and rules from the record) and
 * the agent (`podnet node run`).
 *
 * Checked twice: back within the lease's TTL (the agent adopts its lease: the other node never
 * drops the route) and back after it (the other node drops the node, then programs it again);
 * both times the node gets the same subnet and the same VXLAN MAC, a new pod on it gets an
 * address of that subnet, and traffic between nodes resumes. Nothing of the old boot is left:
 * no attachment, no address allocation.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOverlayNetwork, listNodes } from '../../../src/overlay/admin.js'
import { nodeKey } from '../../../src/overlay/model.js'
import { ipJson, nftRuleset, useCluster, type Cluster, type ClusterPod } from '../../../src/testing/index.js'
import { probeAsync, serve, stopServers } from '../../../src/testing/index.js'
import { overlayRoutes, runAsync, waitFor } from '../../support/overlay.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: overlay: a node rebooted (state dir kept, kernel and run dir fresh)', function () {
  this.timeout(120_000)
  const cl = useCluster({ nodes: 2, etcdMembers: 1, agents: false, agentMode: 'process', leaseTtl: 4 })
  const pods: ClusterPod[] = []

  const subnetOf = async (c: Cluster, node: string): Promise<string | undefined> =>
    (await listNodes(c.node(1).store())).find((n) => n.node === node)?.subnets[0]?.subnet
  const links = (c: Cluster, i: number): string[] => (ipJson(c.node(i).ns.name, 'link', 'show') as any[]).map((l) => l.ifname as string).sort()
  const vxlanMac = (c: Cluster, i: number): string => ipJson(c.node(i).ns.name, 'link', 'show', 'pnvx-ov')[0]!.address!
  const inSubnet = (ip: string, subnet: string): boolean => ip.split('.').slice(0, 3).join('.') === subnet.split('.').slice(0, 3).join('.')

  /** Node 2 "reboots": see the file comment. Returns the ifnames left in its namespace. */
  async function reboot(c: Cluster): Promise<string[]> {
    const nd = c.node(2)
    await c.stopAgent(2, { signal: 'SIGKILL' })
    // its pods go with the machine: their servers are killed and their namespaces deleted
    for (const p of pods.filter((x) => x.node === nd)) p.ns.close()
    const ns = nd.ns.name
    for (const l of ipJson(ns, 'link', 'show') as any[]) {
      if (l.ifname !== 'lo' && l.ifname !== 'eth0') await runAsync('ip', ['-n', ns, 'link', 'del', l.ifname])
    }
    await runAsync('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset'])
    await runAsync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
    for (const e of readdirSync(nd.runDir)) rmSync(join(nd.runDir, e), { recursive: true, force: true })
    mkdirSync(nd.runDir, { recursive: true })
    return links(c, 2)
  }

  /** The boot unit: `podnet network restore`, then the agent. */
  async function boot(c: Cluster, leaseTtl: number): Promise<string> {
    const nd = c.node(2)
    const r = await runAsync('ip', ['netns', 'exec', nd.ns.name, process.execPath, bin, 'network', 'restore',
      '--state-dir', nd.stateDir, '--run-dir', nd.runDir])
    assert.equal(r.status, 0, `network restore: ${r.stderr}`)
    await c.startAgent(2, { leaseTtl })
    return r.stdout
  }

  const traffic = async (a: ClusterPod, b: ClusterPod): Promise<void> => {
    assert.equal(await probeAsync(a.ns, 'tcp', b.ip, 7311, { timeoutMs: 5000 }), a.ip, `${a.ns.name} -> ${b.ns.name}`)
    assert.equal(await probeAsync(b.ns, 'tcp', a.ip, 7311, { timeoutMs: 5000 }), b.ip, `${b.ns.name} -> ${a.ns.name}`)
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    const c = cl()
    await createOverlayNetwork(c.node(1).store(), { name: 'ov', subnet: '10.244.0.0/16' })
    await c.startAgent(1)
    await c.startAgent(2, { leaseTtl: 15 })
    await waitFor('both nodes programmed', () => overlayRoutes(c, 1).length === 1 && overlayRoutes(c, 2).length === 1)
    for (const i of [1, 2]) pods.push(await c.pod(i, 'ov'))
    for (const p of pods) await serve(p.ns, 'tcp', 7311)
    await traffic(pods[0]!, pods[1]!)
  })
  after(() => stopServers())

  it('back within the TTL: the agent adopts its lease and subnet, the peer never drops the node, a new pod talks across nodes', async () => {
    const c = cl()
    const store = c.node(1).store()
    const s2 = (await subnetOf(c, 'node-2'))!
    const mac = vxlanMac(c, 2)
    const rec = await store.get(nodeKey('node-2'))
    let gone = 0
    const sampler = setInterval(() => { if (!overlayRoutes(c, 1).some((r) => r.startsWith(s2))) gone++ }, 100)
    try {
      assert.deepEqual(await reboot(c), ['eth0', 'lo'], 'nothing of podnet is left in the node')
      assert.deepEqual(overlayRoutes(c, 2), [])
      const out = await boot(c, 15)
      assert.match(out, /^ov: restored /m, 'restore made the local network again')
      assert.equal((await store.get(nodeKey('node-2')))?.lease, rec?.lease, 'the lease was adopted')
    } finally {
      clearInterval(sampler)
    }
    assert.equal(gone, 0, 'node 1 never dropped its route to node 2')
    assert.equal(await subnetOf(c, 'node-2'), s2, 'the same subnet')
    assert.equal(vxlanMac(c, 2), mac, 'the same VXLAN MAC (derived from network and node)')
    await waitFor('node 2 to program node 1', () => overlayRoutes(c, 2).length === 1)
    // the run dir of the old boot is gone: no attachment of the old pod
    assert.deepEqual(c.node(2).manager().attachments('ov'), [])
    const fresh = await c.pod(2, 'ov')
    pods.push(fresh)
    assert.ok(inSubnet(fresh.ip, s2), `${fresh.ip} is in ${s2}`)
    await serve(fresh.ns, 'tcp', 7311)
    await traffic(pods[0]!, fresh)
    // the node's NAT table is back (masquerade for traffic leaving the cluster)
    const tables = (nftRuleset(c.node(2).ns.name) as any[]).filter((x) => x.table).map((x) => `${x.table.family} ${x.table.name}`)
    assert.ok(tables.includes('inet podnet'), `tables after boot: ${tables.join(', ')}`)
  })

  it('back after the TTL: the peer drops the node, then programs it again; same subnet, traffic resumes', async () => {
    const c = cl()
    const s2 = (await subnetOf(c, 'node-2'))!
    const mac = vxlanMac(c, 2)
    await reboot(c)
    await waitFor('node 1 to drop node 2 after its TTL', () => !overlayRoutes(c, 1).some((r) => r.startsWith(s2)), 15_000 + 3000)
    await boot(c, 4)
    assert.equal(await subnetOf(c, 'node-2'), s2, 'the persisted subnet was claimed again')
    assert.equal(vxlanMac(c, 2), mac)
    await waitFor('node 2 back on node 1', () => overlayRoutes(c, 1).some((r) => r.startsWith(s2)))
    await waitFor('node 2 to program node 1', () => overlayRoutes(c, 2).length === 1)
    assert.deepEqual(c.node(2).manager().attachments('ov'), [])
    const fresh = await c.pod(2, 'ov')
    pods.push(fresh)
    assert.ok(inSubnet(fresh.ip, s2))
    await serve(fresh.ns, 'tcp', 7311)
    await traffic(pods[0]!, fresh)
  })
})
