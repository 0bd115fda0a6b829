/**
 * Sets and maps for lookups: spec -> set-attrs values, typed keys <-> bytes, decoded sets.
 *
 * Supported key and data types are the ones podnet's rules look up: IPv4/IPv6 addresses, ports
 * (inet_service), protocols, MACs, marks, tc class ids and interface names, and concatenations of them
 * (nft's `ipv4_addr . inet_proto . inet_service`). Interval sets (CIDR elements) and verdict
 * maps are not built here.
 *
 * A concatenation, as nft 1.0.6 writes it:
 *   NFTA_SET_KEY_TYPE   the field type ids TYPE_BITS (6) apart, first field highest:
 *                       ipv4_addr 7 . inet_proto 12 . inet_service 13 = (7 << 12) | (12 << 6) | 13 = 0x730d
 *   NFTA_SET_KEY_LEN    the fields' lengths, each rounded up to 4 (registers are 32 bits): 4 + 4 + 4 = 12
 *   NFTA_SET_USERDATA   key byte order BYTEORDER_INVALID (0), and NFTNL_UDATA_SET_KEY_TYPEOF
 *                       { NFTNL_UDATA_SET_TYPEOF_EXPR = EXPR_CONCAT (13), NFTNL_UDATA_SET_TYPEOF_DATA {} }
 *                       (the same for concatenated map data, as _DATA_TYPEOF)
 *   no NFTA_SET_DESC    nft sends the field lengths (NFTA_SET_DESC_CONCAT) only for interval sets
 *   element value       each field in network order, zero-padded to 4 bytes:
 *                       10.0.0.1 . tcp . 8080 = 0a000001 06000000 1f900000
 */
import { DecodeError, InvalidArgumentError } from '../../errors.js'
import type { AttrValues } from '../core/schema.js'
import { bytesToIp, ipFamily, ipToBytes } from '../../net/ip.js'
import { formatMac, parseMac } from '../../net/mac.js'
import { NFT_SET_MAP } from './constants.js'
import {
  BYTEORDER_BIG_ENDIAN, BYTEORDER_HOST_ENDIAN, BYTEORDER_INVALID, EXPR_CONCAT, NFTNL_UDATA_SET_DATABYTEORDER,
  NFTNL_UDATA_SET_DATA_INTERVAL, NFTNL_UDATA_SET_DATA_TYPEOF, NFTNL_UDATA_SET_ELEM_COMMENT, NFTNL_UDATA_SET_KEYBYTEORDER,
  NFTNL_UDATA_SET_KEY_TYPEOF, NFTNL_UDATA_SET_TYPEOF_DATA, NFTNL_UDATA_SET_TYPEOF_EXPR, TYPE_BITS, TYPE_ETHERADDR,
  TYPE_CLASSID, TYPE_IFNAME, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_IP6ADDR, TYPE_IPADDR, TYPE_MARK,
} from './constants-extra.js'
import type { InTable } from './chain.js'
import { decodeExpr, encodeExpr, type CounterExpr, type Expr } from './expr/index.js'
import { familyName, type Family } from './names.js'
import { decodeUdata, encodeUdata, udataU32, type UdataTlv } from './userdata.js'

export type SetDataType = 'ipv4_addr' | 'ipv6_addr' | 'inet_service' | 'inet_proto' | 'ether_addr' | 'mark' | 'classid' | 'ifname'

/** A key or data type: one type, or a concatenation (['ipv4_addr', 'inet_proto', 'inet_service'] = nft's `ipv4_addr . inet_proto . inet_service`). */
export type SetType = SetDataType | readonly SetDataType[]

interface TypeInfo { id: number; len: number; byteorder: number }

