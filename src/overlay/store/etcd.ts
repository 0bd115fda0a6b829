/**
 * EtcdStore: the Store over etcd's v3 JSON gateway (grpc-gateway, served on the client port of
 * every etcd >= 3.3; Debian 12's etcd-server 3.4 has it on by default), spoken with node's own
 * http module. No gRPC stack: the overlay needs ranges, puts, transactions, leases and one
 * watch stream, and the gateway offers each as one POST (the watch is a long-lived chunked
 * response of newline-separated JSON messages). Bytes travel base64-encoded, int64s as strings.
 *
 * Endpoints are tried in order starting with the last one that answered; a request that cannot
 * connect, times out, or meets a member without a leader goes to the next, for two rounds.
 * Every attempt is bounded by `timeoutMs`, so an unreachable cluster is an UnavailableError
 * within 2 x endpoints x timeoutMs + 0.2 s, never a hang.
 */
import { Agent, request, type AgentOptions, type ClientRequest, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { connectInNetns } from '../../netns/tcp.js'
import { InvalidArgumentError, UnavailableError } from '../../errors.js'
import { CompactedError, type Compare, type KeyValue, type Lease, type RangeResult, type Store, type TxnOp, type TxnResult, type WatchEvent, type WatchHandle, type WatchListener } from './store.js'

export interface EtcdStoreOptions {
  /** Per-request timeout (default 2000 ms). */
  timeoutMs?: number
  /** Connect from this network namespace (an open fd to it) instead of the process's own. */
  netns?: { readonly fd: number }
}

/** An http.Agent whose connections are made from another network namespace. */
class NetnsAgent extends Agent {
  private readonly nsFd: number
  constructor(nsFd: number, opts: AgentOptions) {
    super(opts)
    this.nsFd = nsFd
  }

  override createConnection(opts: { host?: string | null; hostname?: string | null; port?: number | string | null }): Duplex {
    const host = String(opts.hostname ?? opts.host ?? '').replace(/^\[|\]$/g, '')
    return connectInNetns(this.nsFd, host, Number(opts.port))
  }
}

/** gRPC status codes etcd answers with that mean "try another member or later". */
const RETRYABLE_GRPC = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */])

const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64')
const unb64 = (s: unknown): string => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '')
const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v))

/** The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixRangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8')
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1))
      out[i] = out[i]! + 1
      return out
    }
  }
  return Buffer.from([0])
}

function decodeKv(kv: Record<string, unknown>): KeyValue {
  return {
    key: unb64(kv.key), value: unb64(kv.value), createRevision: num(kv.create_revision), modRevision: num(kv.mod_revision),
    version: num(kv.version), lease: kv.lease === undefined ? '0' : String(kv.lease),
  }
}

/** Parses `etcd://host:port[,host:port...]` (or http:// endpoints) into gateway base URLs. */
export function parseEtcdUrl(url: string): string[] {
  const m = /^etcd:\/\/(.+)$/.exec(url.trim())
  const list = m ? m[1]!.split(',') : url.split(',')
  const out = list.map((e) => e.trim()).filter(Boolean).map((e) => {
    const u = e.includes('://') ? e : `http://${e}`
    let parsed: URL
    try {
      parsed = new URL(u)
    } catch {
      throw new InvalidArgumentError('store', `'${e}' is not HOST:PORT`)
    }
    if (parsed.protocol !== 'http:') throw new InvalidArgumentError('store', `'${e}': only plain http endpoints are supported (etcd's client port without TLS)`)
    if (!parsed.port) throw new InvalidArgumentError('store', `'${e}' has no port (etcd's client port is usually 2379)`)
    return `http://${parsed.hostname.includes(':') ? `[${parsed.hostname}]` : parsed.hostname}:${parsed.port}`
  })
  if (!out.length) throw new InvalidArgumentError('store', `'${url}' names no endpoint (expected etcd://HOST:PORT[,HOST:PORT...])`)
  return out
}

class GrpcError extends Error {
  readonly grpcCode: number
  constructor(message: string, grpcCode: number) {
    super(message)
    this.grpcCode = grpcCode
  }
}

export class EtcdStore implements Store {
  readonly endpoints: string[]
  readonly where: string
  private readonly timeoutMs: number
  private preferred = 0
  private readonly agent: Agent
  /** For the long-lived watch streams (kept apart from the request pool). */
  private readonly watchAgent: Agent
  private readonly watches = new Set<ClientRequest>()
  private closed = false

