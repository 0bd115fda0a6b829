/**
 * Ready-made expression lists for the rules podnet's bridge layer writes. Pure functions:
 * each returns Expr[] to spread into a rule, and produces the same bytecode `nft` 1.0.6
 * generates for the equivalent rule text (checked against captured bytes in the unit tests).
 *
 *   [...matchSaddr('10.88.0.0/16'), ...matchOifname('pnbr0', { neq: true }), ...masquerade()]
 *     ==  ip saddr 10.88.0.0/16 oifname != "pnbr0" masquerade
 */
import { InvalidArgumentError } from '../../errors.js'
import { ipFamily, ipToBytes, ipValueToBytes, parsePrefixedAddress } from '../../net/ip.js'
import {
  IP_CT_ESTABLISHED, IP_CT_NEW, IP_CT_RELATED, NFPROTO_IPV4, NFPROTO_IPV6, NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY, NF_NAT_RANGE_PROTO_SPECIFIED, NFT_REG32_00, NFT_REG_1,
  NFT_REG_2,
} from './constants.js'
import { NF_CT_STATE_INVALID_BIT, NF_CT_STATE_UNTRACKED_BIT } from './constants-extra.js'
import { RTN_LOCAL } from '../route/constants/rtnetlink.js'
import type { Expr } from './expr/index.js'
import type { Family } from './names.js'

export interface MatchOptions {
  /** Match when the value differs (`!=`). */
  neq?: boolean
}

export interface AddrMatchOptions extends MatchOptions {
  /**
   * Family of the table the rule goes into. In `inet` tables the rule first checks the
   * layer-3 protocol (`meta nfproto ipv4`), in `bridge`/`netdev` tables the ethertype.
   */
  tableFamily?: Family
}

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
const be16 = (n: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

/** "10.88.0.0/16", "fd00::/64" or a bare address as network-order bytes with host bits cleared. */
function cidrBytes(cidr: string): { bytes: Buffer; prefix: number; v6: boolean } {
  const a = parsePrefixedAddress(cidr, 'cidr')
  const bytes = ipValueToBytes(a.family, a.value)
  const mask = prefixMask(bytes.length, a.prefixlen)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] ?? 0) & (mask[i] ?? 0)
  return { bytes, prefix: a.prefixlen, v6: a.family === 6 }
}

function prefixMask(len: number, prefix: number): Buffer {
  const m = Buffer.alloc(len)
  for (let i = 0; i < len; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8))
    m[i] = (0xff << (8 - bits)) & 0xff
  }
  return m
}

function l3Guard(v6: boolean, tableFamily: Family | undefined): Expr[] {
  if (tableFamily === 'inet') {
    return [
      { kind: 'meta', key: 'nfproto', dreg: NFT_REG_1 },
      { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: Buffer.from([v6 ? NFPROTO_IPV6 : NFPROTO_IPV4]) },
    ]
  }
  if (tableFamily === 'bridge' || tableFamily === 'netdev') {
    return [
      { kind: 'meta', key: 'protocol', dreg: NFT_REG_1 },
      { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: be16(v6 ? 0x86dd : 0x0800) },
    ]
  }
  return []
}

function matchAddr(field: 'saddr' | 'daddr', cidr: string, opts: AddrMatchOptions): Expr[] {
  const { bytes, prefix, v6 } = cidrBytes(cidr)
  const full = bytes.length
  const offset = v6 ? (field === 'saddr' ? 8 : 24) : (field === 'saddr' ? 12 : 16)
  const op = opts.neq ? 'neq' : 'eq'
  const out = l3Guard(v6, opts.tableFamily)
  if (prefix > 0 && prefix % 8 === 0) {
    // byte-aligned prefix: compare only the prefix bytes, as nft does
    const len = prefix / 8
    out.push(
      { kind: 'payload', base: 'network', offset, len, dreg: NFT_REG_1 },
      { kind: 'cmp', op, sreg: NFT_REG_1, data: bytes.subarray(0, len) },
    )
    return out
  }
  out.push(
    { kind: 'payload', base: 'network', offset, len: full, dreg: NFT_REG_1 },
    { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: full, mask: prefixMask(full, prefix), xor: Buffer.alloc(full) },
    { kind: 'cmp', op, sreg: NFT_REG_1, data: bytes },
  )
  return out
}

