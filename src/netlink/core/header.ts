/** nlmsghdr, control message types and flags, from /usr/include/linux/netlink.h (names verbatim). */
import type { Writer } from './writer.js'

export const NETLINK_ROUTE = 0
export const NETLINK_NETFILTER = 12

export const NLMSG_HDRLEN = 16
export const NLMSG_NOOP = 0x1
export const NLMSG_ERROR = 0x2
export const NLMSG_DONE = 0x3
export const NLMSG_OVERRUN = 0x4
export const NLMSG_MIN_TYPE = 0x10

export const NLM_F_REQUEST = 0x01
export const NLM_F_MULTI = 0x02
export const NLM_F_ACK = 0x04
export const NLM_F_ECHO = 0x08
export const NLM_F_DUMP_INTR = 0x10
export const NLM_F_DUMP_FILTERED = 0x20
// GET
export const NLM_F_ROOT = 0x100
export const NLM_F_MATCH = 0x200
export const NLM_F_ATOMIC = 0x400
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
// NEW
export const NLM_F_REPLACE = 0x100
export const NLM_F_EXCL = 0x200
export const NLM_F_CREATE = 0x400
export const NLM_F_APPEND = 0x800
// DELETE
export const NLM_F_NONREC = 0x100
export const NLM_F_BULK = 0x200
// ACK
export const NLM_F_CAPPED = 0x100
export const NLM_F_ACK_TLVS = 0x200

// socket options, level SOL_NETLINK
export const SOL_NETLINK = 270
export const NETLINK_ADD_MEMBERSHIP = 1
export const NETLINK_DROP_MEMBERSHIP = 2
export const NETLINK_NO_ENOBUFS = 5
export const NETLINK_LISTEN_ALL_NSID = 8
export const NETLINK_CAP_ACK = 10
export const NETLINK_EXT_ACK = 11
export const NETLINK_GET_STRICT_CHK = 12

// enum nlmsgerr_attrs
export const NLMSGERR_ATTR_MSG = 1
export const NLMSGERR_ATTR_OFFS = 2
export const NLMSGERR_ATTR_COOKIE = 3
export const NLMSGERR_ATTR_POLICY = 4
export const NLMSGERR_ATTR_MISS_TYPE = 5
export const NLMSGERR_ATTR_MISS_NEST = 6

export const NLA_F_NESTED = 1 << 15
export const NLA_F_NET_BYTEORDER = 1 << 14
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff

export interface NlMsgHeader {
  len: number
  type: number
  flags: number
  seq: number
  pid: number
}

/** Writes a header with len 0; endMessage() patches it. Returns the message start. */
export function beginMessage(w: Writer, type: number, flags: number, seq: number, pid = 0): number {
  w.align()
  const start = w.pos
  w.u32(0)
  w.u16(type)
  w.u16(flags)
  w.u32(seq)
  w.u32(pid)
  return start
}

export function endMessage(w: Writer, start: number): void {
  w.buf.writeUInt32LE(w.pos - start, start)
  w.align()
}

/** Human names for the flags of a header, for hexdumps and debug output. */
export function flagNames(flags: number): string {
  const names: string[] = []
  const known: Array<[number, string]> = [
    [NLM_F_REQUEST, 'REQUEST'], [NLM_F_MULTI, 'MULTI'], [NLM_F_ACK, 'ACK'], [NLM_F_ECHO, 'ECHO'],
    [NLM_F_DUMP_INTR, 'DUMP_INTR'], [NLM_F_DUMP_FILTERED, 'DUMP_FILTERED'],
  ]
  for (const [bit, name] of known) if (flags & bit) names.push(name)
  const rest = flags & ~0x3f
  if (rest) names.push(`0x${rest.toString(16)}`)
  return names.join('|')
}
