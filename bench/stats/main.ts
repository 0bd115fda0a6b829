/**
 * Pod statistics bench (issue 17): one sample of every pod's statistics, podnet against podman 4
 * with the same number of running pods (one busybox `sleep` container each, on a network) in the
 * same run, inside the sandbox (bench/stats/run.sh).
 *
 *   podnet  `podnet pod stats --no-stream` (table) and `--json`, executed as typed (bin/podnet.js);
 *           and PodStatsReader.list() in this process (the library call, a fresh reader each time,
 *           so every pod's namespace socket is opened again)
 *   podman  `podman pod stats --no-stream` (table) and `--format json`
 *
 * Each command runs under GNU time: wall time, user + system CPU of the command and everything
 * it waited for, peak RSS. The tools take turns, round after round, so drift in the machine's
 * load touches them alike. Every output is checked: one row (or JSON entry) per pod.
 *
 *   node dist/bench/stats/main.js [--quick] [--pods N] [--rounds N] [--only podnet,podman] [--out DIR]
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { PodStatsReader, pingSupervisor, request, stopSupervisor, type RunManifestResult } from '../../src/runtime/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { benchArgs, fmtMs, fmtX, median, nowMs, sleep } from '../network/lib.js'
import { run, type ChildResult } from '../pods/lib.js'
import { Podman } from '../pods/podman.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../../..')
const BIN = join(ROOT, 'bin/podnet.js')
const NETWORK = 'statsbench'
const SUBNET = '10.232.0.0/16'
const T0 = nowMs()
const log = (s: string): void => { process.stderr.write(`[stats ${((nowMs() - T0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`) }

interface Sample { tool: string; round: number; wallMs: number; cpuMs: number; maxRssKb: number; rows: number }

/** Runs a command under GNU time; its -f line is the last of stderr. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ r: ChildResult; wallMs: number; cpuMs: number; maxRssKb: number }> {
  const r = await run('/usr/bin/time', ['-f', 'TIME %e %U %S %M', cmd, ...args], { env })
  const line = r.stderr.trim().split('\n').pop() ?? ''
  const m = /^TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line)
  if (!m) throw new Error(`${cmd} ${args.join(' ')}: no time line (exit ${r.status}): ${r.stderr.slice(-500)}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-1000)}`)
  return { r, wallMs: r.wallMs, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, maxRssKb: Number(m[4]) }
}

function buildRootfs(dir: string): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (scripts/setup.sh)')
  const root = join(dir, 'rootfs')
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'sys']) mkdirSync(join(root, d), { recursive: true })
  copyFileSync(busybox, join(root, 'bin/busybox'))
  chmodSync(join(root, 'bin/busybox'), 0o755)
  for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(root, 'bin', a))
  return root
}

const manifest = (name: string, rootfs: string): string => [
  'apiVersion: v1', 'kind: Pod', 'metadata:', `  name: ${name}`, '  annotations:', `    podnet.io/rootfs: ${rootfs}`, `    podnet.io/network: ${NETWORK}`,
  'spec:', '  terminationGracePeriodSeconds: 0', '  containers:', '  - name: c', '    command: [sleep, "3600"]', '',
].join('\n')

async function main(): Promise<void> {
  assertSandboxed()
  const a = benchArgs(process.argv.slice(2))
  const pods = a.num('--pods', a.quick ? 5 : 100)
  const rounds = a.num('--rounds', a.quick ? 2 : 7)
  const only = a.only(['podnet', 'podman'])
  const out = a.out(join(ROOT, 'bench/results'))
  const stateDir = process.env.PODNET_STATE_DIR
  if (!stateDir) throw new Error('PODNET_STATE_DIR is not set: run through bench/stats/run.sh')
  process.env.PODNET_RUN_DIR ||= '/run/podnet'
  const hex = randomBytes(3).toString('hex')
  const dir = mkdtempSync('/tmp/podnet-bench-stats-')
  const rootfs = buildRootfs(dir)
  const env = { ...process.env, PODNET_CGROUP_PARENT: `podnet-bench-${hex}`, PODNET_SUPERVISOR_IDLE_MS: '600000' }
  const samples: Sample[] = []
  const notes: string[] = []
  let podman: Podman | undefined
  const names: string[] = []
  const pnames: string[] = []
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ')
  try {
    const net = await run(BIN, ['network', 'create', NETWORK, '--subnet', SUBNET], { env })
    if (net.status !== 0) throw new Error(`network create: ${net.stderr}`)
    if (only.has('podnet')) {
      await run(BIN, ['pod', 'supervisor', 'start'], { env })
      for (let i = 0; i < pods; i++) {
        const name = `st${i}`
        await request<RunManifestResult>(stateDir, { op: 'run-manifest', text: manifest(name, rootfs), baseDir: dir })
        names.push(name)
        if ((i + 1) % 25 === 0) log(`${i + 1} podnet pods`)
      }
    }
    if (only.has('podman')) {
      podman = await Podman.setup(`podnet-bench-podman-${hex}`)
      log(`podman: ${JSON.stringify(podman.info)}`)
      for (let i = 0; i < pods; i++) {
        const name = `pm${i}`
        pnames.push(name)
        await podman.startPod(name, rootfs, 1)
        if ((i + 1) % 25 === 0) log(`${i + 1} podman pods`)
      }
    }
    await sleep(2000)
    const tools: Array<[string, (round: number) => Promise<Sample>]> = []
    if (only.has('podnet')) {
      const cli = (json: boolean) => async (round: number): Promise<Sample> => {
        const t = await timed(BIN, ['pod', 'stats', '--no-stream', ...(json ? ['--json'] : [])], env)
        const rows = json ? (JSON.parse(t.r.stdout) as unknown[]).length : t.r.stdout.split('\n').filter((l) => /^st\d+\s+-\s/.test(l)).length
        return { tool: json ? 'podnet-json' : 'podnet', round, wallMs: t.wallMs, cpuMs: t.cpuMs, maxRssKb: t.maxRssKb, rows }
      }
      tools.push(['podnet', cli(false)], ['podnet-json', cli(true)])
      tools.push(['podnet-lib', async (round) => {
        const c0 = process.cpuUsage()
        const t0 = nowMs()
        const reader = new PodStatsReader({ stateDir })
        const list = reader.list()
        reader.close()
        const wallMs = nowMs() - t0
        const c = process.cpuUsage(c0)
        return { tool: 'podnet-lib', round, wallMs, cpuMs: (c.user + c.system) / 1000, maxRssKb: 0, rows: list.length }
      }])
    }
    if (podman) {
      const pm = podman
      const cmd = (json: boolean) => async (round: number): Promise<Sample> => {
        const t = await timed('podman', ['pod', 'stats', '--no-stream', ...(json ? ['--format', 'json'] : [])], pm.env)
        // one row (entry) per container, the infra container included: count the pods by pod id
        const ids = json ? (JSON.parse(t.r.stdout) as Array<{ Pod: string }>).map((e) => e.Pod) : t.r.stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter((x) => x && /^[0-9a-f]{12}$/.test(x))
        const rows = new Set(ids).size
        return { tool: json ? 'podman-json' : 'podman', round, wallMs: t.wallMs, cpuMs: t.cpuMs, maxRssKb: t.maxRssKb, rows }
      }
      tools.push(['podman', cmd(false)], ['podman-json', cmd(true)])
    }
    for (let round = 0; round < rounds; round++) {
      const line: string[] = []
      for (let k = 0; k < tools.length; k++) {
        const [name, fn] = tools[(k + round) % tools.length]!
        const s = await fn(round)
        samples.push(s)
        line.push(`${name} ${fmtMs(s.wallMs)} ms (${s.rows} rows)`)
        await sleep(200)
      }
      log(`round ${round + 1}/${rounds}: ${line.join(', ')}; load ${loadavg()[0]!.toFixed(2)}`)
    }
  } finally {
    for (const n of names) await request(stateDir, { op: 'rm', name: n, gracePeriodSeconds: 0 }).catch((e: unknown) => log(`rm ${n}: ${String(e)}`))
    if (podman) {
      await podman.removePods(pnames)
      for (const p of await podman.cleanup()) notes.push(`podman cleanup: ${p}`)
    }
    await run(BIN, ['network', 'rm', NETWORK, '--force'], { env })
    if (await pingSupervisor(stateDir)) await stopSupervisor(stateDir)
    rmSync(dir, { recursive: true, force: true })
  }
  // report
  const what: Record<string, string> = {
    podnet: '`podnet pod stats --no-stream` (table)',
    'podnet-json': '`podnet pod stats --no-stream --json`',
    'podnet-lib': 'library: `new PodStatsReader().list()` in-process (no process start)',
    podman: '`podman pod stats --no-stream` (table)',
    'podman-json': '`podman pod stats --no-stream --format json`',
  }
  const by = (t: string): Sample[] => samples.filter((s) => s.tool === t)
  const base = median(by('podnet').map((s) => s.wallMs))
  const rows: string[][] = []
  for (const t of Object.keys(what)) {
    const xs = by(t)
    if (!xs.length) continue
    const w = xs.map((s) => s.wallMs)
    const bad = xs.filter((s) => s.rows !== pods).length
    rows.push([what[t]!, String(xs.length), fmtMs(median(w)), `${fmtMs(Math.min(...w))}–${fmtMs(Math.max(...w))}`, fmtMs(median(xs.map((s) => s.cpuMs))),
      t === 'podnet-lib' ? '–' : (median(xs.map((s) => s.maxRssKb)) / 1024).toFixed(1), fmtX(median(w) / base), bad ? `${bad} with ≠ ${pods} rows` : `${pods} each`])
  }
  const md = [
    `# Pod statistics bench (issue 17)`, '',
    `${new Date().toISOString()}, ${pods} running pods per tool (one busybox \`sleep\` container each, on a network), ${rounds} rounds, tools taking turns.`,
    `Machine: ${cpus().length} CPU, kernel ${release()}, node ${process.version}; load average before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
    `podman ${podman?.info?.version ?? '(not run)'} (${podman?.info?.ociRuntime ?? ''}, ${podman?.info?.networkBackend ?? ''}, cgroup manager ${podman?.info?.cgroupManager ?? ''}).`, '',
    '| what | n | wall p50 ms | min–max | CPU p50 ms (user+sys) | peak RSS MB | × podnet table | pods in the output |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '', ...notes.map((n) => `- ${n}`), '',
  ].join('\n')
  process.stdout.write(`\n${md}\n`)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'stats.md'), md)
  writeFileSync(join(out, 'stats.json'), `${JSON.stringify({ bench: 'pod stats (issue 17)', pods, rounds, kernel: release(), cpus: cpus().length, samples, notes }, null, 1)}\n`)
  log(`wrote ${join(out, 'stats.md')}`)
}

main().catch((err: unknown) => {
  process.stderr.write(`stats bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
