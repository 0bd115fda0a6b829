/**
 * Where one attach spends its wall time, without a profiler's overhead: wraps the few methods
 * every kernel request, file transaction and namespace operation of podnet goes through (on
 * their prototypes; src/ is not changed) and adds up their wall time per pod. Categories are
 * disjoint: none of the wrapped methods calls another wrapped one.
 */
import { NetlinkSocket, type NetlinkRequest } from '../../src/netlink/core/index.js'
import { Nft } from '../../src/netlink/nftables/index.js'
import { DiskStore } from '../../src/bridge/ipam/index.js'
import { StateDir } from '../../src/bridge/state.js'
import { Netns } from '../../src/netns/index.js'

const NLM_F_CREATE = 0x400

export interface BreakdownRow {
  what: string
  /** Mean wall ms per pod over all pods, the first 10% and the last 10%. */
  meanMs: number
  firstMs: number
  lastMs: number
  callsPerPod: number
}

export class Breakdown {
  private pod = -1
  private readonly ms = new Map<string, number[]>()
  private readonly calls = new Map<string, number>()

  /** Wraps the methods (once per process). */
  install(): void {
    const add = (key: string, dt: number): void => {
      if (this.pod < 0) return
      let a = this.ms.get(key)
      if (!a) this.ms.set(key, (a = []))
      a[this.pod] = (a[this.pod] ?? 0) + dt
      this.calls.set(key, (this.calls.get(key) ?? 0) + 1)
    }
    const wrap = (target: object, method: string, key: (args: unknown[]) => string): void => {
      const t = target as Record<string, unknown>
      const orig = t[method] as (...a: unknown[]) => unknown
      t[method] = function (this: unknown, ...args: unknown[]): unknown {
        const t0 = performance.now()
        try {
          return orig.apply(this, args)
        } finally {
          add(key(args), performance.now() - t0)
        }
      }
    }
    wrap(NetlinkSocket.prototype, 'requestSync', (args) => {
      const req = args[0] as NetlinkRequest
      const name = req.schema?.name ?? `netlink type ${req.type}`
      const kind = name === 'RTM_NEWLINK' ? ((req.flags & NLM_F_CREATE) !== 0 ? ' (create veth)' : ' (change link)') : ''
      return `netlink ${name}${kind}`
    })
    wrap(NetlinkSocket, 'open', () => 'netlink socket open (in the pod namespace)')
    wrap(Nft.prototype, 'runBatch', () => 'nf_tables batch (DNAT rule)')
    wrap(DiskStore.prototype, 'transaction', () => 'IPAM DiskStore transaction (allocate)')
    for (const m of ['readJson', 'writeJson', 'createExclusive', 'list', 'exists', 'remove']) wrap(StateDir.prototype, m, () => 'state files (record, port claim)')
    wrap(Netns, 'create', () => 'Netns.create (unshare + bind mount)')
  }

  /** Starts attributing to pod i (0-based); -1 stops. */
  setPod(i: number): void {
    this.pod = i
  }

  rows(totalMs: readonly number[]): BreakdownRow[] {
    const n = totalMs.length
    const k = Math.min(100, Math.max(1, Math.floor(n / 10)))
    const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1)
    const per = (a: readonly (number | undefined)[]): number[] => Array.from({ length: n }, (_, i) => a[i] ?? 0)
    const rows: BreakdownRow[] = [...this.ms].map(([what, a]) => {
      const v = per(a)
      return { what, meanMs: mean(v), firstMs: mean(v.slice(0, k)), lastMs: mean(v.slice(-k)), callsPerPod: (this.calls.get(what) ?? 0) / n }
    })
    rows.sort((x, y) => y.meanMs - x.meanMs)
    const sum = (sel: (r: BreakdownRow) => number): number => rows.reduce((s, r) => s + sel(r), 0)
    rows.push({
      what: 'everything else (podnet JS: validation, codecs, undo stack, lock, await)',
      meanMs: mean(totalMs) - sum((r) => r.meanMs),
      firstMs: mean(totalMs.slice(0, k)) - sum((r) => r.firstMs),
      lastMs: mean(totalMs.slice(-k)) - sum((r) => r.lastMs),
      callsPerPod: 0,
    })
    rows.push({ what: 'total ADD (mean)', meanMs: mean(totalMs), firstMs: mean(totalMs.slice(0, k)), lastMs: mean(totalMs.slice(-k)), callsPerPod: 0 })
    return rows
  }
}
