/**
 * Real packets between namespaces from inside the test process, without a process per server:
 * every socket is created in its namespace (podnet's sockets.ts) and handed to Node, so servers
 * and clients are ordinary async Node sockets with deadlines.
 *
 *   listen(ns, 'tcp', 7, { reply: 'echo' })      a plain TCP echo (UDP: each datagram sent back)
 *   listen(ns, 'tcp', 80)                        answers "from <peer address>" (serve()'s protocol)
 *   await request(client, 'tcp', ip, 7, 'hi')    the reply as a Buffer; TimeoutError after timeoutMs
 *   await probeAsync(client, 'udp', ip, 80)      the peer address a "from" server saw (NAT checks)
 *   await reachable(client, 'tcp', ip, 80)       true / false within timeoutMs
 *
 * What it creates: sockets only. Servers made on a TempNetns are closed with it (and at process
 * exit); others by `close()`. Depends on: a sandboxed process, the namespace's addresses.
 */
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import { isIP } from 'node:net'
import { InvalidArgumentError, TimeoutError } from '../errors.js'
import { connectTcpInNetns, listenInNetns, udpSocketInNetns } from '../netns/sockets.js'
import type { Netns } from '../netns/index.js'
import { trackFixture } from './hooks.js'

/** Anything holding a namespace: a Netns, or a fixture with one under `ns` (a TempNetns). */
export type InNetns = Netns | { ns: Netns; name?: string }
export type Proto = 'tcp' | 'udp'

interface Adopter {
  adopt(c: { closeSync(): void }): void
}

const nsOf = (t: InNetns): Netns => ('fd' in t ? t : t.ns)
const adopterOf = (t: InNetns): Adopter | undefined =>
  'adopt' in t && typeof (t as Partial<Adopter>).adopt === 'function' ? (t as unknown as Adopter) : undefined

/** An address as the server saw it: IPv4 peers of a dual-stack socket without the ::ffff: prefix. */
export const plainAddress = (a: string | undefined): string => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1')

/** What a server answers: 'peer' = "from <peer address>" (then closes, for TCP), 'echo' = the bytes it got. */
export type Reply = 'peer' | 'echo' | ((data: Buffer, peer: string) => Buffer | string)

export interface ListenOptions {
  /** Default 'peer'. */
  reply?: Reply
  /** Listen address (an IP literal); default '::' for TCP (IPv4 too), '0.0.0.0' for UDP ('::' for udp6). */
  host?: string
}

/** A server in a namespace. */
export interface NetServer {
  readonly proto: Proto
  /** The port it listens on (the kernel's pick when 0 was asked). */
  readonly port: number
  /** Connections (TCP) or datagrams (UDP) it answered. */
  readonly served: number
  close(): Promise<void>
  closeSync(): void
}

/** Starts a TCP or UDP server in the namespace, in this process; resolves once it listens. */
export async function listen(target: InNetns, proto: Proto, port: number, opts: ListenOptions = {}): Promise<NetServer> {
  const ns = nsOf(target)
  const reply = opts.reply ?? 'peer'
  const answer = (data: Buffer, peer: string): Buffer =>
    reply === 'echo' ? data : reply === 'peer' ? Buffer.from(`from ${peer}`) : Buffer.from(reply(data, peer))
  let served = 0
  let closeSync: () => void
  let closeAsync: () => Promise<void>
  let boundPort: number
  if (proto === 'tcp') {
    const conns = new Set<Socket>()
    const server: Server = await listenInNetns(ns.fd, { port, host: opts.host ?? '::' }, (s) => {
      conns.add(s)
      s.on('close', () => conns.delete(s))
      s.on('error', () => s.destroy())
      served++
      const peer = plainAddress(s.remoteAddress)
      if (reply === 'peer') {
        s.end(answer(Buffer.alloc(0), peer))
        return
      }
      s.on('data', (d: Buffer) => s.write(answer(d, peer)))
    })
    boundPort = (server.address() as { port: number }).port
    closeSync = () => {
      for (const c of conns) c.destroy()
      server.close()
    }
    closeAsync = () => new Promise<void>((resolve) => {
      for (const c of conns) c.destroy()
      server.close(() => resolve())
    })
  } else {
    const host = opts.host ?? '0.0.0.0'
    const sock: UdpSocket = await udpSocketInNetns(ns.fd, { port, host, type: isIP(host) === 6 ? 'udp6' : 'udp4' })
    sock.on('message', (m, r) => {
      served++
      sock.send(answer(m, plainAddress(r.address)), r.port, r.address)
    })
    boundPort = sock.address().port
    let closed = false
    closeSync = () => {
      if (closed) return
      closed = true
      sock.close()
    }
    closeAsync = () => new Promise<void>((resolve) => {
      if (closed) return resolve()
      closed = true
      sock.close(() => resolve())
    })
  }
  let untrack = (): void => {}
  const srv: NetServer = {
    proto,
    port: boundPort,
    get served() {
      return served
    },
    async close() {
      untrack()
      await closeAsync()
    },
    closeSync() {
      untrack()
      closeSync()
    },
  }
  const adopter = adopterOf(target)
  if (adopter) adopter.adopt(srv)
  else untrack = trackFixture(srv)
  return srv
}

