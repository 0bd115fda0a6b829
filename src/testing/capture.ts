/**
 * Packet capture from TypeScript: an AF_PACKET socket made inside the namespace, bound to one
 * interface, written to a pcap file that tcpdump, tshark and Wireshark read.
 *
 *   const cap = capture(ns, 'eth0', { file: '/run/x.pcap', count: 10 })
 *   ... traffic ...
 *   const { packets, bytes } = await cap.done     // after `count` packets (or cap.stop())
 *
 * Both directions are captured (what arrives and what the namespace sends). The file is pcap
 * 2.4 with nanosecond timestamps (magic a1b23c4d, the kernel's receive time, SIOCGSTAMPNS),
 * link type EN10MB (ethernet, loopback included; for a device without ethernet headers the
 * file says EN10MB all the same). Limits: `count` packets, at most `maxBytes` of packet data,
 * `snaplen` bytes kept of each packet (default 65535). The socket is read every `pollMs` (default
 * 5 ms) without blocking: packets that arrive faster than the socket's receive buffer holds
 * between two reads are lost (the kernel counts them, not this file).
 *
 * What it creates: one socket and the file. Cleanup: stop(), the limits, the TempNetns it was made
 * on closing, or process exit. Depends on: a sandboxed process, CAP_NET_RAW in the namespace.
 */
