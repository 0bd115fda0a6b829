/**
 * Bandwidth limits of one attachment, as the CNI bandwidth plugin sets them up and as
 * Kubernetes' kubernetes.io/ingress-bandwidth and egress-bandwidth annotations mean them:
 *
 *   ingress (traffic INTO the pod): a tbf at the root of the host end of the pod's veth. What
 *     the host sends to the pod leaves through that device, so its egress queue shapes it.
 *   egress (traffic OUT of the pod): what the pod sends arrives at the host end as ingress,
 *     where no queue can hold it. An ingress qdisc on the host end with a u32 filter that
 *     matches every packet and a mirred action redirects it to an ifb device; the ifb's root
 *     tbf shapes it, and the ifb hands each packet back to the host end's receive path.
 *
 *   host veth pnXXXXXXXXXX  root tbf 1: (ingress limit)
 *                           ingress ffff: + u32 prio 1 match-all -> mirred egress redirect
 *   ifb pnifbXXXXXXXXXX     root tbf 1: (egress limit)
 *
 * The ifb is named after the host veth (same 10 hex digits, names.ts), so an ifb always says
 * whose it is: detach, CNI DEL and gc delete it by name. The qdiscs and the filter die with the
 * host veth. Everything is done over rtnetlink (no tc process), and `apply` converges: running it
 * again with other limits replaces the tbfs in place (a running pod's new annotations), and
 * without a direction's limit removes that direction's objects.
 *
 * Reboot: qdiscs and ifbs are kernel objects and go; so do the attachment records (run dir,
 * tmpfs), so nothing is left to reconcile. kill -9 during attach: the UndoStack never runs, and
 * an ifb may stay without an attachment record; `network gc` (and CNI GC) deletes every
 * pnifb* device that no live attachment owns.
 */
import { InvalidArgumentError, NotFoundError, ExistsError } from '../errors.js'
import type { Link, Rtnl, TbfSpec } from '../netlink/route/index.js'
import { ifbNameForVeth, isIfbName } from './names.js'
import type { UndoStack } from './undo.js'

/** One direction's limit: bits per second, and the bucket in bits (as the CNI plugin and Kubernetes count). */
export interface RateLimit {
  rateBitsPerSec: number
  /** Default: defaultBurstBits(rate). */
  burstBits?: number
}

export interface BandwidthLimits {
  /** Traffic into the pod. */
  ingress?: RateLimit
  /** Traffic out of the pod. */
  egress?: RateLimit
}

/** Kubernetes' bounds for the bandwidth annotations (pkg/util/bandwidth): 1 kbit/s to 1 Pbit/s. */
export const MIN_RATE_BITS = 1e3
export const MAX_RATE_BITS = 1e15
/** The queue: packets may wait this long before tbf drops them (the CNI plugin's latencyInMillis). */
export const LATENCY_MS = 25
/** Bytes on the wire beyond the MTU that a qdisc counts (the Ethernet header). */
const L2_HEADER = 14

/**
 * The bucket podnet uses when none is given: 10 ms at the rate (tbf(8)'s rule, rate/HZ with
 * HZ=100), at least 64 KiB, so one GSO packet fits and is not split by tbf. The CNI plugin has
 * no default (it requires a burst with every rate); Kubernetes' runtimes pass 2^31-1 bits (256
 * Mbit), which lets a pod send at line rate for seconds (kubernetes#90838), so podnet does not.
 */
export function defaultBurstBits(rateBitsPerSec: number): number {
  return 8 * Math.max(65536, Math.ceil(rateBitsPerSec / 8 / 100))
}

/** Throws InvalidArgumentError naming `field` (e.g. "metadata.annotations[kubernetes.io/egress-bandwidth]"). */
export function validateRateLimit(l: RateLimit, field: string, mtu = 1500, burstField = field): void {
  const r = l.rateBitsPerSec
  if (typeof r !== 'number' || !Number.isFinite(r) || r < MIN_RATE_BITS) throw new InvalidArgumentError(field, `${String(r)} bit/s is unreasonably small (< 1kbit, as Kubernetes)`)
  if (r > MAX_RATE_BITS) throw new InvalidArgumentError(field, `${r} bit/s is unreasonably large (> 1Pbit, as Kubernetes)`)
  if (l.burstBits !== undefined) {
    const b = l.burstBits
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) throw new InvalidArgumentError(burstField, `${String(b)} is not a positive number of bits`)
    if (b / 8 >= 2 ** 32) throw new InvalidArgumentError(burstField, `${b} bits is more than 4 GiB (the kernel's 32-bit field; the CNI plugin refuses it too)`)
    if (b / 8 < mtu + L2_HEADER) throw new InvalidArgumentError(burstField, `${b} bits is smaller than one packet (MTU ${mtu} + ${L2_HEADER} bytes): tbf would drop every full-size packet`)
  }
}

