/**
 * Links, addresses and routes in iproute2's JSON shape (`ip -j -d link show`, `ip -j addr show`,
 * `ip -j route show`): the keys and value spellings iproute2 prints, for the fields podnet knows.
 * The CLI's --json output is exactly this, and every decoded Link, Address and Route has a
 * toJSON() that uses it, so `JSON.stringify(await rt.link.list())` prints what `ip -j` would.
 *
 * Pure: no socket, no koffi. `nameOf` turns an ifindex into a name (master, dev, veth peer);
 * without one the index is printed where iproute2 prints a name.
 */
import { decodeAttrs, decodeFlatAttrsJson, type AttrValues } from '../core/schema.js'
import { infoDataSource, linkFlagNames } from './link-decode.js'
import type { Link } from './link-types.js'
import type { Address } from './addr.js'
import type { Route } from './route.js'
import { RTN_NAMES, RTPROT_NAMES, RT_SCOPE_NAMES, RT_TABLE_NAMES } from './names.js'

export type JsonObject = Record<string, unknown>
export type NameOf = (index: number) => string | undefined

const noNames: NameOf = () => undefined

const SNAKE = new Map<string, string>()
const snake = (s: string): string => {
  let v = SNAKE.get(s)
  if (v === undefined) SNAKE.set(s, (v = s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)))
  return v
}

function snakeKeys(v: AttrValues): JsonObject {
  const out: JsonObject = {}
  // for-in, not Object.entries: no [key, value] array per attribute (a bridge port has 45)
  for (const k in v) {
    if (k === 'unknown' || !Object.hasOwn(v, k)) continue
    const val = v[k]
    out[snake(k)] = typeof val === 'bigint' ? Number(val) : val instanceof Buffer ? val.toString('hex') : val
  }
  return out
}

/**
 * A link's info data in iproute2's shape: decoded from the message straight into JSON values
 * when the link has not decoded it yet (nothing kept on the link: a listing printed as JSON does
 * not hold every port's options until the end), else from the decoded value.
 */
function infoJson(l: Link, key: 'data' | 'slaveData'): JsonObject | undefined {
  const src = infoDataSource(l, key)
  if (src === null) return undefined
  if (src === undefined) {
    const v = l[key]
    return v ? snakeKeys(v) : undefined
  }
  return decodeFlatAttrsJson(src.set, src.buf, src.start, src.end, snake) ?? snakeKeys(decodeAttrs(src.set, src.buf, src.start, src.end))
}

const LINK_TYPES: Record<number, string> = { 1: 'ether', 772: 'loopback', 65534: 'none', 768: 'ipip', 776: 'sit' }
const LINKMODES = ['DEFAULT', 'DORMANT', 'TESTING']

/** A Link as `ip -j -d link show` prints it (the fields podnet knows). */
export function linkJson(l: Link, nameOf: NameOf = noNames): JsonObject {
  const o: JsonObject = { ifindex: l.index }
  if (l.link !== undefined) {
    const peer = l.linkNetnsid === undefined ? nameOf(l.link) : undefined
    if (peer) o.link = peer
    else o.link_index = l.link
  }
  o.ifname = l.name
  o.flags = linkFlagNames(l.flags)
  if (l.mtu !== undefined) o.mtu = l.mtu
  if (l.qdisc !== undefined) o.qdisc = l.qdisc
  if (l.master !== undefined) o.master = nameOf(l.master) ?? l.master
  o.operstate = l.operstate
  if (l.linkmode !== undefined) o.linkmode = LINKMODES[l.linkmode] ?? String(l.linkmode)
  if (l.group !== undefined) o.group = l.group === 0 ? 'default' : l.group
  if (l.txqlen !== undefined) o.txqlen = l.txqlen
  if (l.alias !== undefined) o.ifalias = l.alias
  o.link_type = LINK_TYPES[l.type] ?? String(l.type)
  if (l.address !== undefined) o.address = l.address
  if (l.broadcast !== undefined) o.broadcast = l.broadcast
  if (l.linkNetnsid !== undefined) o.link_netnsid = l.linkNetnsid
  if (l.kind !== undefined || l.slaveKind !== undefined) {
    const info: JsonObject = {}
    if (l.kind !== undefined) info.info_kind = l.kind
    const data = infoJson(l, 'data')
    if (data) info.info_data = data
    if (l.slaveKind !== undefined) info.info_slave_kind = l.slaveKind
    const slaveData = infoJson(l, 'slaveData')
    if (slaveData) info.info_slave_data = slaveData
    o.linkinfo = info
  }
  if (l.altnames) o.altnames = l.altnames
  return o
}

export const scopeName = (s: number): string => RT_SCOPE_NAMES[s] ?? String(s)

/** One address as an element of `ip -j addr show`'s addr_info. */
export function addressJson(a: Address): JsonObject {
  const o: JsonObject = { family: a.family === 4 ? 'inet' : 'inet6', local: a.local, prefixlen: a.prefixlen }
  if (a.peer) o.address = a.peer
  if (a.broadcast) o.broadcast = a.broadcast
  o.scope = scopeName(a.scope)
  if (a.label) o.label = a.label
  if (a.validLft !== undefined) o.valid_life_time = a.validLft
  if (a.preferredLft !== undefined) o.preferred_life_time = a.preferredLft
  return o
}

/** Addresses grouped per link, as `ip -j addr show` prints them. */
export function addressesByLinkJson(links: readonly Link[], addrs: readonly Address[], nameOf: NameOf = noNames): JsonObject[] {
  return links.map((l) => {
    const base = linkJson(l, nameOf)
    delete base.linkinfo
    base.addr_info = addrs.filter((a) => a.index === l.index).map(addressJson)
    return base
  })
}

/** A Route as `ip -j route show` prints it. */
export function routeJson(r: Route, nameOf: NameOf = noNames): JsonObject {
  const o: JsonObject = {}
  if (r.type !== 1) o.type = RTN_NAMES[r.type] ?? r.type
  o.dst = r.dst
  if (r.gateway) o.gateway = r.gateway
  if (r.oif !== undefined) o.dev = nameOf(r.oif) ?? r.oif
  if (r.table !== 254) o.table = RT_TABLE_NAMES[r.table] ?? r.table
  if (r.protocol !== 3) o.protocol = RTPROT_NAMES[r.protocol] ?? r.protocol
  if (r.scope !== 0) o.scope = scopeName(r.scope)
  if (r.prefsrc) o.prefsrc = r.prefsrc
  if (r.metric !== undefined) o.metric = r.metric
  o.flags = r.flags & 1 ? ['dead'] : []
  return o
}

/**
 * Gives decoded objects a non-enumerable toJSON in iproute2's shape, with names from `nameOf`:
 * one function for the whole list, called on its object (`item.toJSON()`, as JSON.stringify
 * does), not a closure per item.
 */
export function withJson<T extends object>(items: T[], toJson: (item: T, nameOf: NameOf) => JsonObject, nameOf: NameOf = noNames): T[] {
  const desc = { value(this: T) { return toJson(this, nameOf) }, enumerable: false, configurable: true, writable: true }
  for (let i = 0; i < items.length; i++) Object.defineProperty(items[i]!, 'toJSON', desc)
  return items
}

/** A name lookup over a list of links. */
export function namesOf(links: ReadonlyArray<{ index: number; name: string }>): NameOf {
  const m = new Map(links.map((l) => [l.index, l.name]))
  return (i) => m.get(i)
}
