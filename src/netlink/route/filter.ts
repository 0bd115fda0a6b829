/**
 * tc filters (classifiers) with actions: u32 (and matchall, where the kernel has it).
 * FilterSpec → RTM_NEWTFILTER, RTM_NEWTFILTER → Filter. Every method names the equivalent
 * tc(8) command; the bytes of `add` and `del` match tc's (test/fixtures/netlink/tc-filter-*.hex).
 *
 * tcmsg for a filter: handle (0: the kernel picks), parent (the qdisc: "ffff:" for ingress,
 * "1:" ...), info = pref << 16 | htons(ETH_P_*).
 *
 * TCA_U32_SEL is struct tc_u32_sel (16 bytes: flags, offshift, nkeys, pad, offmask be16, off,
 * offoff, hoff, hmask be32) followed by nkeys struct tc_u32_key (mask be32, val be32, off s32,
 * offmask s32). A key compares the 32-bit word at `off` from the network header, masked.
 */
import { ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, isErrno } from '../../errors.js'
import { NLM_F_CREATE, NLM_F_EXCL } from '../core/header.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import { DecodeError } from '../../errors.js'
import { RTM_DELTFILTER, RTM_GETTFILTER, RTM_NEWTFILTER } from './constants/rtnetlink.js'
import { ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 } from './constants/if-ether.js'
import { TC_U32_TERMINAL } from './constants/pkt-cls.js'
import type { LinkApi } from './link.js'
import { tcAttrs, tcmsg } from './schema/tc.js'
import { actionAttrs, decodeAction, type Action, type ActionSpec } from './tc-action.js'
import { formatTcHandle, parseTcHandle } from './tc-handle.js'

/** Compare the 32-bit word at `offset` bytes into the network header, masked, with `value`. */
export interface U32Key {
  value: number
  mask: number
  offset: number
  offmask?: number
}

export interface U32Spec {
  /** Default: one key that matches every packet (tc's `match u32 0 0`). */
  keys?: U32Key[]
  /** Class matching packets go to ("1:10"). */
  classid?: string | number
  actions?: ActionSpec[]
}

export interface MatchallSpec {
  classid?: string | number
  actions?: ActionSpec[]
}

export type FilterProtocol = 'all' | 'ip' | 'ipv6' | number

interface CommonFilterSpec {
  dev: string | number
  /** The qdisc it hangs on: "ffff:" / "ingress" (ingress or clsact ingress), "egress" (clsact), "1:". */
  parent: string | number
  /** Which packets it sees by ethertype (default all). */
  protocol?: FilterProtocol
  /** Preference (tc's prio/pref): lower runs first; default: the kernel picks. */
  prio?: number
}

export type FilterSpec = CommonFilterSpec & ({ kind: 'u32'; u32?: U32Spec } | { kind: 'matchall'; matchall?: MatchallSpec })

export interface FilterRef {
  dev: string | number
  parent: string | number
  prio?: number
  protocol?: FilterProtocol
  kind?: string
}

export interface Filter {
  ifindex: number
  parent: number
  parentText: string
  /** Preference (pref). */
  prio: number
  /** Ethertype, host order (ETH_P_ALL = 3). */
  protocol: number
  kind: string
  handle: number
  handleText: string
  u32?: { keys: U32Key[]; terminal: boolean; classid?: number; divisor?: number; actions: Action[] }
  matchall?: { classid?: number; actions: Action[] }
  attrs: AttrValues
}

export const NEWTFILTER: MessageSchema = { name: 'RTM_NEWTFILTER', header: tcmsg, attrs: tcAttrs }
export const DELTFILTER: MessageSchema = { name: 'RTM_DELTFILTER', header: tcmsg, attrs: tcAttrs }
export const GETTFILTER: MessageSchema = { name: 'RTM_GETTFILTER', header: tcmsg, attrs: tcAttrs }

const htons = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff)

export function protocolNumber(p: FilterProtocol = 'all'): number {
  if (p === 'all') return ETH_P_ALL
  if (p === 'ip') return ETH_P_IP
  if (p === 'ipv6') return ETH_P_IPV6
  if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new InvalidArgumentError('protocol', `${String(p)} is not all, ip, ipv6 or an ethertype`)
  return p
}

/** tcmsg.tcm_info of a filter: pref in the upper 16 bits, the ethertype in network order below. */
export function filterInfo(prio: number, protocol: FilterProtocol = 'all'): number {
  if (!Number.isInteger(prio) || prio < 0 || prio > 0xffff) throw new InvalidArgumentError('prio', `${prio} is not 0-65535`)
  return ((prio << 16) >>> 0 | htons(protocolNumber(protocol))) >>> 0
}

