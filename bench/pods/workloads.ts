/**
 * Workloads bench (issue 15): a Deployment scaled from 0 to N replicas (time until all N pods
 * are Ready) and a rolling update of N replicas (time until the rollout is complete), podnet
 * against podman 4 in the same run. Runs inside the sandbox (bench/pods/run.sh --only workloads
 * starts it through scripts/sandbox.sh), like the rest of bench/pods. Writes
 * bench/results/pods-workloads.json and .md.
 *
 *   node dist/bench/pods/workloads.js [--quick] [--replicas N] [--network bridge|none]
 *       [--no-podman] [--out DIR]
 *
 * The pod, the same on both sides: one busybox container (the pods bench's rootfs: a static
 * busybox with sh and sleep) running `sh -c 'trap "exit 0" TERM; sleep 3600 & wait'` (it ends
 * on SIGTERM at once, so neither side waits a grace period), an env var V (1, then 2: the
 * rolling update's change), terminationGracePeriodSeconds 0, no probes (ready = running, as
 * in Kubernetes without a readinessProbe). Network: by default each pod joins a bridge network
 * (podnet: a podnet network; podman: its default network, netavark with iptables), both inside
 * the sandbox's network namespace; --network none gives both loopback only.
 *
 * podnet (the CLI exactly as typed, bin/podnet.js; the controllers run in the supervisor):
 *   warm-up  `podnet apply` of the Deployment with 1 replica, until ready, then `podnet scale
 *            --replicas 0` until its pod is gone (the supervisor, the launcher and the page
 *            cache are warm, as podman's are after its warm-up)
 *   scale    `podnet scale deployment wl --replicas N`, timed from spawn until the Deployment's
 *            status (the state dir's workloads/deployments/wl.json, which the supervisor writes,
 *            polled every 20 ms) says observedGeneration = generation and N replicas, N updated,
 *            N ready; then, outside the timed interval, every pod's record is read and its
 *            container's process checked (/proc/PID/environ has V=1)
 *   update   `podnet apply` of the same manifest with V=2 (Kubernetes' default RollingUpdate,
 *            maxSurge 25%, maxUnavailable 25%), timed until the status says N replicas in all,
 *            N updated, N available for the new generation and no pod is left but the N new
 *            ones (pod records read once the status says so); the fewest ready and the most
 *            pods the status showed during the update are reported; `podnet rollout status`
 *            is then run (not timed) and must succeed
 * podman (`podman kube play` of the same Deployment with an image imported from the same
 * rootfs; podman 4.3 makes one pod per replica, `wl-pod-0` ... `wl-pod-N-1`, one after the
 * other, each with its infra container):
 *   warm-up  `kube play` of 1 replica, `kube down` (the pause image is built here, not timed)
 *   scale    `podman kube play wl.yaml` (N replicas), timed from spawn until `podman ps`
 *            shows N of the Deployment's containers running (kube play returns after starting
 *            them; ps is checked once after it returns and polled if not all run yet)
 *   update   `podman kube play --replace wl.yaml` with V=2: podman has no rolling update; --replace
 *            removes every pod of the file, then creates them all again (Kubernetes' Recreate,
 *            with a gap and no readiness gate). Timed the same way; the processes' environ is
 *            checked afterwards as on the podnet side.
 * The storage driver is vfs (as in the pods bench): each container gets a copy of the image's
 * 1 MB layer; podnet mounts the rootfs directory as it is.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { cpus, loadavg, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PodStore, pingSupervisor, request, stopSupervisor, type PodRecord } from '../../src/runtime/index.js'
import { ensureLauncher } from '../../src/runtime/launcher.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { WorkloadStore } from '../../src/workloads/store.js'
import type { Deployment } from '../../src/workloads/types.js'
import { benchArgs, machineLoad, nowMs, sleep } from '../network/lib.js'
import { benchDirs, buildRootfs, mustRun, run, type ChildResult } from './lib.js'
import { Podman, removeCgroupTree, type PodmanInfo } from './podman.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../../..')
const BIN = join(ROOT, 'bin/podnet.js')
const NETWORK = 'wlbench'
const SUBNET = '10.232.0.0/16'
const NAME = 'wl'
const IMAGE = 'localhost/podnet-bench-busybox:v1'
const COMMAND = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait']
/** A podnet or podman phase that takes longer than this is a failure (the machine is shared). */
const PHASE_LIMIT_MS = 10 * 60_000

