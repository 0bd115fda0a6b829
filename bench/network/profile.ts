/**
 * Summary of a V8 .cpuprofile (node --cpu-prof): self time by function, inclusive time by
 * function, and self time by area of the code (podnet module folder, node internals, GC,
 * idle). Used by the network bench on podnet's attach loop; runnable on its own:
 *
 *   node dist/bench/network/profile.js FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface ProfileSummary {
  /** Sampled time, ms. */
  totalMs: number
  self: Array<{ fn: string; ms: number }>
  inclusive: Array<{ fn: string; ms: number }>
  areas: Array<{ area: string; ms: number }>
}

/** `name dir/file.js:line` with the path cut to what identifies the module. */
function frameName(f: CallFrame): string {
  const fn = f.functionName || '(anonymous)'
  if (!f.url) return fn
  const m = /\/dist\/(.*)$/.exec(f.url)
  const file = m ? (m[1] ?? f.url).replace(/^src\//, '') : f.url.replace(/^node:/, 'node:')
  return `${fn} ${file}:${f.lineNumber + 1}`
}

/** Which part of the code a frame belongs to. */
function areaOf(f: CallFrame): string {
  const fn = f.functionName
  if (fn === '(garbage collector)') return 'V8 garbage collector'
  if (fn === '(idle)') return 'idle (waiting)'
  if (fn === '(program)') return 'V8/native (program)'
  const m = /\/dist\/src\/(.*)\/[^/]+\.js$/.exec(f.url)
  if (m) return `podnet src/${m[1] ?? ''}`
  if (/\/dist\/bench\//.test(f.url)) return 'bench loop'
  if (f.url.startsWith('node:fs') || f.url.includes('internal/fs')) return 'node fs'
  if (f.url.includes('koffi')) return 'koffi (FFI)'
  if (f.url.startsWith('node:') || f.url === '') return `node internals / natives`
  return f.url.includes('node_modules') ? 'dependencies' : 'other'
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!
    // V8 records the delta *before* sample i; attributing the next delta to sample i is the usual convention
    const dt = p.timeDeltas[i + 1] ?? 0
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
    total += dt
  }
  const self = new Map<string, number>()
  const incl = new Map<string, number>()
  const areas = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (!node) continue
    const name = frameName(node.callFrame)
    self.set(name, (self.get(name) ?? 0) + us)
    const area = areaOf(node.callFrame)
    areas.set(area, (areas.get(area) ?? 0) + us)
    // inclusive: once per distinct function on the stack (recursion counted once)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (!n) break
      const k = frameName(n.callFrame)
      if (seen.has(k)) continue
      seen.add(k)
      incl.set(k, (incl.get(k) ?? 0) + us)
    }
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  return {
    totalMs: total / 1000,
    self: sorted(self).slice(0, top).map(([fn, us]) => ({ fn, ms: us / 1000 })),
    inclusive: sorted(incl).filter(([k]) => k !== '(root)').slice(0, top).map(([fn, us]) => ({ fn, ms: us / 1000 })),
    areas: sorted(areas).map(([area, us]) => ({ area, ms: us / 1000 })),
  }
}

export function formatProfile(s: ProfileSummary, perPodDivisor?: number): string {
  const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`
  const per = (ms: number): string => (perPodDivisor ? `${((ms / perPodDivisor) * 1000).toFixed(0).padStart(6)} µs/pod` : '')
  const line = (ms: number, what: string): string => `${ms.toFixed(1).padStart(9)} ms ${pct(ms)} ${per(ms)}  ${what}`
  return [
    `sampled: ${s.totalMs.toFixed(0)} ms`,
    '-- self time by area',
    ...s.areas.map((a) => line(a.ms, a.area)),
    '-- self time by function',
    ...s.self.map((x) => line(x.ms, x.fn)),
    '-- inclusive time by function',
    ...s.inclusive.map((x) => line(x.ms, x.fn)),
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: profile.js FILE.cpuprofile [TOP]\n')
    process.exit(2)
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`)
}
