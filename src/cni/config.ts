/**
 * The network configuration podnet-cni reads from stdin, mapped onto podnet's bridge layer.
 *
 * It takes the reference bridge plugin's fields where they apply (bridge, isGateway,
 * isDefaultGateway, ipMasq, mtu, hairpinMode), host-local's IPAM section (subnet, gateway,
 * ranges, routes, resolvConf), portmap's `portMappings` capability and the bandwidth plugin's
 * `bandwidth` capability (runtimeConfig.bandwidth: ingressRate/ingressBurst/egressRate/egressBurst
 * in bits, or the same fields in the configuration itself), so one podnet-cni entry replaces a
 * bridge + host-local + portmap + bandwidth chain. Defaults are the reference plugins' (bridge
 * "cni0", ipMasq false, hairpinMode false, no default route unless isDefaultGateway or an IPAM
 * route asks for one). podnet's own settings live under `podnet`:
 *
 *   "podnet": { "stateDir": "/var/lib/podnet/cni", "runDir": "/run/podnet/cni", "internal": false, "dns": false }
 *
 * ("dns": true gives the network podnet's DNS responder: the result's `dns` names it, and pods
 * are found by K8S_POD_NAME from CNI_ARGS; docs/dns.md.)
 *
 * (a stateDir given without runDir keeps the volatile state in <stateDir>/run).
 *
 * An overlay network (docs/overlay.md) is named with "podnet": {"overlay": true}: its subnet,
 * MTU, NAT and bridge are the node agent's (the node subnet it leased), so the configuration
 * gives none of them (bridge, mtu, ipMasq, ipam.subnet/ranges/gateway, podnet.internal are
 * refused with 7), its state directories default to the agent's (podnet's own /var/lib/podnet and
 * /run/podnet), and isDefaultGateway defaults to true (pods reach the other nodes' pods through
 * the gateway).
 *
 * Fields that ask for something podnet does not do (promiscMode, vlan, a DHCP IPAM, ...) are
 * refused with error 2 naming the field and its value, never silently ignored. docs/cni.md
 * has the table.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { BandwidthLimits, NetworkSpec, PodRoute, PortMapping } from '../bridge/index.js'
import { validateRateLimit } from '../bridge/bandwidth.js'
import { CniRequestError, InvalidArgumentError } from '../errors.js'
import { isDnsName } from '../net/dns-name.js'
import { DEFAULT_RUN_DIR, DEFAULT_STATE_DIR } from '../state/index.js'
import type { CniDns, CniRoute } from './types.js'
import { goField } from './go-json.js'

/** Where podnet-cni keeps its state unless `podnet.stateDir` / `podnet.runDir` say otherwise. */
export const DEFAULT_CNI_STATE_DIR = '/var/lib/podnet/cni'
export const DEFAULT_CNI_RUN_DIR = '/run/podnet/cni'
/** The unix socket of `podnet cni serve`, where the installed forwarder sends requests. */
export const DEFAULT_CNI_SOCKET = '/run/podnet/cni.sock'
/** The reference bridge plugin's default bridge name. */
export const DEFAULT_CNI_BRIDGE = 'cni0'

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>

/** Where a network's state lives: all DEL and GC need. */
export interface NetLocation {
  name: string
  stateDir: string
  runDir: string
  /** "podnet": {"overlay": true}: the network is an overlay's node subnet, made by the node agent. */
  overlay: boolean
}

/** Everything ADD, CHECK and STATUS need from the configuration. */
export interface PodnetNetConf extends NetLocation {
  /** The podnet network this configuration stands for (created on the first ADD). */
  network: NetworkSpec & { bridge: string; mtu: number; nat: boolean; internal: boolean }
  /** Routes to add in the pod, as configured (a route without gw goes via the gateway). */
  routes: PodRoute[]
  /** isDefaultGateway: a default route via the gateway for each family. */
  defaultGateway: boolean
  hairpin: boolean
  /** Static addresses (runtimeConfig.ips, args.cni.ips or CNI_ARGS IP), without prefix length. */
  ips: string[]
  /** runtimeConfig.mac, args.cni.mac or CNI_ARGS MAC. */
  mac?: string
  portMappings: PortMapping[]
  /** The bandwidth capability (or the configuration's own ingressRate/... fields). */
  bandwidth?: BandwidthLimits
  dns: CniDns
  /** The pod's names in the network's DNS (K8S_POD_NAME from CNI_ARGS), when the network has DNS. */
  dnsNames: string[]
}

