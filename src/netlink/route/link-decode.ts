/**
 * RTM_NEWLINK -> Link: the fast one-pass decode of the fields podnet reads, everything else
 * decoded lazily through the table (schema/link.ts), and iproute2's flag names.
 */
import { DecodeError } from '../../errors.js'
import { formatMac } from '../../net/mac.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody } from '../core/schema.js'
import type { NlMessage } from '../core/socket.js'
import * as IF from './constants/if.js'
import * as L from './constants/if-link.js'
import type { Link, MacvlanMode } from './link-types.js'
import { ifinfomsg, linkAttrs } from './schema/link.js'

export const NEWLINK: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
export const GETLINK: MessageSchema = { name: 'RTM_GETLINK', header: ifinfomsg, attrs: linkAttrs }
export const DELLINK: MessageSchema = { name: 'RTM_DELLINK', header: ifinfomsg, attrs: linkAttrs }

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP']
export const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: L.MACVLAN_MODE_PRIVATE, vepa: L.MACVLAN_MODE_VEPA, bridge: L.MACVLAN_MODE_BRIDGE,
  passthru: L.MACVLAN_MODE_PASSTHRU, source: L.MACVLAN_MODE_SOURCE,
}

/**
 * Decodes an RTM_NEWLINK message into a Link. The fields of Link are read in one pass over the
 * top-level attributes; `attrs`, `data` and `slaveData` (everything else, a link carries about
 * a hundred attributes) are decoded from the message bytes only when first read. The message
 * buffer must outlive the Link (the socket hands out per-datagram copies).
 */
export function decodeLink(m: NlMessage): Link {
  const buf = m.buf
  if (m.end - m.off < ifinfomsg.size) {
    const { header, attrs } = decodeMessageBody(NEWLINK, buf, m.off, m.end) // throws the DecodeError
    return linkFromValues(header, attrs)
  }
  const flags = buf.readUInt32LE(m.off + 8)
  const link = {
    index: buf.readInt32LE(m.off + 4),
    name: '',
    type: buf.readUInt16LE(m.off + 2),
    flags,
    up: (flags & IF.IFF_UP) !== 0,
    operstate: 'UNKNOWN',
  } as Link
  let dataAt: [number, number] | undefined
  let slaveDataAt: [number, number] | undefined
  let p = m.off + 16
  const end = m.end
  while (p + 4 <= end) {
    const len = buf.readUInt16LE(p)
    if (len < 4 || p + len > end) {
      // malformed: the table decode names the attribute and offset (a DecodeError, as on every path)
      decodeMessageBody(NEWLINK, buf, m.off, m.end)
      throw new DecodeError(NEWLINK.attrs.name, '', p - m.off, `attribute length ${len} does not fit the message`)
    }
    const type = buf.readUInt16LE(p + 2) & 0x3fff
    const d = p + 4
    const n = len - 4
    switch (type) {
      case L.IFLA_IFNAME: link.name = cstr(buf, d, n); break
      case L.IFLA_MTU: if (n >= 4) link.mtu = buf.readUInt32LE(d); break
      case L.IFLA_ADDRESS: link.address = formatMac(buf.subarray(d, d + n)); break
      case L.IFLA_BROADCAST: link.broadcast = formatMac(buf.subarray(d, d + n)); break
      case L.IFLA_MASTER: if (n >= 4) link.master = buf.readUInt32LE(d); break
      case L.IFLA_TXQLEN: if (n >= 4) link.txqlen = buf.readUInt32LE(d); break
      case L.IFLA_IFALIAS: link.alias = cstr(buf, d, n); break
      case L.IFLA_OPERSTATE: if (n >= 1) link.operstate = OPERSTATES[buf[d]!] ?? 'UNKNOWN'; break
      case L.IFLA_LINKMODE: if (n >= 1) link.linkmode = buf[d]!; break
      case L.IFLA_QDISC: link.qdisc = cstr(buf, d, n); break
      case L.IFLA_GROUP: if (n >= 4) link.group = buf.readUInt32LE(d); break
      case L.IFLA_LINK: if (n >= 4) link.link = buf.readUInt32LE(d); break
      case L.IFLA_LINK_NETNSID: if (n >= 4) link.linkNetnsid = buf.readInt32LE(d); break
      case L.IFLA_PROP_LIST: {
        const names: string[] = []
        for (let q = d; q + 4 <= d + n;) {
          const l2 = buf.readUInt16LE(q)
          if (l2 < 4) break
          if ((buf.readUInt16LE(q + 2) & 0x3fff) === L.IFLA_ALT_IFNAME) names.push(cstr(buf, q + 4, l2 - 4))
          q += (l2 + 3) & ~3
        }
        if (names.length) link.altnames = names
        break
      }
      case L.IFLA_LINKINFO:
        for (let q = d; q + 4 <= d + n;) {
          const l2 = buf.readUInt16LE(q)
          if (l2 < 4 || q + l2 > d + n) break
          const t2 = buf.readUInt16LE(q + 2) & 0x3fff
          if (t2 === L.IFLA_INFO_KIND) link.kind = cstr(buf, q + 4, l2 - 4)
          else if (t2 === L.IFLA_INFO_SLAVE_KIND) link.slaveKind = cstr(buf, q + 4, l2 - 4)
          else if (t2 === L.IFLA_INFO_DATA) dataAt = [q + 4, q + l2]
          else if (t2 === L.IFLA_INFO_SLAVE_DATA) slaveDataAt = [q + 4, q + l2]
          q += (l2 + 3) & ~3
        }
        break
    }
    p += (len + 3) & ~3
  }
  let full: AttrValues | undefined
  const all = (): AttrValues => (full ??= decodeMessageBody(NEWLINK, buf, m.off, m.end).attrs)
  const lazy = (key: 'attrs' | 'data' | 'slaveData', get: () => unknown): void => {
    Object.defineProperty(link, key, {
      enumerable: true, configurable: true,
      get() { const v = get(); Object.defineProperty(link, key, { value: v, enumerable: true, writable: true, configurable: true }); return v },
    })
  }
  lazy('attrs', all)
  const infoPart = (k: 'data' | 'slaveData'): AttrValues | undefined => {
    const v = (all().linkinfo as AttrValues | undefined)?.[k]
    return v && !Buffer.isBuffer(v) ? (v as AttrValues) : undefined
  }
  if (dataAt) lazy('data', () => infoPart('data'))
  if (slaveDataAt) lazy('slaveData', () => infoPart('slaveData'))
  return link
}

