/**
 * Queueing disciplines: tbf, htb, ingress, clsact. QdiscSpec → RTM_NEWQDISC, RTM_NEWQDISC →
 * Qdisc. Every method names the equivalent tc(8) command.
 *
 * Rates are bytes per second (as the kernel has them; tc's "10mbit" is 1,250,000). Requests
 * carry no rate tables: struct tc_ratespec says linklayer ethernet, so the kernel computes
 * transmission times itself (TCA_TBF_RTAB is for kernels before 3.8), and tbf's burst goes in
 * TCA_TBF_BURST as bytes. Apart from the table, podnet's requests are byte-identical to tc's
 * (test/fixtures/netlink/tc-*.hex).
 */
import { ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, isErrno } from '../../errors.js'
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REPLACE } from '../core/header.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import { RTM_DELQDISC, RTM_GETQDISC, RTM_NEWQDISC } from './constants/rtnetlink.js'
import { TC_HTB_PROTOVER } from './constants/pkt-sched.js'
import type { LinkApi } from './link.js'
import { tcAttrs, tcmsg } from './schema/tc.js'
import {
  TC_H_INGRESS, TC_H_ROOT, TC_H_UNSPEC, formatTcHandle, isIngressParent, parseTcHandle, rateOf, ratespec, tcHandle, xmitBytes, xmitTicks,
} from './tc-handle.js'

/** Token bucket: `rateBytesPerSec` sustained, `burstBytes` at once, a queue of `limitBytes` (or `latencyMs` worth of it). */
export interface TbfSpec {
  rateBytesPerSec: number
  /** Bucket size in bytes (tc's burst/buffer). Must hold at least one packet of the device's MTU. */
  burstBytes: number
  /** Bytes that may wait in the queue; default from latencyMs. */
  limitBytes?: number
  /** The longest a packet may wait: limit = rate * latency + burst, as tc computes it (default 25 ms, as the CNI bandwidth plugin). */
  latencyMs?: number
}

export interface HtbQdiscSpec {
  /** Minor id of the class unclassified traffic goes to (0: sent unshaped, "direct"). */
  defaultClass?: number
  /** Divisor for class quantums from rates (tc's r2q, default 10). */
  rate2quantum?: number
}

interface CommonQdiscSpec {
  /** The device: name or ifindex. */
  dev: string | number
  /** "root" (default), a class ("1:10"), or "ingress" for ingress/clsact (implied by their kind). */
  parent?: string | number
  /** "1:" (major only); default: the kernel picks one (ffff: for ingress and clsact). */
  handle?: string | number
}

export type QdiscSpec = CommonQdiscSpec & (
  | { kind: 'tbf'; tbf: TbfSpec }
  | { kind: 'htb'; htb?: HtbQdiscSpec }
  | { kind: 'ingress' }
  | { kind: 'clsact' }
)

/** Counters of a qdisc or class (TCA_STATS2). */
export interface TcStats {
  bytes: number
  packets: number
  drops: number
  overlimits: number
  requeues: number
  qlen: number
  backlog: number
}

/** A qdisc as the kernel reports it. */
export interface Qdisc {
  ifindex: number
  kind: string
  handle: number
  parent: number
  /** tc's spelling: "1:", "ffff:". */
  handleText: string
  /** "root", "ffff:fff1", "1:10". */
  parentText: string
  /** tbf: the parameters back in bytes (burst from the kernel's buffer time). */
  tbf?: { rateBytesPerSec: number; burstBytes: number; limitBytes: number }
  htb?: { defaultClass: number; rate2quantum: number; directPackets: number; directQlen?: number }
  stats?: TcStats
  /** Every decoded attribute (options of kinds without a table stay raw). */
  attrs: AttrValues
}

/** Which qdisc to act on: the one at `parent` ("root" by default, "ingress"), or by `handle`. */
export interface QdiscRef {
  dev: string | number
  parent?: string | number
  handle?: string | number
  /**
   * The kind expected there (the kernel refuses the request with EINVAL when it differs). Given
   * "ingress" or "clsact" as parent, it defaults to that name, as tc sends it.
   */
  kind?: string
}