export function validateBandwidth(b: BandwidthLimits, mtu = 1500, fields: { ingress?: string; egress?: string } = {}): void {
  if (b.ingress) validateRateLimit(b.ingress, fields.ingress ?? 'ingress rate', mtu)
  if (b.egress) validateRateLimit(b.egress, fields.egress ?? 'egress rate', mtu)
}

/** The tbf for one direction (bytes, as the kernel counts). */
export function tbfFor(l: RateLimit): TbfSpec {
  const rate = Math.max(1, Math.round(l.rateBitsPerSec / 8))
  const burst = Math.max(1, Math.round((l.burstBits ?? defaultBurstBits(l.rateBitsPerSec)) / 8))
  return { rateBytesPerSec: rate, burstBytes: Math.min(burst, 0xffffffff), latencyMs: LATENCY_MS }
}

/** Where one attachment's shaping lives. */
export interface BandwidthTarget {
  hostVeth: string
  mtu: number
}

/** The redirect filter's preference (the CNI plugin uses 1 as well). */
const FILTER_PRIO = 1

const ignore = (...kinds: Array<new (...a: never[]) => Error>) => (err: unknown): void => {
  if (!kinds.some((k) => err instanceof k)) throw err
}

/**
 * Makes the kernel match `limits` for one attachment: creates, replaces or removes the tbfs,
 * the ingress qdisc with its redirect filter, and the ifb. With `undo`, every object it creates
 * is pushed for rollback (attach). Equivalent to the CNI bandwidth plugin's ADD, or to:
 *   tc qdisc replace dev VETH root handle 1: tbf rate R burst B latency 25ms
 *   ip link add IFB mtu M type ifb; ip link set IFB up
 *   tc qdisc add dev VETH handle ffff: ingress
 *   tc filter add dev VETH parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev IFB
 *   tc qdisc replace dev IFB root handle 1: tbf rate R burst B latency 25ms
 */
export async function applyBandwidth(rt: Rtnl, t: BandwidthTarget, limits: BandwidthLimits | undefined, undo?: UndoStack): Promise<void> {
  if (limits) validateBandwidth(limits, t.mtu)
  const ifb = ifbNameForVeth(t.hostVeth)
  // into the pod: the host end's root
  if (limits?.ingress) {
    await rt.qdisc.replace({ dev: t.hostVeth, kind: 'tbf', handle: '1:', tbf: tbfFor(limits.ingress) })
    undo?.push(`delete the tbf of ${t.hostVeth}`, () => rt.qdisc.del({ dev: t.hostVeth }).catch(ignore(NotFoundError)))
  } else {
    const root = rt.qdisc.findSync({ dev: t.hostVeth })
    if (root?.kind === 'tbf') await rt.qdisc.del({ dev: t.hostVeth }).catch(ignore(NotFoundError))
  }
  // out of the pod: ifb + redirect
  if (limits?.egress) {
    let ifbLink = rt.link.findSync(ifb)
    if (!ifbLink) {
      ifbLink = await rt.link.add({ kind: 'ifb', name: ifb, mtu: t.mtu, up: true })
      undo?.push(`delete ifb ${ifb}`, () => rt.link.del(ifb).catch(ignore(NotFoundError)))
    } else if (!ifbLink.up) {
      await rt.link.set(ifb, { up: true })
    }
    await rt.qdisc.replace({ dev: ifb, kind: 'tbf', handle: '1:', tbf: tbfFor(limits.egress) })
    await rt.qdisc.add({ dev: t.hostVeth, kind: 'ingress' }).catch(ignore(ExistsError))
    const ifbIndex = ifbLink?.index ?? rt.link.getSync(ifb).index
    const filters = rt.filter.listSync({ dev: t.hostVeth, parent: 'ingress' })
    const redirects = filters.some((f) => f.prio === FILTER_PRIO && f.u32?.actions.some((a) => a.mirred?.action === 'redirect' && a.mirred.ifindex === ifbIndex))
    if (!redirects) {
      if (filters.some((f) => f.prio === FILTER_PRIO)) await rt.filter.del({ dev: t.hostVeth, parent: 'ingress', prio: FILTER_PRIO }).catch(ignore(NotFoundError))
      await rt.filter.add({
        dev: t.hostVeth, parent: 'ingress', protocol: 'all', prio: FILTER_PRIO, kind: 'u32',
        u32: { actions: [{ kind: 'mirred', mirred: { action: 'redirect', direction: 'egress', dev: ifb } }] },
      })
    }
    undo?.push(`delete the ingress qdisc of ${t.hostVeth}`, () => rt.qdisc.del({ dev: t.hostVeth, parent: 'ingress' }).catch(ignore(NotFoundError)))
  } else {
    // the ingress qdisc goes first (with its filter), so no packet is redirected to a vanishing ifb
    await rt.qdisc.del({ dev: t.hostVeth, parent: 'ingress' }).catch(ignore(NotFoundError))
    if (rt.link.findSync(ifb)) await rt.link.del(ifb).catch(ignore(NotFoundError))
  }
}

