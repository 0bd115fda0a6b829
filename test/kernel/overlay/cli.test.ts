/**
 * The overlay from the command line, with agents as `podnet node run` processes in the node
 * namespaces: network create --overlay, node ls, network inspect, direct routing, SIGTERM
 * (leave) and SIGKILL (crash) of an agent process.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ipJson, useCluster, type ClusterPod } from '../../../src/testing/index.js'
import { probe, serve, stopServers } from '../../../src/testing/index.js'
import { capture, overlayRoutes, waitFor } from '../../support/overlay.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

function podnet(ns: string | undefined, ...args: string[]): { status: number; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now()
  const r = ns ? spawnSync('ip', ['netns', 'exec', ns, process.execPath, bin, ...args], { encoding: 'utf8' }) : spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 }
}

describe('kernel: overlay: CLI, agent processes, direct routing', function () {
  this.timeout(60000)
  const cl = useCluster({ nodes: 2, etcdMembers: 1, agents: false, agentMode: 'process', leaseTtl: 3 })
  const pods: ClusterPod[] = []
  after(() => stopServers())

  it('network create --overlay writes the config once; a different one is refused; bad input names the flag', () => {
    const c = cl()
    const ns = c.node(1).ns.name
    const args = ['network', 'create', 'dr', '--overlay', 'vxlan', '--subnet', '10.245.0.0/16', '--vni', '7', '--direct-routing', '--store', c.storeUrl]
    let r = podnet(ns, ...args)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /overlay network dr: vxlan 10\.245\.0\.0\/16, \/24 per node, vni 7, port 4789, direct routing/)
    r = podnet(ns, ...args, '--json')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).created, false)
    r = podnet(ns, 'network', 'create', 'dr', '--overlay', 'vxlan', '--subnet', '10.245.0.0/16', '--store', c.storeUrl)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /already exists with a different config/)
    r = podnet(ns, 'network', 'create', 'x', '--overlay', 'vxlan', '--subnet', '10.246.0.0/16')
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--store/)
    r = podnet(ns, 'network', 'create', 'x', '--overlay', 'geneve', '--subnet', '10.246.0.0/16', '--store', c.storeUrl)
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--overlay: 'geneve'/)
  })

  it('an unreachable store is a clear error within a bounded time', () => {
    const r = podnet(undefined, 'node', 'ls', '--store', 'etcd://192.0.2.7:2379')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /etcd 192\.0\.2\.7:2379 is unreachable/)
    assert.ok(r.ms < 8000, `took ${r.ms} ms`)
  })

  it('agents as processes; direct routing on one segment routes without encapsulation', async () => {
    const c = cl()
    await c.startAgent(1)
    await c.startAgent(2)
    await waitFor('both nodes programmed', () => overlayRoutes(c, 1).length === 1 && overlayRoutes(c, 2).length === 1)
    // a plain route via the peer's underlay address, no onlink route through the VXLAN device
    assert.match(overlayRoutes(c, 1)[0]!, new RegExp(`^10\\.245\\.\\d+\\.0/24 via ${c.node(2).address.replace(/\./g, '\\.')} dev eth0$`))
    for (const i of [1, 2]) pods.push(await c.pod(i, 'dr'))
    await serve(pods[1]!.ns, 'tcp', 7101)
    const tx = (): number => ipJson(c.node(1).ns.name, '-s', 'link', 'show', 'pnvx-dr')[0]!.stats64!.tx.packets
    const before = tx()
    // on the underlay itself: the pods' own packets, and not one VXLAN packet
    const seen = await capture(c.node(1).ns.name, 'eth0', `udp port 4789 or (host ${pods[0]!.ip} and host ${pods[1]!.ip})`, () => {
      assert.equal(probe(pods[0]!.ns, 'tcp', pods[1]!.ip, 7101), pods[0]!.ip)
    })
    assert.deepEqual(seen.filter((l) => /\.4789\b|VXLAN/i.test(l)), [], 'no VXLAN packet on the underlay')
    assert.ok(seen.some((l) => l.includes(`${pods[0]!.ip}.`) && l.includes(`> ${pods[1]!.ip}.7101`)), `the pod's TCP packets unencapsulated on the underlay: ${seen.join('\n')}`)
    assert.equal(tx(), before, 'no packet went through the VXLAN device')
    const ls = podnet(c.node(1).ns.name, 'node', 'ls', '--store', c.storeUrl, '--json')
    assert.equal(ls.status, 0, ls.stderr)
    const nodes = JSON.parse(ls.stdout)
    assert.deepEqual(nodes.map((n: any) => [n.node, n.underlay, n.subnets[0].network]), [['node-1', c.node(1).address, 'dr'], ['node-2', c.node(2).address, 'dr']])
    const insp = podnet(c.node(1).ns.name, 'network', 'inspect', 'dr', '--state-dir', c.node(1).stateDir, '--run-dir', c.node(1).runDir, '--store', c.storeUrl, '--json')
    assert.equal(insp.status, 0, insp.stderr)
    const view = JSON.parse(insp.stdout).overlay
    assert.equal(view.node, 'node-1')
    assert.deepEqual(view.peers.map((p: any) => [p.node, p.mode]), [['node-2', 'direct']])
    assert.deepEqual(view.missing, [])
  })

  it('SIGTERM of an agent process removes its node everywhere; SIGKILL leaves it until the lease expires', async () => {
    const c = cl()
    const s2 = JSON.parse(podnet(c.node(1).ns.name, 'node', 'ls', '--store', c.storeUrl, '--json').stdout).find((n: any) => n.node === 'node-2').subnets[0].subnet
    await c.stopAgent(2) // SIGTERM
    await waitFor('node 2 gone from node 1', () => overlayRoutes(c, 1).length === 0, 3000)
    assert.deepEqual(ipJson(c.node(2).ns.name, 'link', 'show').filter((l: any) => l.ifname === 'pnvx-dr'), [])
    await c.startAgent(2)
    await waitFor('node 2 back', () => overlayRoutes(c, 1).some((r) => r.startsWith(s2)))
    await c.stopAgent(2, { signal: 'SIGKILL' })
    assert.equal(overlayRoutes(c, 1).length, 1, 'still there right after the crash')
    await waitFor('node 2 gone after its TTL', () => overlayRoutes(c, 1).length === 0, 3000 + 2500)
  })
})
