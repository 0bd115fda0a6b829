/**
 * Pod bench (issue 4): pod start and pod density, podnet against podman 4 in the same run.
 * Runs inside the sandbox (bench/pods/run.sh starts it through scripts/sandbox.sh): a private
 * network and mount namespace with its own /run (tmpfs) and a temp PODNET_STATE_DIR; the run
 * dir is PODNET_RUN_DIR=/run/podnet, on that tmpfs as in production. The podnet network and
 * podman's default network live in the sandbox's network namespace; the machine's own
 * namespace, nftables and /run/netns are never touched. Writes bench/results/pods.json and
 * pods.md.
 *
 *   node dist/bench/pods/main.js [--quick] [--only start,breakdown,density] [--starts N] [--cold N]
 *       [--breakdown N] [--pods N] [--podman-pods N] [--out DIR]
 *
 * Pod start: `podnet pod run -d -f FILE` exactly as typed (bin/podnet.js executed through its
 * shebang, with this shell's environment; it runs the single-file build with its V8 code cache),
 * timed from spawn until the command has exited. It sends one request, `run-manifest`, which
 * the supervisor answers once every container's launcher has reported "ok", which it writes
 * after the container's exec succeeded; the network is attached before any container starts. Then,
 * outside the timed interval, readiness is checked from outside: the container's process has
 * exec'd (/proc/PID/comm is "sleep"; PID from the pod's record, PodStore.read) and eth0 in its
 * network namespace has an IPv4 address
 * (`nsenter --net=/proc/PID/ns/net ip -j -4 addr show dev eth0`). If not, it is polled, and
 * the time until it is ready counts instead. podman: `podman pod create` + `podman run -d --pod
 * P --rootfs DIR sleep 3600`, same check. The two take turns.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import { PodStore, pingSupervisor, request, stopSupervisor, type PodRecord, type RunManifestResult } from '../../src/runtime/index.js'
import { ensureLauncher } from '../../src/runtime/launcher.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { benchArgs, fmtMs, fmtX, machineLoad, median, nowMs, percentile, sleep } from '../network/lib.js'
import { benchDirs, buildRootfs, run, type ChildResult } from './lib.js'
import { Podman, removeCgroupTree, type PodmanInfo } from './podman.js'
import { epochMs, spanTree, type Span, type TraceLine } from './trace.js'

const HERE = dirname(fileURLToPath(import.meta.url))
/** Repository root (this file is dist/bench/pods/main.js). */
const ROOT = resolve(HERE, '../../..')
const BIN = join(ROOT, 'bin/podnet.js')
const NETWORK = 'podbench'
const SUBNET = '10.231.0.0/16'

interface Options {
  quick: boolean
  starts: number
  cold: number
  breakdown: number
  pods: number
  podmanPods: number
  only: Set<string>
  out: string
}

function parseArgs(argv: string[]): Options {
  const a = benchArgs(argv)
  const { quick } = a
  const num = a.num
  return {
    quick,
    starts: num('--starts', quick ? 3 : 20),
    cold: num('--cold', quick ? 1 : 5),
    breakdown: num('--breakdown', quick ? 2 : 8),
    pods: num('--pods', quick ? 5 : 100),
    podmanPods: num('--podman-pods', quick ? 3 : 30),
    only: a.only(['start', 'breakdown', 'density']),
    out: a.out(join(ROOT, 'bench/results')),
  }
}

const T0 = nowMs()
const log = (s: string): void => { process.stderr.write(`[pods ${((nowMs() - T0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`) }
const load1 = (): number => loadavg()[0] ?? NaN

// ------------------------------------------------------------------------------------------------
// the world: rootfs, manifests, env

interface World {
  dir: string
  rootfs: string
  stateDir: string
  /** PODNET_RUN_DIR: the live records (status.json), pins, /dev/shm; /run/podnet on the sandbox's tmpfs. */
  runDir: string
  store: PodStore
  cgroupParent: string
  /** The CLI's environment: this shell's, plus the cgroup parent and a long supervisor idle time. */
  env: NodeJS.ProcessEnv
  podman?: Podman
  /** The what-if C client (bench/pods/native-client.c), built in the temp dir; undefined when it could not be. */
  nativeClient?: string | undefined
}

/** Builds bench/pods/native-client.c static (musl-gcc when installed, as the launcher), or undefined. */
function buildNativeClient(dir: string): string | undefined {
  const out = join(dir, 'native-client')
  const cc = existsSync('/usr/bin/musl-gcc') ? '/usr/bin/musl-gcc' : 'gcc'
  try {
    execFileSync(cc, ['-static', '-Os', '-s', '-o', out, join(ROOT, 'bench/pods/native-client.c')], { stdio: ['ignore', 'ignore', 'pipe'] })
    return out
  } catch (err) {
    log(`the native what-if client could not be built (${cc}): ${String((err as { stderr?: Buffer }).stderr ?? err).slice(0, 300)}`)
    return undefined
  }
}


function manifestText(w: World, name: string, containers: number): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    '  annotations:',
    `    podnet.io/rootfs: ${w.rootfs}`,
    `    podnet.io/network: ${NETWORK}`,
    'spec:',
    '  terminationGracePeriodSeconds: 0',
    '  containers:',
    ...Array.from({ length: containers }, (_, i) => [`  - name: c${i + 1}`, '    command: [sleep, "3600"]']).flat(),
    '',
  ].join('\n')
}

function manifestFile(w: World, name: string, containers: number): string {
  const f = join(w.dir, `${name}.yaml`)
  writeFileSync(f, manifestText(w, name, containers))
  return f
}

const cli = (w: World, args: string[], env: NodeJS.ProcessEnv = w.env): Promise<ChildResult> => run(BIN, args, { env })

