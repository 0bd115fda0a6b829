/**
 * The one stand-in for the kernel end of a netlink socket in unit tests (google/nftables'
 * nftest.Recorder idea, at the Transport seam every handle opens with: `Rtnl.open({ transport })`,
 * `Nft.open({ transport })`, `Conntrack.open({ transport })`, `NetlinkSocket.open(p, { transport })`).
 * It records every datagram, splits it into messages, and queues what `respond` answers, one
 * datagram per answer, as the kernel does.
 */
import { forEachMessage, type Transport } from '../../src/netlink/core/socket.js'

export interface FakeRequest {
  type: number
  flags: number
  seq: number
  /** The payload after the nlmsghdr (family header + attributes). */
  body: Buffer
  /** The whole message, nlmsghdr included. */
  bytes: Buffer
}

/** Answers the messages of one datagram; each Buffer returned is queued as one datagram. */
export type Responder = (messages: FakeRequest[], kernel: FakeKernel) => Buffer[]

const NLMSG_ERROR = 2
const NLM_F_ACK = 0x4
const NLM_F_CAPPED = 0x100

/** Splits a datagram into its messages. */
export function splitMessages(buf: Buffer): FakeRequest[] {
  const out: FakeRequest[] = []
  forEachMessage(buf, buf.length, (m) => {
    out.push({ type: m.type, flags: m.flags, seq: m.seq, body: Buffer.from(m.buf.subarray(m.off, m.end)), bytes: Buffer.from(m.buf.subarray(m.off - 16, m.end)) })
  })
  return out
}

/** An ACK (errno 0) or an error for one request, with the CAP_ACK-shortened echo. */
export function ackFor(req: FakeRequest, portId: number, errno = 0): Buffer {
  const b = Buffer.alloc(16 + 4 + 16)
  b.writeUInt32LE(b.length, 0)
  b.writeUInt16LE(NLMSG_ERROR, 4)
  b.writeUInt16LE(NLM_F_CAPPED, 6)
  b.writeUInt32LE(req.seq, 8)
  b.writeUInt32LE(portId, 12)
  b.writeInt32LE(-errno, 16)
  req.bytes.copy(b, 20, 0, 16)
  return b
}

/** The default answer: an ACK for every message that asks for one. */
export const ackAll: Responder = (messages, k) => [Buffer.concat(messages.filter((m) => m.flags & NLM_F_ACK).map((m) => ackFor(m, k.portId)))]

export class FakeKernel implements Transport {
  readonly fd = -1
  readonly portId: number
  /** Every datagram sent, as sent. */
  readonly sent: Buffer[] = []
  /** Every message sent, in order. */
  readonly requests: FakeRequest[] = []
  closed = false
  /** Set to false to record without answering (a kernel that never replies). */
  answering = true
  protected readonly queue: Buffer[] = []
  private readonly respond: Responder

  constructor(respond: Responder = ackAll, portId = 4242) {
    this.respond = respond
    this.portId = portId
  }

  send(bytes: Buffer): void {
    const copy = Buffer.from(bytes)
    this.sent.push(copy)
    const msgs = splitMessages(copy)
    this.requests.push(...msgs)
    if (this.answering) this.queue.push(...this.respond(msgs, this).filter((d) => d.length))
  }

  async sendAsync(bytes: Buffer): Promise<void> {
    this.send(bytes)
  }

  recv(buf: Buffer | null, len: number, flags: number): number {
    const d = this.queue[0]
    if (!d) return -11
    if (flags & 0x2) return d.length // MSG_PEEK|MSG_TRUNC: the datagram's length
    this.queue.shift()
    d.copy(buf!, 0, 0, Math.min(len, d.length))
    return d.length
  }

  close(): void {
    this.closed = true
  }
}
