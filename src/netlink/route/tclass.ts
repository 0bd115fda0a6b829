/**
 * Traffic classes of classful qdiscs (htb). ClassSpec → RTM_NEWTCLASS, RTM_NEWTCLASS → TcClass.
 * Every method names the equivalent tc(8) command. Rates are bytes per second; no rate tables
 * are sent (see qdisc.ts).
 */
import { ExistsError, InvalidArgumentError, NotFoundError, isErrno } from '../../errors.js'
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../core/header.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import { RTM_DELTCLASS, RTM_GETTCLASS, RTM_NEWTCLASS } from './constants/rtnetlink.js'
import { TC_HTB_NUMPRIO } from './constants/pkt-sched.js'
import type { LinkApi } from './link.js'
import { decodeStats, type TcStats } from './qdisc.js'
import { tcAttrs, tcmsg } from './schema/tc.js'
import { formatTcHandle, parseTcHandle, rateOf, ratespec, xmitBytes, xmitTicks } from './tc-handle.js'

export interface HtbClassSpec {
  /** Guaranteed rate, bytes/s. */
  rateBytesPerSec: number
  /** Most it may borrow up to, bytes/s (default: rate). */
  ceilBytesPerSec?: number
  /** Bytes it may send at once at ceil speed (default as tc: 1600 + rate / 1e9, the MTU plus rate/HZ with the HZ high-resolution kernels report). */
  burstBytes?: number
  cburstBytes?: number
  /** 0 (served first when borrowing) to 7. */
  prio?: number
  /** Bytes served per round among classes of one priority (default: the kernel's, from rate / r2q). */
  quantum?: number
}

export interface ClassSpec {
  dev: string | number
  /** The parent: the qdisc ("1:") or a class ("1:1"). */
  parent: string | number
  /** This class: "1:10". */
  classid: string | number
  kind: 'htb'
  htb: HtbClassSpec
}

export interface TcClass {
  ifindex: number
  kind: string
  classid: number
  parent: number
  classidText: string
  parentText: string
  htb?: { rateBytesPerSec: number; ceilBytesPerSec: number; burstBytes: number; cburstBytes: number; prio: number; quantum: number; level: number }
  stats?: TcStats
  attrs: AttrValues
}

export const NEWTCLASS: MessageSchema = { name: 'RTM_NEWTCLASS', header: tcmsg, attrs: tcAttrs }
export const DELTCLASS: MessageSchema = { name: 'RTM_DELTCLASS', header: tcmsg, attrs: tcAttrs }
export const GETTCLASS: MessageSchema = { name: 'RTM_GETTCLASS', header: tcmsg, attrs: tcAttrs }

/** tc's default htb burst: MTU 1600 plus rate/HZ, with the HZ /proc/net/psched reports (1e9 on this kernel). */
export const htbDefaultBurst = (rateBytesPerSec: number): number => 1600 + Math.floor(rateBytesPerSec / 1e9)

