/**
 * In-process sockets that really live in another network namespace.
 *
 * A socket belongs to the namespace of the thread that called socket(2), for its whole life.
 * Node creates a socket's fd late (net.connect after a tick, dgram at bind or first send, a
 * listen given any host, even an IP literal, after a lookup), so code like `ns.runSync(() => net.connect(...))`
 * would act in the caller's namespace. These functions create the fd with this thread switched
 * into the namespace (synchronously), bind it there when asked, and hand it to Node:
 * net.Server.listen({ fd }), new net.Socket({ fd }), dgram bind({ fd }). After that, the socket
 * works from any thread and acts in the namespace it was made in.
 *
 * Netns.runSync refuses to return a socket Node has not created yet (SocketNamespaceError,
 * socket-guard.ts): the one mistake these functions exist to avoid.
 */
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import { InvalidArgumentError } from '../errors.js'
import { ipToBytes } from '../net/ip.js'
import {
  AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR,
} from '../sys/constants.js'
import { bindSockaddr, close, setsockoptInt, socket } from '../sys/syscall.js'
import { inNetnsFdSync } from '../sys/netns-switch.js'
import { placed } from './socket-guard.js'

// node:net and node:dgram (and the stream modules behind them, ~5 ms) are loaded when a socket
// is made, not when podnet is imported
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net')
const dgram = (): typeof import('node:dgram') => process.getBuiltinModule('node:dgram')
const isIP = (s: string): number => net().isIP(s)

/** sockaddr_in / sockaddr_in6 for an IP literal and a port. */
export function inetSockaddr(host: string, port: number): Buffer {
  const fam = isIP(host)
  if (!fam) throw new InvalidArgumentError('host', `'${host}' is not an IP address (sockets in a namespace take literals: no DNS lookup runs there)`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port', `${String(port)} is not a port (0-65535)`)
  if (fam === 4) {
    const sa = Buffer.alloc(16)
    sa.writeUInt16LE(AF_INET, 0)
    sa.writeUInt16BE(port, 2)
    ipToBytes(host).copy(sa, 4)
    return sa
  }
  const sa = Buffer.alloc(28)
  sa.writeUInt16LE(AF_INET6, 0)
  sa.writeUInt16BE(port, 2)
  ipToBytes(host).copy(sa, 8)
  return sa
}

/** A socket fd made in the namespace behind `netnsFd`, optionally bound there; closed again on failure. */
function socketIn(netnsFd: number, family: 4 | 6, type: number, bindTo?: { host: string; port: number }): number {
  const fd = inNetnsFdSync(netnsFd, () => socket(family === 6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), 'a socket')
  if (!bindTo) return fd
  try {
    if (type === SOCK_STREAM) setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
    bindSockaddr(fd, inetSockaddr(bindTo.host, bindTo.port))
  } catch (err) {
    close(fd)
    throw err
  }
  return fd
}

export interface ListenInNetnsOptions {
  /** Port to listen on; 0 (the default) lets the kernel pick one (read it from server.address()). */
  port?: number
  /** Address to listen on (an IP literal): default '::' (IPv4 and IPv6), '0.0.0.0' for IPv4 only. */
  host?: string
  backlog?: number
}

/**
 * A TCP server listening in the namespace behind `netnsFd`: the fd is made and bound there,
 * then handed to node's net.Server. Resolves once it listens.
 */
export function listenInNetns(netnsFd: number, opts: ListenInNetnsOptions = {}, onConnection?: (s: Socket) => void): Promise<Server> {
  const host = opts.host ?? '::'
  const fam = isIP(host)
  if (!fam) return Promise.reject(new InvalidArgumentError('host', `'${host}' is not an IP address`))
  let fd: number
  try {
    fd = socketIn(netnsFd, fam === 6 ? 6 : 4, SOCK_STREAM, { host, port: opts.port ?? 0 })
  } catch (err) {
    return Promise.reject(err)
  }
  const server = new (net().Server)(onConnection)
  placed.add(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ fd, backlog: opts.backlog ?? 511 }, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

/** A TCP connection from the namespace behind `netnsFd` to host:port (an IP literal); connecting starts at once. */
export function connectTcpInNetns(netnsFd: number, host: string, port: number): Socket {
  const fam = isIP(host)
  if (!fam) throw new InvalidArgumentError('host', `'${host}' is not an IP address`)
  inetSockaddr(host, port) // validates the port
  const fd = socketIn(netnsFd, fam === 6 ? 6 : 4, SOCK_STREAM)
  const s = new (net().Socket)({ fd, readable: true, writable: true })
  placed.add(s)
  s.connect(port, host)
  return s
}

export interface UdpInNetnsOptions {
  /** 'udp4' (default) or 'udp6'. */
  type?: 'udp4' | 'udp6'
  /** Bind to this port (a server); without it the kernel picks one at the first send. */
  port?: number
  /** Bind address (an IP literal), default the family's any address. */
  host?: string
}

/** A UDP socket in the namespace behind `netnsFd` (bound there when a port is given), as a node dgram.Socket. Resolves once it listens. */
export function udpSocketInNetns(netnsFd: number, opts: UdpInNetnsOptions = {}): Promise<UdpSocket> {
  const type = opts.type ?? (opts.host && isIP(opts.host) === 6 ? 'udp6' : 'udp4')
  const host = opts.host ?? (type === 'udp6' ? '::' : '0.0.0.0')
  let fd: number
  try {
    fd = socketIn(netnsFd, type === 'udp6' ? 6 : 4, SOCK_DGRAM, opts.port !== undefined ? { host, port: opts.port } : undefined)
  } catch (err) {
    return Promise.reject(err)
  }
  const sock = dgram().createSocket(type)
  placed.add(sock)
  return new Promise((resolve, reject) => {
    sock.once('error', reject)
    sock.bind({ fd }, () => {
      sock.off('error', reject)
      resolve(sock)
    })
  })
}