/** struct tc_u32_sel + keys. */
export function encodeU32Sel(keys: U32Key[], terminal: boolean): Buffer {
  if (keys.length > 128) throw new InvalidArgumentError('u32 keys', `${keys.length} keys (at most 128)`)
  const b = Buffer.alloc(16 + 16 * keys.length)
  b.writeUInt8(terminal ? TC_U32_TERMINAL : 0, 0)
  b.writeUInt8(keys.length, 2)
  keys.forEach((k, i) => {
    const o = 16 + 16 * i
    if (!Number.isInteger(k.offset) || k.offset % 4 !== 0) throw new InvalidArgumentError('u32 key offset', `${k.offset} must be a multiple of 4`)
    b.writeUInt32BE(k.mask >>> 0, o)
    b.writeUInt32BE((k.value & k.mask) >>> 0, o + 4)
    b.writeInt32LE(k.offset, o + 8)
    b.writeInt32LE(k.offmask ?? 0, o + 12)
  })
  return b
}

export function decodeU32Sel(b: Buffer): { keys: U32Key[]; terminal: boolean } {
  if (b.length < 16) throw new DecodeError('tc_u32_sel', 'sel', 0, `need 16 bytes, have ${b.length}`)
  const n = b.readUInt8(2)
  if (b.length < 16 + 16 * n) throw new DecodeError('tc_u32_sel', 'keys', 16, `${n} keys need ${16 * n} bytes, have ${b.length - 16}`)
  const keys: U32Key[] = []
  for (let i = 0; i < n; i++) {
    const o = 16 + 16 * i
    keys.push({ mask: b.readUInt32BE(o), value: b.readUInt32BE(o + 4), offset: b.readInt32LE(o + 8), offmask: b.readInt32LE(o + 12) })
  }
  return { keys, terminal: (b.readUInt8(0) & TC_U32_TERMINAL) !== 0 }
}

/** The RTM_NEWTFILTER body. Pure given the device resolver (for mirred targets). */
export function filterRequest(spec: FilterSpec, ifindex: number, resolve: (dev: string | number) => number): { header: StructValues; attrs: AttrValues } {
  const parent = parseTcHandle(spec.parent, 'parent')
  const info = filterInfo(spec.prio ?? 0, spec.protocol)
  const options: AttrValues = {}
  if (spec.kind === 'u32') {
    const u = spec.u32 ?? {}
    const actions = u.actions ?? []
    if (u.classid !== undefined) options.classid = parseTcHandle(u.classid, 'classid')
    if (actions.length) options.act = actions.map((a) => actionAttrs(a, resolve))
    options.sel = encodeU32Sel(u.keys ?? [{ value: 0, mask: 0, offset: 0 }], u.classid !== undefined || actions.length > 0)
  } else if (spec.kind === 'matchall') {
    const m = spec.matchall ?? {}
    if (m.classid !== undefined) options.classid = parseTcHandle(m.classid, 'classid')
    if (m.actions?.length) options.act = m.actions.map((a) => actionAttrs(a, resolve))
  } else {
    throw new InvalidArgumentError('filter kind', `'${String((spec as { kind: unknown }).kind)}' is not supported (u32, matchall)`)
  }
  return { header: { family: 0, ifindex, handle: 0, parent, info }, attrs: { kind: spec.kind, options } }
}

/** The RTM_DELTFILTER body: every filter of (parent, pref, protocol[, kind]) as tc deletes them. */
export function filterRefRequest(ref: FilterRef, ifindex: number): { header: StructValues; attrs: AttrValues } {
  const attrs: AttrValues = {}
  if (ref.kind !== undefined) attrs.kind = ref.kind
  return { header: { family: 0, ifindex, handle: 0, parent: parseTcHandle(ref.parent, 'parent'), info: filterInfo(ref.prio ?? 0, ref.protocol) }, attrs }
}

function formatFilterHandle(kind: string, h: number): string {
  if (kind !== 'u32') return h.toString(16)
  const ht = (h >>> 20) & 0xfff
  const hash = (h >>> 12) & 0xff
  const node = h & 0xfff
  return `${ht.toString(16)}:${hash ? hash.toString(16) : ''}${node ? `:${node.toString(16)}` : ''}`
}