/** The htb class options tc sends (minus its two rate tables): rate64/ceil64 when needed, then parms. */
export function htbClassOptions(h: HtbClassSpec): AttrValues {
  const rate = h.rateBytesPerSec
  const ceil = h.ceilBytesPerSec ?? rate
  for (const [f, v] of [['htb rate', rate], ['htb ceil', ceil]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidArgumentError(f, `${v} must be a positive integer (bytes per second)`)
  }
  if (ceil < rate) throw new InvalidArgumentError('htb ceil', `${ceil} is below the rate ${rate}`)
  const prio = h.prio ?? 0
  if (!Number.isInteger(prio) || prio < 0 || prio >= TC_HTB_NUMPRIO) throw new InvalidArgumentError('htb prio', `${prio} is not 0-${TC_HTB_NUMPRIO - 1}`)
  const burst = h.burstBytes ?? htbDefaultBurst(rate)
  const cburst = h.cburstBytes ?? htbDefaultBurst(ceil)
  const opts: AttrValues = {}
  if (rate > 0xffffffff) opts.rate64 = BigInt(rate)
  if (ceil > 0xffffffff) opts.ceil64 = BigInt(ceil)
  opts.parms = {
    ...ratespec('rate', rate), ...ratespec('ceil', ceil),
    buffer: xmitTicks(rate, burst), cbuffer: xmitTicks(ceil, cburst), quantum: h.quantum ?? 0, level: 0, prio,
  }
  return opts
}

/** The RTM_NEWTCLASS body. Pure. */
export function classRequest(spec: ClassSpec, ifindex: number): { header: StructValues; attrs: AttrValues } {
  const classid = parseTcHandle(spec.classid, 'classid')
  const parent = parseTcHandle(spec.parent, 'parent')
  if (!(classid & 0xffff)) throw new InvalidArgumentError('classid', `'${spec.classid}' has no minor id (a class is MAJOR:MINOR, e.g. "1:10")`)
  if (spec.kind !== 'htb') throw new InvalidArgumentError('class kind', `'${String(spec.kind)}' is not supported (htb)`)
  return { header: { family: 0, ifindex, handle: classid, parent, info: 0 }, attrs: { kind: 'htb', options: htbClassOptions(spec.htb) } }
}

export function decodeClass(m: NlMessage): TcClass {
  const { header, attrs } = decodeMessageBody(NEWTCLASS, m.buf, m.off, m.end)
  const classid = Number(header.handle) >>> 0
  const parent = Number(header.parent) >>> 0
  const c: TcClass = {
    ifindex: Number(header.ifindex), kind: String(attrs.kind ?? ''), classid, parent,
    classidText: formatTcHandle(classid), parentText: formatTcHandle(parent), attrs,
  }
  const o = attrs.options
  if (c.kind === 'htb' && o && !Buffer.isBuffer(o)) {
    const opts = o as AttrValues
    const p = opts.parms as StructValues | undefined
    if (p) {
      const rate = rateOf(p.rate, opts.rate64)
      const ceil = rateOf(p.ceil, opts.ceil64)
      c.htb = {
        rateBytesPerSec: rate, ceilBytesPerSec: ceil, burstBytes: xmitBytes(rate, Number(p.buffer)), cburstBytes: xmitBytes(ceil, Number(p.cbuffer)),
        prio: Number(p.prio), quantum: Number(p.quantum), level: Number(p.level),
      }
    }
  }
  const stats = decodeStats(attrs)
  if (stats) c.stats = stats
  return c
}

export class ClassApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  /** Equivalent to: `tc class add dev DEV parent P classid C htb rate R [ceil C] [burst B] [prio N]`. */
  async add(spec: ClassSpec): Promise<void> {
    this.send(spec, NLM_F_CREATE | NLM_F_EXCL)
  }

  addSync(spec: ClassSpec): void {
    this.send(spec, NLM_F_CREATE | NLM_F_EXCL)
  }

  /** Equivalent to: `tc class replace dev DEV parent P classid C htb ...`. */
  async replace(spec: ClassSpec): Promise<void> {
    this.send(spec, NLM_F_CREATE | NLM_F_REPLACE)
  }

  replaceSync(spec: ClassSpec): void {
    this.send(spec, NLM_F_CREATE | NLM_F_REPLACE)
  }

  private send(spec: ClassSpec, flags: number): void {
    classRequest(spec, 0)
    const { header, attrs } = classRequest(spec, this.links.resolveSync(spec.dev))
    const object = `class ${formatTcHandle(Number(header.handle))} on '${spec.dev}'`
    try {
      this.sock.requestSync({ type: RTM_NEWTCLASS, flags, body: (w) => encodeMessageBody(NEWTCLASS, header, attrs, w), schema: NEWTCLASS, object })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new ExistsError('class', `${formatTcHandle(Number(header.handle))} on '${spec.dev}'`, '', { cause: err })
      throw err
    }
  }

  /** NotFoundError when absent. Equivalent to: `tc class del dev DEV classid C`. */
  async del(ref: { dev: string | number; classid: string | number }): Promise<void> {
    this.delSync(ref)
  }

  delSync(ref: { dev: string | number; classid: string | number }): void {
    const classid = parseTcHandle(ref.classid, 'classid')
    const ifindex = this.links.resolveSync(ref.dev)
    try {
      this.sock.requestSync({
        type: RTM_DELTCLASS, flags: 0,
        body: (w) => encodeMessageBody(DELTCLASS, { family: 0, ifindex, handle: classid, parent: 0, info: 0 }, {}, w),
        schema: DELTCLASS, object: `class ${formatTcHandle(classid)} on '${ref.dev}'`,
      })
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError('class', `${formatTcHandle(classid)} on '${ref.dev}'`, '', { cause: err })
      throw err
    }
  }

  /**
   * The classes of a device (the kernel filters the dump by device): all, those of qdisc "1:", or
   * the children of class "1:1". Equivalent to: `tc class show dev DEV [parent P]`.
   */
  async list(filter: { dev: string | number; parent?: string | number }): Promise<TcClass[]> {
    return this.listSync(filter)
  }

  listSync(filter: { dev: string | number; parent?: string | number }): TcClass[] {
    const ifindex = this.links.resolveSync(filter.dev)
    const parent = filter.parent === undefined ? 0 : parseTcHandle(filter.parent, 'parent')
    const all = this.sock.dumpSync(
      { type: RTM_GETTCLASS, flags: 0, body: (w) => encodeMessageBody(GETTCLASS, { family: 0, ifindex, handle: 0, parent, info: 0 }, {}, w), schema: GETTCLASS, object: `classes of '${filter.dev}'` },
      (m) => (m.type === RTM_NEWTCLASS ? decodeClass(m) : undefined),
    )
    // a qdisc parent ("1:") means all its classes (the kernel's filter); a class parent ("1:1") its children
    const mine = (c: TcClass): boolean => parent === 0 || ((parent & 0xffff) ? c.parent === parent : (c.classid >>> 16) === parent >>> 16)
    return all.filter((c) => c.ifindex === ifindex && mine(c))
  }
}
