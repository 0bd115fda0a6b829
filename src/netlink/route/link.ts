/**
 * Links: veth, bridge, vxlan, macvlan, ifb. LinkSpec → RTM_NEWLINK, RTM_NEWLINK → Link.
 * Every method names the equivalent iproute2 command.
 */
import { ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, PodnetError, isErrno } from '../../errors.js'
import { AF_BRIDGE, AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody, formatMac } from '../core/schema.js'
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../core/header.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import * as IF from './constants/if.js'
import * as L from './constants/if-link.js'
import { RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK } from './constants/rtnetlink.js'
import { ifinfomsg, linkAttrs } from './schema/link.js'
import * as IPV4 from './constants/ip.js'
import { Writer } from '../core/writer.js'
import { validateIfname, validateMac, validateMtu } from './validate.js'

/** A network namespace to put a link (or a veth peer) in: anything with an open fd to it. */
export interface NetnsRef {
  readonly fd: number
  readonly name?: string
}

interface CommonLinkSpec {
  name: string
  mtu?: number
  /** MAC address, "aa:bb:cc:dd:ee:ff". */
  address?: string
  txqlen?: number
  /** Create the link up. */
  up?: boolean
  /** Create the link in this namespace instead of the handle's. */
  netns?: NetnsRef
  /** Enslave to this bridge at creation (IFLA_MASTER in the create request). */
  master?: string | number
}

export interface VethPeerSpec {
  name: string
  /** Create the peer directly in this namespace. */
  netns?: NetnsRef
  mtu?: number
  address?: string
  txqlen?: number
  up?: boolean
}

export interface BridgeOptions {
  stpState?: number
  forwardDelay?: number
  ageingTime?: number
  helloTime?: number
  maxAge?: number
  priority?: number
  mcastSnooping?: number
  vlanFiltering?: number
  nfCallIptables?: number
}

export interface VxlanOptions {
  id: number
  group?: string
  local?: string
  port?: number
  /** ifindex of the underlying device. */
  link?: number
  learning?: boolean
  ttl?: number
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source'

export type LinkSpec = CommonLinkSpec & (
  | { kind: 'veth'; peer: VethPeerSpec }
  | { kind: 'bridge'; bridge?: BridgeOptions }
  | { kind: 'vxlan'; vxlan: VxlanOptions }
  | { kind: 'macvlan'; parent: string | number; mode?: MacvlanMode }
  | { kind: 'ifb' }
)

/** A link as the kernel reports it. */
export interface Link {
  index: number
  name: string
  /** IFLA_INFO_KIND ('veth', 'bridge', ...); undefined for loopback and physical devices. */
  kind?: string
  /** ARPHRD_* device type. */
  type: number
  /** IFF_* flags. */
  flags: number
  up: boolean
  mtu?: number
  address?: string
  broadcast?: string
  /** ifindex of the bridge this link is a port of. */
  master?: number
  operstate: string
  txqlen?: number
  qdisc?: string
  group?: number
  linkmode?: number
  /** IFLA_LINK: the peer's ifindex for a veth (in the peer's namespace when linkNetnsid is set). */
  link?: number
  linkNetnsid?: number
  slaveKind?: string
  /** Kind-specific IFLA_INFO_DATA (bridge options, veth, vxlan...), decoded. */
  data?: AttrValues
  /** IFLA_INFO_SLAVE_DATA (bridge port: hairpin = mode, learning, unicastFlood, isolated...). */
  slaveData?: AttrValues
  altnames?: string[]
  /** Every decoded attribute, including ones podnet has no field for (under `unknown`). */
  attrs: AttrValues
}

export interface LinkChange {
  up?: boolean
  mtu?: number
  address?: string
  /** Bridge to enslave to; null removes the master (nomaster). */
  master?: string | number | null
  /** Move to another namespace. */
  netns?: NetnsRef
  /** Rename. */
  name?: string
  txqlen?: number
  /** Bridge-port flags, for links that are bridge ports. */
  hairpin?: boolean
  learning?: boolean
  flood?: boolean
  isolated?: boolean
  /**
   * Per-device IPv4 settings by their sysctl names (`arp_notify`, `route_localnet`, `forwarding`,
   * `rp_filter`, ...), set over netlink (IFLA_AF_SPEC → AF_INET → IFLA_INET_CONF): no /proc write.
   */
  ipv4Conf?: Record<string, number>
  /** Device group (IFLA_GROUP): groups can be deleted with one request, see delGroup(). */
  group?: number
  /** IPv6 link-local address generation (IFLA_INET6_ADDR_GEN_MODE); 'none' gives the link no IPv6 link-local address. */
  ipv6AddrGenMode?: 'eui64' | 'none' | 'stable_secret' | 'random'
}

const ADDR_GEN_MODES = { eui64: 0, none: 1, stable_secret: 2, random: 3 } as const

/** IFLA_INET_CONF payload: one u32 attribute per setting, typed by its IPV4_DEVCONF_* index. */
export function ipv4ConfBytes(conf: Record<string, number>): Buffer {
  const w = new Writer(64)
  for (const [name, value] of Object.entries(conf)) {
    const id = (IPV4 as Record<string, number>)[`IPV4_DEVCONF_${name.toUpperCase()}`]
    if (id === undefined) throw new InvalidArgumentError('ipv4Conf', `'${name}' is not a per-device IPv4 setting (see IPV4_DEVCONF_* in linux/ip.h)`)
    const s = w.beginAttr(id)
    w.u32(value)
    w.endAttr(s)
  }
  return w.toBuffer()
}

export interface LinkListFilter {
  /** Only ports of this bridge (kernel-side filter). */
  master?: string | number
  /** Only links of this kind (kernel-side filter). */
  kind?: string
}

const NEWLINK: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
const GETLINK: MessageSchema = { name: 'RTM_GETLINK', header: ifinfomsg, attrs: linkAttrs }
const DELLINK: MessageSchema = { name: 'RTM_DELLINK', header: ifinfomsg, attrs: linkAttrs }
const SETLINK: MessageSchema = { name: 'RTM_SETLINK', header: ifinfomsg, attrs: linkAttrs }

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP']
const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: L.MACVLAN_MODE_PRIVATE, vepa: L.MACVLAN_MODE_VEPA, bridge: L.MACVLAN_MODE_BRIDGE,
  passthru: L.MACVLAN_MODE_PASSTHRU, source: L.MACVLAN_MODE_SOURCE,
}

