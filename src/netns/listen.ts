/**
 * Listening sockets inside another network namespace (the server side of tcp.ts). A socket
 * belongs to the namespace it was created in, so the fd is created AND bound with this thread
 * switched into the namespace, synchronously, then handed to node: dgram's `bind({ fd })` for
 * UDP, `server.listen({ fd })` for TCP. After that every packet on it is that namespace's,
 * whichever thread reads it. Lets one process serve many namespaces (the DNS responder answers
 * on each network's gateway address inside that network's host namespace).
 */
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import { ipToBytes, ipFamily } from '../net/ip.js'
import { InvalidArgumentError } from '../errors.js'
import { AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR } from '../sys/constants.js'
import { bindInet, close, listen, setsockoptInt, socket } from '../sys/syscall.js'
import { inNetnsFdSync } from '../sys/netns-switch.js'

// node:net and node:dgram (and the stream modules behind them, ~5 ms) are loaded when a socket
// is made, not when podnet is imported
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net')
const dgram = (): typeof import('node:dgram') => process.getBuiltinModule('node:dgram')

/** Where to listen: an IP literal and a port, in the namespace open at `netnsFd` (undefined: this process's own). */
export interface ListenAddress {
  netnsFd?: number | undefined
  host: string
  port: number
}

function boundFd(at: ListenAddress, type: number, backlog?: number): number {
  const fam = ipFamily(at.host)
  if (!fam) throw new InvalidArgumentError('host', `'${at.host}' is not an IP address`)
  const make = (): number => {
    const fd = socket(fam === 6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)
    try {
      // TCP: a restarted server binds again at once, whatever TIME_WAIT its predecessor left.
      // Never on UDP: there it lets two sockets share a port (a second server would split the
      // traffic, and two clients bound to port 0 can be given the same port and see each
      // other's answers).
      if (type === SOCK_STREAM) setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
      bindInet(fd, ipToBytes(at.host), at.port)
      if (backlog !== undefined) listen(fd, backlog)
      return fd
    } catch (err) {
      close(fd)
      throw err
    }
  }
  return at.netnsFd === undefined ? make() : inNetnsFdSync(at.netnsFd, make, `a socket on ${at.host}:${at.port}`)
}

/**
 * A UDP socket bound to host:port inside the namespace. Bind errors (EADDRNOTAVAIL: the address
 * is not there; EADDRINUSE) are thrown here, synchronously, as SyscallError.
 */
export function udpListenerInNetns(at: ListenAddress): UdpSocket {
  const fd = boundFd(at, SOCK_DGRAM)
  const s = dgram().createSocket({ type: ipFamily(at.host) === 6 ? 'udp6' : 'udp4' })
  try {
    s.bind({ fd })
  } catch (err) {
    close(fd)
    throw err
  }
  return s
}

/**
 * A TCP server listening on host:port inside the namespace; `onConnection` gets each accepted
 * socket. Resolves once node listens on it.
 */
export async function tcpServerInNetns(at: ListenAddress, onConnection: (s: Socket) => void, backlog = 128): Promise<Server> {
  const fd = boundFd(at, SOCK_STREAM, backlog)
  const server = net().createServer(onConnection)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ fd, backlog }, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    close(fd)
    throw err
  }
  return server
}

/** An unbound UDP socket of the namespace (the kernel picks the source address and port at the first send). */
export function udpClientInNetns(netnsFd: number | undefined, family: 4 | 6): UdpSocket {
  return udpListenerInNetns({ netnsFd, host: family === 6 ? '::' : '0.0.0.0', port: 0 })
}
