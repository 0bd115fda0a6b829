/**
 * libnftnl userdata: the TLVs `nft` stores in NFTA_RULE_USERDATA / NFTA_SET_USERDATA. The
 * kernel keeps them opaque; `nft list ruleset` reads them back (rule comments, how to print
 * set elements).
 *
 *   +--------+--------+---------------------+
 *   | type u8| len u8 | value (len bytes)   |   repeated; no alignment
 *   +--------+--------+---------------------+
 *
 * A rule comment is { NFTNL_UDATA_RULE_COMMENT (0), strlen + 1, "text\0" }; the set byte
 * orders are { NFTNL_UDATA_SET_KEYBYTEORDER (0), 4, u32 in host order }.
 */
import { DecodeError, InvalidArgumentError } from '../../errors.js'
import { NFTNL_UDATA_COMMENT_MAXLEN, NFTNL_UDATA_RULE_COMMENT } from './constants-extra.js'

export interface UdataTlv {
  type: number
  value: Buffer
}

export function encodeUdata(tlvs: readonly UdataTlv[]): Buffer {
  const parts: Buffer[] = []
  for (const { type, value } of tlvs) {
    if (value.length > 255) throw new InvalidArgumentError('userdata', `TLV ${type} of ${value.length} bytes exceeds 255`)
    parts.push(Buffer.from([type, value.length]), value)
  }
  return Buffer.concat(parts)
}

/** Parses userdata TLVs; throws DecodeError when a TLV overruns the buffer. */
export function decodeUdata(buf: Buffer): UdataTlv[] {
  const out: UdataTlv[] = []
  let p = 0
  while (p < buf.length) {
    if (p + 2 > buf.length) throw new DecodeError('udata', '', p, 'truncated TLV header')
    const type = buf[p] ?? 0
    const len = buf[p + 1] ?? 0
    if (p + 2 + len > buf.length) throw new DecodeError('udata', `#${type}`, p, `TLV of ${len} bytes overruns the ${buf.length}-byte userdata`)
    out.push({ type, value: Buffer.from(buf.subarray(p + 2, p + 2 + len)) })
    p += 2 + len
  }
  return out
}

/** Userdata holding just a rule comment, as `nft ... comment "text"` writes it. */
export function commentUdata(comment: string): Buffer {
  const text = Buffer.from(comment, 'utf8')
  if (text.includes(0)) throw new InvalidArgumentError('comment', 'must not contain NUL')
  if (text.length > NFTNL_UDATA_COMMENT_MAXLEN) {
    throw new InvalidArgumentError('comment', `${text.length} bytes, nft allows at most ${NFTNL_UDATA_COMMENT_MAXLEN}`)
  }
  return encodeUdata([{ type: NFTNL_UDATA_RULE_COMMENT, value: Buffer.concat([text, Buffer.from([0])]) }])
}

/** The comment in rule userdata and the TLVs besides it. */
export function splitRuleUdata(buf: Buffer): { comment?: string; rest: UdataTlv[] } {
  let comment: string | undefined
  const rest: UdataTlv[] = []
  for (const tlv of decodeUdata(buf)) {
    if (tlv.type === NFTNL_UDATA_RULE_COMMENT && comment === undefined) {
      let end = tlv.value.length
      while (end > 0 && tlv.value[end - 1] === 0) end--
      comment = tlv.value.toString('utf8', 0, end)
    } else {
      rest.push(tlv)
    }
  }
  return comment === undefined ? { rest } : { comment, rest }
}

/** A u32 udata value in host (little-endian) order. */
export function udataU32(type: number, value: number): UdataTlv {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(value >>> 0)
  return { type, value: b }
}