/** The limits the kernel enforces for an attachment, read back (bits, as RateLimit); {} when none. */
export function readBandwidth(rt: Rtnl, hostVeth: string): BandwidthLimits {
  const out: BandwidthLimits = {}
  const root = rt.qdisc.findSync({ dev: hostVeth })
  if (root?.kind === 'tbf' && root.tbf) out.ingress = { rateBitsPerSec: root.tbf.rateBytesPerSec * 8, burstBits: root.tbf.burstBytes * 8 }
  const ifb = ifbNameForVeth(hostVeth)
  const ifbLink = rt.link.findSync(ifb)
  if (ifbLink) {
    const q = rt.qdisc.findSync({ dev: ifb })
    const redirected = rt.filter.listSync({ dev: hostVeth, parent: 'ingress' })
      .some((f) => f.u32?.actions.some((a) => a.mirred?.action === 'redirect' && a.mirred.ifindex === ifbLink.index))
    if (q?.kind === 'tbf' && q.tbf && redirected) out.egress = { rateBitsPerSec: q.tbf.rateBytesPerSec * 8, burstBits: q.tbf.burstBytes * 8 }
  }
  return out
}

/** What differs between recorded limits and the kernel, as problem strings ([] when they agree). */
export function bandwidthDrift(rt: Rtnl, hostVeth: string, want: BandwidthLimits | undefined): string[] {
  const have = readBandwidth(rt, hostVeth)
  const out: string[] = []
  for (const dir of ['ingress', 'egress'] as const) {
    const w = want?.[dir]
    const h = have[dir]
    if (w && !h) out.push(`${dir} limit ${w.rateBitsPerSec} bit/s missing${dir === 'egress' ? ` (ifb ${ifbNameForVeth(hostVeth)}, redirect filter or tbf)` : ' (tbf on the host veth)'}`)
    else if (!w && h) out.push(`${dir} limit ${h.rateBitsPerSec} bit/s present but not recorded`)
    else if (w && h && Math.abs(h.rateBitsPerSec - Math.round(w.rateBitsPerSec / 8) * 8) > 8) out.push(`${dir} rate is ${h.rateBitsPerSec} bit/s, recorded ${w.rateBitsPerSec}`)
  }
  return out
}

/**
 * podnet's ifb devices whose attachment is gone: the host veth it is named after does not exist,
 * or is a port of one of `bridges` (this state dir's networks) that no live attachment owns.
 * An ifb whose veth is on another bridge belongs to another state dir (podnet-cni's, say) and
 * stays. An attach creates the veth before the ifb, so no live ifb is ever without its veth.
 */
export function strayIfbs(rt: Rtnl, ownedVeths: ReadonlySet<string>, bridges: ReadonlySet<number>): Link[] {
  return rt.link.listSync({ kind: 'ifb' }).filter((l) => {
    if (!isIfbName(l.name)) return false
    const veth = `pn${l.name.slice(5)}`
    if (ownedVeths.has(veth)) return false
    const v = rt.link.findSync(veth)
    return !v || (v.master !== undefined && bridges.has(v.master))
  })
}
