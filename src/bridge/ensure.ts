/**
 * A network's kernel side, made to match its record, idempotently: the bridge (podnet's by its
 * stable MAC and its alias), the gateway addresses, the sysctls, and the nf_tables rules and
 * maps. Create uses the same steps; attach runs them when the bridge is missing (after a reboot,
 * or someone deleted it); `network restore` runs them for every network at boot.
 *
 * A bridge is podnet's own when its alias is this state directory's tag for the network
 * ("podnet o=OWNER net=NAME") or its MAC is the one podnet derives from the network's name: a
 * `network create` killed between making the bridge and writing the record leaves such a bridge,
 * and the retry adopts it instead of failing on its address. A bridge whose alias is another
 * network's tag (another state directory's: the CLI's networks beside podnet-cni's) is refused.
 */
import { ExistsError, InvalidArgumentError, isErrno } from '../errors.js'
import type { Rtnl } from '../netlink/route/index.js'
import { ownerTag, parseOwnerTag } from './nat.js'
import type { NatState } from './nat-state.js'
import type { StateDir } from './state.js'
import { writeSysctlSync } from './sysctl.js'
import type { NetworkConfig } from './types.js'
import type { UndoStack } from './undo.js'

export interface EnsureContext {
  readonly rt: Rtnl
  readonly nat: NatState
  readonly state: StateDir
  /** Runs fn with this thread in the host namespace (sysctls). */
  inHost(fn: () => void): void
}

/** The bridge's alias: who made it, for which network. */
export const bridgeAlias = (owner: string, network: string): string => ownerTag(owner, network)

/**
 * Makes the bridge exist and be up. An existing link of that name is used when it is a bridge
 * (and becomes podnet's to delete when it carries podnet's alias or MAC for this network), and
 * refused (ExistsError) when its alias says it is another podnet network's.
 * Returns what it did; pushes the deletion of a bridge it created onto `undo`.
 */
export async function ensureBridge(ctx: EnsureContext, config: NetworkConfig, undo?: UndoStack): Promise<string[]> {
  const done: string[] = []
  const existing = ctx.rt.link.findSync(config.bridge)
  if (existing) {
    if (existing.kind !== 'bridge') {
      throw new InvalidArgumentError('bridge', `'${config.bridge}' exists and is ${existing.kind ? `a ${existing.kind}` : 'not a bridge'}`)
    }
    const tag = parseOwnerTag(existing.alias)
    // another podnet network's bridge (of this state directory, or of another: the CLI's beside
    // podnet-cni's, two networks of the same name having the same MAC) is never used: its gc would
    // take this network's veths for its own strays, and this one's removal would delete its bridge
    if (tag && (tag.owner !== ctx.state.owner || tag.network !== config.name)) {
      const whose = tag.owner === ctx.state.owner ? `network '${tag.network}'` : `network '${tag.network}' of another podnet state directory`
      throw new ExistsError('bridge', config.bridge, `(the bridge of ${whose}: ${existing.alias}); give this network another bridge name`)
    }
    if (tag || existing.address === config.bridgeMac) config.createdBridge = true
    if (!existing.up) {
      await ctx.rt.link.set(config.bridge, { up: true })
      done.push(`bridge ${config.bridge} up`)
    }
    return done
  }
  // The MTU is set after creation, not in RTM_NEWLINK: only a change of MTU marks it as the
  // user's (BROPT_MTU_SET_BY_USER); a bridge created with IFLA_MTU falls back to 1500 when its
  // last port leaves (br_mtu_auto_adjust), and the next pod's veth would then be the only cap.
  await ctx.rt.link.add({
    kind: 'bridge', name: config.bridge, address: config.bridgeMac, alias: bridgeAlias(ctx.state.owner, config.name),
    bridge: { stpState: 0, forwardDelay: 0 },
  })
  config.createdBridge = true
  undo?.push(`delete bridge ${config.bridge}`, () => ctx.rt.link.del(config.bridge))
  await ctx.rt.link.set(config.bridge, { mtu: config.mtu, up: true })
  done.push(`bridge ${config.bridge}`)
  return done
}

/** Puts the gateway addresses on the bridge (what is there stays). */
export async function ensureGateways(ctx: EnsureContext, config: NetworkConfig, undo?: UndoStack): Promise<string[]> {
  const done: string[] = []
  const have = new Set(ctx.rt.addr.listSync({ dev: config.bridge }).map((a) => `${a.local}/${a.prefixlen}`))
  for (const s of config.subnets) {
    const cidr = `${s.gateway}/${s.subnet.split('/')[1]}`
    if (have.has(cidr)) continue
    try {
      await ctx.rt.addr.add({ cidr, dev: config.bridge, ...(s.family === 6 && { nodad: true }) })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) continue
      throw err
    }
    undo?.push(`remove ${s.gateway} from ${config.bridge}`, () => ctx.rt.addr.del({ cidr, dev: config.bridge }))
    done.push(`gateway ${cidr}`)
  }
  return done
}

/** Forwarding, no router advertisements on the bridge, route_localnet (for 127.0.0.1:hostPort). */
export async function ensureSysctls(ctx: EnsureContext, config: NetworkConfig): Promise<void> {
  ctx.inHost(() => {
    if (!config.internal) {
      if (config.subnets.some((s) => s.family === 4)) writeSysctlSync('net.ipv4.ip_forward', '1')
      if (config.subnets.some((s) => s.family === 6)) writeSysctlSync('net.ipv6.conf.all.forwarding', '1')
    }
    try {
      writeSysctlSync(`net/ipv6/conf/${config.bridge}/accept_ra`, '0')
    } catch {
      // IPv6 disabled in this namespace: nothing to turn off
    }
  })
  await ctx.rt.link.set(config.bridge, { ipv4Conf: { route_localnet: 1 } })
}

/**
 * Installs the network's rules (and the table, chains and maps when they are missing), first
 * deleting whatever rules this state directory left for the network (a killed create, an older
 * set): afterwards the table holds exactly one set of them, whose handles are recorded in config.
 */
export async function installRules(ctx: EnsureContext, config: NetworkConfig): Promise<void> {
  const mine = (await ctx.nat.rules()).filter((r) => {
    const t = parseOwnerTag(r.comment)
    return t?.owner === ctx.state.owner && t.network === config.name
  })
  if (mine.length) ctx.nat.deleteRules(mine.map((r) => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })))
  config.rules = await ctx.nat.installNetworkRules(config)
}

/**
 * Makes the kernel match a network's record: bridge, gateways, sysctls, rules (reinstalled when
 * any recorded rule is missing). Returns what was repaired (empty when nothing was) and writes
 * the record when the rules changed. Callers hold the state lock.
 */
export async function ensureNetworkKernel(ctx: EnsureContext, config: NetworkConfig): Promise<string[]> {
  const repaired = [...await ensureBridge(ctx, config), ...await ensureGateways(ctx, config)]
  await ensureSysctls(ctx, config)
  const handles = new Set((await ctx.nat.rules()).map((r) => `${r.chain}/${r.handle}`))
  if (!config.rules.length || config.rules.some((r) => !handles.has(`${r.chain}/${r.handle}`))) {
    await installRules(ctx, config)
    repaired.push('nf_tables rules')
  }
  if (repaired.length) ctx.state.writeJson(ctx.state.configPath(config.name), config)
  return repaired
}