/** Equivalent to: `ip saddr 10.88.0.0/16` (or `ip6 saddr ...`, `!=` with neq). */
export function matchSaddr(cidr: string, opts: AddrMatchOptions = {}): Expr[] {
  return matchAddr('saddr', cidr, opts)
}

/** Equivalent to: `ip daddr 10.88.0.0/16` (or `ip6 daddr ...`, `!=` with neq). */
export function matchDaddr(cidr: string, opts: AddrMatchOptions = {}): Expr[] {
  return matchAddr('daddr', cidr, opts)
}

/** 16-byte, zero-padded interface name (IFNAMSIZ), as meta iifname/oifname compare it. */
export function ifnameBytes(name: string): Buffer {
  const len = Buffer.byteLength(name)
  if (len === 0 || len > 15 || name.includes('\0')) throw new InvalidArgumentError('ifname', `'${name}' is not a valid interface name (1-15 bytes)`)
  const b = Buffer.alloc(16)
  b.write(name, 'utf8')
  return b
}

/** Equivalent to: `iifname "eth0"` (or `iifname != "eth0"`). */
export function matchIifname(name: string, opts: MatchOptions = {}): Expr[] {
  return [
    { kind: 'meta', key: 'iifname', dreg: NFT_REG_1 },
    { kind: 'cmp', op: opts.neq ? 'neq' : 'eq', sreg: NFT_REG_1, data: ifnameBytes(name) },
  ]
}

/** Equivalent to: `oifname "eth0"` (or `oifname != "eth0"`). */
export function matchOifname(name: string, opts: MatchOptions = {}): Expr[] {
  return [
    { kind: 'meta', key: 'oifname', dreg: NFT_REG_1 },
    { kind: 'cmp', op: opts.neq ? 'neq' : 'eq', sreg: NFT_REG_1, data: ifnameBytes(name) },
  ]
}

export type L4Proto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | number
const L4: Record<Exclude<L4Proto, number>, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 }

function protoNumber(p: L4Proto): number {
  const n = typeof p === 'number' ? p : L4[p]
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 255) throw new InvalidArgumentError('proto', `bad layer-4 protocol '${String(p)}'`)
  return n
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new InvalidArgumentError('port', `bad port ${port}`)
  return port
}

/** Equivalent to: `meta l4proto tcp`. */
export function matchL4proto(proto: L4Proto): Expr[] {
  return [
    { kind: 'meta', key: 'l4proto', dreg: NFT_REG_1 },
    { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: Buffer.from([protoNumber(proto)]) },
  ]
}

/** Equivalent to: `tcp dport 8080` (= `meta l4proto tcp th dport 8080`). */
export function matchDport(proto: L4Proto, port: number, opts: MatchOptions = {}): Expr[] {
  return [
    ...matchL4proto(proto),
    { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: NFT_REG_1 },
    { kind: 'cmp', op: opts.neq ? 'neq' : 'eq', sreg: NFT_REG_1, data: be16(checkPort(port)) },
  ]
}

/** Equivalent to: `tcp sport 8080`. */
export function matchSport(proto: L4Proto, port: number, opts: MatchOptions = {}): Expr[] {
  return [
    ...matchL4proto(proto),
    { kind: 'payload', base: 'transport', offset: 0, len: 2, dreg: NFT_REG_1 },
    { kind: 'cmp', op: opts.neq ? 'neq' : 'eq', sreg: NFT_REG_1, data: be16(checkPort(port)) },
  ]
}