export const NEWQDISC: MessageSchema = { name: 'RTM_NEWQDISC', header: tcmsg, attrs: tcAttrs }
export const DELQDISC: MessageSchema = { name: 'RTM_DELQDISC', header: tcmsg, attrs: tcAttrs }
export const GETQDISC: MessageSchema = { name: 'RTM_GETQDISC', header: tcmsg, attrs: tcAttrs }

const posInt = (v: number, field: string, max = 2 ** 53): number => {
  if (!Number.isSafeInteger(v) || v <= 0 || v > max) throw new InvalidArgumentError(field, `${v} must be a positive integer${max < 2 ** 53 ? ` up to ${max}` : ''}`)
  return v
}

/** Kernel's `limit` and `burst` fields are u32: at most 4 GiB - 1. */
const U32_MAX = 0xffffffff

/** The tbf options tc sends (minus the rate table): parms, burst, rate64 when the rate needs 64 bits. */
export function tbfOptions(t: TbfSpec): AttrValues {
  const rate = posInt(t.rateBytesPerSec, 'tbf rate')
  const burst = posInt(t.burstBytes, 'tbf burst', U32_MAX)
  let limit: number
  if (t.limitBytes !== undefined) limit = posInt(t.limitBytes, 'tbf limit', U32_MAX)
  else {
    const latencyUs = Math.round((t.latencyMs ?? 25) * 1000)
    if (!(latencyUs > 0)) throw new InvalidArgumentError('tbf latency', `${t.latencyMs} ms must be positive`)
    limit = Math.min(U32_MAX, Math.floor((rate * latencyUs) / 1e6 + burst))
  }
  const parms: StructValues = { ...ratespec('rate', rate), limit, buffer: xmitTicks(rate, burst), mtu: 0 }
  const opts: AttrValues = { parms, burst }
  if (rate > U32_MAX) opts.rate64 = BigInt(rate)
  return opts
}

/** The htb qdisc options tc sends: TCA_HTB_INIT. */
export function htbQdiscOptions(h: HtbQdiscSpec = {}): AttrValues {
  const defcls = h.defaultClass ?? 0
  if (!Number.isInteger(defcls) || defcls < 0 || defcls > 0xffff) throw new InvalidArgumentError('htb default', `${defcls} is not a class minor id (0-ffff)`)
  return { init: { version: TC_HTB_PROTOVER, rate2quantum: h.rate2quantum ?? 10, defcls, debug: 0, directPkts: 0 } }
}

/**
 * The RTM_NEWQDISC body for `spec` on device `ifindex`. Pure; the bytes match tc's without its
 * rate table (see the module comment).
 */
export function qdiscRequest(spec: QdiscSpec, ifindex: number): { header: StructValues; attrs: AttrValues } {
  const ingressLike = spec.kind === 'ingress' || spec.kind === 'clsact'
  const parent = ingressLike ? TC_H_INGRESS : parseTcHandle(spec.parent ?? 'root', 'parent')
  let handle = spec.handle === undefined ? (ingressLike ? tcHandle(0xffff, 0) : TC_H_UNSPEC) : parseTcHandle(spec.handle, 'handle')
  if (handle & 0xffff) throw new InvalidArgumentError('handle', `a qdisc handle has no minor part ("${formatTcHandle(handle)}"): use "${(handle >>> 16).toString(16)}:"`)
  if (ingressLike && handle !== tcHandle(0xffff, 0)) throw new InvalidArgumentError('handle', `an ${spec.kind} qdisc's handle is ffff:`)
  handle >>>= 0
  const attrs: AttrValues = { kind: spec.kind }
  if (spec.kind === 'tbf') attrs.options = tbfOptions(spec.tbf)
  else if (spec.kind === 'htb') attrs.options = htbQdiscOptions(spec.htb)
  return { header: { family: 0, ifindex, handle, parent, info: 0 }, attrs }
}

