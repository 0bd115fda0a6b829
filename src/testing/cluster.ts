/**
 * A cluster of machines inside namespaces, for testing distributed software (podnet's overlay
 * first, anything that needs several hosts, a shared L2 segment, a store and faults):
 *
 *                      internet ns   eth0 192.168.77.1/24 (the nodes' default gateway)
 *                           |        lo   198.51.100.1/32 (a host "on the internet")
 *        switch ns   br0: bridge, one port per machine (nf_tables `bridge` table for faults)
 *          |          |          |
 *      node-1 ns   node-2 ns   node-3 ns     eth0 192.168.77.11, .12, .13 /24, default via .1
 *      etcd m1     etcd m2     etcd m3       (members on the first `etcdMembers` nodes, :2379/:2380)
 *      agent       agent       agent         (OverlayAgent in this process, or `podnet node run` processes)
 *
 * Every node has its own podnet state and run directories. `partition(a, b)` drops the
 * switch's forwarding between two machines (or one machine and all the others), `heal()`
 * undoes every partition; `stopNode(n)` / `startNode(n)` stop and start a node's agent and
 * etcd member (a crash: no lease release, SIGKILL).
 *
 * Depends on: root, a sandboxed process, the `etcd` binary (Debian's etcd-server), and for
 * process agents bin/podnet.js. Cleanup: destroy() (called by useCluster's after hook, also
 * when a test failed) stops agents and members and deletes every namespace and directory.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetworkManager, type Attachment } from '../bridge/index.js'
import { Nft, matchIifname, matchOifname, drop } from '../netlink/nftables/index.js'
import { OverlayAgent, type AgentOptions } from '../overlay/agent.js'
import { EtcdStore } from '../overlay/store/etcd.js'
import { EtcdMember } from './etcd.js'
import { createTempNetns, type TempNetns } from './temp-netns.js'

export const CLUSTER_NET = {
  underlay: '192.168.77.0/24',
  gateway: '192.168.77.1',
  internetHost: '198.51.100.1',
  nodeAddress: (i: number): string => `192.168.77.${10 + i}`,
} as const

export interface ClusterOptions {
  /** Number of machines (default 3). */
  nodes?: number
  /** etcd members, on the first nodes (default min(3, nodes)). */
  etcdMembers?: number
  /** Start the agents (default true); with false, call startNode() yourself. */
  agents?: boolean
  /** 'in-process' (default: OverlayAgent objects in this process) or 'process' (`podnet node run`). */
  agentMode?: 'in-process' | 'process'
  /** Lease TTL for the agents (default 3 s: tests wait for expiries). */
  leaseTtl?: number
  /** Underlay MTU (default 1500). */
  mtu?: number
}

export interface ClusterNode {
  readonly index: number
  readonly name: string
  readonly address: string
  readonly ns: TempNetns
  readonly stateDir: string
  readonly runDir: string
  readonly etcd?: EtcdMember
  /** The in-process agent while it runs. */
  agent?: OverlayAgent
  /** The agent process while it runs (agentMode 'process'). */
  process?: ChildProcess
  /** Warnings and errors the agent reported (in-process) or printed (process). */
  readonly log: string[]
  /** A NetworkManager for this node (closed with the cluster). */
  manager(): NetworkManager
  /** A store client that connects from this node's namespace. */
  store(): EtcdStore
}

export interface ClusterPod {
  readonly ns: TempNetns
  readonly node: ClusterNode
  readonly attachment: Attachment
  /** The pod's IPv4 address. */
  readonly ip: string
}

