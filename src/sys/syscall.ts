/** Checked libc calls: each throws SyscallError (syscall, errno, errnoName, path) on failure. */
import { PodnetError, SyscallError } from '../errors.js'
import { raw, lastErrno } from './libc.js'
import { AF_INET, AF_INET6, AF_NETLINK, LOCK_NB } from './constants.js'

const EWOULDBLOCK = 11

function check(rc: number | bigint, syscall: string, path?: string): number {
  const n = Number(rc)
  if (n < 0) throw new SyscallError(syscall, lastErrno(), path)
  return n
}

export function socket(domain: number, type: number, protocol: number): number {
  return check(raw.socket(domain, type, protocol), 'socket')
}

/** Binds a netlink socket; pid 0 lets the kernel pick the port id. */
export function bindNetlink(fd: number, groups = 0): void {
  const sa = Buffer.alloc(12)
  sa.writeUInt16LE(AF_NETLINK, 0)
  sa.writeUInt32LE(groups, 8)
  check(raw.bind(fd, sa, 12), 'bind')
}

/**
 * Binds an IPv4 or IPv6 socket to an address (4 or 16 bytes, network order) and port: struct
 * sockaddr_in / sockaddr_in6 (family host-endian, port and address big-endian).
 */
export function bindInet(fd: number, addr: Uint8Array, port: number): void {
  const v6 = addr.length === 16
  const sa = Buffer.alloc(v6 ? 28 : 16)
  sa.writeUInt16LE(v6 ? AF_INET6 : AF_INET, 0)
  sa.writeUInt16BE(port, 2)
  sa.set(addr, v6 ? 8 : 4)
  check(raw.bind(fd, sa, sa.length), 'bind')
}

export function listen(fd: number, backlog: number): void {
  check(raw.listen(fd, backlog), 'listen')
}

/** The port id the kernel gave a bound netlink socket. */
export function netlinkPortId(fd: number): number {
  const sa = Buffer.alloc(12)
  const len = [12]
  check(raw.getsockname(fd, sa, len), 'getsockname')
  return sa.readUInt32LE(4)
}

const kernelAddr = (() => {
  const sa = Buffer.alloc(12)
  sa.writeUInt16LE(AF_NETLINK, 0)
  return sa
})()

/** Sends one datagram to the kernel (netlink port 0). */
export function sendToKernel(fd: number, buf: Buffer, len = buf.length): number {
  return check(raw.sendto(fd, buf, len, 0, kernelAddr, 12), 'sendto')
}

/**
 * sendto(2) to the kernel on one of koffi's worker threads, for requests the kernel sleeps in
 * (the event loop keeps running). The buffer is copied first: the caller may reuse its own.
 */
export function sendToKernelOnWorker(fd: number, buf: Buffer, len = buf.length): Promise<void> {
  const copy = Buffer.from(buf.subarray(0, len))
  return new Promise<void>((resolve, reject) => {
    raw.sendto.async(fd, copy, copy.length, 0, kernelAddr, 12, (err: unknown, n: number | bigint) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)))
      else if (Number(n) < 0) reject(new PodnetError('sendto on a netlink socket failed on a worker thread (its errno is not readable here)'))
      else resolve()
    })
  })
}

/**
 * A blocking recvfrom(2) on one of koffi's worker threads: resolves with the datagram length
 * (the real one with MSG_TRUNC) or -1 when it failed (the worker's errno is lost: callers ask the
 * socket again on this thread with MSG_DONTWAIT).
 */
export function recvOnWorker(fd: number, buf: Buffer, len: number, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    raw.recvfrom.async(fd, buf, len, flags, null, null, (err: unknown, n: number | bigint) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve(Number(n))
    })
  })
}

