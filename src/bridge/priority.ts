/**
 * Traffic priority of pods on the host's uplink(s): `podnet.io/network-priority: high|normal|low`
 * (or a level 0-7, higher wins) makes a pod's traffic win, or yield, when the uplink is the
 * bottleneck.
 *
 * Two parts, both podnet's own:
 *
 *   marking    nf_tables table `inet podnet-qos`: one chain at the postrouting hook sets the
 *              packet's priority (skb->priority) from the pod's source address, through two
 *              maps (address -> tc class id) with one element per prioritized pod address:
 *                chain postrouting { type filter hook postrouting priority -150;
 *                  meta nfproto ipv4 meta priority set ip saddr map @prio4
 *                  meta nfproto ipv6 meta priority set ip6 saddr map @prio6 }
 *                map prio4 { type ipv4_addr : classid; elements = { 10.88.0.2 : 1:16 comment "podnet o=... net=..." } }
 *              An address without an element is not marked (level normal, the default class).
 *              It runs before masquerade (srcnat, priority 100), so it still sees the pod's address.
 *   scheduling an htb tree on each configured uplink (`podnet qos uplink add DEV --rate R`):
 *                1: htb default 14
 *                  1:1 rate R ceil R
 *                    1:1L (L = 0..7, classid 1:10 + L) rate R/20 ceil R prio 7-L
 *              htb takes skb->priority as the class id when it names one of its classes, so no
 *              filter is needed. Each level is guaranteed 5% of R; what is left is lent to the
 *              waiting classes in prio order, so under contention a high pod gets ~95% of the
 *              link against a low one, and alone, any pod can use all of it (ceil R).
 *
 * Why not cgroups: net_prio (which sets the priority of a cgroup's sockets) exists only on
 * cgroup v1, and in any case a pod's packets are forwarded by the host: ip_forward() sets
 * skb->priority from the IP TOS byte (rt_tos2priority), so a priority set inside the pod's
 * namespace never reaches the uplink. nf_tables in the host sets it after forwarding, the same
 * way on cgroup v1 and v2 (and with no cgroup at all: plain `network attach` and CNI pods too).
 *
 * Why a table of its own: `inet podnet` holds NAT, whose rules are owned by network records
 * and collected by `network gc`; the priority chain and maps have another lifetime (they are
 * created by the first prioritized attachment and stay, empty, like CNI portmap's chains).
 *
 * Reboot: the maps, chain and htb trees go; attachments (run dir) go with them. The uplink
 * configuration is persistent (<state dir>/qos/uplinks.json), and its htb trees are put back by
 * `podnet qos uplink apply` and by every prioritized attach. kill -9: an element is added in
 * one batch with nothing after it in the attach; one without an attachment is removed by gc.
 */
import { join } from 'node:path'
import { InvalidArgumentError, NotFoundError } from '../errors.js'
import { DEFAULT_PRIORITY, MAX_PRIORITY } from './priority-levels.js'
import type { Expr, Nft, NftTransaction, SetScalar } from '../netlink/nftables/index.js'
import type { Rtnl } from '../netlink/route/index.js'
import { tcHandle } from '../netlink/route/index.js'
import type { StateDir } from './state.js'

export { PRIORITY_LEVELS, DEFAULT_PRIORITY, MAX_PRIORITY, parsePriority, formatPriority, type PriorityName } from './priority-levels.js'

export const QOS_TABLE = { family: 'inet', table: 'podnet-qos' } as const
export const QOS_CHAIN = 'postrouting'
export const PRIO_MAPS = { 4: 'prio4', 6: 'prio6' } as const

/** The htb class of a level on an uplink: 1:10 + level (1:16 for high). */
export const classidFor = (level: number): number => tcHandle(1, 0x10 + level)

// ---------------------------------------------------------------------------------------------
// marking (nf_tables)

const NFPROTO = { 4: 2, 6: 10 } as const