/** The RTM_DELQDISC / RTM_GETQDISC body for `ref`: tc's (handle, parent[, kind]). */
export function qdiscRefRequest(ref: QdiscRef, ifindex: number): { header: StructValues; attrs: AttrValues } {
  const parent = ref.parent === undefined ? (ref.handle === undefined ? TC_H_ROOT : TC_H_UNSPEC) : parseTcHandle(ref.parent, 'parent')
  const handle = ref.handle !== undefined ? parseTcHandle(ref.handle, 'handle') : isIngressParent(parent) ? tcHandle(0xffff, 0) : TC_H_UNSPEC
  const attrs: AttrValues = {}
  // tc names the kind for `del ingress` / `del clsact`; the kernel refuses a kind that differs (EINVAL)
  const kind = ref.kind ?? (ref.parent === 'ingress' || ref.parent === 'clsact' ? ref.parent : undefined)
  if (kind !== undefined) attrs.kind = kind
  return { header: { family: 0, ifindex, handle, parent, info: 0 }, attrs }
}

export function decodeStats(attrs: AttrValues): TcStats | undefined {
  const s2 = attrs.stats2 as AttrValues | undefined
  if (!s2) return undefined
  const b = s2.basic as StructValues | undefined
  const q = s2.queue as StructValues | undefined
  return {
    bytes: Number(b?.bytes ?? 0n),
    packets: s2.pkt64 !== undefined ? Number(s2.pkt64) : Number(b?.packets ?? 0),
    drops: Number(q?.drops ?? 0), overlimits: Number(q?.overlimits ?? 0), requeues: Number(q?.requeues ?? 0),
    qlen: Number(q?.qlen ?? 0), backlog: Number(q?.backlog ?? 0),
  }
}

export function decodeQdisc(m: NlMessage): Qdisc {
  const { header, attrs } = decodeMessageBody(NEWQDISC, m.buf, m.off, m.end)
  const handle = Number(header.handle) >>> 0
  const parent = Number(header.parent) >>> 0
  const q: Qdisc = {
    ifindex: Number(header.ifindex), kind: String(attrs.kind ?? ''), handle, parent,
    handleText: formatTcHandle(handle), parentText: formatTcHandle(parent), attrs,
  }
  const opts = attrs.options
  if (opts && !Buffer.isBuffer(opts)) {
    const o = opts as AttrValues
    const parms = o.parms as StructValues | undefined
    if (q.kind === 'tbf' && parms) {
      const rate = rateOf(parms.rate, o.rate64)
      q.tbf = { rateBytesPerSec: rate, burstBytes: xmitBytes(rate, Number(parms.buffer)), limitBytes: Number(parms.limit) }
    }
    const init = o.init as StructValues | undefined
    if (q.kind === 'htb' && init) {
      q.htb = { defaultClass: Number(init.defcls), rate2quantum: Number(init.rate2quantum), directPackets: Number(init.directPkts) }
      if (o.directQlen !== undefined) q.htb.directQlen = Number(o.directQlen)
    }
  }
  const stats = decodeStats(attrs)
  if (stats) q.stats = stats
  return q
}