/** Equivalent to: `ip saddr @set` (`!= @set` with invert); the set holds ipv4_addr or ipv6_addr keys. */
export function matchAddrInSet(field: 'saddr' | 'daddr', set: string, opts: { v6?: boolean; invert?: boolean; tableFamily?: Family } = {}): Expr[] {
  const v6 = opts.v6 ?? false
  return [
    ...l3Guard(v6, opts.tableFamily),
    { kind: 'payload', base: 'network', offset: v6 ? (field === 'saddr' ? 8 : 24) : (field === 'saddr' ? 12 : 16), len: v6 ? 16 : 4, dreg: NFT_REG_1 },
    { kind: 'lookup', set, sreg: NFT_REG_1, ...(opts.invert ? { invert: true } : {}) },
  ]
}

/** Equivalent to: `tcp dport @set`; the set holds inet_service keys. */
export function matchDportInSet(proto: L4Proto, set: string, opts: { invert?: boolean } = {}): Expr[] {
  return [
    ...matchL4proto(proto),
    { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: NFT_REG_1 },
    { kind: 'lookup', set, sreg: NFT_REG_1, ...(opts.invert ? { invert: true } : {}) },
  ]
}

/** Equivalent to: `fib daddr type local` (the destination is an address of this host). */
export function matchFibDaddrLocal(): Expr[] {
  return [
    { kind: 'fib', flags: ['daddr'], result: 'addrtype', dreg: NFT_REG_1 },
    { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: u32le(RTN_LOCAL) },
  ]
}

export type CtState = 'invalid' | 'established' | 'related' | 'new' | 'untracked'
const CT_STATE_BITS: Record<CtState, number> = {
  invalid: NF_CT_STATE_INVALID_BIT,
  established: 1 << (IP_CT_ESTABLISHED + 1),
  related: 1 << (IP_CT_RELATED + 1),
  new: 1 << (IP_CT_NEW + 1),
  untracked: NF_CT_STATE_UNTRACKED_BIT,
}

/** Equivalent to: `ct state established,related` (any of the states). */
export function matchCtState(states: readonly CtState[]): Expr[] {
  if (!states.length) throw new InvalidArgumentError('ct state', 'needs at least one state')
  const mask = states.reduce((m, s) => {
    const bit = CT_STATE_BITS[s]
    if (bit === undefined) throw new InvalidArgumentError('ct state', `unknown state '${String(s)}'`)
    return m | bit
  }, 0)
  return [
    { kind: 'ct', key: 'state', dreg: NFT_REG_1 },
    { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: 4, mask: u32le(mask), xor: Buffer.alloc(4) },
    { kind: 'cmp', op: 'neq', sreg: NFT_REG_1, data: Buffer.alloc(4) },
  ]
}

export interface MasqueradeOptions {
  random?: boolean
  fullyRandom?: boolean
  persistent?: boolean
  /** Source port range [min, max] (needs a preceding l4 protocol match). */
  ports?: readonly [number, number]
}

/** Equivalent to: `masquerade [to :min-max] [random,persistent,fully-random]`. */
export function masquerade(opts: MasqueradeOptions = {}): Expr[] {
  let flags = (opts.random ? NF_NAT_RANGE_PROTO_RANDOM : 0) | (opts.persistent ? NF_NAT_RANGE_PERSISTENT : 0) |
    (opts.fullyRandom ? NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0)
  if (!opts.ports) return [flags ? { kind: 'masq', flags } : { kind: 'masq' }]
  flags |= NF_NAT_RANGE_PROTO_SPECIFIED
  return [
    { kind: 'immediate', dreg: NFT_REG_1, data: be16(checkPort(opts.ports[0])) },
    { kind: 'immediate', dreg: NFT_REG_2, data: be16(checkPort(opts.ports[1])) },
    { kind: 'masq', flags, regProtoMin: NFT_REG_1, regProtoMax: NFT_REG_2 },
  ]
}

