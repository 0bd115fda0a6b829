/**
 * Creating a bridge network (NetworkManager.create): the spec checked (name, MTU, bridge name,
 * subnets and gateways, no overlap with other networks or with the host's routes), then under
 * the state lock the kernel side made with ensure.ts's steps, each undone on failure, and the
 * record written last.
 */
import { ExistsError, InvalidArgumentError } from '../errors.js'
import type { Rtnl } from '../netlink/route/index.js'
import { validateMtu } from '../netlink/route/validate.js'
import { overlaps, parseCidr, reservedRangeOverlap } from '../net/ip.js'
import { validateIfname, validateNetworkName } from '../net/names.js'
import { parseRangeSets } from './ipam/index.js'
import { bridgeMac, defaultBridgeName } from './names.js'
import { ensureBridge, ensureGateways, ensureSysctls, installRules, type EnsureContext } from './ensure.js'
import type { NetworkConfig, NetworkSpec, SubnetConfig } from './types.js'
import { UndoStack } from './undo.js'

/** What create needs of its NetworkManager. */
export interface CreateContext extends EnsureContext {
  /** The host namespace's name or path as recorded (null: this process's own). */
  readonly hostNetnsName: string | null
  list(): NetworkConfig[]
}

/**
 * Creates a network: bridge (stable MAC, MTU, up), gateway addresses, sysctls (ip_forward,
 * route_localnet on the bridge, accept_ra=0), NAT and isolation rules. Nothing is left behind
 * when any step fails. Equivalent to `podnet network create`.
 */
export async function createNetwork(ctx: CreateContext, spec: NetworkSpec): Promise<NetworkConfig> {
  validateNetworkName(spec.name)
  if (!spec.subnets.length) throw new InvalidArgumentError('subnets', 'a network needs at least one subnet')
  const mtu = spec.mtu ?? 1500
  validateMtu(mtu)
  const bridge = spec.bridge ?? defaultBridgeName(spec.name)
  validateIfname(bridge, 'bridge name')
  const subnets = parseSubnets(spec)
  if (spec.internal && spec.nat === true) throw new InvalidArgumentError('internal', 'an internal network has no NAT; do not ask for both')
  return ctx.state.locked(async () => {
    if (ctx.state.readJson(ctx.state.configPath(spec.name))) throw new ExistsError('network', spec.name)
    for (const other of ctx.list()) {
      if (other.bridge === bridge) throw new ExistsError('bridge', bridge, `(used by network '${other.name}')`)
      for (const s of subnets) for (const o of other.subnets) {
        if (overlaps(s.subnet, o.subnet)) throw new InvalidArgumentError('subnet', `${s.subnet} overlaps ${o.subnet} of network '${other.name}'`)
      }
    }
    checkRoutedInHost(ctx.rt, subnets, bridge)
    const config: NetworkConfig = {
      name: spec.name, bridge, bridgeMac: bridgeMac(spec.name), subnets, mtu,
      nat: spec.internal ? false : spec.nat ?? true, internal: spec.internal ?? false,
      ...(spec.dns && { dns: true }), createdBridge: false, hostNetns: ctx.hostNetnsName, createdAt: new Date().toISOString(), rules: [],
    }
    // the same steps as ensureNetworkKernel (ensure.ts), each undone on failure; a bridge that a
    // killed earlier create left (podnet's alias or MAC) is adopted, its rules replaced
    return UndoStack.run(async (undo) => {
      undo.push('remove the network directory', () => ctx.state.removeTree(ctx.state.networkDir(spec.name)))
      await ensureBridge(ctx, config, undo)
      await ensureGateways(ctx, config, undo)
      await ensureSysctls(ctx, config)
      await installRules(ctx, config)
      undo.push('remove nf_tables rules', () => ctx.nat.deleteRules(config.rules, config.bridge))
      ctx.state.writeJson(ctx.state.configPath(spec.name), config)
      return config
    })
  })
}

function parseSubnets(spec: NetworkSpec): SubnetConfig[] {
  const seen = new Set<number>()
  const ranges = spec.subnets.map((text) => {
    const c = parseCidr(text, 'subnet')
    const reserved = reservedRangeOverlap(c)
    if (reserved) throw new InvalidArgumentError('subnet', `${text} overlaps ${reserved}: pods cannot use those addresses`)
    if (c.family === 6 && (spec.mtu ?? 1500) < 1280) throw new InvalidArgumentError('mtu', `${spec.mtu} is below 1280, the least IPv6 allows (subnet ${text})`)
    if (seen.has(c.family)) throw new InvalidArgumentError('subnet', `more than one IPv${c.family} subnet; give at most one IPv4 and one IPv6`)
    seen.add(c.family)
    const gw = spec.gateways?.find((g) => (g.includes(':') ? 6 : 4) === c.family)
    return { subnet: text, ...(gw !== undefined && { gateway: gw }) }
  })
  for (const g of spec.gateways ?? []) {
    if (!ranges.some((r) => 'gateway' in r && r.gateway === g)) throw new InvalidArgumentError('gateway', `${g} has no subnet of its family`)
  }
  const sets = parseRangeSets(ranges, 'subnet')
  return sets.map((rs, i) => {
    const r = rs.ranges[0]!
    return { subnet: r.subnet.text ?? spec.subnets[i]!, gateway: r.gatewayText, family: r.family }
  })
}

/** Refuses a subnet that overlaps a route of the host (other than podnet's own bridge). */
function checkRoutedInHost(rt: Rtnl, subnets: SubnetConfig[], bridge: string): void {
  const links = rt.link.listSync()
  const br = links.find((l) => l.name === bridge)
  for (const r of rt.route.listSync({ table: 'all' })) {
    if (r.dst === 'default' || r.type !== 1 || (br && r.oif === br.index)) continue
    if (r.family === 6 && r.dst.startsWith('fe80:')) continue
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${r.family === 4 ? 32 : 128}`
    for (const s of subnets) {
      if (s.family === r.family && overlaps(s.subnet, dst)) {
        const dev = links.find((l) => l.index === r.oif)?.name
        throw new InvalidArgumentError('subnet', `${s.subnet} overlaps ${dst}${dev ? ` on ${dev}` : ''}, already routed in the host namespace`)
      }
    }
  }
}
