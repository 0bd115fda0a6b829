/**
 * Bridge networks: a bridge with gateway addresses, IPAM, NAT and published ports, and the
 * attachment of pod network namespaces to it. docker0 / netavark / CNI bridge semantics, done
 * in-process over rtnetlink and nf_tables.
 *
 * Every multi-step operation runs under the state lock and an UndoStack: a failure undoes the
 * steps already taken. Teardown verbs (detach, remove) succeed when the thing is already gone.
 * Per-pod work never dumps links or rules: attach is O(1) kernel requests (docs/networks.md).
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError, isErrno } from '../errors.js'
import { Netns, netnsRunDir } from '../netns/index.js'
import { Rtnl, type Address, type Link } from '../netlink/route/index.js'
import { Nft, type AddedRule, type NftTransaction, type Rule, type SetScalar } from '../netlink/nftables/index.js'
import { Conntrack } from '../netlink/conntrack/index.js'
import { validateIfname, validateMac, validateMtu } from '../netlink/route/validate.js'
import { Allocator, DiskStore, overlaps, parseCidr as parseIpamCidr, parseIp as parseIpamIp, parseRangeSets, type AllocatedAddress, type RangeSet } from './ipam/index.js'
import { bridgeMac, defaultBridgeName, hostVethName, isHostVethName, podMac, validateContainerId, validateNetworkName } from './names.js'
import {
  BRIDGES_SET, CHAINS, HOSTPORTS, PORT_MAPS, TABLE, describePortElement, networkRules, portMapElement, portMapRules, portMapSets,
  portMapTypesOf, sharedRules, type PortElement, type PortMapping,
} from './nat.js'
import { StateDir } from './state.js'
import { writeSysctlSync } from './sysctl.js'
import { UndoStack } from './undo.js'

export type { PortMapping } from './nat.js'

export interface NetworkSpec {
  name: string
  /** One IPv4 and/or one IPv6 subnet. */
  subnets: string[]
  /** Gateways, one per subnet (matched by family); default: the first usable address. */
  gateways?: string[]
  /** Bridge name; default `pn-<name>`. */
  bridge?: string
  mtu?: number
  /** Masquerade traffic leaving through other interfaces (default true). */
  nat?: boolean
  /** No way in or out: only pods of this network and the gateway. */
  internal?: boolean
}

export interface SubnetConfig {
  subnet: string
  gateway: string
  family: 4 | 6
}

/** A rule podnet added, by handle (bigint handles are stored as decimal strings). */
export interface RuleRecord {
  chain: string
  handle: string
  comment: string
}

export interface NetworkConfig {
  name: string
  bridge: string
  bridgeMac: string
  subnets: SubnetConfig[]
  mtu: number
  nat: boolean
  internal: boolean
  /** Whether podnet created the bridge (and so deletes it). */
  createdBridge: boolean
  hostNetns: string | null
  createdAt: string
  rules: RuleRecord[]
}

export interface AttachSpec {
  network: string
  /** A named namespace (/run/netns/NAME) or a path (/proc/PID/ns/net, a CNI_NETNS). */
  netns: string
  /** Interface name inside the namespace (default eth0). */
  ifname?: string
  /** Container id owning the attachment (default: the namespace's name). */
  id?: string
  /** Static addresses (at most one per subnet). */
  ips?: string[]
  mac?: string
  portMappings?: PortMapping[]
  /**
   * Routes inside the pod, instead of the default route per address family via the gateway.
   * A route without `gw` goes via the gateway of its family. `[]` adds none.
   */
  routes?: PodRoute[]
  /** Hairpin on the host end, so a pod can reach its own published ports (default true). */
  hairpin?: boolean
}

/** A route inside the pod: destination CIDR ('0.0.0.0/0' is the default route) and next hop. */
export interface PodRoute {
  dst: string
  gw?: string
}

export interface AttachmentAddress {
  /** CIDR: '10.88.0.2/16'. */
  address: string
  gateway: string
  family: 4 | 6
}

export interface Attachment {
  network: string
  id: string
  ifname: string
  /** Path of the pod's network namespace. */
  netns: string
  hostVeth: string
  mac: string
  mtu: number
  addresses: AttachmentAddress[]
  portMappings: PortMapping[]
  /** The routes added inside the pod (absent in records written before routes were recorded). */
  routes?: PodRoute[]
  /** Rules podnet added for this attachment, by handle (per-port DNAT rules of podnet before port maps; now empty). */
  rules: RuleRecord[]
  /** The published-port map elements podnet added, by map and key (detach deletes them by key). */
  portElements?: PortElementRecord[]
  createdAt: string
}

/** A published port as a map element: `hostports4` / [17, 5353] (the key says which port; the value is the pod's). */
export interface PortElementRecord {
  map: string
  key: SetScalar[]
}

/** A published port as the kernel has it (podnet's maps), for `nat ls`-style listings. */
export interface PortMapEntry {
  map: string
  key: SetScalar[]
  data: SetScalar[]
  /** The owner: "podnet net=web id=pod1 if=eth0". */
  comment?: string
  packets?: bigint
  bytes?: bigint
  /** "udp *:5353 -> 10.88.0.2:53". */
  text: string
}

export interface DetachSpec {
  network: string
  id?: string
  ifname?: string
  /** Only detach if the attachment belongs to this namespace (protects a live pod from a stale DEL). */
  netns?: string
  /**
   * The caller deletes the pod's namespace right after (or it is already gone): leave the veth
   * to die with the namespace, which the kernel does asynchronously and in batches, instead of
   * deleting it here and waiting for the kernel's RCU grace period (10-30 ms per veth).
   */
  netnsGoing?: boolean
}

export interface DetachResult {
  detached: boolean
  /** Why nothing was done, when detached is false. */
  reason?: string
  attachment?: Attachment
}

export interface Drift {
  network: string
  object: string
  problem: string
}

export interface GcReport {
  removedVeths: string[]
  removedAttachments: string[]
  releasedAddresses: string[]
  removedRules: string[]
  removedPorts: string[]
}