export interface ConfDefaults {
  stateDir?: string
  runDir?: string
}

const bad = (field: string, why: string): CniRequestError => new CniRequestError('config', `invalid network configuration: ${field} ${why}`)
const unsupported = (field: string, value: unknown, why: string): CniRequestError =>
  new CniRequestError('unsupported-field', `unsupported field: ${field}=${JSON.stringify(value)}`, why)

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

function obj(v: unknown, field: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw bad(field, 'must be an object')
  return v
}
function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw bad(field, `must be a string, not ${JSON.stringify(v)}`)
  return v
}
function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw bad(field, `must be true or false, not ${JSON.stringify(v)}`)
  return v
}
function int(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(field, `must be an integer, not ${JSON.stringify(v)}`)
  return v
}
function arr(v: unknown, field: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) throw bad(field, 'must be a list')
  return v
}
function strList(v: unknown, field: string): string[] | undefined {
  return arr(v, field)?.map((x, i) => str(x, `${field}[${i}]`) ?? '')
}

/** The network name and podnet's directories: enough for DEL and GC, which must work with little. */
export function parseLocation(conf: JsonObject, defaults: ConfDefaults = {}): NetLocation {
  const name = str(conf.name, 'name') ?? ''
  const podnet = obj(conf.podnet, 'podnet') ?? {}
  const overlay = bool(podnet.overlay, 'podnet.overlay') ?? false
  const chosen = str(podnet.stateDir, 'podnet.stateDir')
  // an overlay's node subnet lives where the node agent keeps it: podnet's own directories
  const stateDir = chosen ?? (overlay ? DEFAULT_STATE_DIR : defaults.stateDir ?? DEFAULT_CNI_STATE_DIR)
  // as the bridge layer does: a state dir of one's own keeps its volatile part with it
  const runDir = str(podnet.runDir, 'podnet.runDir') ?? (chosen !== undefined ? `${chosen}/run` : overlay ? DEFAULT_RUN_DIR : defaults.runDir ?? DEFAULT_CNI_RUN_DIR)
  for (const [k, v] of [['podnet.stateDir', stateDir], ['podnet.runDir', runDir]] as const) {
    if (!isAbsolute(v)) throw bad(k, `must be an absolute path, not ${JSON.stringify(v)}`)
  }
  return { name, stateDir, runDir, overlay }
}

/** Fields an overlay network's configuration leaves out: the node agent sets them (from its lease). */
const OVERLAY_AGENT_FIELDS: Array<[field: string, get: (conf: JsonObject) => unknown]> = [
  ['bridge', (c) => c.bridge], ['mtu', (c) => c.mtu], ['ipMasq', (c) => c.ipMasq],
  ['ipam.subnet', (c) => (isObject(c.ipam) ? c.ipam.subnet : undefined)], ['ipam.ranges', (c) => (isObject(c.ipam) ? c.ipam.ranges : undefined)],
  ['ipam.gateway', (c) => (isObject(c.ipam) ? c.ipam.gateway : undefined)], ['podnet.internal', (c) => (isObject(c.podnet) ? c.podnet.internal : undefined)],
]

/** Fields of the reference bridge plugin podnet does not implement, and the value that means "off". */
const UNSUPPORTED_BRIDGE_FIELDS: Array<[field: string, off: (v: unknown) => boolean, why: string]> = [
  ['isGateway', (v) => v !== false, 'podnet always puts the gateway address on the bridge; for a network with no way in or out use "podnet": {"internal": true}'],
  ['promiscMode', (v) => v !== true, 'podnet does not put the bridge in promiscuous mode; hairpinMode gives pods their own published ports'],
  ['vlan', (v) => v === 0, 'podnet bridges do not filter VLANs'],
  ['vlanTrunk', (v) => Array.isArray(v) && v.length === 0, 'podnet bridges do not filter VLANs'],
  ['macspoofchk', (v) => v !== true, 'podnet does not install MAC spoof checks'],
  ['enabledad', (v) => v !== true, 'podnet turns duplicate address detection off for pod addresses (it hands each address out once)'],
  ['disableContainerInterface', (v) => v !== true, 'podnet always brings the pod interface up'],
  ['portIsolation', (v) => v !== true, 'podnet isolates networks from each other with nf_tables, not ports within a bridge'],
]

/**
 * Parses the configuration for ADD, CHECK and STATUS.
 * @param cniArgs CNI_ARGS as key/value pairs (IP and MAC are honoured).
 * @throws CniRequestError 'config' (7) or 'unsupported-field' (2).
 */