export interface Cluster {
  readonly nodes: ClusterNode[]
  readonly switchNs: TempNetns
  readonly internet: TempNetns
  /** etcd://... of every member. */
  readonly storeUrl: string
  node(i: number): ClusterNode
  /** Starts node i's etcd member (if it has one) and its agent; resolves when the agent is ready. */
  startNode(i: number, opts?: Partial<AgentOptions>): Promise<void>
  /** Stops node i: graceful (agent releases its lease, etcd SIGTERM) or crash (no release, SIGKILL). */
  stopNode(i: number, opts?: { crash?: boolean; keepEtcd?: boolean }): Promise<void>
  /** Starts an agent on node i without touching its etcd member. */
  startAgent(i: number, opts?: Partial<AgentOptions>): Promise<void>
  stopAgent(i: number, opts?: { keep?: boolean; signal?: NodeJS.Signals }): Promise<void>
  /** Drops forwarding between two machines ('internet' names the internet), or between one and every other. */
  partition(a: number | 'internet', b?: number | 'internet'): void
  heal(): void
  /** A pod namespace on node i attached to `network` (the node's subnet). */
  pod(i: number, network: string, id?: string): Promise<ClusterPod>
  destroy(): Promise<void>
}

const FAULT_TABLE = 'podnet-faults'

/** bin/podnet.js of this package (for process agents). */
function podnetBin(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'bin', 'podnet.js'))) return join(d, 'bin', 'podnet.js')
    d = dirname(d)
  }
  throw new Error('cannot find bin/podnet.js')
}