/** Decodes an RTM_NEWLINK message into a Link. */
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
    if (len < 4 || p + len > end) break // malformed: the lazy full decode below reports it
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

function validateSpec(spec: LinkSpec): void {
  validateIfname(spec.name, 'name')
  if (spec.mtu !== undefined) validateMtu(spec.mtu)
  if (spec.address !== undefined) validateMac(spec.address)
  if (spec.kind === 'veth') {
    validateIfname(spec.peer.name, 'peer name')
    if (spec.peer.mtu !== undefined) validateMtu(spec.peer.mtu, 'peer mtu')
    if (spec.peer.address !== undefined) validateMac(spec.peer.address, 'peer address')
    if (spec.peer.name === spec.name && !spec.peer.netns && !spec.netns) {
      throw new InvalidArgumentError('peer name', `'${spec.name}' is the name of the other end too; both ends would collide in one namespace`)
    }
  }
  if (spec.kind === 'vxlan' && (!Number.isInteger(spec.vxlan.id) || spec.vxlan.id < 0 || spec.vxlan.id >= 1 << 24)) {
    throw new InvalidArgumentError('vxlan id', `'${spec.vxlan.id}' is not a VNI (0-16777215)`)
  }
}

/**
 * The RTM_NEWLINK request (family header and attributes) that creates `spec`. Pure: attribute
 * order follows iproute2's (options, then IFLA_IFNAME, then IFLA_LINKINFO), so the bytes match
 * `ip link add` (see test/fixtures/netlink). `parentIndex` is the macvlan parent's ifindex.
 */
