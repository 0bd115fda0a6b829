/**
 * The DNS responder: for every network of a state directory that has DNS on, a UDP socket and a
 * TCP listener on each gateway address, port 53, made inside the network's host namespace
 * (netns/listen.ts). Each network answers from its own zone (records.ts: the attachment
 * records, read fresh), forwards the rest (forwarder.ts) and serves only its own clients: a
 * question whose source is not in the network's subnets gets REFUSED (over TCP: the connection
 * is closed), so a pod of another network, routed through the host to this gateway, learns
 * nothing.
 *
 * It holds nothing the records cannot rebuild: sync() compares the networks on disk with the
 * listeners it has and opens or closes listeners; a new process does the same from nothing.
 * sync() runs at start, when the networks directory changes (fs.watch), every `rescanMs`
 * (a safety net for missed events), and when asked (SIGHUP in the responder process).
 */
import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram'
import { watch, type FSWatcher } from 'node:fs'
import type { Server, Socket } from 'node:net'
import type { NetworkConfig } from '../bridge/types.js'
import { StateDir } from '../bridge/state.js'
import { cidrContains, parseCidr, tryParseIp, type Cidr } from '../net/ip.js'
import { openNetnsArg, tcpServerInNetns, udpListenerInNetns, type OpenedNetns } from '../netns/index.js'
import { listDir, readJson, writeJsonAtomic, type DirOptions } from '../state/index.js'
import { LOCAL_TTL, MAX_TCP_SIZE, answerQuery, errorReply, type Decision, type Transport } from './answer.js'
import { Forwarder } from './forwarder.js'
import { NetworkRecords } from './records.js'
import { hostUpstreams, type Upstream } from './upstream.js'

export const DNS_PORT = 53

/** What happened to each network's questions since the responder started. */
export interface DnsCounters {
  queries: number
  /** Answered from the network's records (names, reverse names; NXDOMAIN for unknown names of the network). */
  local: number
  forwarded: number
  /** From clients outside the network. */
  refused: number
  formerr: number
  /** Too short to answer, or not a query. */
  dropped: number
  truncated: number
  servfail: number
}

export interface NetworkDnsStatus {
  name: string
  /** Where it listens: '10.88.0.1:53'. */
  addresses: string[]
  hostNetns: string | null
  /** Distinct names in the zone at the last question (or at start). */
  names: number
  /** Why it does not listen (the gateway address missing, port 53 taken, ...). */
  error?: string
  counters: DnsCounters
}

export interface DnsStatus {
  pid: number
  startedAt: string
  updatedAt: string
  upstreams: string[]
  networks: NetworkDnsStatus[]
}

export interface DnsEvent {
  kind: 'serving' | 'stopped' | 'error'
  network?: string
  message: string
}

export interface DnsServerOptions extends DirOptions {
  /** The resolv.conf whose servers get forwarded questions (default /etc/resolv.conf; see upstream.ts). */
  resolvConf?: string
  /** Explicit upstreams instead of a resolv.conf. */
  upstreams?: Upstream[]
  /** TTL of the network's own records (default 5 s). */
  ttl?: number
  /** Port to listen on (default 53; pods' resolv.conf cannot name another). */
  port?: number
  /** How often the networks are compared with the listeners (default 2000 ms; 0: only on events and sync()). */
  rescanMs?: number
  /** Where status() is written after each sync (the responder process: <run>/dns/status.json). */
  statusFile?: string
  /** Per-server upstream timeout (default 2000 ms). */
  upstreamTimeoutMs?: number
  onEvent?: (e: DnsEvent) => void
}

const zeroCounters = (): DnsCounters => ({ queries: 0, local: 0, forwarded: 0, refused: 0, formerr: 0, dropped: 0, truncated: 0, servfail: 0 })

/** The listening side of one network. */
class NetworkListener {
  readonly config: NetworkConfig
  readonly key: string
  readonly counters = zeroCounters()
  readonly addresses: string[] = []
  error: string | undefined
  names = 0
  private readonly subnets: Cidr[]
  private readonly records: NetworkRecords
  private readonly udp: UdpSocket[] = []
  private readonly tcp: Server[] = []
  private readonly conns = new Set<Socket>()
  private ns: OpenedNetns | undefined
  private forwarder: Forwarder | undefined
  private readonly opts: DnsServerOptions
  private readonly upstreams: () => Upstream[]

  constructor(config: NetworkConfig, state: StateDir, opts: DnsServerOptions, upstreams: () => Upstream[]) {
    this.config = config
    this.key = listenerKey(config)
    this.subnets = config.subnets.map((s) => parseCidr(s.subnet, 'subnet', { allowHostBits: true }))
    this.records = new NetworkRecords(state.attachmentsDir(config.name), state.remoteNamesPath(config.name))
    this.opts = opts
    this.upstreams = upstreams
  }