async function mustCli(w: World, args: string[]): Promise<ChildResult> {
  const r = await cli(w, args)
  if (r.status !== 0) throw new Error(`podnet ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/** The pod's record as the CLI reads it (the live one in the run dir, else the state dir's). */
function readRecord(w: World, name: string): PodRecord {
  const rec = w.store.read(name)
  if (!rec) throw new Error(`pod ${name}: no record`)
  return rec
}

// ------------------------------------------------------------------------------------------------
// readiness, from outside

interface Ready { ok: boolean; comm: string; addr: string }

async function readyCheck(pid: number): Promise<Ready> {
  let comm = ''
  try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return { ok: false, comm: '(gone)', addr: '' } }
  const r = await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'])
  let addr = ''
  try {
    const j = JSON.parse(r.stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>
    const a = j[0]?.addr_info?.[0]
    if (a?.local) addr = `${a.local}/${a.prefixlen}`
  } catch { /* no eth0 yet */ }
  return { ok: comm === 'sleep' && addr !== '', comm, addr }
}

/** Ready at return (true), or polls until ready and returns the extra ms (false + ms). */
async function waitReady(pid: () => Promise<number>, t0: number): Promise<{ atReturn: boolean; readyMs: number; ready: Ready }> {
  const tReturn = nowMs()
  let ready = await readyCheck(await pid())
  if (ready.ok) return { atReturn: true, readyMs: tReturn - t0, ready }
  const deadline = nowMs() + 10_000
  while (!ready.ok && nowMs() < deadline) {
    await sleep(2)
    ready = await readyCheck(await pid())
  }
  if (!ready.ok) throw new Error(`not ready 10 s after the command returned: comm '${ready.comm}', eth0 '${ready.addr}'`)
  return { atReturn: false, readyMs: nowMs() - t0, ready }
}

// ------------------------------------------------------------------------------------------------
// pod start

interface StartSample {
  tool: 'podnet' | 'podnet-noca' | 'podnet-cold' | 'podnet-lean' | 'podnet-native' | 'podman'
  i: number
  /** Command wall time (spawn → exit), ms; podman: both commands. */
  cmdMs: number
  /** Until ready (= cmdMs when ready at return). */
  readyMs: number
  atReturn: boolean
  addr: string
  load1: number
  /** podman: pod create and run -d separately. */
  parts?: { createMs: number; runMs: number }
  /** podnet CLI: whether bin/podnet.js would run the bundle at that moment (it is not older than the modules). */
  bundle?: boolean
}

/** bin/podnet.js's rule for using the bundle (another tsc run in the tree makes it stale). */
function bundleFresh(): boolean {
  try {
    return statSync(join(ROOT, 'dist/cli/podnet.cjs')).mtimeMs >= statSync(join(ROOT, 'dist/src/cli/main.js')).mtimeMs
  } catch {
    return false
  }
}

async function podnetStart(w: World, tool: StartSample['tool'], i: number, env: NodeJS.ProcessEnv = w.env): Promise<StartSample> {
  const name = `${({ podnet: 'pw', 'podnet-noca': 'pn', 'podnet-cold': 'pc', 'podnet-lean': 'pl', 'podnet-native': 'px' } as Record<string, string>)[tool] ?? 'p'}${i}`
  const file = manifestFile(w, name, 1)
  const l = load1()
  const bundle = tool === 'podnet-lean' || tool === 'podnet-native' ? undefined : bundleFresh()
  const t0 = nowMs()
  // the what-if client (node built-ins only) runs as the CLI's shebang runs node: without NODE_EXTRA_CA_CERTS
  const r = tool === 'podnet-lean'
    ? await run(process.execPath, [join(HERE, 'lean-client.js'), file], { env: withoutCa(env) })
    : tool === 'podnet-native'
      ? await run(w.nativeClient!, [file], { env })
      : await cli(w, ['pod', 'run', '-d', '-f', file], env)
  const cmdMs = nowMs() - t0
  if (r.status !== 0) throw new Error(`podnet pod run -d -f ${file} exited ${r.status}: ${r.stderr.trim().slice(-2000)}`)
  const pid = async (): Promise<number> => {
    const st = readRecord(w, name).containers[0]?.state
    return st?.status === 'running' ? st.pid : -1
  }
  const rd = await waitReady(pid, t0)
  await request(w.stateDir, { op: 'rm', name, gracePeriodSeconds: 0 })
  return { tool, i, cmdMs, readyMs: rd.atReturn ? cmdMs : rd.readyMs, atReturn: rd.atReturn, addr: rd.ready.addr, load1: l, ...(bundle !== undefined && { bundle }) }
}

function withoutCa(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e = { ...env }
  delete e.NODE_EXTRA_CA_CERTS
  return e
}

async function podmanStart(w: World, i: number): Promise<StartSample> {
  const pm = w.podman!
  const name = `pm${i}`
  const l = load1()
  const t0 = nowMs()
  const s = await pm.startPod(name, w.rootfs, 1)
  const cmdMs = nowMs() - t0
  const cid = s.cids[0]!
  const rd = await waitReady(async () => (await pm.inspect([cid]))[0]?.pid ?? -1, t0)
  await pm.removePods([name])
  return { tool: 'podman', i, cmdMs, readyMs: rd.atReturn ? cmdMs : rd.readyMs, atReturn: rd.atReturn, addr: rd.ready.addr, load1: l, parts: { createMs: s.createMs, runMs: s.runMs[0]! } }
}

async function waitSupervisorGone(w: World): Promise<void> {
  await stopSupervisor(w.stateDir)
  for (let i = 0; i < 100 && (await pingSupervisor(w.stateDir)); i++) await sleep(20)
}

interface StartResult { samples: StartSample[]; podmanFirst?: { createMs: number; runMs: number } }

async function benchStart(o: Options, w: World): Promise<StartResult> {
  const samples: StartSample[] = []
  const res: StartResult = { samples }
  // a reference row without NODE_EXTRA_CA_CERTS, unless the CLI's shebang removes it already
  const noCa = process.env.NODE_EXTRA_CA_CERTS !== undefined && !/-u\s+NODE_EXTRA_CA_CERTS/.test(readFileSync(BIN, 'utf8').split('\n')[0] ?? '')
  const envNoCa = { ...w.env }
  delete envNoCa.NODE_EXTRA_CA_CERTS
  // podman's first pod in fresh storage builds its pause image (catatonit): once, not a sample
  if (w.podman) {
    const s = await w.podman.startPod('pm-first', w.rootfs, 1)
    res.podmanFirst = { createMs: s.createMs, runMs: s.runMs[0]! }
    await w.podman.removePods(['pm-first'])
    log(`podman first pod in fresh storage: pod create ${fmtMs(s.createMs)} ms (builds the pause image), run -d ${fmtMs(s.runMs[0]!)} ms`)
  }
  // cold: no supervisor; the command starts one
  for (let i = 0; i < o.cold; i++) {
    await waitSupervisorGone(w)
    const s = await podnetStart(w, 'podnet-cold', i)
    samples.push(s)
    log(`podnet cold ${i + 1}/${o.cold}: ${fmtMs(s.readyMs)} ms (${s.addr}), load ${s.load1.toFixed(2)}`)
  }
  if (!(await pingSupervisor(w.stateDir))) await mustCli(w, ['pod', 'supervisor', 'start'])
  // warm, interleaved (the order rotates so drift in the machine's load touches every tool alike)
  for (let i = 0; i < o.starts; i++) {
    const tools: Array<() => Promise<StartSample>> = [
      () => podnetStart(w, 'podnet', i),
      ...(w.podman ? [() => podmanStart(w, i)] : []),
      ...(noCa ? [() => podnetStart(w, 'podnet-noca', i, envNoCa)] : []),
      () => podnetStart(w, 'podnet-lean', i),
      ...(w.nativeClient ? [() => podnetStart(w, 'podnet-native', i)] : []),
    ]
    const line: string[] = []
    for (let k = 0; k < tools.length; k++) {
      const s = await tools[(k + i) % tools.length]!()
      samples.push(s)
      line.push(`${s.tool} ${fmtMs(s.readyMs)}${s.atReturn ? '' : '*'}`)
      await sleep(100)
    }
    log(`start round ${i + 1}/${o.starts}: ${line.join(', ')} ms; load ${load1().toFixed(2)}`)
  }
  return res
}

// ------------------------------------------------------------------------------------------------
// breakdown

interface Segment { what: string; ms: number }

/** The direct children of PodRuntime.run (traced-supervisor.ts labels), grouped by the kind of work, in run order. */
const RUN_CATEGORIES: Array<[RegExp, string]> = [
  [/^(claim the pod name|record create|record write|file system calls|find the launcher binary|cgroup checkLimits)/, 'state: name claim, records (status.json in the run dir on tmpfs, pod.json once), directories, /etc files; launcher lookup'],
  [/^(unshare|sethostname|mount |setns|open \(libc\))/, 'namespaces: unshare(net, ipc, uts), sethostname, pin bind mounts, setns back; /dev/shm mount'],
  [/^spawn catatonit/, 'pause: spawn catatonit (fork + exec, synchronous part)'],
  [/^(open the pinned netns|netlink socket open|netlink request)/, 'loopback up: open the pinned netns, netlink socket, RTM_NEWLINK'],
  [/^cgroup (create|addProcess|oomKills)/, 'cgroups: pod/pause directories in cpu, memory, pids; move the pause (cgroup.procs)'],
  [/^network attach/, 'network attach (bridge layer: IPAM, veth, addresses, routes, nf_tables)'],
  [/^start a container/, 'container: podnet-launch (cgroup, spawn, its fork/setns/mounts/pivot_root/exec until "ok")'],
]
const PARSE_LABEL = /^parse the manifest/

interface BreakdownResult {
  /** Median ms per segment over the warm samples, in order; they add up to the median-ish total. */
  warm: Array<{ what: string; p50: number; mean: number }>
  warmTotal: { p50: number; mean: number; n: number }
  /** The connections each warm CLI run made to the supervisor (op, or ?:error code), one list per run. */
  warmConns: string[][]
  /** Per warm run: 1 when V8 rejected the bundle's code cache, 0 when it took it, -1 without a bundle. */
  cacheRejected: number[]
  /** The supervisor's side of one run-manifest request: span tree (median inclusive / self ms per path). */
  tree: Array<{ path: string[]; incl: number; self: number; calls: number }>
  cold: Array<{ what: string; p50: number; mean: number }>
  coldTotal: { p50: number; mean: number; n: number }
  /** The connections each cold CLI run made, in order, in words (coldConnWords). */
  coldConns: string[][]
  /** Fresh node processes: `node -e 0`, the CLI's bundle, the import of single modules. */
  floors: Array<{ what: string; p50: number; n: number }>
}

/** Runs the CLI with the trace hook; returns the bench-side spawn and close times (epoch ms). */
function tracedCli(w: World, args: string[], traceFile: string): Promise<{ pid: number; spawnAt: number; closeAt: number; status: number; stderr: string }> {
  return new Promise((res, rej) => {
    const env = { ...w.env, NODE_OPTIONS: `--import=${pathToFileURL(join(HERE, 'cli-hook.js')).href}`, BENCH_TRACE_FILE: traceFile }
    const spawnAt = epochMs()
    const c = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    let stderr = ''
    c.stdout!.on('data', () => undefined)
    c.stderr!.on('data', (b: Buffer) => { stderr += b.toString() })
    c.on('error', rej)
    c.on('close', (code) => res({ pid: c.pid ?? -1, spawnAt, closeAt: epochMs(), status: code ?? 1, stderr }))
  })
}

const readTrace = (f: string): TraceLine[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceLine) : [])

const connTag = (c: { op: string; err?: string }): string => (c.err ? `${c.op}:${c.err}` : c.op)

/**
 * A cold run's connections in words, repeats counted: one that never got to send ('?') is the
 * request when it is the first, else one of ensureSupervisor's pings (the client sends nothing
 * else); a mark for the supervisor's spawn in between.
 */
function coldConnWords(conns: NonNullable<TraceLine['conns']>, spawnAt: number): string {
  const words: string[] = []
  conns.forEach((c, k) => {
    if (k > 0 && conns[k - 1]!.t0 < spawnAt && c.t0 > spawnAt) words.push('(spawn)')
    const op = c.op !== '?' ? c.op : k === 0 ? 'run-manifest' : 'ping'
    words.push(c.err ? `${op} ✗ ${c.err}` : op)
  })
  const out: string[] = []
  for (let k = 0; k < words.length;) {
    let n = 1
    while (words[k + n] === words[k]) n++
    out.push(n > 1 ? `${n} × ${words[k]}` : words[k]!)
    k += n
  }
  return out.join(', ')
}

/** The segments of a run are consecutive intervals: they must add up to its total. */
function checkSum(what: string, segs: Segment[], total: number): void {
  const sum = segs.reduce((a, x) => a + x.ms, 0)
  const neg = segs.filter((x) => x.ms < -0.05)
  if (Math.abs(sum - total) > 0.05 || neg.length) throw new Error(`${what}: segments add up to ${sum.toFixed(3)} ms, total ${total.toFixed(3)} ms${neg.length ? `; negative: ${neg.map((x) => `${x.what} ${x.ms.toFixed(3)}`).join('; ')}` : ''}`)
}

/** The CLI's own start, up to the read of the manifest (bin/podnet.js → bundle → commander → the action). */
function cliSegments(L: TraceLine, spawnAt: number): Segment[] {
  const m = L.marks
  const segs: Segment[] = [
    { what: 'process start: fork, exec of the shebang (`/usr/bin/env`) and of node', ms: L.origin - spawnAt },
    { what: 'node bootstrap (V8, built-ins; the shebang removes NODE_EXTRA_CA_CERTS)', ms: m.hook! - L.origin },
  ]
  const b0 = m.cacheRead ?? m.bundleRead
  if (b0 !== undefined && m.compiled !== undefined) {
    segs.push(
      { what: 'bin/podnet.js: load it (an ES module), check that the bundle is fresh', ms: b0 - m.hook! },
      { what: 'read the bundle (dist/cli/podnet.cjs) and its V8 code cache, compile it from the cache', ms: m.compiled - b0 },
      { what: 'run the CLI from the bundle: main, commander, the commands, parse argv, until the action reads the manifest', ms: m.manifestRead! - m.compiled },
    )
  } else {
    segs.push({ what: 'CLI module load from the ES modules (no bundle used), until the action reads the manifest', ms: m.manifestRead! - m.hook! })
  }
  return segs
}

async function benchBreakdown(o: Options, w: World): Promise<BreakdownResult> {
  const traceFile = join(w.dir, 'trace.jsonl')
  const floors: BreakdownResult['floors'] = []
  const reps = o.quick ? 2 : 5
  const envNoCa = { ...w.env }
  delete envNoCa.NODE_EXTRA_CA_CERTS
  const floor = async (what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, inProcess: boolean): Promise<number[]> => {
    const xs: number[] = []
    const outs: number[][] = []
    for (let i = 0; i < reps; i++) {
      const r = await run(cmd, args, { env })
      if (r.status !== 0) throw new Error(`${what}: ${r.stderr.slice(-500)}`)
      if (inProcess) outs.push(JSON.parse(r.stdout.trim()) as number[])
      xs.push(inProcess ? outs.at(-1)![0]! : r.wallMs)
    }
    floors.push({ what, p50: median(xs), n: xs.length })
    return outs.length ? outs[0]!.map((_, k) => median(outs.map((x) => x[k]!))) : []
  }
  await floor('`node -e 0` (whole process), NODE_EXTRA_CA_CERTS as in this shell', process.execPath, ['-e', '0'], w.env, false)
  await floor('`node -e 0` (whole process), without NODE_EXTRA_CA_CERTS', process.execPath, ['-e', '0'], envNoCa, false)
  await floor('`podnet --version` (whole process: shebang, bin/podnet.js, the bundle, commander)', BIN, ['--version'], w.env, false)
  await floor('`podnet --version` from the ES modules (PODNET_NO_BUNDLE=1)', BIN, ['--version'], { ...w.env, PODNET_NO_BUNDLE: '1' }, false)
  // what bin/podnet.js does with the bundle, step by step, in a fresh process: with and without the code cache
  const { file: bundle, cache } = { file: join(ROOT, 'dist/cli/podnet.cjs'), cache: join(ROOT, 'dist/cli/podnet.v8cache') }
  if (existsSync(bundle)) {
    const steps = (useCache: boolean): string => `
      const { readFileSync } = require('node:fs'); const { Script } = require('node:vm'); const { createRequire } = require('node:module')
      const t0 = performance.now()
      const cachedData = ${useCache} ? readFileSync(${JSON.stringify(cache)}) : undefined
      const src = readFileSync(${JSON.stringify(bundle)}, 'latin1')
      const t1 = performance.now()
      const s = new Script(src, cachedData ? { filename: ${JSON.stringify(bundle)}, cachedData } : { filename: ${JSON.stringify(bundle)} })
      const t2 = performance.now()
      const req = s.runInThisContext()(createRequire(${JSON.stringify(join(ROOT, 'package.json'))}), (x) => import(x))
      req('src/cli/main.js')
      const t3 = performance.now()
      req('src/runtime/client.js'); req('src/runtime/state-store.js')
      const t4 = performance.now()
      process.stdout.write(JSON.stringify([t4 - t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3, s.cachedDataRejected ? 1 : 0]))`
    for (const useCache of [true, false]) {
      const tag = useCache ? 'with the code cache' : 'without the code cache'
      const parts = await floor(`bundle, ${tag}: read + compile + main.js + client.js/state-store.js (in a fresh process)`, process.execPath, ['-e', steps(useCache)], envNoCa, true)
      const names = ['read podnet.cjs (+ cache)', 'compile (new Script)', 'evaluate main.js (commander, the commands)', 'evaluate client.js + state-store.js']
      names.forEach((n, k) => floors.push({ what: `&nbsp;&nbsp;${tag}: ${n}`, p50: parts[k + 1]!, n: reps }))
      if (useCache && parts[5]) log('floor: V8 REJECTED the bundle\'s code cache in a fresh process')
    }
  }
  const imp = (what: string, spec: string): Promise<number[]> =>
    floor(`import of ${what} (ES modules, in a fresh process)`, process.execPath, ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(spec)}); process.stdout.write(JSON.stringify([performance.now() - t]))`], envNoCa, true)
  const url = (p: string): string => pathToFileURL(join(ROOT, p)).href
  await imp('dist/src/cli/main.js (CLI: commander + commands; the fallback without the bundle)', url('dist/src/cli/main.js'))
  await imp('dist/src/runtime/client.js (what `pod run -d` adds to it)', url('dist/src/runtime/client.js'))
  await imp('yaml (now loaded by the supervisor only)', pathToFileURL(join(ROOT, 'node_modules/yaml/dist/index.js')).href)
  await imp('dist/src/runtime/index.js (the supervisor\'s modules)', url('dist/src/runtime/index.js'))
  for (const f of floors) log(`floor: ${f.what}: ${fmtMs(f.p50)} ms`)

  // warm: the traced supervisor (src/runtime/supervisor-main.ts + wrappers), the CLI with the hook
  await waitSupervisorGone(w)
  rmSync(traceFile, { force: true })
  const supLog = openSync(join(w.dir, 'traced-supervisor.log'), 'a')
  const sup = spawn(process.execPath, ['--max-semi-space-size=1', join(HERE, 'traced-supervisor.js'), '--state-dir', w.stateDir], {
    detached: true, stdio: ['ignore', supLog, supLog], env: { ...w.env, BENCH_TRACE_FILE: traceFile },
  })
  closeSync(supLog)
  sup.unref()
  for (let i = 0; i < 500 && !(await pingSupervisor(w.stateDir)); i++) await sleep(20)
  if (!(await pingSupervisor(w.stateDir))) throw new Error(`the traced supervisor did not start: ${readFileSync(join(w.dir, 'traced-supervisor.log'), 'utf8').slice(-1000)}`)
  const warmRuns: Array<{ segs: Segment[]; total: number; spans: Span[] }> = []
  const warmConns: string[][] = []
  const cacheRejected: number[] = []
  for (let i = 0; i < o.breakdown; i++) {
    const name = `pb${i}`
    const file = manifestFile(w, name, 1)
    const before = readTrace(traceFile).length
    const r = await tracedCli(w, ['pod', 'run', '-d', '-f', file], traceFile)
    if (r.status !== 0) throw new Error(`traced pod run: ${r.stderr.slice(-1000)}`)
    await request(w.stateDir, { op: 'rm', name, gracePeriodSeconds: 0 })
    const lines = readTrace(traceFile).slice(before)
    const L = lines.find((x) => x.who === 'cli' && x.pid === r.pid)
    const S = lines.find((x) => x.who === 'supervisor' && x.spans?.[0]?.label === "supervisor: request 'run-manifest'")
    const conns = L?.conns ?? []
    const runC = conns.find((c) => c.op === 'run-manifest' && !c.err)
    if (!L || !S || !runC || runC.tc === undefined || L.marks.manifestRead === undefined) throw new Error(`incomplete trace for ${name}: ${JSON.stringify(lines).slice(0, 1000)}`)
    warmConns.push(conns.map(connTag))
    cacheRejected.push(L.marks.cacheRejected ?? -1)
    const first = conns[0]!
    const root = S.spans![0]!
    const childOfRoot = (re: RegExp): Span | undefined => S.spans!.find((s) => s.parent === 0 && re.test(s.label))
    const runIdx = S.spans!.findIndex((s) => s.parent === 0 && s.label === 'PodRuntime.run')
    const runSpan = runIdx >= 0 ? S.spans![runIdx]! : undefined
    const parse = childOfRoot(PARSE_LABEL)
    const dur = (s: Span | undefined): number => (s ? s.t1 - s.t0 : 0)
    const segs: Segment[] = [
      ...cliSegments(L, r.spawnAt),
      { what: 'read the manifest, load the supervisor client (client.js, state-store.js) from the bundle, until connect()', ms: first.t0 - L.marks.manifestRead },
      // none in the new flow; kept so that a ping coming back would show (and the sum stay whole)
      ...(first !== runC ? [{ what: 'connections before the request (a ping?)', ms: runC.t0 - first.t0 }] : []),
      { what: 'the run-manifest request: connect() until the CLI sees the socket connected (node:net\'s first socket in the process, then the next turn of the event loop)', ms: runC.tc! - runC.t0 },
      { what: 'the run-manifest request: send, the supervisor reads and decodes it, until it handles it', ms: root.t0 - runC.tc! },
      { what: 'supervisor: parse the manifest (yaml, then validateManifest)', ms: dur(parse) },
      { what: 'supervisor: request handling outside the parse and PodRuntime.run', ms: dur(root) - dur(parse) - dur(runSpan) },
    ]
    if (runSpan) {
      let kids = 0
      const byLabel = new Map<string, number>()
      S.spans!.forEach((s) => {
        if (s.parent !== runIdx) return
        byLabel.set(s.label, (byLabel.get(s.label) ?? 0) + s.t1 - s.t0)
        kids += s.t1 - s.t0
      })
      const cats = new Map<string, number>()
      for (const [label, ms] of byLabel) {
        const cat = RUN_CATEGORIES.find(([re]) => re.test(label))?.[1] ?? label
        cats.set(cat, (cats.get(cat) ?? 0) + ms)
      }
      for (const [, cat] of RUN_CATEGORIES) if (cats.has(cat)) segs.push({ what: `supervisor: ${cat}`, ms: cats.get(cat)! })
      for (const [cat, ms] of cats) if (!RUN_CATEGORIES.some(([, c]) => c === cat)) segs.push({ what: `supervisor: ${cat}`, ms })
      segs.push({ what: 'supervisor: PodRuntime.run own code (validation, undo stack, records, glue between the calls above)', ms: dur(runSpan) - kids })
    }
    segs.push(
      { what: 'run-manifest response: serialize, send, the CLI reads it', ms: runC.t1 - root.t1 },
      { what: 'CLI prints the result and exits', ms: L.marks.exit! - runC.t1 },
      { what: 'process teardown until the bench sees the exit', ms: r.closeAt - L.marks.exit! },
    )
    checkSum(`warm run ${i}`, segs, r.closeAt - r.spawnAt)
    warmRuns.push({ segs, total: r.closeAt - r.spawnAt, spans: S.spans! })
    log(`breakdown warm ${i + 1}/${o.breakdown}: ${fmtMs(r.closeAt - r.spawnAt)} ms; connections ${warmConns.at(-1)!.join(', ')}; code cache ${({ 0: 'taken', 1: 'REJECTED', [-1]: 'no bundle' } as Record<number, string>)[cacheRejected.at(-1)!]}`)
  }
  // cold: no supervisor; the CLI's request fails to connect, it starts a normal supervisor
  // (ensureSupervisor), which the hook (inherited through NODE_OPTIONS) marks, and sends it again
  const coldRuns: Array<{ segs: Segment[]; total: number }> = []
  const coldConns: string[][] = []
  const coldN = o.quick ? 1 : 3
  for (let i = 0; i < coldN; i++) {
    await waitSupervisorGone(w)
    const name = `pbc${i}`
    const file = manifestFile(w, name, 1)
    const before = readTrace(traceFile).length
    const r = await tracedCli(w, ['pod', 'run', '-d', '-f', file], traceFile)
    if (r.status !== 0) throw new Error(`traced cold pod run: ${r.stderr.slice(-1000)}`)
    await request(w.stateDir, { op: 'rm', name, gracePeriodSeconds: 0 })
    const lines = readTrace(traceFile).slice(before)
    const L = lines.find((x) => x.who === 'cli' && x.pid === r.pid)
    const M = lines.find((x) => x.who === 'supervisor-start')
    const conns = L?.conns ?? []
    const spawnAt = L?.marks.spawnSupervisor
    const failed = conns[0]
    // after the spawn: ensureSupervisor's pings, answered ('ping') or not yet ('?' with the error)
    const pings = spawnAt === undefined ? [] : conns.filter((c) => c.t0 > spawnAt && (c.op === 'ping' || (c.op === '?' && c.err !== undefined)))
    const okPing = pings.filter((c) => !c.err).at(-1)
    const runC = conns.find((c) => c.op === 'run-manifest' && !c.err)
    if (!L || !M || !failed || !failed.err || !okPing || !runC || spawnAt === undefined || L.marks.manifestRead === undefined) throw new Error(`incomplete cold trace: ${JSON.stringify(lines).slice(0, 1000)}`)
    coldConns.push([coldConnWords(conns, spawnAt)])
    const segs: Segment[] = [
      ...cliSegments(L, r.spawnAt),
      { what: 'read the manifest, load the supervisor client (client.js, state-store.js) from the bundle, until connect()', ms: failed.t0 - L.marks.manifestRead },
      { what: 'the run-manifest request: connect() fails (no supervisor: the error code is listed above; node:net\'s first socket, the error arrives on the next turn of the event loop)', ms: failed.t1 - failed.t0 },
      { what: 'ensureSupervisor: its ping fails too; state dir, log file, until spawn()', ms: spawnAt - failed.t1 },
      { what: 'supervisor: fork + exec of node (child_process.spawn until node starts)', ms: M.origin - spawnAt },
      { what: 'supervisor: node bootstrap', ms: M.marks.hook! - M.origin },
      { what: 'supervisor: module load (runtime, koffi, netlink, nf_tables, bridge, yaml) and Supervisor.start (lock, adopt) until listen()', ms: M.marks.listen! - M.marks.hook! },
      { what: 'supervisor: listen() until listening', ms: M.marks.listening! - M.marks.listen! },
      // one label for every run (the rows are aggregated by label): the pings per run are in coldConns
      { what: 'ensureSupervisor: its next ping that is answered (it polls every 20 ms: the pings are listed above)', ms: okPing.t1 - M.marks.listening! },
      { what: 'between that ping and the request sent again', ms: runC.t0 - okPing.t1 },
      { what: 'the run-manifest request again: round trip (the new supervisor\'s first: parse + first pod; the warm tree shows the parts)', ms: runC.t1 - runC.t0 },
      { what: 'CLI prints the result and exits', ms: L.marks.exit! - runC.t1 },
      { what: 'process teardown until the bench sees the exit', ms: r.closeAt - L.marks.exit! },
    ]
    checkSum(`cold run ${i}`, segs, r.closeAt - r.spawnAt)
    coldRuns.push({ segs, total: r.closeAt - r.spawnAt })
    log(`breakdown cold ${i + 1}/${coldN}: ${fmtMs(r.closeAt - r.spawnAt)} ms; connections ${coldConns.at(-1)![0]}`)
  }
  // back to a normal supervisor for what follows
  await waitSupervisorGone(w)
  await mustCli(w, ['pod', 'supervisor', 'start'])

  const agg = (runs: Array<{ segs: Segment[] }>): Array<{ what: string; p50: number; mean: number }> => {
    const order: string[] = []
    const by = new Map<string, number[]>()
    for (const r of runs) {
      for (const s of r.segs) {
        if (!by.has(s.what)) { by.set(s.what, []); order.push(s.what) }
      }
    }
    for (const r of runs) for (const k of order) by.get(k)!.push(r.segs.filter((s) => s.what === k).reduce((a, s) => a + s.ms, 0))
    return order.map((what) => ({ what, p50: median(by.get(what)!), mean: by.get(what)!.reduce((a, b) => a + b, 0) / runs.length }))
  }
  const tot = (xs: number[]): { p50: number; mean: number; n: number } => ({ p50: median(xs), mean: xs.reduce((a, b) => a + b, 0) / (xs.length || 1), n: xs.length })
  // span tree: median per path over the warm runs (a path missing from a run counts 0)
  const trees = warmRuns.map((r) => spanTree(r.spans))
  const keys: string[] = []
  const firstT0 = new Map<string, number>()
  warmRuns.forEach((r, ri) => {
    const base = r.spans[0]?.t0 ?? 0
    trees[ri]!.forEach((row) => {
      const k = row.path.join('\u0000')
      if (!firstT0.has(k)) keys.push(k)
      const idx = r.spans.findIndex((s, si) => {
        const p: string[] = []
        for (let cur: Span | undefined = r.spans[si]; cur; cur = cur.parent >= 0 ? r.spans[cur.parent] : undefined) p.unshift(cur.label)
        return p.join('\u0000') === k && s
      })
      const t = idx >= 0 ? r.spans[idx]!.t0 - base : Infinity
      firstT0.set(k, Math.min(firstT0.get(k) ?? Infinity, t))
    })
  })
  // depth-first order: children after their parent, siblings by first start
  const sortedKeys = [...keys].sort((a, b) => {
    const pa = a.split('\u0000')
    const pb = b.split('\u0000')
    for (let d = 0; d < Math.min(pa.length, pb.length); d++) {
      if (pa[d] === pb[d]) continue
      const ka = pa.slice(0, d + 1).join('\u0000')
      const kb = pb.slice(0, d + 1).join('\u0000')
      return (firstT0.get(ka) ?? 0) - (firstT0.get(kb) ?? 0)
    }
    return pa.length - pb.length
  })
  const tree = sortedKeys.map((k) => {
    const rows = trees.map((t) => t.find((r) => r.path.join('\u0000') === k))
    return {
      path: k.split('\u0000'),
      incl: median(rows.map((r) => r?.inclMs ?? 0)),
      self: median(rows.map((r) => r?.selfMs ?? 0)),
      calls: median(rows.map((r) => r?.calls ?? 0)),
    }
  })
  return { warm: agg(warmRuns), warmTotal: tot(warmRuns.map((r) => r.total)), warmConns, cacheRejected, tree, cold: agg(coldRuns), coldTotal: tot(coldRuns.map((r) => r.total)), coldConns, floors }
}