export function linkAddRequest(spec: LinkSpec, parentIndex?: number, masterIndex?: number): { header: StructValues; attrs: AttrValues } {
  validateSpec(spec)
  const attrs: AttrValues = {}
  if (spec.kind === 'macvlan') {
    if (parentIndex === undefined) throw new InvalidArgumentError('parent', 'a macvlan needs its parent device')
    attrs.link = parentIndex
  }
  if (spec.mtu !== undefined) attrs.mtu = spec.mtu
  if (spec.address !== undefined) attrs.address = spec.address
  if (spec.txqlen !== undefined) attrs.txqlen = spec.txqlen
  if (spec.netns) attrs.netNsFd = spec.netns.fd
  if (masterIndex !== undefined) attrs.master = masterIndex
  attrs.ifname = spec.name
  const info: AttrValues = { kind: spec.kind }
  switch (spec.kind) {
    case 'veth': {
      const p = spec.peer
      const peerAttrs: AttrValues = {}
      if (p.mtu !== undefined) peerAttrs.mtu = p.mtu
      if (p.address !== undefined) peerAttrs.address = p.address
      if (p.txqlen !== undefined) peerAttrs.txqlen = p.txqlen
      if (p.netns) peerAttrs.netNsFd = p.netns.fd
      peerAttrs.ifname = p.name
      // The peer is never created up: on this kernel (6.18) IFF_UP in the peer's ifinfomsg makes
      // RTM_NEWLINK fail with ENOTCONN (iproute2's `peer name X up` fails the same way), so
      // LinkApi brings it up with a second request.
      info.data = { peer: { header: {}, attrs: peerAttrs } }
      break
    }
    case 'bridge':
      if (spec.bridge && Object.keys(spec.bridge).length) info.data = { ...spec.bridge }
      break
    case 'vxlan': {
      const v = spec.vxlan
      // iproute2's order: IFLA_VXLAN_LINK, then the id, group, local, ... (bytes match `ip link add`)
      const data: AttrValues = {}
      if (v.link !== undefined) data.link = v.link
      data.id = v.id
      if (v.group !== undefined) data[v.group.includes(':') ? 'group6' : 'group'] = v.group
      if (v.local !== undefined) data[v.local.includes(':') ? 'local6' : 'local'] = v.local
      if (v.ttl !== undefined) data.ttl = v.ttl
      data.learning = v.learning === false ? 0 : 1
      if (v.port !== undefined) data.port = v.port
      info.data = data
      break
    }
    case 'macvlan':
      info.data = { mode: MACVLAN_MODES[spec.mode ?? 'bridge'] }
      break
    case 'ifb':
      break
  }
  attrs.linkinfo = info
  const header: StructValues = spec.up ? { family: AF_UNSPEC, flags: IF.IFF_UP, change: IF.IFF_UP } : { family: AF_UNSPEC }
  return { header, attrs }
}

/**
 * The RTM_NEWLINK requests that apply `change` to link `index` (one, or two when bridge-port
 * flags come with other changes: the port flags go second, once the master is set).
 * `masterIndex` is the resolved bridge (0 for nomaster). Pure.
 */
export function linkSetRequests(index: number, change: LinkChange, masterIndex?: number, byName?: string): Array<{ header: StructValues; attrs: AttrValues }> {
  if (change.mtu !== undefined) validateMtu(change.mtu)
  if (change.address !== undefined) validateMac(change.address)
  if (change.name !== undefined) validateIfname(change.name, 'new name')
  const header: StructValues = { family: AF_UNSPEC, index }
  if (change.up !== undefined) {
    header.flags = change.up ? IF.IFF_UP : 0
    header.change = IF.IFF_UP
  }
  const attrs: AttrValues = {}
  if (change.netns) attrs.netNsFd = change.netns.fd
  if (change.mtu !== undefined) attrs.mtu = change.mtu
  if (change.address !== undefined) attrs.address = change.address
  if (change.txqlen !== undefined) attrs.txqlen = change.txqlen
  if (change.name !== undefined) attrs.ifname = change.name
  if (masterIndex !== undefined) attrs.master = masterIndex
  if (change.group !== undefined) attrs.group = change.group
  if (change.ipv4Conf || change.ipv6AddrGenMode) {
    const af: AttrValues = {}
    if (change.ipv4Conf) af.inet = { conf: ipv4ConfBytes(change.ipv4Conf) }
    if (change.ipv6AddrGenMode) af.inet6 = { addrGenMode: ADDR_GEN_MODES[change.ipv6AddrGenMode] }
    attrs.afSpec = af
  }
  const port: AttrValues = {}
  if (change.hairpin !== undefined) port.mode = change.hairpin ? 1 : 0
  if (change.learning !== undefined) port.learning = change.learning ? 1 : 0
  if (change.flood !== undefined) port.unicastFlood = change.flood ? 1 : 0
  if (change.isolated !== undefined) port.isolated = change.isolated ? 1 : 0
  const out: Array<{ header: StructValues; attrs: AttrValues }> = []
  // by name: ifindex 0 and IFLA_IFNAME, the kernel finds the link (one request instead of a GET first)
  const named = (a: AttrValues): AttrValues => (byName !== undefined && change.name === undefined ? { ifname: byName, ...a } : a)
  if (Object.keys(attrs).length || header.change !== undefined || !Object.keys(port).length) out.push({ header, attrs: named(attrs) })
  if (Object.keys(port).length) {
    if (change.netns) throw new InvalidArgumentError('link set', 'bridge-port flags cannot be set while moving the link to another namespace')
    out.push({ header: { family: AF_UNSPEC, index }, attrs: named({ linkinfo: { slaveKind: 'bridge', slaveData: port } }) })
  }
  return out
}

