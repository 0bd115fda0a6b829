/**
 * TCP connections made from another network namespace. A socket belongs to the namespace it
 * was created in, so the fd is created with this thread switched into the namespace
 * (synchronously, as every netns-sensitive call here) and handed to node's net.Socket, which
 * connects it from the event loop. Lets one process talk to services inside many namespaces
 * (an in-process agent per test node) without a process per namespace.
 */
import type { Socket } from 'node:net'
import { AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from '../sys/constants.js'
import { socket } from '../sys/syscall.js'
import { inNetnsFdSync } from '../sys/netns-switch.js'

// node:net (and the stream modules behind it, ~5 ms) are loaded when a socket
// is made, not when podnet is imported
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net')

/** Connects to host:port (an IP literal) from the namespace open at `netnsFd`. */
export function connectInNetns(netnsFd: number, host: string, port: number): Socket {
  const fam = net().isIP(host)
  if (!fam) throw new Error(`connectInNetns: '${host}' is not an IP address`)
  const fd = inNetnsFdSync(netnsFd, () => socket(fam === 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), 'a TCP socket')
  const s = new (net().Socket)({ fd, readable: true, writable: true })
  s.connect(port, host)
  return s
}
