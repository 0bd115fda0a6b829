/** podnet link ls | show | add | set | del */
import { Option, type Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import type { LinkChange, LinkSpec, MacvlanMode } from '../../netlink/route/index.js'
import { withRtnl, intArg, namer } from '../context.js'
import { LINK_COLUMNS, linkRow, linkToJson, printJson, printJsonArray, printTable } from '../output.js'

interface AddOpts {
  type: string; peer?: string; peerNetns?: string; netns?: string; mtu?: number; address?: string
  id?: number; group?: string; local?: string; port?: number; dev?: string; mode?: MacvlanMode; up?: boolean
}

export function registerLink(program: Command): void {
  const link = program.command('link').description('network interfaces')
  const nsOpt = (): Option => new Option('-n, --netns <ns>', 'act in this named network namespace')

  link.command('ls').alias('list').description('list links')
    .addOption(nsOpt())
    .option('--json', 'JSON output (iproute2 key names, as `ip -j -d link show`)')
    .option('--master <bridge>', 'only ports of this bridge')
    .option('--type <kind>', 'only links of this kind')
    .action(async (opts: { netns?: string; json?: boolean; master?: string; type?: string }) => {
      await withRtnl(opts.netns, async (rt) => {
        const filter: { master?: string; kind?: string } = {}
        if (opts.master) filter.master = opts.master
        if (opts.type) filter.kind = opts.type
        const links = await rt.link.list(filter)
        const all = filter.master || filter.kind ? await rt.link.list() : links
        const nameOf = namer(all)
        if (opts.json) printJsonArray(links, (l) => linkToJson(l, nameOf))
        else printTable(links.map((l) => linkRow(l, nameOf)), LINK_COLUMNS)
      })
    })

  link.command('show <name>').description('show one link (a single RTM_GETLINK)')
    .addOption(nsOpt())
    .option('--json', 'JSON output')
    .action(async (name: string, opts: { netns?: string; json?: boolean }) => {
      await withRtnl(opts.netns, async (rt) => {
        const l = await rt.link.get(name)
        const master = l.master !== undefined ? rt.link.findSync(l.master) : undefined
        const peer = l.link !== undefined && l.linkNetnsid === undefined ? rt.link.findSync(l.link) : undefined
        const nameOf = namer([l, ...(master ? [master] : []), ...(peer ? [peer] : [])])
        if (opts.json) printJson([linkToJson(l, nameOf)])
        else printTable([linkRow(l, nameOf)], LINK_COLUMNS)
      })
    })

  link.command('add <name>').description('create a link: veth (with --peer), bridge, vxlan, macvlan or ifb')
    .addOption(new Option('--type <kind>', 'link kind').choices(['veth', 'bridge', 'vxlan', 'macvlan', 'ifb']).makeOptionMandatory())
    .addOption(nsOpt())
    .option('--peer <name>', 'veth: name of the other end')
    .option('--peer-netns <ns>', 'veth: create the other end directly in this namespace')
    .option('--mtu <n>', 'MTU (for a veth: both ends)', intArg('--mtu', 0, 1 << 30))
    .option('--address <mac>', 'MAC address')
    .option('--id <vni>', 'vxlan: VNI', intArg('--id', 0, (1 << 24) - 1))
    .option('--group <ip>', 'vxlan: multicast group or remote')
    .option('--local <ip>', 'vxlan: local address')
    .option('--port <n>', 'vxlan: UDP port', intArg('--port', 1, 65535))
    .option('--dev <name>', 'vxlan: underlying device; macvlan: parent device')
    .addOption(new Option('--mode <mode>', 'macvlan mode').choices(['private', 'vepa', 'bridge', 'passthru', 'source']))
    .option('--up', 'bring the link (and a veth peer) up')
    .action(async (name: string, o: AddOpts) => {
      const { Netns } = await import('../../netns/index.js')
      const peerNs = o.peerNetns ? Netns.open(o.peerNetns) : undefined
      try {
        await withRtnl(o.netns, async (rt) => {
          const common = { name, ...(o.mtu !== undefined && { mtu: o.mtu }), ...(o.address !== undefined && { address: o.address }), ...(o.up && { up: true }) }
          let spec: LinkSpec
          switch (o.type) {
            case 'veth':
              if (!o.peer) throw new InvalidArgumentError('--peer', 'a veth needs --peer NAME for its other end')
              spec = { ...common, kind: 'veth', peer: { name: o.peer, ...(peerNs && { netns: peerNs }), ...(o.up && { up: true }), ...(o.mtu !== undefined && { mtu: o.mtu }) } }
              break
            case 'bridge':
              spec = { ...common, kind: 'bridge' }
              break
            case 'vxlan': {
              if (o.id === undefined) throw new InvalidArgumentError('--id', 'a vxlan needs --id VNI')
              const vx: { id: number; group?: string; local?: string; port?: number; link?: number } = { id: o.id }
              if (o.group) vx.group = o.group
              if (o.local) vx.local = o.local
              if (o.port) vx.port = o.port
              if (o.dev) vx.link = rt.link.resolveSync(o.dev)
              spec = { ...common, kind: 'vxlan', vxlan: vx }
              break
            }
            case 'macvlan':
              if (!o.dev) throw new InvalidArgumentError('--dev', 'a macvlan needs --dev PARENT')
              spec = { ...common, kind: 'macvlan', parent: o.dev, ...(o.mode && { mode: o.mode }) }
              break
            default:
              spec = { ...common, kind: 'ifb' }
          }
          if (o.type !== 'veth' && (o.peer || o.peerNetns)) throw new InvalidArgumentError('--peer', 'only a veth has a peer')
          await rt.link.add(spec)
        })
      } finally {
        peerNs?.close()
      }
    })

  link.command('set <name>').description('change a link')
    .option('-n <ns>', 'act in this named network namespace')
    .option('--up', 'bring up')
    .option('--down', 'bring down')
    .option('--mtu <n>', 'MTU', intArg('--mtu', 0, 1 << 30))
    .option('--address <mac>', 'MAC address')
    .option('--master <bridge>', 'enslave to a bridge')
    .option('--nomaster', 'release from its bridge')
    .option('--to-netns <ns>', 'move it to this named namespace (ip link set X netns NS)')
    .addOption(new Option('--netns <ns>', 'old spelling of --to-netns').hideHelp())
    .option('--name <new>', 'rename')
    .option('--txqueuelen <n>', 'transmit queue length', intArg('--txqueuelen'))
    .addOption(new Option('--hairpin <on|off>', 'bridge port: hairpin mode').choices(['on', 'off']))
    .addOption(new Option('--learning <on|off>', 'bridge port: MAC learning').choices(['on', 'off']))
    .addOption(new Option('--flood <on|off>', 'bridge port: unicast flooding').choices(['on', 'off']))
    .addOption(new Option('--isolated <on|off>', 'bridge port: isolation').choices(['on', 'off']))
    .action(async (name: string, o: Record<string, string | number | boolean | undefined>) => {
      // -n is the namespace to act in; --to-netns (old spelling: --netns) is where to move the link (`ip -n A link set X netns B`)
      const actIn = o.n as string | undefined
      if (o.toNetns !== undefined && o.netns !== undefined && o.toNetns !== o.netns) throw new InvalidArgumentError('--to-netns', 'given twice (--netns is its old spelling) with different values')
      const moveTo = (o.toNetns ?? o.netns) as string | undefined
      if (o.up && o.down) throw new InvalidArgumentError('--up/--down', 'choose one')
      if (o.master && o.nomaster) throw new InvalidArgumentError('--master/--nomaster', 'choose one')
      const change: LinkChange = {}
      if (o.up) change.up = true
      if (o.down) change.up = false
      if (o.mtu !== undefined) change.mtu = o.mtu as number
      if (o.address !== undefined) change.address = o.address as string
      if (o.master !== undefined) change.master = o.master as string
      if (o.nomaster) change.master = null
      if (o.name !== undefined) change.name = o.name as string
      if (o.txqueuelen !== undefined) change.txqlen = o.txqueuelen as number
      for (const k of ['hairpin', 'learning', 'flood', 'isolated'] as const) if (o[k] !== undefined) change[k] = o[k] === 'on'
      const { Netns } = await import('../../netns/index.js')
      const target = moveTo ? Netns.open(moveTo) : undefined
      if (target) change.netns = target
      if (Object.keys(change).length === 0) throw new InvalidArgumentError('link set', 'nothing to change (see podnet link set --help)')
      try {
        await withRtnl(actIn, (rt) => rt.link.set(name, change))
      } finally {
        target?.close()
      }
    })

  link.command('del <name>').alias('delete').description('delete a link (a veth takes its peer with it)')
    .addOption(nsOpt())
    .action(async (name: string, o: { netns?: string }) => {
      await withRtnl(o.netns, (rt) => rt.link.del(name))
    })
}
