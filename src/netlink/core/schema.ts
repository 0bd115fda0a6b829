/**
 * Declarative netlink layouts and the one generic encoder/decoder that serves them all.
 *
 * A message is a fixed family header (a `struct`) followed by attributes (an `attrSet`).
 * Attribute sets map camelCase names (the kernel's YNL spec names) to type ids and kinds.
 * Decoding is total: unknown attributes are kept as raw bytes under `unknown`, and any
 * malformed input raises DecodeError{set, attr, offset}, never a RangeError.
 *
 * Values are plain objects: `{ ifname: 'br0', mtu: 1500, linkinfo: { kind: 'bridge', data: {...} } }`.
 * Integer kinds follow the set's byte order ('native' for rtnetlink, 'be' for nf_tables);
 * be16/be32/be64 are always network order; 64-bit kinds are bigint.
 */
import { DecodeError } from '../../errors.js'
import { bytesToIp, ipToBytes } from '../../net/ip.js'
import { formatMacAt, parseMac } from '../../net/mac.js'
import { Writer, align4 } from './writer.js'
import { wordsOf } from './words.js'
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK } from './header.js'

export type ScalarKind =
  | 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64'
  | 'be16' | 'be32' | 'be64'
  | 'flag' | 'string' | 'binary' | 'ip' | 'mac'

type Lazy<T> = T | (() => T)
const force = <T>(v: Lazy<T>): T => (typeof v === 'function' ? (v as () => T)() : v)

export interface ScalarAttr {
  id: number
  type: ScalarKind
  multi?: boolean
  /** Strings only: write without the terminating NUL (as iproute2 does for IFLA_INFO_KIND). Decoding accepts both. */
  noNul?: boolean
}
/** A nest of another attribute set. */
export interface NestAttr { id: number; type: 'nest'; set: Lazy<AttrSet>; multi?: boolean }
/** A nest whose children are all elements of one set (same or counting ids): value is an array. */
export interface NestArrayAttr { id: number; type: 'nest-array'; set: Lazy<AttrSet>; elemId?: number }
/** A nest whose set depends on a sibling attribute (IFLA_INFO_DATA chosen by IFLA_INFO_KIND). */
export interface SubMessageAttr { id: number; type: 'sub-message'; selector: string; of: Record<string, Lazy<AttrSet>> }
/** A nest that starts with a fixed struct, then attributes (VETH_INFO_PEER: ifinfomsg + link attrs). */
export interface StructNestAttr { id: number; type: 'struct-nest'; header: Struct; set: Lazy<AttrSet> }
/** An attribute whose payload is a fixed struct. */
export interface StructAttr { id: number; type: 'struct'; struct: Struct }

export type AttrDef = ScalarAttr | NestAttr | NestArrayAttr | SubMessageAttr | StructNestAttr | StructAttr

export interface RawAttr { id: number; bytes: Buffer }
export type AttrValues = { [name: string]: unknown; unknown?: RawAttr[] }
export interface StructNestValue { header: StructValues; attrs: AttrValues }

export interface AttrSet {
  readonly name: string
  readonly attrs: Readonly<Record<string, AttrDef>>
  readonly byteOrder: 'native' | 'be'
  /** Sets NLA_F_NESTED on nests written from this set (nf_tables wants it; rtnetlink tolerates both). */
  readonly nestedFlag: boolean
  readonly byId: ReadonlyMap<number, readonly [string, AttrDef]>
}

export function attrSet(
  name: string,
  attrs: Record<string, AttrDef>,
  opts: { byteOrder?: 'native' | 'be'; nestedFlag?: boolean } = {},
): AttrSet {
  const byId = new Map<number, readonly [string, AttrDef]>()
  for (const [key, def] of Object.entries(attrs)) {
    if (byId.has(def.id)) throw new Error(`attrSet ${name}: duplicate id ${def.id} (${key})`)
    byId.set(def.id, [key, def])
  }
  return { name, attrs, byteOrder: opts.byteOrder ?? 'native', nestedFlag: opts.nestedFlag ?? false, byId }
}

