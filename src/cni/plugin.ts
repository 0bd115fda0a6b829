/**
 * podnet-cni's commands over the bridge layer. A CNI network configuration names a podnet
 * network (created on the first ADD from the config's bridge and ipam fields); the "host" is
 * the network namespace the plugin runs in.
 *
 *   ADD    = NetworkManager.attach(CNI_NETNS, id = CNI_CONTAINERID, ifname = CNI_IFNAME)
 *   DEL    = detach, only if the record belongs to CNI_NETNS (a stale DEL for a failed duplicate
 *            ADD must not free a live pod); succeeds when anything is already gone
 *   CHECK  = prevResult against the record, and the record against the kernel
 *   GC     = detach every attachment not in cni.dev/valid-attachments, then the bridge layer's gc
 *   STATUS = can the network hand out an address?
 *
 * An overlay network ("podnet": {"overlay": true}, or a network the node agent's records mark
 * as an overlay's) is never created, changed or removed here: it is the node subnet the agent
 * leased (src/overlay/local.ts). ADD attaches to it with the agent's subnet, MTU and NAT, and
 * fails with 11 (try again later) while no agent holds a lease on this node; STATUS says 50.
 */
import { statSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { CniRequestError, ExistsError, NotFoundError, isErrno } from '../errors.js'
import { NetworkManager, ifbNameForVeth, type Attachment, type NetworkConfig } from '../bridge/index.js'
import { DiskStore, parseRangeSets } from '../bridge/ipam/index.js'
import { parseCidr, parseIp } from '../net/ip.js'
import { Netns, netnsRunDir } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { nodeAgentHint, overlayLocal } from '../overlay/local.js'
import { DEFAULT_STATE_DIR } from '../state/index.js'
import { parseLocation, parseNetConf, podRoutesFor, resultRoutes, type ConfDefaults, type NetLocation, type PodnetNetConf } from './config.js'
import { formatResult, mergeParts, parsePrevResult, type ResultParts } from './result.js'
import { podDnsConfig } from '../dns/config.js'
import { ensureDnsResponder } from '../dns/service.js'
import type { CmdArgs, CniFuncs } from './skel.js'
import type { CniAttachmentRef, CniResult } from './types.js'

export interface PluginOptions extends ConfDefaults {
  /**
   * A named namespace that plays the host (tests); default: the namespace the plugin runs in,
   * which is what a runtime means.
   */
  hostNetns?: string
  /** The boot id (default the kernel's; the fault tests simulate a reboot with another). */
  bootId?: string
}

/** The commands of podnet-cni, for runPlugin. */
export function createPlugin(opts: PluginOptions = {}): CniFuncs {
  const defaults: ConfDefaults = {
    ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }),
    ...(opts.runDir !== undefined && { runDir: opts.runDir }),
  }
  const manager = (loc: NetLocation): NetworkManager =>
    new NetworkManager({
      stateDir: loc.stateDir, runDir: loc.runDir,
      ...(opts.hostNetns !== undefined && { hostNetns: opts.hostNetns }), ...(opts.bootId !== undefined && { bootId: opts.bootId }),
    })
  const hostNetnsId = (): string => netnsId(opts.hostNetns !== undefined ? join(netnsRunDir(), opts.hostNetns) : '/proc/thread-self/ns/net', 'the host namespace')
  const podNetns = (path: string): string => {
    const id = netnsId(path, 'CNI_NETNS')
    if (id === hostNetnsId()) throw new CniRequestError('env', 'CNI_NETNS is the network namespace the plugin runs in', `${path} is the host's own namespace, not a container's`)
    return id
  }

  return {
    async add(a: CmdArgs): Promise<CniResult> {
      const conf = parseNetConf(a.config, a.args, defaults)
      const prev = a.config.prevResult === undefined ? undefined : parsePrevResult(a.config.prevResult)
      podNetns(a.netns)
      const m = manager(conf)
      try {
        const { net, created, cluster } = await ensureNetwork(m, conf)
        const routes = podRoutesFor(conf, net.subnets)
        // an overlay pod without a default route still reaches the other nodes' pods
        if (cluster !== undefined && !conf.defaultGateway && !routes.some((r) => r.dst === cluster)) routes.push({ dst: cluster, gw: net.subnets[0]!.gateway })
        let att: Attachment
        try {
          att = await m.attach({
            network: conf.name, netns: a.netns, id: a.containerId, ifname: a.ifname,
            ...(conf.ips.length && { ips: conf.ips }), ...(conf.mac !== undefined && { mac: conf.mac }),
            portMappings: conf.portMappings, routes, hairpin: conf.hairpin, ...(conf.bandwidth && { bandwidth: conf.bandwidth }),
            ...(conf.dnsNames.length && { dnsNames: conf.dnsNames }),
          })
        } catch (err) {
          // nothing half-done: a network this ADD created goes with it (unless a pod joined meanwhile)
          if (created) await m.remove(conf.name).catch(() => undefined)
          throw err
        }
        // the runtime writes the result's dns into the container's resolv.conf: the responder must answer by then
        if (net.dns) await ensureDnsResponder({ stateDir: conf.stateDir, runDir: conf.runDir }, { network: conf.name, timeoutMs: 5000, bootId: m.state.boot() }).catch(() => undefined)
        const parts = resultParts(m, net, att, resultRoutes(routes), conf)
        return formatResult(a.cniVersion, prev ? mergeParts(prev, parts) : parts)
      } finally {
        m.close()
      }
    },

    async del(a: CmdArgs): Promise<void> {
      const loc = parseLocation(a.config, defaults)
      const m = manager(loc)
      try {
        if (!exists(m, loc.name)) return
        // A record of another namespace stays: it is a live pod, and this DEL is stale.
        await m.detach({ network: loc.name, id: a.containerId, ifname: a.ifname, ...(a.netns !== '' && { netns: a.netns }) })
      } finally {
        m.close()
      }
    },

    async check(a: CmdArgs): Promise<void> {
      const conf = parseNetConf(a.config, a.args, defaults)
      if (a.config.prevResult === undefined) throw new CniRequestError('config', 'invalid network configuration: CHECK needs prevResult (the result of the ADD)')
      const prev = parsePrevResult(a.config.prevResult)
      const nsId = podNetns(a.netns)
      const m = manager(conf)
      try {
        const unknown = (): CniRequestError => new CniRequestError('unknown-container', `container ${a.containerId} has no interface ${a.ifname} on network ${conf.name}`, 'no ADD recorded for it (or it was deleted)')
        if (!exists(m, conf.name)) throw unknown()
        const att = m.attachment(conf.name, a.containerId, a.ifname)
        if (!att) throw unknown()
        const problems: string[] = []
        if (netnsIdOrUndefined(att.netns) !== nsId) problems.push(`the attachment belongs to netns ${att.netns}, not ${a.netns}`)
        problems.push(...comparePrev(prev, att, a))
        if (JSON.stringify(conf.bandwidth ?? {}) !== JSON.stringify(att.bandwidth ?? {})) {
          problems.push(`bandwidth: configured ${JSON.stringify(conf.bandwidth ?? {})}, recorded ${JSON.stringify(att.bandwidth ?? {})}`)
        }
        problems.push(...(await m.check(conf.name, { id: a.containerId, ifname: a.ifname })).map((d) => `${d.object}: ${d.problem}`))
        if (!problems.length) problems.push(...checkPodLink(a.netns, att))
        if (problems.length) {
          throw new CniRequestError('check-failed', `container ${a.containerId} interface ${a.ifname} on network ${conf.name} differs from what ADD made`, problems.join('; '))
        }
      } finally {
        m.close()
      }
    },

    async status(a: CmdArgs): Promise<void> {
      const conf = parseNetConf(a.config, a.args, defaults)
      const m = manager(conf)
      try {
        const ov = overlayLocal(m, conf.name)
        if (conf.overlay || ov) {
          if (ov?.state !== 'ready') throw new CniRequestError('not-available', overlayMissing(m, conf.name, ov?.reason))
        } else if (!exists(m, conf.name)) {
          // Not created yet: the first ADD will, if the subnets are usable.
          parseRangeSets(conf.network.subnets.map((subnet) => ({ subnet, ...gatewayFor(subnet, conf.network.gateways ?? []) })), 'ipam')
          return
        }
        const net = m.get(conf.name)
        const sets = parseRangeSets(net.subnets.map((s) => ({ subnet: s.subnet, gateway: s.gateway })))
        const taken = new DiskStore(m.state.ipamDir(net.name)).transaction((tx) => tx.ips())
        for (const set of sets) {
          let used = 0n
          for (const text of taken) {
            const ip = parseIp(text)
            if (set.ranges.some((r) => ip.family === r.family && r.isAllocatable(ip.value))) used++
          }
          if (used >= set.size) {
            throw new CniRequestError('not-available', `network ${net.name} has no free address`, `${set.toString()}: ${used} of ${set.size} addresses in use`)
          }
        }
      } finally {
        m.close()
      }
    },

    async gc(a: CmdArgs): Promise<void> {
      const loc = parseLocation(a.config, defaults)
      const valid = validAttachments(a.config)
      const m = manager(loc)
      try {
        if (!exists(m, loc.name)) return
        const keep = new Set(valid.map((v) => `${v.containerID}\0${v.ifname}`))
        for (const att of m.attachments(loc.name)) {
          if (!keep.has(`${att.id}\0${att.ifname}`)) await m.detach({ network: loc.name, id: att.id, ifname: att.ifname })
        }
        await m.gc()
      } finally {
        m.close()
      }
    },
  }
}

