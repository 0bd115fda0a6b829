/**
 * RTM_NEWLINK -> Link: the fast one-pass decode of the fields podnet reads, everything else
 * decoded lazily through the table (schema/link.ts), and iproute2's flag names.
 */
import { DecodeError } from '../../errors.js'
import { formatMacAt } from '../../net/mac.js'
import type { AttrSet, AttrValues, MessageSchema, StructValues, SubMessageAttr } from '../core/schema.js'
import { decodeAttrs, decodeMessageBody } from '../core/schema.js'
import type { NlMessage } from '../core/socket.js'
import { wordsOf } from '../core/words.js'
import * as IF from './constants/if.js'
import * as L from './constants/if-link.js'
// decodeLink's constants as named imports: through the namespace object (a bundle's exports
// object is a dictionary) every case of its switch would be a property lookup, per attribute
import {
  IFLA_ADDRESS, IFLA_ALT_IFNAME, IFLA_BROADCAST, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA,
  IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_LINKMODE,
  IFLA_LINK_NETNSID, IFLA_MASTER, IFLA_MTU, IFLA_OPERSTATE, IFLA_PROP_LIST, IFLA_QDISC, IFLA_TXQLEN,
} from './constants/if-link.js'
import { IFF_UP } from './constants/if.js'
import type { Link, MacvlanMode } from './link-types.js'
import { ifinfomsg, linkAttrs, linkinfoAttrs } from './schema/link.js'

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
  // bytes are read directly (native byte order, little-endian here): Buffer's read methods are
  // calls with their own checks, and a CLI process lists thousands of links in unoptimized code
  const o = m.off
  const flags = u32(buf, o + 8)
  const link = {
    index: u32(buf, o + 4) | 0,
    name: '',
    type: buf[o + 2]! | (buf[o + 3]! << 8),
    flags,
    up: (flags & IFF_UP) !== 0,
    operstate: 'UNKNOWN',
  } as Link
  // an object literal, not a class with field initializers: those are slow in unoptimized code
  const src: LinkSource = {
    buf, off: o, end: m.end, kind: undefined, slaveKind: undefined, dataStart: -1, dataEnd: -1, slaveStart: -1, slaveEnd: -1,
    attrs: NOT_YET, data: NOT_YET, slaveData: NOT_YET,
  }
  let p = o + 16
  const end = m.end
  // headers as one word each when the buffer allows (words.ts); the offsets stay byte offsets
  const words = wordsOf(buf)
  while (p + 4 <= end) {
    const head = words !== undefined ? words[p >>> 2]! : buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
    const len = head & 0xffff
    if (len < 4 || p + len > end) {
      // malformed: the table decode names the attribute and offset (a DecodeError, as on every path)
      decodeMessageBody(NEWLINK, buf, m.off, m.end)
      throw new DecodeError(NEWLINK.attrs.name, '', p - m.off, `attribute length ${len} does not fit the message`)
    }
    const type = (head >>> 16) & 0x3fff
    const d = p + 4
    const n = len - 4
    // FIELD turns the attribute type into this switch's case number (a jump table, where cases
    // on the IFLA_* values would be one comparison call each per attribute in unoptimized code)
    switch (FIELD[type]) {
      case 1: link.name = cstr(buf, d, n); break // IFLA_IFNAME
      case 2: if (n >= 4) link.mtu = u32At(words, buf, d); break // IFLA_MTU
      case 3: link.address = formatMacAt(buf, d, d + n); break // IFLA_ADDRESS
      case 4: link.broadcast = formatMacAt(buf, d, d + n); break // IFLA_BROADCAST
      case 5: if (n >= 4) link.master = u32At(words, buf, d); break // IFLA_MASTER
      case 6: if (n >= 4) link.txqlen = u32At(words, buf, d); break // IFLA_TXQLEN
      case 7: link.alias = cstr(buf, d, n); break // IFLA_IFALIAS
      case 8: if (n >= 1) link.operstate = OPERSTATES[buf[d]!] ?? 'UNKNOWN'; break // IFLA_OPERSTATE
      case 9: if (n >= 1) link.linkmode = buf[d]!; break // IFLA_LINKMODE
      case 10: link.qdisc = cstr(buf, d, n); break // IFLA_QDISC
      case 11: if (n >= 4) link.group = u32At(words, buf, d); break // IFLA_GROUP
      case 12: if (n >= 4) link.link = u32At(words, buf, d); break // IFLA_LINK
      case 13: if (n >= 4) link.linkNetnsid = u32At(words, buf, d) | 0; break // IFLA_LINK_NETNSID
      case 14: { // IFLA_PROP_LIST
        const names: string[] = []
        for (let q = d; q + 4 <= d + n;) {
          const l2 = buf[q]! | (buf[q + 1]! << 8)
          if (l2 < 4) break
          if (((buf[q + 2]! | (buf[q + 3]! << 8)) & 0x3fff) === IFLA_ALT_IFNAME) names.push(cstr(buf, q + 4, l2 - 4))
          q += (l2 + 3) & ~3
        }
        if (names.length) link.altnames = names
        break
      }
      case 15: // IFLA_LINKINFO
        for (let q = d; q + 4 <= d + n;) {
          const l2 = buf[q]! | (buf[q + 1]! << 8)
          if (l2 < 4 || q + l2 > d + n) break
          const t2 = (buf[q + 2]! | (buf[q + 3]! << 8)) & 0x3fff
          if (t2 === IFLA_INFO_KIND) src.kind = link.kind = cstr(buf, q + 4, l2 - 4)
          else if (t2 === IFLA_INFO_SLAVE_KIND) src.slaveKind = link.slaveKind = cstr(buf, q + 4, l2 - 4)
          else if (t2 === IFLA_INFO_DATA) { src.dataStart = q + 4; src.dataEnd = q + l2 }
          else if (t2 === IFLA_INFO_SLAVE_DATA) { src.slaveStart = q + 4; src.slaveEnd = q + l2 }
          q += (l2 + 3) & ~3
        }
        break
    }
    p += (len + 3) & ~3
  }
  // the lazy properties: own, enumerable (JSON.stringify, spreading and deepEqual see them),
  // with getters and setters shared by every Link (per-link closures would give each Link a
  // hidden class of its own) that find the bytes through a non-enumerable symbol
  Object.defineProperty(link, SOURCE, { value: src })
  Object.defineProperty(link, 'attrs', ATTRS)
  if (src.dataStart >= 0) Object.defineProperty(link, 'data', DATA)
  if (src.slaveStart >= 0) Object.defineProperty(link, 'slaveData', SLAVE_DATA)
  return link
}

