/**
 * Conntrack: the connection tracking table of one network namespace over ctnetlink
 * (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK). podnet needs two things from it:
 * listing the flows to a port and deleting them, so that a published UDP port takes effect for
 * clients that kept sending while it did not exist (docs/networks.md).
 *
 *   const ct = Conntrack.open({ netnsFd })
 *   ct.list({ family: 4, protocol: 17, dstPort: 5353 })            // flows whose original direction goes to :5353/udp
 *   ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5353, dst: '10.0.0.1' })
 *   ct.close()
 *
 * A listing is one dump (IPCTNL_MSG_CT_GET + NLM_F_DUMP) with a CTA_FILTER, so the kernel
 * (>= 5.8) returns only the matching entries; the filter is applied here as well, for older
 * kernels that ignore it. A flow is deleted by its original tuple and its CTA_ID
 * (IPCTNL_MSG_CT_DELETE, as `conntrack -D` does; the id spares a newer entry that reuses the
 * tuple). Kernels >= 6.12 could delete by filter in one request, but then the caller could not
 * choose entries by a condition the kernel has no filter for (destination among the host's
 * addresses), nor learn how many went.
 */
import { ipFamily } from '../../net/ip.js'
import { InvalidArgumentError, PodnetError, isErrno } from '../../errors.js'
import { NETLINK_NETFILTER } from '../core/header.js'
import { decodeMessageBody, encodeMessageBody, type AttrValues, type MessageSchema } from '../core/schema.js'
import { NetlinkSocket, type NetlinkRequest, type Transport } from '../core/socket.js'
import type { NetnsArg } from '../../netns/netns.js'
import {
  CTA_FILTER_F_CTA_IP_DST, CTA_FILTER_F_CTA_IP_SRC, CTA_FILTER_F_CTA_PROTO_DST_PORT, CTA_FILTER_F_CTA_PROTO_NUM,
  CTA_FILTER_F_CTA_PROTO_SRC_PORT, IPCTNL_MSG_CT_NEW, NFNL_SUBSYS_CTNETLINK, NFPROTO_IPV4, NFPROTO_IPV6,
} from './constants.js'
import { CT_DELETE, CT_GET } from './schema.js'

/** One direction of a flow. Ports are absent for protocols without them. */
export interface ConntrackTuple {
  src: string
  dst: string
  protocol: number
  srcPort?: number
  dstPort?: number
}

/** A conntrack entry, as the kernel dumps it. */
export interface Flow {
  family: 4 | 6
  /** The direction of the first packet (before NAT). */
  orig: ConntrackTuple
  /** The direction of the replies (after NAT: a DNATed flow's replies come from the pod). */
  reply: ConntrackTuple
  /** IPS_* bits (IPS_DST_NAT 0x20 when DNATed). */
  status: number
  id?: number
  /** Seconds until the entry expires. */
  timeoutSec?: number
  mark?: number
  zone?: number
}

/** Which flows: every field given must match the original direction. */
export interface FlowFilter {
  family: 4 | 6
  /** IP protocol number (6 tcp, 17 udp). */
  protocol?: number
  src?: string
  dst?: string
  srcPort?: number
  dstPort?: number
}

export interface ConntrackOpenOptions {
  /** Open the socket inside this network namespace: a name, a path or an open Netns (it stays bound there). */
  netns?: NetnsArg
  /** Talk to this instead of the kernel (tests: a fake kernel). */
  transport?: Transport
  timeoutMs?: number
}

const ctMsgType = (cmd: number): number => (NFNL_SUBSYS_CTNETLINK << 8) | cmd
const nfproto = (f: 4 | 6): number => (f === 4 ? NFPROTO_IPV4 : NFPROTO_IPV6)

function checkAddr(a: string | undefined, family: 4 | 6, what: string): void {
  if (a !== undefined && ipFamily(a) !== family) throw new InvalidArgumentError(what, `'${a}' is not an IPv${family} address`)
}

function checkPort(p: number | undefined, what: string): void {
  if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 0xffff)) throw new InvalidArgumentError(what, `bad port ${p}`)
}