/** True when the network is in the state dir (NotFoundError means no). */
function exists(m: NetworkManager, name: string): boolean {
  try {
    m.get(name)
    return true
  } catch (err) {
    if (err instanceof NotFoundError) return false
    throw err
  }
}

/** The one-line error of an overlay network with no node subnet here, naming the fix. */
function overlayMissing(m: NetworkManager, name: string, reason = 'no node agent holds a subnet lease for it here'): string {
  return `overlay network '${name}' has no node subnet on this node (${reason}); ${nodeAgentHint(m.state.root, DEFAULT_STATE_DIR)}`
}

/**
 * The podnet network for a configuration: created when missing; re-created when the config
 * changed and no pod is attached; refused (7) when it changed under attached pods. An overlay
 * network is the node agent's and is only used: 11 while the agent holds no lease here, 7 when
 * a configuration without "overlay" asks for other settings than the agent's.
 */
async function ensureNetwork(m: NetworkManager, conf: PodnetNetConf): Promise<{ net: NetworkConfig; created: boolean; cluster?: string }> {
  const ov = overlayLocal(m, conf.name)
  if (conf.overlay || ov) {
    if (ov?.state !== 'ready') throw new CniRequestError('try-again', overlayMissing(m, conf.name, ov?.reason))
    if (!conf.overlay) {
      const diff = differences(ov.network, conf)
      if (diff.length) {
        throw new CniRequestError('config', `invalid network configuration: ${conf.name} is an overlay network on this node, its settings are the node agent's`,
          `${diff.join('; ')}; use "podnet": {"overlay": true} and leave out bridge, mtu, ipMasq, podnet.dns and ipam.subnet`)
      }
    }
    return { net: ov.network, created: false, ...(ov.cluster !== undefined && { cluster: ov.cluster }) }
  }
  if (exists(m, conf.name)) {
    const cur = m.get(conf.name)
    const diff = differences(cur, conf)
    if (!diff.length) return { net: cur, created: false }
    const attached = m.attachments(conf.name).length
    if (attached) {
      throw new CniRequestError('config', `invalid network configuration: network ${conf.name} exists with other settings and has ${attached} pod(s)`,
        `${diff.join('; ')}; DEL its pods first (or use another network name)`)
    }
    await m.remove(conf.name)
  }
  try {
    return { net: await m.create(conf.network), created: true }
  } catch (err) {
    // another ADD created it meanwhile
    if (err instanceof ExistsError && err.kind === 'network') return { net: m.get(conf.name), created: false }
    throw err
  }
}

