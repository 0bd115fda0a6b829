/**
 * NLMSG_ERROR and NLMSG_DONE payloads, and the extended-ack TLVs behind them.
 *
 * NLMSG_ERROR: s32 error (0 = ACK, else -errno), the echoed request nlmsghdr, the echoed payload
 * unless NLM_F_CAPPED, then the NLMSGERR_ATTR_* TLVs if NLM_F_ACK_TLVS.
 * NLMSG_DONE: s32 error, then the TLVs directly (no echoed header).
 */
import type { ExtAck } from '../../errors.js'
import { align4 } from './writer.js'
import {
  NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MISS_NEST, NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLA_TYPE_MASK,
} from './header.js'

export interface ParsedError {
  /** Positive errno, 0 for a plain ACK. */
  errno: number
  extAck: { -readonly [K in keyof ExtAck]: ExtAck[K] }
}

/** Parses an NLMSG_ERROR payload in buf[off, end); flags are the error message's own flags. */
export function parseErrorPayload(buf: Buffer, off: number, end: number, flags: number): ParsedError {
  if (end - off < 4) return { errno: 0, extAck: {} }
  const errno = -buf.readInt32LE(off) || 0
  let tlvOff = end
  if (flags & NLM_F_ACK_TLVS && end - off >= 20) {
    const echoedLen = buf.readUInt32LE(off + 4)
    tlvOff = off + 4 + (flags & NLM_F_CAPPED ? 16 : align4(echoedLen))
  }
  return { errno, extAck: parseExtAckTlvs(buf, tlvOff, end) }
}

/** Parses an NLMSG_DONE payload: s32 error then, with NLM_F_ACK_TLVS, the TLVs. */
export function parseDonePayload(buf: Buffer, off: number, end: number, flags: number): ParsedError {
  if (end - off < 4) return { errno: 0, extAck: {} }
  const errno = -buf.readInt32LE(off) || 0
  return { errno, extAck: flags & NLM_F_ACK_TLVS ? parseExtAckTlvs(buf, off + 4, end) : {} }
}

export function parseExtAckTlvs(buf: Buffer, off: number, end: number): ParsedError['extAck'] {
  const ack: ParsedError['extAck'] = {}
  let p = off
  while (p + 4 <= end) {
    const len = buf.readUInt16LE(p)
    const type = buf.readUInt16LE(p + 2) & NLA_TYPE_MASK
    if (len < 4 || p + len > end) break
    const d = p + 4
    switch (type) {
      case NLMSGERR_ATTR_MSG: {
        let e = p + len
        while (e > d && buf[e - 1] === 0) e--
        ack.message = buf.toString('utf8', d, e)
        break
      }
      case NLMSGERR_ATTR_OFFS: if (len >= 8) ack.offset = buf.readUInt32LE(d); break
      case NLMSGERR_ATTR_MISS_TYPE: if (len >= 8) ack.missingType = buf.readUInt32LE(d); break
      case NLMSGERR_ATTR_MISS_NEST: if (len >= 8) ack.missingNest = buf.readUInt32LE(d); break
    }
    p += align4(len)
  }
  return ack
}
