/** Output for the CLI: --json (iproute2 key names where both know a field) or aligned tables. */
import type { Address, Link, Route } from '../netlink/route/index.js'
// the modules themselves, not the route index: these do not load koffi
import { addressesByLinkJson, linkJson, routeJson, scopeName } from '../netlink/route/json.js'
import { linkFlagNames } from '../netlink/route/link-decode.js'
import { RTPROT_NAMES, RT_TABLE_NAMES } from '../netlink/route/names.js'

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
  out.write(`${jsonText(value)}\n`)
}

/**
 * JSON.stringify with bigints as numbers and Buffers as hex. Through toJSON methods installed
 * for the call (and put back after), not a replacer: V8 calls a replacer function for every key,
 * which made `link ls --json` of 2,003 links 10-20 ms slower; toJSON is looked up on the
 * prototype chain the serializer walks anyway.
 */
export function jsonText(value: unknown): string {
  return withJsonHooks(() => JSON.stringify(value))
}

/**
 * Prints `items.map(toJson)` as one JSON array, each element made and serialized before the next
 * is made (same text as printJson): the elements' objects die young instead of all living until
 * the end, which in a short-lived process listing thousands of links is garbage collection time.
 */
export function printJsonArray<T>(items: readonly T[], toJson: (item: T) => unknown, out: NodeJS.WritableStream = process.stdout): void {
  withJsonHooks(() => {
    // written in pieces of ~64 KiB: the whole text (1.2 MB for 2,003 links) and its bytes are never
    // in memory at once
    let text = '['
    for (let i = 0; i < items.length; i++) {
      text += (i ? ',' : '') + (JSON.stringify(toJson(items[i]!)) ?? 'null')
      if (text.length >= 65536) {
        out.write(text)
        text = ''
      }
    }
    out.write(`${text}]\n`)
  })
}

function withJsonHooks<R>(fn: () => R): R {
  const saved = [BigInt.prototype, Buffer.prototype].map((proto) => [proto, Object.getOwnPropertyDescriptor(proto, 'toJSON')] as const)
  Object.defineProperty(BigInt.prototype, 'toJSON', { configurable: true, writable: true, value(this: bigint) { return Number(this) } })
  Object.defineProperty(Buffer.prototype, 'toJSON', { configurable: true, writable: true, value(this: Buffer) { return this.toString('hex') } })
  try {
    return fn()
  } finally {
    for (const [proto, d] of saved) {
      if (d) Object.defineProperty(proto, 'toJSON', d)
      else delete (proto as { toJSON?: unknown }).toJSON
    }
  }
}

/** A Link as `ip -j -d link show` prints it (netlink/route/json.ts). */
export const linkToJson = (l: Link, nameOf: (index: number) => string | undefined): Row => linkJson(l, nameOf)

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

/** Addresses grouped per link, as `ip -j addr show` prints them (netlink/route/json.ts). */
export const addrsToJson = (links: Link[], addrs: Address[], nameOf: (index: number) => string | undefined): Row[] => addressesByLinkJson(links, addrs, nameOf)

export const ADDR_COLUMNS: Array<[string, string]> = [['dev', 'DEV'], ['family', 'FAMILY'], ['address', 'ADDRESS'], ['scope', 'SCOPE']]

export function addrRow(a: Address, nameOf: (index: number) => string | undefined): Row {
  return { dev: nameOf(a.index) ?? a.index, family: a.family === 4 ? 'inet' : 'inet6', address: `${a.local}/${a.prefixlen}`, scope: scopeName(a.scope) }
}

/** A Route as `ip -j route show` prints it (netlink/route/json.ts). */
export const routeToJson = (r: Route, nameOf: (index: number) => string | undefined): Row => routeJson(r, nameOf)

export const ROUTE_COLUMNS: Array<[string, string]> = [
  ['dst', 'DST'], ['gateway', 'GATEWAY'], ['dev', 'DEV'], ['protocol', 'PROTO'], ['scope', 'SCOPE'], ['metric', 'METRIC'], ['table', 'TABLE'],
]

export function routeRow(r: Route, nameOf: (index: number) => string | undefined): Row {
  return {
    dst: r.dst, gateway: r.gateway, dev: r.oif !== undefined ? nameOf(r.oif) ?? r.oif : '',
    protocol: RTPROT_NAMES[r.protocol] ?? r.protocol, scope: scopeName(r.scope), metric: r.metric, table: RT_TABLE_NAMES[r.table] ?? r.table,
  }
}