  async open(): Promise<void> {
    const port = this.opts.port ?? DNS_PORT
    try {
      this.ns = this.config.hostNetns ? openNetnsArg(this.config.hostNetns) : undefined
      const netnsFd = this.ns?.ref.fd
      const own = new Set(this.config.subnets.map((s) => s.gateway))
      this.forwarder = new Forwarder({
        netnsFd,
        upstreams: () => this.upstreams().filter((u) => !(own.has(u.host) && u.port === port)),
        ...(this.opts.upstreamTimeoutMs !== undefined && { timeoutMs: this.opts.upstreamTimeoutMs }),
      })
      for (const s of this.config.subnets) {
        const at = { netnsFd, host: s.gateway, port }
        const u = udpListenerInNetns(at)
        u.on('message', (msg, rinfo) => this.onUdp(u, msg, rinfo))
        u.on('error', () => { /* a send to a vanished client */ })
        this.udp.push(u)
        this.tcp.push(await tcpServerInNetns(at, (c) => this.onTcp(c)))
        this.addresses.push(s.family === 6 ? `[${s.gateway}]:${port}` : `${s.gateway}:${port}`)
      }
      this.names = this.records.zone(this.config).size
    } catch (err) {
      this.error = (err as Error).message
      this.close()
      throw err
    }
  }

  close(): void {
    for (const u of this.udp.splice(0)) {
      try { u.close() } catch { /* closed */ }
    }
    for (const t of this.tcp.splice(0)) t.close()
    for (const c of this.conns) c.destroy()
    this.conns.clear()
    this.forwarder?.close()
    this.ns?.close()
    this.ns = undefined
  }

  private isClient(address: string | undefined): boolean {
    const ip = address === undefined ? undefined : tryParseIp(address.replace(/^::ffff:(?=\d+\.)/, ''))
    return ip !== undefined && this.subnets.some((s) => cidrContains(s, ip))
  }

  private decide(msg: Buffer, transport: Transport): Decision {
    this.counters.queries++
    let d: Decision
    try {
      const zone = this.records.zone(this.config)
      this.names = zone.size
      d = answerQuery(msg, zone, transport, this.opts.ttl ?? LOCAL_TTL)
    } catch (err) {
      this.opts.onEvent?.({ kind: 'error', network: this.config.name, message: `answering a question: ${(err as Error).message}` })
      this.counters.servfail++
      return { action: 'reply', bytes: errorReply(msg, 'SERVFAIL'), rcode: 'SERVFAIL', local: true }
    }
    if (d.action === 'drop') this.counters.dropped++
    else if (d.action === 'forward') this.counters.forwarded++
    else {
      this.counters.local++
      if (d.rcode === 'FORMERR') this.counters.formerr++
      if (d.bytes.length >= 4 && d.bytes.readUInt16BE(2) & 0x0200) this.counters.truncated++
    }
    return d
  }

  private onUdp(sock: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const reply = (b: Buffer): void => { sock.send(b, rinfo.port, rinfo.address, () => { /* gone */ }) }
    if (!this.isClient(rinfo.address)) {
      this.counters.refused++
      if (msg.length >= 12 && !(msg.readUInt16BE(2) & 0x8000)) reply(errorReply(msg, 'REFUSED'))
      return
    }
    const d = this.decide(msg, 'udp')
    if (d.action === 'reply') reply(d.bytes)
    else if (d.action === 'forward') {
      void this.forwarder!.forwardUdp(msg).then((r) => {
        if ((r.readUInt16BE(2) & 0xf) === 2) this.counters.servfail++
        reply(r)
      })
    }
  }

  private onTcp(c: Socket): void {
    if (!this.isClient(c.remoteAddress)) {
      this.counters.refused++
      c.destroy()
      return
    }
    this.conns.add(c)
    c.on('close', () => this.conns.delete(c))
    c.on('error', () => c.destroy())
    c.setTimeout(10_000, () => c.destroy())
    let buf: Buffer = Buffer.alloc(0)
    const send = (b: Buffer): void => {
      if (c.destroyed || b.length > MAX_TCP_SIZE) return
      const len = Buffer.alloc(2)
      len.writeUInt16BE(b.length)
      c.write(Buffer.concat([len, b]))
    }
    c.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0)
        if (buf.length < 2 + n) break
        const msg = buf.subarray(2, 2 + n)
        buf = buf.subarray(2 + n)
        const dec = this.decide(Buffer.from(msg), 'tcp')
        if (dec.action === 'drop') {
          c.destroy()
          return
        }
        if (dec.action === 'reply') send(dec.bytes)
        else void this.forwarder!.forwardTcp(Buffer.from(msg)).then(send)
      }
    })
  }

  status(): NetworkDnsStatus {
    return {
      name: this.config.name, addresses: [...this.addresses], hostNetns: this.config.hostNetns, names: this.names,
      ...(this.error !== undefined && { error: this.error }), counters: { ...this.counters },
    }
  }
}