import { closeSync as closeFd, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { AF_PACKET, ETH_P_ALL, MSG_TRUNC, SIOCGSTAMPNS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW } from '../sys/constants.js'
import { bindSockaddr, close, ioctlBuf, recvDontWait, socket } from '../sys/syscall.js'
import { inNetnsFdSync } from '../sys/netns-switch.js'
import { assertSandboxed } from './guard.js'
import { trackFixture } from './hooks.js'
import { fixtureTmpBase } from './topology.js'

export interface CaptureOptions {
  /** The pcap file (default: capture-<ifname>-<n>.pcap in the sandbox's /run). */
  file?: string
  /** Stop after this many packets. */
  count?: number
  /** Never write more than this many bytes of packet data: the packet that would pass it ends the capture unwritten. */
  maxBytes?: number
  /** Bytes kept of each packet (default 65535). */
  snaplen?: number
  /** How often the socket is read (default 5 ms). */
  pollMs?: number
}

export interface CaptureResult {
  readonly file: string
  readonly packets: number
  readonly bytes: number
  /** Why it ended: 'count', 'bytes', 'stopped' (stop() or teardown). */
  readonly reason: 'count' | 'bytes' | 'stopped'
}

export interface Capture {
  readonly file: string
  readonly packets: number
  readonly bytes: number
  /** Resolves when a limit is reached or stop() is called. */
  readonly done: Promise<CaptureResult>
  /** Reads what is queued, closes the socket and the file. */
  stop(): Promise<CaptureResult>
  closeSync(): void
}

type Where = Netns | { ns: Netns; name?: string; adopt?: (c: { closeSync(): void }) => void } | string

const LINKTYPE_ETHERNET = 1
const PCAP_MAGIC_NS = 0xa1b23c4d
let captures = 0

/** sockaddr_ll for bind: family AF_PACKET, protocol htons(ETH_P_ALL), the ifindex. */
function sockaddrLl(ifindex: number): Buffer {
  const sa = Buffer.alloc(20)
  sa.writeUInt16LE(AF_PACKET, 0)
  sa.writeUInt16BE(ETH_P_ALL, 2)
  sa.writeInt32LE(ifindex, 4)
  return sa
}

/** Starts capturing on `ifname` in the namespace; see the module comment. */
export function capture(where: Where, ifname: string, opts: CaptureOptions = {}): Capture {
  assertSandboxed()
  const snaplen = opts.snaplen ?? 65535
  if (!(Number.isInteger(snaplen) && snaplen > 0 && snaplen <= 262144)) throw new InvalidArgumentError('snaplen', `${String(snaplen)} is not 1..262144`)
  if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count > 0)) throw new InvalidArgumentError('count', `${String(opts.count)} is not a positive integer`)
  if (opts.maxBytes !== undefined && !(Number.isInteger(opts.maxBytes) && opts.maxBytes > 0)) throw new InvalidArgumentError('maxBytes', `${String(opts.maxBytes)} is not a positive integer`)
  const opened = typeof where === 'string' ? Netns.open(where) : undefined
  const ns = opened ?? (typeof where === 'object' && 'fd' in where ? where : (where as { ns: Netns }).ns)
  let fd: number
  try {
    const rt = Rtnl.open({ netns: ns })
    let ifindex: number
    try {
      ifindex = rt.link.getSync(ifname).index
    } finally {
      rt.close()
    }
    // protocol 0 first: nothing is queued until the bind names the interface
    fd = inNetnsFdSync(ns.fd, () => socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), `netns '${ns.name}'`)
    try {
      bindSockaddr(fd, sockaddrLl(ifindex))
    } catch (err) {
      close(fd)
      throw err
    }
  } finally {
    opened?.close()
  }
  const file = opts.file ?? join(fixtureTmpBase(), `capture-${ifname}-${process.pid}-${++captures}.pcap`)
  const out = openSync(file, 'w', 0o644)
  const header = Buffer.alloc(24)
  header.writeUInt32LE(PCAP_MAGIC_NS, 0)
  header.writeUInt16LE(2, 4)
  header.writeUInt16LE(4, 6)
  header.writeUInt32LE(snaplen, 16)
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20)
  writeSync(out, header)

  const buf = Buffer.alloc(Math.max(snaplen, 65536))
  const ts = Buffer.alloc(16)
  const rec = Buffer.alloc(16)
  let packets = 0
  let bytes = 0
  let finished: CaptureResult | undefined
  let resolveDone: (r: CaptureResult) => void = () => {}
  const done = new Promise<CaptureResult>((resolve) => (resolveDone = resolve))

  const finish = (reason: CaptureResult['reason']): CaptureResult => {
    if (finished) return finished
    clearInterval(timer)
    untrack()
    close(fd)
    closeFd(out)
    finished = { file, packets, bytes, reason }
    resolveDone(finished)
    return finished
  }
  const drain = (): void => {
    while (!finished) {
      const n = recvDontWait(fd, buf, MSG_TRUNC)
      if (n < 0) return
      const caplen = Math.min(n, snaplen, buf.length)
      if (opts.maxBytes !== undefined && bytes + caplen > opts.maxBytes) {
        finish('bytes')
        return
      }
      let sec = 0
      let nsec = 0
      try {
        ioctlBuf(fd, SIOCGSTAMPNS, ts)
        sec = Number(ts.readBigInt64LE(0))
        nsec = Number(ts.readBigInt64LE(8))
      } catch {
        const now = process.hrtime.bigint() // no kernel timestamp: the time it was read
        sec = Number(now / 1_000_000_000n)
        nsec = Number(now % 1_000_000_000n)
      }
      rec.writeUInt32LE(sec >>> 0, 0)
      rec.writeUInt32LE(nsec, 4)
      rec.writeUInt32LE(caplen, 8)
      rec.writeUInt32LE(n, 12)
      writeSync(out, rec)
      writeSync(out, buf, 0, caplen)
      packets++
      bytes += caplen
      if (opts.count !== undefined && packets >= opts.count) finish('count')
    }
  }
  const timer = setInterval(drain, opts.pollMs ?? 5)
  let untrack = (): void => {}
  const cap: Capture = {
    file,
    get packets() {
      return packets
    },
    get bytes() {
      return bytes
    },
    done,
    async stop() {
      if (!finished) drain()
      return finish('stopped')
    },
    closeSync() {
      if (!finished) drain()
      finish('stopped')
    },
  }
  const adopter = typeof where === 'object' && !('fd' in where) && typeof where.adopt === 'function' ? where : undefined
  if (adopter) adopter.adopt!(cap)
  else untrack = trackFixture(cap)
  return cap
}