function nat(type: 'snat' | 'dnat', addr: string, port: number | undefined): Expr[] {
  const fam = ipFamily(addr)
  if (!fam) throw new InvalidArgumentError('address', `'${addr}' is not an IP address`)
  const out: Expr[] = [{ kind: 'immediate', dreg: NFT_REG_1, data: ipToBytes(addr) }]
  if (port === undefined) {
    out.push({ kind: 'nat', type, family: fam === 4 ? 'ip' : 'ip6', regAddrMin: NFT_REG_1 })
    return out
  }
  out.push(
    { kind: 'immediate', dreg: NFT_REG_2, data: be16(checkPort(port)) },
    { kind: 'nat', type, family: fam === 4 ? 'ip' : 'ip6', regAddrMin: NFT_REG_1, regProtoMin: NFT_REG_2, flags: NF_NAT_RANGE_PROTO_SPECIFIED },
  )
  return out
}

/**
 * Equivalent to: `dnat to 10.88.0.2:80` / `dnat to [fd00::2]:80` (`dnat ip to ...` in inet
 * tables). A port needs a preceding l4 protocol match (matchDport).
 */
export function dnat(addr: string, port?: number): Expr[] {
  return nat('dnat', addr, port)
}

/** Equivalent to: `snat to 192.0.2.1[:port]`. */
export function snat(addr: string, port?: number): Expr[] {
  return nat('snat', addr, port)
}

/** Equivalent to: `redirect [to :port]`. */
export function redirect(port?: number): Expr[] {
  if (port === undefined) return [{ kind: 'redir' }]
  return [
    { kind: 'immediate', dreg: NFT_REG_1, data: be16(checkPort(port)) },
    { kind: 'redir', regProtoMin: NFT_REG_1, flags: NF_NAT_RANGE_PROTO_SPECIFIED },
  ]
}

/**
 * A field of a concatenated key or value, by its nft name; each is loaded into the next free
 * 32-bit register(s). Lengths: addresses 4/16, l4proto 1, ports 2, interface names 16, mark 4.
 */
export type ConcatField = 'ip saddr' | 'ip daddr' | 'ip6 saddr' | 'ip6 daddr' | 'meta l4proto' | 'th sport' | 'th dport'
  | 'meta iifname' | 'meta oifname' | 'meta mark'

const CONCAT_FIELDS: Readonly<Record<ConcatField, { len: number; load: (dreg: number) => Expr; v6?: boolean; v4?: boolean }>> = {
  'ip saddr': { len: 4, v4: true, load: (dreg) => ({ kind: 'payload', base: 'network', offset: 12, len: 4, dreg }) },
  'ip daddr': { len: 4, v4: true, load: (dreg) => ({ kind: 'payload', base: 'network', offset: 16, len: 4, dreg }) },
  'ip6 saddr': { len: 16, v6: true, load: (dreg) => ({ kind: 'payload', base: 'network', offset: 8, len: 16, dreg }) },
  'ip6 daddr': { len: 16, v6: true, load: (dreg) => ({ kind: 'payload', base: 'network', offset: 24, len: 16, dreg }) },
  'meta l4proto': { len: 1, load: (dreg) => ({ kind: 'meta', key: 'l4proto', dreg }) },
  'th sport': { len: 2, load: (dreg) => ({ kind: 'payload', base: 'transport', offset: 0, len: 2, dreg }) },
  'th dport': { len: 2, load: (dreg) => ({ kind: 'payload', base: 'transport', offset: 2, len: 2, dreg }) },
  'meta iifname': { len: 16, load: (dreg) => ({ kind: 'meta', key: 'iifname', dreg }) },
  'meta oifname': { len: 16, load: (dreg) => ({ kind: 'meta', key: 'oifname', dreg }) },
  'meta mark': { len: 4, load: (dreg) => ({ kind: 'meta', key: 'mark', dreg }) },
}

/**
 * The register number nft writes for the 32-bit slot `slot` (0 = the first slot after the
 * verdict register): the 16-byte name NFT_REG_1..4 when the slot starts one (slots 0, 4, 8, 12),
 * else NFT_REG32_xx. So `ip daddr . meta l4proto . th dport` loads into 1, 9, 10 and
 * `ip6 daddr . meta l4proto . th dport` into 1, 2, 13 (nft 1.0.6, netlink_linearize.c).
 */