// ------------------------------------------------------------------------------------------------
// density

interface Mem { rssKb: number; pssKb: number }

function smapsRollup(pid: number): Mem {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN)
  return { rssKb: kb('Rss'), pssKb: kb('Pss') }
}

interface Group { what: string; processes: number; rssKb: number; pssKb: number }

const group = (what: string, pids: number[]): Group => {
  const ms = pids.map(smapsRollup)
  return { what, processes: pids.length, rssKb: ms.reduce((a, m) => a + m.rssKb, 0), pssKb: ms.reduce((a, m) => a + m.pssKb, 0) }
}

interface DensityResult {
  podnet?: { pods: number; containersPerPod: number; startS: number; supervisorIdle: Mem; supervisorPid: number; launcherExes: Array<{ path: string; processes: number; bytes: number }>; groups: Group[] }
  podman?: { pods: number; containersPerPod: number; startS: number; groups: Group[] }
}

async function benchDensity(o: Options, w: World): Promise<DensityResult> {
  const res: DensityResult = {}
  // podnet: a fresh supervisor, started by the CLI as a user would
  await waitSupervisorGone(w)
  await mustCli(w, ['pod', 'supervisor', 'start'])
  const ping = await pingSupervisor(w.stateDir)
  if (!ping) throw new Error('no supervisor')
  await sleep(1000)
  const supervisorIdle = smapsRollup(ping.pid)
  log(`density: podnet supervisor idle: RSS ${(supervisorIdle.rssKb / 1024).toFixed(1)} MB, PSS ${(supervisorIdle.pssKb / 1024).toFixed(1)} MB`)
  const names: string[] = []
  const recs: PodRecord[] = []
  const t = nowMs()
  try {
    for (let i = 0; i < o.pods; i++) {
      const name = `pd${i}`
      // the request the CLI sends (`pod run -d`): the supervisor parses the manifest
      const r = await request<RunManifestResult>(w.stateDir, { op: 'run-manifest', text: manifestText(w, name, 2), baseDir: w.dir })
      recs.push(r.record)
      names.push(name)
      if ((i + 1) % 25 === 0) log(`density: ${i + 1} podnet pods`)
    }
    const startS = (nowMs() - t) / 1000
    await sleep(2000)
    const pauses = recs.map((r) => r.sandbox.pause!.pid)
    const launchers = recs.flatMap((r) => r.containers.map((c) => (c.state.status === 'running' ? c.state.launcher.pid : -1)))
    const workloads = recs.flatMap((r) => r.containers.map((c) => (c.state.status === 'running' ? c.state.pid : -1)))
    if (launchers.includes(-1)) throw new Error('a podnet container is not running')
    // which binary the monitors run (the launcher is built with musl-gcc when musl-tools is installed)
    const exes = new Map<string, number>()
    for (const p of launchers) {
      const exe = readlinkSync(`/proc/${p}/exe`)
      exes.set(exe, (exes.get(exe) ?? 0) + 1)
    }
    const launcherExes = [...exes].map(([path, processes]) => ({ path, processes, bytes: existsSync(path) ? statSync(path).size : -1 }))
    log(`density: monitors run ${launcherExes.map((e) => `${e.path} (${e.bytes} bytes, ${e.processes} processes)`).join(', ')}`)
    res.podnet = {
      pods: o.pods, containersPerPod: 2, startS, supervisorIdle, supervisorPid: ping.pid, launcherExes,
      groups: [group('supervisor (one for all pods)', [ping.pid]), group('pause (catatonit -P)', pauses), group('launcher monitor (podnet-launch)', launchers), group('workload (busybox sleep; excluded)', workloads)],
    }
    log(`density: podnet ${o.pods} pods measured (${startS.toFixed(1)} s to start them)`)
  } finally {
    for (const n of names) await request(w.stateDir, { op: 'rm', name: n, gracePeriodSeconds: 0 }).catch((e: unknown) => log(`rm ${n}: ${String(e)}`))
  }
  // podman
  const pm = w.podman
  if (pm) {
    const pnames: string[] = []
    const t1 = nowMs()
    try {
      for (let i = 0; i < o.podmanPods; i++) {
        const name = `pmd${i}`
        pnames.push(name)
        await pm.startPod(name, w.rootfs, 2)
        if ((i + 1) % 10 === 0) log(`density: ${i + 1} podman pods`)
      }
      const startS = (nowMs() - t1) / 1000
      await sleep(2000)
      const cs = await pm.inspect(await pm.allContainerIds())
      const infra = cs.filter((c) => c.infra)
      if (infra.length !== o.podmanPods || cs.length !== 3 * o.podmanPods) throw new Error(`podman: ${infra.length} infra containers, ${cs.length} containers for ${o.podmanPods} pods`)
      res.podman = {
        pods: o.podmanPods, containersPerPod: 2, startS,
        groups: [
          group('infra: catatonit -P (pause image)', infra.map((c) => c.pid)),
          group('conmon (one per container, infra included)', cs.map((c) => c.conmonPid)),
          group('workload (busybox sleep; excluded)', cs.filter((c) => !c.infra).map((c) => c.pid)),
        ],
      }
      log(`density: podman ${o.podmanPods} pods measured (${startS.toFixed(1)} s to start them)`)
    } finally {
      await pm.removePods(pnames)
    }
  }
  return res
}

