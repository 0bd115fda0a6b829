/**
 * `podnet cni serve`: podnet-cni's commands in a resident process. The executable runtimes
 * start (forwarder/podnet-cni.c) hands each request over a unix socket, so a CNI call costs a
 * connect and the work (a few ms) instead of starting Node and loading the plugin (~100 ms).
 *
 * Who may use it: the socket file is made 0600, so only root connects.
 * Which requests it serves: only those from a process in the daemon's own network and mount
 * namespaces (the forwarder says which it is in), because CNI_NETNS is a path in the runtime's
 * mount namespace and the "host" is the runtime's network namespace. Any other request gets
 * "not served here" and the forwarder runs the Node plugin itself.
 *
 * Requests run concurrently, as separate plugin processes would (the bridge layer's lock
 * serialises what must be). On SIGTERM/SIGINT the daemon stops accepting, finishes the requests
 * it has, and exits; killed outright, its clients re-run their requests themselves (see the
 * forwarder's header). Wire format: the forwarder's header comment.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { dirname } from 'node:path'
import { ExistsError } from '../errors.js'
import { DEFAULT_CNI_SOCKET } from './config.js'
import { createPlugin, type PluginOptions } from './plugin.js'
import { runPlugin, type CniFuncs } from './skel.js'

const MAGIC = Buffer.from('PNC1')
const NOT_SERVED = 0xffffffff
const MAX_BODY = 64 << 20

export interface CniServerOptions extends PluginOptions {
  /** The unix socket (default /run/podnet/cni.sock). */
  socket?: string
}

/** One decoded request. */
export interface ForwardedRequest {
  /** 'dev:ino' of the client's network and mount namespaces. */
  net: string
  mnt: string
  env: Record<string, string>
  stdin: Buffer
}

/** Decodes a request body (after the 8-byte header). Throws on a malformed one. */
export function decodeRequest(body: Buffer): ForwardedRequest {
  const env: Record<string, string> = {}
  let net = ''
  let mnt = ''
  let at = 0
  let index = 0
  for (;;) {
    const end = body.indexOf(0, at)
    if (end < 0) throw new Error('request: unterminated entry')
    const entry = body.toString('utf8', at, end)
    at = end + 1
    if (entry === '') break
    const eq = entry.indexOf('=')
    if (eq <= 0) throw new Error(`request: entry ${index} is not KEY=VALUE`)
    const k = entry.slice(0, eq)
    const v = entry.slice(eq + 1)
    if (index === 0 && k === 'net') net = v
    else if (index === 1 && k === 'mnt') mnt = v
    else if (index < 2) throw new Error('request: no namespace identities')
    else env[k] = v
    index++
  }
  if (!net || !mnt) throw new Error('request: no namespace identities')
  return { net, mnt, env, stdin: body.subarray(at) }
}

/** Encodes a request (the forwarder's side; tests and benches use it). */
export function encodeRequest(r: ForwardedRequest): Buffer {
  const parts = [`net=${r.net}`, `mnt=${r.mnt}`, ...Object.entries(r.env).map(([k, v]) => `${k}=${v}`)].map((s) => Buffer.from(`${s}\0`))
  const body = Buffer.concat([...parts, Buffer.from([0]), r.stdin])
  const head = Buffer.alloc(8)
  MAGIC.copy(head)
  head.writeUInt32LE(body.length, 4)
  return Buffer.concat([head, body])
}

/** Encodes an answer: status, stdout, stderr. */
export function encodeResponse(status: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout)
  const err = Buffer.from(stderr)
  const b = Buffer.alloc(16 + out.length + err.length)
  MAGIC.copy(b)
  b.writeUInt32LE(status >>> 0, 4)
  b.writeUInt32LE(out.length, 8)
  out.copy(b, 12)
  b.writeUInt32LE(err.length, 12 + out.length)
  err.copy(b, 16 + out.length)
  return b
}

/** 'dev:ino' of one of this process's namespaces (Node's st_dev matches the C client's). */
const nsIdentity = (kind: 'net' | 'mnt'): string => {
  const st = statSync(`/proc/self/ns/${kind}`)
  return `${st.dev}:${st.ino}`
}

