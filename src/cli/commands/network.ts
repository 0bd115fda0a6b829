/** podnet network create | ls | inspect | rm | attach | detach | bandwidth | priority | check | restore | gc, and podnet nat ls | ports */
import { Option, type Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import type { AttachmentStats, BandwidthLimits, NetworkManager, PortMapping } from '../../bridge/index.js'
import { intArg } from '../context.js'
import { printJson, printTable } from '../output.js'
import { createOverlayNetworkCli, overlayView, printOverlayView, type OverlayCreateOptions } from './overlay.js'

interface Global { stateDir?: string; runDir?: string; hostNetns?: string; json?: boolean }

async function withManager<T>(o: Global, fn: (m: NetworkManager) => Promise<T>): Promise<T> {
  const [{ NetworkManager }, { dirsFromEnv }, { bootIdFromEnv }] = await Promise.all([import('../../bridge/index.js'), import('../../state/dirs.js'), import('../../state/boot.js')])
  const bootId = bootIdFromEnv()
  const m = new NetworkManager({
    ...dirsFromEnv({ ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }) }),
    ...(bootId !== undefined && { bootId }),
    ...(o.hostNetns && { hostNetns: o.hostNetns }),
  })
  try {
    return await fn(m)
  } finally {
    m.close()
  }
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

interface PodNetnsFlags { podNetns?: string; netns?: string }

/**
 * The pod's namespace of attach/detach: --pod-netns, or its old spelling --netns (hidden: in
 * podnet -n/--netns means "act in", which for network commands is -n/--host-netns).
 */
function podNetns(o: PodNetnsFlags): string | undefined {
  if (o.podNetns !== undefined && o.netns !== undefined && o.podNetns !== o.netns) throw new InvalidArgumentError('--pod-netns', 'given twice (--netns is its old spelling) with different values')
  return o.podNetns ?? o.netns
}

function common(c: Command, json = true): Command {
  c.option('--state-dir <dir>', 'persistent state: network configurations (default $PODNET_STATE_DIR or /var/lib/podnet)')
  c.option('--run-dir <dir>', 'volatile state: attachments, addresses, ports (default $PODNET_RUN_DIR, <state-dir>/run or /run/podnet)')
  c.option('-n, --host-netns <ns>', 'act in this named namespace: the one that plays the host (default: the current one)')
  if (json) c.option('--json', 'JSON output')
  return c
}

/** Makes sure the state dir's DNS responder serves `network`; '' when it does, else why not (a warning on stderr). */
async function ensureDns(m: NetworkManager, network: string): Promise<string> {
  const { ensureDnsResponder } = await import('../../dns/service.js')
  try {
    const st = await ensureDnsResponder({ stateDir: m.state.root, runDir: m.state.run }, { network, bootId: m.state.boot() })
    const n = st.networks.find((x) => x.name === network)
    if (n?.error !== undefined) {
      process.stderr.write(`podnet: warning: DNS for network ${network} is not served: ${n.error}\n`)
      return '(not served, see warning)'
    }
    return `on ${n?.addresses.join(', ') ?? ''}`.trim()
  } catch (err) {
    process.stderr.write(`podnet: warning: ${(err as Error).message}\n`)
    return '(responder not running, see warning)'
  }
}

/** --ingress-rate/--egress-rate (Kubernetes quantities, bit/s) and their bursts into limits; undefined when none. */
async function bandwidthFlags(o: BandwidthFlags): Promise<BandwidthLimits | undefined> {
  const { parseBitRate, parseBits } = await import('../../runtime/quantity.js')
  const b: BandwidthLimits = {}
  for (const dir of ['ingress', 'egress'] as const) {
    const rate = o[`${dir}Rate`]
    const burst = o[`${dir}Burst`]
    if (rate === undefined) {
      if (burst !== undefined) throw new InvalidArgumentError(`--${dir}-burst`, `needs --${dir}-rate`)
      continue
    }
    b[dir] = { rateBitsPerSec: parseBitRate(rate, `--${dir}-rate`), ...(burst !== undefined && { burstBits: parseBits(burst, `--${dir}-burst`) }) }
  }
  return b.ingress || b.egress ? b : undefined
}