/** What differs between a stored network and a configuration ([] when they agree). */
function differences(cur: NetworkConfig, conf: PodnetNetConf): string[] {
  const want = conf.network
  const out: string[] = []
  if (cur.bridge !== want.bridge) out.push(`bridge ${cur.bridge} -> ${want.bridge}`)
  if (cur.mtu !== want.mtu) out.push(`mtu ${cur.mtu} -> ${want.mtu}`)
  if (cur.nat !== want.nat) out.push(`ipMasq ${cur.nat} -> ${want.nat}`)
  if (cur.internal !== want.internal) out.push(`podnet.internal ${cur.internal} -> ${want.internal}`)
  if ((cur.dns ?? false) !== (want.dns ?? false)) out.push(`podnet.dns ${cur.dns ?? false} -> ${want.dns ?? false}`)
  const canon = (s: string): string => parseCidr(s, 'subnet').text
  const have = cur.subnets.map((s) => canon(s.subnet)).sort().join(',')
  const asked = want.subnets.map(canon).sort().join(',')
  if (have !== asked) out.push(`subnets ${have} -> ${asked}`)
  for (const g of want.gateways ?? []) {
    if (!cur.subnets.some((s) => s.gateway === g)) out.push(`gateway ${cur.subnets.map((s) => s.gateway).join(',')} -> ${g}`)
  }
  return out
}

