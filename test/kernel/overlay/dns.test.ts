/**
 * DNS across the nodes of an overlay network (docs/dns.md, "Overlay networks"): each node's
 * responder answers the names of every node's pods, because each agent publishes its own pods'
 * names in etcd (on its lease) and mirrors the others' into the run dir. Real agents (processes),
 * real responders started by `podnet network attach`, real queries from the pods' namespaces.
 */
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOverlayNetwork, listNodes } from '../../../src/overlay/admin.js'
import { subnetGateway } from '../../../src/overlay/model.js'
import { NAMES_PREFIX } from '../../../src/overlay/names.js'
import { createTempNetns, dnsAddresses, dnsQuery, useCluster, type Cluster, type TempNetns } from '../../../src/testing/index.js'
import { overlayRoutes, runAsync, waitFor } from '../../support/overlay.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: overlay: DNS names across nodes', function () {
  this.timeout(120_000)
  const cl = useCluster({ nodes: 2, etcdMembers: 1, agents: false, agentMode: 'process', leaseTtl: 4 })
  const pods: TempNetns[] = []
  const gw: Record<number, string> = {}
  const ip: Record<string, string> = {}

  /** `podnet ARGS` run in node i's namespace with its state and run dirs. */
  const cli = async (c: Cluster, i: number, ...args: string[]): Promise<string> => {
    const nd = c.node(i)
    const r = await runAsync('ip', ['netns', 'exec', nd.ns.name, process.execPath, bin, ...args, '--state-dir', nd.stateDir, '--run-dir', nd.runDir])
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const attach = async (c: Cluster, i: number, id: string, ...aliases: string[]): Promise<TempNetns> => {
    const p = createTempNetns(`pn-dns${i}`)
    pods.push(p)
    const a = JSON.parse(await cli(c, i, 'network', 'attach', 'ov', '--pod-netns', p.name, '--id', id, ...aliases.flatMap((x) => ['--alias', x]), '--json'))
    ip[id] = (a.addresses[0].address as string).split('/')[0]!
    return p
  }
  /** The A answers of node `i`'s responder for `name`, asked from `from`; rcode too. */
  const ask = async (from: TempNetns, i: number, name: string, type = 'A'): Promise<{ rcode: string; answers: string[] }> => {
    const r = await dnsQuery(from.ns, gw[i]!, name, type, { timeoutMs: 2000 })
    const answers = type === 'PTR' ? (r.answers ?? []).map((a) => String((a as { data: unknown }).data)) : dnsAddresses(r)
    return { rcode: r.rcode, answers }
  }
  const eventually = async (what: string, fn: () => Promise<boolean>, ms = 8000): Promise<void> => {
    await waitFor(what, async () => { try { return await fn() } catch { return false } }, ms)
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    const c = cl()
    await createOverlayNetwork(c.node(1).store(), { name: 'ov', subnet: '10.244.0.0/16' })
    await c.startAgent(1)
    await c.startAgent(2)
    await waitFor('both nodes programmed', () => overlayRoutes(c, 1).length === 1 && overlayRoutes(c, 2).length === 1)
    for (const n of await listNodes(c.node(1).store())) gw[Number(n.node.slice('node-'.length))] = subnetGateway(n.subnets[0]!.subnet)
  })
  after(() => { for (const p of pods.splice(0)) p.close() })

  it("a pod's name, alias and address resolve on the other node (A and PTR); the names are in etcd under the node's lease", async () => {
    const c = cl()
    await attach(c, 1, 'web', 'api')
    const client = await attach(c, 2, 'client')
    await eventually('node 2 to answer web.ov', async () => (await ask(client, 2, 'web.ov')).answers.includes(ip.web!))
    assert.deepEqual(await ask(client, 2, 'web'), { rcode: 'NOERROR', answers: [ip.web!] }, 'the bare name, through the search domain')
    assert.deepEqual(await ask(client, 2, 'api.ov'), { rcode: 'NOERROR', answers: [ip.web!] }, 'the alias')
    const rev = `${ip.web!.split('.').reverse().join('.')}.in-addr.arpa`
    assert.deepEqual(await ask(client, 2, rev, 'PTR'), { rcode: 'NOERROR', answers: ['web.ov'] }, 'reverse lookup of a pod on the other node')
    // and the other way round
    const other = await attach(c, 1, 'peer')
    await eventually('node 1 to answer client.ov', async () => (await ask(other, 1, 'client.ov')).answers.includes(ip.client!))
    // the oracle: etcd holds one key per attachment with names, on the node's lease
    const store = c.node(1).store()
    const keys = async (): Promise<string[]> => (await store.list(NAMES_PREFIX)).kvs.map((kv) => kv.key.slice(NAMES_PREFIX.length)).sort()
    await eventually('the third pod published', async () => (await keys()).length === 3)
    assert.deepEqual(await keys(), ['ov/node-1/peer@eth0', 'ov/node-1/web@eth0', 'ov/node-2/client@eth0'])
    const { kvs } = await store.list(NAMES_PREFIX)
    assert.deepEqual(JSON.parse(kvs.find((kv) => kv.key.endsWith('web@eth0'))!.value), { names: ['web', 'api'], addresses: [`${ip.web}/24`] })
    assert.ok(kvs.every((kv) => kv.lease && kv.lease !== '0'), 'every name key is on a lease')
  })

  it('a detached pod is gone from the other node; a node whose agent dies loses its names there after the TTL', async () => {
    const c = cl()
    const client = pods[1]!
    await cli(c, 1, 'network', 'detach', 'ov', '--id', 'web')
    await eventually('node 2 to forget web.ov', async () => (await ask(client, 2, 'web.ov')).rcode === 'NXDOMAIN')
    assert.equal((await ask(client, 2, 'api.ov')).rcode, 'NXDOMAIN')
    assert.deepEqual((await ask(client, 2, 'peer.ov')).answers, [ip.peer!], 'the other pod of node 1 is still there')
    // node 1's agent is killed: its lease expires after the TTL (4 s), its names go with it
    await c.stopAgent(1, { signal: 'SIGKILL' })
    await eventually('node 2 to forget peer.ov', async () => (await ask(client, 2, 'peer.ov')).rcode === 'NXDOMAIN', 4000 + 4000)
    // restarted, it publishes them again
    await c.startAgent(1)
    await eventually('node 2 to answer peer.ov again', async () => (await ask(client, 2, 'peer.ov')).answers.includes(ip.peer!))
  })
})