interface BandwidthFlags { ingressRate?: string; egressRate?: string; ingressBurst?: string; egressBurst?: string }

function bandwidthOptions(c: Command): Command {
  return c.option('--ingress-rate <bits/s>', 'limit traffic into the pod: a Kubernetes quantity of bit/s (10M, 1G)')
    .option('--egress-rate <bits/s>', 'limit traffic out of the pod (10M, 1G)')
    .option('--ingress-burst <bits>', 'token bucket of the ingress limit in bits (default: 10 ms at the rate, at least 64 KiB)')
    .option('--egress-burst <bits>', 'token bucket of the egress limit in bits')
}

const fmtRate = (l?: { rateBitsPerSec: number }): string => (l ? `${l.rateBitsPerSec >= 1e6 ? `${+(l.rateBitsPerSec / 1e6).toFixed(3)}M` : `${+(l.rateBitsPerSec / 1e3).toFixed(3)}k`}` : '-')
export const fmtBandwidth = (b?: BandwidthLimits): string => (b && (b.ingress || b.egress) ? `in ${fmtRate(b.ingress)} out ${fmtRate(b.egress)}` : '')

function printNetworkStats(name: string, stats: AttachmentStats[]): void {
  const bytes = (n: number): string => (n >= 1e6 ? `${+(n / 1e6).toFixed(2)}MB` : n >= 1e3 ? `${+(n / 1e3).toFixed(2)}kB` : `${n}B`)
  process.stdout.write(`network ${name}: traffic of each attachment (rx = into the pod, tx = out of it)\n`)
  printTable(stats.map((s) => ({
    id: s.id, ifname: s.ifname, rx: `${bytes(s.rxBytes)} (${s.rxPackets})`, tx: `${bytes(s.txBytes)} (${s.txPackets})`,
    drops: `${s.rxDropped} / ${s.txDropped}`,
    shaped: [s.shaping?.ingress && `in ${s.shaping.ingress.rateBitsPerSec / 1e6}M dropped ${s.shaping.ingress.drops}`, s.shaping?.egress && `out ${s.shaping.egress.rateBitsPerSec / 1e6}M dropped ${s.shaping.egress.drops}`].filter(Boolean).join(', '),
    ports: s.ports.map((p) => `${p.port}: ${p.packets} pkts ${bytes(p.bytes)}`).join('; '),
  })), [['id', 'ID'], ['ifname', 'IFNAME'], ['rx', 'RX (PKTS)'], ['tx', 'TX (PKTS)'], ['drops', 'DROPS RX / TX'], ['shaped', 'SHAPING'], ['ports', 'PUBLISHED PORTS']])
}

const fmtPorts = (ms: PortMapping[]): string => ms.map((m) => `${m.hostIp ? `${m.hostIp}:` : ''}${m.hostPort}->${m.containerPort}/${m.protocol}`).join(',')