export function parseNetConf(conf: JsonObject, cniArgs: Readonly<Record<string, string>> = {}, defaults: ConfDefaults = {}): PodnetNetConf {
  const loc = parseLocation(conf, defaults)
  if (loc.overlay) {
    for (const [field, get] of OVERLAY_AGENT_FIELDS) {
      const v = get(conf)
      if (v !== undefined && v !== null) throw bad(field, `is set by the node agent for an overlay network ("podnet": {"overlay": true}): leave it out (it is ${JSON.stringify(v)})`)
    }
  }
  for (const [field, off, why] of UNSUPPORTED_BRIDGE_FIELDS) {
    const v = conf[field]
    if (v !== undefined && v !== null && !off(v)) throw unsupported(field, v, why)
  }
  const bridge = str(conf.bridge, 'bridge') ?? DEFAULT_CNI_BRIDGE
  const mtu = int(conf.mtu, 'mtu') ?? 1500
  const ipMasq = bool(conf.ipMasq, 'ipMasq') ?? false
  const hairpin = bool(conf.hairpinMode, 'hairpinMode') ?? false
  const defaultGateway = bool(conf.isDefaultGateway, 'isDefaultGateway') ?? loc.overlay
  bool(conf.forceAddress, 'forceAddress')
  const backend = str(conf.ipMasqBackend, 'ipMasqBackend')
  if (backend !== undefined && backend !== 'nftables' && backend !== 'iptables') throw bad('ipMasqBackend', `must be "nftables" or "iptables", not ${JSON.stringify(backend)}`)
  const podnet = obj(conf.podnet, 'podnet') ?? {}
  const internal = bool(podnet.internal, 'podnet.internal') ?? false
  if (internal && ipMasq) throw bad('podnet.internal', 'excludes ipMasq: an internal network has no way out')
  const withDns = bool(podnet.dns, 'podnet.dns') ?? false

  const ipam = parseIpam(obj(conf.ipam, 'ipam'), loc.overlay)
  // runtimeConfig is filled in by runtimes written in Go: its keys match as Go's JSON decoding matches them (go-json.ts)
  const rc = obj(goField(conf, 'runtimeConfig'), 'runtimeConfig') ?? {}
  const argsCni = obj(obj(conf.args, 'args')?.cni, 'args.cni') ?? {}

  const ipsText = strList(goField(rc, 'ips'), 'runtimeConfig.ips') ?? strList(argsCni.ips, 'args.cni.ips') ?? (cniArgs.IP ? cniArgs.IP.split(',') : [])
  const ips = ipsText.map((t) => t.trim()).filter((t) => t !== '').map((t) => stripPrefix(t, ipam.subnets))
  const mac = str(goField(rc, 'mac'), 'runtimeConfig.mac') ?? str(argsCni.mac, 'args.cni.mac') ?? cniArgs.MAC
  const portMappings = (arr(goField(rc, 'portMappings'), 'runtimeConfig.portMappings') ?? []).map((m, i) => parsePortMapping(m, `runtimeConfig.portMappings[${i}]`))
  const bandwidth = parseBandwidth(conf, rc, mtu)

  let dns = ipam.dns
  const confDns = parseDns(obj(conf.dns, 'dns'))
  if (Object.keys(confDns).length) dns = confDns

  return {
    ...loc,
    network: {
      name: loc.name, subnets: ipam.subnets, gateways: ipam.gateways, bridge, mtu,
      nat: internal ? false : ipMasq, internal, ...(withDns && { dns: true }),
    },
    routes: ipam.routes,
    defaultGateway,
    hairpin,
    ips,
    ...(mac !== undefined && mac !== '' && { mac: mac.toLowerCase() }),
    portMappings,
    ...(bandwidth && { bandwidth }),
    dns,
    dnsNames: withDns && cniArgs.K8S_POD_NAME && isDnsName(cniArgs.K8S_POD_NAME) ? [cniArgs.K8S_POD_NAME.toLowerCase()] : [],
  }
}

/** The bandwidth plugin's rate and burst fields. */
const BANDWIDTH_FIELDS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const

/**
 * The bandwidth plugin's entry: the configuration's own ingressRate/ingressBurst/egressRate/
 * egressBurst, else runtimeConfig.bandwidth (the capability). Rates in bit/s, bursts in bits;
 * 0 or absent means no limit. As the plugin: a rate needs a burst and a burst a rate, and a
 * burst is less than 4 GiB. podnet also refuses rates under 1 kbit/s and bursts smaller than
 * one packet (tbf would drop every full-size packet).
 */
