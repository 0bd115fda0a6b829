/** Routes. Every method names the equivalent iproute2 command. */
import { routeJson, withJson } from './json.js'
import { ExistsError, InvalidArgumentError, NotFoundError, isErrno } from '../../errors.js'
import { AF_INET, AF_INET6, AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../core/header.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import * as R from './constants/rtnetlink.js'
import type { LinkApi } from './link.js'
import { routeAttrs, rtmsg } from './schema/route.js'
import { formatIp, parseIp, parsePrefixedAddress } from '../../net/ip.js'

export interface Route {
  family: 4 | 6
  /** "default" or "10.0.0.0/24". */
  dst: string
  gateway?: string
  oif?: number
  prefsrc?: string
  table: number
  protocol: number
  scope: number
  type: number
  metric?: number
  flags: number
  attrs: AttrValues
}

export interface RouteSpec {
  /** "default" or a CIDR. */
  dst: string
  /** Next hop. */
  via?: string
  /** Output interface name or ifindex. */
  dev?: string | number
  /** Table id (default main, 254). */
  table?: number
  metric?: number
  /** Preferred source address. */
  src?: string
  /** RTPROT_* (default boot, as ip(8)). */
  protocol?: number
  /** IPv6 only when dst is "default" and there is no gateway. */
  family?: 4 | 6
  /** The gateway is on the link even if no address of the device covers it (RTNH_F_ONLINK). */
  onlink?: boolean
}

const NEWROUTE: MessageSchema = { name: 'RTM_NEWROUTE', header: rtmsg, attrs: routeAttrs }
const DELROUTE: MessageSchema = { name: 'RTM_DELROUTE', header: rtmsg, attrs: routeAttrs }
const GETROUTE: MessageSchema = { name: 'RTM_GETROUTE', header: rtmsg, attrs: routeAttrs }

export { RTN_NAMES, RTPROT_NAMES, RT_SCOPE_NAMES, RT_TABLE_NAMES } from './names.js'

/**
 * The RTM_NEWROUTE/RTM_DELROUTE body for `spec` (`oif`: the resolved output ifindex). Pure;
 * header values and attribute order follow iproute2, so the bytes match `ip route add/del`.
 */
export function routeRequest(spec: RouteSpec, oif: number | undefined, forDelete: boolean): { header: StructValues; attrs: AttrValues } {
  const isDefault = spec.dst === 'default'
  const dst = isDefault ? undefined : parsePrefixedAddress(spec.dst, 'destination')
  const via = spec.via === undefined ? undefined : parseIp(spec.via, 'gateway')
  const family = dst?.family ?? via?.family ?? spec.family ?? 4
  if (dst && via && dst.family !== via.family) throw new InvalidArgumentError('gateway', `${spec.via} is IPv${via.family} but ${spec.dst} is IPv${dst.family}`)
  if (!via && spec.dev === undefined && !forDelete) throw new InvalidArgumentError('route', 'needs a gateway (via) or a device (dev)')
  const table = spec.table ?? R.RT_TABLE_MAIN
  const header: StructValues = {
    family: family === 4 ? AF_INET : AF_INET6,
    dstLen: dst?.prefixlen ?? 0,
    table: table < 256 ? table : R.RT_TABLE_UNSPEC,
    protocol: forDelete ? 0 : spec.protocol ?? R.RTPROT_BOOT,
    scope: forDelete ? R.RT_SCOPE_NOWHERE : via ? R.RT_SCOPE_UNIVERSE : R.RT_SCOPE_LINK,
    type: forDelete ? 0 : R.RTN_UNICAST,
  }
  if (spec.onlink) header.flags = R.RTNH_F_ONLINK
  const attrs: AttrValues = {}
  if (dst) attrs.dst = dst.address
  if (via) attrs.gateway = formatIp(via.family, via.value)
  if (spec.metric !== undefined) attrs.priority = spec.metric
  if (spec.src !== undefined) {
    const src = parseIp(spec.src, 'src')
    attrs.prefsrc = formatIp(src.family, src.value)
  }
  if (oif !== undefined) attrs.oif = oif
  if (table >= 256) attrs.table = table
  return { header, attrs }
}

export function decodeRoute(m: NlMessage): Route {
  const { header, attrs } = decodeMessageBody(NEWROUTE, m.buf, m.off, m.end)
  const family = Number(header.family) === AF_INET6 ? 6 : 4
  const dstLen = Number(header.dstLen)
  const r: Route = {
    family,
    dst: attrs.dst === undefined ? (dstLen === 0 ? 'default' : `${family === 4 ? '0.0.0.0' : '::'}/${dstLen}`) : `${String(attrs.dst)}${dstLen === (family === 4 ? 32 : 128) ? '' : `/${dstLen}`}`,
    table: attrs.table !== undefined ? Number(attrs.table) : Number(header.table),
    protocol: Number(header.protocol),
    scope: Number(header.scope),
    type: Number(header.type),
    flags: Number(header.flags),
    attrs,
  }
  if (attrs.gateway !== undefined) r.gateway = String(attrs.gateway)
  if (attrs.oif !== undefined) r.oif = Number(attrs.oif)
  if (attrs.prefsrc !== undefined) r.prefsrc = String(attrs.prefsrc)
  if (attrs.priority !== undefined) r.metric = Number(attrs.priority)
  return r
}

export class RouteApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  private message(spec: RouteSpec, forDelete: boolean): { header: StructValues; attrs: AttrValues; object: string } {
    routeRequest(spec, undefined, forDelete) // validate before any lookup
    const oif = spec.dev === undefined ? undefined : this.links.resolveSync(spec.dev)
    return {
      ...routeRequest(spec, oif, forDelete),
      object: `route ${spec.dst}${spec.via ? ` via ${spec.via}` : ''}${spec.dev !== undefined ? ` dev ${spec.dev}` : ''}`,
    }
  }

  /** Equivalent to: `ip route add DST [via GW] [dev DEV] [table T] [metric M]`. */
  async add(spec: RouteSpec): Promise<void> {
    this.addSync(spec)
  }

  addSync(spec: RouteSpec): void {
    const { header, attrs, object } = this.message(spec, false)
    try {
      this.sock.requestSync({ type: R.RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, body: (w) => encodeMessageBody(NEWROUTE, header, attrs, w), schema: NEWROUTE, object })
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new ExistsError('route', spec.dst, '', { cause: err })
      throw err
    }
  }

  /** Equivalent to: `ip route replace DST [via GW] [dev DEV] [onlink]`. */
  async replace(spec: RouteSpec): Promise<void> {
    this.replaceSync(spec)
  }

  replaceSync(spec: RouteSpec): void {
    const { header, attrs, object } = this.message(spec, false)
    this.sock.requestSync({ type: R.RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_REPLACE, body: (w) => encodeMessageBody(NEWROUTE, header, attrs, w), schema: NEWROUTE, object })
  }

  /** Equivalent to: `ip route del DST [via GW] [dev DEV]`. Throws NotFoundError when absent. */
  async del(spec: RouteSpec): Promise<void> {
    this.delSync(spec)
  }

  delSync(spec: RouteSpec): void {
    const { header, attrs, object } = this.message(spec, true)
    try {
      this.sock.requestSync({ type: R.RTM_DELROUTE, flags: 0, body: (w) => encodeMessageBody(DELROUTE, header, attrs, w), schema: DELROUTE, object })
    } catch (err) {
      if (isErrno(err, 'ESRCH')) throw new NotFoundError('route', spec.dst, '', { cause: err })
      throw err
    }
  }

  /**
   * Equivalent to: `ip route show [table T]` (IPv4) / `ip -6 route show`; family undefined lists both.
   * The table filter runs in the kernel (strict checking); table 'all' lists every table.
   */
  async list(filter: { family?: 4 | 6; table?: number | 'all' } = {}): Promise<Route[]> {
    return this.listSync(filter)
  }

  listSync(filter: { family?: 4 | 6; table?: number | 'all' } = {}): Route[] {
    const table = filter.table ?? R.RT_TABLE_MAIN
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC
    const header: StructValues = { family }
    const attrs: AttrValues = {}
    if (table !== 'all' && this.sock.strictCheck) attrs.table = table
    const routes = this.sock.dumpSync(
      { type: R.RTM_GETROUTE, flags: 0, body: (w) => encodeMessageBody(GETROUTE, header, attrs, w), schema: GETROUTE, object: 'routes' },
      (m) => (m.type === R.RTM_NEWROUTE ? decodeRoute(m) : undefined),
    )
    return withJson(routes.filter((r) => (table === 'all' || r.table === table) && !(r.flags & R.RTM_F_CLONED)), routeJson)
  }
}
