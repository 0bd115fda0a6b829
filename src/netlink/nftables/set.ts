/**
 * Sets and maps for lookups: spec -> set-attrs values, typed keys <-> bytes, decoded sets.
 *
 * Supported key and data types are the ones podnet's rules look up: IPv4/IPv6 addresses, ports
 * (inet_service), protocols, MACs, marks and interface names. Interval sets (CIDR elements) and
 * verdict maps are not built here.
 */
import { isIP } from 'node:net'
import { InvalidArgumentError } from '../../errors.js'
import { bytesToIp, formatMac, ipToBytes, parseMac, type AttrValues } from '../core/schema.js'
import { NFT_SET_MAP } from './constants.js'
import {
  BYTEORDER_BIG_ENDIAN, BYTEORDER_HOST_ENDIAN, NFTNL_UDATA_SET_DATABYTEORDER, NFTNL_UDATA_SET_DATA_INTERVAL,
  NFTNL_UDATA_SET_KEYBYTEORDER, TYPE_ETHERADDR, TYPE_IFNAME, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_IP6ADDR,
  TYPE_IPADDR, TYPE_MARK,
} from './constants-extra.js'
import type { InTable } from './chain.js'
import { familyName, type Family } from './names.js'
import { encodeUdata, udataU32 } from './userdata.js'

export type SetDataType = 'ipv4_addr' | 'ipv6_addr' | 'inet_service' | 'inet_proto' | 'ether_addr' | 'mark' | 'ifname'

interface TypeInfo { id: number; len: number; byteorder: number }

/** nft's datatype id, length and byte order of each supported type. */
export const SET_DATA_TYPES: Readonly<Record<SetDataType, TypeInfo>> = {
  ipv4_addr: { id: TYPE_IPADDR, len: 4, byteorder: BYTEORDER_BIG_ENDIAN },
  ipv6_addr: { id: TYPE_IP6ADDR, len: 16, byteorder: BYTEORDER_BIG_ENDIAN },
  inet_service: { id: TYPE_INET_SERVICE, len: 2, byteorder: BYTEORDER_BIG_ENDIAN },
  inet_proto: { id: TYPE_INET_PROTOCOL, len: 1, byteorder: BYTEORDER_BIG_ENDIAN },
  ether_addr: { id: TYPE_ETHERADDR, len: 6, byteorder: BYTEORDER_BIG_ENDIAN },
  mark: { id: TYPE_MARK, len: 4, byteorder: BYTEORDER_HOST_ENDIAN },
  ifname: { id: TYPE_IFNAME, len: 16, byteorder: BYTEORDER_HOST_ENDIAN },
}

export function setDataTypeName(id: number): SetDataType | number {
  for (const [name, t] of Object.entries(SET_DATA_TYPES)) if (t.id === id) return name as SetDataType
  return id
}

/** An element value: an address or MAC as text, a port/protocol/mark as a number, an interface name, or raw bytes. */
export type SetValue = string | number | Buffer

/** Names a set. */
export interface SetRef extends InTable {
  name: string
}

export interface SetSpec extends SetRef {
  keyType: SetDataType
  /** Makes a map from keys to values of this type. */
  dataType?: SetDataType
  /** NFT_SET_* flags (constant, timeout ...); NFT_SET_MAP is added for maps. */
  flags?: number
}

export interface SetElementSpec {
  key: SetValue
  /** The value of a map element. */
  data?: SetValue
}

export interface ElementsSpec extends SetRef {
  elements: readonly SetElementSpec[]
  /** How to encode non-Buffer values when the set is not created in the same transaction. */
  keyType?: SetDataType
  dataType?: SetDataType
}

/** A set as the kernel reports it. */
export interface NftSet {
  family: Family | number
  table: string
  name: string
  handle: bigint
  flags: number
  keyType: SetDataType | number
  keyLen: number
  dataType?: SetDataType | number
  dataLen?: number
}

export interface SetElement {
  key: SetValue
  data?: SetValue
}

/** "table ip podnet set allowed", for error messages. */
export const describeSet = (s: SetRef): string => `table ${s.family} ${s.table} set ${s.name}`

/** The bytes of a value of `type` (register order: network order for addresses and ports). */
export function encodeSetValue(type: SetDataType, v: SetValue): Buffer {
  const info = SET_DATA_TYPES[type]
  if (Buffer.isBuffer(v)) {
    if (v.length !== info.len) throw new InvalidArgumentError('element', `${type} needs ${info.len} bytes, got ${v.length}`)
    return v
  }
  const bad = (): never => { throw new InvalidArgumentError('element', `'${String(v)}' is not a valid ${type}`) }
  switch (type) {
    case 'ipv4_addr': return typeof v === 'string' && isIP(v) === 4 ? ipToBytes(v) : bad()
    case 'ipv6_addr': return typeof v === 'string' && isIP(v) === 6 ? ipToBytes(v) : bad()
    case 'inet_service': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) return bad()
      const b = Buffer.alloc(2)
      b.writeUInt16BE(v)
      return b
    }
    case 'inet_proto': return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? Buffer.from([v]) : bad()
    case 'ether_addr': return typeof v === 'string' ? parseMac(v) : bad()
    case 'mark': {
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

/** The typed value of `bytes` (raw bytes when they do not fit the type). */
export function decodeSetValue(type: SetDataType | number, b: Buffer): SetValue {
  if (typeof type === 'number' || b.length !== SET_DATA_TYPES[type].len) return b
  switch (type) {
    case 'ipv4_addr': case 'ipv6_addr': return bytesToIp(b)
    case 'inet_service': return b.readUInt16BE(0)
    case 'inet_proto': return b.readUInt8(0)
    case 'ether_addr': return formatMac(b)
    case 'mark': return b.readUInt32LE(0)
    case 'ifname': {
      const nul = b.indexOf(0)
      return b.toString('utf8', 0, nul < 0 ? b.length : nul)
    }
  }
}

/** NEWSET values in the order nft writes them (id: the set's transaction-local id). */
export function newSetValues(spec: SetSpec, id: number): AttrValues {
  const key = SET_DATA_TYPES[spec.keyType]
  if (!key) throw new InvalidArgumentError('set.keyType', `unsupported key type '${String(spec.keyType)}'`)
  const data = spec.dataType === undefined ? undefined : SET_DATA_TYPES[spec.dataType]
  if (spec.dataType !== undefined && !data) throw new InvalidArgumentError('set.dataType', `unsupported data type '${String(spec.dataType)}'`)
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
  if (data) udata.push(udataU32(NFTNL_UDATA_SET_DATABYTEORDER, data.byteorder), udataU32(NFTNL_UDATA_SET_DATA_INTERVAL, 0))
  v.userdata = encodeUdata(udata)
  return v
}

export function setFromValues(family: number, v: AttrValues): NftSet {
  const out: NftSet = {
    family: familyName(family),
    table: typeof v.table === 'string' ? v.table : '',
    name: typeof v.name === 'string' ? v.name : '',
    handle: typeof v.handle === 'bigint' ? v.handle : 0n,
    flags: typeof v.flags === 'number' ? v.flags : 0,
    keyType: setDataTypeName(typeof v.keyType === 'number' ? v.keyType : 0),
    keyLen: typeof v.keyLen === 'number' ? v.keyLen : 0,
  }
  if (typeof v.dataType === 'number') out.dataType = setDataTypeName(v.dataType)
  if (typeof v.dataLen === 'number') out.dataLen = v.dataLen
  return out
}