export function registerNetwork(program: Command): void {
  const net = program.command('network').description('bridge networks: bridge + IPAM + NAT + published ports')

  common(net.command('create <name>').description('create a bridge network'))
    .requiredOption('--subnet <cidr>', 'IPv4 or IPv6 subnet (repeat for dual stack)', collect)
    .option('--gateway <ip>', 'gateway address (repeat per family; default: first usable)', collect)
    .option('--bridge <name>', 'bridge name (default pn-<name>)')
    .option('--mtu <n>', 'MTU of the bridge and the pods', intArg('--mtu', 68, 65535))
    .option('--no-nat', 'no masquerade for traffic leaving the host')
    .option('--internal', 'no way in or out: pods reach only each other and the gateway')
    .option('--no-dns', 'no DNS responder: pods keep the host\'s nameservers and cannot resolve each other by name')
    .option('--overlay <kind>', 'a network across machines (vxlan): its config goes into --store, node agents do the rest (docs/overlay.md)')
    .option('--store <urls>', 'with --overlay: etcd://HOST:PORT[,HOST:PORT...]')
    .option('--node-prefix <n>', 'with --overlay: prefix length of each node subnet (default 24)', intArg('--node-prefix', 1, 30))
    .option('--vni <n>', 'with --overlay: VXLAN network identifier (default 1)', intArg('--vni', 1, 16777215))
    .option('--port <n>', 'with --overlay: VXLAN UDP port (default 4789)', intArg('--port', 1, 65535))
    .option('--direct-routing', 'with --overlay: route without encapsulation to nodes on the same L2 segment')
    .action(async (name: string, o: Global & { subnet: string[]; gateway?: string[]; bridge?: string; mtu?: number; nat: boolean; internal?: boolean; dns: boolean } & OverlayCreateOptions) => {
      if (o.overlay !== undefined || o.store !== undefined) return createOverlayNetworkCli(name, o)
      await withManager(o, async (m) => {
        const c = await m.create({
          name, subnets: o.subnet, ...(o.gateway && { gateways: o.gateway }), ...(o.bridge && { bridge: o.bridge }),
          // --no-nat is commander's negation, so o.nat is true unless given: an internal network has no NAT either way
          ...(o.mtu !== undefined && { mtu: o.mtu }), nat: o.nat && !o.internal, ...(o.internal && { internal: true }),
          dns: o.dns,
        })
        const dnsNote = c.dns ? await ensureDns(m, c.name) : ''
        if (o.json) printJson(c)
        else process.stdout.write(`network ${c.name}: bridge ${c.bridge}, ${c.subnets.map((s) => `${s.subnet} gw ${s.gateway}`).join(', ')}${c.internal ? ', internal' : c.nat ? ', NAT' : ', no NAT'}${c.dns ? `, DNS ${dnsNote}` : ''}\n`)
      })
    })

  common(net.command('ls').alias('list').description('list networks'))
    .action(async (o: Global) => {
      await withManager(o, async (m) => {
        const rows = m.list().map((c) => ({ ...c, attachments: m.attachments(c.name).length }))
        // a damaged record: named on stderr (the listing goes on), removable with rm --force
        for (const d of m.damagedNetworks()) process.stderr.write(`podnet: warning: network '${d.name}': ${d.error.message}; remove it with \`podnet network rm --force ${d.name}\`\n`)
        if (o.json) printJson(rows)
        else printTable(rows.map((c) => ({ name: c.name, bridge: c.bridge, subnets: c.subnets.map((s) => s.subnet).join(','), mode: c.internal ? 'internal' : c.nat ? 'nat' : 'routed', pods: c.attachments })),
          [['name', 'NAME'], ['bridge', 'BRIDGE'], ['subnets', 'SUBNETS'], ['mode', 'MODE'], ['pods', 'ATTACHMENTS']])
      })
    })

  common(net.command('inspect <name>').description('a network and its attachments (an overlay network: also this node\'s view of its peers)'))
    .option('--store <urls>', 'overlay networks: compare with the store (peers missing or stale here)')
    .option('--stats', 'traffic per attachment (rx/tx, drops, shapers) and per published port')
    .action(async (name: string, o: Global & { store?: string; stats?: boolean }) => {
      const overlay = await overlayView(name, o)
      await withManager(o, async (m) => {
        let c
        try {
          c = m.get(name)
        } catch (err) {
          if (!overlay) throw err
          if (o.json) printJson({ name, overlay })
          else printOverlayView(overlay)
          return
        }
        const atts = m.attachments(name)
        // addresses IPAM keeps for a pod that takes them back (a StatefulSet's ordinal without its pod)
        const reservations = (await m.reservations(name)).map(({ network: _n, ...r }) => r)
        if (o.stats) {
          const { networkStats } = await import('../../bridge/index.js')
          const stats = await networkStats(m, name)
          if (o.json) printJson({ ...c, attachments: atts, stats, ...(overlay && { overlay }) })
          else printNetworkStats(c.name, stats)
          return
        }
        if (o.json) printJson({ ...c, attachments: atts, reservations, ...(overlay && { overlay }) })
        else {
          if (overlay) {
            printOverlayView(overlay)
            process.stdout.write('\n')
          }
          process.stdout.write(`network ${c.name}\n  bridge   ${c.bridge} (${c.bridgeMac}, mtu ${c.mtu})\n`)
          for (const s of c.subnets) process.stdout.write(`  subnet   ${s.subnet} gateway ${s.gateway}\n`)
          process.stdout.write(`  mode     ${c.internal ? 'internal' : c.nat ? 'nat' : 'routed'}\n  rules    ${c.rules.length}\n`)
          process.stdout.write(`  dns      ${c.dns ? `on: ${c.subnets.map((s) => s.gateway).join(', ')} port 53, search ${c.name}` : 'off'}\n\n`)
          printTable(atts.map((a) => ({ id: a.id, ifname: a.ifname, netns: a.netns, veth: a.hostVeth, addresses: a.addresses.map((x) => x.address).join(','), ports: fmtPorts(a.portMappings), names: (a.dnsNames ?? []).join(',') })),
            [['id', 'ID'], ['ifname', 'IFNAME'], ['netns', 'NETNS'], ['veth', 'HOST VETH'], ['addresses', 'ADDRESSES'], ['ports', 'PORTS'], ...(c.dns ? [['names', 'DNS NAMES'] as [string, string]] : [])])
          if (reservations.length) {
            process.stdout.write('\nreserved addresses (kept for the pod that takes them back)\n')
            printTable(reservations.map((r) => ({ key: r.key, ifname: r.ifname, ip: r.ip, since: r.reservedAt })), [['key', 'KEY'], ['ifname', 'IFNAME'], ['ip', 'ADDRESS'], ['since', 'RESERVED AT']])
          }
        }
      })
    })

  common(net.command('rm <name>').alias('remove').description('remove a network (refused while pods are attached, unless --force)'))
    .option('--force', 'detach attached pods first')
    .action(async (name: string, o: Global & { force?: boolean }) => {
      await withManager(o, async (m) => {
        const r = await m.remove(name, { force: o.force === true })
        // the responder lets go of the gateway address now rather than at its next rescan
        const { pokeDnsResponder } = await import('../../dns/service.js')
        pokeDnsResponder({ stateDir: m.state.root, runDir: m.state.run })
        if (o.json) printJson({ removed: name, ...r })
        else process.stdout.write(`removed network ${name}${r.detached ? ` (detached ${r.detached})` : ''}\n`)
      })
    })

  bandwidthOptions(common(net.command('attach <name>').alias('connect').description('attach a network namespace to a network (connect: docker\'s name)')))
    .option('--pod-netns <ns>', "the pod's namespace to attach: a name (under /run/netns) or a path")
    .addOption(new Option('--netns <ns>', 'old spelling of --pod-netns').hideHelp())
    .option('--ifname <name>', 'interface name in the namespace', 'eth0')
    .option('--id <id>', 'container id owning the attachment (default: the namespace name)')
    .option('--ip <ip>', 'static address (repeat per family)', collect)
    .option('--mac <mac>', 'MAC address of the pod interface')
    .option('-p, --publish <[hostip:]hostport:port[/proto]>', 'publish a port (repeatable)', collect)
    .option('--alias <name>', 'another name of the attachment in the network\'s DNS (repeatable; its id is always one)', collect)
    .option('--priority <level>', 'traffic priority on the uplinks: high, normal, low or 0-7 (podnet qos)')
    .action(async (name: string, o: Global & BandwidthFlags & PodNetnsFlags & { ifname: string; id?: string; ip?: string[]; mac?: string; publish?: string[]; priority?: string; alias?: string[] }) => {
      const netns = podNetns(o)
      if (netns === undefined) throw new InvalidArgumentError('--pod-netns', "required: the pod's namespace to attach (a name or a path)")
      const [{ parsePortMapping, parsePriority }, { isDnsName, normalizeDnsName }] = await Promise.all([import('../../bridge/index.js'), import('../../net/dns-name.js')])
      const portMappings = (o.publish ?? []).map(parsePortMapping)
      const bandwidth = await bandwidthFlags(o)
      const priority = o.priority === undefined ? undefined : parsePriority(o.priority, '--priority')
      const aliases = (o.alias ?? []).map((a) => normalizeDnsName(a, '--alias'))
      const id = o.id ?? (netns.includes('/') ? undefined : netns)
      const dnsNames = [...(id !== undefined && isDnsName(id) ? [id] : []), ...aliases]
      await withManager(o, async (m) => {
        const a = await m.attach({
          network: name, netns, ifname: o.ifname, ...(o.id && { id: o.id }), ...(o.ip && { ips: o.ip }),
          ...(o.mac && { mac: o.mac }), portMappings, ...(bandwidth && { bandwidth }), ...(priority !== undefined && { priority }),
          ...(dnsNames.length && { dnsNames }),
        })
        if (m.get(name).dns) await ensureDns(m, name)
        if (o.json) printJson(a)
        else process.stdout.write(`attached ${a.id}/${a.ifname} (${a.netns}) to ${name}: ${a.addresses.map((x) => x.address).join(', ')} via ${a.hostVeth}, mac ${a.mac}${a.portMappings.length ? `, ports ${fmtPorts(a.portMappings)}` : ''}${a.bandwidth ? `, ${fmtBandwidth(a.bandwidth)}` : ''}\n`)
      })
    })

  common(net.command('detach <name>').alias('disconnect').description('detach (succeeds, and says so, when already detached; disconnect: docker\'s name)'))
    .option('--pod-netns <ns>', "the pod's namespace: a name or a path (also the default id)")
    .addOption(new Option('--netns <ns>', 'old spelling of --pod-netns').hideHelp())
    .option('--ifname <name>', 'interface name', 'eth0')
    .option('--id <id>', 'container id')
    .action(async (name: string, o: Global & PodNetnsFlags & { ifname: string; id?: string }) => {
      const netns = podNetns(o)
      if (!netns && !o.id) throw new InvalidArgumentError('detach', 'give --pod-netns or --id')
      await withManager(o, async (m) => {
        const r = await m.detach({ network: name, ifname: o.ifname, ...(o.id && { id: o.id }), ...(netns && { netns }) })
        if (o.json) printJson(r)
        else process.stdout.write(r.detached ? `detached ${r.attachment?.id}/${r.attachment?.ifname} from ${name}\n` : `nothing to detach: ${r.reason}\n`)
      })
    })

  bandwidthOptions(common(net.command('bandwidth <name>').description("set an attachment's rate limits in place (no rate given: remove them)")))
    .requiredOption('--id <id>', 'container id of the attachment')
    .option('--ifname <name>', 'interface name', 'eth0')
    .action(async (name: string, o: Global & BandwidthFlags & { id: string; ifname: string }) => {
      const bandwidth = await bandwidthFlags(o)
      await withManager(o, async (m) => {
        const a = await m.setBandwidth(name, o.id, o.ifname, bandwidth)
        if (o.json) printJson(a)
        else process.stdout.write(`${a.id}/${a.ifname} on ${name}: ${a.bandwidth ? fmtBandwidth(a.bandwidth) : 'no limits'}\n`)
      })
    })

  common(net.command('priority <name> <level>').description("set an attachment's traffic priority in place: high, normal, low or 0-7"))
    .requiredOption('--id <id>', 'container id of the attachment')
    .option('--ifname <name>', 'interface name', 'eth0')
    .action(async (name: string, level: string, o: Global & { id: string; ifname: string }) => {
      const { parsePriority, formatPriority } = await import('../../bridge/index.js')
      const p = parsePriority(level, 'level')
      await withManager(o, async (m) => {
        const a = await m.setPriority(name, o.id, o.ifname, p)
        if (o.json) printJson(a)
        else process.stdout.write(`${a.id}/${a.ifname} on ${name}: priority ${formatPriority(a.priority ?? 4)}\n`)
      })
    })

  common(net.command('check [name]').description('report drift between recorded state and the kernel (exit 1 when any)'))
    .action(async (name: string | undefined, o: Global) => {
      await withManager(o, async (m) => {
        const drift = await m.check(name)
        if (o.json) printJson(drift)
        else if (!drift.length) process.stdout.write('no drift\n')
        else printTable(drift.map((d) => ({ ...d })), [['network', 'NETWORK'], ['object', 'OBJECT'], ['problem', 'PROBLEM']])
        if (drift.length) process.exitCode = 1
      })
    })

  common(net.command('restore [names...]').description('make the kernel side of networks (bridge, gateways, sysctls, rules) match their records, as at boot; all networks when none is named'))
    .action(async (names: string[], o: Global) => {
      await withManager(o, async (m) => {
        const r = await m.restore(names.length ? names : undefined)
        // the boot unit runs this: networks with DNS get their responder back now, not at the first attach
        const dns = new Map<string, string>()
        for (const x of r) if (m.get(x.network).dns) dns.set(x.network, await ensureDns(m, x.network))
        if (o.json) printJson(r.map((x) => ({ ...x, ...(dns.has(x.network) && { dns: dns.get(x.network) }) })))
        else if (!r.length) process.stdout.write('no networks\n')
        else for (const x of r) process.stdout.write(`${x.network}: ${x.repaired.length ? `restored ${x.repaired.join(', ')}` : 'nothing to restore'}${dns.has(x.network) ? `; DNS ${dns.get(x.network)}` : ''}\n`)
      })
    })

  common(net.command('gc').description('remove leftovers: veths without pods, addresses without owners, rules of deleted networks'))
    .action(async (o: Global) => {
      await withManager(o, async (m) => {
        const r = await m.gc()
        if (o.json) printJson(r)
        else {
          const n = Object.values(r).reduce((s, v: string[]) => s + v.length, 0)
          process.stdout.write(n ? `${Object.entries(r).filter(([, v]) => v.length).map(([k, v]) => `${k}: ${(v as string[]).join(', ')}`).join('\n')}\n` : 'nothing to collect\n')
        }
      })
    })

  const nat = program.command('nat').description("podnet's nf_tables rules")
  common(nat.command('ls').alias('list').description("list podnet's NAT and filter rules (table inet podnet)"))
    .action(async (o: Global) => {
      await withManager(o, async (m) => {
        const rules = await m.podnetRules()
        if (o.json) printJson(rules.map((r) => ({ family: r.family, table: r.table, chain: r.chain, handle: Number(r.handle), comment: r.comment, expr: r.exprs })))
        else printTable(rules.map((r) => ({ chain: r.chain, handle: String(r.handle), comment: r.comment ?? '' })), [['chain', 'CHAIN'], ['handle', 'HANDLE'], ['comment', 'RULE']])
      })
    })
  common(nat.command('ports').description("list published ports: the elements of podnet's port maps, with owner and counters"))
    .action(async (o: Global) => {
      await withManager(o, async (m) => {
        const ports = await m.portMapEntries()
        if (o.json) {
          printJson(ports.map((p) => ({
            map: p.map, port: p.text, key: p.key, to: p.data, owner: p.comment ?? null,
            packets: p.packets === undefined ? null : Number(p.packets), bytes: p.bytes === undefined ? null : Number(p.bytes),
          })))
        } else {
          printTable(ports.map((p) => ({ port: p.text, owner: (p.comment ?? '').replace(/^podnet /, ''), packets: p.packets === undefined ? '' : String(p.packets), map: p.map })),
            [['port', 'PUBLISHED'], ['owner', 'OWNER'], ['packets', 'PACKETS'], ['map', 'MAP']])
        }
      })
    })
}