// ------------------------------------------------------------------------------------------------
// report

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

const mb = (kb: number): string => (kb / 1024).toFixed(2)

interface Target { what: string; target: string; measured: string; pass: boolean }

function report(o: Options, env: Record<string, unknown>, start: StartResult | undefined, bd: BreakdownResult | undefined, dens: DensityResult | undefined, podmanInfo: PodmanInfo | undefined): { md: string; targets: Target[] } {
  const out: string[] = []
  const targets: Target[] = []
  out.push(`${env.date}, commit ${env.commit}, ${Math.round(env.durationS as number)} s. Machine: ${env.cpus} CPU, kernel ${env.kernel}, node ${env.node}. Load before: ${env.loadBefore}; after: ${env.loadAfter}.`)
  out.push(`podnet CLI: \`${env.shebang}\` (bin/podnet.js executed directly); NODE_EXTRA_CA_CERTS ${env.extraCaCerts ? `set (${env.extraCaCerts})` : 'not set'} in the bench's environment.`)
  const cb = env.cliBuild as CliBuild
  out.push(`CLI build: ${cb.bundle ? `the single-file bundle dist/cli/podnet.cjs (${Math.round(cb.bundleBytes / 1024)} kB) with its V8 code cache (${Math.round(cb.cacheBytes / 1024)} kB; ${cb.cacheRejected ? 'REJECTED by V8 in the bench process' : 'accepted by V8'})` : `**the ES modules: the bundle is missing or older than dist/src/cli/main.js** (${cb.note})`}. Run dir: ${env.runDir} (${env.runDirFs}). Launcher: ${(env.launcher as { path: string }).path} (${(env.launcher as { bytes: number }).bytes} bytes${(env.launcher as { musl: boolean }).musl ? ', musl-gcc present' : ', gcc + glibc'}).`)
  if (podmanInfo) out.push(`podman ${podmanInfo.version}, ${podmanInfo.ociRuntime}, conmon, network backend ${podmanInfo.networkBackend} (${podmanInfo.iptables}), cgroup manager ${podmanInfo.cgroupManager}, vfs storage in a temp dir.`)
  out.push('')
  if (start) {
    const rows: string[][] = []
    const of = (tool: StartSample['tool']): StartSample[] => start.samples.filter((s) => s.tool === tool)
    const warm = of('podnet')
    const warmP50 = percentile(warm.map((s) => s.readyMs), 50)
    const row = (label: string, xs: StartSample[], f: (s: StartSample) => number = (s) => s.readyMs): void => {
      if (!xs.length) return
      const v = xs.map(f)
      const notReady = xs.filter((s) => !s.atReturn).length
      rows.push([label, String(v.length), fmtMs(percentile(v, 50)), fmtMs(percentile(v, 95)), `${fmtMs(Math.min(...v))}–${fmtMs(Math.max(...v))}`, `${notReady}`, fmtX(percentile(v, 50) / warmP50)])
    }
    row('podnet `pod run -d -f FILE`, warm supervisor', warm)
    row('podnet, same, NODE_EXTRA_CA_CERTS removed (what the new shebang gives)', of('podnet-noca'))
    row('podnet, cold: no supervisor yet (the command starts it)', of('podnet-cold'))
    row('what-if, not the CLI: a bare node client (node built-ins only: read the file, the same run-manifest request; bench/pods/lean-client.ts), warm supervisor', of('podnet-lean'))
    row('what-if, not the CLI: a static C client (the same request; bench/pods/native-client.c), warm supervisor', of('podnet-native'))
    const pm = of('podman')
    row('podman `pod create` + `run -d --pod --rootfs`', pm)
    row('  podman `pod create` alone', pm, (s) => s.parts!.createMs)
    row('  podman `run -d --pod --rootfs` alone', pm, (s) => s.parts!.runMs)
    out.push('### Pod start: one busybox container on a network, from the command until it runs with eth0 addressed', '')
    out.push('Ready = the command has returned, the container\'s process has exec\'d (`/proc/PID/comm` is `sleep`) and eth0 in its network namespace has its IPv4 address (checked from outside right after the return; "not ready at return" counts the samples where it had to be polled, and then the time until ready counts).', '')
    out.push(table(['what', 'n', 'p50 ms', 'p95 ms', 'min–max', 'not ready at return', '× podnet warm p50'], rows), '')
    const cliSamples = start.samples.filter((s) => s.bundle !== undefined)
    const stale = cliSamples.filter((s) => !s.bundle).length
    out.push(`The CLI ran from the bundle in ${cliSamples.length - stale} of ${cliSamples.length} podnet samples${stale ? ` (**${stale} from the ES modules: the bundle was stale then**)` : ''}.`, '')
    if (start.podmanFirst) out.push(`podman's first pod in its fresh storage (not a sample): pod create ${fmtMs(start.podmanFirst.createMs)} ms (it builds its catatonit pause image), run -d ${fmtMs(start.podmanFirst.runMs)} ms.`, '')
    if (pm.length && warm.length) {
      const pp = percentile(pm.map((s) => s.readyMs), 50)
      const ratio = pp / warmP50
      targets.push({ what: 'pod start p50: podman / podnet (warm supervisor)', target: '≥ 5×', measured: `${fmtMs(pp)} / ${fmtMs(warmP50)} ms = ${fmtX(ratio)}`, pass: ratio >= 5 })
      const noca = of('podnet-noca')
      if (noca.length) {
        const np = percentile(noca.map((s) => s.readyMs), 50)
        targets.push({ what: 'pod start p50: podman / podnet without NODE_EXTRA_CA_CERTS', target: '≥ 5×', measured: `${fmtMs(pp)} / ${fmtMs(np)} ms = ${fmtX(pp / np)}`, pass: pp / np >= 5 })
      }
      const lean = of('podnet-lean')
      if (lean.length) {
        const lp = percentile(lean.map((s) => s.readyMs), 50)
        targets.push({ what: 'pod start p50: podman / the bare-client what-if (for reference)', target: '–', measured: `${fmtMs(pp)} / ${fmtMs(lp)} ms = ${fmtX(pp / lp)}`, pass: pp / lp >= 5 })
      }
      const nat = of('podnet-native')
      if (nat.length) {
        const xp = percentile(nat.map((s) => s.readyMs), 50)
        targets.push({ what: 'pod start p50: podman / the static C client what-if (for reference)', target: '–', measured: `${fmtMs(pp)} / ${fmtMs(xp)} ms = ${fmtX(pp / xp)}`, pass: pp / xp >= 5 })
      }
      const cold = of('podnet-cold')
      if (cold.length) {
        const cp = percentile(cold.map((s) => s.readyMs), 50)
        targets.push({ what: 'pod start p50: podman / podnet cold (for reference)', target: '–', measured: `${fmtMs(pp)} / ${fmtMs(cp)} ms = ${fmtX(pp / cp)}`, pass: pp / cp >= 5 })
      }
    }
  }
  if (bd) {
    out.push(`### Where podnet's pod start goes (warm supervisor; median of ${bd.warmTotal.n} traced runs)`, '')
    out.push(`Total of the traced runs: p50 ${fmtMs(bd.warmTotal.p50)} ms, mean ${fmtMs(bd.warmTotal.mean)} ms (the CLI preloads a small marking hook, and the supervisor has wrappers around the calls below: both add a little). Each segment is the median over the runs; the means add up to the mean total.`, '')
    const connSets = [...new Set(bd.warmConns.map((c) => c.join(', ')))]
    const rejected = bd.cacheRejected.filter((x) => x === 1).length
    const noBundle = bd.cacheRejected.filter((x) => x === -1).length
    out.push(`Connections the CLI made to the supervisor, per run: ${connSets.map((c) => `[${c}]`).join(' or ')}. The bundle's code cache: taken by V8 in ${bd.cacheRejected.length - rejected - noBundle} of ${bd.cacheRejected.length} runs${rejected ? `, rejected in ${rejected}` : ''}${noBundle ? `, no bundle in ${noBundle}` : ''}.`, '')
    out.push(table(['segment', 'p50 ms', 'mean ms'], [...bd.warm.map((s) => [s.what, fmtMs(s.p50), fmtMs(s.mean)]), ['total', fmtMs(bd.warmTotal.p50), fmtMs(bd.warmTotal.mean)]]), '')
    out.push('The supervisor\'s side of the run-manifest request (span tree, median ms over the runs; "self" excludes the wrapped calls below a row; rows under 0.1 ms left out):', '')
    out.push(table(['span', 'calls', 'inclusive ms', 'self ms'], bd.tree.filter((r) => r.incl >= 0.1).map((r) => [`${'&nbsp;&nbsp;'.repeat(r.path.length - 1)}${r.path.at(-1)}`, String(r.calls), fmtMs(r.incl), fmtMs(r.self)])), '')
    if (bd.cold.length) {
      out.push(`Cold start (no supervisor; median of ${bd.coldTotal.n}). The CLI's connections, per run (✗: connect() failed): ${bd.coldConns.map((c) => `[${c[0]}]`).join('; ')}.`, '')
      out.push(table(['segment', 'p50 ms', 'mean ms'], [...bd.cold.map((s) => [s.what, fmtMs(s.p50), fmtMs(s.mean)]), ['total', fmtMs(bd.coldTotal.p50), fmtMs(bd.coldTotal.mean)]]), '')
    }
    out.push('Fresh node processes (median; the bundle steps are performance.now() inside the process):', '')
    out.push(table(['what', 'n', 'ms'], bd.floors.map((f) => [f.what, String(f.n), fmtMs(f.p50)])), '')
  }
  if (dens) {
    out.push('### Density: pods of two busybox `sleep` containers, memory of what the runtime runs for them (smaps_rollup)', '')
    const rows: string[][] = []
    const pn = dens.podnet
    if (pn) {
      const g = (w: string): Group => pn.groups.find((x) => x.what.startsWith(w))!
      const sup = g('supervisor')
      const pause = g('pause')
      const lau = g('launcher')
      const wl = g('workload')
      const n = pn.pods
      rows.push([`podnet (${n} pods)`, 'supervisor: total / pods', `1 (${mb(sup.rssKb)} MB RSS, ${mb(sup.pssKb)} MB PSS; idle before the pods ${mb(pn.supervisorIdle.rssKb)} / ${mb(pn.supervisorIdle.pssKb)})`, mb(sup.rssKb / n), mb(sup.pssKb / n)])
      rows.push(['', '  (the supervisor\'s growth only: (with pods − idle) / pods)', '', mb((sup.rssKb - pn.supervisorIdle.rssKb) / n), mb((sup.pssKb - pn.supervisorIdle.pssKb) / n)])
      rows.push(['', 'pause (catatonit -P)', `${pause.processes}`, mb(pause.rssKb / n), mb(pause.pssKb / n)])
      const exeNote = pn.launcherExes.map((e) => `a ${(e.bytes / 1024).toFixed(0)} KiB static binary`).join(', ')
      rows.push(['', `launcher monitors (podnet-launch, one per container; ${exeNote})`, `${lau.processes}`, mb(lau.rssKb / n), mb(lau.pssKb / n)])
      const without = { rss: (sup.rssKb + pause.rssKb) / n, pss: (sup.pssKb + pause.pssKb) / n }
      const withL = { rss: without.rss + lau.rssKb / n, pss: without.pss + lau.pssKb / n }
      rows.push(['', '**per pod, without the launcher monitors** (pause + supervisor share)', '', `**${mb(without.rss)}**`, `**${mb(without.pss)}**`])
      rows.push(['', '**per pod, with the launcher monitors**', '', `**${mb(withL.rss)}**`, `**${mb(withL.pss)}**`])
      rows.push(['', 'workloads (excluded, for reference)', `${wl.processes}`, mb(wl.rssKb / n), mb(wl.pssKb / n)])
      targets.push({ what: `density: podnet RSS per pod, pause + supervisor share (${n} pods)`, target: '≤ 2 MB', measured: `${mb(without.rss)} MB (PSS ${mb(without.pss)} MB)`, pass: without.rss <= 2048 })
      targets.push({ what: `density: podnet RSS per pod with the launcher monitors (${n} pods)`, target: '≤ 2 MB', measured: `${mb(withL.rss)} MB (PSS ${mb(withL.pss)} MB)`, pass: withL.rss <= 2048 })
    }
    const pm = dens.podman
    if (pm) {
      const g = (w: string): Group => pm.groups.find((x) => x.what.startsWith(w))!
      const infra = g('infra')
      const con = g('conmon')
      const wl = g('workload')
      const n = pm.pods
      rows.push([`podman (${n} pods)`, 'infra: catatonit -P', `${infra.processes}`, mb(infra.rssKb / n), mb(infra.pssKb / n)])
      rows.push(['', 'conmon (infra + 2 containers)', `${con.processes}`, mb(con.rssKb / n), mb(con.pssKb / n)])
      rows.push(['', '**per pod** (no daemon to share)', '', `**${mb((infra.rssKb + con.rssKb) / n)}**`, `**${mb((infra.pssKb + con.pssKb) / n)}**`])
      rows.push(['', 'workloads (excluded, for reference)', `${wl.processes}`, mb(wl.rssKb / n), mb(wl.pssKb / n)])
      if (pn) {
        const pnRss = (pn.groups[0]!.rssKb + pn.groups[1]!.rssKb) / pn.pods
        const pnRssL = pnRss + pn.groups[2]!.rssKb / pn.pods
        targets.push({ what: 'density: podman RSS per pod / podnet (without / with monitors)', target: '–', measured: `${fmtX(((infra.rssKb + con.rssKb) / n) / pnRss)} / ${fmtX(((infra.rssKb + con.rssKb) / n) / pnRssL)}`, pass: true })
      }
    }
    out.push(table(['runtime', 'what', 'processes', 'RSS MB per pod', 'PSS MB per pod'], rows), '')
    out.push('RSS counts every page a process maps, shared ones (the node binary, libc, a static binary\'s text) in full in each process; PSS divides each shared page among the processes that map it, so it falls as pods are added. The supervisor\'s share is its whole RSS divided by the pods it serves.', '')
  }
  if (targets.length) {
    out.push('### Targets', '')
    out.push(table(['target', 'need', 'measured', 'result'], targets.map((t) => [t.what, t.target, t.measured, t.target === '–' ? 'for reference' : t.pass ? 'PASS' : 'MISS'])), '')
  }
  return { md: out.join('\n'), targets }
}