function parseBandwidth(conf: JsonObject, rc: JsonObject, mtu: number): BandwidthLimits | undefined {
  // the bandwidth plugin is written in Go: its fields, and go-cni's capitalised runtimeConfig.bandwidth, match as Go's JSON decoding does
  const own = BANDWIDTH_FIELDS.some((k) => goField(conf, k) !== undefined && goField(conf, k) !== null)
  const src = own ? conf : obj(goField(rc, 'bandwidth'), 'runtimeConfig.bandwidth')
  if (!src) return undefined
  const at = own ? '' : 'runtimeConfig.bandwidth.'
  for (const k of ['unshapedSubnets', 'shapedSubnets']) {
    const v = arr(goField(src, k), `${at}${k}`)
    if (v?.length) throw unsupported(`${at}${k}`, v, 'podnet shapes all of a pod\'s traffic')
  }
  const num = (k: string): number => {
    const v = goField(src, k)
    if (v === undefined || v === null) return 0
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${at}${k}`, `must be a non-negative integer, not ${JSON.stringify(v)}`)
    return v
  }
  const out: BandwidthLimits = {}
  for (const dir of ['ingress', 'egress'] as const) {
    const rate = num(`${dir}Rate`)
    const burst = num(`${dir}Burst`)
    if (rate && !burst) throw bad(`${at}${dir}Burst`, `is missing: if ${dir}Rate is set, ${dir}Burst must also be set (as the bandwidth plugin)`)
    if (burst && !rate) throw bad(`${at}${dir}Rate`, `is missing: if ${dir}Burst is set, ${dir}Rate must also be set (as the bandwidth plugin)`)
    if (!rate) continue
    const limit = { rateBitsPerSec: rate, burstBits: burst }
    try {
      validateRateLimit(limit, `${at}${dir}Rate`, mtu, `${at}${dir}Burst`)
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw bad(err.field, err.message.slice(err.field.length + 2))
      throw err
    }
    out[dir] = limit
  }
  return out.ingress || out.egress ? out : undefined
}

interface IpamConf {
  subnets: string[]
  gateways: string[]
  routes: PodRoute[]
  dns: CniDns
}

function parseIpam(ipam: JsonObject | undefined, overlay = false): IpamConf {
  if (!ipam && overlay) return { subnets: [], gateways: [], routes: [], dns: {} }
  if (!ipam) throw bad('ipam', 'is missing: podnet-cni needs a subnet (ipam.subnet or ipam.ranges)')
  const type = str(ipam.type, 'ipam.type')
  if (type !== undefined && type !== 'host-local' && type !== 'podnet') {
    throw unsupported('ipam.type', type, 'podnet-cni allocates addresses itself, with host-local\'s semantics: use "host-local" (or leave ipam.type out)')
  }
  const ranges: JsonObject[] = []
  if (ipam.subnet !== undefined) ranges.push({ subnet: ipam.subnet, gateway: ipam.gateway, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd })
  arr(ipam.ranges, 'ipam.ranges')?.forEach((set, i) => {
    const list = arr(set, `ipam.ranges[${i}]`) ?? []
    if (list.length !== 1) throw unsupported(`ipam.ranges[${i}]`, list, 'podnet gives a network one subnet per address family: one range per range set')
    ranges.push(obj(list[0], `ipam.ranges[${i}][0]`) ?? {})
  })
  if (!ranges.length && !overlay) throw bad('ipam', 'has no subnet: give ipam.subnet or ipam.ranges')
  const subnets: string[] = []
  const gateways: string[] = []
  ranges.forEach((r, i) => {
    const at = ipam.subnet !== undefined && i === 0 ? 'ipam' : `ipam.ranges[${ipam.subnet !== undefined ? i - 1 : i}][0]`
    const subnet = str(r.subnet, `${at}.subnet`)
    if (!subnet) throw bad(`${at}.subnet`, 'is missing')
    subnets.push(subnet)
    const gw = str(r.gateway, `${at}.gateway`)
    if (gw) gateways.push(gw)
    for (const k of ['rangeStart', 'rangeEnd']) {
      const v = str(r[k], `${at}.${k}`)
      if (v !== undefined) throw unsupported(`${at}.${k}`, v, 'podnet hands out the whole subnet (but the gateway); use a smaller subnet')
    }
  })
  const routes = (arr(ipam.routes, 'ipam.routes') ?? []).map((x, i) => {
    const r = obj(x, `ipam.routes[${i}]`) ?? {}
    const dst = str(r.dst, `ipam.routes[${i}].dst`)
    if (!dst) throw bad(`ipam.routes[${i}].dst`, 'is missing')
    const gw = str(r.gw, `ipam.routes[${i}].gw`)
    return gw ? { dst, gw } : { dst }
  })
  const resolvConf = str(ipam.resolvConf, 'ipam.resolvConf')
  return { subnets, gateways, routes, dns: resolvConf ? readResolvConf(resolvConf) : {} }
}

function parseDns(d: JsonObject | undefined): CniDns {
  if (!d) return {}
  const out: CniDns = {}
  const nameservers = strList(d.nameservers, 'dns.nameservers')
  const domain = str(d.domain, 'dns.domain')
  const search = strList(d.search, 'dns.search')
  const options = strList(d.options, 'dns.options')
  if (nameservers?.length) out.nameservers = nameservers
  if (domain) out.domain = domain
  if (search?.length) out.search = search
  if (options?.length) out.options = options
  return out
}

/** DNS settings from a resolv.conf file (host-local's `resolvConf`). */
export function readResolvConf(path: string): CniDns {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw bad('ipam.resolvConf', `cannot be read: ${(err as Error).message}`)
  }
  const dns: CniDns = {}
  for (const line of text.split('\n')) {
    const [key, ...vals] = line.replace(/[#;].*$/, '').trim().split(/\s+/)
    if (!key || !vals.length) continue
    if (key === 'nameserver') (dns.nameservers ??= []).push(vals[0]!)
    else if (key === 'domain') dns.domain = vals[0]!
    else if (key === 'search') dns.search = vals
    else if (key === 'options') (dns.options ??= []).push(...vals)
  }
  return dns
}

/** '10.88.0.5/16' -> '10.88.0.5' (the prefix must be the subnet's); plain addresses pass. */
function stripPrefix(text: string, subnets: string[]): string {
  const slash = text.indexOf('/')
  if (slash < 0) return text
  const ip = text.slice(0, slash)
  const prefix = text.slice(slash + 1)
  const family = ip.includes(':') ? 6 : 4
  const subnet = subnets.find((s) => (s.includes(':') ? 6 : 4) === family)
  if (subnet && subnet.split('/')[1] !== prefix) throw bad('ips', `${text} does not have the prefix length of subnet ${subnet}`)
  return ip
}

/** One runtimeConfig.portMappings entry: portmap's {hostPort, containerPort, protocol, hostIP}, keys matched as Go does. */
function parsePortMapping(v: unknown, field: string): PortMapping {
  const m = obj(v, field) ?? {}
  const hostPort = int(goField(m, 'hostPort'), `${field}.hostPort`)
  const containerPort = int(goField(m, 'containerPort'), `${field}.containerPort`)
  if (hostPort === undefined || containerPort === undefined) throw bad(field, 'needs hostPort and containerPort')
  const protocol = (str(goField(m, 'protocol'), `${field}.protocol`) ?? 'tcp').toLowerCase()
  if (protocol !== 'tcp' && protocol !== 'udp') throw unsupported(`${field}.protocol`, protocol, 'podnet publishes tcp and udp ports')
  const hostIp = str(goField(m, 'hostIP'), `${field}.hostIP`)
  return { hostPort, containerPort, protocol, ...(hostIp && { hostIp }) }
}

/** Routes for the result: as configured, plus (isDefaultGateway) a default route via each family's gateway. */
export function podRoutesFor(conf: Pick<PodnetNetConf, 'routes' | 'defaultGateway'>, gateways: Array<{ family: 4 | 6; gateway: string }>): PodRoute[] {
  if (!conf.defaultGateway) return conf.routes
  const isDefault = (dst: string): boolean => dst === '0.0.0.0/0' || dst === '::/0'
  const families = new Set(gateways.map((g) => g.family))
  const kept = conf.routes.filter((r) => !(isDefault(r.dst) && families.has(r.dst.includes(':') ? 6 : 4)))
  return [...gateways.map((g) => ({ dst: g.family === 4 ? '0.0.0.0/0' : '::/0', gw: g.gateway })), ...kept]
}

/** The result's `routes`: the configured ones as given (a missing gw means "the gateway"). */
export const resultRoutes = (routes: PodRoute[]): CniRoute[] => routes.map((r) => (r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst }))
