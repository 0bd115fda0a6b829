/**
 * The overlay's side of the CLI: `network create --overlay ... --store`, the overlay view of
 * `network inspect`, and `podnet node run | ls`. Heavy modules load on first use.
 */
import { join } from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import type { Store } from '../../overlay/store/store.js'
import type { AgentStatus, NetworkStatus } from '../../overlay/agent.js'
import { intArg } from '../context.js'
import { printJson, printTable } from '../output.js'

export interface OverlayCreateOptions {
  overlay?: string
  store?: string
  subnet: string[]
  nodePrefix?: number
  vni?: number
  port?: number
  directRouting?: boolean
  json?: boolean
  hostNetns?: string
}

/** A store client for `--store URLS`, connecting from `--host-netns` when given. */
export async function openStore(url: string, hostNetns?: string, timeoutMs = 2000): Promise<{ store: Store; close(): void }> {
  const { EtcdStore } = await import('../../overlay/store/etcd.js')
  const { Netns } = await import('../../netns/index.js')
  const ns = hostNetns ? Netns.open(hostNetns) : undefined
  const store = new EtcdStore(url, { timeoutMs, ...(ns && { netns: ns }) })
  return { store, close: () => { store.close(); ns?.close() } }
}

/** `network create NAME --overlay vxlan --subnet CIDR --store URLS ...`: the config goes into the store. */
export async function createOverlayNetworkCli(name: string, o: OverlayCreateOptions): Promise<void> {
  if (!o.store) throw new InvalidArgumentError('--store', '--overlay needs --store etcd://HOST:PORT[,HOST:PORT...] (where the overlay\'s config and node subnets live)')
  if (!o.overlay) throw new InvalidArgumentError('--store', 'a network in the store is an overlay network: give --overlay vxlan')
  if (o.subnet.length !== 1) throw new InvalidArgumentError('--subnet', 'an overlay network has exactly one (IPv4) cluster subnet')
  const { createOverlayNetwork } = await import('../../overlay/admin.js')
  const { store, close } = await openStore(o.store, o.hostNetns)
  try {
    const r = await createOverlayNetwork(store, {
      name, overlay: o.overlay, subnet: o.subnet[0]!,
      ...(o.nodePrefix !== undefined && { nodePrefix: o.nodePrefix }), ...(o.vni !== undefined && { vni: o.vni }),
      ...(o.port !== undefined && { port: o.port }), ...(o.directRouting && { directRouting: true }),
    })
    if (o.json) printJson({ ...r.config, created: r.created })
    else {
      const c = r.config
      process.stdout.write(`overlay network ${c.name}${r.created ? '' : ' (exists, same config)'}: ${c.backend} ${c.subnet}, /${c.nodePrefix} per node, vni ${c.vni}, port ${c.port}${c.directRouting ? ', direct routing' : ''}; in ${store.where}\n`)
    }
  } finally {
    close()
  }
}

/** The agent's status file in a run dir, if an agent wrote one. */
export async function readAgentStatus(stateDir?: string, runDir?: string): Promise<AgentStatus | undefined> {
  const [{ StateDir }, { dirsFromEnv }] = await Promise.all([import('../../bridge/state.js'), import('../../state/dirs.js')])
  const s = new StateDir(dirsFromEnv({ ...(stateDir !== undefined && { stateDir }), ...(runDir !== undefined && { runDir }) }))
  return s.readJson<AgentStatus>(join(s.run, 'overlay', 'status.json'))
}

/** The overlay part of `network inspect`: this node's view, and (with --store) peers missing or stale. */
export async function overlayView(name: string, o: { stateDir?: string; runDir?: string; hostNetns?: string; store?: string }): Promise<Record<string, unknown> | undefined> {
  const status = await readAgentStatus(o.stateDir, o.runDir)
  const net: NetworkStatus | undefined = status?.networks.find((n) => n.name === name)
  if (!net && !o.store) return undefined
  const view: Record<string, unknown> = {}
  if (status && net) {
    Object.assign(view, {
      node: status.node, underlay: status.underlay, connected: status.connected, updatedAt: status.updatedAt, config: net.config,
      subnet: net.subnet ?? null, device: net.device ?? null, vtepMac: net.vtepMac ?? null, mtu: net.mtu ?? null, peers: net.peers,
      ...(net.error !== undefined && { error: net.error }),
    })
  }
  if (o.store) {
    const { getOverlayNetwork, listSubnets } = await import('../../overlay/admin.js')
    const { store, close } = await openStore(o.store, o.hostNetns)
    try {
      const config = await getOverlayNetwork(store, name)
      const warnings: string[] = []
      const subnets = await listSubnets(store, config, warnings)
      const mine = status?.node
      const programmed = new Set((net?.peers ?? []).map((p) => `${p.node} ${p.subnet}`))
      const inStore = new Set(subnets.map((s) => `${s.node} ${s.subnet}`))
      view.config = config
      view.store = subnets.map((s) => ({ node: s.node, subnet: s.subnet, underlay: s.underlay, vtepMac: s.vtepMac }))
      view.missing = subnets.filter((s) => s.node !== mine && !programmed.has(`${s.node} ${s.subnet}`)).map((s) => ({ node: s.node, subnet: s.subnet }))
      view.stale = (net?.peers ?? []).filter((p) => !inStore.has(`${p.node} ${p.subnet}`)).map((p) => ({ node: p.node, subnet: p.subnet }))
      if (warnings.length) view.warnings = warnings
    } finally {
      close()
    }
  }
  return view
}

