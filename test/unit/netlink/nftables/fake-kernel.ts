/**
 * The nf_tables end of the kernel for unit tests: the one FakeKernel (test/support/fake-kernel.ts)
 * with a responder that answers batches the way nf_tables does (google/nftables' nftest.Recorder
 * idea): for each command an ACK (or an injected error with ext-ack message and offset) under its
 * seq, and for NEWRULE with NLM_F_ECHO the rule with a fresh handle, before the acks. Nft opens
 * over it with `Nft.open({ transport: kernel })`.
 */
import { Writer } from '../../../../src/netlink/core/writer.js'
import { FakeKernel, splitMessages, type FakeRequest } from '../../../support/fake-kernel.js'

export { splitMessages }
export type SentMessage = FakeRequest

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

export class NftKernel extends FakeKernel {
  /** Errors to inject into the next batch. */
  inject: InjectedError[] = []
  /** Handles given to echoed rules. */
  nextHandle = 100n

  constructor() {
    super((msgs) => [this.answerBatch(msgs)])
  }

  private answerBatch(msgs: FakeRequest[]): Buffer {
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
    return w.toBuffer()
  }

  private error(w: Writer, req: FakeRequest, e: InjectedError): void {
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

  private echoRule(w: Writer, req: FakeRequest): void {
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
