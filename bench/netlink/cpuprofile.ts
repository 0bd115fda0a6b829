/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): the functions with the most self time and the
 * most total (inclusive) time, as text. Used by `main.js --profile`; also runnable on its own:
 *
 *   node dist/bench/netlink/cpuprofile.js FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  totalMs: number
  self: Array<[string, number]>
  inclusive: Array<[string, number]>
}

const frameKey = (f: CallFrame): string => {
  const file = f.url.split('/').slice(-2).join('/')
  return `${f.functionName || '(anonymous)'} ${file}${file ? `:${f.lineNumber + 1}` : ''}`
}

export function analyzeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const timeOf = new Map<number, number>()
  p.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const self = new Map<string, number>()
  const incl = new Map<string, number>()
  let total = 0
  for (const [id, us] of timeOf) {
    total += us
    const node = byId.get(id)
    if (!node) continue
    const k = frameKey(node.callFrame)
    self.set(k, (self.get(k) ?? 0) + us)
    const seen = new Set<string>()
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      const n = byId.get(c)
      if (!n) break
      const kk = frameKey(n.callFrame)
      if (seen.has(kk)) continue
      seen.add(kk)
      incl.set(kk, (incl.get(kk) ?? 0) + us)
    }
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, v / 1000])
  return { totalMs: total / 1000, self: sorted(self), inclusive: sorted(incl) }
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const row = ([k, ms]: [string, number]): string => `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%  ${k}`
  return [`== ${title}: ${s.totalMs.toFixed(0)} ms sampled`, '-- self time', ...s.self.map(row), '-- total time', ...s.inclusive.map(row), ''].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (!file) throw new Error('usage: cpuprofile.js FILE.cpuprofile [TOP]')
  process.stdout.write(formatProfile(file, analyzeProfile(file, Number(process.argv[3] ?? 25))))
}
