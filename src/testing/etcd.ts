/**
 * Real etcd members for tests: `etcd` processes (Debian's etcd-server, installed by
 * scripts/setup.sh) started inside namespaces of the test's own, each with its own data dir.
 *
 * What it creates: one etcd process per member, listening on HOST:2379 (clients) and HOST:2380
 * (peers) of its namespace, data in a temporary directory (on the sandbox's tmpfs /run when
 * there is one: fsyncs there are free, on ext4 each costs milliseconds). Depends on: the
 * `etcd` binary, root for namespaces. Cleanup: destroy() kills the process (SIGKILL after a
 * grace period) and removes the data dir; stop()/start() keep the data dir, like a machine
 * reboot keeps its disk.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs'
import { request, type Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectInNetns, type Netns } from '../netns/index.js'

export interface EtcdMemberSpec {
  name: string
  /** Address the member listens on and advertises. */
  host: string
  clientPort?: number
  peerPort?: number
  /** The namespace to run in (default: the process's own). */
  netns?: Netns
  /** `name=http://host:peerPort,...` for every member; default: this member alone. */
  initialCluster?: string
  /** Default 'new'. */
  initialClusterState?: 'new' | 'existing'
  /** Default 'podnet-test'. */
  clusterToken?: string
  /** Data directory (default: a fresh temporary one, removed by destroy()). */
  dataDir?: string
}

export class EtcdMember {
  readonly spec: Required<Omit<EtcdMemberSpec, 'netns'>> & { netns?: Netns }
  readonly clientUrl: string
  readonly peerUrl: string
  readonly logFile: string
  private proc: ChildProcess | undefined
  private exited: Promise<void> | undefined

  constructor(spec: EtcdMemberSpec) {
    const clientPort = spec.clientPort ?? 2379
    const peerPort = spec.peerPort ?? 2380
    const h = spec.host.includes(':') ? `[${spec.host}]` : spec.host
    const base = existsSync('/run/netns') && process.env.PODNET_IN_SANDBOX === '1' ? '/run' : tmpdir()
    const dataDir = spec.dataDir ?? mkdtempSync(join(base, `podnet-etcd-${spec.name}-`))
    this.clientUrl = `http://${h}:${clientPort}`
    this.peerUrl = `http://${h}:${peerPort}`
    this.spec = {
      ...spec, clientPort, peerPort, dataDir,
      initialCluster: spec.initialCluster ?? `${spec.name}=${this.peerUrl}`,
      initialClusterState: spec.initialClusterState ?? 'new',
      clusterToken: spec.clusterToken ?? 'podnet-test',
    }
    this.logFile = join(dataDir, '..', `${spec.name}-${clientPort}.etcd.log`)
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** Starts the process (keeping the data dir of an earlier run) without waiting for health. */
  launch(): void {
    if (this.running) return
    const s = this.spec
    const args = [
      '--name', s.name, '--data-dir', join(s.dataDir, 'data'),
      '--listen-client-urls', this.clientUrl, '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl, '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', s.initialCluster, '--initial-cluster-state', s.initialClusterState,
      '--initial-cluster-token', s.clusterToken,
      '--heartbeat-interval', '100', '--election-timeout', '1000',
      // a member cut off by a partition must not force an election when it comes back (it
      // would, with its term raised while alone: "leader changed" for every client)
      '--pre-vote',
      '--logger', 'zap', '--log-outputs', 'stderr',
    ]
    const log = openSync(this.logFile, 'a')
    try {
      const opts = { stdio: ['ignore', log, log] as ['ignore', number, number], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }
      this.proc = s.netns ? s.netns.spawn('etcd', args, opts) : spawn('etcd', args, opts)
    } finally {
      closeSync(log)
    }
    const p = this.proc
    this.exited = new Promise((resolve) => p.once('exit', () => resolve()))
  }

  /** Starts the member and waits until it answers /health (needs a quorum of the cluster up). */
  async start(timeoutMs = 20000): Promise<void> {
    this.launch()
    await this.waitHealthy(timeoutMs)
  }

  /** GET /health from the member's namespace; true when it reports healthy. */
  async healthy(agentTimeoutMs = 1000): Promise<boolean> {
    const url = new URL(`${this.clientUrl}/health`)
    const ns = this.spec.netns
    return new Promise((resolve) => {
      const req = request(url, {
        timeout: agentTimeoutMs,
        ...(ns && { createConnection: () => connectInNetns(ns.fd, url.hostname.replace(/^\[|\]$/g, ''), Number(url.port)) }),
        agent: undefined as unknown as Agent,
      }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { body += c })
        res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)))
      })
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
  }

  async waitHealthy(timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`etcd member ${this.spec.name} exited (see ${this.logFile})`)
      if (await this.healthy()) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`etcd member ${this.spec.name} was not healthy within ${timeoutMs} ms (see ${this.logFile})`)
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Keeps the data dir. */
  async stop(graceMs = 3000): Promise<void> {
    const p = this.proc
    if (!p || !this.running) return
    p.kill('SIGTERM')
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(t)
  }

  /** SIGKILL (a crash). Keeps the data dir. */
  async kill(): Promise<void> {
    const p = this.proc
    if (!p || !this.running) return
    p.kill('SIGKILL')
    await this.exited
  }

  /** Stops the process and removes the data dir and log. */
  async destroy(): Promise<void> {
    await this.stop(1000)
    if (!this.spec.dataDir.includes('podnet-etcd-')) return // a caller's own directory stays
    rmSync(this.spec.dataDir, { recursive: true, force: true })
    rmSync(this.logFile, { force: true })
  }
}

/** Several members forming one cluster (all started together: a new cluster needs a quorum to elect a leader). */
export async function startEtcdCluster(specs: Array<Omit<EtcdMemberSpec, 'initialCluster' | 'initialClusterState'>>, timeoutMs = 30000): Promise<EtcdMember[]> {
  const initialCluster = specs.map((s) => `${s.name}=http://${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.peerPort ?? 2380}`).join(',')
  const members = specs.map((s) => new EtcdMember({ ...s, initialCluster }))
  try {
    for (const m of members) m.launch()
    await Promise.all(members.map((m) => m.waitHealthy(timeoutMs)))
    return members
  } catch (err) {
    await Promise.all(members.map((m) => m.destroy()))
    throw err
  }
}