/** tuple-attrs values of a tuple (only the fields given). */
export function tupleValues(family: 4 | 6, t: Partial<ConntrackTuple>): AttrValues {
  const ip: AttrValues = {}
  if (t.src !== undefined) ip[family === 4 ? 'v4Src' : 'v6Src'] = t.src
  if (t.dst !== undefined) ip[family === 4 ? 'v4Dst' : 'v6Dst'] = t.dst
  const proto: AttrValues = {}
  if (t.protocol !== undefined) proto.num = t.protocol
  if (t.srcPort !== undefined) proto.srcPort = t.srcPort
  if (t.dstPort !== undefined) proto.dstPort = t.dstPort
  const v: AttrValues = {}
  if (Object.keys(ip).length) v.ip = ip
  if (Object.keys(proto).length) v.proto = proto
  return v
}

/** The dump request's attributes: the filter's fields as an original tuple, and CTA_FILTER saying which to compare. */
export function filterValues(f: FlowFilter): AttrValues {
  checkAddr(f.src, f.family, 'src')
  checkAddr(f.dst, f.family, 'dst')
  checkPort(f.srcPort, 'srcPort')
  checkPort(f.dstPort, 'dstPort')
  if ((f.srcPort !== undefined || f.dstPort !== undefined) && f.protocol === undefined) {
    throw new InvalidArgumentError('protocol', 'a port filter needs the protocol (the kernel compares ports only with it)')
  }
  let flags = 0
  if (f.src !== undefined) flags |= CTA_FILTER_F_CTA_IP_SRC
  if (f.dst !== undefined) flags |= CTA_FILTER_F_CTA_IP_DST
  if (f.protocol !== undefined) flags |= CTA_FILTER_F_CTA_PROTO_NUM
  if (f.srcPort !== undefined) flags |= CTA_FILTER_F_CTA_PROTO_SRC_PORT
  if (f.dstPort !== undefined) flags |= CTA_FILTER_F_CTA_PROTO_DST_PORT
  if (!flags) return {}
  return { tupleOrig: tupleValues(f.family, f), filter: { origFlags: flags } }
}

function tupleFrom(family: 4 | 6, v: AttrValues | undefined): ConntrackTuple | undefined {
  const ip = v?.ip as AttrValues | undefined
  const proto = v?.proto as AttrValues | undefined
  const src = ip?.[family === 4 ? 'v4Src' : 'v6Src']
  const dst = ip?.[family === 4 ? 'v4Dst' : 'v6Dst']
  if (typeof src !== 'string' || typeof dst !== 'string' || typeof proto?.num !== 'number') return undefined
  const t: ConntrackTuple = { src, dst, protocol: proto.num }
  if (typeof proto.srcPort === 'number') t.srcPort = proto.srcPort
  if (typeof proto.dstPort === 'number') t.dstPort = proto.dstPort
  return t
}

/** A dumped entry; undefined for a family or shape podnet does not read. */
export function flowFromValues(family: number, v: AttrValues): Flow | undefined {
  const fam = family === NFPROTO_IPV4 ? 4 : family === NFPROTO_IPV6 ? 6 : undefined
  if (!fam) return undefined
  const orig = tupleFrom(fam, v.tupleOrig as AttrValues | undefined)
  const reply = tupleFrom(fam, v.tupleReply as AttrValues | undefined)
  if (!orig || !reply) return undefined
  const flow: Flow = { family: fam, orig, reply, status: typeof v.status === 'number' ? v.status : 0 }
  if (typeof v.id === 'number') flow.id = v.id
  if (typeof v.timeout === 'number') flow.timeoutSec = v.timeout
  if (typeof v.mark === 'number') flow.mark = v.mark
  if (typeof v.zone === 'number') flow.zone = v.zone
  return flow
}

/** True when the flow's original direction matches every field of the filter. */
export function matchesFilter(flow: Flow, f: FlowFilter): boolean {
  const o = flow.orig
  return flow.family === f.family && (f.protocol === undefined || o.protocol === f.protocol) &&
    (f.src === undefined || o.src === f.src) && (f.dst === undefined || o.dst === f.dst) &&
    (f.srcPort === undefined || o.srcPort === f.srcPort) && (f.dstPort === undefined || o.dstPort === f.dstPort)
}