interface Options { quick: boolean; replicas: number; network: 'bridge' | 'none'; podman: boolean; out: string }

function parseArgs(argv: string[]): Options {
  const a = benchArgs(argv)
  const ni = argv.indexOf('--network')
  const network = ni >= 0 ? argv[ni + 1] : 'bridge'
  if (network !== 'bridge' && network !== 'none') throw new Error('--network must be bridge or none')
  return { quick: a.quick, replicas: a.num('--replicas', a.quick ? 10 : 100), network, podman: !argv.includes('--no-podman'), out: a.out(join(ROOT, 'bench/results')) }
}

const T0 = nowMs()
const log = (s: string): void => { process.stderr.write(`[workloads ${((nowMs() - T0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`) }
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ')


/** The Deployment, for podnet (rootfs and network annotations) or podman (an image). */
function deploymentYaml(side: 'podnet' | 'podman', o: { replicas: number; v: number; rootfs: string; network: Options['network'] }): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${NAME}`,
    'spec:',
    `  replicas: ${o.replicas}`,
    '  selector:',
    '    matchLabels: {app: wl}',
    '  template:',
    '    metadata:',
    '      labels: {app: wl}',
    ...(side === 'podnet' ? ['      annotations:', `        podnet.io/rootfs: ${o.rootfs}`, `        podnet.io/network: ${o.network === 'none' ? 'none' : NETWORK}`] : []),
    '    spec:',
    '      terminationGracePeriodSeconds: 0',
    '      containers:',
    '      - name: c',
    ...(side === 'podman' ? [`        image: ${IMAGE}`, '        imagePullPolicy: Never'] : []),
    `        command: ${JSON.stringify(COMMAND)}`,
    `        env: [{name: V, value: "${o.v}"}]`,
    '',
  ].join('\n')
}

/** The value of V in a process's environment ('' when it has none or is gone). */
function envV(pid: number): string {
  try {
    const e = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((x) => x.startsWith('V='))
    return e ? e.slice(2) : ''
  } catch {
    return ''
  }
}

interface Phase {
  side: 'podnet' | 'podman'
  what: 'scale' | 'update'
  replicas: number
  /** Spawn of the command until every pod is ready (scale) or the rollout is complete (update). */
  ms: number
  /** The command's own wall time (podnet returns at once; podman kube play when it has started every pod). */
  cmdMs: number
  podsPerS: number
  /** update: the fewest ready pods and the most pods at once, as the Deployment's status showed them (podnet). */
  minReady?: number
  maxPods?: number
  load1: number
  /** What was checked from outside afterwards. */
  check: string
}

// ------------------------------------------------------------------------------------------------
// podnet

interface PodnetWorld {
  dir: string
  rootfs: string
  stateDir: string
  runDir: string
  store: PodStore
  workloads: WorkloadStore
  cgroupParent: string
  env: NodeJS.ProcessEnv
}

const cli = (w: PodnetWorld, args: string[]): Promise<ChildResult> => run(BIN, args, { env: w.env })

async function mustCli(w: PodnetWorld, args: string[]): Promise<ChildResult> {
  const r = await cli(w, args)
  if (r.status !== 0) throw new Error(`podnet ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/** The workload's pod records (label app=wl). */
function wlPods(w: PodnetWorld): PodRecord[] {
  return w.store.names().flatMap((n) => {
    try {
      const r = w.store.read(n)
      return r && r.spec.labels?.app === 'wl' ? [r] : []
    } catch {
      return []
    }
  })
}

/** A Deployment the controller has written a status to. */
type Dep = Deployment & { status: NonNullable<Deployment['status']> }

/** Polls the Deployment's status (a file read every 20 ms) until `done`; calls `each` on every read. */
async function pollDeployment(w: PodnetWorld, what: string, done: (d: Dep) => boolean, each?: (d: Dep) => void): Promise<number> {
  const deadline = nowMs() + PHASE_LIMIT_MS
  for (;;) {
    let d: Deployment | undefined
    try { d = w.workloads.read<Deployment>('Deployment', NAME) } catch { /* being replaced: read again */ }
    if (d?.status) {
      const dep = d as Dep
      each?.(dep)
      if (done(dep)) return nowMs()
    }
    if (nowMs() > deadline) throw new Error(`${what}: not done after ${PHASE_LIMIT_MS / 1000} s; status ${JSON.stringify(d?.status)}`)
    await sleep(20)
  }
}

