/** Output for the CLI: --json (iproute2 key names where both know a field) or aligned tables. */
import type { Address, Link, Route } from '../netlink/route/index.js'
// the modules themselves, not the route index: these do not load koffi
import { linkFlagNames } from '../netlink/route/link.js'
import { RTPROT_NAMES, RT_SCOPE_NAMES, RT_TABLE_NAMES } from '../netlink/route/route.js'
import type { AttrValues } from '../netlink/core/schema.js'

export type Row = Record<string, unknown>

/** Prints rows as an aligned table with upper-case headers; empty cells show '-'. */
export function printTable(rows: Row[], columns: Array<[key: string, header: string]>, out: NodeJS.WritableStream = process.stdout): void {
  const cell = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : Array.isArray(v) ? v.join(',') : String(v))
  const cells = rows.map((r) => columns.map(([k]) => cell(r[k])))
  const widths = columns.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)))
  const line = (vals: string[]): string => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd()
  out.write(`${line(columns.map(([, h]) => h))}\n`)
  for (const c of cells) out.write(`${line(c)}\n`)
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : Buffer.isBuffer(v) ? v.toString('hex') : v))}\n`)
}

const SNAKE = new Map<string, string>()
const snake = (s: string): string => {
  let v = SNAKE.get(s)
  if (v === undefined) SNAKE.set(s, (v = s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)))
  return v
}

function snakeKeys(v: AttrValues): Row {
  const out: Row = {}
  for (const [k, val] of Object.entries(v)) {
    if (k === 'unknown') continue
    out[snake(k)] = typeof val === 'bigint' ? Number(val) : Buffer.isBuffer(val) ? val.toString('hex') : val
  }
  return out
}

const LINK_TYPES: Record<number, string> = { 1: 'ether', 772: 'loopback', 65534: 'none', 768: 'ipip', 776: 'sit' }
const LINKMODES = ['DEFAULT', 'DORMANT', 'TESTING']

/** A Link as `ip -j -d link show` prints it (the fields podnet knows). */
export function linkToJson(l: Link, nameOf: (index: number) => string | undefined): Row {
  const o: Row = { ifindex: l.index }
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
  o.link_type = LINK_TYPES[l.type] ?? String(l.type)
  if (l.address !== undefined) o.address = l.address
  if (l.broadcast !== undefined) o.broadcast = l.broadcast
  if (l.linkNetnsid !== undefined) o.link_netnsid = l.linkNetnsid
  if (l.kind !== undefined || l.slaveKind !== undefined) {
    const info: Row = {}
    if (l.kind !== undefined) info.info_kind = l.kind
    if (l.data) info.info_data = snakeKeys(l.data)
    if (l.slaveKind !== undefined) info.info_slave_kind = l.slaveKind
    if (l.slaveData) info.info_slave_data = snakeKeys(l.slaveData)
    o.linkinfo = info
  }
  if (l.altnames) o.altnames = l.altnames
  return o
}

export function linkRow(l: Link, nameOf: (index: number) => string | undefined): Row {
  return {
    index: l.index,
    name: l.name,
    kind: l.kind ?? (l.type === 772 ? 'loopback' : ''),
    state: l.operstate,
    mtu: l.mtu,
    master: l.master !== undefined ? nameOf(l.master) ?? l.master : '',
    address: l.address,
    flags: linkFlagNames(l.flags).join(','),
  }
}

export const LINK_COLUMNS: Array<[string, string]> = [
  ['index', 'INDEX'], ['name', 'NAME'], ['kind', 'KIND'], ['state', 'STATE'], ['mtu', 'MTU'], ['master', 'MASTER'], ['address', 'ADDRESS'], ['flags', 'FLAGS'],
]

const scopeName = (s: number): string => RT_SCOPE_NAMES[s] ?? String(s)

/** Addresses grouped per link, as `ip -j addr show` prints them. */
export function addrsToJson(links: Link[], addrs: Address[], nameOf: (index: number) => string | undefined): Row[] {
  return links
    .map((l) => {
      const base = linkToJson(l, nameOf)
      delete base.linkinfo
      base.addr_info = addrs
        .filter((a) => a.index === l.index)
        .map((a) => {
          const o: Row = { family: a.family === 4 ? 'inet' : 'inet6', local: a.local, prefixlen: a.prefixlen }
          if (a.peer) o.address = a.peer
          if (a.broadcast) o.broadcast = a.broadcast
          o.scope = scopeName(a.scope)
          if (a.label) o.label = a.label
          if (a.validLft !== undefined) o.valid_life_time = a.validLft
          if (a.preferredLft !== undefined) o.preferred_life_time = a.preferredLft
          return o
        })
      return base
    })
}

export const ADDR_COLUMNS: Array<[string, string]> = [['dev', 'DEV'], ['family', 'FAMILY'], ['address', 'ADDRESS'], ['scope', 'SCOPE']]

export function addrRow(a: Address, nameOf: (index: number) => string | undefined): Row {
  return { dev: nameOf(a.index) ?? a.index, family: a.family === 4 ? 'inet' : 'inet6', address: `${a.local}/${a.prefixlen}`, scope: scopeName(a.scope) }
}

/** A Route as `ip -j route show` prints it. */
export function routeToJson(r: Route, nameOf: (index: number) => string | undefined): Row {
  const o: Row = {}
  if (r.type !== 1) o.type = r.type
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

export const ROUTE_COLUMNS: Array<[string, string]> = [
  ['dst', 'DST'], ['gateway', 'GATEWAY'], ['dev', 'DEV'], ['protocol', 'PROTO'], ['scope', 'SCOPE'], ['metric', 'METRIC'], ['table', 'TABLE'],
]

export function routeRow(r: Route, nameOf: (index: number) => string | undefined): Row {
  return {
    dst: r.dst, gateway: r.gateway, dev: r.oif !== undefined ? nameOf(r.oif) ?? r.oif : '',
    protocol: RTPROT_NAMES[r.protocol] ?? r.protocol, scope: scopeName(r.scope), metric: r.metric, table: RT_TABLE_NAMES[r.table] ?? r.table,
  }
}
