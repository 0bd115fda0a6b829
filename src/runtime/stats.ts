/**
 * Pod statistics, like `podman pod stats` and `kubectl top`: per pod and per container, CPU
 * (seconds and percent of one CPU), memory (usage, working set, limit, OOM kills), disk I/O and
 * process count from the cgroups (cgroups/stats.ts, v1 or v2); per pod, the network counters of
 * the interfaces in its namespace (IFLA_STATS64 over rtnetlink, read inside the namespace).
 *
 * Cost per pod and read: a few small cgroup file reads per container, and one RTM_GETLINK dump
 * in the pod's namespace (its own interfaces: lo and eth0). No process is started, and nothing
 * of the host's (links, rules) is dumped. The reader keeps one rtnetlink socket per pod open
 * between reads (streaming), and the previous sample for CPU percentages: the first read of a
 * pod reports the average since it (or the container) started, later reads the average since
 * the read before.
 */
import { statSync } from 'node:fs'
import { NotFoundError, PodnetError } from '../errors.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { detectCgroupLayout, readCgroupStats, type CgroupLayout, type CgroupStats, type IoCounters } from './cgroups/index.js'
import { PodStore } from './state-store.js'
import { isActive, type PodRecord } from './types.js'

export interface NetCounters {
  rxBytes: number
  txBytes: number
  rxPackets: number
  txPackets: number
  rxDropped: number
  txDropped: number
  rxErrors: number
  txErrors: number
}

export interface InterfaceStats extends NetCounters {
  name: string
}

/** CPU, memory, disk and processes of one cgroup (a container's or the pod's). */
export interface UsageStats {
  /** CPU time used since the cgroup was made. */
  cpuSeconds?: number
  /** Percent of one CPU (100 = one core busy) over the sample (see the module comment). */
  cpuPercent?: number
  memoryUsageBytes?: number
  memoryWorkingSetBytes?: number
  /** The memory limit, when there is one. */
  memoryLimitBytes?: number
  oomKills: number
  io?: IoCounters
  pids?: number
}

export interface ContainerStats extends UsageStats {
  name: string
  /** running, waiting, terminated. */
  state: string
}

export interface PodStats extends UsageStats {
  name: string
  phase: string
  /** When the sample was taken. */
  at: string
  network: NetCounters & { interfaces: InterfaceStats[] }
  containers: ContainerStats[]
}

export interface StatsReaderOptions {
  stateDir?: string
  runDir?: string
  layout?: CgroupLayout
}

const ZERO_NET: NetCounters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0, rxErrors: 0, txErrors: 0 }

/**
 * Reads statistics of pods of one state dir. Resource: close() releases the per-pod sockets.
 *
 * ```ts
 * const r = new PodStatsReader()
 * const s = r.read('web')            // one pod
 * const all = r.list()               // every running pod
 * r.close()
 * ```
 */
export class PodStatsReader {
  readonly store: PodStore
  private readonly layout: CgroupLayout
  private readonly sockets = new Map<string, { rt: Rtnl; ns: Netns; inode: string }>()
  private readonly previous = new Map<string, { cpuNs: number; atNs: bigint }>()