/** nft's datatype id, length and byte order of each supported type. */
export const SET_DATA_TYPES: Readonly<Record<SetDataType, TypeInfo>> = {
  ipv4_addr: { id: TYPE_IPADDR, len: 4, byteorder: BYTEORDER_BIG_ENDIAN },
  ipv6_addr: { id: TYPE_IP6ADDR, len: 16, byteorder: BYTEORDER_BIG_ENDIAN },
  inet_service: { id: TYPE_INET_SERVICE, len: 2, byteorder: BYTEORDER_BIG_ENDIAN },
  inet_proto: { id: TYPE_INET_PROTOCOL, len: 1, byteorder: BYTEORDER_BIG_ENDIAN },
  ether_addr: { id: TYPE_ETHERADDR, len: 6, byteorder: BYTEORDER_BIG_ENDIAN },
  mark: { id: TYPE_MARK, len: 4, byteorder: BYTEORDER_HOST_ENDIAN },
  /** A tc class id (MAJOR:MINOR as one u32, host order): what `meta priority` holds. */
  classid: { id: TYPE_CLASSID, len: 4, byteorder: BYTEORDER_HOST_ENDIAN },
  ifname: { id: TYPE_IFNAME, len: 16, byteorder: BYTEORDER_HOST_ENDIAN },
}

const align4 = (n: number): number => (n + 3) & ~3
const isConcat = (t: SetType): t is readonly SetDataType[] => Array.isArray(t)

function typeInfo(t: SetType, what: string): TypeInfo & { concat: boolean } {
  if (!isConcat(t)) {
    const info = SET_DATA_TYPES[t as SetDataType]
    if (!info) throw new InvalidArgumentError(what, `unsupported type '${String(t)}'`)
    return { ...info, concat: false }
  }
  if (t.length < 2) throw new InvalidArgumentError(what, 'a concatenation needs at least two types')
  let id = 0
  let len = 0
  for (const f of t) {
    const info = SET_DATA_TYPES[f]
    if (!info) throw new InvalidArgumentError(what, `unsupported type '${String(f)}' in a concatenation`)
    id = id * (1 << TYPE_BITS) + info.id
    len += align4(info.len)
  }
  if (len > 64) throw new InvalidArgumentError(what, `a concatenation of ${len} bytes exceeds the 64 bytes of the registers`)
  return { id, len, byteorder: BYTEORDER_INVALID, concat: true }
}

/** nft's type id of a type or concatenation (0x730d for ipv4_addr . inet_proto . inet_service). */
export function setTypeId(t: SetType): number {
  return typeInfo(t, 'type').id
}

/** The key (or data) length in bytes: concatenated fields are each padded to 4. */
export function setTypeLen(t: SetType): number {
  return typeInfo(t, 'type').len
}

export function setDataTypeName(id: number): SetDataType | number {
  for (const [name, t] of Object.entries(SET_DATA_TYPES)) if (t.id === id) return name as SetDataType
  return id
}

/** The type of an id: a type name, a concatenation's field names, or the number when podnet does not know a field. */
export function setTypeName(id: number): SetDataType | SetDataType[] | number {
  if (id < 1 << TYPE_BITS) return setDataTypeName(id)
  const fields: SetDataType[] = []
  for (let rest = id; rest > 0; rest = Math.floor(rest / (1 << TYPE_BITS))) {
    const f = setDataTypeName(rest % (1 << TYPE_BITS))
    if (typeof f === 'number') return id
    fields.unshift(f)
  }
  return fields
}

/** One field's value: an address or MAC as text, a port/protocol/mark as a number, an interface name, or raw bytes. */
export type SetScalar = string | number | Buffer

/** An element value: a scalar, or one scalar per field of a concatenation. */
export type SetValue = SetScalar | readonly SetScalar[]

/** Names a set. */
export interface SetRef extends InTable {
  name: string
}

export interface SetSpec extends SetRef {
  keyType: SetType
  /** Makes a map from keys to values of this type. */
  dataType?: SetType
  /** NFT_SET_* flags (constant, timeout ...); NFT_SET_MAP is added for maps. */
  flags?: number
  /**
   * Stateful expressions every element gets, e.g. `counter()`: the kernel gives each element
   * its own instance (NFTA_SET_EXPR; several as NFTA_SET_EXPRESSIONS). Equivalent to `counter`
   * in nft's set declaration.
   */
  exprs?: readonly Expr[]
}