// ---------------------------------------------------------------------------------------------
// Fixed structs (family headers, struct payloads)

export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'be16' | 'be32' | 'pad8' | 'pad16' | 'pad32' | `bytes${number}`
export type StructValues = Record<string, number | bigint | Buffer>

export interface Struct {
  readonly name: string
  readonly fields: ReadonlyArray<readonly [string, FieldKind]>
  readonly size: number
}

function fieldSize(kind: FieldKind): number {
  switch (kind) {
    case 'u8': case 'pad8': return 1
    case 'u16': case 'be16': case 'pad16': return 2
    case 'u32': case 's32': case 'be32': case 'pad32': return 4
    case 'u64': return 8
    default: return Number(kind.slice(5))
  }
}

export function struct(name: string, fields: Array<readonly [string, FieldKind]>): Struct {
  return { name, fields, size: fields.reduce((n, [, k]) => n + fieldSize(k), 0) }
}

export function encodeStruct(s: Struct, values: Partial<StructValues>, w: Writer): void {
  for (const [name, kind] of s.fields) {
    const v = values[name]
    switch (kind) {
      case 'u8': w.u8(Number(v ?? 0)); break
      case 'u16': w.u16(Number(v ?? 0)); break
      case 'u32': w.u32(Number(v ?? 0)); break
      case 's32': w.s32(Number(v ?? 0)); break
      case 'u64': w.u64(BigInt(v as bigint | number | undefined ?? 0)); break
      case 'be16': w.be16(Number(v ?? 0)); break
      case 'be32': w.be32(Number(v ?? 0)); break
      case 'pad8': case 'pad16': case 'pad32': w.zeros(fieldSize(kind)); break
      default: {
        const n = fieldSize(kind)
        const b = (v as Buffer | undefined) ?? Buffer.alloc(n)
        if (b.length !== n) throw new TypeError(`${s.name}.${name}: expected ${n} bytes, got ${b.length}`)
        w.bytes(b)
      }
    }
  }
}

