/** podnet pod ns: the namespaces of a pod's pause and containers, as a table, JSON, DOT or SVG (read from /proc: no supervisor). */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import type { NsRow, PodRecord } from '../../runtime/index.js'
import { printJson, printTable } from '../output.js'
import type { Global, PodCommandHelpers } from './pod.js'

const runtime = (): Promise<typeof import('../../runtime/index.js')> => import('../../runtime/index.js')

function printNs(rec: PodRecord, rows: NsRow[]): void {
  const members = rows[0]?.members ?? []
  const cols: Array<[string, string]> = [['kind', 'NS'], ['sharing', 'SHARING'], ...members.map((m, i): [string, string] => [`m${i}`, `${m.name.toUpperCase()} (${m.pid})`]), ['host', 'HOST']]
  printTable(rows.map((r) => {
    const row: Record<string, unknown> = { kind: r.kind, sharing: r.sharing, host: r.host }
    r.members.forEach((m, i) => { row[`m${i}`] = m.inode })
    return row
  }), cols)
  if (!members.length) process.stdout.write(`(pod ${rec.name} has no running process)\n`)
}

export function registerPodNs(pod: Command, { common, readPod }: PodCommandHelpers): void {
  common(pod.command('ns <name>').description('the namespaces of the pause and every container, read from /proc/PID/ns (like lsns)'))
    .option('--format <format>', 'table (default), json, dot or svg: the picture of the shared and private namespaces')
    .option('-o, --output <file>', 'write the output to a file')
    .action(async (name: string, o: Global & { format?: string; output?: string }) => {
      const format = o.format ?? (o.json ? 'json' : 'table')
      if (!['table', 'json', 'dot', 'svg'].includes(format)) throw new InvalidArgumentError('--format', `must be table, json, dot or svg, not '${format}'`)
      const { namespaceTable } = await runtime()
      const rec = await readPod(o, name)
      const rows = namespaceTable(rec)
      if (format === 'dot' || format === 'svg') {
        const [{ podNamespacesDot }, { renderSvg }, { writeOutput }] = await Promise.all([import('../../topology/dot.js'), import('../../topology/svg.js'), import('./topology.js')])
        const dot = podNamespacesDot(rec, rows)
        writeOutput(format === 'svg' ? await renderSvg(dot) : dot, o.output)
      } else if (format === 'json') printJson(rows)
      else printNs(rec, rows)
    })
}