export class QdiscApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  private describe(spec: { kind?: string; dev: string | number; parent?: string | number; handle?: string | number }): string {
    const at = spec.kind === 'ingress' || spec.kind === 'clsact' ? '' : ` ${spec.parent === undefined && spec.handle === undefined ? 'root' : spec.parent ?? `handle ${spec.handle}`}`
    return `qdisc ${spec.kind ?? ''}${at} on '${spec.dev}'`.replace('qdisc  ', 'qdisc ')
  }

  /**
   * Adds a qdisc; ExistsError when one is already at that place (the device's default qdisc
   * does not count). Equivalent to: `tc qdisc add dev DEV [root|parent P|ingress|clsact] [handle H] KIND ...`.
   */
  async add(spec: QdiscSpec): Promise<void> {
    this.addSync(spec)
  }

  addSync(spec: QdiscSpec): void {
    this.send(spec, NLM_F_CREATE | NLM_F_EXCL)
  }

  /** Adds or replaces the qdisc at that place. Equivalent to: `tc qdisc replace dev DEV ... KIND ...`. */
  async replace(spec: QdiscSpec): Promise<void> {
    this.replaceSync(spec)
  }

  replaceSync(spec: QdiscSpec): void {
    this.send(spec, NLM_F_CREATE | NLM_F_REPLACE)
  }

  private send(spec: QdiscSpec, flags: number): void {
    qdiscRequest(spec, 0) // validate before any lookup
    const { header, attrs } = qdiscRequest(spec, this.links.resolveSync(spec.dev))
    const object = this.describe(spec)
    try {
      this.sock.requestSync({ type: RTM_NEWQDISC, flags, body: (w) => encodeMessageBody(NEWQDISC, header, attrs, w), schema: NEWQDISC, object })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new ExistsError('qdisc', `${spec.kind} on '${spec.dev}'`, '', { cause: err })
      if (isErrno(err, 'ENOENT') && /unknown/i.test(extAckMessage(err))) {
        throw new InvalidArgumentError('qdisc kind', `this kernel has no '${spec.kind}' qdisc`)
      }
      throw err
    }
  }

  /**
   * Deletes the qdisc at `parent` (default root) or with `handle`; NotFoundError when there is
   * none (a device's default qdisc cannot be deleted and counts as none).
   * Equivalent to: `tc qdisc del dev DEV [root|ingress|clsact|parent P|handle H]`.
   */
  async del(ref: QdiscRef): Promise<void> {
    this.delSync(ref)
  }

  delSync(ref: QdiscRef): void {
    qdiscRefRequest(ref, 0)
    const { header, attrs } = qdiscRefRequest(ref, this.links.resolveSync(ref.dev))
    try {
      this.sock.requestSync({ type: RTM_DELQDISC, flags: 0, body: (w) => encodeMessageBody(DELQDISC, header, attrs, w), schema: DELQDISC, object: this.describe(ref) })
    } catch (err) {
      // ENOENT: nothing there; EINVAL "handle of zero": the default qdisc (noqueue, pfifo_fast) is at root;
      // EINVAL "Invalid handle": the ingress queue outlives its qdisc and holds noop (handle 0) instead
      if (isErrno(err, 'ENOENT') || (isErrno(err, 'EINVAL') && /handle of zero|invalid handle/i.test(extAckMessage(err)))) {
        throw new NotFoundError('qdisc', `${ref.kind ?? formatTcHandle(Number(header.parent))} on '${ref.dev}'`, '', { cause: err })
      }
      throw err
    }
  }

  /** The qdisc at `parent` (default root) or with `handle`; undefined when none. One RTM_GETQDISC, no dump. */
  async find(ref: QdiscRef): Promise<Qdisc | undefined> {
    return this.findSync(ref)
  }

  findSync(ref: QdiscRef): Qdisc | undefined {
    const { header } = qdiscRefRequest(ref, this.links.resolveSync(ref.dev))
    try {
      // On this kernel (6.18) a non-dump RTM_GETQDISC is answered only with NLM_F_ECHO: without
      // it the kernel sends the ACK and no qdisc.
      const r = this.sock.requestSync(
        { type: RTM_GETQDISC, flags: NLM_F_ECHO, body: (w) => encodeMessageBody(GETQDISC, header, {}, w), schema: GETQDISC, object: this.describe(ref) },
        (m) => (m.type === RTM_NEWQDISC ? decodeQdisc(m) : undefined),
      )
      return r[0]
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EINVAL')) return undefined
      throw err
    }
  }

  /**
   * The qdiscs of a device, or of every device. The kernel does not filter qdisc dumps by device
   * (tc filters them itself too), so this reads every qdisc of the namespace: use find() for one.
   * Equivalent to: `tc qdisc show [dev DEV]`.
   */
  async list(filter: { dev?: string | number } = {}): Promise<Qdisc[]> {
    return this.listSync(filter)
  }

  listSync(filter: { dev?: string | number } = {}): Qdisc[] {
    const ifindex = filter.dev === undefined ? undefined : this.links.resolveSync(filter.dev)
    const all = this.sock.dumpSync(
      { type: RTM_GETQDISC, flags: 0, body: (w) => encodeMessageBody(GETQDISC, { family: 0, ifindex: ifindex ?? 0 }, {}, w), schema: GETQDISC, object: 'qdiscs' },
      (m) => (m.type === RTM_NEWQDISC ? decodeQdisc(m) : undefined),
    )
    return ifindex === undefined ? all : all.filter((q) => q.ifindex === ifindex)
  }
}

const extAckMessage = (err: unknown): string => (err instanceof NetlinkError ? err.extAck.message ?? '' : '')