/** decodeLink's case number for each attribute type it reads (0: skipped), in the order of its switch. */
const FIELD = new Uint8Array(0x4000)
FIELD[IFLA_IFNAME] = 1
FIELD[IFLA_MTU] = 2
FIELD[IFLA_ADDRESS] = 3
FIELD[IFLA_BROADCAST] = 4
FIELD[IFLA_MASTER] = 5
FIELD[IFLA_TXQLEN] = 6
FIELD[IFLA_IFALIAS] = 7
FIELD[IFLA_OPERSTATE] = 8
FIELD[IFLA_LINKMODE] = 9
FIELD[IFLA_QDISC] = 10
FIELD[IFLA_GROUP] = 11
FIELD[IFLA_LINK] = 12
FIELD[IFLA_LINK_NETNSID] = 13
FIELD[IFLA_PROP_LIST] = 14
FIELD[IFLA_LINKINFO] = 15

const u32 = (buf: Buffer, p: number): number => buf[p + 3]! * 0x1000000 + ((buf[p + 2]! << 16) | (buf[p + 1]! << 8) | buf[p]!)
/** The u32 at byte offset p (4-aligned in a netlink message), from the words when there are. */
const u32At = (words: Uint32Array | undefined, buf: Buffer, p: number): number => (words !== undefined ? words[p >>> 2]! : u32(buf, p))

const INFO_DATA = linkinfoAttrs.attrs.data as SubMessageAttr
const INFO_SLAVE_DATA = linkinfoAttrs.attrs.slaveData as SubMessageAttr
const SOURCE = Symbol('podnet.link.source')
const NOT_YET: unique symbol = Symbol('not decoded yet')

/** What a decoded Link's lazy properties come from: the message, and where its info data parts are (-1: absent). */
interface LinkSource {
  readonly buf: Buffer
  readonly off: number
  readonly end: number
  kind: string | undefined
  slaveKind: string | undefined
  dataStart: number
  dataEnd: number
  slaveStart: number
  slaveEnd: number
  attrs: AttrValues | typeof NOT_YET
  data: AttrValues | undefined | typeof NOT_YET
  slaveData: AttrValues | undefined | typeof NOT_YET
}

const sourceOf = (l: object): LinkSource => (l as { [SOURCE]: LinkSource })[SOURCE]