/** The IPCTNL_MSG_CT_DELETE attributes for one flow: its original tuple, zone and id. */
export function deleteValues(flow: Flow): AttrValues {
  const v: AttrValues = { tupleOrig: tupleValues(flow.family, flow.orig) }
  if (flow.zone) v.zone = flow.zone
  if (flow.id !== undefined) v.id = flow.id
  return v
}

const describeFilter = (f: FlowFilter): string =>
  `conntrack IPv${f.family}${f.protocol !== undefined ? ` proto ${f.protocol}` : ''}${f.dst !== undefined ? ` dst ${f.dst}` : ''}${f.dstPort !== undefined ? ` dport ${f.dstPort}` : ''}`

/** A ctnetlink handle inside one network namespace. Equivalent to: `conntrack` (in `ip netns exec`). */
export class Conntrack {
  private readonly sock: NetlinkSocket
  private closed = false

  private constructor(sock: NetlinkSocket) {
    this.sock = sock
  }

  /** Opens a NETLINK_NETFILTER socket (synchronously; inside `netns` when given). */
  static open(opts: ConntrackOpenOptions = {}): Conntrack {
    return new Conntrack(NetlinkSocket.open(NETLINK_NETFILTER, {
      typeName: (t) => `ctnetlink message ${t & 0xff}`,
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      ...(opts.transport !== undefined ? { transport: opts.transport } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    }))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.sock.close()
  }

  /** Flows whose original direction matches the filter. Equivalent to: `conntrack -L -f ipv4 -p udp --orig-port-dst 5353`. */
  list(filter: FlowFilter): Flow[] {
    const attrs = filterValues(filter)
    const flows = this.sock.dumpSync(this.req(CT_GET, filter.family, attrs, describeFilter(filter)), (m) => {
      if (m.type !== ctMsgType(IPCTNL_MSG_CT_NEW)) return undefined
      const { header, attrs: v } = decodeMessageBody(CT_GET, m.buf, m.off, m.end)
      return flowFromValues(Number(header.family), v)
    })
    return flows.filter((f) => matchesFilter(f, filter))
  }

  /**
   * Deletes one flow (by original tuple and id). False when it is already gone.
   * Equivalent to: `conntrack -D -s SRC -d DST -p PROTO --sport S --dport D`.
   */
  delete(flow: Flow): boolean {
    try {
      this.sock.requestSync(this.req(CT_DELETE, flow.family, deleteValues(flow),
        `conntrack ${flow.orig.src}:${flow.orig.srcPort ?? ''} -> ${flow.orig.dst}:${flow.orig.dstPort ?? ''}`))
      return true
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false
      throw err
    }
  }

  /**
   * Deletes the flows that match the filter (and `also`, when given); returns how many went.
   * Equivalent to: `conntrack -D -f ipv4 -p udp --orig-port-dst 5353 [-d DST]`.
   */
  deleteFlows(filter: FlowFilter, also?: (f: Flow) => boolean): number {
    let n = 0
    for (const f of this.list(filter)) if ((!also || also(f)) && this.delete(f)) n++
    return n
  }

  /**
   * Deletes every flow matching the filter in one request, the kernel walking its table
   * (IPCTNL_MSG_CT_DELETE with CTA_FILTER, kernel >= 6.12; older kernels refuse it with
   * EOPNOTSUPP, or flush the whole family when they ignore the filter, so podnet does not
   * use this on them). The kernel does not say how many went.
   * Equivalent to: `conntrack -D -f ipv4 -p udp --orig-port-dst 5353` on a recent kernel.
   */
  flush(filter: FlowFilter): void {
    const attrs = filterValues(filter)
    if (!attrs.filter) throw new InvalidArgumentError('filter', 'a flush needs at least one field to compare (this is not `conntrack -F`)')
    this.sock.requestSync(this.req(CT_DELETE, filter.family, attrs, describeFilter(filter)))
  }

  private req(schema: MessageSchema & { cmd: number }, family: 4 | 6, attrs: AttrValues, object: string): NetlinkRequest {
    if (this.closed) throw new PodnetError('Conntrack handle is closed')
    return {
      type: ctMsgType(schema.cmd),
      flags: 0,
      body: (w) => encodeMessageBody(schema, { family: nfproto(family), version: 0, resId: 0 }, attrs, w),
      schema,
      object,
    }
  }
}
