/**
 * One network's names, built from its attachment records (pure: no I/O). The network's name is
 * its domain: `web` and `web.NETWORK` are the same name. podnet is authoritative for that
 * domain and for the reverse names of the network's subnets; anything else is forwarded.
 *
 *   lookup('web', A)             -> answer [10.88.0.2]
 *   lookup('web.net1', AAAA)     -> nodata (web has no IPv6 address: NOERROR, no answer)
 *   lookup('nope.net1', A)       -> nxdomain (podnet's domain, no such name)
 *   lookup('example.com', A)     -> forward
 *   lookup('2.0.88.10.in-addr.arpa', PTR) -> answer [web.net1]
 */
import { cidrContains, formatIp, parseCidr, tryParseIp, type Cidr, type IpAddress } from '../net/ip.js'

/** What the zone says about a question. */
export type ZoneAnswer =
  | { kind: 'answer'; type: 'A' | 'AAAA'; data: string[] }
  | { kind: 'answer'; type: 'PTR'; data: string[] }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'forward' }

/** The part of an attachment record a zone needs. */
export interface ZoneRecord {
  /** Canonical names (lowercase, no trailing dot); the first is the record's own name (PTR). */
  names: readonly string[]
  /** Addresses, with or without a prefix length ('10.88.0.2/24'). */
  addresses: readonly string[]
}

/** The query types a zone answers (everything else about a local name is NODATA). */
export type QueryType = 'A' | 'AAAA' | 'PTR' | 'ANY' | string

const stripPrefix = (a: string): string => a.split('/')[0]!

export class Zone {
  /** The network's name as a domain (lowercase). */
  readonly domain: string
  private readonly subnets: Cidr[]
  private readonly byName = new Map<string, { v4: string[]; v6: string[] }>()
  private readonly byAddress = new Map<string, string>()

  constructor(network: string, subnets: readonly string[], records: readonly ZoneRecord[]) {
    this.domain = network.toLowerCase()
    this.subnets = subnets.map((s) => parseCidr(s, 'subnet', { allowHostBits: true }))
    for (const r of records) {
      const addrs = r.addresses.map((a) => canonical(stripPrefix(a)))
      for (const n of r.names) {
        let e = this.byName.get(n)
        if (!e) this.byName.set(n, (e = { v4: [], v6: [] }))
        for (const a of addrs) {
          const list = a.includes(':') ? e.v6 : e.v4
          if (!list.includes(a)) list.push(a)
        }
      }
      const own = r.names[0]
      if (own !== undefined) for (const a of addrs) if (!this.byAddress.has(a)) this.byAddress.set(a, `${own}.${this.domain}`)
    }
  }

  /** Number of distinct names. */
  get size(): number {
    return this.byName.size
  }

  /** Every name with its addresses (for `podnet dns records`). */
  entries(): Array<{ name: string; addresses: string[] }> {
    return [...this.byName].map(([name, e]) => ({ name, addresses: [...e.v4, ...e.v6] })).sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Answers one question; `qname` in any case, with or without the final dot. */
  lookup(qname: string, qtype: QueryType): ZoneAnswer {
    const name = qname.toLowerCase().replace(/\.$/, '')
    if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return this.reverse(name, qtype)
    let local = name
    let inDomain = false
    if (name === this.domain) return { kind: 'nodata' }
    if (name.endsWith(`.${this.domain}`)) {
      local = name.slice(0, -this.domain.length - 1)
      inDomain = true
    }
    const e = this.byName.get(local)
    if (!e) return inDomain ? { kind: 'nxdomain' } : { kind: 'forward' }
    if (qtype === 'A' && e.v4.length) return { kind: 'answer', type: 'A', data: e.v4 }
    if (qtype === 'AAAA' && e.v6.length) return { kind: 'answer', type: 'AAAA', data: e.v6 }
    return { kind: 'nodata' }
  }

  private reverse(name: string, qtype: QueryType): ZoneAnswer {
    const ip = reverseNameToIp(name)
    if (!ip || !this.subnets.some((s) => cidrContains(s, ip))) return { kind: 'forward' }
    const owner = this.byAddress.get(formatIp(ip.family, ip.value))
    if (!owner) return { kind: 'nxdomain' }
    return qtype === 'PTR' ? { kind: 'answer', type: 'PTR', data: [owner] } : { kind: 'nodata' }
  }
}

const canonical = (a: string): string => {
  const ip = tryParseIp(a)
  return ip ? formatIp(ip.family, ip.value) : a
}

/**
 * The address a reverse name stands for: '2.0.88.10.in-addr.arpa' -> 10.88.0.2, 32 nibbles +
 * '.ip6.arpa' -> the IPv6 address. Undefined for a partial or malformed name (a zone cut).
 */
export function reverseNameToIp(name: string): IpAddress | undefined {
  const n = name.toLowerCase().replace(/\.$/, '')
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.')
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) < 256)) return undefined
    return tryParseIp(parts.reverse().join('.'))
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.')
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined
    let v = 0n
    for (const x of nibbles.reverse()) v = (v << 4n) | BigInt(parseInt(x, 16))
    return { family: 6, value: v }
  }
  return undefined
}

/** The reverse name of an address: 10.88.0.2 -> '2.0.88.10.in-addr.arpa'. */
export function ipToReverseName(text: string): string {
  const ip = tryParseIp(text)
  if (!ip) throw new TypeError(`not an IP address: '${text}'`)
  if (ip.family === 4) return `${formatIp(4, ip.value).split('.').reverse().join('.')}.in-addr.arpa`
  const hex = ip.value.toString(16).padStart(32, '0')
  return `${[...hex].reverse().join('.')}.ip6.arpa`
}