export interface SetElementSpec {
  key: SetValue
  /** The value of a map element. */
  data?: SetValue
  /** Shown by `nft list` after the key (NFTNL_UDATA_SET_ELEM_COMMENT); at most 128 bytes. */
  comment?: string
}

export interface ElementsSpec extends SetRef {
  elements: readonly SetElementSpec[]
  /** How to encode non-Buffer values when the set is not created in the same transaction. */
  keyType?: SetType
  dataType?: SetType
}

/** A set as the kernel reports it. */
export interface NftSet {
  family: Family | number
  table: string
  name: string
  handle: bigint
  flags: number
  keyType: SetDataType | SetDataType[] | number
  keyLen: number
  dataType?: SetDataType | SetDataType[] | number
  dataLen?: number
  /** Field lengths of a concatenated key, when the set carries them (NFTA_SET_DESC_CONCAT). */
  fieldLens?: number[]
  /** The stateful expressions each element gets (`counter`). */
  exprs?: Expr[]
}

export interface SetElement {
  key: SetValue
  data?: SetValue
  comment?: string
  /** The element's counter, when the set gives its elements one. */
  counter?: { packets: bigint; bytes: bigint }
  /** Its other stateful expressions, as dumped. */
  exprs?: Expr[]
}

/** "table ip podnet set allowed", for error messages. */
export const describeSet = (s: SetRef): string => `table ${s.family} ${s.table} set ${s.name}`

function encodeScalar(type: SetDataType, v: SetScalar): Buffer {
  const info = SET_DATA_TYPES[type]
  if (Buffer.isBuffer(v)) {
    if (v.length !== info.len) throw new InvalidArgumentError('element', `${type} needs ${info.len} bytes, got ${v.length}`)
    return v
  }
  const bad = (): never => { throw new InvalidArgumentError('element', `'${String(v)}' is not a valid ${type}`) }
  switch (type) {
    case 'ipv4_addr': return typeof v === 'string' && ipFamily(v) === 4 ? ipToBytes(v) : bad()
    case 'ipv6_addr': return typeof v === 'string' && ipFamily(v) === 6 ? ipToBytes(v) : bad()
    case 'inet_service': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) return bad()
      const b = Buffer.alloc(2)
      b.writeUInt16BE(v)
      return b
    }
    case 'inet_proto': return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? Buffer.from([v]) : bad()
    case 'ether_addr': return typeof v === 'string' ? parseMac(v) : bad()
    case 'mark': case 'classid': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return bad()
      const b = Buffer.alloc(4)
      b.writeUInt32LE(v) // host order
      return b
    }
    case 'ifname': {
      if (typeof v !== 'string' || Buffer.byteLength(v) > 15) return bad()
      const b = Buffer.alloc(16)
      b.write(v, 'utf8')
      return b
    }
  }
}

/**
 * The bytes of a value of `type` (register order: network order for addresses and ports). A
 * concatenation takes one value per field (or all the bytes at once) and pads each field to 4 bytes.
 */
export function encodeSetValue(type: SetType, v: SetValue): Buffer {
  if (!isConcat(type)) {
    if (!SET_DATA_TYPES[type as SetDataType]) throw new InvalidArgumentError('element', `unsupported type '${String(type)}'`)
    if (Array.isArray(v)) throw new InvalidArgumentError('element', `${type} takes one value, not ${v.length}`)
    return encodeScalar(type as SetDataType, v as SetScalar)
  }
  const len = typeInfo(type, 'element').len
  if (Buffer.isBuffer(v)) {
    if (v.length !== len) throw new InvalidArgumentError('element', `${type.join(' . ')} needs ${len} bytes, got ${v.length}`)
    return v
  }
  if (!Array.isArray(v) || v.length !== type.length) {
    throw new InvalidArgumentError('element', `${type.join(' . ')} takes ${type.length} values, got ${Array.isArray(v) ? v.length : `'${String(v)}'`}`)
  }
  const out = Buffer.alloc(len)
  let off = 0
  type.forEach((t, i) => {
    const b = encodeScalar(t, v[i] as SetScalar)
    b.copy(out, off)
    off += align4(b.length)
  })
  return out
}