// ------------------------------------------------------------------------------------------------

const uptime = async (): Promise<string> => {
  const l = await machineLoad(1000)
  return `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, CPU busy ${l.busyPct.toFixed(0)}% over 1 s`
}

let cleanupOnce: Promise<string[]> | undefined

function cleanup(w: World): Promise<string[]> {
  cleanupOnce ??= (async () => {
    const problems: string[] = []
    try {
      if (await pingSupervisor(w.stateDir)) {
        const pods = w.store.names()
        for (const p of pods) await request(w.stateDir, { op: 'rm', name: p, gracePeriodSeconds: 0 }).catch((e: unknown) => problems.push(`pod rm ${p}: ${String(e)}`))
      }
      await cli(w, ['network', 'rm', NETWORK])
      await stopSupervisor(w.stateDir).catch((e: unknown) => problems.push(`supervisor stop: ${String(e)}`))
    } catch (err) {
      problems.push(`podnet cleanup: ${String(err)}`)
    }
    const left = removeCgroupTree(w.cgroupParent)
    if (left.length) problems.push(`podnet cgroups left: ${left.join(', ')}`)
    if (w.podman) problems.push(...(await w.podman.cleanup()))
    rmSync(w.dir, { recursive: true, force: true })
    return problems
  })()
  return cleanupOnce
}