export interface ManagerOptions {
  /** Persistent state (network configurations); default PODNET_STATE_DIR or /var/lib/podnet. */
  stateDir?: string
  /** Volatile state (attachments, IPAM, port claims, lock); default PODNET_RUN_DIR, <stateDir>/run or /run/podnet. */
  runDir?: string
  /** The named namespace that plays the host (default: the one this process is in). */
  hostNetns?: string
}

const MAX_BRIDGE_PORTS = 1023
/** The loopback device's ifindex in every network namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
const LOOPBACK_IFINDEX = 1
/** Device group podnet gives veths it is about to delete in bulk ('pn' in ASCII). */
const BULK_DELETE_GROUP = 0x706e

const attachmentKey = (id: string, ifname: string): string => `${id}@${ifname}`
const portElementKey = (e: { map: string; key: readonly SetScalar[] }): string => `${e.map} ${JSON.stringify(e.key)}`
const ruleRecord = (r: AddedRule): RuleRecord => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })

/** True when two paths name the same namespace (same nsfs inode); false when either is gone. */
function sameNetns(a: string, b: string): boolean {
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}

/** Resolves a namespace argument: a name under /run/netns, or a path. */
function openNetnsArg(ns: string): Netns {
  return ns.includes('/') ? Netns.openPath(ns) : Netns.open(ns)
}

/** Parses [HOSTIP:]HOSTPORT:PORT[/tcp|udp] (IPv6 host addresses in brackets: [fd00::1]:8080:80). */
export function parsePortMapping(text: string): PortMapping {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text)
  if (!m) throw new InvalidArgumentError('port mapping', `'${text}' is not [HOSTIP:]HOSTPORT:PORT[/tcp|udp]`)
  const mapping: PortMapping = { hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' }
  if (m[1]) mapping.hostIp = m[1].replace(/^\[|\]$/g, '')
  validatePortMapping(mapping)
  return mapping
}