  constructor(endpoints: string | string[], opts: EtcdStoreOptions = {}) {
    this.endpoints = Array.isArray(endpoints) ? endpoints.flatMap((e) => parseEtcdUrl(e)) : parseEtcdUrl(endpoints)
    this.where = `etcd ${this.endpoints.map((e) => e.replace('http://', '')).join(',')}`
    this.timeoutMs = opts.timeoutMs ?? 2000
    const mk = (o: AgentOptions): Agent => (opts.netns ? new NetnsAgent(opts.netns.fd, o) : new Agent(o))
    this.agent = mk({ keepAlive: true, maxSockets: 8 })
    this.watchAgent = mk({ keepAlive: false })
  }

  /** One POST to one endpoint; resolves with the parsed JSON body. */
  private post(endpoint: string, path: string, body: unknown): Promise<any> {
    return new Promise((resolve, reject) => {
      const data = JSON.stringify(body)
      const req = request(`${endpoint}${path}`, {
        method: 'POST', agent: this.agent, timeout: this.timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          clearTimeout(timer)
          const text = Buffer.concat(chunks).toString('utf8')
          let json: any
          try {
            json = text ? JSON.parse(text) : {}
          } catch {
            reject(new GrpcError(`${endpoint}${path}: HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, 14))
            return
          }
          if (res.statusCode !== 200 || json.error !== undefined) {
            const msg = typeof json.error === 'string' ? json.error : json.message ?? json.error?.message ?? `HTTP ${res.statusCode}`
            reject(new GrpcError(String(msg), num(json.code ?? json.error?.grpc_code ?? json.error?.code ?? 2)))
            return
          }
          resolve(json)
        })
      })
      // the socket timeout only measures idleness: bound the whole exchange as well
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs)
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)))
      req.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      req.end(data)
    })
  }

  /** A request to the cluster: the preferred endpoint first, then the others. */
  private async call(path: string, body: unknown): Promise<any> {
    if (this.closed) throw new UnavailableError(`${this.where}: the store client is closed`)
    const errors: string[] = []
    // two rounds over the endpoints: a cluster in the middle of a leader election answers
    // "leader changed" / no leader for about an election timeout
    for (let k = 0; k < this.endpoints.length * 2; k++) {
      if (k === this.endpoints.length) await new Promise((r) => setTimeout(r, 200))
      const i = (this.preferred + k) % this.endpoints.length
      const ep = this.endpoints[i]!
      try {
        const r = await this.post(ep, path, body)
        this.preferred = i
        return r
      } catch (err) {
        if (err instanceof GrpcError && !RETRYABLE_GRPC.has(err.grpcCode)) throw err
        errors.push(`${ep.replace('http://', '')}: ${(err as Error).message}`)
      }
    }
    throw new UnavailableError(`${this.where} is unreachable (${errors.join('; ')})`)
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.call('/v3/kv/range', { key: b64(key) })
    const kv = (r.kvs as Array<Record<string, unknown>> | undefined)?.[0]
    return kv ? decodeKv(kv) : undefined
  }

  async list(prefix: string): Promise<RangeResult> {
    const r = await this.call('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) })
    return { kvs: ((r.kvs as Array<Record<string, unknown>> | undefined) ?? []).map(decodeKv), revision: num(r.header?.revision) }
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const r = await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(opts.lease && opts.lease !== '0' && { lease: opts.lease }) })
    return num(r.header?.revision)
  }

  async delete(key: string): Promise<number> {
    const r = await this.call('/v3/kv/deleterange', { key: b64(key) })
    return num(r.deleted)
  }

  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const cmp = compare.map((c) => {
      if ('createRevision' in c) return { key: b64(c.key), target: 'CREATE', result: 'EQUAL', create_revision: String(c.createRevision) }
      if ('modRevision' in c) return { key: b64(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.modRevision) }
      return { key: b64(c.key), target: 'VALUE', result: 'EQUAL', value: b64(c.value) }
    })
    const ops = (list: TxnOp[]): unknown[] => list.map((op) => {
      if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease && op.put.lease !== '0' && { lease: op.put.lease }) } }
      if ('delete' in op) return { request_delete_range: { key: b64(op.delete.key) } }
      return { request_range: { key: b64(op.get.key) } }
    })
    const r = await this.call('/v3/kv/txn', { compare: cmp, success: ops(success), failure: ops(failure) })
    const branch = r.succeeded ? success : failure
    const gets: Array<KeyValue | undefined> = []
    const responses = (r.responses as Array<Record<string, any>> | undefined) ?? []
    branch.forEach((op, i) => {
      if ('get' in op) {
        const kv = responses[i]?.response_range?.kvs?.[0]
        gets.push(kv ? decodeKv(kv) : undefined)
      }
    })
    return { succeeded: r.succeeded === true, revision: num(r.header?.revision), gets }
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) })
    return { id: String(r.ID), ttl: num(r.TTL) }
  }

  async keepAlive(id: string): Promise<number> {
    const r = await this.call('/v3/lease/keepalive', { ID: id })
    // a lease that no longer exists comes back without a TTL
    return num(r.result?.TTL)
  }

  async timeToLive(id: string): Promise<number> {
    const r = await this.call('/v3/kv/lease/timetolive', { ID: id })
    return num(r.TTL)
  }

  async revoke(id: string): Promise<void> {
    try {
      await this.call('/v3/kv/lease/revoke', { ID: id })
    } catch (err) {
      if (err instanceof GrpcError && /lease not found/.test(err.message)) return
      throw err
    }
  }

  watch(prefix: string, fromRevision: number, listener: WatchListener): WatchHandle {
    let done = false
    let req: ClientRequest | undefined
    const finish = (err: Error): void => {
      if (done) return
      done = true
      if (req) {
        this.watches.delete(req)
        req.destroy()
      }
      listener.error(err)
    }
    const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)), start_revision: String(fromRevision) } })
    const ep = this.endpoints[this.preferred]!
    let created = false
    req = request(`${ep}/v3/watch`, { method: 'POST', agent: this.watchAgent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        finish(new UnavailableError(`${this.where}: watch refused with HTTP ${res.statusCode}`))
        return
      }
      let pending = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        pending += chunk
        let nl: number
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim()
          pending = pending.slice(nl + 1)
          if (line) handle(line)
          if (done) return
        }
        // the gateway ends messages with a newline; a message without one stays pending
      })
      res.on('end', () => finish(new UnavailableError(`${this.where}: the watch stream ended`)))
      res.on('error', (err) => finish(new UnavailableError(`${this.where}: the watch stream failed: ${err.message}`)))
    })
    const handle = (line: string): void => {
      let msg: any
      try {
        msg = JSON.parse(line)
      } catch {
        finish(new UnavailableError(`${this.where}: the watch stream sent something that is not JSON`))
        return
      }
      if (msg.error) {
        finish(new UnavailableError(`${this.where}: watch: ${msg.error.message ?? JSON.stringify(msg.error)}`))
        return
      }
      const r = msg.result ?? {}
      if (r.compact_revision !== undefined && num(r.compact_revision) > 0) {
        finish(new CompactedError(num(r.compact_revision)))
        return
      }
      if (r.canceled) {
        finish(new UnavailableError(`${this.where}: the watch was canceled${r.cancel_reason ? `: ${r.cancel_reason}` : ''}`))
        return
      }
      if (r.created) {
        created = true
        return
      }
      const events: WatchEvent[] = ((r.events as Array<Record<string, any>> | undefined) ?? []).map((e) => ({
        type: e.type === 'DELETE' ? 'delete' : 'put',
        kv: decodeKv(e.kv ?? {}),
      }))
      if (events.length) listener.events(events, num(r.header?.revision))
    }
    this.watches.add(req)
    req.setTimeout(this.timeoutMs, () => {
      // idle sockets are normal once the watch runs; only a watch that never started is an error
      if (!created) finish(new UnavailableError(`${this.where}: no answer to a watch within ${this.timeoutMs} ms`))
      else req?.setTimeout(0)
    })
    req.on('error', (err) => finish(new UnavailableError(`${this.where}: watch: ${err.message}`)))
    req.end(body)
    return { close: () => { if (!done) { done = true; if (req) { this.watches.delete(req); req.destroy() } } } }
  }

  close(): void {
    this.closed = true
    for (const r of this.watches) r.destroy()
    this.watches.clear()
    this.agent.destroy()
    this.watchAgent.destroy()
  }
}