const current = (d: Dep): boolean => (d.status?.observedGeneration ?? 0) >= d.metadata.generation

/** Every pod of the workload runs, with V=v in its process's environment; n of them, none terminating. */
function checkPodnetPods(w: PodnetWorld, n: number, v: number): string {
  const pods = wlPods(w)
  const bad = pods.filter((p) => {
    const c = p.containers[0]?.state
    return p.deletionTimestamp !== undefined || p.phase !== 'Running' || c?.status !== 'running' || envV(c.pid) !== String(v)
  })
  if (pods.length !== n || bad.length) throw new Error(`expected ${n} running pods with V=${v}, found ${pods.length}, ${bad.length} not so (${bad.slice(0, 3).map((p) => `${p.name} ${p.phase}${p.deletionTimestamp ? ' terminating' : ''}`).join(', ')})`)
  return `${n} pod records Running, each container's process alive with V=${v} in /proc/PID/environ`
}

async function benchPodnet(o: Options, w: PodnetWorld): Promise<Phase[]> {
  const file = join(w.dir, 'podnet-wl.yaml')
  const write = (replicas: number, v: number): void => writeFileSync(file, deploymentYaml('podnet', { replicas, v, rootfs: w.rootfs, network: o.network }))
  if (o.network === 'bridge') await mustCli(w, ['network', 'create', NETWORK, '--subnet', SUBNET])
  // warm-up: one pod up and down
  write(1, 1)
  await mustCli(w, ['apply', '-f', file])
  await pollDeployment(w, 'warm-up', (d) => current(d) && d.status.readyReplicas === 1)
  await mustCli(w, ['scale', 'deployment', NAME, '--replicas', '0'])
  await pollDeployment(w, 'warm-up scale 0', (d) => current(d) && d.status.replicas === 0 && wlPods(w).length === 0)
  log(`podnet: warm; scale 0 -> ${o.replicas} (load ${load()})`)
  const phases: Phase[] = []
  // scale 0 -> N
  {
    const load1 = loadavg()[0]!
    const t0 = nowMs()
    const r = await mustCli(w, ['scale', 'deployment', NAME, '--replicas', String(o.replicas)])
    const t1 = await pollDeployment(w, 'scale', (d) => current(d) && d.spec.replicas === o.replicas && d.status.replicas === o.replicas && d.status.updatedReplicas === o.replicas && d.status.readyReplicas === o.replicas)
    const check = checkPodnetPods(w, o.replicas, 1)
    phases.push({ side: 'podnet', what: 'scale', replicas: o.replicas, ms: t1 - t0, cmdMs: r.wallMs, podsPerS: o.replicas / ((t1 - t0) / 1000), load1, check })
    log(`podnet: scale 0 -> ${o.replicas}: ${((t1 - t0) / 1000).toFixed(2)} s; rolling update (load ${load()})`)
  }
  // rolling update V=1 -> V=2; the manifest keeps replicas N (the apply is the only change: the env)
  {
    write(o.replicas, 2)
    let minReady = Infinity
    let maxPods = 0
    const load1 = loadavg()[0]!
    const t0 = nowMs()
    const r = await mustCli(w, ['apply', '-f', file])
    const n = o.replicas
    const t1 = await pollDeployment(w, 'rolling update', (d) => current(d) && d.status.replicas === n && d.status.updatedReplicas === n && d.status.availableReplicas === n
      && wlPods(w).length === n, (d) => {
      if (!current(d)) return
      minReady = Math.min(minReady, d.status.readyReplicas)
      maxPods = Math.max(maxPods, d.status.replicas)
    })
    const check = checkPodnetPods(w, n, 2)
    const rs = await cli(w, ['rollout', 'status', 'deployment', NAME])
    if (rs.status !== 0) throw new Error(`podnet rollout status exited ${rs.status}: ${rs.stderr.trim()}`)
    phases.push({ side: 'podnet', what: 'update', replicas: n, ms: t1 - t0, cmdMs: r.wallMs, podsPerS: n / ((t1 - t0) / 1000), minReady, maxPods, load1, check: `${check}; \`rollout status\`: ${rs.stdout.trim().split('\n').pop()}` })
    log(`podnet: rolling update of ${n}: ${((t1 - t0) / 1000).toFixed(2)} s (load ${load()})`)
  }
  const del = await cli(w, ['delete', 'deployment', NAME])
  log(`podnet: delete deployment: ${(del.wallMs / 1000).toFixed(2)} s, exit ${del.status}`)
  return phases
}