export function validatePortMapping(m: PortMapping): void {
  for (const [k, v] of [['host port', m.hostPort], ['container port', m.containerPort]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new InvalidArgumentError('port mapping', `${k} ${v} is out of range (1-65535)`)
  }
  if (m.protocol !== 'tcp' && m.protocol !== 'udp') throw new InvalidArgumentError('port mapping', `protocol '${String(m.protocol)}' is not tcp or udp`)
  if (m.hostIp !== undefined) parseIpamIp(m.hostIp, 'port mapping host address')
}

/** A pod route's destination must be a CIDR of a family the network has; its gateway an address of that family. */
function validatePodRoute(config: NetworkConfig, r: PodRoute): void {
  const dst = parseIpamCidr(r.dst, 'route destination')
  if (!config.subnets.some((s) => s.family === dst.family)) {
    throw new InvalidArgumentError('route', `${r.dst} is IPv${dst.family} but network '${config.name}' has no IPv${dst.family} subnet`)
  }
  if (r.gw !== undefined && parseIpamIp(r.gw, 'route gateway').family !== dst.family) {
    throw new InvalidArgumentError('route', `gateway ${r.gw} is not of the family of ${r.dst}`)
  }
}

/** The routes to add in the pod: the requested ones (gw defaulting to the family's gateway), or a default route per address. */
function podRoutes(requested: PodRoute[] | undefined, addrs: AllocatedAddress[]): PodRoute[] {
  if (requested === undefined) return addrs.map((a) => ({ dst: a.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }))
  return requested.map((r) => {
    if (r.gw !== undefined) return { dst: r.dst, gw: r.gw }
    const a = addrs.find((x) => x.family === (r.dst.includes(':') ? 6 : 4))
    return a ? { dst: r.dst, gw: a.gateway } : { dst: r.dst }
  })
}

/** Port claims live in ports/<proto>-<port>/<hostip or *>: a conflict check reads one small directory. */
const portDir = (m: PortMapping): string => `${m.protocol}-${m.hostPort}`
const portFile = (m: PortMapping): string => `${portDir(m)}/${m.hostIp ?? '*'}`

/**
 * Manages the bridge networks of one host (a namespace) with one state directory.
 * Resource: close() releases the sockets.
 */
export class NetworkManager {
  readonly state: StateDir
  readonly hostNetnsName: string | null
  private readonly hostNs: Netns | undefined
  private rtCache: Rtnl | undefined
  private nftCache: Nft | undefined
  private ctCache: Conntrack | undefined
  /** Whether the kernel deletes conntrack entries by filter (>= 6.12); learnt on first use. */
  private kernelCtFlush = true
  /** Bridge ifindexes by name, looked up once (dropped on any failure that may mean the bridge changed). */
  private readonly bridgeIndexCache = new Map<string, number>()
  /** Veth deletions in flight, by name (an attach reusing the name waits for them). */
  private readonly pendingDeletes = new Map<string, Promise<void>>()

  constructor(opts: ManagerOptions = {}) {
    this.state = new StateDir(opts.stateDir, opts.runDir)
    this.hostNetnsName = opts.hostNetns ?? null
    this.hostNs = opts.hostNetns ? Netns.open(opts.hostNetns) : undefined
  }

  /** The rtnetlink handle in the host namespace (opened once). */
  get rt(): Rtnl {
    return (this.rtCache ??= Rtnl.open(this.hostNs ? { netns: this.hostNs } : {}))
  }

  /** The nf_tables handle in the host namespace (opened once). */
  get nft(): Nft {
    return (this.nftCache ??= Nft.open(this.hostNs ? { netnsFd: this.hostNs.fd } : {}))
  }

  /** The conntrack handle in the host namespace (opened on first use: only UDP port mappings need it). */
  private get ct(): Conntrack {
    return (this.ctCache ??= Conntrack.open(this.hostNs ? { netnsFd: this.hostNs.fd } : {}))
  }

  close(): void {
    this.rtCache?.close()
    this.nftCache?.close()
    this.ctCache?.close()
    this.hostNs?.close()
  }

  private bridgeIndex(config: NetworkConfig): number {
    let i = this.bridgeIndexCache.get(config.bridge)
    if (i === undefined) {
      i = this.rt.link.bridgeIndexSync(config.bridge)
      this.bridgeIndexCache.set(config.bridge, i)
    }
    return i
  }

  /** Runs fn with this thread in the host namespace (sysctls). */
  private inHost(fn: () => void): void {
    if (this.hostNs) this.hostNs.runSync(fn)
    else fn()
  }

  private configPath(name: string): string {
    return join(this.state.networkDir(name), 'network.json')
  }

  private attachmentPath(network: string, id: string, ifname: string): string {
    return join(this.state.attachmentsDir(network), `${attachmentKey(id, ifname)}.json`)
  }

  /** The stored configuration of a network; NotFoundError when there is none. */
  get(name: string): NetworkConfig {
    validateNetworkName(name)
    const c = this.state.readJson<NetworkConfig>(this.configPath(name))
    if (!c) throw new NotFoundError('network', name)
    return c
  }

  /** Every network's stored configuration. */
  list(): NetworkConfig[] {
    return this.state.list(this.state.networksDir()).flatMap((n) => {
      const c = this.state.readJson<NetworkConfig>(this.configPath(n))
      return c ? [c] : []
    })
  }

  /** The attachment of (container id, ifname) to a network, or undefined (one file read). */
  attachment(network: string, id: string, ifname = 'eth0'): Attachment | undefined {
    return this.state.readJson<Attachment>(this.attachmentPath(network, id, ifname))
  }

  /** The attachments of a network. */
  attachments(name: string): Attachment[] {
    return this.state.list(this.state.attachmentsDir(name)).flatMap((f) => {
      const a = f.endsWith('.json') ? this.state.readJson<Attachment>(join(this.state.attachmentsDir(name), f)) : undefined
      return a ? [a] : []
    })
  }

  private allocator(name: string): Allocator {
    return new Allocator(new DiskStore(this.state.ipamDir(name)))
  }

  private ranges(c: NetworkConfig): RangeSet[] {
    return parseRangeSets(c.subnets.map((s) => ({ subnet: s.subnet, gateway: s.gateway })))
  }

  // -------------------------------------------------------------------------------------------
  // create / remove

  /**
   * Creates a network: bridge (stable MAC, MTU, up), gateway addresses, sysctls (ip_forward,
   * route_localnet on the bridge, accept_ra=0), NAT and isolation rules. Nothing is left behind
   * when any step fails.
   */
  async create(spec: NetworkSpec): Promise<NetworkConfig> {
    validateNetworkName(spec.name)
    if (!spec.subnets.length) throw new InvalidArgumentError('subnet', 'a network needs at least one --subnet')
    const mtu = spec.mtu ?? 1500
    validateMtu(mtu)
    const bridge = spec.bridge ?? defaultBridgeName(spec.name)
    validateIfname(bridge, 'bridge name')
    const subnets = this.parseSubnets(spec)
    if (spec.internal && spec.nat === true) throw new InvalidArgumentError('--internal', 'an internal network has no NAT; drop --nat')
    return this.state.locked(async () => {
      if (this.state.readJson(this.configPath(spec.name))) throw new ExistsError('network', spec.name)
      for (const other of this.list()) {
        if (other.bridge === bridge) throw new ExistsError('bridge', bridge, `(used by network '${other.name}')`)
        for (const s of subnets) for (const o of other.subnets) {
          if (overlaps(s.subnet, o.subnet)) throw new InvalidArgumentError('subnet', `${s.subnet} overlaps ${o.subnet} of network '${other.name}'`)
        }
      }
      this.checkRoutedInHost(subnets, bridge)
      const config: NetworkConfig = {
        name: spec.name, bridge, bridgeMac: bridgeMac(spec.name), subnets, mtu,
        nat: spec.internal ? false : spec.nat ?? true, internal: spec.internal ?? false,
        createdBridge: false, hostNetns: this.hostNetnsName, createdAt: new Date().toISOString(), rules: [],
      }
      return UndoStack.run(async (undo) => {
        await this.ensureBridge(config, undo)
        for (const s of subnets) {
          const prefix = s.subnet.split('/')[1]
          await this.rt.addr.add({ cidr: `${s.gateway}/${prefix}`, dev: bridge, ...(s.family === 6 && { nodad: true }) })
          undo.push(`remove ${s.gateway} from ${bridge}`, () => this.rt.addr.del({ cidr: `${s.gateway}/${prefix}`, dev: bridge }))
        }
        this.inHost(() => {
          if (!config.internal) {
            if (subnets.some((s) => s.family === 4)) writeSysctlSync('net.ipv4.ip_forward', '1')
            if (subnets.some((s) => s.family === 6)) writeSysctlSync('net.ipv6.conf.all.forwarding', '1')
          }
          try {
            writeSysctlSync(`net/ipv6/conf/${bridge}/accept_ra`, '0')
          } catch {
            // IPv6 disabled in this namespace: nothing to turn off
          }
        })
        // route_localnet lets 127.0.0.1:hostPort reach pods (DNAT from the output chain)
        await this.rt.link.set(bridge, { ipv4Conf: { route_localnet: 1 } })
        const added = await this.installNetworkRules(config)
        config.rules = added.map(ruleRecord)
        undo.push('remove nf_tables rules', () => this.deleteRules(config.rules, config.bridge))
        this.state.writeJson(this.configPath(spec.name), config)
        return config
      })
    })
  }

  private parseSubnets(spec: NetworkSpec): SubnetConfig[] {
    const seen = new Set<number>()
    const ranges = spec.subnets.map((text) => {
      const c = parseIpamCidr(text, 'subnet')
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
  private checkRoutedInHost(subnets: SubnetConfig[], bridge: string): void {
    const links = this.rt.link.listSync()
    const br = links.find((l) => l.name === bridge)
    for (const r of this.rt.route.listSync({ table: 'all' })) {
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

  private async ensureBridge(config: NetworkConfig, undo: UndoStack): Promise<void> {
    const existing = this.rt.link.findSync(config.bridge)
    if (existing) {
      if (existing.kind !== 'bridge') {
        throw new InvalidArgumentError('bridge', `'${config.bridge}' exists and is ${existing.kind ? `a ${existing.kind}` : 'not a bridge'}`)
      }
      if (!existing.up) await this.rt.link.set(config.bridge, { up: true })
      return
    }
    await this.rt.link.add({
      kind: 'bridge', name: config.bridge, mtu: config.mtu, address: config.bridgeMac,
      bridge: { stpState: 0, forwardDelay: 0 },
    })
    config.createdBridge = true
    undo.push(`delete bridge ${config.bridge}`, () => this.rt.link.del(config.bridge))
    await this.rt.link.set(config.bridge, { up: true })
  }

  /**
   * Ensures table, chains, sets and port maps exist, adds the network's rules; one atomic batch.
   * A table made by a podnet without port maps gets them here (and their rules).
   */
  private async installNetworkRules(config: NetworkConfig): Promise<AddedRule[]> {
    const tables = await this.nftTableExists()
    const tx = this.nft.transaction()
    if (!tables) {
      tx.addTable({ family: TABLE.family, name: TABLE.table })
      for (const [chain, def] of Object.entries(CHAINS)) tx.addChain({ ...TABLE, name: chain, ...def })
      tx.addChain({ ...TABLE, name: HOSTPORTS })
      tx.addSet({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname' })
      for (const r of sharedRules()) tx.addRule(r)
      this.addPortMaps(tx)
    } else if (!(await this.portMapsExist())) {
      this.addPortMaps(tx)
    }
    tx.addElements({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname', elements: [{ key: config.bridge }] })
    const rules = networkRules({ name: config.name, bridge: config.bridge, subnets: config.subnets, nat: config.nat, internal: config.internal })
    for (const r of rules) tx.addRule(r)
    const result = tx.commitSync()
    return result.rules.slice(result.rules.length - rules.length)
  }

  /** True when podnet's table exists. */
  private async nftTableExists(): Promise<boolean> {
    return (await this.nft.listTables(TABLE.family)).some((t) => t.name === TABLE.table)
  }

  /** Queues the published-port maps and the hostports rules that look them up. */
  private addPortMaps(tx: NftTransaction): void {
    for (const m of portMapSets()) tx.addSet(m)
    for (const r of portMapRules()) tx.addRule(r)
  }

  /** True when the port maps exist (false in a table made by a podnet that had one rule per port). */
  private async portMapsExist(): Promise<boolean> {
    const names = new Set((await this.nft.listSets({ ...TABLE })).map((x) => x.name))
    return Object.values(PORT_MAPS).every((f) => names.has(f.hostIp) && names.has(f.any))
  }

  /** Adds the port maps to a table made by an older podnet, unless another process just did. */
  private async ensurePortMaps(): Promise<void> {
    if (await this.portMapsExist()) return
    const tx = this.nft.transaction()
    this.addPortMaps(tx)
    tx.commitSync()
  }

  /** Queues the addition (or, with del, the deletion by key) of map elements, one command per map. */
  private queuePortElements(tx: NftTransaction, elements: readonly PortElementRecord[] | readonly PortElement[], op: 'add' | 'destroy'): void {
    const byMap = new Map<string, Array<PortElementRecord | PortElement>>()
    for (const e of elements) byMap.set(e.map, [...(byMap.get(e.map) ?? []), e])
    for (const [map, els] of byMap) {
      const types = portMapTypesOf(map)
      if (!types) continue
      const spec = { ...TABLE, name: map, keyType: types.keyType, dataType: types.dataType }
      if (op === 'add') {
        tx.addElements({ ...spec, elements: els.map((e) => ({ key: e.key, ...('data' in e ? { data: e.data, comment: e.comment } : {}) })) })
      } else {
        tx.destroyElements({ ...spec, elements: els.map((e) => ({ key: e.key })) })
      }
    }
  }

  /**
   * Deletes conntrack entries of UDP flows to a published port, so that the next datagram goes
   * through the port maps again: without this, a client that keeps sending (and so keeps its
   * entry alive) stays stuck with where its first datagram went (the host itself, or the pod
   * that had the port before), the bug CNI portmap, Docker and kube-proxy fixed the same way.
   * Done after the elements are in place, so no datagram can make a new stale entry in between.
   * An entry goes when its original direction is UDP to hostPort on the mapping's host address,
   * or (for a mapping on every address) on any address of the host: flows from the host or its
   * pods to the same port elsewhere are left alone.
   *
   * One filtered delete per (port, address) on kernels >= 6.12 (~0.6 ms: the kernel walks its
   * table without taking a lock per bucket); older kernels refuse a filtered delete (EINVAL or
   * EOPNOTSUPP), and there it is a filtered dump plus one delete per flow (~8 ms: the dump locks
   * each of the 262,144 buckets). Returns the number of deletes sent.
   */
  private flushUdpConntrack(elements: ReadonlyArray<Pick<PortElement, 'family' | 'key'>>): number {
    const udp = elements.filter((e) => (e.key.length === 3 ? e.key[1] : e.key[0]) === 17)
    if (!udp.length) return 0
    let local: Address[] | undefined
    let n = 0
    for (const e of udp) {
      const port = Number(e.key[e.key.length - 1])
      const dsts = e.key.length === 3
        ? [String(e.key[0])]
        : [...new Set((local ??= this.rt.addr.listSync()).filter((a) => a.family === e.family).map((a) => a.local))]
      if (this.kernelCtFlush) {
        try {
          for (const dst of dsts) {
            this.ct.flush({ family: e.family, protocol: 17, dstPort: port, dst })
            n++
          }
          continue
        } catch (err) {
          if (!isErrno(err, 'EINVAL') && !isErrno(err, 'EOPNOTSUPP')) throw err
          this.kernelCtFlush = false // kernel < 6.12: no delete by filter
        }
      }
      const mine = new Set(dsts)
      n += this.ct.deleteFlows({ family: e.family, protocol: 17, dstPort: port, ...(dsts.length === 1 && { dst: dsts[0] }) }, (f) => mine.has(f.orig.dst))
    }
    return n
  }

  /** Deletes rules by handle in one batch; rules already gone are fine. */
  private deleteRules(rules: readonly RuleRecord[], bridge?: string): void {
    if (!rules.length && bridge === undefined) return
    const tx = this.nft.transaction()
    for (const r of rules) tx.destroyRule({ ...TABLE, chain: r.chain, handle: BigInt(r.handle) })
    if (bridge !== undefined) tx.destroyElements({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname', elements: [{ key: bridge }] })
    try {
      tx.commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
    }
  }

  /**
   * Deletes an attachment's NAT state in one batch: its rules by handle (per-port rules of an older
   * podnet) and its published-port map elements by key; what is already gone is fine. Then the
   * UDP flows that were DNATed through those ports (best effort), so that they cannot reach a
   * later pod that gets the same address.
   */
  private deletePortState(rules: readonly RuleRecord[], elements: readonly PortElementRecord[]): void {
    if (!rules.length && !elements.length) return
    const tx = this.nft.transaction()
    for (const r of rules) tx.destroyRule({ ...TABLE, chain: r.chain, handle: BigInt(r.handle) })
    this.queuePortElements(tx, elements, 'destroy')
    try {
      tx.commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
      // a map or chain is gone (an edited table): delete what is there, part by part
      this.deleteRules(rules)
      for (const e of elements) {
        const one = this.nft.transaction()
        this.queuePortElements(one, [e], 'destroy')
        try {
          one.commitSync()
        } catch (err2) {
          if (!isErrno(err2, 'ENOENT')) throw err2
        }
      }
    }
    try {
      this.flushUdpConntrack(elements.flatMap((e) => {
        const t = portMapTypesOf(e.map)
        return t ? [{ key: e.key, family: t.family }] : []
      }))
    } catch {
      // best effort: the entries time out by themselves once their client stops sending
    }
  }

  /** The published ports in podnet's maps, with their owners and counters (empty when there are no maps). */
  async portMapEntries(): Promise<PortMapEntry[]> {
    const out: PortMapEntry[] = []
    for (const f of [4, 6] as const) {
      for (const map of [PORT_MAPS[f].hostIp, PORT_MAPS[f].any]) {
        let els
        try {
          els = await this.nft.listElements({ ...TABLE, name: map })
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue
          throw err
        }
        for (const e of els) {
          if (!Array.isArray(e.key) || !Array.isArray(e.data)) continue
          const entry: PortMapEntry = { map, key: [...e.key] as SetScalar[], data: [...e.data] as SetScalar[], text: describePortElement({ key: e.key, data: e.data }) }
          if (e.comment !== undefined) entry.comment = e.comment
          if (e.counter) {
            entry.packets = e.counter.packets
            entry.bytes = e.counter.bytes
          }
          out.push(entry)
        }
      }
    }
    return out
  }

  /**
   * Removes a network: its rules, its bridge (if podnet created it), its state. Refused while
   * pods are attached unless `force`, which detaches them first. Equivalent to `podnet network rm`.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<{ detached: number }> {
    const config = this.get(name)
    const atts = this.attachments(name)
    if (atts.length && !opts.force) {
      throw new PodnetError(`network '${name}' has ${atts.length} attachment(s) (${atts.slice(0, 3).map((a) => a.id).join(', ')}${atts.length > 3 ? ', ...' : ''}); detach them or use --force`)
    }
    for (const a of atts) await this.detach({ network: name, id: a.id, ifname: a.ifname, netnsGoing: true })
    const veths = atts.map((a) => this.rt.link.findSync(a.hostVeth)?.index).filter((i): i is number => i !== undefined)
    await this.deleteLinksBulk(veths)
    await this.state.locked(async () => {
      this.deleteRules(config.rules, config.bridge)
      if (config.createdBridge) {
        try {
          await this.rt.link.del(config.bridge)
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err
        }
      }
      this.state.removeTree(this.state.networkDir(name))
      this.state.removeTree(this.state.runNetworkDir(name))
      if (this.list().length === 0) {
        try {
          this.nft.transaction().destroyTable({ family: TABLE.family, name: TABLE.table }).commitSync()
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err
        }
      }
    })
    return { detached: atts.length }
  }

  // -------------------------------------------------------------------------------------------
  // attach / detach

  /**
   * Attaches a pod namespace: host-side veth on the bridge, the pod side created directly in
   * the namespace (eth0), MAC, MTU, addresses from IPAM, default routes, loopback up, published
   * ports. Undone completely on any failure.
   */
  async attach(spec: AttachSpec): Promise<Attachment> {
    const config = this.get(spec.network)
    const ifname = spec.ifname ?? 'eth0'
    validateIfname(ifname, 'ifname')
    const podNs = openNetnsArg(spec.netns)
    try {
      const id = spec.id ?? (spec.netns.includes('/') ? undefined : spec.netns)
      if (id === undefined) throw new InvalidArgumentError('id', 'an attachment by namespace path needs an --id')
      validateContainerId(id)
      const mac = spec.mac ?? podMac(config.name, id, ifname)
      validateMac(mac, 'mac')
      const mappings = spec.portMappings ?? []
      for (const m of mappings) validatePortMapping(m)
      this.checkMappingFamilies(config, mappings)
      for (const r of spec.routes ?? []) validatePodRoute(config, r)
      return await this.state.locked(() => this.attachLocked(config, spec, podNs, id, ifname, mac, mappings))
    } finally {
      podNs.close()
    }
  }

  private checkMappingFamilies(config: NetworkConfig, mappings: PortMapping[]): void {
    if (config.internal && mappings.length) {
      throw new InvalidArgumentError('port mapping', `network '${config.name}' is internal (no way in or out): it cannot publish ports`)
    }
    for (const m of mappings) {
      const fam = m.hostIp === undefined ? undefined : m.hostIp.includes(':') ? 6 : 4
      if (fam !== undefined && !config.subnets.some((s) => s.family === fam)) {
        throw new InvalidArgumentError('port mapping', `host address ${m.hostIp} is IPv${fam} but network '${config.name}' has no IPv${fam} subnet`)
      }
    }
    const seen = new Set<string>()
    for (const m of mappings) {
      const k = `${m.protocol}/${m.hostPort}/${m.hostIp ?? '*'}`
      if (seen.has(k)) throw new InvalidArgumentError('port mapping', `host port ${m.hostPort}/${m.protocol} is given twice`)
      seen.add(k)
    }
  }

  private async attachLocked(config: NetworkConfig, spec: AttachSpec, podNs: Netns, id: string, ifname: string, mac: string, mappings: PortMapping[]): Promise<Attachment> {
    const recordPath = this.attachmentPath(config.name, id, ifname)
    const prior = this.state.readJson<Attachment>(recordPath)
    if (prior) throw new ExistsError('attachment', attachmentKey(id, ifname), `on network '${config.name}' (netns ${prior.netns})`)
    return UndoStack.run(async (undo) => {
      // 1. addresses
      const allocator = this.allocator(config.name)
      const addrs = await allocator.allocate({ containerId: id, ifname, ...(spec.ips?.length && { ip: spec.ips }) }, this.ranges(config))
      undo.push('release addresses', async () => { await allocator.release(id, ifname) })
      // 2. host ports, claimed atomically
      for (const m of mappings) {
        this.claimPort(config.name, id, ifname, m)
        undo.push(`release port ${portFile(m)}`, () => { this.state.remove(join(this.state.portsDir(), portFile(m))) })
      }
      // 3. veth: host end on the bridge, pod end created directly in the pod namespace
      const hostVeth = hostVethName(config.name, id, ifname)
      await this.pendingDeletes.get(hostVeth)
      let host: Link | undefined
      try {
        host = await this.rt.link.add({
          kind: 'veth', name: hostVeth, mtu: config.mtu, master: this.bridgeIndex(config),
          peer: { name: ifname, netns: podNs, mtu: config.mtu, address: mac },
        })
      } catch (err) {
        this.bridgeIndexCache.delete(config.bridge)
        if (err instanceof ExistsError && err.objectName === ifname) {
          throw new ExistsError('interface', ifname, `in netns ${spec.netns}`, { cause: err })
        }
        throw err
      }
      undo.push(`delete veth ${hostVeth}`, () => this.rt.link.del(hostVeth))
      const hostIndex = host?.index ?? hostVeth
      // no IPv6 link-local on the host end (no DAD/MLD per port), hairpin for pod -> own published port, then up
      await this.rt.link.set(hostIndex, { ipv6AddrGenMode: 'none', hairpin: spec.hairpin ?? true })
      await this.rt.link.set(hostIndex, { up: true })
      // 4. inside the pod: requests by index. The veth's echo names the pod end's ifindex
      // (IFLA_LINK, in the pod namespace); lo is ifindex 1 in every namespace and setting it up
      // is idempotent, so no GET is needed for either.
      const routes = podRoutes(spec.routes, addrs)
      const pod = Rtnl.open({ netns: podNs })
      try {
        pod.link.setSync(LOOPBACK_IFINDEX, { up: true })
        const eth = host?.link !== undefined && host.linkNetnsid !== undefined ? { index: host.link } : pod.link.getSync(ifname)
        // No IPv6 link-local address on the pod side either (IPv6 pods use their global address,
        // NDP works with it): the link-local's DAD and MLD packets are flooded to every port of
        // the bridge, which made each attach cost O(ports) (5 -> 24 ms from the 1st to the 800th pod).
        pod.link.setSync(eth.index, { ipv4Conf: { arp_notify: 1 }, ipv6AddrGenMode: 'none' })
        pod.link.setSync(eth.index, { up: true })
        for (const a of addrs) pod.addr.addSync({ cidr: a.address, dev: eth.index, ...(a.family === 6 && { nodad: true }) })
        for (const r of routes) {
          const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst
          pod.route.addSync({ dst, family: r.dst.includes(':') ? 6 : 4, dev: eth.index, ...(r.gw !== undefined && { via: r.gw }) })
        }
      } finally {
        pod.close()
      }
      // 5. published ports: one map element per mapping and pod address, then stale UDP flows go
      const elements = mappings.flatMap((m) => this.mappingTargets(m, addrs).map((a) => portMapElement(config.name, id, ifname, m, a.ip, a.family)))
      const portElements: PortElementRecord[] = elements.map((e) => ({ map: e.map, key: e.key }))
      if (elements.length) {
        const add = (): void => {
          const tx = this.nft.transaction()
          this.queuePortElements(tx, elements, 'add')
          tx.commitSync()
        }
        try {
          add()
        } catch (err) {
          // a table made by a podnet that had one rule per port: add the maps, then the elements
          if (!isErrno(err, 'ENOENT')) throw err
          await this.ensurePortMaps()
          add()
        }
        undo.push('remove published ports', () => this.deletePortState([], portElements))
        try {
          this.flushUdpConntrack(elements)
        } catch {
          // best effort (as CNI portmap): without ctnetlink a stale flow lasts until its client pauses for 30 s
        }
      }
      const attachment: Attachment = {
        network: config.name, id, ifname, netns: podNs.path, hostVeth, mac, mtu: config.mtu,
        addresses: addrs.map((a) => ({ address: a.address, gateway: a.gateway, family: a.family })),
        portMappings: mappings, routes, rules: [], ...(portElements.length && { portElements }), createdAt: new Date().toISOString(),
      }
      this.state.writeJson(recordPath, attachment)
      return attachment
    })
  }

  /** Pod addresses a mapping forwards to: the one of the host address's family, or every family. */
  private mappingTargets(m: PortMapping, addrs: AllocatedAddress[]): AllocatedAddress[] {
    if (m.hostIp === undefined) return addrs
    const fam = m.hostIp.includes(':') ? 6 : 4
    return addrs.filter((a) => a.family === fam)
  }

  private claimPort(network: string, id: string, ifname: string, m: PortMapping): void {
    const dir = join(this.state.portsDir(), portDir(m))
    const owner = { network, id, ifname, mapping: m }
    // a wildcard claim conflicts with every address of the port, a specific one with itself and the wildcard
    const conflicts = this.state.list(dir).filter((host) => host === '*' || m.hostIp === undefined || host === m.hostIp)
    if (conflicts.length || !this.state.createExclusive(join(this.state.portsDir(), portFile(m)), owner)) {
      const holder = this.state.readJson<typeof owner>(join(dir, conflicts[0] ?? (m.hostIp ?? '*')))
      throw new ExistsError('host port', `${m.hostIp ? `${m.hostIp}:` : ''}${m.hostPort}/${m.protocol}`,
        holder ? `(published by ${holder.id}/${holder.ifname} on network '${holder.network}')` : '')
    }
  }

  /**
   * Detaches (container id, ifname) from a network: its port rules, veth, addresses and record.
   * Succeeds, and says so, when there is nothing to detach.
   */
  async detach(spec: DetachSpec): Promise<DetachResult> {
    const config = this.get(spec.network)
    const ifname = spec.ifname ?? 'eth0'
    const id = spec.id ?? (spec.netns && !spec.netns.includes('/') ? spec.netns : undefined)
    if (id === undefined) throw new InvalidArgumentError('id', 'detach needs --id (or a namespace name)')
    const result = await this.state.locked(async (): Promise<DetachResult> => {
      const path = this.attachmentPath(config.name, id, ifname)
      const a = this.state.readJson<Attachment>(path)
      if (!a) {
        // nothing recorded: still release any address this owner holds (a crashed attach)
        await this.allocator(config.name).release(id, ifname)
        // and the veth a crashed attach made (its host end is named for this owner; inside the lock, so no attach of the owner is under way)
        const stray = hostVethName(config.name, id, ifname)
        if (this.rt.link.findSync(stray)) await this.deleteVeth(stray)
        return { detached: false, reason: `${attachmentKey(id, ifname)} is not attached to network '${config.name}'` }
      }
      if (spec.netns !== undefined) {
        const asked = spec.netns.includes('/') ? spec.netns : join(netnsRunDir(), spec.netns)
        if (asked !== a.netns && !sameNetns(asked, a.netns)) return { detached: false, reason: `${attachmentKey(id, ifname)} belongs to netns ${a.netns}, not ${spec.netns}` }
      }
      this.deletePortState(a.rules, a.portElements ?? [])
      await this.allocator(config.name).release(id, ifname)
      for (const m of a.portMappings) this.state.remove(join(this.state.portsDir(), portFile(m)))
      this.state.remove(path)
      return { detached: true, attachment: a }
    })
    // The veth goes outside the lock: its deletion waits for an RCU grace period in the kernel
    // (on a worker thread), and concurrent detaches overlap those waits instead of queueing.
    const a = result.attachment
    if (a && !spec.netnsGoing && this.state.exists(a.netns)) await this.deleteVeth(a.hostVeth)
    return result
  }

  private async deleteVeth(name: string): Promise<void> {
    const p = this.rt.link.del(name).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err
    })
    this.pendingDeletes.set(name, p)
    try {
      await p
    } finally {
      if (this.pendingDeletes.get(name) === p) this.pendingDeletes.delete(name)
    }
  }

  /** Deletes many links with one kernel request (one RCU wait): group them, delete the group. */
  private async deleteLinksBulk(indexes: number[]): Promise<void> {
    if (!indexes.length) return
    for (const i of indexes) {
      try {
        await this.rt.link.set(i, { group: BULK_DELETE_GROUP })
      } catch (err) {
        if (!(err instanceof NotFoundError) && !isErrno(err, 'ENODEV')) throw err
      }
    }
    try {
      await this.rt.link.delGroup(BULK_DELETE_GROUP)
    } catch (err) {
      // the kernel destroyed them first (their namespaces went away): nothing left to delete
      if (!isErrno(err, 'ENODEV')) throw err
    }
  }

  // -------------------------------------------------------------------------------------------
  // check / gc / nat

  /**
   * Reports drift between the recorded state and the kernel: of every network, of one network,
   * or of one network and only one of its attachments (`only`; NotFoundError when not attached).
   */
  async check(name?: string, only?: { id: string; ifname: string }): Promise<Drift[]> {
    const configs = name ? [this.get(name)] : this.list()
    const drift: Drift[] = []
    const ruleSet = await this.podnetRules()
    let elements: Set<string> | undefined
    const handles = new Set(ruleSet.map((r) => `${r.chain}/${r.handle}`))
    for (const c of configs) {
      const br = this.rt.link.findSync(c.bridge)
      if (!br) drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: 'missing' })
      else {
        if (br.kind !== 'bridge') drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: `is a ${br.kind ?? 'non-bridge'}` })
        if (!br.up) drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: 'down' })
        const have = new Set(this.rt.addr.listSync({ dev: br.index }).map((a) => `${a.local}`))
        for (const s of c.subnets) if (!have.has(s.gateway)) drift.push({ network: c.name, object: `gateway ${s.gateway}`, problem: `not on ${c.bridge}` })
      }
      for (const r of c.rules) if (!handles.has(`${r.chain}/${r.handle}`)) drift.push({ network: c.name, object: `rule ${r.chain} #${r.handle} (${r.comment})`, problem: 'missing' })
      const one = only && this.state.readJson<Attachment>(this.attachmentPath(c.name, only.id, only.ifname))
      if (only && !one) throw new NotFoundError('attachment', attachmentKey(only.id, only.ifname), `on network '${c.name}'`)
      for (const a of one ? [one] : this.attachments(c.name)) {
        const what = `attachment ${attachmentKey(a.id, a.ifname)}`
        const veth = this.rt.link.findSync(a.hostVeth)
        if (!veth) drift.push({ network: c.name, object: `${what} veth ${a.hostVeth}`, problem: 'missing' })
        else if (br && veth.master !== br.index) drift.push({ network: c.name, object: `${what} veth ${a.hostVeth}`, problem: `not a port of ${c.bridge}` })
        if (!this.state.exists(a.netns)) drift.push({ network: c.name, object: `${what} netns ${a.netns}`, problem: 'missing (run network gc)' })
        else {
          const ns = Netns.openPath(a.netns)
          const pod = Rtnl.open({ netns: ns })
          try {
            const l = pod.link.findSync(a.ifname)
            if (!l) drift.push({ network: c.name, object: `${what} ${a.ifname}`, problem: 'missing in the pod namespace' })
            else {
              const got = new Set(pod.addr.listSync({ dev: l.index }).map((x) => `${x.local}/${x.prefixlen}`))
              for (const ad of a.addresses) if (!got.has(ad.address)) drift.push({ network: c.name, object: `${what} address ${ad.address}`, problem: 'missing' })
            }
          } finally {
            pod.close()
            ns.close()
          }
        }
        for (const r of a.rules) if (!handles.has(`${r.chain}/${r.handle}`)) drift.push({ network: c.name, object: `${what} rule ${r.chain} #${r.handle}`, problem: 'missing' })
        if (a.portElements?.length) {
          elements ??= new Set((await this.portMapEntries()).map(portElementKey))
          for (const e of a.portElements) {
            if (!elements.has(portElementKey(e))) drift.push({ network: c.name, object: `${what} published port ${describePortElement(e)} (map ${e.map})`, problem: 'missing' })
          }
        }
      }
    }
    return drift
  }

  /** Rules in podnet's table (empty when the table does not exist). */
  async podnetRules(): Promise<Rule[]> {
    try {
      return await this.nft.listRules({ ...TABLE })
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw err
    }
  }

  /**
   * Removes leftovers: attachments whose namespace is gone (rules, addresses, ports, record),
   * podnet veths with no attachment, addresses with no owner, rules of deleted networks or
   * attachments, and port claims with no attachment.
   */
  async gc(): Promise<GcReport> {
    return this.state.locked(async () => {
      const report: GcReport = { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [] }
      const configs = this.list()
      const live = new Map<string, Attachment>()
      const doomed: number[] = []
      for (const c of configs) {
        for (const a of this.attachments(c.name)) {
          if (this.state.exists(a.netns) && this.netnsHasLink(a.netns, a.ifname)) {
            live.set(`${c.name}/${attachmentKey(a.id, a.ifname)}`, a)
            continue
          }
          this.deletePortState(a.rules, a.portElements ?? [])
          const veth = this.rt.link.findSync(a.hostVeth)
          if (veth) {
            doomed.push(veth.index)
            report.removedVeths.push(a.hostVeth)
          }
          this.state.remove(this.attachmentPath(c.name, a.id, a.ifname))
          report.removedAttachments.push(`${c.name}/${attachmentKey(a.id, a.ifname)}`)
        }
        const valid = [...live.values()].filter((a) => a.network === c.name).map((a) => ({ containerId: a.id, ifname: a.ifname }))
        for (const freed of await this.allocator(c.name).gc(valid)) report.releasedAddresses.push(`${c.name}/${freed.ip}`)
        // podnet veths on this bridge that no live attachment owns
        const br = this.rt.link.findSync(c.bridge)
        if (br) {
          const owned = new Set([...live.values()].filter((a) => a.network === c.name).map((a) => a.hostVeth))
          for (const l of this.rt.link.listSync({ master: br.index })) {
            if (isHostVethName(l.name) && !owned.has(l.name) && !doomed.includes(l.index)) {
              doomed.push(l.index)
              report.removedVeths.push(l.name)
            }
          }
        }
      }
      await this.deleteLinksBulk(doomed)
      // rules: keep shared ones, those of live networks and of live attachments
      const keep = new Set<string>()
      for (const c of configs) for (const r of c.rules) keep.add(`${r.chain}/${r.handle}`)
      for (const a of live.values()) for (const r of a.rules) keep.add(`${r.chain}/${r.handle}`)
      const stale = (await this.podnetRules()).filter((r) => !keep.has(`${r.chain}/${r.handle}`) && !(r.comment ?? '').startsWith('podnet shared'))
      if (stale.length) {
        this.deleteRules(stale.map((r) => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })))
        report.removedRules.push(...stale.map((r) => `${r.chain} #${r.handle} ${r.comment ?? ''}`.trim()))
      }
      // published ports: map elements no live attachment recorded (reported with the rules)
      const keepElements = new Set([...live.values()].flatMap((a) => (a.portElements ?? []).map((e) => portElementKey(e))))
      const strays = (await this.portMapEntries()).filter((e) => !keepElements.has(portElementKey(e)))
      if (strays.length) {
        this.deletePortState([], strays)
        report.removedRules.push(...strays.map((e) => `map ${e.map} ${e.text}${e.comment ? ` ${e.comment}` : ''}`))
      }
      // port claims
      for (const d of this.state.list(this.state.portsDir())) {
        for (const f of this.state.list(join(this.state.portsDir(), d))) {
          const path = join(this.state.portsDir(), d, f)
          const owner = this.state.readJson<{ network: string; id: string; ifname: string }>(path)
          if (!owner || !live.has(`${owner.network}/${attachmentKey(owner.id, owner.ifname)}`)) {
            this.state.remove(path)
            report.removedPorts.push(`${d}/${f}`)
          }
        }
      }
      return report
    })
  }

  private netnsHasLink(path: string, ifname: string): boolean {
    let ns: Netns
    try {
      ns = Netns.openPath(path)
    } catch {
      return false
    }
    try {
      const rt = Rtnl.open({ netns: ns })
      try {
        return rt.link.findSync(ifname) !== undefined
      } finally {
        rt.close()
      }
    } finally {
      ns.close()
    }
  }

  /** The bridge port count, for the 1023-port limit check. */
  portCount(config: NetworkConfig): number {
    return this.rt.link.listSync({ master: config.bridge }).length
  }
}

export { MAX_BRIDGE_PORTS }
export type { Link }
