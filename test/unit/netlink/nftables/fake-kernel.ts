/**
 * A stand-in for the kernel end of a NETLINK_NETFILTER socket (google/nftables' nftest.Recorder
 * idea): records every datagram Nft sends and answers batches the way nf_tables does: for each
 * command an ACK (or an injected error with ext-ack message and offset) under its seq, and for
 * NEWRULE with NLM_F_ECHO the rule with a fresh handle, before the acks.
 */
import type { NetlinkRequest, NlMessage } from '../../../../src/netlink/core/socket.js'
import { forEachMessage } from '../../../../src/netlink/core/socket.js'
import { Writer } from '../../../../src/netlink/core/writer.js'
import type { NftSocket } from '../../../../src/netlink/nftables/nft.js'

export interface SentMessage {
  type: number
  flags: number
  seq: number
  /** nfgenmsg + attributes. */
  body: Buffer
  /** The whole message, nlmsghdr included. */
  bytes: Buffer
}

/** Splits a datagram into its messages. */
export function splitMessages(buf: Buffer): SentMessage[] {
  const out: SentMessage[] = []
  forEachMessage(buf, buf.length, (m) => {
    out.push({
      type: m.type, flags: m.flags, seq: m.seq,
      body: Buffer.from(m.buf.subarray(m.off, m.end)),
      bytes: Buffer.from(m.buf.subarray(m.off - 16, m.end)),
    })
  })
  return out
}

export interface InjectedError {
  /** Index of the command (0 = first command after BATCH_BEGIN) to fail; -1 = the whole batch. */
  index: number
  errno: number
  message?: string
  /** Ext-ack offset, from the start of the failing command's nlmsghdr. */
  offset?: number
}

const NLM_F_ACK = 0x4
const NLM_F_ECHO = 0x8
const NLMSG_ERROR = 2
const NEWRULE = (10 << 8) | 6

export class FakeKernel implements NftSocket {
  readonly portId = 4242
  readonly sent: Buffer[] = []
  readonly queue: Buffer[] = []
  /** Errors to inject into the next batch. */
  inject: InjectedError[] = []
  /** Handles given to echoed rules. */
  nextHandle = 100n
  closed = false
  private seq = 1000

  nextSeq(): number {
    return ++this.seq
  }

  sendRaw(bytes: Buffer): void {
    this.sent.push(Buffer.from(bytes))
    const msgs = splitMessages(bytes)
    const w = new Writer(1024)
    const begin = msgs[0]
    const whole = this.inject.find((e) => e.index === -1)
    if (whole && begin) {
      this.error(w, begin, whole)
    } else {
      const commands = msgs.slice(1, -1)
      const errors = new Map(this.inject.map((e) => [e.index, e]))
      // echoes first (sent at commit), then the acks and errors, as the kernel orders them
      if (!errors.size) {
        for (const m of commands) if (m.type === NEWRULE && m.flags & NLM_F_ECHO) this.echoRule(w, m)
      }
      commands.forEach((m, i) => {
        const e = errors.get(i)
        if (e) this.error(w, m, e)
        else if (m.flags & NLM_F_ACK) this.error(w, m, { index: i, errno: 0 })
      })
    }
    this.inject = []
    this.queue.push(w.toBuffer())
  }

  receiveSync(onMessage: (m: NlMessage) => void): boolean {
    const d = this.queue.shift()
    if (!d) return false
    forEachMessage(d, d.length, onMessage)
    return true
  }

  dumpSync<T>(_req: NetlinkRequest, _onMessage: (m: NlMessage) => T | undefined): T[] {
    throw new Error('FakeKernel: dumps are not simulated')
  }

  requestSync<T>(_req: NetlinkRequest, _onMessage?: (m: NlMessage) => T | undefined): T[] {
    throw new Error('FakeKernel: requests are not simulated')
  }

  close(): void {
    this.closed = true
  }

  private error(w: Writer, req: SentMessage, e: InjectedError): void {
    const tlvs = e.errno !== 0 && (e.message !== undefined || e.offset !== undefined)
    const start = w.pos
    w.u32(0); w.u16(NLMSG_ERROR); w.u16(0x100 | (tlvs ? 0x200 : 0)); w.u32(req.seq); w.u32(this.portId)
    w.s32(-e.errno)
    w.bytes(req.bytes.subarray(0, 16)) // NETLINK_CAP_ACK: the echoed header only
    if (tlvs) {
      if (e.message !== undefined) {
        const a = w.beginAttr(1)
        w.cstring(e.message)
        w.endAttr(a)
      }
      if (e.offset !== undefined) {
        const a = w.beginAttr(2)
        w.u32(e.offset)
        w.endAttr(a)
      }
    }
    w.buf.writeUInt32LE(w.pos - start, start)
    w.align()
  }

  private echoRule(w: Writer, req: SentMessage): void {
    // nfgenmsg + the request's attributes + NFTA_RULE_HANDLE (3), u64 big-endian
    const start = w.pos
    w.u32(0); w.u16(req.type); w.u16(0); w.u32(req.seq); w.u32(this.portId)
    w.bytes(req.body)
    w.align()
    const a = w.beginAttr(3)
    w.be64(this.nextHandle++)
    w.endAttr(a)
    w.buf.writeUInt32LE(w.pos - start, start)
    w.align()
  }
}