/** A listening `podnet cni serve`. */
export class CniServer {
  readonly socket: string
  /** Requests answered (not counting "not served here"). */
  served = 0
  /** Requests turned away (another namespace). */
  notServed = 0
  private readonly server: Server
  /** The socket file's inode: close() removes the file only while it is still this one. */
  private ino = 0
  private readonly conns = new Set<Socket>()
  private readonly inFlight = new Set<Promise<void>>()
  /** Connections whose request is being run. */
  private readonly handling = new Set<Socket>()
  private closing: Promise<void> | undefined

  private constructor(socket: string, server: Server) {
    this.socket = socket
    this.server = server
  }

  /**
   * Listens on the socket. A stale socket file (nobody listening) is replaced; a live one is
   * refused with ExistsError (another daemon serves it).
   */
  static async listen(opts: CniServerOptions = {}): Promise<CniServer> {
    const path = opts.socket ?? DEFAULT_CNI_SOCKET
    const funcs = createPlugin(opts)
    const own = { net: nsIdentity('net'), mnt: nsIdentity('mnt') }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 })
    if (await answers(path)) throw new ExistsError('socket', path, '(another podnet cni serve is listening on it)')
    rmSync(path, { force: true })
    let self: CniServer | undefined
    const server = createServer((conn) => self!.accept(conn, funcs, own))
    self = new CniServer(path, server)
    // the socket file is made with mode 0600 (umask while it is bound, then chmod for certainty)
    const umask = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(path, () => { server.off('error', reject); resolve() })
      })
    } finally {
      process.umask(umask)
    }
    chmodSync(path, 0o600)
    self.ino = statSync(path).ino
    return self
  }

  private accept(conn: Socket, funcs: CniFuncs, own: { net: string; mnt: string }): void {
    this.conns.add(conn)
    const chunks: Buffer[] = []
    let have = 0
    let need = -1
    conn.on('data', (b: Buffer) => {
      chunks.push(b)
      have += b.length
      if (need < 0 && have >= 8) {
        const head = Buffer.concat(chunks)
        if (!head.subarray(0, 4).equals(MAGIC) || head.readUInt32LE(4) > MAX_BODY) return void conn.destroy()
        need = 8 + head.readUInt32LE(4)
      }
      if (need >= 0 && have >= need) {
        conn.pause()
        this.handling.add(conn)
        const body = Buffer.concat(chunks).subarray(8, need)
        const p = this.handle(conn, body, funcs, own).finally(() => { this.inFlight.delete(p); this.handling.delete(conn) })
        this.inFlight.add(p)
      }
    })
    conn.on('error', () => undefined)
    conn.on('close', () => this.conns.delete(conn))
  }

  private async handle(conn: Socket, body: Buffer, funcs: CniFuncs, own: { net: string; mnt: string }): Promise<void> {
    let req: ForwardedRequest
    try {
      req = decodeRequest(body)
    } catch {
      conn.destroy()
      return
    }
    if (req.net !== own.net || req.mnt !== own.mnt) {
      this.notServed++
      conn.end(encodeResponse(NOT_SERVED, '', ''))
      return
    }
    let stdout = ''
    let stderr = ''
    const status = await runPlugin(funcs, {
      env: req.env,
      stdin: req.stdin,
      stdout: { write: (s: string) => { stdout += s } },
      stderr: { write: (s: string) => { stderr += s } },
    })
    this.served++
    conn.end(encodeResponse(status, stdout, stderr))
  }

  /**
   * Stops accepting and removes the socket file; the connections already accepted finish (the
   * request is read, run and answered). One that has not sent its whole request within
   * `graceMs` is dropped (its forwarder then runs the request itself).
   */
  close(graceMs = 10000): Promise<void> {
    return (this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
      try {
        if (statSync(this.socket).ino === this.ino) rmSync(this.socket, { force: true })
      } catch { /* already gone */ }
      const timer = setTimeout(() => { for (const c of this.conns) if (!this.handling.has(c)) c.destroy() }, graceMs)
      await closed
      await Promise.allSettled([...this.inFlight])
      clearTimeout(timer)
    })())
  }
}

/** True when something accepts connections on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path)
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
}
