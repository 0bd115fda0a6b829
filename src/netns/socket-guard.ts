/**
 * The check behind Netns.runSync: a socket Node has not created yet cannot be placed in a
 * namespace by running its constructor there (sockets.ts says why), so runSync refuses to hand
 * one back. What it recognises: a net.Socket whose fd does not exist yet (net.connect), a
 * net.Server not yet listening (a listen that waits on a lookup), any dgram.Socket (its fd is
 * made at bind or first send). Sockets made by sockets.ts, or a server already listening (its fd
 * was made during the call), pass. Only the returned value is seen: a socket stored elsewhere
 * inside the callback escapes the check (docs/testing.md).
 */
import { SocketNamespaceError } from '../errors.js'

/** Sockets whose fd was made in the right namespace (sockets.ts). */
export const placed = new WeakSet<object>()

const fdOf = (x: object): number | undefined => {
  const h = (x as { _handle?: { fd?: unknown } | null })._handle
  return h && typeof h.fd === 'number' ? h.fd : undefined
}

const advice = 'create it with connectTcpInNetns / listenInNetns / udpSocketInNetns (podnet), or tempNetns.connect / listen / udp (podnet/testing)'

/** Throws SocketNamespaceError (after closing it) when `value` is a socket Node will create outside the namespace. */
export function refuseLateSocket(value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null || placed.has(value)) return
  // loaded here, not imported: podnet's import would load node:net, node:dgram and the stream modules (~5 ms)
  const { Server, Socket } = process.getBuiltinModule('node:net')
  const { Socket: UdpSocket } = process.getBuiltinModule('node:dgram')
  if (value instanceof Socket) {
    const fd = fdOf(value)
    if (fd !== undefined && fd >= 0) return
    value.destroy()
    throw new SocketNamespaceError(`${where}: net.connect() inside runSync would connect from the caller's namespace (node makes the socket after the call returns); ${advice}`)
  }
  if (value instanceof Server) {
    if (value.listening) return
    value.close()
    throw new SocketNamespaceError(`${where}: this server is not listening yet (node looks up any host given to listen(), even an IP literal, before it makes the socket), so its socket would be made outside the namespace; listen on a port alone, or ${advice}`)
  }
  if (value instanceof UdpSocket) {
    try {
      value.close()
    } catch {
      /* not bound yet */
    }
    throw new SocketNamespaceError(`${where}: a dgram socket made inside runSync gets its fd at bind or first send, outside the namespace; ${advice}`)
  }
}