async function cleanupPodnet(w: PodnetWorld): Promise<string[]> {
  const problems: string[] = []
  try {
    if (await pingSupervisor(w.stateDir)) {
      await cli(w, ['delete', 'deployment', NAME])
      for (const p of w.store.names()) await request(w.stateDir, { op: 'rm', name: p, gracePeriodSeconds: 0 }).catch((e: unknown) => problems.push(`pod rm ${p}: ${String(e)}`))
      await cli(w, ['network', 'rm', NETWORK])
      await stopSupervisor(w.stateDir).catch((e: unknown) => problems.push(`supervisor stop: ${String(e)}`))
    }
  } catch (err) {
    problems.push(`podnet cleanup: ${String(err)}`)
  }
  const left = removeCgroupTree(w.cgroupParent)
  if (left.length) problems.push(`podnet cgroups left: ${left.join(', ')}`)
  return problems
}

// ------------------------------------------------------------------------------------------------
// podman

/** Names and pids of the Deployment's running containers (`wl-pod-I-c`; infra containers excluded). */
async function podmanRunning(pm: Podman): Promise<Array<{ name: string; pid: number }>> {
  // (podman 4.3's {{.State}} is "Up 2 seconds ago": the filter picks the running ones)
  const r = await pm.must('ps', '--filter', 'status=running', '--format', '{{.Names}} {{.Pid}}')
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([n]) => /^wl-pod-\d+-c$/.test(n ?? '')).map(([n, p]) => ({ name: n!, pid: Number(p) }))
}

async function waitPodmanRunning(pm: Podman, n: number, what: string): Promise<{ t: number; pids: number[] }> {
  const deadline = nowMs() + PHASE_LIMIT_MS
  for (;;) {
    const r = await podmanRunning(pm)
    if (r.length === n) return { t: nowMs(), pids: r.map((x) => x.pid) }
    if (nowMs() > deadline) throw new Error(`podman ${what}: ${r.length} of ${n} running after ${PHASE_LIMIT_MS / 1000} s`)
    await sleep(20)
  }
}

function checkPodmanPids(pids: number[], n: number, v: number): string {
  const bad = pids.filter((p) => envV(p) !== String(v))
  if (pids.length !== n || bad.length) throw new Error(`podman: expected ${n} containers with V=${v}, ${pids.length} running, ${bad.length} without V=${v}`)
  return `${n} containers running (podman ps), each process with V=${v} in /proc/PID/environ`
}

async function benchPodman(o: Options, pm: Podman, dir: string, rootfs: string): Promise<Phase[]> {
  const tar = join(dir, 'rootfs.tar')
  await mustRun('tar', ['-C', rootfs, '-cf', tar, '.'])
  await pm.must('import', '--change', 'ENV PATH=/bin', tar, IMAGE)
  const file = join(dir, 'podman-wl.yaml')
  const net = o.network === 'none' ? ['--network', 'none'] : []
  const write = (replicas: number, v: number): void => writeFileSync(file, deploymentYaml('podman', { replicas, v, rootfs, network: o.network }))
  // warm-up: one pod up and down (podman builds its pause image for the first pod)
  write(1, 1)
  await pm.must('kube', 'play', ...net, file)
  await waitPodmanRunning(pm, 1, 'warm-up')
  await pm.must('kube', 'down', file)
  log(`podman: warm; kube play of ${o.replicas} replicas (load ${load()})`)
  const phases: Phase[] = []
  {
    write(o.replicas, 1)
    const load1 = loadavg()[0]!
    const t0 = nowMs()
    const r = await pm.must('kube', 'play', ...net, file)
    const { t, pids } = await waitPodmanRunning(pm, o.replicas, 'kube play')
    const pods = (await pm.must('pod', 'ps', '-q')).stdout.trim().split('\n').filter(Boolean).length
    if (pods !== o.replicas) throw new Error(`podman kube play made ${pods} pods, not ${o.replicas}`)
    const check = `${checkPodmanPids(pids, o.replicas, 1)}; ${pods} pods (podman pod ps)`
    phases.push({ side: 'podman', what: 'scale', replicas: o.replicas, ms: t - t0, cmdMs: r.wallMs, podsPerS: o.replicas / ((t - t0) / 1000), load1, check })
    log(`podman: kube play of ${o.replicas}: ${((t - t0) / 1000).toFixed(2)} s; kube play --replace (load ${load()})`)
  }
  {
    write(o.replicas, 2)
    const load1 = loadavg()[0]!
    const t0 = nowMs()
    const r = await pm.must('kube', 'play', '--replace', ...net, file)
    const { t, pids } = await waitPodmanRunning(pm, o.replicas, 'kube play --replace')
    const check = checkPodmanPids(pids, o.replicas, 2)
    phases.push({ side: 'podman', what: 'update', replicas: o.replicas, ms: t - t0, cmdMs: r.wallMs, podsPerS: o.replicas / ((t - t0) / 1000), load1, check })
    log(`podman: kube play --replace of ${o.replicas}: ${((t - t0) / 1000).toFixed(2)} s (load ${load()})`)
  }
  const down = await pm.cmd('kube', 'down', file)
  log(`podman: kube down: ${(down.wallMs / 1000).toFixed(2)} s, exit ${down.status}`)
  return phases
}