export function decodeFilter(m: NlMessage): Filter {
  const { header, attrs } = decodeMessageBody(NEWTFILTER, m.buf, m.off, m.end)
  const info = Number(header.info) >>> 0
  const parent = Number(header.parent) >>> 0
  const handle = Number(header.handle) >>> 0
  const kind = String(attrs.kind ?? '')
  const f: Filter = {
    ifindex: Number(header.ifindex), parent, parentText: formatTcHandle(parent), prio: info >>> 16, protocol: htons(info & 0xffff),
    kind, handle, handleText: formatFilterHandle(kind, handle), attrs,
  }
  const o = attrs.options
  if (o && !Buffer.isBuffer(o)) {
    const opts = o as AttrValues
    const actions = ((opts.act as AttrValues[] | undefined) ?? []).map(decodeAction)
    if (kind === 'u32') {
      const sel = Buffer.isBuffer(opts.sel) ? decodeU32Sel(opts.sel) : { keys: [], terminal: false }
      f.u32 = { ...sel, actions }
      if (opts.classid !== undefined) f.u32.classid = Number(opts.classid)
      if (opts.divisor !== undefined) f.u32.divisor = Number(opts.divisor)
    } else if (kind === 'matchall') {
      f.matchall = { actions }
      if (opts.classid !== undefined) f.matchall.classid = Number(opts.classid)
    }
  }
  return f
}

export class FilterApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  /**
   * Adds a filter. Equivalent to: `tc filter add dev DEV parent P protocol all prio N u32 match u32 0 0
   * [flowid C] action mirred egress redirect dev IFB`.
   */
  async add(spec: FilterSpec): Promise<void> {
    this.addSync(spec)
  }

  addSync(spec: FilterSpec): void {
    const resolve = (d: string | number): number => this.links.resolveSync(d)
    filterRequest(spec, 0, () => 0) // validate before any lookup
    const { header, attrs } = filterRequest(spec, resolve(spec.dev), resolve)
    const object = `${spec.kind} filter on '${spec.dev}' parent ${formatTcHandle(Number(header.parent))}`
    try {
      this.sock.requestSync({ type: RTM_NEWTFILTER, flags: NLM_F_CREATE | NLM_F_EXCL, body: (w) => encodeMessageBody(NEWTFILTER, header, attrs, w), schema: NEWTFILTER, object })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new ExistsError('filter', `prio ${spec.prio ?? 0} on '${spec.dev}'`, '', { cause: err })
      if (isErrno(err, 'ENOENT') && /classifier not found|qdisc/i.test(extAckMessage(err))) {
        throw new InvalidArgumentError('filter', `${object}: ${extAckMessage(err)}`)
      }
      throw err
    }
  }

  /** Deletes the filters of (parent, prio, protocol); NotFoundError when none. Equivalent to: `tc filter del dev DEV parent P protocol all prio N [KIND]`. */
  async del(ref: FilterRef): Promise<void> {
    this.delSync(ref)
  }

  delSync(ref: FilterRef): void {
    const { header, attrs } = filterRefRequest(ref, this.links.resolveSync(ref.dev))
    try {
      this.sock.requestSync({
        type: RTM_DELTFILTER, flags: 0, body: (w) => encodeMessageBody(DELTFILTER, header, attrs, w), schema: DELTFILTER,
        object: `filter prio ${ref.prio ?? 0} on '${ref.dev}'`,
      })
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EINVAL')) throw new NotFoundError('filter', `prio ${ref.prio ?? 0} parent ${String(ref.parent)} on '${ref.dev}'`, '', { cause: err })
      throw err
    }
  }

  /** The filters under one parent of a device (filtered in the kernel). Equivalent to: `tc filter show dev DEV parent P`. */
  async list(filter: { dev: string | number; parent: string | number }): Promise<Filter[]> {
    return this.listSync(filter)
  }

  listSync(filter: { dev: string | number; parent: string | number }): Filter[] {
    const ifindex = this.links.resolveSync(filter.dev)
    const parent = parseTcHandle(filter.parent, 'parent')
    try {
      return this.sock.dumpSync(
        { type: RTM_GETTFILTER, flags: 0, body: (w) => encodeMessageBody(GETTFILTER, { family: 0, ifindex, handle: 0, parent, info: 0 }, {}, w), schema: GETTFILTER, object: `filters of '${filter.dev}'` },
        (m) => (m.type === RTM_NEWTFILTER ? decodeFilter(m) : undefined),
      ).filter((f) => f.ifindex === ifindex)
    } catch (err) {
      // no such qdisc to hang filters on: no filters
      if (isErrno(err, 'EINVAL') || isErrno(err, 'ENOENT')) return []
      throw err
    }
  }
}

const extAckMessage = (err: unknown): string => (err instanceof NetlinkError ? err.extAck.message ?? '' : '')
