/**
 * Interface counters: IFLA_STATS64 (struct rtnl_link_stats64, linux/if_link.h) of the links of
 * a namespace or of one link, read with RTM_GETLINK without RTEXT_FILTER_SKIP_STATS (the link
 * API sets that filter: its callers never need counters). Equivalent to: `ip -s link show`.
 *
 * struct rtnl_link_stats64 is 25 u64 (200 bytes) on this kernel; older kernels send fewer
 * fields (the last ones read as 0), newer ones more (ignored).
 */
import { InvalidArgumentError, isErrno } from '../../errors.js'
import type { MessageSchema } from '../core/schema.js'
import { encodeMessageBody } from '../core/schema.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import * as L from './constants/if-link.js'
import { RTM_GETLINK, RTM_NEWLINK } from './constants/rtnetlink.js'
import { ifinfomsg, linkAttrs } from './schema/link.js'
import { validateIfname } from '../../net/names.js'

/** The counters of struct rtnl_link_stats64, in its order (camelCase of the C names). */
export const LINK_STATS64_FIELDS = [
  'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxErrors', 'txErrors', 'rxDropped', 'txDropped', 'multicast', 'collisions',
  'rxLengthErrors', 'rxOverErrors', 'rxCrcErrors', 'rxFrameErrors', 'rxFifoErrors', 'rxMissedErrors',
  'txAbortedErrors', 'txCarrierErrors', 'txFifoErrors', 'txHeartbeatErrors', 'txWindowErrors',
  'rxCompressed', 'txCompressed', 'rxNohandler', 'rxOtherhostDropped',
] as const

export type LinkStats64 = Record<(typeof LINK_STATS64_FIELDS)[number], number>

/** A link's name and counters. */
export interface LinkCounters {
  index: number
  name: string
  kind?: string
  /** True for the loopback device. */
  loopback: boolean
  stats: LinkStats64
}

const GETLINK: MessageSchema = { name: 'RTM_GETLINK', header: ifinfomsg, attrs: linkAttrs }

/** Decodes struct rtnl_link_stats64 (missing trailing fields are 0). Numbers: exact up to 2^53. */
export function decodeStats64(b: Buffer): LinkStats64 {
  const out = {} as LinkStats64
  LINK_STATS64_FIELDS.forEach((f, i) => { out[f] = b.length >= (i + 1) * 8 ? Number(b.readBigUInt64LE(i * 8)) : 0 })
  return out
}

/** Name, kind and IFLA_STATS64 of an RTM_NEWLINK, walking only the attributes needed. */
export function decodeLinkCounters(m: NlMessage): LinkCounters {
  const buf = m.buf
  const out: LinkCounters = { index: buf.readInt32LE(m.off + 4), name: '', loopback: (buf.readUInt32LE(m.off + 8) & 0x8) !== 0, stats: decodeStats64(Buffer.alloc(0)) }
  let p = m.off + 16
  while (p + 4 <= m.end) {
    const len = buf.readUInt16LE(p)
    if (len < 4 || p + len > m.end) break
    const type = buf.readUInt16LE(p + 2) & 0x3fff
    if (type === L.IFLA_IFNAME) {
      let e = p + len
      while (e > p + 4 && buf[e - 1] === 0) e--
      out.name = buf.toString('utf8', p + 4, e)
    } else if (type === L.IFLA_STATS64) {
      out.stats = decodeStats64(buf.subarray(p + 4, p + len))
    } else if (type === L.IFLA_LINKINFO) {
      for (let q = p + 4; q + 4 <= p + len;) {
        const l2 = buf.readUInt16LE(q)
        if (l2 < 4) break
        if ((buf.readUInt16LE(q + 2) & 0x3fff) === L.IFLA_INFO_KIND) {
          let e = q + l2
          while (e > q + 4 && buf[e - 1] === 0) e--
          out.kind = buf.toString('utf8', q + 4, e)
        }
        q += (l2 + 3) & ~3
      }
    }
    p += (len + 3) & ~3
  }
  return out
}

export class LinkStatsApi {
  private readonly sock: NetlinkSocket

  constructor(sock: NetlinkSocket) {
    this.sock = sock
  }

  /** Every link of the namespace with its counters. Equivalent to: `ip -s link show`. */
  listSync(): LinkCounters[] {
    return this.sock.dumpSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, {}, {}, w), schema: GETLINK, object: 'link counters' },
      (m) => (m.type === RTM_NEWLINK ? decodeLinkCounters(m) : undefined),
    )
  }

  async list(): Promise<LinkCounters[]> {
    return this.listSync()
  }

  /** One link's counters (one RTM_GETLINK, no dump); undefined when absent. Equivalent to: `ip -s link show DEV`. */
  findSync(nameOrIndex: string | number): LinkCounters | undefined {
    if (typeof nameOrIndex === 'string') validateIfname(nameOrIndex)
    else if (!Number.isInteger(nameOrIndex) || nameOrIndex <= 0) throw new InvalidArgumentError('ifindex', `${nameOrIndex} is not an ifindex`)
    const header = typeof nameOrIndex === 'number' ? { index: nameOrIndex } : {}
    const attrs = typeof nameOrIndex === 'string' ? { ifname: nameOrIndex } : {}
    try {
      return this.sock.requestSync(
        { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, header, attrs, w), schema: GETLINK, object: `link '${nameOrIndex}'` },
        (m) => (m.type === RTM_NEWLINK ? decodeLinkCounters(m) : undefined),
      )[0]
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return undefined
      throw err
    }
  }

  async find(nameOrIndex: string | number): Promise<LinkCounters | undefined> {
    return this.findSync(nameOrIndex)
  }

}