export interface RequestOptions {
  /** Give up after this long (default 1000 ms): the promise rejects with TimeoutError. */
  timeoutMs?: number
}

/**
 * Sends `data` from the namespace to host:port and resolves with the reply: for TCP the client
 * sends `data` and half-closes, then collects everything the server sends until it closes
 * (an echo server closes after echoing); for UDP the first datagram back. Rejects with TimeoutError after `timeoutMs`, or with the
 * socket's error (ECONNREFUSED, ENETUNREACH ...).
 */
export function request(from: InNetns, proto: Proto, host: string, port: number, data: Buffer | string = '', opts: RequestOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 1000
  const ns = nsOf(from)
  if (!isIP(host)) return Promise.reject(new InvalidArgumentError('host', `'${host}' is not an IP address`))
  const payload = Buffer.from(data)
  const what = `${proto} ${host}:${port} from ${ns.name}`
  return new Promise<Buffer>((resolve, reject) => {
    let done = false
    let cleanup = (): void => {}
    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      cleanup()
      if (err) reject(err)
      else resolve(value ?? Buffer.alloc(0))
    }
    const timer = setTimeout(() => finish(new TimeoutError(`${what}: no answer within ${timeoutMs} ms`, timeoutMs)), timeoutMs)
    if (proto === 'tcp') {
      let s: Socket
      try {
        s = connectTcpInNetns(ns.fd, host, port)
      } catch (err) {
        finish(err as Error)
        return
      }
      cleanup = () => s.destroy()
      const chunks: Buffer[] = []
      s.on('connect', () => s.end(payload))
      s.on('data', (d: Buffer) => chunks.push(d))
      s.on('end', () => finish(undefined, Buffer.concat(chunks)))
      s.on('error', (e) => finish(new Error(`${what}: ${e.message}`, { cause: e })))
    } else {
      udpSocketInNetns(ns.fd, { type: isIP(host) === 6 ? 'udp6' : 'udp4' }).then((sock) => {
        if (done) {
          sock.close()
          return
        }
        cleanup = () => sock.close()
        sock.on('message', (m) => finish(undefined, m))
        sock.on('error', (e) => finish(new Error(`${what}: ${e.message}`, { cause: e })))
        sock.send(payload.length ? payload : Buffer.from('?'), port, host)
      }, (err: Error) => finish(err))
    }
  })
}

/** Asks a "from" server (listen() with reply 'peer', or serve()) which address it saw; async, with a deadline. */
export async function probeAsync(from: InNetns, proto: Proto, host: string, port: number, opts: RequestOptions = {}): Promise<string> {
  const r = (await request(from, proto, host, port, proto === 'udp' ? 'hi' : '', opts)).toString()
  if (!r.startsWith('from ')) throw new Error(`${proto} ${host}:${port} answered ${JSON.stringify(r.slice(0, 60))}, not "from <address>"`)
  return plainAddress(r.slice(5).trim())
}

/** True when a request gets an answer within the deadline (default 1000 ms), false when it fails or times out. */
export async function reachable(from: InNetns, proto: Proto, host: string, port: number, opts: RequestOptions = {}): Promise<boolean> {
  try {
    await request(from, proto, host, port, proto === 'udp' ? 'hi' : '', opts)
    return true
  } catch {
    return false
  }
}
