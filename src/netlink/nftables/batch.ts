/**
 * One nf_tables transaction = one batch = one datagram:
 *
 *   nlmsghdr{NFNL_MSG_BATCH_BEGIN 0x10, REQUEST, seq s0}  nfgenmsg{AF_UNSPEC, 0, res_id=htons(10)}
 *                                                         [NFNL_BATCH_GENID be32]
 *   nlmsghdr{(10 << 8) | NFT_MSG_*, REQUEST|ACK|..., s1}  nfgenmsg{NFPROTO_*, 0, 0}  attributes
 *   ...                                                   (one message per command)
 *   nlmsghdr{NFNL_MSG_BATCH_END 0x11, REQUEST, seq sN}    nfgenmsg{AF_UNSPEC, 0, res_id=htons(10)}
 *
 * The kernel applies all commands or none. It runs the whole batch inside sendmsg() and then
 * queues one NLMSG_ERROR per command that asked for an ACK (error 0 = ok) plus one for every
 * failing command, each carrying that command's seq: that is how a failure is tied to the
 * command and object that caused it. NEWRULE with NLM_F_ECHO is answered, on success, by the
 * created rule (with its handle) under the same seq. A batch rejected as a whole (no
 * permission, stale generation id) gets a single error under the BATCH_BEGIN seq.
 */
import { NetlinkError, NftTransactionError, type ExtAck } from '../../errors.js'
import { parseErrorPayload } from '../core/ack.js'
import { NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST, beginMessage, endMessage } from '../core/header.js'
import { attrPathAt, decodeMessageBody, encodeAttrs, encodeStruct, type AttrValues, type DecodedMessage } from '../core/schema.js'
import type { NlMessage } from '../core/socket.js'
import { Writer } from '../core/writer.js'
import { NFNETLINK_V0, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFPROTO_UNSPEC } from './constants.js'
import { batchAttrs } from './schema/batch.js'
import { nfgenmsg, nftMsgType, type NftMessageSchema } from './schema/nfgen.js'

/** One command of a transaction. */
export interface Command {
  /** Layout and NFT_MSG_* number; its name ('NFT_MSG_NEWRULE') names the command in errors. */
  schema: NftMessageSchema
  /** NFPROTO_* of nfgenmsg. */
  family: number
  /** nlmsg flags besides NLM_F_REQUEST|NLM_F_ACK (CREATE, EXCL, APPEND, ECHO ...). */
  flags: number
  attrs: AttrValues
  /** What the command is about, for errors: "table ip podnet chain postrouting". */
  object: string
}

export interface EncodedBatch {
  bytes: Buffer
  beginSeq: number
  endSeq: number
  /** seq of each command, in order. */
  seqs: number[]
  /** [start, end) of each command's message within `bytes`. */
  ranges: Array<readonly [number, number]>
}

/** Encodes commands as one batch; `nextSeq` allocates sequence numbers (the socket's). */
export function encodeBatch(commands: readonly Command[], nextSeq: () => number, opts: { genId?: number } = {}, w = new Writer(4096)): EncodedBatch {
  w.reset()
  const marker = (type: number, seq: number, genId?: number): void => {
    const start = beginMessage(w, type, NLM_F_REQUEST, seq)
    encodeStruct(nfgenmsg, { family: NFPROTO_UNSPEC, version: NFNETLINK_V0, resId: NFNL_SUBSYS_NFTABLES }, w)
    if (genId !== undefined) encodeAttrs(batchAttrs, { genid: genId }, w)
    endMessage(w, start)
  }
  const beginSeq = nextSeq()
  marker(NFNL_MSG_BATCH_BEGIN, beginSeq, opts.genId)
  const seqs: number[] = []
  const ranges: Array<readonly [number, number]> = []
  for (const c of commands) {
    const seq = nextSeq()
    const start = beginMessage(w, nftMsgType(c.schema.cmd), NLM_F_REQUEST | NLM_F_ACK | c.flags, seq)
    encodeStruct(nfgenmsg, { family: c.family, version: NFNETLINK_V0, resId: 0 }, w)
    w.align()
    encodeAttrs(c.schema.attrs, c.attrs, w)
    endMessage(w, start)
    seqs.push(seq)
    ranges.push([start, w.pos])
  }
  const endSeq = nextSeq()
  marker(NFNL_MSG_BATCH_END, endSeq)
  return { bytes: w.toBuffer(), beginSeq, endSeq, seqs, ranges }
}

interface Failure { index: number; op: string; errno: number; extAck: ExtAck; object: string }

/**
 * Collects the kernel's answers to one batch: acks, errors and echoes, matched by seq.
 * Feed every received message to `onMessage` until `done`, then call `result()`.
 */
export class BatchReplies {
  private readonly bySeq = new Map<number, number>()
  private readonly answered = new Set<number>()
  private readonly failures: Failure[] = []
  private readonly echoes = new Map<number, DecodedMessage[]>()
  private rejected = false
  private readonly batch: EncodedBatch
  private readonly commands: readonly Command[]
  private readonly portId: number

  constructor(batch: EncodedBatch, commands: readonly Command[], portId: number) {
    this.batch = batch
    this.commands = commands
    this.portId = portId
    batch.seqs.forEach((seq, i) => this.bySeq.set(seq, i))
  }

  /** True once every command has been answered, or the batch was refused as a whole. */
  get done(): boolean {
    return this.rejected || this.answered.size === this.commands.length
  }

  onMessage(m: NlMessage): void {
    if (m.pid !== this.portId && m.pid !== 0) return
    if (m.type === NLMSG_ERROR) {
      const { errno, extAck } = parseErrorPayload(m.buf, m.off, m.end, m.flags)
      const index = this.bySeq.get(m.seq)
      if (index === undefined) {
        if (m.seq === this.batch.beginSeq || m.seq === this.batch.endSeq) {
          if (errno === 0) return
          this.rejected = true
          const op = m.seq === this.batch.beginSeq ? 'NFNL_MSG_BATCH_BEGIN' : 'NFNL_MSG_BATCH_END'
          this.failures.push({ index: -1, op, errno, extAck, object: 'nf_tables transaction' })
        }
        return
      }
      this.answered.add(index)
      if (errno !== 0) {
        const c = this.commands[index] as Command
        const ack: { -readonly [K in keyof ExtAck]: ExtAck[K] } = { ...extAck }
        const range = this.batch.ranges[index]
        if (extAck.offset !== undefined && range) {
          try {
            const path = attrPathAt(c.schema, this.batch.bytes.subarray(range[0], range[1]), extAck.offset)
            if (path) ack.attrPath = path
          } catch {
            // best effort
          }
        }
        this.failures.push({ index, op: c.schema.name, errno, extAck: ack, object: c.object })
      }
      return
    }
    const index = this.bySeq.get(m.seq)
    if (index === undefined) return
    const c = this.commands[index] as Command
    if (m.type !== nftMsgType(c.schema.cmd)) return
    const list = this.echoes.get(index) ?? []
    list.push(decodeMessageBody(c.schema, m.buf, m.off, m.end))
    this.echoes.set(index, list)
  }

  /** The echoed messages per command index; throws NftTransactionError if anything failed. */
  result(): Map<number, DecodedMessage[]> {
    if (this.failures.length) {
      const sorted = [...this.failures].sort((a, b) => a.index - b.index)
      const errors = sorted.map((f) => new NetlinkError(f.op, f.errno, f.extAck, f.object))
      const first = sorted[0] as Failure
      throw new NftTransactionError(first.op, first.errno, first.extAck, first.object, first.index, errors)
    }
    return this.echoes
  }
}