export async function createCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const n = opts.nodes ?? 3
  const k = opts.etcdMembers ?? Math.min(3, n)
  if (k > n) throw new Error(`etcdMembers (${k}) cannot exceed nodes (${n})`)
  const leaseTtl = opts.leaseTtl ?? 3
  const made: TempNetns[] = []
  const dirs: string[] = []
  const managers: NetworkManager[] = []
  const stores: EtcdStore[] = []
  const pods: TempNetns[] = []
  const partitions: Array<[string, string | undefined]> = []
  let destroyed = false
  const base = existsSync('/run/netns') && process.env.PODNET_IN_SANDBOX === '1' ? '/run' : tmpdir()
  const sw = createTempNetns('pn-sw')
  made.push(sw)
  const nodes: ClusterNode[] = []
  let internet: TempNetns
  let swNft: Nft | undefined
  const portOf = (x: number | 'internet'): string => (x === 'internet' ? 'p-inet' : `p-n${x}`)

  const cluster: Cluster = {
    nodes, switchNs: sw, get internet() { return internet }, storeUrl: '',
    node(i) {
      const nd = nodes[i - 1]
      if (!nd) throw new Error(`no node ${i} (nodes are 1..${nodes.length})`)
      return nd
    },
    async startAgent(i, aopts = {}) {
      const nd = cluster.node(i)
      if (nd.agent || nd.process) return
      if (opts.agentMode === 'process') {
        const logPath = join(nd.stateDir, 'agent.log')
        // the log is appended across restarts: only this run's part says whether it is ready
        const mark = existsSync(logPath) ? readFileSync(logPath, 'utf8').length : 0
        const fd = openSync(logPath, 'a')
        const args = [podnetBin(), 'node', 'run', '--store', cluster.storeUrl, '--name', nd.name, '--underlay', nd.address,
          '--state-dir', nd.stateDir, '--run-dir', nd.runDir, '--lease-ttl', String(aopts.leaseTtl ?? leaseTtl)]
        try {
          nd.process = nd.ns.ns.spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: { ...process.env } })
        } finally {
          closeSync(fd)
        }
        const p = nd.process
        p.once('exit', () => { if (nd.process === p) delete nd.process })
        // ready when the agent says so on its output
        const deadline = Date.now() + 20000
        while (Date.now() < deadline) {
          const text = readFileSync(logPath, 'utf8').slice(mark)
          if (text.includes(`node ${nd.name} ready`)) return
          if (p.exitCode !== null || p.signalCode !== null) throw new Error(`agent of ${nd.name} exited: ${text.slice(-2000)}`)
          await new Promise((r) => setTimeout(r, 50))
        }
        throw new Error(`agent of ${nd.name} was not ready within 20 s: ${readFileSync(logPath, 'utf8').slice(-2000)}`)
      }
      const store = nd.store()
      const agent = new OverlayAgent({
        store, name: nd.name, underlay: nd.address, hostNetns: nd.ns.name, stateDir: nd.stateDir, runDir: nd.runDir, leaseTtl, ...aopts,
      })
      agent.on('warning', (m) => nd.log.push(`warning: ${m}`))
      agent.on('error', (e) => nd.log.push(`error: ${e.message}`))
      await agent.start()
      nd.agent = agent
    },
    async stopAgent(i, sopts = {}) {
      const nd = cluster.node(i)
      if (nd.process) {
        const p = nd.process
        const exited = new Promise<void>((r) => { if (p.exitCode !== null || p.signalCode !== null) r(); else p.once('exit', () => r()) })
        p.kill(sopts.signal ?? 'SIGTERM')
        const t = setTimeout(() => p.kill('SIGKILL'), 10000)
        await exited
        clearTimeout(t)
        delete nd.process
      }
      if (nd.agent) {
        const a = nd.agent
        delete nd.agent
        await a.stop({ keep: sopts.keep === true })
      }
    },
    async startNode(i, aopts = {}) {
      const nd = cluster.node(i)
      if (nd.etcd && !nd.etcd.running) {
        nd.etcd.launch()
        // a member rejoining a running cluster is healthy once it caught up; alone it waits for a quorum
        await nd.etcd.waitHealthy(20000).catch(() => undefined)
      }
      await cluster.startAgent(i, aopts)
    },
    async stopNode(i, sopts = {}) {
      const nd = cluster.node(i)
      if (sopts.crash) {
        if (nd.process) await cluster.stopAgent(i, { signal: 'SIGKILL' })
        else await cluster.stopAgent(i, { keep: true })
        if (nd.etcd && !sopts.keepEtcd) await nd.etcd.kill()
      } else {
        await cluster.stopAgent(i)
        if (nd.etcd && !sopts.keepEtcd) await nd.etcd.stop()
      }
    },
    partition(a, b) {
      partitions.push([portOf(a), b === undefined ? undefined : portOf(b)])
      applyFaults()
    },
    heal() {
      partitions.length = 0
      applyFaults()
    },
    async pod(i, network, id) {
      const nd = cluster.node(i)
      const p = createTempNetns(`pn-pod${i}`)
      pods.push(p)
      const attachment = await nd.manager().attach({ network, netns: p.name, id: id ?? p.name })
      return { ns: p, node: nd, attachment, ip: attachment.addresses[0]!.address.split('/')[0]! }
    },
    async destroy() {
      if (destroyed) return
      destroyed = true
      for (const nd of nodes) {
        try { await cluster.stopAgent(nd.index, { keep: true, signal: 'SIGKILL' }) } catch { /* best effort */ }
      }
      await Promise.all(nodes.map((nd) => nd.etcd?.destroy().catch(() => undefined)))
      for (const s of stores.splice(0)) s.close()
      for (const m of managers.splice(0)) m.close()
      swNft?.close()
      for (const p of pods.splice(0).reverse()) p.close()
      for (const t of made.splice(0).reverse()) t.close()
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
    },
  }

  function applyFaults(): void {
    swNft ??= Nft.open({ netns: sw.ns })
    const tx = swNft.transaction()
    tx.destroyTable({ family: 'bridge', name: FAULT_TABLE })
    if (partitions.length) {
      const t = { family: 'bridge' as const, table: FAULT_TABLE }
      tx.addTable({ family: 'bridge', name: FAULT_TABLE })
      tx.addChain({ ...t, name: 'forward', type: 'filter', hook: 'forward', priority: -200, policy: 'accept' })
      for (const [a, b] of partitions) {
        if (b === undefined) {
          tx.addRule({ ...t, chain: 'forward', exprs: [...matchIifname(a), ...drop()], comment: `partition ${a}` })
          tx.addRule({ ...t, chain: 'forward', exprs: [...matchOifname(a), ...drop()], comment: `partition ${a}` })
        } else {
          tx.addRule({ ...t, chain: 'forward', exprs: [...matchIifname(a), ...matchOifname(b), ...drop()], comment: `partition ${a} ${b}` })
          tx.addRule({ ...t, chain: 'forward', exprs: [...matchIifname(b), ...matchOifname(a), ...drop()], comment: `partition ${a} ${b}` })
        }
      }
    }
    tx.commitSync()
  }

  try {
    sw.rt.link.addSync({ kind: 'bridge', name: 'br0', up: true, ...(opts.mtu !== undefined && { mtu: opts.mtu }), bridge: { stpState: 0, forwardDelay: 0 } })
    const plug = (ns: TempNetns, port: string): void => {
      sw.rt.link.addSync({ kind: 'veth', name: port, master: 'br0', ...(opts.mtu !== undefined && { mtu: opts.mtu }), peer: { name: 'eth0', netns: ns.ns, up: true, ...(opts.mtu !== undefined && { mtu: opts.mtu }) } })
      sw.rt.link.setSync(port, { up: true })
    }
    internet = createTempNetns('pn-inet')
    made.push(internet)
    plug(internet, portOf('internet'))
    internet.rt.addr.addSync({ cidr: `${CLUSTER_NET.gateway}/24`, dev: 'eth0' })
    internet.rt.addr.addSync({ cidr: `${CLUSTER_NET.internetHost}/32`, dev: 'lo' })
    for (let i = 1; i <= n; i++) {
      const ns = createTempNetns(`pn-node${i}`)
      made.push(ns)
      plug(ns, portOf(i))
      const address = CLUSTER_NET.nodeAddress(i)
      ns.rt.addr.addSync({ cidr: `${address}/24`, dev: 'eth0' })
      ns.rt.route.addSync({ dst: 'default', via: CLUSTER_NET.gateway })
      const stateDir = mkdtempSync(join(tmpdir(), `podnet-node${i}-`))
      const runDir = mkdtempSync(join(base, `podnet-node${i}-run-`))
      dirs.push(stateDir, runDir)
      const nd: ClusterNode = {
        index: i, name: `node-${i}`, address, ns, stateDir, runDir, log: [],
        manager() {
          const m = new NetworkManager({ hostNetns: ns.name, stateDir, runDir })
          managers.push(m)
          return m
        },
        store() {
          const s = new EtcdStore(cluster.storeUrl, { netns: ns.ns, timeoutMs: 1000 })
          stores.push(s)
          return s
        },
      }
      nodes.push(nd)
    }
    const members = nodes.slice(0, k)
    const initialCluster = members.map((nd) => `m${nd.index}=http://${nd.address}:2380`).join(',')
    for (const nd of members) {
      (nd as { etcd?: EtcdMember }).etcd = new EtcdMember({ name: `m${nd.index}`, host: nd.address, netns: nd.ns.ns, initialCluster })
    }
    ;(cluster as { storeUrl: string }).storeUrl = `etcd://${members.map((nd) => `${nd.address}:2379`).join(',')}`
    for (const nd of members) nd.etcd!.launch()
    await Promise.all(members.map((nd) => nd.etcd!.waitHealthy(30000)))
    if (opts.agents !== false) for (const nd of nodes) await cluster.startAgent(nd.index)
    return cluster
  } catch (err) {
    await cluster.destroy()
    throw err
  }
}

/**
 * Mocha helper: one cluster for the enclosing describe (before/after hooks), destroyed after
 * its tests also when one failed. Fails the suite (SandboxError from the namespaces, or etcd's
 * own error) when it cannot be built: never a silent skip.
 */
export function useCluster(opts: ClusterOptions = {}): () => Cluster {
  let c: Cluster | undefined
  before(async function () {
    this.timeout(60000)
    c = await createCluster(opts)
  })
  after(async function () {
    this.timeout(60000)
    await c?.destroy()
    c = undefined
  })
  return () => {
    if (!c) throw new Error('useCluster(): used outside its describe block')
    return c
  }
}
