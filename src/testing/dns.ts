/**
 * DNS from inside namespaces, for tests: a raw client (UDP or TCP, any bytes) and a tiny
 * authoritative resolver that plays "the internet's" DNS in a namespace of the test's own, so
 * forwarding is tested without ever asking the machine's resolvers.
 *
 * Both run in this process: their sockets are made inside the namespace (netns/listen.ts), and
 * everything is asynchronous, so a test can wait on a child process (busybox nslookup) while
 * the resolver answers. Depends on: root, a sandboxed process. Cleanup: close().
 */
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import * as dnsPacket from 'dns-packet'
import type { Answer, DecodedPacket, Question } from 'dns-packet'
import { connectInNetns, tcpServerInNetns, udpClientInNetns, udpListenerInNetns, type NetnsRef } from '../netns/index.js'
import { ipFamily } from '../net/ip.js'

/** A decoded DNS message with its rcode and the raw bytes. */
export type DnsReply = DecodedPacket & { rcode: string; bytes: Buffer }

export interface DnsQueryOptions {
  tcp?: boolean
  /** Add an OPT record with this UDP size. */
  edns?: number
  id?: number
  /** Give up after this long (default 3000 ms); the promise then rejects with 'timeout'. */
  timeoutMs?: number
  port?: number
}

/** The query message for name/type (RD set). */
export function dnsQueryBytes(name: string, type = 'A', opts: { edns?: number; id?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: opts.id ?? Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as Question['type'], name }],
    ...(opts.edns !== undefined && { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns } as unknown as Answer] }),
  })
}

const decodeReply = (b: Buffer): DnsReply => ({ ...(dnsPacket.decode(b) as DecodedPacket & { rcode: string }), bytes: b })

/** Sends raw bytes to server:port from the namespace and resolves with the raw reply (rejects 'timeout'). */
export function dnsExchange(ns: NetnsRef, server: string, msg: Buffer, opts: Omit<DnsQueryOptions, 'edns' | 'id'> = {}): Promise<Buffer> {
  const port = opts.port ?? 53
  const timeoutMs = opts.timeoutMs ?? 3000
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const s = connectInNetns(ns.fd, server, port)
      let buf = Buffer.alloc(0)
      const t = setTimeout(() => { s.destroy(); reject(new Error('timeout')) }, timeoutMs)
      s.on('connect', () => {
        const len = Buffer.alloc(2)
        len.writeUInt16BE(msg.length)
        s.write(Buffer.concat([len, msg]))
      })
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(t)
          s.destroy()
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        }
      })
      s.on('error', (err) => { clearTimeout(t); reject(err) })
      s.on('close', () => { clearTimeout(t); reject(new Error('connection closed without an answer')) })
    })
  }
  return new Promise((resolve, reject) => {
    const s = udpClientInNetns(ns.fd, ipFamily(server) === 6 ? 6 : 4)
    const t = setTimeout(() => { s.close(); reject(new Error('timeout')) }, timeoutMs)
    s.on('message', (m) => {
      clearTimeout(t)
      s.close()
      resolve(m)
    })
    s.on('error', (err) => { clearTimeout(t); s.close(); reject(err) })
    s.send(msg, port, server)
  })
}

/** Asks server (from inside the namespace) for name/type; resolves with the decoded reply. */
export async function dnsQuery(ns: NetnsRef, server: string, name: string, type = 'A', opts: DnsQueryOptions = {}): Promise<DnsReply> {
  return decodeReply(await dnsExchange(ns, server, dnsQueryBytes(name, type, opts), opts))
}

/** The addresses (A/AAAA data) of a reply. */
export const dnsAddresses = (r: DecodedPacket): string[] => (r.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => (a as { data: string }).data)

/** One record of a TestResolver: name -> type -> answers. */
export interface TestRecord {
  type: 'A' | 'AAAA' | 'PTR' | 'TXT'
  data: string
  ttl?: number
}

export interface TestResolverOptions {
  /** Names and their records (lowercase, no final dot). */
  records: Record<string, TestRecord[]>
  /** Names answered with SERVFAIL. */
  servfail?: string[]
  /** Names never answered (to test timeouts). */
  silent?: string[]
  port?: number
}

/**
 * A tiny authoritative DNS server in a namespace: the records given, NXDOMAIN for other names,
 * SERVFAIL for `servfail`, nothing for `silent`; the UDP size rules of RFC 1035/6891 (an answer
 * that does not fit is sent empty with TC), so TCP fallback through a forwarder can be tested.
 * It counts the questions it got per transport.
 */
export class TestResolver {
  readonly address: string
  readonly asked: { udp: string[]; tcp: string[] } = { udp: [], tcp: [] }
  private readonly opts: TestResolverOptions
  private udp: UdpSocket | undefined
  private tcp: Server | undefined
  private readonly conns = new Set<Socket>()

  private constructor(address: string, opts: TestResolverOptions) {
    this.address = address
    this.opts = opts
  }

  static async start(ns: NetnsRef, address: string, opts: TestResolverOptions): Promise<TestResolver> {
    const r = new TestResolver(address, opts)
    const at = { netnsFd: ns.fd, host: address, port: opts.port ?? 53 }
    r.udp = udpListenerInNetns(at)
    r.udp.on('message', (m, rinfo) => {
      const out = r.answer(m, 'udp')
      if (out) r.udp!.send(out, rinfo.port, rinfo.address)
    })
    r.tcp = await tcpServerInNetns(at, (c) => {
      r.conns.add(c)
      c.on('close', () => r.conns.delete(c))
      c.on('error', () => c.destroy())
      let buf = Buffer.alloc(0)
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const m = buf.subarray(2, 2 + buf.readUInt16BE(0))
          buf = buf.subarray(2 + m.length)
          const out = r.answer(Buffer.from(m), 'tcp')
          if (out) {
            const len = Buffer.alloc(2)
            len.writeUInt16BE(out.length)
            c.write(Buffer.concat([len, out]))
          }
        }
      })
    })
    return r
  }

  private answer(m: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let q: DecodedPacket
    try {
      q = dnsPacket.decode(m)
    } catch {
      return undefined
    }
    const question = q.questions?.[0]
    if (!question) return undefined
    const name = question.name.toLowerCase().replace(/\.$/, '')
    this.asked[transport].push(`${name}/${question.type}`)
    if (this.opts.silent?.includes(name)) return undefined
    const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined
    const base = { type: 'response' as const, id: q.id ?? 0, questions: [question], ...(opt && { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as Answer] }) }
    if (this.opts.servfail?.includes(name)) return dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | 2 })
    const recs = this.opts.records[name]
    if (!recs) return dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | 3 })
    const answers = recs.filter((r) => r.type === question.type).map((r) => ({ type: r.type, name: question.name, ttl: r.ttl ?? 300, data: r.data }) as Answer)
    let out = dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers })
    const max = transport === 'tcp' ? 65535 : Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 4096))
    if (out.length > max) out = dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE, answers: [] })
    return out
  }

  close(): void {
    try { this.udp?.close() } catch { /* closed */ }
    this.tcp?.close()
    for (const c of this.conns) c.destroy()
  }
}