interface CliBuild { bundle: boolean; bundleBytes: number; cacheBytes: number; cacheRejected: boolean; note: string }

/** Which build bin/podnet.js will run (its own rule: the bundle when at least as new as the modules), and whether V8 takes the code cache. */
function cliBuild(): CliBuild {
  const file = join(ROOT, 'dist/cli/podnet.cjs')
  const cache = join(ROOT, 'dist/cli/podnet.v8cache')
  const b: CliBuild = { bundle: false, bundleBytes: 0, cacheBytes: 0, cacheRejected: true, note: '' }
  if (process.env.PODNET_NO_BUNDLE === '1') return { ...b, note: 'PODNET_NO_BUNDLE=1' }
  try {
    if (statSync(file).mtimeMs < statSync(join(ROOT, 'dist/src/cli/main.js')).mtimeMs) return { ...b, note: 'stale: run node scripts/build-cli-bundle.mjs after tsc' }
  } catch {
    return { ...b, note: 'missing' }
  }
  const source = readFileSync(file, 'latin1')
  let cachedData: Buffer | undefined
  try { cachedData = readFileSync(cache) } catch { /* none */ }
  const script = new Script(source, cachedData ? { filename: file, cachedData } : { filename: file })
  return { bundle: true, bundleBytes: source.length, cacheBytes: cachedData?.length ?? 0, cacheRejected: cachedData === undefined || script.cachedDataRejected === true, note: '' }
}