  constructor(opts: StatsReaderOptions = {}) {
    this.store = new PodStore({ ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) })
    this.layout = opts.layout ?? detectCgroupLayout()
  }

  /** The statistics of one pod; NotFoundError when there is no such pod, PodnetError when it has ended. */
  read(name: string): PodStats {
    const rec = this.store.read(name)
    if (!rec) throw new NotFoundError('pod', name)
    if (!isActive(rec)) throw new PodnetError(`pod '${name}' is not running (${rec.phase})`)
    return this.sample(rec)
  }

  /** The statistics of the named pods, or of every running pod (names in order, then sorted). */
  list(names?: readonly string[]): PodStats[] {
    if (names?.length) return names.map((n) => this.read(n))
    const out: PodStats[] = []
    for (const rec of this.store.list()) if (isActive(rec)) out.push(this.sample(rec))
    // sockets of pods that went away
    const live = new Set(out.map((p) => p.name))
    for (const [n, s] of this.sockets) if (!live.has(n)) this.drop(n, s)
    return out
  }

  close(): void {
    for (const [n, s] of this.sockets) this.drop(n, s)
  }

  private drop(name: string, s: { rt: Rtnl; ns: Netns }): void {
    s.rt.close()
    s.ns.close()
    this.sockets.delete(name)
  }

  private sample(rec: PodRecord): PodStats {
    const atNs = process.hrtime.bigint()
    const sb = rec.sandbox
    const pod: PodStats = {
      name: rec.name, phase: rec.phase, at: new Date().toISOString(),
      ...this.usage(`pod/${rec.name}`, sb.cgroup, rec.startedAt ?? rec.createdAt, atNs),
      network: { ...ZERO_NET, interfaces: [] },
      containers: rec.containers.map((c) => {
        const running = c.state.status === 'running'
        return {
          name: c.name, state: c.state.status,
          ...(running || c.cgroup !== undefined ? this.usage(`ctr/${rec.name}/${c.name}`, c.cgroup, c.state.status === 'running' ? c.state.startedAt : undefined, atNs) : { oomKills: 0 }),
        }
      }),
    }
    // OOM kills are counted where they happen (a v1 parent's memory.oom_control does not include
    // its children's): the pod's are its containers' (the pause has no limit of its own)
    pod.oomKills = pod.containers.reduce((n, c) => n + c.oomKills, 0)
    // per-process I/O (cgroups/stats.ts: v1 without live blkio counters) is the containers' sum
    if (pod.containers.some((c) => c.io?.source === 'proc')) {
      pod.io = { readBytes: 0, writeBytes: 0, source: 'proc' }
      for (const c of pod.containers) if (c.io) { pod.io.readBytes += c.io.readBytes; pod.io.writeBytes += c.io.writeBytes }
    }
    if (sb.pins?.net && sb.state === 'ready') {
      const ifs = this.interfaces(rec.name, sb.pins.net)
      pod.network = { ...sum(ifs), interfaces: ifs }
    }
    return pod
  }

  /** One cgroup's usage; the CPU percent against the previous sample of `key`, else since `startedAt`. */
  private usage(key: string, cgroup: string | undefined, startedAt: string | undefined, atNs: bigint): UsageStats {
    if (cgroup === undefined) return { oomKills: 0 }
    const s: CgroupStats = readCgroupStats(this.layout, cgroup)
    const out: UsageStats = { oomKills: s.oomKills }
    if (s.cpuNs !== undefined) {
      out.cpuSeconds = s.cpuNs / 1e9
      const prev = this.previous.get(key)
      if (prev && atNs > prev.atNs) out.cpuPercent = round2(((s.cpuNs - prev.cpuNs) / Number(atNs - prev.atNs)) * 100)
      else if (startedAt) {
        const wallNs = (Date.now() - Date.parse(startedAt)) * 1e6
        if (wallNs > 0) out.cpuPercent = round2((s.cpuNs / wallNs) * 100)
      }
      this.previous.set(key, { cpuNs: s.cpuNs, atNs })
    }
    if (s.memoryUsageBytes !== undefined) out.memoryUsageBytes = s.memoryUsageBytes
    if (s.memoryWorkingSetBytes !== undefined) out.memoryWorkingSetBytes = s.memoryWorkingSetBytes
    if (s.memoryLimitBytes !== undefined) out.memoryLimitBytes = s.memoryLimitBytes
    if (s.io) out.io = s.io
    if (s.pids !== undefined) out.pids = s.pids
    return out
  }

  /** The counters of the pod's interfaces (not loopback), read inside its namespace. */
  private interfaces(pod: string, pin: string): InterfaceStats[] {
    let s = this.sockets.get(pod)
    const inode = pinInode(pin)
    if (s && s.inode !== inode) {
      this.drop(pod, s) // a pod of the same name, re-created since the last read
      s = undefined
    }
    if (!s) {
      let ns: Netns
      try {
        ns = Netns.openPath(pin)
      } catch {
        return [] // being torn down
      }
      try {
        s = { rt: Rtnl.open({ netns: ns }), ns, inode }
      } catch (err) {
        ns.close()
        throw err
      }
      this.sockets.set(pod, s)
    }
    return s.rt.stats.listSync().filter((l) => !l.loopback).map((l) => ({
      name: l.name, rxBytes: l.stats.rxBytes, txBytes: l.stats.txBytes, rxPackets: l.stats.rxPackets, txPackets: l.stats.txPackets,
      rxDropped: l.stats.rxDropped, txDropped: l.stats.txDropped, rxErrors: l.stats.rxErrors, txErrors: l.stats.txErrors,
    }))
  }
}

/** The pin is a bind mount of nsfs: its inode is the namespace's. */
function pinInode(path: string): string {
  try {
    return String(statSync(path).ino)
  } catch {
    return ''
  }
}

function sum(ifs: readonly NetCounters[]): NetCounters {
  const out = { ...ZERO_NET }
  for (const i of ifs) for (const k of Object.keys(out) as Array<keyof NetCounters>) out[k] += i[k]
  return out
}

const round2 = (n: number): number => Math.round(n * 100) / 100
