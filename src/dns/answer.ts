/**
 * One DNS message in, one decision out (pure: no sockets). The wire format is dns-packet's
 * (README, dependencies); this file holds the rules:
 *
 *   shorter than a header, or a response (QR set)     -> drop (nothing to answer, or a reflection)
 *   opcode other than QUERY                           -> NOTIMP
 *   counts other than 1 question, no answer or authority records and
 *   at most MAX_ADDITIONALS additional ones           -> FORMERR, before any decoding (dns-packet
 *                                                       allocates and walks every counted record:
 *                                                       65535 of them cost it milliseconds)
 *   undecodable (truncated, label loop, bad pointer,
 *   records reaching past the end)                    -> FORMERR with the query's id
 *   two OPT records                                   -> FORMERR
 *   class other than IN                               -> REFUSED
 *   a name of the network (or a reverse name of its subnets) -> the zone's answer, authoritative (AA)
 *   anything else                                     -> forward (the caller relays the bytes)
 *
 * EDNS (RFC 6891): a query with an OPT record gets one back; its UDP size (512..4096) bounds the
 * UDP answer. An answer that does not fit is sent empty with TC set, and the client asks again
 * over TCP, where the limit is 65535.
 */
import * as dnsPacket from 'dns-packet'
import type { Answer, DecodedPacket, Question } from 'dns-packet'
import type { Zone } from './zone.js'

/** TTL of podnet's own records: short, so a moved pod is not cached for long (Docker and aardvark use 0-60 s). */
export const LOCAL_TTL = 5
/** The UDP size podnet announces in its own OPT records (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232
/** Without EDNS a UDP answer has at most 512 bytes (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512
/** Largest UDP size a client may ask for that is honoured. */
export const MAX_UDP_SIZE = 4096
/** A TCP message is prefixed with a 16-bit length. */
export const MAX_TCP_SIZE = 65535

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
export type RcodeName = keyof typeof RCODE

const QR = 0x8000
/** Additional records a query may carry (OPT, a TSIG, a cookie-bearing OPT...). */
export const MAX_ADDITIONALS = 4

export type Transport = 'udp' | 'tcp'

export type Decision =
  | { action: 'drop'; reason: string }
  | { action: 'reply'; bytes: Buffer; rcode: RcodeName; local: boolean }
  | { action: 'forward'; question: Question; id: number; maxSize: number }

/** The length of the question section's first entry (name + type + class), from offset 12; 0 when malformed. */
export function questionLength(msg: Buffer): number {
  let off = 12
  for (;;) {
    if (off >= msg.length) return 0
    const len = msg[off]!
    if (len === 0) break
    if (len & 0xc0) return 0 // a pointer in the first name points at nothing before it
    off += len + 1
  }
  off += 1 + 4
  return off <= msg.length ? off - 12 : 0
}

/**
 * A reply with only an rcode (FORMERR, NOTIMP, SERVFAIL, REFUSED): the query's id, opcode and
 * RD, and its question copied as it came when it is a well-formed single question (never
 * decoded: this answers garbage too). FORMERR carries no question.
 */
export function errorReply(query: Buffer, rcode: RcodeName): Buffer {
  const flags = query.readUInt16BE(2)
  const qlen = rcode !== 'FORMERR' && query.readUInt16BE(4) === 1 ? questionLength(query) : 0
  const out = Buffer.alloc(12 + qlen)
  out.writeUInt16BE(query.readUInt16BE(0), 0)
  out.writeUInt16BE(QR | (flags & 0x7800) | (flags & 0x0100) | (rcode === 'FORMERR' ? 0 : dnsPacket.RECURSION_AVAILABLE) | RCODE[rcode], 2)
  if (qlen) {
    out.writeUInt16BE(1, 4)
    query.copy(out, 12, 12, 12 + qlen)
  }
  return out
}

/** The query's OPT record, if it has one. */
function optOf(q: DecodedPacket): { udpPayloadSize: number } | undefined | 'twice' {
  const opts = (q.additionals ?? []).filter((a) => a.type === 'OPT') as Array<{ udpPayloadSize: number }>
  if (opts.length > 1) return 'twice'
  return opts[0]
}

/** The largest answer the client takes over this transport. */
export function maxAnswerSize(transport: Transport, edns: { udpPayloadSize: number } | undefined): number {
  if (transport === 'tcp') return MAX_TCP_SIZE
  if (!edns) return CLASSIC_UDP_SIZE
  return Math.max(CLASSIC_UDP_SIZE, Math.min(edns.udpPayloadSize, MAX_UDP_SIZE))
}

/** Decides what to do with one message from a client of `zone`. */
export function answerQuery(msg: Buffer, zone: Zone, transport: Transport, ttl = LOCAL_TTL): Decision {
  if (msg.length < 12) return { action: 'drop', reason: `${msg.length} bytes: shorter than a DNS header` }
  const flags = msg.readUInt16BE(2)
  if (flags & QR) return { action: 'drop', reason: 'a response, not a query' }
  if ((flags & 0x7800) !== 0) return { action: 'reply', bytes: errorReply(msg, 'NOTIMP'), rcode: 'NOTIMP', local: true }
  const formerr = (): Decision => ({ action: 'reply', bytes: errorReply(msg, 'FORMERR'), rcode: 'FORMERR', local: true })
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0 || msg.readUInt16BE(10) > MAX_ADDITIONALS) return formerr()
  let q: DecodedPacket
  try {
    q = dnsPacket.decode(msg)
    // dns-packet reads past the end of a short buffer without failing (undefined bytes)
    if ((dnsPacket.decode as unknown as { bytes: number }).bytes > msg.length) return formerr()
  } catch {
    return formerr()
  }
  const opt = optOf(q)
  if (q.questions?.length !== 1 || opt === 'twice') return formerr()
  const question = q.questions[0]!
  if (question.class !== 'IN') return { action: 'reply', bytes: errorReply(msg, 'REFUSED'), rcode: 'REFUSED', local: true }
  const maxSize = maxAnswerSize(transport, opt)
  const id = q.id ?? 0

  const types: string[] = (question.type as string) === 'ANY' ? ['A', 'AAAA'] : [question.type]
  const answers: Answer[] = []
  let nx = false
  let local = false
  for (const t of types) {
    const z = zone.lookup(question.name, t)
    if (z.kind === 'forward') continue
    local = true
    if (z.kind === 'nxdomain') nx = true
    else if (z.kind === 'answer') {
      for (const data of z.data) answers.push({ type: z.type, name: question.name, class: 'IN', ttl, data } as Answer)
    }
  }
  if (!local) return { action: 'forward', question, id, maxSize }

  const rcode: RcodeName = nx && !answers.length ? 'NXDOMAIN' : 'NOERROR'
  const rd = flags & 0x0100
  const base = {
    type: 'response' as const, id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | rd | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
    questions: [question],
    ...(opt && { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer] }),
  }
  let bytes = dnsPacket.encode({ ...base, answers })
  if (bytes.length > maxSize) {
    // RFC 2181 9: a truncated answer is marked, and the client retries over TCP
    bytes = dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] })
  }
  return { action: 'reply', bytes, rcode, local: true }
}