function decodeScalar(type: SetDataType, b: Buffer): SetScalar {
  switch (type) {
    case 'ipv4_addr': case 'ipv6_addr': return bytesToIp(b)
    case 'inet_service': return b.readUInt16BE(0)
    case 'inet_proto': return b.readUInt8(0)
    case 'ether_addr': return formatMac(b)
    case 'mark': case 'classid': return b.readUInt32LE(0)
    case 'ifname': {
      const nul = b.indexOf(0)
      return b.toString('utf8', 0, nul < 0 ? b.length : nul)
    }
  }
}

/** The typed value of `bytes` (raw bytes when they do not fit the type). */
export function decodeSetValue(type: SetDataType | readonly SetDataType[] | number, b: Buffer): SetValue {
  if (typeof type === 'number') return b
  if (!isConcat(type)) return b.length === SET_DATA_TYPES[type as SetDataType]?.len ? decodeScalar(type as SetDataType, b) : b
  if (b.length !== typeInfo(type, 'element').len) return b
  const out: SetScalar[] = []
  let off = 0
  for (const t of type) {
    const len = SET_DATA_TYPES[t].len
    out.push(decodeScalar(t, b.subarray(off, off + len)))
    off += align4(len)
  }
  return out
}

/** nft's udata for a concatenation: { TYPEOF_EXPR = EXPR_CONCAT, TYPEOF_DATA = {} }. */
function concatTypeofUdata(type: number): UdataTlv {
  const inner = encodeUdata([udataU32(NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_CONCAT), { type: NFTNL_UDATA_SET_TYPEOF_DATA, value: Buffer.alloc(0) }])
  return { type, value: inner }
}

/** NEWSET values in the order nft writes them (id: the set's transaction-local id). */
export function newSetValues(spec: SetSpec, id: number): AttrValues {
  const key = typeInfo(spec.keyType, 'set.keyType')
  const data = spec.dataType === undefined ? undefined : typeInfo(spec.dataType, 'set.dataType')
  const v: AttrValues = {
    table: spec.table,
    name: spec.name,
    flags: (spec.flags ?? 0) | (data ? NFT_SET_MAP : 0),
    keyType: key.id,
    keyLen: key.len,
  }
  if (data) {
    v.dataType = data.id
    v.dataLen = data.len
  }
  v.id = id
  const udata = [udataU32(NFTNL_UDATA_SET_KEYBYTEORDER, key.byteorder)]
  if (data) udata.push(udataU32(NFTNL_UDATA_SET_DATABYTEORDER, data.byteorder))
  if (key.concat) udata.push(concatTypeofUdata(NFTNL_UDATA_SET_KEY_TYPEOF))
  if (data?.concat) udata.push(concatTypeofUdata(NFTNL_UDATA_SET_DATA_TYPEOF))
  if (data) udata.push(udataU32(NFTNL_UDATA_SET_DATA_INTERVAL, 0))
  v.userdata = encodeUdata(udata)
  const exprs = spec.exprs ?? []
  if (exprs.length === 1) v.expr = encodeExpr(exprs[0] as Expr)
  else if (exprs.length > 1) v.expressions = exprs.map(encodeExpr)
  return v
}

function exprsOf(v: AttrValues): Expr[] | undefined {
  if (v.expr && typeof v.expr === 'object' && !Buffer.isBuffer(v.expr)) return [decodeExpr(v.expr as AttrValues)]
  if (Array.isArray(v.expressions)) return (v.expressions as AttrValues[]).map(decodeExpr)
  return undefined
}

