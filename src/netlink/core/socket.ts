/**
 * NetlinkSocket: one netlink socket, bound to the network namespace it was created in.
 *
 * - Sequence numbers per socket; replies are matched by (seq, our port id).
 * - NETLINK_EXT_ACK and NETLINK_CAP_ACK are always on: kernel errors carry the kernel's own
 *   message and the offending attribute, resolved to a path through the request's schema.
 * - NETLINK_GET_STRICT_CHK is turned on when the kernel has it (remembered in `strictCheck`),
 *   which enables kernel-side dump filters.
 * - Each datagram is sized with MSG_PEEK|MSG_TRUNC before it is read; SO_RCVBUF is 1 MiB.
 * - Dumps that come back with NLM_F_DUMP_INTR are retried (bounded), then DumpInterruptedError
 *   carries the partial result.
 *
 * The kernel handles a request inside sendto(), so its replies are queued when sendto returns
 * and dump parts are produced as we read: the synchronous path never waits on anything but the
 * kernel's own work. Requests that make the kernel sleep (deleting a veth waits for an RCU grace
 * period, 10-25 ms) can be offloaded to a worker thread with `{ offload: true }`.
 */
import { DecodeError, DumpInterruptedError, NetlinkError, PodnetError } from '../../errors.js'
import {
  AF_NETLINK, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET,
  SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVTIMEO, SO_SNDBUF, SO_SNDBUFFORCE,
} from '../../sys/constants.js'
import {
  bindNetlink, close, netlinkPortId, recv, sendToKernel, sendToKernelOnWorker, setsockoptBuf, setsockoptInt, socket,
} from '../../sys/syscall.js'
import { inNetnsFdSync } from '../../sys/netns-switch.js'
import { openNetnsArg, type NetnsArg } from '../../netns/netns.js'
import { parseDonePayload, parseErrorPayload } from './ack.js'
import {
  NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
  NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, SOL_NETLINK, beginMessage, endMessage,
} from './header.js'
import { type MessageSchema, attrPathAt } from './schema.js'
import { Writer, align4 } from './writer.js'

/**
 * One received netlink message. For requests and dumps `buf` is a copy of the datagram, which
 * decoded objects may keep; for drainSync/receiveSync it is the socket's buffer, valid only during
 * the callback.
 */
export interface NlMessage {
  type: number
  flags: number
  seq: number
  pid: number
  buf: Buffer
  /** Payload start (after nlmsghdr) and end within buf. */
  off: number
  end: number
}

export interface NetlinkRequest {
  type: number
  /** Flags besides NLM_F_REQUEST|NLM_F_ACK, which are always set. */
  flags: number
  /** Writes the payload (family header and attributes). */
  body: (w: Writer) => void
  /** Layout of the request, for naming the failing operation and attribute in errors. */
  schema?: MessageSchema
  /** What the request is about, for errors: "link 'pn0'". */
  object?: string
}

export interface OpenOptions {
  /**
   * Create the socket inside this network namespace (a name, a path or an open Netns); the socket
   * stays bound to it for its whole life, whatever thread later uses it.
   */
  netns?: NetnsArg
  /** Talk to this instead of the kernel (tests: a fake kernel). `netns` and the buffer options are then ignored. */
  transport?: Transport
  /** Names message types for errors when a request has no schema. */
  typeName?: (type: number) => string
  /** Receive buffer size in bytes (default 1 MiB). */
  rcvbufBytes?: number
  /** Send buffer size in bytes (default 1 MiB; nf_tables batches can be large). */
  sndbufBytes?: number
  /** Receive timeout guarding against a kernel that never answers (default 30 s). */
  timeoutMs?: number
}

export interface DumpOptions {
  /** Attempts before DumpInterruptedError (default 5, as Docker's and CNI's wrappers). */
  maxAttempts?: number
}

const DEFAULT_BUF = 65536
/** What dumps are read with: the kernel's largest dump part (SKB_WITH_OVERHEAD(32768) in netlink_recvmsg) fits. */
const DUMP_RECV_BYTES = 32768

/**
 * Where datagrams go: the kernel (KernelTransport, a real netlink socket) or, in unit tests, a
 * fake kernel that answers with prepared messages.
 */