export function concatRegister(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new InvalidArgumentError('register', `32-bit register slot ${slot} is out of range (0-15)`)
  return slot % 4 === 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot
}

/** Loads `fields` one after the other from register 1 on, each padded to 4 bytes; returns the loads and the slots used. */
export function loadConcat(fields: readonly ConcatField[]): { exprs: Expr[]; slots: number } {
  if (!fields.length) throw new InvalidArgumentError('concatenation', 'needs at least one field')
  const defs = fields.map((f) => {
    const def = CONCAT_FIELDS[f]
    if (!def) throw new InvalidArgumentError('concatenation', `unknown field '${String(f)}'`)
    return def
  })
  const slots = defs.reduce((n, d) => n + Math.ceil(d.len / 4), 0)
  if (slots > 16) throw new InvalidArgumentError('concatenation', `${fields.join(' . ')} needs ${slots * 4} bytes, more than the 64 of the registers`)
  const exprs: Expr[] = []
  let slot = 0
  for (const def of defs) {
    exprs.push(def.load(concatRegister(slot)))
    slot += Math.ceil(def.len / 4)
  }
  return { exprs, slots }
}

/**
 * DNAT to the address and port a map associates with a concatenated key:
 * `dnat ip to ip daddr . meta l4proto . th dport map @hostip-ports4` (the map's data type is
 * `ipv4_addr . inet_service`, or `ipv6_addr . inet_service` with family 6). nft 1.0.6's bytecode:
 *
 *   [ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ]     inet tables only (guard)
 *   [ payload load 4b @ network header + 16 => reg 1 ]              the key, field by field
 *   [ meta load l4proto => reg 9 ]
 *   [ payload load 2b @ transport header + 2 => reg 10 ]
 *   [ lookup reg 1 set hostip-ports4 dreg 1 ]                       no element: the rule stops here
 *   [ nat dnat ip addr_min reg 1 proto_min reg 9 ]                  address in reg 1, port right after it
 *
 * For IPv6 the value's port follows the 16-byte address: `proto_min reg 2`. The guard is what
 * nft adds for `ip daddr` in an inet table; podnet adds it for every key so that an IPv4 map is
 * never consulted for IPv6 packets (nft writes it when the rule says `meta nfproto ipv4`).
 */
export function dnatToMap(family: 4 | 6, map: string, key: readonly ConcatField[], opts: { tableFamily?: Family } = {}): Expr[] {
  for (const f of key) {
    const def = CONCAT_FIELDS[f]
    if ((def?.v4 && family === 6) || (def?.v6 && family === 4)) throw new InvalidArgumentError('dnat map', `'${f}' is not an IPv${family} field`)
  }
  const { exprs } = loadConcat(key)
  return [
    ...l3Guard(family === 6, opts.tableFamily),
    ...exprs,
    { kind: 'lookup', set: map, sreg: NFT_REG_1, dreg: NFT_REG_1 },
    { kind: 'nat', type: 'dnat', family: family === 4 ? 'ip' : 'ip6', regAddrMin: NFT_REG_1, regProtoMin: concatRegister(family === 4 ? 1 : 4) },
  ]
}

/** Equivalent to: `counter`. */
export const counter = (): Expr[] => [{ kind: 'counter' }]
/** Equivalent to: `accept`. */
export const accept = (): Expr[] => [{ kind: 'verdict', code: 'accept' }]
/** Equivalent to: `drop`. */
export const drop = (): Expr[] => [{ kind: 'verdict', code: 'drop' }]
/** Equivalent to: `return`. */
export const returnVerdict = (): Expr[] => [{ kind: 'verdict', code: 'return' }]
/** Equivalent to: `jump <chain>`. */
export const jump = (chain: string): Expr[] => [{ kind: 'verdict', code: 'jump', chain }]
/** Equivalent to: `goto <chain>`. */
export const goTo = (chain: string): Expr[] => [{ kind: 'verdict', code: 'goto', chain }]