// ------------------------------------------------------------------------------------------------

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function report(o: Options, env: Record<string, unknown>, phases: Phase[], podmanInfo: PodmanInfo | undefined, failed: string[], problems: string[]): string {
  const s = (ms: number): string => (ms / 1000).toFixed(2)
  const find = (side: Phase['side'], what: Phase['what']): Phase | undefined => phases.find((p) => p.side === side && p.what === what)
  const out: string[] = []
  out.push(`${env.date}, commit ${env.commit}, ${Number(env.durationS).toFixed(0)} s. ${env.cpus} CPUs (${env.cpuModel}), kernel ${env.kernel}, node ${env.node}.`)
  out.push(`Load before: ${env.loadBefore}; after: ${env.loadAfter}. The machine is shared with other users' work: the times move with its load (the load average at each phase's start is in the table).`)
  out.push(`podman: ${podmanInfo ? `${podmanInfo.version}, ${podmanInfo.ociRuntime}, network backend ${podmanInfo.networkBackend}, cgroup manager ${podmanInfo.cgroupManager}, storage driver vfs` : 'not run'}.`)
  out.push(`Pods: one busybox container \`${COMMAND.join(' ')}\` with env V, terminationGracePeriodSeconds 0, no probes (ready = running); network: ${o.network === 'none' ? 'none on both sides (loopback only)' : 'a bridge on both sides (podnet: a podnet network; podman: its default network, netavark + iptables)'}, all inside the sandbox. ${o.replicas} replicas.`, '')
  const rows = phases.map((p) => {
    const other = find(p.side === 'podnet' ? 'podman' : 'podnet', p.what)
    return [
      p.side,
      p.what === 'scale' ? (p.side === 'podnet' ? `\`scale --replicas ${p.replicas}\` (from 0) until ${p.replicas} Ready` : `\`kube play\` (${p.replicas} replicas) until ${p.replicas} running`)
        : (p.side === 'podnet' ? `rolling update (apply, 25% surge / 25% unavailable) until complete` : '`kube play --replace` (all removed, all made again) until all running'),
      s(p.ms), s(p.cmdMs), p.podsPerS.toFixed(1),
      p.side === 'podman' && other ? `${(p.ms / other.ms).toFixed(2)}` : '',
      p.minReady !== undefined ? `fewest ready ${p.minReady}, most active pods ${p.maxPods}` : p.side === 'podman' && p.what === 'update' ? 'all pods gone before the new ones start' : '',
      p.load1.toFixed(2),
    ]
  })
  out.push(table(['runtime', 'what', 's', 'command s', 'pods/s', 'podman s / podnet s', 'during the update (status)', 'load'], rows), '')
  out.push('Checked afterwards (not timed): ' + phases.map((p) => `${p.side} ${p.what}: ${p.check}`).join('; ') + '.', '')
  if (failed.length) out.push('### Failed phases', '', ...failed.map((f) => `- ${f}`), '')
  if (problems.length) out.push('### Cleanup problems', '', ...problems.map((p) => `- ${p}`), '')
  return out.join('\n')
}