export interface Transport {
  /** -1 for transports without a file descriptor. */
  readonly fd: number
  readonly portId: number
  send(bytes: Buffer): void
  /** The send on a worker thread (for requests the kernel sleeps in). */
  sendAsync(bytes: Buffer): Promise<void>
  /** recvfrom(2): the datagram length (the real one with MSG_TRUNC), or -errno for EAGAIN/EINTR. */
  recv(buf: Buffer | null, len: number, flags: number): number
  close(): void
}

/** A bound AF_NETLINK socket. */
export class KernelTransport implements Transport {
  readonly fd: number
  readonly portId: number
  constructor(fd: number) {
    this.fd = fd
    this.portId = netlinkPortId(fd)
  }
  send(bytes: Buffer): void {
    sendToKernel(this.fd, bytes)
  }
  sendAsync(bytes: Buffer): Promise<void> {
    return sendToKernelOnWorker(this.fd, bytes)
  }
  recv(buf: Buffer | null, len: number, flags: number): number {
    return recv(this.fd, buf, len, flags)
  }
  close(): void {
    close(this.fd)
  }
}

export class NetlinkSocket {
  readonly fd: number
  readonly protocol: number
  readonly portId: number
  readonly transport: Transport
  /** Whether the kernel accepted NETLINK_GET_STRICT_CHK (kernel-side dump filtering). */
  readonly strictCheck: boolean
  private seq: number
  private closed = false
  private rbuf = Buffer.alloc(DEFAULT_BUF)
  private readonly writer = new Writer(4096)
  private readonly typeName: (type: number) => string
  /** Serializes offloaded requests so that replies are never interleaved. */
  private queue: Promise<unknown> = Promise.resolve()
  /**
   * Offloaded requests sent and not answered yet, by seq, with the datagrams of theirs that a
   * synchronous request read meanwhile (it runs while the worker sends): kept for them instead of
   * dropped, or the offloaded request would wait out the receive timeout for an ACK already read.
   */
  private readonly awaiting = new Map<number, Buffer[]>()

  private constructor(transport: Transport, protocol: number, strictCheck: boolean, typeName: (t: number) => string) {
    this.transport = transport
    this.fd = transport.fd
    this.protocol = protocol
    this.portId = transport.portId
    this.strictCheck = strictCheck
    this.typeName = typeName
    this.seq = (Date.now() & 0x3fffffff) + 1
  }