export function printOverlayView(v: Record<string, unknown>): void {
  const cfg = v.config as { backend: string; subnet: string; nodePrefix: number; vni: number; port: number; directRouting: boolean } | undefined
  process.stdout.write('overlay\n')
  if (cfg) process.stdout.write(`  cluster  ${cfg.backend} ${cfg.subnet}, /${cfg.nodePrefix} per node, vni ${cfg.vni}, port ${cfg.port}${cfg.directRouting ? ', direct routing' : ''}\n`)
  if (v.node !== undefined) {
    process.stdout.write(`  node     ${String(v.node)} (underlay ${String(v.underlay)}, store ${v.connected ? 'connected' : 'NOT connected'})\n`)
    process.stdout.write(`  subnet   ${String(v.subnet ?? 'none')}${v.device ? ` via ${String(v.device)} (vtep ${String(v.vtepMac)}, mtu ${String(v.mtu)})` : ''}\n`)
    if (v.error) process.stdout.write(`  error    ${String(v.error)}\n`)
  } else {
    process.stdout.write('  node     no agent runs on this node (no status file)\n')
  }
  const peers = (v.peers as Array<Record<string, string>> | undefined) ?? []
  process.stdout.write(`\n  programmed peers: ${peers.length}\n`)
  printTable(peers.map((p) => ({ ...p })), [['node', 'NODE'], ['subnet', 'SUBNET'], ['underlay', 'UNDERLAY'], ['vtepMac', 'VTEP MAC'], ['mode', 'MODE']])
  for (const k of ['missing', 'stale'] as const) {
    const list = v[k] as Array<{ node: string; subnet: string }> | undefined
    if (list) process.stdout.write(`  ${k === 'missing' ? 'in the store, not programmed here' : 'programmed here, not in the store'}: ${list.length ? list.map((p) => `${p.node} ${p.subnet}`).join(', ') : 'none'}\n`)
  }
}

interface NodeRunOptions {
  store: string
  name: string
  underlay?: string
  underlayDev?: string
  stateDir?: string
  runDir?: string
  hostNetns?: string
  leaseTtl?: number
  keep?: boolean
  json?: boolean
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('the overlay node agent (VXLAN networks whose node subnets and peers live in etcd)')