/** The file system type under a path (the run dir must be tmpfs, as /run is in production). */
function fsType(path: string): string {
  const t = statfsSync(path).type
  return t === 0x01021994 ? 'tmpfs' : `not tmpfs: f_type 0x${t.toString(16)}`
}

async function main(): Promise<void> {
  assertSandboxed()
  const o = parseArgs(process.argv.slice(2))
  mkdirSync(o.out, { recursive: true })
  const { stateDir, runDir } = benchDirs('bench/pods/run.sh')
  const runDirFs = fsType(runDir)
  if (runDirFs !== 'tmpfs') log(`WARNING: the run dir ${runDir} is ${runDirFs}`)
  const hex = randomBytes(3).toString('hex')
  const dir = mkdtempSync('/tmp/podnet-bench-pods-')
  const w: World = {
    dir, rootfs: buildRootfs(dir), nativeClient: buildNativeClient(dir), stateDir, runDir, store: new PodStore({ stateDir, runDir }), cgroupParent: `podnet-bench-${hex}`,
    env: { ...process.env, PODNET_CGROUP_PARENT: `podnet-bench-${hex}`, PODNET_SUPERVISOR_IDLE_MS: '600000' },
  }
  const onSignal = (sig: string): void => {
    log(`${sig}: cleaning up`)
    void cleanup(w).finally(() => process.exit(130))
  }
  process.once('SIGINT', () => onSignal('SIGINT'))
  process.once('SIGTERM', () => onSignal('SIGTERM'))
  // an error outside every try (a stream error event) must not leave pods, cgroups or hugetlb behind
  process.once('uncaughtException', (err) => {
    log(`uncaught: ${err.stack ?? err.message}; cleaning up`)
    void cleanup(w).then((p) => { for (const x of p) log(`cleanup: ${x}`) }).finally(() => process.exit(1))
  })
  const loadBefore = await uptime()
  log(`start: ${loadBefore}`)
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0] ?? ''
  const build = cliBuild()
  log(`CLI build: ${build.bundle ? `bundle (${build.bundleBytes} bytes), code cache ${build.cacheBytes} bytes ${build.cacheRejected ? 'REJECTED' : 'accepted'}` : `ES modules (${build.note})`}; run dir ${runDir} (${runDirFs})`)
  let launcher = { path: '', bytes: 0, musl: existsSync('/usr/bin/musl-gcc') }
  let start: StartResult | undefined
  let bd: BreakdownResult | undefined
  let dens: DensityResult | undefined
  const failed: string[] = []
  let problems: string[] = []
  try {
    const lp = ensureLauncher(join(stateDir, 'bin')) // compiled before anything is timed (cached by source hash)
    launcher = { ...launcher, path: lp, bytes: statSync(lp).size }
    log(`launcher: ${lp}, ${launcher.bytes} bytes${launcher.musl ? ' (musl-gcc is installed)' : ' (no musl-gcc: gcc + glibc)'}`)
    await mustCli(w, ['network', 'create', NETWORK, '--subnet', SUBNET])
    if (o.only.has('start') || o.only.has('density')) {
      try {
        w.podman = await Podman.setup(`podnet-bench-podman-${hex}`)
        log(`podman: ${JSON.stringify(w.podman.info)}${w.podman.notes.length ? `; ${w.podman.notes.join('; ')}` : ''}`)
      } catch (err) {
        failed.push(`podman setup: ${String(err).slice(0, 500)}`)
        log(`podman setup FAILED, podnet only: ${String(err)}`)
      }
    }
    const phase = async (name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn()
      } catch (err) {
        failed.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
        log(`${name} FAILED: ${err instanceof Error ? err.stack : String(err)}`)
      }
    }
    if (o.only.has('start')) await phase('start', async () => { start = await benchStart(o, w) })
    if (o.only.has('breakdown')) await phase('breakdown', async () => { bd = await benchBreakdown(o, w) })
    if (o.only.has('density')) await phase('density', async () => { dens = await benchDensity(o, w) })
  } finally {
    problems = await cleanup(w)
    for (const p of problems) log(`cleanup: ${p}`)
  }
  const loadAfter = await uptime()
  log(`end: ${loadAfter}`)
  const head = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])
  // the bench's own earlier results (bench/results/) do not make the measured tree dirty
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results'])
  const commit = head.status === 0 ? `${head.stdout.trim()}${dirty.stdout.trim() ? ' + uncommitted changes' : ''}` : 'unknown'
  const env = {
    date: new Date().toISOString(), commit, cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), node: process.version,
    loadBefore, loadAfter, shebang, extraCaCerts: process.env.NODE_EXTRA_CA_CERTS, durationS: (nowMs() - T0) / 1000,
    cliBuild: build, runDir, runDirFs, launcher,
  }
  const { md, targets } = report(o, env, start, bd, dens, w.podman?.info)
  const full = [md, ...(failed.length ? ['### Failed phases', '', ...failed.map((f) => `- ${f}`), ''] : []), ...(problems.length ? ['### Cleanup problems', '', ...problems.map((p) => `- ${p}`), ''] : [])].join('\n')
  process.stdout.write(`\n${full}\n`)
  const round = (x: number): number => Math.round(x * 1000) / 1000
  const json = {
    bench: 'pods (issue 4)',
    ...env,
    options: { ...o, only: [...o.only] },
    podman: w.podman?.info,
    targets,
    start: start && { podmanFirst: start.podmanFirst, samples: start.samples.map((s) => ({ ...s, cmdMs: round(s.cmdMs), readyMs: round(s.readyMs) })) },
    breakdown: bd,
    density: dens,
    failed,
    cleanupProblems: problems,
  }
  writeFileSync(join(o.out, 'pods.json'), `${JSON.stringify(json, null, 1)}\n`)
  writeFileSync(join(o.out, 'pods.md'), `# Pod bench (issue 4)\n\n${full}`)
  log(`wrote ${join(o.out, 'pods.json')} and pods.md (${((nowMs() - T0) / 1000).toFixed(0)} s)`)
}

main().catch((err: unknown) => {
  process.stderr.write(`pods bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