  /** Opens a socket (synchronously; inside `netns` when given). */
  static open(protocol: number, opts: OpenOptions = {}): NetlinkSocket {
    if (opts.transport) return NetlinkSocket.fromTransport(opts.transport, { protocol, ...(opts.typeName && { typeName: opts.typeName }) })
    const make = (): number => {
      const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)
      try {
        bindNetlink(fd)
      } catch (err) {
        close(fd)
        throw err
      }
      return fd
    }
    let fd: number
    if (opts.netns === undefined) fd = make()
    else {
      const ns = openNetnsArg(opts.netns)
      try {
        fd = inNetnsFdSync(ns.ref.fd, make, ns.ref.name ? `netns '${ns.ref.name}'` : 'the target netns')
      } finally {
        ns.close()
      }
    }
    try {
      setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1)
      setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1)
      let strict = true
      try {
        setsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
      } catch {
        strict = false
      }
      setBuf(fd, SO_RCVBUFFORCE, SO_RCVBUF, opts.rcvbufBytes ?? 1 << 20)
      setBuf(fd, SO_SNDBUFFORCE, SO_SNDBUF, opts.sndbufBytes ?? 1 << 20)
      const tv = Buffer.alloc(16)
      const ms = opts.timeoutMs ?? 30_000
      tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0)
      tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8)
      setsockoptBuf(fd, SOL_SOCKET, SO_RCVTIMEO, tv)
      return new NetlinkSocket(new KernelTransport(fd), protocol, strict, opts.typeName ?? ((t) => `message type ${t}`))
    } catch (err) {
      close(fd)
      throw err
    }
  }

  /** A socket over another transport (tests: a fake kernel). */
  static fromTransport(transport: Transport, opts: { protocol?: number; strictCheck?: boolean; typeName?: (type: number) => string } = {}): NetlinkSocket {
    return new NetlinkSocket(transport, opts.protocol ?? 0, opts.strictCheck ?? true, opts.typeName ?? ((t) => `message type ${t}`))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.transport.close()
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1
    return this.seq
  }

  /** Sends a request and waits for its ACK; returns what `onMessage` made of each reply before the ACK. */
  requestSync<T>(req: NetlinkRequest, onMessage?: (m: NlMessage) => T | undefined): T[] {
    const { seq, bytes } = this.build(req, NLM_F_ACK)
    this.transport.send(bytes)
    return this.collect(seq, req, bytes, onMessage).items
  }

  /**
   * Async request. With `offload`, the send runs on a worker thread so that a request the
   * kernel sleeps in (veth deletion) does not stall the event loop.
   */
  async request<T>(req: NetlinkRequest, onMessage?: (m: NlMessage) => T | undefined, opts: { offload?: boolean } = {}): Promise<T[]> {
    if (!opts.offload) return this.requestSync(req, onMessage)
    const run = async (): Promise<T[]> => {
      const { seq, bytes } = this.build(req, NLM_F_ACK)
      const copy = Buffer.from(bytes)
      this.awaiting.set(seq, [])
      try {
        await this.transport.sendAsync(copy)
        return this.collect(seq, req, copy, onMessage).items
      } finally {
        this.awaiting.delete(seq)
      }
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => undefined)
    return p
  }

  /** Dumps (NLM_F_DUMP) with bounded retry on NLM_F_DUMP_INTR. */
  dumpSync<T>(req: NetlinkRequest, onMessage: (m: NlMessage) => T | undefined, opts: DumpOptions = {}): T[] {
    const max = opts.maxAttempts ?? 5
    let last: T[] = []
    for (let attempt = 1; attempt <= max; attempt++) {
      const { seq, bytes } = this.build(req, NLM_F_DUMP)
      this.transport.send(bytes)
      const { items, interrupted } = this.collect(seq, req, bytes, onMessage, true)
      if (!interrupted) return items
      last = items
    }
    throw new DumpInterruptedError(this.opName(req), max, last)
  }

  async dump<T>(req: NetlinkRequest, onMessage: (m: NlMessage) => T | undefined, opts: DumpOptions = {}): Promise<T[]> {
    return this.dumpSync(req, onMessage, opts)
  }

  /** Sends prebuilt bytes (one or more messages, e.g. an nf_tables batch). */
  sendRaw(bytes: Buffer): void {
    this.transport.send(bytes)
  }

  /**
   * Reads every datagram already queued (non-blocking) and passes each message to onMessage.
   * The kernel processes a batch inside sendto(), so after it returns all replies are queued.
   */
  drainSync(onMessage: (m: NlMessage) => void): void {
    for (;;) {
      const n = this.recvDatagram(MSG_DONTWAIT)
      if (n < 0) return
      forEachMessage(this.rbuf, n, onMessage)
    }
  }

  /** Reads one datagram, blocking up to the receive timeout; returns false on timeout. */
  receiveSync(onMessage: (m: NlMessage) => void): boolean {
    const n = this.recvDatagram(0)
    if (n < 0) return false
    forEachMessage(this.rbuf, n, onMessage)
    return true
  }

  private build(req: NetlinkRequest, extraFlags: number): { seq: number; bytes: Buffer } {
    if (this.closed) throw new PodnetError('netlink socket is closed')
    const seq = this.nextSeq()
    const w = this.writer.reset()
    const start = beginMessage(w, req.type, req.flags | NLM_F_REQUEST | extraFlags, seq)
    req.body(w)
    endMessage(w, start)
    return { seq, bytes: w.buf.subarray(0, w.pos) }
  }

  private opName(req: NetlinkRequest): string {
    return req.schema?.name ?? this.typeName(req.type)
  }

  private recvDatagram(flags: number): number {
    const size = this.transport.recv(null, 0, MSG_PEEK | MSG_TRUNC | flags)
    if (size < 0) return size
    if (size > this.rbuf.length) this.rbuf = Buffer.alloc(Math.max(size, this.rbuf.length * 2))
    return this.transport.recv(this.rbuf, this.rbuf.length, flags)
  }

  /**
   * The next datagram in a buffer of its own, exactly its size: decoded objects keep views into
   * it (lazy decoding), so it is received into fresh memory instead of being copied out of rbuf.
   * undefined on a receive timeout.
   */
  private recvOwnedDatagram(bulk: boolean): Buffer | undefined {
    const size = this.transport.recv(null, 0, MSG_PEEK | MSG_TRUNC)
    if (size < 0) return undefined
    // A dump is read with a buffer of DUMP_RECV_BYTES: the kernel sizes the next parts of a dump
    // after the largest read so far (netlink_recvmsg's max_recvmsg_len), so 2,000 links come in
    // ~80 datagrams instead of ~1,000 of 2-4 KiB, each costing two syscalls.
    const buf = Buffer.allocUnsafe(bulk ? Math.max(size, DUMP_RECV_BYTES) : size)
    const n = this.transport.recv(buf, buf.length, 0)
    if (n < 0) return undefined
    if (n === buf.length) return buf
    // a short part (the first and the last of a dump) is copied rather than keeping 32 KiB alive
    return n < buf.length >> 1 ? Buffer.from(buf.subarray(0, n)) : buf.subarray(0, n)
  }

  private collect<T>(seq: number, req: NetlinkRequest, request: Buffer, onMessage?: (m: NlMessage) => T | undefined, bulk = false): { items: T[]; interrupted: boolean } {
    const items: T[] = []
    let interrupted = false
    let done = false
    let failure: NetlinkError | undefined
    const kept = this.awaiting.get(seq)
    while (!done) {
      const dgram = kept?.shift() ?? this.recvOwnedDatagram(bulk)
      if (dgram === undefined) throw new PodnetError(`${this.opName(req)}: no answer from the kernel within the receive timeout`)
      let keepFor: Buffer[] | undefined
      forEachMessage(dgram, dgram.length, (m) => {
        if (m.seq !== seq && m.pid === this.portId) keepFor ??= this.awaiting.get(m.seq)
        if (m.seq !== seq || m.pid !== this.portId || done) return
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true
        switch (m.type) {
          case NLMSG_NOOP:
            return
          case NLMSG_ERROR: {
            const e = parseErrorPayload(m.buf, m.off, m.end, m.flags)
            done = true
            if (e.errno !== 0) failure = this.error(req, request, e.errno, e.extAck)
            return
          }
          case NLMSG_DONE: {
            const e = parseDonePayload(m.buf, m.off, m.end, m.flags)
            done = true
            if (e.errno !== 0) failure = this.error(req, request, e.errno, e.extAck)
            return
          }
          case NLMSG_OVERRUN:
            done = true
            failure = this.error(req, request, 105 /* ENOBUFS */, { message: 'NLMSG_OVERRUN: data lost' })
            return
          default:
            if (onMessage) {
              const v = onMessage(m)
              if (v !== undefined) items.push(v)
            }
        }
      })
      // an offloaded request's reply: its own collect reads it from there
      keepFor?.push(dgram)
    }
    if (failure) throw failure
    return { items, interrupted }
  }

  private error(req: NetlinkRequest, request: Buffer, errno: number, extAck: { message?: string; offset?: number; missingType?: number; missingNest?: number }): NetlinkError {
    const ack: { message?: string; offset?: number; attrPath?: string; missingType?: number; missingNest?: number } = { ...extAck }
    if (req.schema && extAck.offset !== undefined) {
      try {
        const path = attrPathAt(req.schema, request, extAck.offset)
        if (path) ack.attrPath = path
      } catch {
        // best effort: the error is still useful without the path
      }
    }
    return new NetlinkError(this.opName(req), errno, ack, req.object ?? '')
  }
}

function setBuf(fd: number, force: number, plain: number, bytes: number): void {
  try {
    setsockoptInt(fd, SOL_SOCKET, force, bytes)
  } catch {
    setsockoptInt(fd, SOL_SOCKET, plain, bytes)
  }
}

/** Calls fn for each nlmsghdr-framed message in buf[0, n). */
export function forEachMessage(buf: Buffer, n: number, fn: (m: NlMessage) => void): void {
  let p = 0
  while (p + 16 <= n) {
    const len = buf.readUInt32LE(p)
    if (len < 16 || p + len > n) throw new DecodeError('nlmsghdr', '', p, `message length ${len} does not fit the ${n}-byte datagram`)
    fn({
      type: buf.readUInt16LE(p + 4),
      flags: buf.readUInt16LE(p + 6),
      seq: buf.readUInt32LE(p + 8),
      pid: buf.readUInt32LE(p + 12),
      buf,
      off: p + 16,
      end: p + len,
    })
    p += align4(len)
  }
}