  node.command('run').description('run the node agent in the foreground: lease a node subnet per overlay network, program peers from a watch')
    .requiredOption('--store <urls>', 'etcd://HOST:PORT[,HOST:PORT...]')
    .requiredOption('--name <node>', "this node's name in the cluster")
    .option('--underlay <addr>', 'the underlay (tunnel endpoint) address (default: from --underlay-dev or the default route)')
    .option('--underlay-dev <dev>', 'the underlay device (its first IPv4 address)')
    .option('--state-dir <dir>', 'persistent state (default $PODNET_STATE_DIR or /var/lib/podnet)')
    .option('--run-dir <dir>', 'volatile state (default $PODNET_RUN_DIR, <state-dir>/run or /run/podnet)')
    .option('--host-netns <ns>', 'the named namespace that plays the node (default: the current one)')
    .option('--lease-ttl <seconds>', "lease TTL: how long a dead node's routes stay on the others", intArg('--lease-ttl', 2, 3600), 15)
    .option('--keep', 'on SIGTERM keep the lease, devices and routes (an upgrade in place)')
    .option('--json', 'events as JSON lines')
    .action(async (o: NodeRunOptions) => {
      const { OverlayAgent } = await import('../../overlay/agent.js')
      const { store, close } = await openStore(o.store, o.hostNetns, 2000)
      const agent = new OverlayAgent({
        store, name: o.name, ...(o.underlay && { underlay: o.underlay }), ...(o.underlayDev && { underlayDev: o.underlayDev }),
        ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }), ...(o.hostNetns && { hostNetns: o.hostNetns }),
        ...(o.leaseTtl !== undefined && { leaseTtl: o.leaseTtl }),
      })
      const say = (event: string, text: string, data: Record<string, unknown> = {}): void => {
        if (o.json) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...data })}\n`)
        else process.stdout.write(`${text}\n`)
      }
      // every overlay network has DNS on each node (docs/dns.md): the responder serves the node's local network
      const ensureDns = async (net: string): Promise<void> => {
        const [{ ensureDnsResponder }, { bootIdFromEnv }] = await Promise.all([import('../../dns/service.js'), import('../../state/boot.js')])
        const bootId = bootIdFromEnv()
        try {
          const st = await ensureDnsResponder({ ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }) }, { network: net, timeoutMs: 5000, ...(bootId && { bootId }) })
          const n = st.networks.find((x) => x.name === net)
          if (n?.error !== undefined) say('warning', `warning: DNS for network ${net} is not served: ${n.error}`, { message: n.error })
          else say('dns', `network ${net}: DNS on ${n?.addresses.join(', ') ?? ''}`, { network: net, addresses: n?.addresses ?? [] })
        } catch (err) {
          say('warning', `warning: DNS for network ${net}: ${(err as Error).message}`, { message: (err as Error).message })
        }
      }
      agent.on('subnet', (net, subnet) => {
        say('subnet', `network ${net}: subnet ${subnet}`, { network: net, subnet })
        void ensureDns(net)
      })
      agent.on('peer-added', (net, p) => say('peer-added', `network ${net}: + ${p.node} ${p.subnet} via ${p.underlay} (${p.mode})`, { network: net, ...p }))
      agent.on('peer-updated', (net, p) => say('peer-updated', `network ${net}: ~ ${p.node} ${p.subnet} via ${p.underlay} (${p.mode})`, { network: net, ...p }))
      agent.on('peer-removed', (net, p) => say('peer-removed', `network ${net}: - ${p.node} ${p.subnet}`, { network: net, ...p }))
      agent.on('network-removed', (net) => say('network-removed', `network ${net}: removed from the store; torn down here`, { network: net }))
      agent.on('warning', (m) => say('warning', `warning: ${m}`, { message: m }))
      agent.on('error', (e) => say('error', `error: ${e.message}`, { message: e.message }))
      agent.on('disconnected', (e) => say('disconnected', `store unreachable (${e.message}); keeping the data plane, reconnecting`, { message: e.message }))
      agent.on('reconnected', (rev) => say('reconnected', `store reachable again at revision ${rev}`, { revision: rev }))
      agent.on('lease-lost', () => say('lease-lost', 'the lease expired; claiming again'))
      try {
        await agent.start()
      } catch (err) {
        close()
        throw err
      }
      say('ready', `node ${o.name} ready: underlay ${agent.underlay.address} on ${agent.underlay.dev}, ${agent.status().networks.length} overlay network(s)`, { node: o.name })
      await new Promise<void>((resolve) => {
        let stopping = false
        const onSignal = (sig: string): void => {
          if (stopping) return
          stopping = true
          say('stopping', `${sig}: ${o.keep ? 'keeping the lease and devices' : 'releasing the lease, removing the overlay devices'}`)
          void agent.stop({ keep: o.keep === true }).finally(() => { close(); resolve() })
        }
        process.on('SIGTERM', () => onSignal('SIGTERM'))
        process.on('SIGINT', () => onSignal('SIGINT'))
      })
    })

  node.command('ls').alias('list').description('nodes, their subnets, underlay addresses, VTEP MACs and lease TTL left')
    .requiredOption('--store <urls>', 'etcd://HOST:PORT[,HOST:PORT...]')
    .option('--host-netns <ns>', 'connect from this named namespace')
    .option('--json', 'JSON output')
    .action(async (o: { store: string; hostNetns?: string; json?: boolean }) => {
      const { listNodes } = await import('../../overlay/admin.js')
      const { store, close } = await openStore(o.store, o.hostNetns)
      try {
        const warnings: string[] = []
        const nodes = await listNodes(store, warnings)
        if (o.json) printJson(nodes)
        else {
          printTable(nodes.map((n) => ({
            node: n.node, underlay: n.underlay, subnets: n.subnets.map((s) => `${s.network}=${s.subnet}`).join(','), mac: n.vtepMac ?? '',
            ttl: n.ttl < 0 ? 'expired' : `${n.ttl}s`,
          })), [['node', 'NODE'], ['underlay', 'UNDERLAY'], ['subnets', 'SUBNETS'], ['mac', 'VTEP MAC'], ['ttl', 'LEASE TTL']])
          for (const w of warnings) process.stderr.write(`podnet: warning: ${w}\n`)
        }
      } finally {
        close()
      }
    })
}