const gatewayFor = (subnet: string, gateways: string[]): { gateway?: string } => {
  const g = gateways.find((x) => x.includes(':') === subnet.includes(':'))
  return g === undefined ? {} : { gateway: g }
}

/** The result: bridge, host veth and pod interface (the reference bridge plugin's order), addresses on the pod interface. */
function resultParts(m: NetworkManager, net: NetworkConfig, att: Attachment, routes: ResultParts['routes'], conf: PodnetNetConf): ResultParts {
  const br = m.rt.link.findSync(net.bridge)
  const host = m.rt.link.findSync(att.hostVeth)
  return {
    interfaces: [
      { name: net.bridge, ...(br?.address !== undefined && { mac: br.address }), mtu: br?.mtu ?? net.mtu },
      { name: att.hostVeth, ...(host?.address !== undefined && { mac: host.address }), mtu: att.mtu },
      { name: att.ifname, mac: att.mac, mtu: att.mtu, sandbox: att.netns },
      // as the bandwidth plugin: the ifb that shapes the pod's egress is an interface of the result
      ...ifbInterface(m, att),
    ],
    ips: att.addresses.map((x) => ({ address: x.address, gateway: x.gateway, interface: 2 })),
    routes,
    dns: resultDns(net, conf),
  }
}

/** The result's dns: podnet's responder (and the network as first search domain) when the network has DNS, else the configuration's. */
function resultDns(net: NetworkConfig, conf: PodnetNetConf): ResultParts['dns'] {
  const mine = podDnsConfig(net)
  if (!mine) return conf.dns
  const search = [...new Set([...mine.search, ...(conf.dns.search ?? [])])]
  return { nameservers: mine.nameservers, ...(conf.dns.domain !== undefined && { domain: conf.dns.domain }), search, ...(conf.dns.options !== undefined && { options: conf.dns.options }) }
}

function ifbInterface(m: NetworkManager, att: Attachment): ResultParts['interfaces'] {
  if (!att.bandwidth?.egress) return []
  const name = ifbNameForVeth(att.hostVeth)
  const l = m.rt.link.findSync(name)
  return [{ name, ...(l?.address !== undefined && { mac: l.address }), mtu: att.mtu }]
}