const ATTRS: PropertyDescriptor = {
  enumerable: true, configurable: true,
  get(this: Link) {
    const s = sourceOf(this)
    if (s.attrs === NOT_YET) s.attrs = decodeMessageBody(NEWLINK, s.buf, s.off, s.end).attrs
    return s.attrs
  },
  set(this: Link, v: AttrValues) { sourceOf(this).attrs = v },
}
// IFLA_INFO_DATA / IFLA_INFO_SLAVE_DATA alone, with the table the kind selects (what the full
// decode puts under attrs.linkinfo): `ip -j -d`'s output needs these, not the ~100 others
const DATA: PropertyDescriptor = {
  enumerable: true, configurable: true,
  get(this: Link) {
    const s = sourceOf(this)
    if (s.data === NOT_YET) s.data = infoPart(INFO_DATA, s.kind, s.buf, s.dataStart, s.dataEnd)
    return s.data
  },
  set(this: Link, v: AttrValues | undefined) { sourceOf(this).data = v },
}
const SLAVE_DATA: PropertyDescriptor = {
  enumerable: true, configurable: true,
  get(this: Link) {
    const s = sourceOf(this)
    if (s.slaveData === NOT_YET) s.slaveData = infoPart(INFO_SLAVE_DATA, s.slaveKind, s.buf, s.slaveStart, s.slaveEnd)
    return s.slaveData
  },
  set(this: Link, v: AttrValues | undefined) { sourceOf(this).slaveData = v },
}

/**
 * Where a Link's `data` or `slaveData` is decoded from while it has not been read or set yet:
 * the set its kind selects and the byte range, for a one-time reader (the JSON output) that
 * decodes it without keeping it on the link. null: the link has none (or its kind has no
 * table); undefined: read the property (already decoded or set, or not a decoded Link).
 */
export function infoDataSource(l: Link, key: 'data' | 'slaveData'): { set: AttrSet; buf: Buffer; start: number; end: number } | null | undefined {
  const s = (l as { [SOURCE]?: LinkSource })[SOURCE]
  if (s === undefined) return undefined
  const d = Object.getOwnPropertyDescriptor(l, key)
  if (d === undefined) return null
  const data = key === 'data'
  if (d.get !== (data ? DATA : SLAVE_DATA).get || (data ? s.data : s.slaveData) !== NOT_YET) return undefined
  const set = subSet(data ? INFO_DATA : INFO_SLAVE_DATA, data ? s.kind : s.slaveKind)
  return set === undefined ? null : { set, buf: s.buf, start: data ? s.dataStart : s.slaveStart, end: data ? s.dataEnd : s.slaveEnd }
}

function subSet(def: SubMessageAttr, kind: string | undefined): AttrSet | undefined {
  const sub = kind !== undefined && Object.hasOwn(def.of, kind) ? def.of[kind] : undefined
  return sub === undefined ? undefined : typeof sub === 'function' ? sub() : sub
}

/** A sub-message's attributes decoded with the set its selector (the kind) picks; undefined for a kind without a table. */
function infoPart(def: SubMessageAttr, kind: string | undefined, buf: Buffer, start: number, end: number): AttrValues | undefined {
  const set = subSet(def, kind)
  return set === undefined ? undefined : decodeAttrs(set, buf, start, end)
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

/** IFF_* flags in the order iproute2 prints them (bits and names side by side: no destructuring in the loop). */
const FLAG_BITS: readonly number[] = [
  IF.IFF_LOOPBACK, IF.IFF_BROADCAST, IF.IFF_POINTOPOINT, IF.IFF_MULTICAST, IF.IFF_NOARP, IF.IFF_ALLMULTI,
  IF.IFF_PROMISC, IF.IFF_MASTER, IF.IFF_SLAVE, IF.IFF_DEBUG, IF.IFF_DYNAMIC, IF.IFF_AUTOMEDIA, IF.IFF_PORTSEL,
  IF.IFF_NOTRAILERS, IF.IFF_UP, IF.IFF_LOWER_UP, IF.IFF_DORMANT, IF.IFF_ECHO,
]
const FLAG_NAMES: readonly string[] = [
  'LOOPBACK', 'BROADCAST', 'POINTOPOINT', 'MULTICAST', 'NOARP', 'ALLMULTI',
  'PROMISC', 'MASTER', 'SLAVE', 'DEBUG', 'DYNAMIC', 'AUTOMEDIA', 'PORTSEL',
  'NOTRAILERS', 'UP', 'LOWER_UP', 'DORMANT', 'ECHO',
]

/** Names of the IFF_* flags set, in iproute2's order and spelling. */
export function linkFlagNames(flags: number): string[] {
  const names: string[] = []
  if (flags & IF.IFF_UP && !(flags & IF.IFF_RUNNING)) names.push('NO-CARRIER')
  for (let i = 0; i < FLAG_BITS.length; i++) if (flags & FLAG_BITS[i]!) names.push(FLAG_NAMES[i]!)
  return names
}
