/**
 * The overlay's model: what lives in the store, under which keys, and how records are checked.
 *
 * Key layout (every key under the prefix `/podnet/overlay/`, docs/overlay.md):
 *
 *   networks/<name>/config              OverlayConfig (JSON), written once by `network create`
 *   networks/<name>/subnets/<a.b.c.d-N> SubnetRecord: the node holding that node subnet, its
 *                                       underlay address and VTEP MAC; attached to the node's lease
 *   nodes/<node>                        NodeRecord: which agent holds the node name; on the lease
 *
 * A subnet is claimed with a transaction that puts its key only if the key's create revision is
 * 0 (it does not exist), so two agents can never hold one subnet; the same for a node name.
 * Everything a node announces hangs on one lease: when the agent stops renewing it (crash,
 * partition), etcd deletes the keys after the TTL and every other agent's watch removes the
 * node's routes.
 */
import { InvalidArgumentError } from '../errors.js'
import { cidrContains, formatIp, makeCidr, overlaps, parseCidr, parseIp, type Cidr } from '../net/ip.js'

export const KEY_PREFIX = '/podnet/overlay/'
export const NETWORKS_PREFIX = `${KEY_PREFIX}networks/`
export const NODES_PREFIX = `${KEY_PREFIX}nodes/`

export const networkConfigKey = (name: string): string => `${NETWORKS_PREFIX}${name}/config`
export const subnetsPrefix = (name: string): string => `${NETWORKS_PREFIX}${name}/subnets/`
export const subnetKey = (name: string, subnet: string): string => `${subnetsPrefix(name)}${subnet.replace('/', '-')}`
export const nodeKey = (node: string): string => `${NODES_PREFIX}${node}`

export const DEFAULT_VXLAN_PORT = 4789
export const DEFAULT_VNI = 1
export const DEFAULT_NODE_PREFIX = 24
/** IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers: the inner MTU is the underlay's minus this. */
export const VXLAN_OVERHEAD = 50

export interface OverlayConfig {
  name: string
  backend: 'vxlan'
  /** The cluster subnet, split into node subnets. */
  subnet: string
  nodePrefix: number
  vni: number
  port: number
  directRouting: boolean
}

export interface OverlaySpec {
  name: string
  overlay?: string
  subnet: string
  nodePrefix?: number
  vni?: number
  port?: number
  directRouting?: boolean
}

/** What a node announces for one network. */
export interface SubnetRecord {
  node: string
  subnet: string
  /** The node subnet's gateway (the bridge's address): the next hop other nodes route to. */
  gateway: string
  /** The node's underlay (tunnel endpoint) address. */
  underlay: string
  /** The VXLAN device's MAC on that node. */
  vtepMac: string
}