/** Receives into buf; with MSG_PEEK|MSG_TRUNC returns the datagram's real length. Returns -errno on EAGAIN/EINTR. */
export function recv(fd: number, buf: Buffer | null, len: number, flags: number): number {
  const n = Number(raw.recvfrom(fd, buf, len, flags, null, null))
  if (n < 0) {
    const errno = lastErrno()
    if (errno === 11 || errno === 4) return -errno
    throw new SyscallError('recvfrom', errno)
  }
  return n
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value, 0)
  check(raw.setsockopt(fd, level, name, b, 4), 'setsockopt')
}

export function setsockoptBuf(fd: number, level: number, name: number, value: Buffer): void {
  check(raw.setsockopt(fd, level, name, value, value.length), 'setsockopt')
}

export function open(path: string, flags: number, mode = 0): number {
  return check(raw.open(path, flags, mode), 'open', path)
}

export function close(fd: number): void {
  check(raw.close(fd), 'close')
}

/** Moves the calling thread into the namespace behind fd (nstype 0 accepts any kind). */
export function setns(fd: number, nstype: number, what?: string): void {
  check(raw.setns(fd, nstype), 'setns', what)
}

/** Gives the calling thread new namespaces. Only this thread moves. */
export function unshare(flags: number): void {
  check(raw.unshare(flags), 'unshare')
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check(raw.mount(source, target, fstype, flags, data), 'mount', target)
}

export function umount2(target: string, flags: number): void {
  check(raw.umount2(target, flags), 'umount2', target)
}

export function flock(fd: number, op: number, path?: string): void {
  check(raw.flock(fd, op), 'flock', path)
}

/**
 * flock(2) with LOCK_NB: true when the lock was taken, false when another open file description
 * holds it (EWOULDBLOCK). Never blocks.
 */
export function tryFlock(fd: number, op: number, path?: string): boolean {
  const rc = Number(raw.flock(fd, op | LOCK_NB))
  if (rc >= 0) return true
  const errno = lastErrno()
  if (errno === EWOULDBLOCK) return false
  throw new SyscallError('flock', errno, path)
}

/**
 * A blocking flock(2) on one of koffi's worker threads, so the event loop keeps running while
 * the lock is held elsewhere. The worker's errno is not readable from here: a failure other
 * than EINTR (retried) is reported by a non-blocking attempt on this thread.
 */
export function flockOnWorker(fd: number, op: number, path?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      raw.flock.async(fd, op, (err: unknown, rc: number) => {
        if (err) return reject(err)
        if (rc >= 0) return resolve()
        try {
          if (tryFlock(fd, op, path)) resolve()
          else attempt() // EINTR on the worker: wait again
        } catch (e) {
          reject(e)
        }
      })
    }
    attempt()
  })
}

export function sethostname(name: string): void {
  check(raw.sethostname(name, Buffer.byteLength(name)), 'sethostname', name)
}

/** bind(2) with a ready-made sockaddr (sockaddr_in, sockaddr_in6, sockaddr_ll ...). */
export function bindSockaddr(fd: number, sockaddr: Buffer): void {
  check(raw.bind(fd, sockaddr, sockaddr.length), 'bind')
}

/** getsockname(2): the socket's own address as raw sockaddr bytes (up to 128, sockaddr_storage). */
export function getsocknameRaw(fd: number): Buffer {
  const sa = Buffer.alloc(128)
  const len = [128]
  check(raw.getsockname(fd, sa, len), 'getsockname')
  return sa.subarray(0, Math.min(128, len[0] ?? 0))
}

/** ioctl(2) with a pointer argument (the buffer is read and written in place). */
export function ioctlBuf(fd: number, request: number, buf: Buffer): number {
  return check(raw.ioctl(fd, request, 'void *', buf), 'ioctl')
}

/**
 * recvfrom(2) of one datagram into buf without blocking: its real length (larger than buf with
 * MSG_TRUNC when it was cut), or -errno for EAGAIN / EINTR.
 */
export function recvDontWait(fd: number, buf: Buffer, flags = 0): number {
  return recv(fd, buf, buf.length, flags | 0x40)
}