/** `meta nfproto ipvX meta priority set ip[6] saddr map @prioX`. */
export function setPriorityFromMap(family: 4 | 6): Expr[] {
  return [
    { kind: 'meta', key: 'nfproto', dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data: Buffer.from([NFPROTO[family]]) },
    { kind: 'payload', base: 'network', offset: family === 4 ? 12 : 8, len: family === 4 ? 4 : 16, dreg: 1 },
    { kind: 'lookup', set: PRIO_MAPS[family], sreg: 1, dreg: 1 },
    { kind: 'meta', key: 'priority', sreg: 1 },
  ]
}

const ADDR_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const

/** Queues the table, its maps and its chain with the two rules (one batch; the caller checked they are absent). */
export function queueQosTable(tx: NftTransaction): void {
  tx.addTable({ family: QOS_TABLE.family, name: QOS_TABLE.table })
  for (const f of [4, 6] as const) tx.addSet({ ...QOS_TABLE, name: PRIO_MAPS[f], keyType: ADDR_TYPE[f], dataType: 'classid' })
  tx.addChain({ ...QOS_TABLE, name: QOS_CHAIN, type: 'filter', hook: 'postrouting', priority: -150, policy: 'accept' })
  for (const f of [4, 6] as const) {
    tx.addRule({ ...QOS_TABLE, chain: QOS_CHAIN, comment: `podnet shared: IPv${f} pod priority by source address`, exprs: setPriorityFromMap(f) })
  }
}

/** Creates the table unless it exists (one atomic batch). */
export async function ensureQosTable(nft: Nft): Promise<void> {
  if ((await nft.listTables(QOS_TABLE.family)).some((t) => t.name === QOS_TABLE.table)) return
  const tx = nft.transaction()
  queueQosTable(tx)
  tx.commitSync()
}

/** One prioritized pod address. */
export interface PriorityElement {
  map: string
  family: 4 | 6
  key: string
  classid: number
  comment: string
}

/** The elements of an attachment's addresses (none at the default level). */
export function priorityElements(owner: { network: string; id: string; ifname: string; owner?: string }, addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>, level: number): PriorityElement[] {
  if (level === DEFAULT_PRIORITY) return []
  let comment = `podnet ${owner.owner !== undefined ? `o=${owner.owner} ` : ''}net=${owner.network} id=${owner.id} if=${owner.ifname} prio=${level}`
  if (Buffer.byteLength(comment) > 128) comment = Buffer.from(comment).subarray(0, 128).toString('latin1')
  return addresses.map((a) => ({ map: PRIO_MAPS[a.family], family: a.family, key: a.address.split('/')[0]!, classid: classidFor(level), comment }))
}

/** Adds (or, with 'destroy', deletes by key) elements in one batch; destroying what is gone is fine. */
export function queuePriorityElements(tx: NftTransaction, els: readonly PriorityElement[], op: 'add' | 'destroy'): void {
  for (const f of [4, 6] as const) {
    const mine = els.filter((e) => e.family === f)
    if (!mine.length) continue
    const spec = { ...QOS_TABLE, name: PRIO_MAPS[f], keyType: ADDR_TYPE[f], dataType: 'classid' as const }
    if (op === 'add') tx.addElements({ ...spec, elements: mine.map((e) => ({ key: e.key, data: e.classid, comment: e.comment })) })
    else tx.destroyElements({ ...spec, elements: mine.map((e) => ({ key: e.key })) })
  }
}

