/**
 * Netlink multicast subscriptions (events), on their own socket, never stalling the event loop.
 *
 * Each read is a blocking recvfrom() issued on a worker thread (koffi's async call); the socket
 * has a short receive timeout so the loop notices close() within `pollMs`. An overrun (the kernel
 * dropped events: ENOBUFS) is delivered as `{ overrun: true }`: the consumer must re-dump to
 * resynchronise (netlink(7)). Events are copies, valid after the iteration step.
 */
import { PodnetError, isErrno } from '../../errors.js'
import { AF_NETLINK, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVTIMEO } from '../../sys/constants.js'
import { inNetnsFdSync } from '../../sys/netns-switch.js'
import { openNetnsArg, type NetnsArg } from '../../netns/netns.js'
import { bindNetlink, close, recv, recvOnWorker, setsockoptBuf, setsockoptInt, socket } from '../../sys/syscall.js'
import { NETLINK_ADD_MEMBERSHIP, SOL_NETLINK } from './header.js'
import { forEachMessage } from './socket.js'

export type NlEvent =
  | { overrun?: false; type: number; flags: number; seq: number; payload: Buffer }
  | { overrun: true }

export interface SubscribeOptions {
  /** Subscribe to the events of this namespace (a name, a path or an open Netns). */
  netns?: NetnsArg
  /** How often a blocked read wakes up to notice close() (default 200 ms). */
  pollMs?: number
  /** Receive buffer (default 4 MiB: event storms are bursty). */
  rcvbufBytes?: number
}

export class NetlinkSubscription implements AsyncIterable<NlEvent> {
  readonly fd: number
  private closed = false
  private buf = Buffer.alloc(65536)

  private constructor(fd: number) {
    this.fd = fd
  }

  /** Opens a socket (in `netnsFd` when given) joined to the multicast groups. */
  static open(protocol: number, groups: readonly number[], opts: SubscribeOptions = {}): NetlinkSubscription {
    const make = (): number => {
      const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)
      try {
        bindNetlink(fd)
        for (const g of groups) setsockoptInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g)
        try {
          setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, opts.rcvbufBytes ?? 4 << 20)
        } catch {
          setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, opts.rcvbufBytes ?? 4 << 20)
        }
        const ms = opts.pollMs ?? 200
        const tv = Buffer.alloc(16)
        tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0)
        tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8)
        setsockoptBuf(fd, SOL_SOCKET, SO_RCVTIMEO, tv)
        return fd
      } catch (err) {
        close(fd)
        throw err
      }
    }
    if (opts.netns === undefined) return new NetlinkSubscription(make())
    const ns = openNetnsArg(opts.netns)
    try {
      return new NetlinkSubscription(inNetnsFdSync(ns.ref.fd, make, ns.ref.name ? `netns '${ns.ref.name}'` : 'the target netns'))
    } finally {
      ns.close()
    }
  }

  /** Stops the iteration (within the poll interval) and closes the socket. */
  close(): void {
    this.closed = true
  }

  private recvAsync(): Promise<number> {
    return recvOnWorker(this.fd, this.buf, this.buf.length, MSG_TRUNC)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NlEvent> {
    try {
      while (!this.closed) {
        const n = await this.recvAsync()
        if (this.closed) break
        if (n < 0) {
          // the worker thread's errno is lost: ask the socket itself (a pending ENOBUFS is reported once)
          try {
            recv(this.fd, null, 0, MSG_DONTWAIT | MSG_PEEK)
          } catch (err) {
            if (isErrno(err, 'ENOBUFS')) yield { overrun: true }
            else throw err
          }
          continue
        }
        if (n > this.buf.length) {
          // truncated: the datagram is lost; grow for the next ones and tell the consumer to resync
          this.buf = Buffer.alloc(n * 2)
          yield { overrun: true }
          continue
        }
        const events: NlEvent[] = []
        forEachMessage(this.buf, n, (m) => {
          events.push({ type: m.type, flags: m.flags, seq: m.seq, payload: Buffer.from(m.buf.subarray(m.off, m.end)) })
        })
        yield* events
      }
    } finally {
      this.closed = true
      try { close(this.fd) } catch (err) { if (!(err instanceof PodnetError)) throw err }
    }
  }
}