/** EXFULL from enslaving: the bridge has all the ports the kernel allows (BR_MAX_PORTS - 1 = 1023). */
function bridgeFull(master: string | number, cause: unknown): PodnetError {
  return new PodnetError(`bridge '${master}' already has 1023 ports, the kernel's limit (BR_MAX_PORTS): ${(cause as Error).message}`, { cause })
}

const nsName = (ns?: NetnsRef): string => (ns ? (ns.name ? `in netns '${ns.name}'` : 'in the target netns') : '')

export class LinkApi {
  private readonly sock: NetlinkSocket
  /** Opens a socket in another namespace, for reading back the peer side of a veth. */
  private readonly openPeerSocket: (ns: NetnsRef) => NetlinkSocket
  readonly where: string

  constructor(sock: NetlinkSocket, where: string, openPeerSocket: (ns: NetnsRef) => NetlinkSocket) {
    this.sock = sock
    this.where = where
    this.openPeerSocket = openPeerSocket
  }

  /**
   * Creates a link. Returns it as the kernel reports it (NLM_F_ECHO), or undefined when it was
   * created in another namespace.
   *
   * Equivalent to: `ip link add NAME [mtu N] [address MAC] [netns NS] type veth peer name PEER [netns NS2]`
   * (or `type bridge`, `type vxlan id N`, `link PARENT type macvlan mode M`, `type ifb`).
   */
  async add(spec: LinkSpec): Promise<Link | undefined> {
    return this.addSync(spec)
  }