/** Where prevResult and the record disagree (for the pod interface of this request). */
function comparePrev(prev: ResultParts, att: Attachment, a: CmdArgs): string[] {
  const out: string[] = []
  const idx = prev.interfaces.findIndex((i) => i.name === a.ifname && (i.sandbox === undefined || i.sandbox === a.netns || sameNs(i.sandbox, a.netns)))
  if (idx < 0) return [`prevResult has no interface ${a.ifname} in ${a.netns}`]
  const iface = prev.interfaces[idx]!
  if (iface.mac !== undefined && iface.mac.toLowerCase() !== att.mac.toLowerCase()) out.push(`prevResult says ${a.ifname} has MAC ${iface.mac}, podnet gave it ${att.mac}`)
  const prevIps = prev.ips.filter((ip) => ip.interface === idx).map((ip) => ip.address).sort()
  const mine = att.addresses.map((x) => x.address).sort()
  if (prevIps.join(',') !== mine.join(',')) out.push(`prevResult has addresses [${prevIps.join(', ')}] on ${a.ifname}, podnet gave it [${mine.join(', ')}]`)
  return out
}

/** The pod interface's MAC and MTU as the kernel has them. */
function checkPodLink(netnsPath: string, att: Attachment): string[] {
  const ns = Netns.openPath(netnsPath)
  try {
    const rt = Rtnl.open({ netns: ns })
    try {
      const l = rt.link.findSync(att.ifname)
      if (!l) return [`${att.ifname}: missing in the pod namespace`]
      const out: string[] = []
      if (l.address !== undefined && l.address.toLowerCase() !== att.mac.toLowerCase()) out.push(`${att.ifname}: MAC is ${l.address}, not ${att.mac}`)
      if (l.mtu !== undefined && l.mtu !== att.mtu) out.push(`${att.ifname}: MTU is ${l.mtu}, not ${att.mtu}`)
      if (!l.up) out.push(`${att.ifname}: down`)
      return out
    } finally {
      rt.close()
    }
  } finally {
    ns.close()
  }
}

/** statfs(2) f_type of nsfs (linux/magic.h NSFS_MAGIC): namespace files, bind-mounted or under /proc. */
const NSFS_MAGIC = 0x6e736673

/**
 * An identity ('dev:inode' of the nsfs inode) for a path that is a network namespace;
 * CniRequestError 'env' (4) when it is missing or is something else (a file, another kind of
 * namespace). The namespace type is checked by entering it (setns with CLONE_NEWNET refuses
 * other kinds) and coming straight back.
 */
function netnsId(path: string, what: string): string {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(path)
    if (statfsSync(path).type !== NSFS_MAGIC) throw new CniRequestError('env', `${what} ${JSON.stringify(path)} is not a network namespace`, 'it is not a namespace file at all')
  } catch (err) {
    if (err instanceof CniRequestError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new CniRequestError('env', `${what} ${JSON.stringify(path)} ${code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`, (err as Error).message)
  }
  const ns = Netns.openPath(path)
  try {
    ns.runSync(() => 0)
  } catch (err) {
    if (isErrno(err, 'EINVAL')) throw new CniRequestError('env', `${what} ${JSON.stringify(path)} is not a network namespace`, 'it is another kind of namespace')
    throw err
  } finally {
    ns.close()
  }
  return `${st.dev}:${st.ino}`
}

function netnsIdOrUndefined(path: string): string | undefined {
  try {
    return netnsId(path, 'netns')
  } catch {
    return undefined
  }
}

const sameNs = (a: string, b: string): boolean => {
  const x = netnsIdOrUndefined(a)
  return x !== undefined && x === netnsIdOrUndefined(b)
}

/** GC's list of attachments to keep (`cni.dev/valid-attachments`, or the older `cni.dev/attachments`). */
function validAttachments(config: Record<string, unknown>): CniAttachmentRef[] {
  const raw = config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments']
  if (!Array.isArray(raw)) {
    throw new CniRequestError('config', 'invalid network configuration: GC needs cni.dev/valid-attachments', 'without the list podnet cannot tell live attachments from leftovers, so it removes nothing')
  }
  return raw.map((x, i) => {
    const o = x as Partial<CniAttachmentRef> | null
    if (!o || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
      throw new CniRequestError('config', `invalid network configuration: cni.dev/valid-attachments[${i}] needs containerID and ifname`)
    }
    return { containerID: o.containerID, ifname: o.ifname }
  })
}