export interface NodeRecord {
  node: string
  underlay: string
  /** Random id of the agent's state dir: the same agent after a restart, or another machine. */
  agentId: string
  lease: string
  startedAt: string
  /** The agent's host name and pid, for messages. */
  host?: string
  pid?: number
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

export function validateNodeName(name: string): void {
  if (!NAME_RE.test(name)) throw new InvalidArgumentError('name', `'${name}' is not a valid node name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
}

/** Checks and completes a spec from the CLI or the library; throws InvalidArgumentError naming the flag. */
export function overlayConfigFromSpec(spec: OverlaySpec): OverlayConfig {
  if (!NAME_RE.test(spec.name)) throw new InvalidArgumentError('network name', `'${spec.name}' is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  const backend = spec.overlay ?? 'vxlan'
  if (backend !== 'vxlan') throw new InvalidArgumentError('overlay', `'${backend}' is not a supported overlay (vxlan)`)
  const cidr = parseCidr(spec.subnet, 'subnet')
  if (cidr.family !== 4) throw new InvalidArgumentError('subnet', `${spec.subnet}: the overlay supports IPv4 cluster subnets only`)
  const nodePrefix = spec.nodePrefix ?? DEFAULT_NODE_PREFIX
  if (!Number.isInteger(nodePrefix) || nodePrefix <= cidr.prefix || nodePrefix > 30) {
    throw new InvalidArgumentError('nodePrefix', `${nodePrefix} must be longer than the cluster subnet's /${cidr.prefix} and at most 30`)
  }
  if (nodePrefix - cidr.prefix > 16) throw new InvalidArgumentError('nodePrefix', `/${nodePrefix} in a /${cidr.prefix} makes ${2 ** (nodePrefix - cidr.prefix)} node subnets; at most 65536`)
  const vni = spec.vni ?? DEFAULT_VNI
  if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) throw new InvalidArgumentError('vni', `${vni} is not a VXLAN network identifier (1-16777215)`)
  const port = spec.port ?? DEFAULT_VXLAN_PORT
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('port', `${port} is not a UDP port (1-65535)`)
  return { name: spec.name, backend: 'vxlan', subnet: cidr.text, nodePrefix, vni, port, directRouting: spec.directRouting === true }
}

/** The fields that must match for `network create` to be idempotent. */
export function sameConfig(a: OverlayConfig, b: OverlayConfig): boolean {
  return a.backend === b.backend && a.subnet === b.subnet && a.nodePrefix === b.nodePrefix && a.vni === b.vni && a.port === b.port && a.directRouting === b.directRouting
}

export function describeConfig(c: OverlayConfig): string {
  return `${c.backend} ${c.subnet} /${c.nodePrefix} per node, vni ${c.vni}, port ${c.port}${c.directRouting ? ', direct routing' : ''}`
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

/** A config read from the store; throws a message saying what is wrong (the caller skips it with a warning). */
export function parseConfigRecord(name: string, text: string): OverlayConfig {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new Error('not JSON')
  }
  if (!isObj(v)) throw new Error('not a JSON object')
  if (v.name !== name) throw new Error(`its name ${JSON.stringify(v.name)} is not the key's '${name}'`)
  try {
    return overlayConfigFromSpec({
      name, overlay: String(v.backend), subnet: String(v.subnet),
      nodePrefix: Number(v.nodePrefix), vni: Number(v.vni), port: Number(v.port), directRouting: v.directRouting === true,
    })
  } catch (err) {
    throw new Error((err as Error).message)
  }
}

/** A subnet record read from the store, checked against its network; throws when malformed. */
export function parseSubnetRecord(config: OverlayConfig, key: string, text: string): SubnetRecord {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new Error('not JSON')
  }
  if (!isObj(v)) throw new Error('not a JSON object')
  const { node, subnet, gateway, underlay, vtepMac } = v
  if (typeof node !== 'string' || !NAME_RE.test(node)) throw new Error('no valid node name')
  if (typeof subnet !== 'string') throw new Error('no subnet')
  if (subnetKey(config.name, subnet) !== key) throw new Error(`its subnet ${subnet} is not the key's`)
  let c: Cidr
  try {
    c = parseCidr(subnet)
  } catch {
    throw new Error(`subnet ${subnet} is not a CIDR`)
  }
  const cluster = parseCidr(config.subnet)
  if (c.family !== 4 || c.prefix !== config.nodePrefix || !cidrContains(cluster, { family: 4, value: c.network })) {
    throw new Error(`subnet ${subnet} is not a /${config.nodePrefix} of ${config.subnet}`)
  }
  if (typeof gateway !== 'string' || !safeIp(gateway) || !cidrContains(c, parseIp(gateway))) throw new Error(`gateway ${String(gateway)} is not in ${subnet}`)
  if (typeof underlay !== 'string' || !safeIp(underlay) || parseIp(underlay).family !== 4) throw new Error(`underlay ${String(underlay)} is not an IPv4 address`)
  if (typeof vtepMac !== 'string' || !MAC_RE.test(vtepMac) || parseInt(vtepMac.slice(0, 2), 16) & 1) throw new Error(`vtepMac ${String(vtepMac)} is not a unicast MAC`)
  return { node, subnet: c.text, gateway, underlay, vtepMac }
}

const safeIp = (s: string): boolean => {
  try {
    parseIp(s)
    return true
  } catch {
    return false
  }
}

export function parseNodeRecord(text: string): NodeRecord | undefined {
  try {
    const v = JSON.parse(text) as unknown
    if (!isObj(v) || typeof v.node !== 'string' || typeof v.agentId !== 'string') return undefined
    return v as unknown as NodeRecord
  } catch {
    return undefined
  }
}

/** The i-th node subnet of a cluster subnet. */
export function nodeSubnet(config: OverlayConfig, i: number): string {
  const cluster = parseCidr(config.subnet)
  const size = 1n << BigInt(32 - config.nodePrefix)
  return makeCidr(4, cluster.network + BigInt(i) * size, config.nodePrefix).text
}

export function nodeSubnetCount(config: OverlayConfig): number {
  return 2 ** (config.nodePrefix - parseCidr(config.subnet).prefix)
}

/** The gateway of a node subnet: its first address (the bridge's). */
export function subnetGateway(subnet: string): string {
  const c = parseCidr(subnet)
  return formatIp(4, c.network + 1n)
}

/** True when two cluster subnets overlap. */
export function clusterOverlaps(a: OverlayConfig, b: OverlayConfig): boolean {
  return overlaps(a.subnet, b.subnet)
}