/** What makes a listener stale: where it listens and what its clients are. */
const listenerKey = (c: NetworkConfig): string => JSON.stringify([c.hostNetns, c.createdAt, c.subnets.map((s) => [s.subnet, s.gateway])])

/** The DNS responder of one state directory (run it with start(); stop it with close()). */
export class DnsServer {
  readonly state: StateDir
  private readonly opts: DnsServerOptions
  private readonly listeners = new Map<string, NetworkListener>()
  /** Networks whose listener failed to open, with the error (tried again at the next sync). */
  private readonly failed = new Map<string, NetworkDnsStatus>()
  private readonly startedAt = new Date().toISOString()
  private syncing: Promise<DnsStatus> = Promise.resolve(undefined as unknown as DnsStatus)
  private timer: NodeJS.Timeout | undefined
  private watcher: FSWatcher | undefined
  private debounce: NodeJS.Timeout | undefined
  private closed = false

  private constructor(opts: DnsServerOptions) {
    this.opts = opts
    this.state = new StateDir({ ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) })
  }

  /** Starts serving every network with DNS on; keeps in step with the records until close(). */
  static async start(opts: DnsServerOptions = {}): Promise<DnsServer> {
    const s = new DnsServer(opts)
    await s.sync()
    s.watchNetworks()
    const every = opts.rescanMs ?? 2000
    if (every > 0) s.timer = setInterval(() => { void s.sync() }, every)
    return s
  }

  /** The upstreams asked now. */
  upstreams(): Upstream[] {
    return this.opts.upstreams ?? hostUpstreams(this.opts.resolvConf)
  }

  /** The networks that have DNS on, as recorded. */
  dnsNetworks(): NetworkConfig[] {
    return listDir(this.state.networksDir()).flatMap((n) => {
      try {
        const c = readJson<NetworkConfig>(this.state.configPath(n))
        return c?.dns ? [c] : []
      } catch {
        return []
      }
    })
  }

  /** Compares the recorded networks with the listeners and opens or closes listeners. Serialized. */
  sync(): Promise<DnsStatus> {
    this.syncing = this.syncing.catch(() => undefined).then(() => this.syncNow())
    return this.syncing
  }

  private async syncNow(): Promise<DnsStatus> {
    if (this.closed) return this.status()
    const want = new Map(this.dnsNetworks().map((c) => [c.name, c]))
    for (const [name, l] of this.listeners) {
      const c = want.get(name)
      if (!c || listenerKey(c) !== l.key) {
        l.close()
        this.listeners.delete(name)
        this.opts.onEvent?.({ kind: 'stopped', network: name, message: c ? 'network changed' : 'network removed or DNS off' })
      }
    }
    for (const name of this.failed.keys()) if (!want.has(name)) this.failed.delete(name)
    for (const [name, c] of want) {
      if (this.listeners.has(name)) continue
      const l = new NetworkListener(c, this.state, this.opts, () => this.upstreams())
      try {
        await l.open()
        this.listeners.set(name, l)
        this.failed.delete(name)
        this.opts.onEvent?.({ kind: 'serving', network: name, message: `listening on ${l.addresses.join(', ')}` })
      } catch (err) {
        const before = this.failed.get(name)?.error
        this.failed.set(name, l.status())
        if (before !== l.error) this.opts.onEvent?.({ kind: 'error', network: name, message: `cannot listen: ${(err as Error).message}` })
      }
    }
    const st = this.status()
    if (this.opts.statusFile) {
      try {
        writeJsonAtomic(this.opts.statusFile, st, 0o644)
      } catch {
        // the run directory is going away: the process notices the state directory gone
      }
    }
    return st
  }

  private watchNetworks(): void {
    try {
      this.watcher = watch(this.state.networksDir(), () => {
        clearTimeout(this.debounce)
        this.debounce = setTimeout(() => { void this.sync() }, 20)
      })
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined })
    } catch {
      // no networks directory yet: the periodic sync covers it
    }
  }

  status(): DnsStatus {
    return {
      pid: process.pid, startedAt: this.startedAt, updatedAt: new Date().toISOString(),
      upstreams: this.upstreams().map((u) => (u.family === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`)),
      networks: [...[...this.listeners.values()].map((l) => l.status()), ...this.failed.values()].sort((a, b) => a.name.localeCompare(b.name)),
    }
  }

  /** Number of networks served. */
  get serving(): number {
    return this.listeners.size
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    clearTimeout(this.debounce)
    this.watcher?.close()
    await this.syncing.catch(() => undefined)
    for (const l of this.listeners.values()) l.close()
    this.listeners.clear()
  }
}
