/**
 * Forwarding to the host's resolvers from one host namespace. The client's message is relayed
 * as it is, with only its id replaced (a fresh random one, so answers cannot be confused across
 * clients), and the upstream's answer comes back byte for byte with the client's id restored:
 * TTLs, NXDOMAIN, SERVFAIL, the OPT record and the TC bit are the upstream's own. A UDP answer
 * counts only when it comes from the server asked, with the id sent and the question asked.
 *
 * Each server gets `timeoutMs`; then the next one is asked; when none answers (or there is
 * none), the client gets SERVFAIL. Questions that came over TCP go to the upstream over TCP.
 */
import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram'
import { connect, type Socket } from 'node:net'
import { randomInt } from 'node:crypto'
import { connectInNetns, udpClientInNetns } from '../netns/index.js'
import { errorReply, questionLength } from './answer.js'
import type { Upstream } from './upstream.js'

export interface ForwarderOptions {
  /** The host namespace the upstream sockets are made in (undefined: this process's own). */
  netnsFd?: number | undefined
  /** The upstreams, asked for each question (so a changed resolv.conf is used at once). */
  upstreams: () => Upstream[]
  /** Per server and attempt (default 2000 ms over UDP, 4000 ms over TCP). */
  timeoutMs?: number
  /** Most questions in flight over UDP; more get SERVFAIL at once (default 4096). */
  maxPending?: number
}

interface Pending {
  query: Buffer
  clientId: number
  qlen: number
  servers: Upstream[]
  at: number
  timer: NodeJS.Timeout | undefined
  done: (reply: Buffer) => void
}

export class Forwarder {
  private readonly opts: ForwarderOptions
  private readonly sockets = new Map<4 | 6, UdpSocket>()
  private readonly pending = new Map<number, Pending>()
  private readonly tcp = new Set<Socket>()
  private closed = false

  constructor(opts: ForwarderOptions) {
    this.opts = opts
  }

  /** Questions waiting for an upstream over UDP. */
  get inFlight(): number {
    return this.pending.size
  }

  private socket(family: 4 | 6): UdpSocket {
    let s = this.sockets.get(family)
    if (!s) {
      s = udpClientInNetns(this.opts.netnsFd, family)
      s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo))
      s.on('error', () => { /* send errors are reported per send */ })
      this.sockets.set(family, s)
    }
    return s
  }

  /** Relays a UDP question; resolves with the answer for the client (SERVFAIL when none came). */
  forwardUdp(query: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const servers = this.opts.upstreams()
      const qlen = questionLength(query)
      if (!servers.length || !qlen || this.closed || this.pending.size >= (this.opts.maxPending ?? 4096)) {
        resolve(errorReply(query, 'SERVFAIL'))
        return
      }
      let id: number
      do id = randomInt(0, 65536)
      while (this.pending.has(id))
      const p: Pending = { query, clientId: query.readUInt16BE(0), qlen, servers, at: 0, timer: undefined, done: resolve }
      this.pending.set(id, p)
      this.sendTo(id, p)
    })
  }

  private sendTo(id: number, p: Pending): void {
    const server = p.servers[p.at]
    if (!server || this.closed) {
      this.finish(id, errorReply(p.query, 'SERVFAIL'))
      return
    }
    const out = Buffer.from(p.query)
    out.writeUInt16BE(id, 0)
    const next = (): void => {
      if (this.pending.get(id) !== p) return
      clearTimeout(p.timer)
      p.at++
      this.sendTo(id, p)
    }
    p.timer = setTimeout(next, this.opts.timeoutMs ?? 2000)
    try {
      this.socket(server.family).send(out, server.port, server.host, (err) => { if (err) next() })
    } catch {
      next()
    }
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < 12) return
    const id = msg.readUInt16BE(0)
    const p = this.pending.get(id)
    if (!p) return
    const server = p.servers[p.at]
    if (!server || rinfo.address !== server.host || rinfo.port !== server.port) return
    if (msg.length < 12 + p.qlen || !msg.subarray(12, 12 + p.qlen).equals(p.query.subarray(12, 12 + p.qlen))) return
    const reply = Buffer.from(msg)
    reply.writeUInt16BE(p.clientId, 0)
    this.finish(id, reply)
  }

  private finish(id: number, reply: Buffer): void {
    const p = this.pending.get(id)
    if (!p) return
    clearTimeout(p.timer)
    this.pending.delete(id)
    p.done(reply)
  }

  /** Relays a question that came over TCP, over TCP (SERVFAIL when no server answers). */
  async forwardTcp(query: Buffer): Promise<Buffer> {
    for (const server of this.opts.upstreams()) {
      if (this.closed) break
      const reply = await this.askTcp(server, query).catch(() => undefined)
      if (reply && reply.length >= 12) return reply
    }
    return errorReply(query, 'SERVFAIL')
  }

  private askTcp(server: Upstream, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = this.opts.netnsFd === undefined ? connect(server.port, server.host) : connectInNetns(this.opts.netnsFd, server.host, server.port)
      this.tcp.add(s)
      let buf = Buffer.alloc(0)
      const timer = setTimeout(() => { s.destroy(); reject(new Error('timeout')) }, this.opts.timeoutMs ?? 4000)
      const end = (): void => { clearTimeout(timer); this.tcp.delete(s); s.destroy() }
      s.on('connect', () => {
        const len = Buffer.alloc(2)
        len.writeUInt16BE(query.length)
        s.write(Buffer.concat([len, query]))
      })
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          end()
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        }
      })
      s.on('error', (err) => { end(); reject(err) })
      s.on('close', () => { end(); reject(new Error('closed')) })
    })
  }

  close(): void {
    this.closed = true
    for (const [id, p] of this.pending) this.finish(id, errorReply(p.query, 'SERVFAIL'))
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
    for (const s of this.tcp) s.destroy()
    this.tcp.clear()
  }
}