export function setFromValues(family: number, v: AttrValues): NftSet {
  const out: NftSet = {
    family: familyName(family),
    table: typeof v.table === 'string' ? v.table : '',
    name: typeof v.name === 'string' ? v.name : '',
    handle: typeof v.handle === 'bigint' ? v.handle : 0n,
    flags: typeof v.flags === 'number' ? v.flags : 0,
    keyType: setTypeName(typeof v.keyType === 'number' ? v.keyType : 0),
    keyLen: typeof v.keyLen === 'number' ? v.keyLen : 0,
  }
  if (typeof v.dataType === 'number') out.dataType = setTypeName(v.dataType)
  if (typeof v.dataLen === 'number') out.dataLen = v.dataLen
  const fields = (v.desc as AttrValues | undefined)?.concat
  if (Array.isArray(fields)) out.fieldLens = (fields as AttrValues[]).map((f) => (typeof f.len === 'number' ? f.len : 0))
  const exprs = exprsOf(v)
  if (exprs) out.exprs = exprs
  return out
}

/** Element userdata holding a comment, as `nft add element ... { KEY comment "text" }` writes it. */
export function elementCommentUdata(comment: string): Buffer {
  const text = Buffer.from(comment, 'utf8')
  if (text.includes(0)) throw new InvalidArgumentError('comment', 'must not contain NUL')
  if (text.length > 128) throw new InvalidArgumentError('comment', `${text.length} bytes, nft allows at most 128`)
  return encodeUdata([{ type: NFTNL_UDATA_SET_ELEM_COMMENT, value: Buffer.concat([text, Buffer.from([0])]) }])
}

/** One element for NEWSETELEM/DELSETELEM: key, data, comment, in the order nft writes them. */
export function elementValues(e: SetElementSpec, keyType: SetType | undefined, dataType: SetType | undefined, what: string): AttrValues {
  const value = (v: SetValue, type: SetType | undefined, field: string): Buffer => {
    if (Buffer.isBuffer(v)) return v
    if (type === undefined) throw new InvalidArgumentError(field, `${what}: give ${field} so that '${String(v)}' can be encoded (or pass bytes)`)
    return encodeSetValue(type, v)
  }
  const el: AttrValues = { key: { value: value(e.key, keyType, 'keyType') } }
  if (e.data !== undefined) el.data = { value: value(e.data, dataType, 'dataType') }
  if (e.comment !== undefined) el.userdata = elementCommentUdata(e.comment)
  return el
}

/** A dumped element decoded by its set's types; undefined for elements without a key (interval ends). */
export function elementFromValues(set: Pick<NftSet, 'keyType' | 'dataType'>, e: AttrValues): SetElement | undefined {
  const key = (e.key as AttrValues | undefined)?.value
  if (!Buffer.isBuffer(key)) return undefined
  const el: SetElement = { key: decodeSetValue(set.keyType, key) }
  const data = (e.data as AttrValues | undefined)?.value
  if (Buffer.isBuffer(data) && set.dataType !== undefined) el.data = decodeSetValue(set.dataType, data)
  if (Buffer.isBuffer(e.userdata)) {
    try {
      const c = decodeUdata(e.userdata).find((t) => t.type === NFTNL_UDATA_SET_ELEM_COMMENT)
      if (c) {
        let end = c.value.length
        while (end > 0 && c.value[end - 1] === 0) end--
        el.comment = c.value.toString('utf8', 0, end)
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
    }
  }
  const exprs = exprsOf(e)
  if (exprs) {
    const rest: Expr[] = []
    for (const x of exprs) {
      if (x.kind === 'counter' && !el.counter) el.counter = { packets: (x as CounterExpr).packets ?? 0n, bytes: (x as CounterExpr).bytes ?? 0n }
      else rest.push(x)
    }
    if (rest.length) el.exprs = rest
  }
  return el
}