async function uptime(): Promise<string> {
  const l = await machineLoad(1000)
  return `load average ${load()}, CPU busy ${l.busyPct.toFixed(0)}% over 1 s`
}

async function main(): Promise<void> {
  assertSandboxed()
  const o = parseArgs(process.argv.slice(2))
  mkdirSync(o.out, { recursive: true })
  const { stateDir, runDir } = benchDirs('bench/pods/run.sh --only workloads')
  const hex = randomBytes(3).toString('hex')
  const dir = mkdtempSync('/tmp/podnet-bench-wl-')
  const w: PodnetWorld = {
    dir, rootfs: buildRootfs(dir), stateDir, runDir, store: new PodStore({ stateDir, runDir }), workloads: new WorkloadStore({ stateDir }), cgroupParent: `podnet-bench-${hex}`,
    env: { ...process.env, PODNET_CGROUP_PARENT: `podnet-bench-${hex}`, PODNET_SUPERVISOR_IDLE_MS: '600000' },
  }
  let pm: Podman | undefined
  let cleaned: Promise<string[]> | undefined
  const cleanup = (): Promise<string[]> => (cleaned ??= (async () => {
    const p = await cleanupPodnet(w)
    if (pm) p.push(...(await pm.cleanup()))
    rmSync(dir, { recursive: true, force: true })
    return p
  })())
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { log(`${sig}: cleaning up`); void cleanup().finally(() => process.exit(130)) })
  const loadBefore = await uptime()
  log(`start: ${loadBefore}; ${o.replicas} replicas, network ${o.network}`)
  const phases: Phase[] = []
  const failed: string[] = []
  let problems: string[] = []
  try {
    ensureLauncher(join(stateDir, 'bin'))
    try {
      phases.push(...(await benchPodnet(o, w)))
    } catch (err) {
      failed.push(`podnet: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
      log(`podnet FAILED: ${err instanceof Error ? err.stack : String(err)}`)
    }
    // podnet's pods are gone before podman starts: each side has the machine to itself
    problems.push(...(await cleanupPodnet(w)))
    if (o.podman) {
      try {
        const libpodParentBefore = existsSync('/sys/fs/cgroup/pids/libpod_parent') || existsSync('/sys/fs/cgroup/unified/libpod_parent') || existsSync('/sys/fs/cgroup/libpod_parent')
        pm = await Podman.setup(`podnet-bench-podman-${hex}`)
        if (!libpodParentBefore) pm.extraCgroups.push('libpod_parent')
        log(`podman: ${JSON.stringify(pm.info)}${pm.notes.length ? `; ${pm.notes.join('; ')}` : ''}`)
        phases.push(...(await benchPodman(o, pm, dir, w.rootfs)))
      } catch (err) {
        failed.push(`podman: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
        log(`podman FAILED: ${err instanceof Error ? err.stack : String(err)}`)
      }
    }
  } finally {
    cleaned = undefined
    problems.push(...(await cleanup()))
    for (const p of problems) log(`cleanup: ${p}`)
  }
  const loadAfter = await uptime()
  const head = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results'])
  const commit = head.status === 0 ? `${head.stdout.trim()}${dirty.stdout.trim() ? ' + uncommitted changes' : ''}` : 'unknown'
  const env = { date: new Date().toISOString(), commit, cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), node: process.version, loadBefore, loadAfter, durationS: (nowMs() - T0) / 1000 }
  const md = report(o, env, phases, pm?.info, failed, problems)
  process.stdout.write(`\n${md}\n`)
  const round = (x: number): number => Math.round(x * 10) / 10
  writeFileSync(join(o.out, 'pods-workloads.json'), `${JSON.stringify({ bench: 'pods: workloads (issue 15)', ...env, options: o, podman: pm?.info, phases: phases.map((p) => ({ ...p, ms: round(p.ms), cmdMs: round(p.cmdMs), podsPerS: round(p.podsPerS) })), failed, cleanupProblems: problems }, null, 1)}\n`)
  writeFileSync(join(o.out, 'pods-workloads.md'), `# Pod bench: workloads (issue 15)\n\n${md}`)
  log(`wrote ${join(o.out, 'pods-workloads.json')} and .md`)
  if (failed.length) process.exitCode = 1
}

main().catch((err: unknown) => {
  process.stderr.write(`workloads bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
