/**
 * What container isolation costs (issue 11): pod start and per-pod memory for three
 * configurations of the same pod (one busybox `sleep` container, no network), run by an
 * in-process PodRuntime (no CLI, no supervisor socket: only the runtime's own work is timed):
 *
 *   privileged   all capabilities, no seccomp, no masked paths: the launcher's old amount of work
 *   defaults     podman 4's capabilities, no_new_privs, RuntimeDefault seccomp, masked and
 *                read-only /proc, read-only /sys (what every pod gets without a securityContext)
 *   hostUsers    the defaults plus a user namespace of its own and an idmapped rootfs
 *
 * Start = rt.run() until it resolves (the sandbox is made and the container has exec'd: the
 * launcher reported "ok"). The configurations alternate, sample by sample, so load drift hits
 * them alike. Memory = RSS and PSS (smaps_rollup) of the pause and the container's launcher
 * monitor, with P pods of each configuration running at once.
 *
 * usage (inside scripts/sandbox.sh, as bench/pods/security.sh does):
 *   node dist/bench/pods/security.js [--starts N] [--pods P]
 * Writes bench/results/pods-security.json and .md.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { PodRuntime, validateManifest, type PodRecord, type PodSpec } from '../../src/runtime/index.js'

type Variant = 'privileged' | 'defaults' | 'hostUsers'
const VARIANTS: Variant[] = ['privileged', 'defaults', 'hostUsers']

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}

function rootfs(dir: string): string {
  const root = join(dir, 'rootfs')
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true })
  chmodSync(root, 0o755)
  copyFileSync(['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))!, join(root, 'bin', 'busybox'))
  for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(root, 'bin', a))
  return root
}

function spec(root: string, name: string, v: Variant): PodSpec {
  return validateManifest({
    metadata: { name, annotations: { 'podnet.io/rootfs': root } },
    spec: {
      terminationGracePeriodSeconds: 0,
      ...(v === 'hostUsers' && { hostUsers: false }),
      containers: [{ name: 'c', command: ['sleep', '600'], ...(v === 'privileged' && { securityContext: { privileged: true } }) }],
    },
  }).spec
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const med = (xs: number[]): number => pct(xs, 50)

function mem(pid: number): { rss: number; pss: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0)
  return { rss: kb('Rss'), pss: kb('Pss') }
}

async function main(): Promise<void> {
  const starts = arg('--starts', 15)
  const pods = arg('--pods', 10)
  const dir = mkdtempSync('/tmp/podnet-bench-sec-')
  const runDir = mkdtempSync('/run/podnet-bench-sec-')
  const root = rootfs(dir)
  const rt = new PodRuntime({ stateDir: join(dir, 'state'), runDir, cgroupParent: `podnet-bench-sec-${process.pid}` })
  const loadBefore = loadavg()
  const t0 = Date.now()
  const samples: Record<Variant, number[]> = { privileged: [], defaults: [], hostUsers: [] }
  const memory: Record<Variant, { rssKb: number; pssKb: number }> = { privileged: { rssKb: 0, pssKb: 0 }, defaults: { rssKb: 0, pssKb: 0 }, hostUsers: { rssKb: 0, pssKb: 0 } }
  try {
    // warm-up: the launcher build, the seccomp compile cache, the page cache
    for (const v of VARIANTS) { await rt.run(spec(root, `warm-${v.toLowerCase()}`, v)); await rt.remove(`warm-${v.toLowerCase()}`, { gracePeriodSeconds: 0 }) }
    for (let i = 0; i < starts; i++) {
      for (const v of VARIANTS) {
        const name = `s-${v.toLowerCase()}-${i}`
        const s = spec(root, name, v)
        const a = performance.now()
        await rt.run(s)
        samples[v].push(performance.now() - a)
        await rt.remove(name, { gracePeriodSeconds: 0 })
      }
    }
    for (const v of VARIANTS) {
      const recs: PodRecord[] = []
      for (let i = 0; i < pods; i++) recs.push(await rt.run(spec(root, `d-${v.toLowerCase()}-${i}`, v)))
      await new Promise((r) => setTimeout(r, 300))
      let rss = 0
      let pss = 0
      for (const r of recs) {
        const live = rt.store.read(r.name)!
        const pids = [live.sandbox.pause!.pid, ...live.containers.flatMap((c) => (c.state.status === 'running' ? [c.state.launcher.pid] : []))]
        for (const p of pids) { const m = mem(p); rss += m.rss; pss += m.pss }
      }
      memory[v] = { rssKb: rss / pods, pssKb: pss / pods }
      for (const r of recs) await rt.remove(r.name, { gracePeriodSeconds: 0 })
    }
  } finally {
    for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 }).catch(() => {})
    rt.close()
    rmSync(dir, { recursive: true, force: true })
    rmSync(runDir, { recursive: true, force: true })
  }
  let commit = 'unknown'
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() } catch { /* no git */ }
  const result = {
    at: new Date().toISOString(), commit, seconds: Math.round((Date.now() - t0) / 1000), cpus: cpus().length, loadBefore, loadAfter: loadavg(),
    starts, pods,
    start: Object.fromEntries(VARIANTS.map((v) => [v, { n: samples[v].length, p50: med(samples[v]), p90: pct(samples[v], 90), min: Math.min(...samples[v]), max: Math.max(...samples[v]) }])),
    memory,
  }
  const f = (x: number): string => x.toFixed(1)
  const base = result.start.privileged!.p50
  const md = [
    '# Pod bench: the cost of container isolation (issue 11)', '',
    `${result.at}, commit ${commit}, ${result.seconds} s. ${result.cpus} CPUs; load before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${result.loadAfter.map((l) => l.toFixed(2)).join(' ')}.`,
    'In-process PodRuntime, one busybox `sleep` container, no network; configurations alternate sample by sample (bench/pods/security.ts).', '',
    '| configuration | starts | p50 ms | p90 ms | min–max | p50 − privileged | RSS kB / pod (pause + monitor) | PSS kB / pod |',
    '|---|---|---|---|---|---|---|---|',
    ...VARIANTS.map((v) => {
      const s = result.start[v]!
      return `| ${v} | ${s.n} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.min)}–${f(s.max)} | ${v === 'privileged' ? '—' : `${s.p50 - base >= 0 ? '+' : ''}${f(s.p50 - base)}`} | ${Math.round(memory[v].rssKb)} | ${Math.round(memory[v].pssKb)} |`
    }),
    '',
  ].join('\n')
  mkdirSync('bench/results', { recursive: true })
  writeFileSync('bench/results/pods-security.json', `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync('bench/results/pods-security.md', md)
  process.stdout.write(md)
}

main().catch((err) => { console.error(err); process.exit(1) })
