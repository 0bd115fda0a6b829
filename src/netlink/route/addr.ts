/** IPv4 and IPv6 addresses. Every method names the equivalent iproute2 command. */
import { addressJson, withJson } from './json.js'
import { DecodeError, ExistsError, InvalidArgumentError, NotFoundError, isErrno } from '../../errors.js'
import { AF_INET, AF_INET6, AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import { bytesToIp } from '../../net/ip.js'
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../core/header.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import { IFA_ADDRESS, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS, IFA_F_NODAD, IFA_LABEL, IFA_LOCAL } from './constants/if-addr.js'
import { RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from './constants/rtnetlink.js'
import type { LinkApi } from './link.js'
import { ifaddrmsg, addrAttrs } from './schema/addr.js'
import { formatIp, lastAddress, makeCidr, parsePrefixedAddress } from '../../net/ip.js'

export interface Address {
  family: 4 | 6
  index: number
  /** The address itself (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  local: string
  prefixlen: number
  /** Peer address on point-to-point links (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string
  broadcast?: string
  label?: string
  scope: number
  /** IFA_F_* flags (IFA_FLAGS when present). */
  flags: number
  validLft?: number
  preferredLft?: number
  attrs: AttrValues
}

export interface AddressSpec {
  /** "10.0.0.1/24" or "fd00::1/64". */
  cidr: string
  /** Interface name or ifindex. */
  dev: string | number
  /** "auto" computes the IPv4 broadcast address from the prefix (like `brd +`). */
  broadcast?: string | 'auto'
  label?: string
  scope?: number
  /** IPv6: skip duplicate address detection. */
  nodad?: boolean
}

const NEWADDR: MessageSchema = { name: 'RTM_NEWADDR', header: ifaddrmsg, attrs: addrAttrs }
const DELADDR: MessageSchema = { name: 'RTM_DELADDR', header: ifaddrmsg, attrs: addrAttrs }
const GETADDR: MessageSchema = { name: 'RTM_GETADDR', header: ifaddrmsg, attrs: addrAttrs }

/**
 * Decodes an RTM_NEWADDR message into an Address: the fields in one pass over the attributes
 * (as decodeLink), `attrs` decoded from the message bytes only when first read. The message
 * buffer must outlive the Address (the socket hands out per-datagram copies).
 */
export function decodeAddress(m: NlMessage): Address {
  const buf = m.buf
  if (m.end - m.off < ifaddrmsg.size) return addressFromValues(decodeMessageBody(NEWADDR, buf, m.off, m.end)) // throws the DecodeError
  const o = m.off
  let local: string | undefined
  let address: string | undefined
  let flags = buf[o + 2]!
  const a = {
    family: buf[o] === AF_INET6 ? 6 : 4,
    index: buf.readUInt32LE(o + 4),
    local: '',
    prefixlen: buf[o + 1]!,
    scope: buf[o + 3]!,
    flags: 0,
  } as Address
  for (let p = o + ifaddrmsg.size; p + 4 <= m.end;) {
    const len = buf.readUInt16LE(p)
    const type = buf.readUInt16LE(p + 2) & 0x3fff
    const n = len - 4
    if (len < 4 || p + len > m.end || ((type === IFA_ADDRESS || type === IFA_LOCAL || type === IFA_BROADCAST) && n !== 4 && n !== 16)) {
      // malformed: the table decode names the attribute and offset (a DecodeError, as on every path)
      decodeMessageBody(NEWADDR, buf, m.off, m.end)
      throw new DecodeError(NEWADDR.attrs.name, '', p - m.off, `attribute length ${len} does not fit`)
    }
    const d = p + 4
    switch (type) {
      case IFA_ADDRESS: address = bytesToIp(buf.subarray(d, d + n)); break
      case IFA_LOCAL: local = bytesToIp(buf.subarray(d, d + n)); break
      case IFA_BROADCAST: a.broadcast = bytesToIp(buf.subarray(d, d + n)); break
      case IFA_LABEL: {
        let e = d + n
        while (e > d && buf[e - 1] === 0) e--
        a.label = buf.toString('utf8', d, e)
        break
      }
      case IFA_FLAGS: if (n >= 4) flags = buf.readUInt32LE(d); break
      case IFA_CACHEINFO:
        if (n >= 8) {
          a.preferredLft = buf.readUInt32LE(d)
          a.validLft = buf.readUInt32LE(d + 4)
        }
        break
    }
    p += (len + 3) & ~3
  }
  a.local = local ?? address ?? ''
  a.flags = flags
  if (address !== undefined && local !== undefined && address !== local) a.peer = address
  let full: AttrValues | undefined
  Object.defineProperty(a, 'attrs', {
    enumerable: true, configurable: true,
    get() {
      full ??= decodeMessageBody(NEWADDR, buf, m.off, m.end).attrs
      Object.defineProperty(a, 'attrs', { value: full, enumerable: true, writable: true, configurable: true })
      return full
    },
  })
  return a
}

/** An Address from fully decoded values (the slow path, for short messages). */
export function addressFromValues({ header, attrs }: { header: StructValues; attrs: AttrValues }): Address {
  const a: Address = {
    family: Number(header.family) === AF_INET6 ? 6 : 4,
    index: Number(header.index),
    local: String(attrs.local ?? attrs.address ?? ''),
    prefixlen: Number(header.prefixlen),
    scope: Number(header.scope),
    flags: attrs.flags !== undefined ? Number(attrs.flags) : Number(header.flags),
    attrs,
  }
  if (attrs.address !== undefined && attrs.local !== undefined && attrs.address !== attrs.local) a.peer = String(attrs.address)
  if (attrs.broadcast !== undefined) a.broadcast = String(attrs.broadcast)
  if (attrs.label !== undefined) a.label = String(attrs.label)
  const ci = attrs.cacheinfo as { valid?: number; prefered?: number } | undefined
  if (ci) {
    a.validLft = Number(ci.valid)
    a.preferredLft = Number(ci.prefered)
  }
  return a
}

/**
 * The RTM_NEWADDR/RTM_DELADDR body for `spec` on link `index`. Pure; attribute order and flag
 * placement follow iproute2 (IFA_LOCAL then IFA_ADDRESS; flags in ifa_flags when they fit in
 * 8 bits, IFA_FLAGS otherwise), so the bytes match `ip addr add` (test/fixtures/netlink).
 */
export function addrRequest(spec: AddressSpec, index: number): { header: StructValues; attrs: AttrValues } {
  const c = parsePrefixedAddress(spec.cidr)
  const family = c.family === 4 ? AF_INET : AF_INET6
  const scope = spec.scope ?? (c.address.startsWith('127.') || c.address === '::1' ? RT_SCOPE_HOST : c.family === 6 && /^fe[89ab]/i.test(c.address) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE)
  const attrs: AttrValues = { local: c.address, address: c.address }
  if (spec.broadcast !== undefined) {
    if (c.family !== 4) throw new InvalidArgumentError('broadcast', 'IPv6 has no broadcast addresses')
    attrs.broadcast = spec.broadcast === 'auto' ? formatIp(4, lastAddress(makeCidr(4, c.value, c.prefixlen))) : spec.broadcast
  }
  if (spec.label !== undefined) attrs.label = spec.label
  const flags = spec.nodad ? IFA_F_NODAD : 0
  if (flags > 0xff) attrs.flags = flags
  return { header: { family, prefixlen: c.prefixlen, flags: flags & 0xff, scope, index }, attrs }
}

export class AddrApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  private message(spec: AddressSpec): { header: StructValues; attrs: AttrValues; object: string } {
    parsePrefixedAddress(spec.cidr)
    return { ...addrRequest(spec, this.links.resolveSync(spec.dev)), object: `address ${spec.cidr} on '${spec.dev}'` }
  }

  /** Equivalent to: `ip addr add CIDR dev DEV [broadcast B]`. Throws ExistsError if present. */
  async add(spec: AddressSpec): Promise<void> {
    this.addSync(spec)
  }

  addSync(spec: AddressSpec): void {
    const { header, attrs, object } = this.message(spec)
    try {
      this.sock.requestSync({ type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, body: (w) => encodeMessageBody(NEWADDR, header, attrs, w), schema: NEWADDR, object })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new ExistsError('address', spec.cidr, `on '${spec.dev}'`, { cause: err })
      throw err
    }
  }

  /** Equivalent to: `ip addr replace CIDR dev DEV`. */
  async replace(spec: AddressSpec): Promise<void> {
    const { header, attrs, object } = this.message(spec)
    this.sock.requestSync({ type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_REPLACE, body: (w) => encodeMessageBody(NEWADDR, header, attrs, w), schema: NEWADDR, object })
  }

  /** Equivalent to: `ip addr del CIDR dev DEV`. Throws NotFoundError if absent. */
  async del(spec: AddressSpec): Promise<void> {
    this.delSync(spec)
  }

  delSync(spec: AddressSpec): void {
    const { header, attrs, object } = this.message(spec)
    try {
      this.sock.requestSync({ type: RTM_DELADDR, flags: 0, body: (w) => encodeMessageBody(DELADDR, header, attrs, w), schema: DELADDR, object })
    } catch (err) {
      if (isErrno(err, 'EADDRNOTAVAIL') || isErrno(err, 'ENOENT')) throw new NotFoundError('address', spec.cidr, `on '${spec.dev}'`, { cause: err })
      throw err
    }
  }

  /** Equivalent to: `ip addr show [dev DEV]` (`-4`/`-6` with family). Filtered by ifindex in the kernel. */
  async list(filter: { dev?: string | number; family?: 4 | 6 } = {}): Promise<Address[]> {
    return this.listSync(filter)
  }

  listSync(filter: { dev?: string | number; family?: 4 | 6 } = {}): Address[] {
    const index = filter.dev === undefined ? 0 : this.links.resolveSync(filter.dev)
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC
    const out = this.sock.dumpSync(
      { type: RTM_GETADDR, flags: 0, body: (w) => encodeMessageBody(GETADDR, { family, index }, {}, w), schema: GETADDR, object: 'addresses' },
      (m) => (m.type === RTM_NEWADDR ? decodeAddress(m) : undefined),
    )
    return withJson(index ? out.filter((a) => a.index === index) : out, (a) => ({ ifindex: a.index, ...addressJson(a) }))
  }
}