/** The prioritized addresses in the kernel's maps ([] when the table does not exist). */
export async function listPriorityElements(nft: Nft): Promise<PriorityElement[]> {
  const out: PriorityElement[] = []
  for (const f of [4, 6] as const) {
    let els
    try {
      els = await nft.listElements({ ...QOS_TABLE, name: PRIO_MAPS[f] })
    } catch (err) {
      if ((err as { errnoName?: string }).errnoName === 'ENOENT') continue
      throw err
    }
    for (const e of els) out.push({ map: PRIO_MAPS[f], family: f, key: String(e.key as SetScalar), classid: Number(e.data as SetScalar), comment: e.comment ?? '' })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// scheduling (the uplinks' htb trees)

export interface UplinkSpec {
  /** The device traffic leaves the host by (in the host namespace). */
  dev: string
  /** Its capacity: what the htb tree divides among the levels. */
  rateBitsPerSec: number
}

/** Each level's guaranteed share of the uplink (the rest is lent by priority). */
export const GUARANTEED_SHARE = 0.05

/**
 * Puts the htb tree on an uplink (replacing its root qdisc). Idempotent. Equivalent to:
 *   tc qdisc replace dev DEV root handle 1: htb default 14
 *   tc class replace dev DEV parent 1: classid 1:1 htb rate R ceil R
 *   tc class replace dev DEV parent 1:1 classid 1:1L htb rate R/20 ceil R prio 7-L    (L = 0..7)
 */
export async function applyUplink(rt: Rtnl, u: UplinkSpec): Promise<void> {
  validateUplink(u)
  const rate = Math.round(u.rateBitsPerSec / 8)
  const burst = Math.max(1600, Math.ceil(rate / 1000)) // 1 ms at the rate: htb's default (one MTU) starves fast links
  const root = rt.qdisc.findSync({ dev: u.dev })
  if (root?.kind !== 'htb' || root.handleText !== '1:' || root.htb?.defaultClass !== 0x10 + DEFAULT_PRIORITY) {
    await rt.qdisc.replace({ dev: u.dev, kind: 'htb', handle: '1:', htb: { defaultClass: 0x10 + DEFAULT_PRIORITY } })
  }
  await rt.tclass.replace({ dev: u.dev, parent: '1:', classid: '1:1', kind: 'htb', htb: { rateBytesPerSec: rate, ceilBytesPerSec: rate, burstBytes: burst, cburstBytes: burst } })
  const share = Math.max(125, Math.round(rate * GUARANTEED_SHARE))
  for (let level = 0; level <= MAX_PRIORITY; level++) {
    await rt.tclass.replace({
      dev: u.dev, parent: '1:1', classid: classidFor(level), kind: 'htb',
      htb: { rateBytesPerSec: share, ceilBytesPerSec: rate, prio: MAX_PRIORITY - level, burstBytes: burst, cburstBytes: burst },
    })
  }
}

export function validateUplink(u: UplinkSpec): void {
  if (typeof u.dev !== 'string' || !u.dev) throw new InvalidArgumentError('uplink', 'needs a device name')
  if (!Number.isFinite(u.rateBitsPerSec) || u.rateBitsPerSec < 1e5) throw new InvalidArgumentError('--rate', `${u.rateBitsPerSec} bit/s is too small for an uplink (at least 100k)`)
}

/** Removes podnet's htb tree from an uplink (the device gets its default qdisc back); gone is fine. */
export async function removeUplink(rt: Rtnl, dev: string): Promise<void> {
  const root = rt.qdisc.findSync({ dev })
  if (root?.kind !== 'htb') return
  await rt.qdisc.del({ dev }).catch((err: unknown) => { if (!(err instanceof NotFoundError)) throw err })
}

/** One level's class on an uplink, with its counters. */
export interface UplinkClass {
  level: number
  classid: string
  rateBitsPerSec: number
  ceilBitsPerSec: number
  bytes: number
  packets: number
  drops: number
}

export interface UplinkState {
  dev: string
  /** The recorded capacity. */
  rateBitsPerSec: number
  /** Whether the htb tree is in place (false after a reboot until the next apply). */
  applied: boolean
  classes: UplinkClass[]
}

/** The recorded uplinks, and what the kernel has on each. */
export function uplinkState(rt: Rtnl, u: UplinkSpec): UplinkState {
  const link = rt.link.findSync(u.dev)
  const root = link ? rt.qdisc.findSync({ dev: u.dev }) : undefined
  const classes = root?.kind === 'htb' ? rt.tclass.listSync({ dev: u.dev }) : []
  const out: UplinkClass[] = []
  for (let level = 0; level <= MAX_PRIORITY; level++) {
    const c = classes.find((x) => x.classid === classidFor(level))
    if (!c?.htb) continue
    out.push({
      level, classid: c.classidText, rateBitsPerSec: c.htb.rateBytesPerSec * 8, ceilBitsPerSec: c.htb.ceilBytesPerSec * 8,
      bytes: c.stats?.bytes ?? 0, packets: c.stats?.packets ?? 0, drops: c.stats?.drops ?? 0,
    })
  }
  return { dev: u.dev, rateBitsPerSec: u.rateBitsPerSec, applied: out.length === MAX_PRIORITY + 1, classes: out }
}

// ---------------------------------------------------------------------------------------------
// the recorded uplinks (<state dir>/qos/uplinks.json)

const uplinksPath = (state: StateDir): string => join(state.root, 'qos', 'uplinks.json')

export function readUplinks(state: StateDir): UplinkSpec[] {
  return state.readJson<{ uplinks: UplinkSpec[] }>(uplinksPath(state))?.uplinks ?? []
}

export function writeUplinks(state: StateDir, uplinks: UplinkSpec[]): void {
  state.writeJson(uplinksPath(state), { uplinks })
}

/** Puts back the htb tree of every recorded uplink that lacks it (after a reboot); returns those it applied. */
export async function ensureUplinks(rt: Rtnl, state: StateDir): Promise<string[]> {
  const done: string[] = []
  for (const u of readUplinks(state)) {
    if (!rt.link.findSync(u.dev)) continue // not there (yet): the next apply will
    if (uplinkState(rt, u).applied) continue
    await applyUplink(rt, u)
    done.push(u.dev)
  }
  return done
}

// ---------------------------------------------------------------------------------------------
// one attachment

/** The keys of an attachment's elements, from its record. */
export function attachmentPriorityElements(a: { network: string; id: string; ifname: string; addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>; priority?: number }): PriorityElement[] {
  return a.priority === undefined ? [] : priorityElements(a, a.addresses, a.priority)
}

/**
 * Marks an attachment's addresses with a level: ensures the table and the recorded uplinks'
 * htb trees, then adds the elements in one batch. Returns the inverse (for an UndoStack).
 */
export async function addAttachmentPriority(
  nft: Nft, rt: Rtnl, state: StateDir, owner: { network: string; id: string; ifname: string },
  addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>, level: number,
): Promise<() => void> {
  const els = priorityElements({ ...owner, owner: state.owner }, addresses, level)
  if (!els.length) return () => undefined
  await ensureQosTable(nft)
  await ensureUplinks(rt, state)
  const tx = nft.transaction()
  queuePriorityElements(tx, els, 'add')
  tx.commitSync()
  return () => removePriorityElements(nft, els)
}

/** Deletes elements by key in one batch; a missing table or element is fine. */
export function removePriorityElements(nft: Nft, els: readonly PriorityElement[]): void {
  if (!els.length) return
  const tx = nft.transaction()
  queuePriorityElements(tx, els, 'destroy')
  try {
    tx.commitSync()
  } catch (err) {
    if ((err as { errnoName?: string }).errnoName !== 'ENOENT') throw err
  }
}

// ---------------------------------------------------------------------------------------------
// uplink configuration (podnet qos uplink add / rm / apply)

/** Anything with the host's rtnetlink handle and the state dir (a NetworkManager). */
export interface QosHost {
  readonly rt: Rtnl
  readonly state: StateDir
}

/** Records an uplink (replacing one of the same device) and puts its htb tree on it. */
export async function addUplink(h: QosHost, u: UplinkSpec): Promise<UplinkState> {
  validateUplink(u)
  h.rt.link.getSync(u.dev) // NotFoundError before anything is recorded
  return h.state.locked(async () => {
    await applyUplink(h.rt, u)
    writeUplinks(h.state, [...readUplinks(h.state).filter((x) => x.dev !== u.dev), { dev: u.dev, rateBitsPerSec: u.rateBitsPerSec }])
    return uplinkState(h.rt, u)
  })
}

/** Forgets an uplink and takes its htb tree off; false when it was not recorded. */
export async function deleteUplink(h: QosHost, dev: string): Promise<boolean> {
  return h.state.locked(async () => {
    const all = readUplinks(h.state)
    if (!all.some((u) => u.dev === dev)) return false
    if (h.rt.link.findSync(dev)) await removeUplink(h.rt, dev)
    writeUplinks(h.state, all.filter((u) => u.dev !== dev))
    return true
  })
}
