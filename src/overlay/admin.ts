/**
 * Cluster-wide operations on the store that need no agent: create an overlay network (its
 * config, once), read it back, list nodes and their subnets, remove a network.
 */
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js'
import {
  NETWORKS_PREFIX, NODES_PREFIX, clusterOverlaps, describeConfig, networkConfigKey, overlayConfigFromSpec, parseConfigRecord, parseNodeRecord,
  parseSubnetRecord, sameConfig, subnetsPrefix, type NodeRecord, type OverlayConfig, type OverlaySpec, type SubnetRecord,
} from './model.js'
import type { Store } from './store/store.js'

export interface CreateResult {
  config: OverlayConfig
  /** False when the same config was there already (create is idempotent). */
  created: boolean
}

/** Every overlay network config in the store; malformed ones go to `warnings`. */
export async function listOverlayNetworks(store: Store, warnings: string[] = []): Promise<OverlayConfig[]> {
  const { kvs } = await store.list(NETWORKS_PREFIX)
  const out: OverlayConfig[] = []
  for (const kv of kvs) {
    const m = /^([^/]+)\/config$/.exec(kv.key.slice(NETWORKS_PREFIX.length))
    if (!m) continue
    try {
      out.push(parseConfigRecord(m[1]!, kv.value))
    } catch (err) {
      warnings.push(`skipping ${kv.key}: ${(err as Error).message}`)
    }
  }
  return out
}

/**
 * Writes an overlay network's config into the store. Idempotent for the same config; a
 * different config under the same name is refused (ConflictError), and so is a cluster subnet
 * that overlaps another overlay network's. The write is one transaction on the key's create
 * revision, so two concurrent creates cannot both win.
 */
export async function createOverlayNetwork(store: Store, spec: OverlaySpec): Promise<CreateResult> {
  const config = overlayConfigFromSpec(spec)
  const key = networkConfigKey(config.name)
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await store.get(key)
    if (existing) {
      let theirs: OverlayConfig
      try {
        theirs = parseConfigRecord(config.name, existing.value)
      } catch (err) {
        throw new ConflictError(`overlay network '${config.name}' exists in ${store.where} with a config podnet cannot read (${(err as Error).message}); remove it first`)
      }
      if (sameConfig(theirs, config)) return { config: theirs, created: false }
      throw new ConflictError(`overlay network '${config.name}' already exists with a different config (${describeConfig(theirs)}); asked for ${describeConfig(config)}`)
    }
    for (const other of await listOverlayNetworks(store)) {
      if (other.name !== config.name && clusterOverlaps(other, config)) {
        throw new InvalidArgumentError('subnet', `${config.subnet} overlaps ${other.subnet} of overlay network '${other.name}'`)
      }
      // the kernel keeps one VXLAN device per (VNI, UDP port, local address) on a node
      if (other.name !== config.name && other.vni === config.vni && other.port === config.port) {
        throw new InvalidArgumentError('vni', `${config.vni} is the VNI of overlay network '${other.name}' (on port ${other.port}); give another vni`)
      }
    }
    const r = await store.txn([{ key, createRevision: 0 }], [{ put: { key, value: JSON.stringify(config) } }])
    if (r.succeeded) return { config, created: true }
    // someone created it between the read and the write: compare with theirs
  }
  throw new ConflictError(`overlay network '${config.name}' kept changing in ${store.where}; try again`)
}

export async function getOverlayNetwork(store: Store, name: string): Promise<OverlayConfig> {
  const kv = await store.get(networkConfigKey(name))
  if (!kv) throw new NotFoundError('overlay network', name, `in ${store.where}`)
  return parseConfigRecord(name, kv.value)
}

/** The subnets announced for a network (malformed records go to `warnings`). */
export async function listSubnets(store: Store, config: OverlayConfig, warnings: string[] = []): Promise<Array<SubnetRecord & { lease: string }>> {
  const { kvs } = await store.list(subnetsPrefix(config.name))
  const out: Array<SubnetRecord & { lease: string }> = []
  for (const kv of kvs) {
    try {
      out.push({ ...parseSubnetRecord(config, kv.key, kv.value), lease: kv.lease })
    } catch (err) {
      warnings.push(`skipping ${kv.key}: ${(err as Error).message}`)
    }
  }
  return out
}

export interface NodeInfo {
  node: string
  underlay: string
  /** VTEP MAC (of the first network; the same for all of a node's networks is not guaranteed). */
  vtepMac?: string
  subnets: Array<{ network: string; subnet: string; vtepMac: string }>
  lease: string
  /** Seconds left on the node's lease; -1 when it has none any more. */
  ttl: number
  agentId?: string
  host?: string
  pid?: number
  startedAt?: string
}

/** Nodes with their subnets and lease TTL left. Equivalent to: `podnet node ls`. */
export async function listNodes(store: Store, warnings: string[] = []): Promise<NodeInfo[]> {
  const nodes = new Map<string, NodeInfo>()
  const { kvs } = await store.list(NODES_PREFIX)
  for (const kv of kvs) {
    const rec: NodeRecord | undefined = parseNodeRecord(kv.value)
    if (!rec) {
      warnings.push(`skipping ${kv.key}: not a node record`)
      continue
    }
    nodes.set(rec.node, {
      node: rec.node, underlay: rec.underlay, subnets: [], lease: kv.lease, ttl: -1, agentId: rec.agentId,
      ...(rec.host !== undefined && { host: rec.host }), ...(rec.pid !== undefined && { pid: rec.pid }), startedAt: rec.startedAt,
    })
  }
  for (const config of await listOverlayNetworks(store, warnings)) {
    for (const s of await listSubnets(store, config, warnings)) {
      let n = nodes.get(s.node)
      if (!n) {
        n = { node: s.node, underlay: s.underlay, subnets: [], lease: s.lease, ttl: -1 }
        nodes.set(s.node, n)
      }
      n.subnets.push({ network: config.name, subnet: s.subnet, vtepMac: s.vtepMac })
      n.vtepMac ??= s.vtepMac
    }
  }
  const out = [...nodes.values()].sort((a, b) => (a.node < b.node ? -1 : 1))
  await Promise.all(out.map(async (n) => {
    if (n.lease !== '0') n.ttl = await store.timeToLive(n.lease)
  }))
  return out
}

/** Deletes a network's config (agents tear their side down when they see it go). */
export async function removeOverlayNetwork(store: Store, name: string): Promise<boolean> {
  return (await store.delete(networkConfigKey(name))) > 0
}