export function decodeStruct(s: Struct, buf: Buffer, off: number, end = buf.length): StructValues {
  if (off + s.size > end) throw new DecodeError(s.name, '', off, `need ${s.size} bytes, have ${Math.max(0, end - off)}`)
  const out: StructValues = {}
  let p = off
  for (const [name, kind] of s.fields) {
    switch (kind) {
      case 'u8': out[name] = buf.readUInt8(p); break
      case 'u16': out[name] = buf.readUInt16LE(p); break
      case 'u32': out[name] = buf.readUInt32LE(p); break
      case 's32': out[name] = buf.readInt32LE(p); break
      case 'u64': out[name] = buf.readBigUInt64LE(p); break
      case 'be16': out[name] = buf.readUInt16BE(p); break
      case 'be32': out[name] = buf.readUInt32BE(p); break
      case 'pad8': case 'pad16': case 'pad32': break
      default: out[name] = Buffer.from(buf.subarray(p, p + fieldSize(kind)))
    }
    p += fieldSize(kind)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Scalars

function encodeScalar(set: AttrSet, name: string, kind: ScalarKind, v: unknown, w: Writer): void {
  const be = set.byteOrder === 'be'
  const num = (): number => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${set.name}.${name}: expected an integer, got ${String(v)}`)
    return v
  }
  switch (kind) {
    case 'u8': case 's8': w.u8(num()); break
    case 'u16': case 's16': be ? w.be16(num()) : w.u16(num()); break
    case 'u32': be ? w.be32(num()) : w.u32(num()); break
    case 's32': be ? w.be32(num() >>> 0) : w.s32(num()); break
    case 'u64': case 's64': be ? w.be64(BigInt(v as bigint)) : w.u64(BigInt(v as bigint)); break
    case 'be16': w.be16(num()); break
    case 'be32': w.be32(num()); break
    case 'be64': w.be64(BigInt(v as bigint)); break
    case 'flag': break
    case 'string': w.cstring(String(v)); break // NUL handling for noNul is done by the caller
    case 'binary': w.bytes(v as Uint8Array); break
    case 'ip': w.bytes(ipToBytes(String(v))); break
    case 'mac': w.bytes(typeof v === 'string' ? parseMac(v) : (v as Uint8Array)); break
  }
}

/**
 * Scalar kinds as small integers, for the decoder's switch (a jump table, where a switch on the
 * kind strings compares them one by one), with their sizes: 0 for the kinds of any length.
 */
const SCALAR_CODE: Readonly<Record<ScalarKind, number>> = {
  u8: 1, s8: 2, u16: 3, s16: 4, u32: 5, s32: 6, u64: 7, s64: 8, be16: 9, be32: 10, be64: 11,
  flag: 12, string: 13, binary: 14, ip: 15, mac: 16,
}
const SCALAR_SIZE: readonly number[] = [0, 1, 1, 2, 2, 4, 4, 8, 8, 2, 4, 8, 0, 0, 0, 0, 0]
/** Codes past the scalars: kinds decodeOne handles. */
const NESTED = 20
const SUB_MESSAGE = 21

/** One attribute of a set as the decoder looks it up: by id in an array. */
interface Slot {
  readonly name: string
  readonly def: AttrDef
  readonly code: number
  readonly multi: boolean
}
const slotCache = new WeakMap<AttrSet, ReadonlyArray<Slot | undefined>>()

function slotsOf(set: AttrSet): ReadonlyArray<Slot | undefined> {
  let slots = slotCache.get(set)
  if (slots === undefined) {
    const a: Array<Slot | undefined> = []
    for (const [id, [name, def]] of set.byId) {
      const code = def.type === 'sub-message' ? SUB_MESSAGE : Object.hasOwn(SCALAR_CODE, def.type) ? SCALAR_CODE[def.type as ScalarKind] : NESTED
      while (a.length <= id) a.push(undefined)
      a[id] = { name, def, code, multi: 'multi' in def && def.multi === true }
    }
    slotCache.set(set, (slots = a))
  }
  return slots
}

function decodeScalar(set: AttrSet, name: string, kind: ScalarKind, buf: Buffer, off: number, len: number, netOrder: boolean): unknown {
  return scalarAt(set, name, SCALAR_CODE[kind], buf, off, len, netOrder || set.byteOrder === 'be')
}

/** A scalar of kind `code` (SCALAR_CODE) in buf[off, off + len); `be`: network byte order. */
function scalarAt(set: AttrSet, name: string, code: number, buf: Buffer, off: number, len: number, be: boolean): unknown {
  const size = SCALAR_SIZE[code]!
  if (len < size) throw new DecodeError(set.name, name, off, `${kindName(code)} needs ${size} bytes, attribute has ${len}`)
  // the common kinds read bytes directly (the length was checked above): Buffer's read methods
  // are calls with their own checks, costly in code that has not been optimized yet
  switch (code) {
    case 1: return buf[off]! // u8
    case 2: return buf.readInt8(off) // s8
    case 3: return be ? (buf[off]! << 8) | buf[off + 1]! : buf[off]! | (buf[off + 1]! << 8) // u16
    case 4: return be ? buf.readInt16BE(off) : buf.readInt16LE(off) // s16
    case 5: return be // u32
      ? buf[off]! * 0x1000000 + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!)
      : buf[off + 3]! * 0x1000000 + ((buf[off + 2]! << 16) | (buf[off + 1]! << 8) | buf[off]!)
    case 6: return be ? buf.readInt32BE(off) : buf.readInt32LE(off) // s32
    case 7: return be ? buf.readBigUInt64BE(off) : buf.readBigUInt64LE(off) // u64
    case 8: return be ? buf.readBigInt64BE(off) : buf.readBigInt64LE(off) // s64
    case 9: return buf.readUInt16BE(off) // be16
    case 10: return buf.readUInt32BE(off) // be32
    case 11: return buf.readBigUInt64BE(off) // be64
    case 12: return true // flag
    case 13: { // string
      let e = off + len
      while (e > off && buf[e - 1] === 0) e--
      return buf.toString('utf8', off, e)
    }
    case 14: return Buffer.from(buf.subarray(off, off + len)) // binary
    case 15: // ip
      if (len !== 4 && len !== 16) throw new DecodeError(set.name, name, off, `address of ${len} bytes`)
      return bytesToIp(buf.subarray(off, off + len))
    default: return formatMacAt(buf, off, off + len) // mac
  }
}

const kindName = (code: number): string => Object.keys(SCALAR_CODE).find((k) => SCALAR_CODE[k as ScalarKind] === code) ?? String(code)

// ---------------------------------------------------------------------------------------------
// Encoder

/** Encodes `values` as attributes of `set` into w. Keys not in the set are an error (typos fail loudly). */
export function encodeAttrs(set: AttrSet, values: AttrValues, w: Writer): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue
    if (name === 'unknown') {
      for (const raw of value as RawAttr[]) {
        const s = w.beginAttr(raw.id)
        w.bytes(raw.bytes)
        w.endAttr(s)
      }
      continue
    }
    const def = set.attrs[name]
    if (!def) throw new TypeError(`${set.name}: unknown attribute '${name}'`)
    if ((def.type !== 'nest-array' && 'multi' in def && def.multi) && Array.isArray(value)) {
      for (const item of value) encodeOne(set, name, def, item, values, w)
    } else {
      encodeOne(set, name, def, value, values, w)
    }
  }
}

function nestType(set: AttrSet, id: number): number {
  return set.nestedFlag ? id | NLA_F_NESTED : id
}

function encodeOne(set: AttrSet, name: string, def: AttrDef, value: unknown, siblings: AttrValues, w: Writer): void {
  switch (def.type) {
    case 'nest': {
      const s = w.beginAttr(nestType(set, def.id))
      encodeAttrs(force(def.set), value as AttrValues, w)
      w.endAttr(s)
      return
    }
    case 'nest-array': {
      const inner = force(def.set)
      const s = w.beginAttr(nestType(set, def.id))
      ;(value as AttrValues[]).forEach((item, i) => {
        const e = w.beginAttr(nestType(set, def.elemId ?? i + 1))
        encodeAttrs(inner, item, w)
        w.endAttr(e)
      })
      w.endAttr(s)
      return
    }
    case 'sub-message': {
      const key = siblings[def.selector]
      const sub = typeof key === 'string' ? def.of[key] : undefined
      if (!sub) throw new TypeError(`${set.name}.${name}: no layout for ${def.selector}=${String(key)}`)
      const s = w.beginAttr(nestType(set, def.id))
      encodeAttrs(force(sub), value as AttrValues, w)
      w.endAttr(s)
      return
    }
    case 'struct-nest': {
      const v = value as StructNestValue
      const s = w.beginAttr(nestType(set, def.id))
      encodeStruct(def.header, v.header, w)
      w.align()
      encodeAttrs(force(def.set), v.attrs, w)
      w.endAttr(s)
      return
    }
    case 'struct': {
      const s = w.beginAttr(def.id)
      encodeStruct(def.struct, value as StructValues, w)
      w.endAttr(s)
      return
    }
    default: {
      const s = w.beginAttr(def.id)
      if (def.type === 'string' && def.noNul) w.bytes(Buffer.from(String(value)))
      else encodeScalar(set, name, def.type, value, w)
      w.endAttr(s)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder

/** Walks the TLVs in buf[off, end) and decodes them with `set`. */
export function decodeAttrs(set: AttrSet, buf: Buffer, off: number, end: number): AttrValues {
  if (end > buf.length) throw new DecodeError(set.name, '', off, `attributes end at ${end}, beyond the ${buf.length}-byte buffer`)
  const out: AttrValues = {}
  const slots = slotsOf(set)
  const be = set.byteOrder === 'be'
  // sub-messages wait for their selector (a sibling that may come later); no destructuring in
  // this loop: it runs for every attribute, often in a process too short-lived to optimize it
  let pending: Array<{ name: string; def: SubMessageAttr; start: number; end: number }> | undefined
  let p = off
  while (p + 4 <= end) {
    const len = buf[p]! | (buf[p + 1]! << 8)
    const rawType = buf[p + 2]! | (buf[p + 3]! << 8)
    if (len < 4) throw new DecodeError(set.name, '', p, `attribute length ${len} < 4`)
    if (p + len > end) throw new DecodeError(set.name, attrName(set, rawType), p, `attribute of ${len} bytes overruns its container (${end - p} left)`)
    const id = rawType & NLA_TYPE_MASK
    const slot = id < slots.length ? slots[id] : undefined
    const dataOff = p + 4
    const dataLen = len - 4
    if (slot === undefined) {
      ;(out.unknown ??= []).push({ id, bytes: Buffer.from(buf.subarray(dataOff, dataOff + dataLen)) })
    } else if (slot.code === SUB_MESSAGE) {
      ;(pending ??= []).push({ name: slot.name, def: slot.def as SubMessageAttr, start: dataOff, end: dataOff + dataLen })
    } else {
      const v = slot.code < NESTED
        ? scalarAt(set, slot.name, slot.code, buf, dataOff, dataLen, be || (rawType & NLA_F_NET_BYTEORDER) !== 0)
        : decodeOne(set, slot.name, slot.def, buf, dataOff, dataLen, (rawType & NLA_F_NET_BYTEORDER) !== 0)
      if (slot.multi) ((out[slot.name] ??= []) as unknown[]).push(v)
      else out[slot.name] = v
    }
    p += align4(len)
  }
  if (pending !== undefined) {
    for (let i = 0; i < pending.length; i++) {
      const { name, def, start, end: stop } = pending[i]!
      const key = out[def.selector]
      const sub = typeof key === 'string' ? def.of[key] : undefined
      if (sub) out[name] = decodeAttrs(force(sub), buf, start, stop)
      else out[name] = Buffer.from(buf.subarray(start, stop)) // a kind podnet has no table for: keep raw
    }
  }
  return out
}

const flatCache = new WeakMap<AttrSet, boolean>()

/**
 * A set of scalars only (no nests, sub-messages or repeated attributes) decoded straight into
 * what JSON output needs: `key(name)` for each name, 64-bit integers as numbers, binary values as
 * hex, unknown attributes left out. The same walk, checks and errors as decodeAttrs, without its
 * intermediate values (a bridge port's 45 attributes, thousands of times in `podnet link ls
 * --json`). undefined when the set is not flat: use decodeAttrs.
 */
export function decodeFlatAttrsJson(set: AttrSet, buf: Buffer, off: number, end: number, key: (name: string) => string): Record<string, unknown> | undefined {
  const slots = slotsOf(set)
  let flat = flatCache.get(set)
  if (flat === undefined) flatCache.set(set, (flat = slots.every((x) => x === undefined || (x.code < NESTED && !x.multi))))
  if (!flat) return undefined
  if (end > buf.length) throw new DecodeError(set.name, '', off, `attributes end at ${end}, beyond the ${buf.length}-byte buffer`)
  const be = set.byteOrder === 'be'
  // the values, in message order, then written into a copy of the set's template (below)
  const ids = flatIds
  const values = flatValues
  let n = 0
  // headers (and native u32 values) as one word each when the buffer allows (words.ts)
  const words = wordsOf(buf)
  let p = off
  while (p + 4 <= end) {
    const head = words !== undefined ? words[p >>> 2]! : buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)
    const len = head & 0xffff
    const rawType = head >>> 16
    if (len < 4) throw new DecodeError(set.name, '', p, `attribute length ${len} < 4`)
    if (p + len > end) throw new DecodeError(set.name, attrName(set, rawType), p, `attribute of ${len} bytes overruns its container (${end - p} left)`)
    const id = rawType & NLA_TYPE_MASK
    const slot = id < slots.length ? slots[id] : undefined
    if (slot !== undefined) {
      const code = slot.code
      const netOrder = be || (rawType & NLA_F_NET_BYTEORDER) !== 0
      let v: unknown
      if (code === 1 && len >= 5) v = buf[p + 4]! // u8
      else if (words !== undefined && !netOrder && len >= 8 && (code === 5 || code === 3)) v = code === 5 ? words[(p + 4) >>> 2]! : words[(p + 4) >>> 2]! & 0xffff // u32, u16
      else if (code === 14) v = buf.toString('hex', p + 4, p + len) // binary
      else if (code === 7 && !netOrder && len >= 12) {
        // u64 as a number without a BigInt on the way: hi * 2^32 is exact, so the sum is rounded
        // once, as Number(bigint) rounds it
        const lo = buf[p + 7]! * 0x1000000 + ((buf[p + 6]! << 16) | (buf[p + 5]! << 8) | buf[p + 4]!)
        const hi = buf[p + 11]! * 0x1000000 + ((buf[p + 10]! << 16) | (buf[p + 9]! << 8) | buf[p + 8]!)
        v = hi * 0x100000000 + lo
      } else {
        v = scalarAt(set, slot.name, code, buf, p + 4, len - 4, netOrder)
        if (typeof v === 'bigint') v = Number(v)
      }
      ids[n] = id
      values[n++] = v
    }
    p += align4(len)
  }
  // Made by a keyed store per attribute, an object of 45 attributes becomes a dictionary, slow to
  // build and walked by JSON.stringify on its slow path. A copy of a template (made by JSON.parse,
  // with these keys in this order: links of one kind all carry the same attributes) stays fast.
  // A repeated attribute keeps its first position and its last value, as with keyed stores.
  let t = flatTemplates.get(set)
  if (t === undefined || t.key !== key || t.ids.length !== n || !sameIds(t.ids, ids, n)) {
    const keys = ids.slice(0, n).map((id) => key(slots[id]!.name))
    t = { key, ids: ids.slice(0, n), keys, object: JSON.parse(`{${keys.map((k) => `${JSON.stringify(k)}:0`).join(',')}}`) as Record<string, unknown> }
    flatTemplates.set(set, t)
  }
  const out = { ...t.object }
  const keys = t.keys
  for (let i = 0; i < n; i++) out[keys[i]!] = values[i]
  return out
}

/** decodeFlatAttrsJson's scratch: the ids and values of the attributes of the set being decoded. */
const flatIds: number[] = []
const flatValues: unknown[] = []
/** Per flat set, the last sequence of attributes decoded and an object with those keys, in that order. */
const flatTemplates = new WeakMap<AttrSet, { key: (name: string) => string; ids: number[]; keys: string[]; object: Record<string, unknown> }>()

function sameIds(a: readonly number[], b: readonly number[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

function decodeOne(set: AttrSet, name: string, def: AttrDef, buf: Buffer, off: number, len: number, netOrder: boolean): unknown {
  switch (def.type) {
    case 'nest': return decodeAttrs(force(def.set), buf, off, off + len)
    case 'nest-array': {
      const inner = force(def.set)
      const items: AttrValues[] = []
      let p = off
      const end = off + len
      while (p + 4 <= end) {
        const l = buf.readUInt16LE(p)
        if (l < 4 || p + l > end) throw new DecodeError(set.name, name, p, `bad array element length ${l}`)
        items.push(decodeAttrs(inner, buf, p + 4, p + l))
        p += align4(l)
      }
      return items
    }
    case 'struct-nest': {
      const header = decodeStruct(def.header, buf, off, off + len)
      return { header, attrs: decodeAttrs(force(def.set), buf, off + align4(def.header.size), off + len) }
    }
    case 'struct': return decodeStruct(def.struct, buf, off, off + len)
    case 'sub-message': throw new Error('unreachable')
    default: return decodeScalar(set, name, def.type, buf, off, len, netOrder)
  }
}

function attrName(set: AttrSet, rawType: number): string {
  return set.byId.get(rawType & NLA_TYPE_MASK)?.[0] ?? `#${rawType & NLA_TYPE_MASK}`
}

// ---------------------------------------------------------------------------------------------
// Messages

export interface MessageSchema {
  /** Name of the request for errors: 'RTM_NEWLINK'. */
  readonly name: string
  readonly header: Struct
  readonly attrs: AttrSet
}

export function encodeMessageBody(m: MessageSchema, header: Partial<StructValues>, attrs: AttrValues, w: Writer): void {
  encodeStruct(m.header, header, w)
  w.align()
  encodeAttrs(m.attrs, attrs, w)
}

export interface DecodedMessage {
  header: StructValues
  attrs: AttrValues
}

/** Decodes a message payload (after nlmsghdr) in buf[off, end). */
export function decodeMessageBody(m: MessageSchema, buf: Buffer, off: number, end: number): DecodedMessage {
  const header = decodeStruct(m.header, buf, off, end)
  return { header, attrs: decodeAttrs(m.attrs, buf, Math.min(end, off + align4(m.header.size)), end) }
}

/**
 * Turns an ext-ack offset (from the start of the request nlmsghdr) into an attribute path like
 * `linkinfo.data.peer.ifname`, by walking the request bytes with its schema.
 */
export function attrPathAt(m: MessageSchema, request: Buffer, offset: number): string | undefined {
  const start = 16 + align4(m.header.size)
  if (offset < start) return offset >= 16 ? m.header.name : undefined
  const walk = (set: AttrSet, off: number, end: number, prefix: string, siblings: AttrValues | undefined): string | undefined => {
    let p = off
    while (p + 4 <= end) {
      const len = request.readUInt16LE(p)
      if (len < 4) return undefined
      const id = request.readUInt16LE(p + 2) & NLA_TYPE_MASK
      if (offset >= p && offset < p + Math.max(len, 4)) {
        const entry = set.byId.get(id)
        const name = `${prefix}${entry?.[0] ?? `#${id}`}`
        if (!entry || offset === p) return name
        const def = entry[1]
        let inner: AttrSet | undefined
        let innerOff = p + 4
        if (def.type === 'nest' || def.type === 'nest-array') inner = force(def.set)
        else if (def.type === 'struct-nest') { inner = force(def.set); innerOff += align4(def.header.size) }
        else if (def.type === 'sub-message') {
          const vals = siblings ?? {}
          const key = vals[def.selector]
          const sub = typeof key === 'string' ? def.of[key] : undefined
          inner = sub ? force(sub) : undefined
        }
        if (!inner) return name
        if (def.type === 'nest-array') {
          // elements are nests of `inner`: find the element, then recurse into it
          let q = p + 4
          let i = 0
          while (q + 4 <= p + len) {
            const l = request.readUInt16LE(q)
            if (l < 4) return name
            if (offset >= q && offset < q + l) {
              return offset === q ? `${name}[${i}]` : walk(inner, q + 4, q + l, `${name}[${i}].`, undefined) ?? `${name}[${i}]`
            }
            q += align4(l)
            i++
          }
          return name
        }
        let innerValues: AttrValues | undefined
        try { innerValues = decodeAttrs(inner, request, innerOff, p + len) } catch { innerValues = undefined }
        return walk(inner, innerOff, p + len, `${name}.`, innerValues) ?? name
      }
      p += align4(len)
    }
    return undefined
  }
  let top: AttrValues | undefined
  try { top = decodeAttrs(m.attrs, request, start, request.readUInt32LE(0)) } catch { top = undefined }
  return walk(m.attrs, start, Math.min(request.length, request.readUInt32LE(0)), '', top)
}
