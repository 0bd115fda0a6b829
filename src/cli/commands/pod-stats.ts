/**
 * podnet pod stats [NAME...] [--no-stream] [--json]: CPU, memory, OOM kills, network and disk
 * I/O per pod and container, like `podman pod stats`; refreshed every second unless
 * --no-stream. Reads the state dir, the cgroups and the pods' namespaces directly: no
 * supervisor, no process (src/runtime/stats.ts).
 */
import type { Command } from 'commander'
import type { PodStats, UsageStats } from '../../runtime/stats.js'
import { printJson, printTable } from '../output.js'
import type { Global, PodCommandHelpers } from './pod.js'

/** Decimal units as podman prints them: 1.5kB, 12.3MB. */
export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '-'
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  let v = n
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++ }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}${units[i]}`
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)}%`)

function usageCells(u: UsageStats): Record<string, string> {
  const mem = u.memoryWorkingSetBytes ?? u.memoryUsageBytes
  return {
    cpu: pct(u.cpuPercent),
    cputime: u.cpuSeconds === undefined ? '-' : `${u.cpuSeconds.toFixed(2)}s`,
    mem: `${fmtBytes(mem)} / ${u.memoryLimitBytes === undefined ? '-' : fmtBytes(u.memoryLimitBytes)}`,
    mempct: mem !== undefined && u.memoryLimitBytes ? pct((mem / u.memoryLimitBytes) * 100) : '-',
    oom: String(u.oomKills),
    block: u.io ? `${fmtBytes(u.io.readBytes)} / ${fmtBytes(u.io.writeBytes)}` : '-',
    pids: u.pids === undefined ? '-' : String(u.pids),
  }
}

/** The table rows: one per pod (its cgroup and its interfaces), then one per container. */
export function statsRows(pods: readonly PodStats[]): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = []
  for (const p of pods) {
    rows.push({
      pod: p.name, container: '-', ...usageCells(p),
      net: `${fmtBytes(p.network.rxBytes)} / ${fmtBytes(p.network.txBytes)}`,
      drops: `${p.network.rxDropped} / ${p.network.txDropped}`,
    })
    for (const c of p.containers) rows.push({ pod: p.name, container: c.name, ...usageCells(c), net: '', drops: '' })
  }
  return rows
}

const COLUMNS: Array<[string, string]> = [
  ['pod', 'POD'], ['container', 'CONTAINER'], ['cpu', 'CPU %'], ['cputime', 'CPU TIME'], ['mem', 'MEM USAGE / LIMIT'], ['mempct', 'MEM %'],
  ['oom', 'OOM'], ['net', 'NET RX / TX'], ['drops', 'DROPS RX / TX'], ['block', 'BLOCK R / W'], ['pids', 'PIDS'],
]

export function registerPodStats(pod: Command, { common }: PodCommandHelpers): void {
  common(pod.command('stats [names...]').description('CPU, memory, OOM kills, network and disk I/O of running pods and their containers (refreshed every second unless --no-stream)'))
    .option('--no-stream', 'print one sample and exit')
    .option('--interval <ms>', 'between samples when streaming (default 1000)', (v) => Math.max(100, Number(v) || 1000), 1000)
    .action(async (names: string[], o: Global & { stream: boolean; interval: number }) => {
      const [{ PodStatsReader }, { dirsFromEnv }] = await Promise.all([import('../../runtime/stats.js'), import('../../state/dirs.js')])
      const reader = new PodStatsReader(dirsFromEnv({ ...(o.stateDir !== undefined && { stateDir: o.stateDir }), ...(o.runDir !== undefined && { runDir: o.runDir }) }))
      const show = (): void => {
        const pods = reader.list(names)
        if (o.json) printJson(pods)
        else {
          if (o.stream && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J')
          if (pods.length) printTable(statsRows(pods), COLUMNS)
          else process.stdout.write('no running pods\n')
          if (o.stream && !process.stdout.isTTY) process.stdout.write('\n')
        }
      }
      try {
        show()
        if (!o.stream) return
        await new Promise<void>((resolve, reject) => {
          const timer = setInterval(() => {
            try {
              show()
            } catch (err) {
              clearInterval(timer)
              reject(err)
            }
          }, o.interval)
          const stop = (): void => {
            clearInterval(timer)
            process.off('SIGINT', stop)
            process.off('SIGTERM', stop)
            resolve()
          }
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
        })
      } finally {
        reader.close()
      }
    })
}