/** A NUL-terminated (or not) string attribute. */
function cstr(buf: Buffer, off: number, len: number): string {
  let e = off + len
  while (e > off && buf[e - 1] === 0) e--
  return buf.toString('utf8', off, e)
}

/** A Link from already decoded values (message header and attributes). */
export function linkFromValues(header: StructValues, attrs: AttrValues): Link {
  const flags = Number(header.flags)
  const info = attrs.linkinfo as AttrValues | undefined
  const link: Link = {
    index: Number(header.index),
    name: String(attrs.ifname ?? ''),
    type: Number(header.type),
    flags,
    up: (flags & IF.IFF_UP) !== 0,
    operstate: OPERSTATES[Number(attrs.operstate ?? 0)] ?? 'UNKNOWN',
    attrs,
  }
  const set = <K extends keyof Link>(k: K, v: Link[K] | undefined): void => { if (v !== undefined) link[k] = v }
  set('kind', info?.kind as string | undefined)
  set('mtu', attrs.mtu as number | undefined)
  set('address', attrs.address as string | undefined)
  set('broadcast', attrs.broadcast as string | undefined)
  set('master', attrs.master as number | undefined)
  set('txqlen', attrs.txqlen as number | undefined)
  set('alias', attrs.ifalias as string | undefined)
  set('qdisc', attrs.qdisc as string | undefined)
  set('group', attrs.group as number | undefined)
  set('linkmode', attrs.linkmode as number | undefined)
  set('link', attrs.link as number | undefined)
  set('linkNetnsid', attrs.linkNetnsid as number | undefined)
  set('slaveKind', info?.slaveKind as string | undefined)
  if (info?.data && !Buffer.isBuffer(info.data)) link.data = info.data as AttrValues
  if (info?.slaveData && !Buffer.isBuffer(info.slaveData)) link.slaveData = info.slaveData as AttrValues
  const alt = (attrs.propList as AttrValues | undefined)?.altIfname as string[] | undefined
  if (alt?.length) link.altnames = alt
  return link
}

/** IFF_* flags in the order iproute2 prints them. */
const FLAG_ORDER: ReadonlyArray<readonly [number, string]> = [
  [IF.IFF_LOOPBACK, 'LOOPBACK'], [IF.IFF_BROADCAST, 'BROADCAST'], [IF.IFF_POINTOPOINT, 'POINTOPOINT'],
  [IF.IFF_MULTICAST, 'MULTICAST'], [IF.IFF_NOARP, 'NOARP'], [IF.IFF_ALLMULTI, 'ALLMULTI'],
  [IF.IFF_PROMISC, 'PROMISC'], [IF.IFF_MASTER, 'MASTER'], [IF.IFF_SLAVE, 'SLAVE'], [IF.IFF_DEBUG, 'DEBUG'],
  [IF.IFF_DYNAMIC, 'DYNAMIC'], [IF.IFF_AUTOMEDIA, 'AUTOMEDIA'], [IF.IFF_PORTSEL, 'PORTSEL'],
  [IF.IFF_NOTRAILERS, 'NOTRAILERS'], [IF.IFF_UP, 'UP'], [IF.IFF_LOWER_UP, 'LOWER_UP'], [IF.IFF_DORMANT, 'DORMANT'],
  [IF.IFF_ECHO, 'ECHO'],
]

/** Names of the IFF_* flags set, in iproute2's order and spelling. */
export function linkFlagNames(flags: number): string[] {
  const names: string[] = []
  if (flags & IF.IFF_UP && !(flags & IF.IFF_RUNNING)) names.push('NO-CARRIER')
  for (const [bit, name] of FLAG_ORDER) if (flags & bit) names.push(name)
  return names
}