  addSync(spec: LinkSpec): Link | undefined {
    const { header, attrs } = linkAddRequest(
      spec,
      spec.kind === 'macvlan' ? this.resolveSync(spec.parent) : undefined,
      // a name is looked up and must be a bridge; an ifindex is the caller's (the kernel refuses a non-master)
      spec.master === undefined ? undefined : typeof spec.master === 'number' ? spec.master : this.bridgeIndexSync(spec.master),
    )
    const echo = !spec.netns
    try {
      const replies = this.sock.requestSync(
        {
          type: RTM_NEWLINK,
          flags: NLM_F_CREATE | NLM_F_EXCL | (echo ? NLM_F_ECHO : 0),
          body: (w) => encodeMessageBody(NEWLINK, header, attrs, w),
          schema: NEWLINK,
          object: `${spec.kind} '${spec.name}'`,
        },
        (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
      )
      if (spec.kind === 'veth' && spec.peer.up) this.peerUp(spec.peer)
      return replies[0] ?? (echo ? this.getSync(spec.name) : undefined)
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw this.whichSideExists(spec, err)
      if (isErrno(err, 'EXFULL') && spec.master !== undefined) throw bridgeFull(spec.master, err)
      if (isErrno(err, 'EOPNOTSUPP') && err instanceof NetlinkError && /Unknown device type/i.test(err.extAck.message ?? '')) {
        throw new InvalidArgumentError('type', `this kernel has no '${spec.kind}' link type`)
      }
      throw err
    }
  }

  private peerUp(peer: VethPeerSpec): void {
    if (!peer.netns) {
      this.setSync(peer.name, { up: true })
      return
    }
    const s = this.openPeerSocket(peer.netns)
    try {
      const l = getByName(s, peer.name)
      if (!l) throw new NotFoundError('link', peer.name, nsName(peer.netns))
      s.requestSync({
        type: RTM_NEWLINK, flags: 0,
        body: (w) => encodeMessageBody(NEWLINK, { family: AF_UNSPEC, index: l.index, flags: IF.IFF_UP, change: IF.IFF_UP }, {}, w),
        schema: NEWLINK, object: `link '${peer.name}' ${nsName(peer.netns)}`,
      })
    } finally {
      s.close()
    }
  }

  /** The ifindex of a bridge; InvalidArgumentError when the link is not a bridge. */
  bridgeIndexSync(nameOrIndex: string | number): number {
    const br = this.getSync(nameOrIndex)
    if (br.kind !== 'bridge') throw new InvalidArgumentError('master', `'${br.name}' is ${br.kind ? `a ${br.kind}` : 'not a bridge'}; a master must be a bridge`)
    return br.index
  }

  /** After EEXIST on create, say which name collided (for a veth: this end or the peer, and where). */
  private whichSideExists(spec: LinkSpec, cause: unknown): Error {
    const here = spec.netns ? undefined : this.findSync(spec.name)
    if (spec.kind === 'veth') {
      if (here) return new ExistsError('link', spec.name, `${this.where} (the first end of the veth pair)`, { cause })
      const peerNs = spec.peer.netns
      let peerExists = false
      if (peerNs) {
        const s = this.openPeerSocket(peerNs)
        try { peerExists = getByName(s, spec.peer.name) !== undefined } finally { s.close() }
      } else {
        peerExists = this.findSync(spec.peer.name) !== undefined
      }
      if (peerExists) return new ExistsError('link', spec.peer.name, `${peerNs ? nsName(peerNs) : this.where} (the peer end of the veth pair)`, { cause })
      return new ExistsError('link', spec.name, `${nsName(spec.netns) || this.where}`, { cause })
    }
    return new ExistsError('link', spec.name, nsName(spec.netns) || this.where, { cause })
  }

  /** Equivalent to: `ip link show NAME` (one RTM_GETLINK, no dump). Throws NotFoundError. */
  async get(nameOrIndex: string | number): Promise<Link> {
    return this.getSync(nameOrIndex)
  }

  getSync(nameOrIndex: string | number): Link {
    const l = this.findSync(nameOrIndex)
    if (!l) throw new NotFoundError('link', String(nameOrIndex), this.where)
    return l
  }

  /** Like get() but returns undefined when the link does not exist. */
  findSync(nameOrIndex: string | number): Link | undefined {
    return typeof nameOrIndex === 'number' ? getByIndex(this.sock, nameOrIndex) : getByName(this.sock, nameOrIndex)
  }

  async find(nameOrIndex: string | number): Promise<Link | undefined> {
    return this.findSync(nameOrIndex)
  }

  /** Resolves a name to an ifindex (numbers pass through). */
  resolveSync(nameOrIndex: string | number): number {
    return typeof nameOrIndex === 'number' ? nameOrIndex : this.getSync(nameOrIndex).index
  }

  /** Equivalent to: `ip link show [master BR] [type KIND]` (filtered in the kernel). */
  async list(filter: LinkListFilter = {}): Promise<Link[]> {
    return this.listSync(filter)
  }

  listSync(filter: LinkListFilter = {}): Link[] {
    const attrs: AttrValues = { extMask: RTEXT_FILTER_SKIP_STATS }
    if (filter.master !== undefined) attrs.master = this.resolveSync(filter.master)
    if (filter.kind !== undefined) attrs.linkinfo = { kind: filter.kind }
    const links = this.sock.dumpSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, {}, attrs, w), schema: GETLINK, object: 'links' },
      (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
    )
    // kernels without strict checking ignore the filters: apply them here too
    return links.filter((l) => (attrs.master === undefined || l.master === attrs.master) && (filter.kind === undefined || l.kind === filter.kind))
  }

  /**
   * Changes a link in one RTM_NEWLINK. Equivalent to:
   * `ip link set NAME [up|down] [mtu N] [address MAC] [master BR|nomaster] [netns NS] [name NEW] [txqueuelen N]`
   * and, for bridge ports, `ip link set NAME type bridge_slave hairpin on learning off flood on isolated on`.
   */
  async set(nameOrIndex: string | number, change: LinkChange): Promise<void> {
    this.setSync(nameOrIndex, change)
  }

  setSync(nameOrIndex: string | number, change: LinkChange): void {
    linkSetRequests(0, change) // validate before any lookup
    if (typeof nameOrIndex === 'string') validateIfname(nameOrIndex)
    // a rename needs the index (IFLA_IFNAME then carries the new name); otherwise the kernel looks the name up
    const byName = typeof nameOrIndex === 'string' && change.name === undefined ? nameOrIndex : undefined
    const index = byName !== undefined ? 0 : this.resolveSync(nameOrIndex)
    const masterIndex = change.master === null ? 0 : change.master === undefined ? undefined : this.bridgeIndexSync(change.master)
    const object = `link '${typeof nameOrIndex === 'string' ? nameOrIndex : `#${index}`}'`
    const hasPortFlags = [change.hairpin, change.learning, change.flood, change.isolated].some((v) => v !== undefined)
    try {
      for (const { header, attrs } of linkSetRequests(index, change, masterIndex, byName)) {
        this.sock.requestSync({ type: RTM_NEWLINK, flags: 0, body: (w) => encodeMessageBody(NEWLINK, header, attrs, w), schema: NEWLINK, object })
      }
    } catch (err) {
      if (isErrno(err, 'EEXIST') && change.name) throw new ExistsError('link', change.name, this.where, { cause: err })
      if (isErrno(err, 'ENODEV') && byName !== undefined) throw new NotFoundError('link', byName, this.where, { cause: err })
      if (isErrno(err, 'EXFULL') && change.master) throw bridgeFull(change.master, err)
      if (isErrno(err, 'EOPNOTSUPP') && hasPortFlags) {
        throw new InvalidArgumentError('bridge port', `${object} is not a bridge port; hairpin/learning/flood/isolated need a master bridge`)
      }
      throw err
    }
  }

  /**
   * Bridge-port flags through RTM_SETLINK with AF_BRIDGE and IFLA_PROTINFO.
   * Equivalent to: `bridge link set dev NAME hairpin on`.
   */
  setBridgePortSync(nameOrIndex: string | number, port: AttrValues): void {
    const index = this.resolveSync(nameOrIndex)
    this.sock.requestSync({
      type: RTM_SETLINK, flags: 0,
      body: (w) => encodeMessageBody(SETLINK, { family: AF_BRIDGE, index }, { protinfo: port }, w),
      schema: SETLINK, object: `bridge port #${index}`,
    })
  }

  /**
   * Deletes a link (for a veth, both ends go). Deleting a veth waits for an RCU grace period in the
   * kernel (10-25 ms), so the request runs off the event loop. Throws NotFoundError when absent.
   * Equivalent to: `ip link del NAME`.
   */
  async del(nameOrIndex: string | number): Promise<void> {
    const attrs: AttrValues = typeof nameOrIndex === 'string' ? { ifname: nameOrIndex } : {}
    const header = typeof nameOrIndex === 'number' ? { index: nameOrIndex } : {}
    if (typeof nameOrIndex === 'string') validateIfname(nameOrIndex)
    try {
      await this.sock.request(
        { type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, header, attrs, w), schema: DELLINK, object: `link '${nameOrIndex}'` },
        undefined,
        { offload: true },
      )
    } catch (err) {
      if (isErrno(err, 'ENODEV')) throw new NotFoundError('link', String(nameOrIndex), this.where, { cause: err })
      throw err
    }
  }

  /**
   * Deletes every link of a device group with one request: the kernel unregisters them together
   * and pays its RCU grace period once, not once per link. Equivalent to: `ip link del group N`.
   */
  async delGroup(group: number): Promise<void> {
    if (!Number.isInteger(group) || group <= 0) throw new InvalidArgumentError('group', 'must be a positive integer (group 0 is every ungrouped link)')
    await this.sock.request(
      { type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, {}, { group }, w), schema: DELLINK, object: `link group ${group}` },
      undefined,
      { offload: true },
    )
  }

  /** Synchronous delete (blocks the thread for the kernel's RCU wait). */
  delSync(nameOrIndex: string | number): void {
    const attrs: AttrValues = typeof nameOrIndex === 'string' ? { ifname: nameOrIndex } : {}
    const header = typeof nameOrIndex === 'number' ? { index: nameOrIndex } : {}
    try {
      this.sock.requestSync({ type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, header, attrs, w), schema: DELLINK, object: `link '${nameOrIndex}'` })
    } catch (err) {
      if (isErrno(err, 'ENODEV')) throw new NotFoundError('link', String(nameOrIndex), this.where, { cause: err })
      throw err
    }
  }
}

function getBy(sock: NetlinkSocket, header: StructValues, attrs: AttrValues, what: string): Link | undefined {
  try {
    const r = sock.requestSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, header, attrs, w), schema: GETLINK, object: what },
      (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
    )
    return r[0]
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return undefined
    throw err
  }
}

/** One RTM_GETLINK by name (IFLA_IFNAME); undefined when absent. */
export function getByName(sock: NetlinkSocket, name: string): Link | undefined {
  validateIfname(name)
  return getBy(sock, {}, { ifname: name, extMask: RTEXT_FILTER_SKIP_STATS }, `link '${name}'`)
}

/** One RTM_GETLINK by ifindex; undefined when absent. */
export function getByIndex(sock: NetlinkSocket, index: number): Link | undefined {
  return getBy(sock, { index }, { extMask: RTEXT_FILTER_SKIP_STATS }, `link #${index}`)
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
