/**
 * PodRuntime: runs pods. One instance serves every pod of a state dir; the supervisor process
 * (supervisor.ts) is a PodRuntime behind a unix socket, and tests use one in-process.
 *
 * run:    sandbox (namespaces + pause, loopback, cgroup, /dev/shm, network, /etc files), then
 *         one launcher per container. Any failure before the containers start undoes it all.
 * exits:  the launcher's exit record (or its status) gives the exit code; restartPolicy and
 *         CrashLoopBackOff decide about a restart; when every container has ended for good the
 *         sandbox is torn down and the pod is Succeeded or Failed.
 * stop:   SIGTERM (the launcher forwards it), terminationGracePeriodSeconds, then SIGKILL to
 *         every process of the container's cgroup; then the sandbox goes.
 * adopt:  a new runtime (a restarted supervisor) takes over the pods its predecessor left:
 *         live launchers are watched by polling, the exit records of those that ended are
 *         read, back-offs are re-armed, half-made sandboxes are torn down.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError, isErrno } from '../errors.js'
import { UndoStack, type PortMapping } from '../bridge/index.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID } from '../sys/constants.js'
import { mount, umount2 } from '../sys/syscall.js'
import { Cgroup, detectCgroupLayout, type CgroupLayout } from './cgroups/index.js'
import { hostsFile, readHostResolvConf, resolvConf } from './etc-files.js'
import { containerEnv, ensureLauncher, parseLaunchStatus, runArgs, takeExitRecord, type LaunchSpec, type LaunchStatus } from './launcher.js'
import { checkRootfs, validatePodName, type ContainerSpec, type PodSpec } from './manifest.js'
import { createPodNamespaces, pinPaths, pinnedInode, unpinAll } from './namespaces.js'
import { BridgePodNetwork, type PodNetwork } from './network.js'
import { pauseCommand } from './pause.js'
import { applyLimitChanges } from './pod-network-limits.js'
import { childPids, isAlive, processRef, processesInNamespace, type ProcessRef } from './proc.js'
import { KUBERNETES_BACKOFF, finalPhase, nextBackoff, shouldRestart, type BackoffOptions } from './restart-policy.js'
import { PodStore, defaultStateDir, runDirFor } from './state-store.js'
import { isActive, type ContainerStatus, type PodPhase, type PodRecord, type TerminatedState } from './types.js'

export interface RuntimeOptions {
  stateDir?: string
  /**
   * The run directory: the bridge layer's volatile state (attachments, IPAM, ports) and the
   * pods' (live records, pins, /dev/shm, /etc files, exit records; see state-store.ts).
   * Default as `podnet network`: $PODNET_RUN_DIR, <stateDir>/run when a state dir is given,
   * else /run/podnet.
   */
  runDir?: string
  /** CrashLoopBackOff timing (default Kubernetes': 10 s doubling to 5 min, reset after 10 min). */
  backoff?: Partial<BackoffOptions>
  /** cgroup directory under each hierarchy's root that holds podnet's pods (default "podnet"). */
  cgroupParent?: string
  /** Pause argv (default catatonit -P). */
  pause?: string[]
  /** Launcher binary (default: built from source on first use). */
  launcher?: string
  /** Pod networking (default: podnet's bridge networks in the same state dir). */
  network?: PodNetwork
  /** How often adopted processes are checked (ms, default 250). */
  pollMs?: number
  /** Size of each pod's /dev/shm tmpfs (default 64m). */
  shmSize?: string
  /**
   * Test hook (PODNET_TEST_HALT_AT for a supervisor): at this point of creating a pod the
   * process stops itself with SIGSTOP, so a test can SIGKILL it exactly there. See HALT_STAGES.
   */
  haltAt?: string
}

/**
 * The points of pod creation where the haltAt test hook can stop the process. Each one is
 * right after a step and before the record names its result, the worst moment to die.
 *   namespaces  pins mounted and the pause running; the record does not name the pause yet
 *   cgroups     the pod cgroup made and the pause moved into it
 *   network     attached (veth, address, port mappings); the record has no address yet
 *   ready       the sandbox is complete (recorded); no container started
 *   launch      the first container's launcher started; the record does not name it yet
 *   launched    its launcher recorded; it has not reported yet
 */
export const HALT_STAGES = ['namespaces', 'cgroups', 'network', 'ready', 'launch', 'launched'] as const

export interface RunOptions {
  /** The named namespace that plays the host for the pod's network (default: this process's). */
  hostNetns?: string
}

export interface StopOptions {
  /** Overrides the pod's terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number
}

export interface GcReport {
  /** Pod directories without a record that were cleaned up. */
  removedPods: string[]
  /** Sandboxes of ended pods that were still (partly) up and were torn down. */
  tornDown: string[]
  /** cgroups of pods podnet no longer knows, killed and removed. */
  removedCgroups: string[]
  /** What could not be cleaned up (a later gc tries again). */
  errors: string[]
}

interface ContainerRt {
  /** Which run of the container the fields below belong to. */
  runId: number
  child?: ChildProcess
  /** Launcher of an adopted run, checked by polling. */
  adopted?: ProcessRef
  timer?: NodeJS.Timeout
  /** Resolves once the current run's exit has been recorded. */
  exited?: Promise<void>
  markExited?: () => void
  exitHandled?: boolean
  /** What the launcher reported on its status fd so far. */
  statusText?: string
  status?: LaunchStatus
}

interface PodRt {
  rec: PodRecord
  containers: Map<string, ContainerRt>
  pause?: ChildProcess
  pauseAdopted?: ProcessRef
  /** No more restarts: a stop or the sandbox's death is ending the pod. */
  stopping: boolean
  tearingDown: boolean
  queue: Promise<unknown>
  /** The stop (or sandbox death) in progress; later stop requests wait for it. */
  ending?: Promise<void>
  /** When SIGKILL comes at the latest while containers are given their grace period (a later stop can bring it forward). */
  graceDeadline?: number
  wakeGrace?: () => void
}

const now = (): string => new Date().toISOString()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11, SIGPIPE: 13 }

function fmtDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const s = ms / 1000
  return s < 60 ? `${Math.round(s * 10) / 10}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`
}

/** Runs pods; emits 'change' (PodRecord) whenever a record changes. */
export class PodRuntime extends EventEmitter {
  readonly store: PodStore
  readonly backoff: BackoffOptions
  readonly cgroupParent: string
  readonly layout: CgroupLayout
  private readonly opts: RuntimeOptions
  private readonly network: PodNetwork
  private readonly ownsNetwork: boolean
  private readonly pods = new Map<string, PodRt>()
  private pollTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor(opts: RuntimeOptions = {}) {
    super()
    this.opts = opts
    this.store = new PodStore(opts.stateDir ?? defaultStateDir(), runDirFor(opts))
    this.backoff = { ...KUBERNETES_BACKOFF, ...opts.backoff }
    this.cgroupParent = opts.cgroupParent ?? 'podnet'
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/.test(this.cgroupParent)) {
      throw new InvalidArgumentError('cgroup parent', `'${this.cgroupParent}' is not a relative cgroup path`)
    }
    if (opts.haltAt !== undefined && !(HALT_STAGES as readonly string[]).includes(opts.haltAt)) {
      throw new InvalidArgumentError('PODNET_TEST_HALT_AT', `unknown stage '${opts.haltAt}' (one of ${HALT_STAGES.join(', ')})`)
    }
    this.layout = detectCgroupLayout()
    this.network = opts.network ?? new BridgePodNetwork({
      ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }),
    })
    this.ownsNetwork = opts.network === undefined
  }

  private launcher(): string {
    return this.opts.launcher ?? ensureLauncher(this.store.binDir())
  }

  /** The haltAt test hook: stops this whole process (SIGSTOP) at the named stage. */
  private checkpoint(stage: (typeof HALT_STAGES)[number]): void {
    if (this.opts.haltAt !== stage) return
    process.stderr.write(`${now()} podnet runtime[${process.pid}]: halting at stage '${stage}' (test hook PODNET_TEST_HALT_AT)\n`)
    process.kill(process.pid, 'SIGSTOP')
  }

  /** Stops watching (timers, polling). Pods keep running: a new runtime can adopt them. */
  close(): void {
    this.closed = true
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = undefined
    for (const p of this.pods.values()) for (const c of p.containers.values()) if (c.timer) clearTimeout(c.timer)
    this.pods.clear()
    if (this.ownsNetwork) this.network.close()
  }

  /** The stored record of a pod. */
  get(name: string): PodRecord {
    const rec = this.pods.get(name)?.rec ?? this.store.read(name)
    if (!rec) throw new NotFoundError('pod', name)
    return rec
  }

  list(): PodRecord[] {
    return this.store.list()
  }

  /** Pods this runtime watches (running or restarting). */
  activeCount(): number {
    return [...this.pods.values()].filter((p) => isActive(p.rec)).length
  }

  /** Resolves with the record once pred holds (checked now and on every change). */
  waitFor(name: string, pred: (rec: PodRecord) => boolean, timeoutMs = 30_000): Promise<PodRecord> {
    return new Promise((resolve, reject) => {
      const check = (rec: PodRecord): boolean => {
        if (rec.name !== name || !pred(rec)) return false
        cleanup()
        resolve(rec)
        return true
      }
      const onChange = (rec: PodRecord): void => { check(rec) }
      const timer = setTimeout(() => {
        cleanup()
        reject(new PodnetError(`timed out after ${timeoutMs} ms waiting for pod '${name}'`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('change', onChange)
      }
      this.on('change', onChange)
      const cur = this.pods.get(name)?.rec ?? this.store.read(name)
      if (cur) check(cur)
    })
  }

  private save(pod: PodRt): void {
    this.store.write(pod.rec)
    this.emit('change', pod.rec)
  }

  /** Runs fn after every earlier operation on the pod. */
  private serial<T>(pod: PodRt, fn: () => Promise<T> | T): Promise<T> {
    const p = pod.queue.then(fn, fn)
    pod.queue = p.catch(() => undefined)
    return p
  }

  /**
   * Changes a running pod's network limits in place (`podnet pod update`): the bandwidth and
   * priority annotations (pod-network-limits.ts); `null` removes one. Applied to the kernel, then
   * recorded. Other changes need a new pod.
   */
  async update(name: string, changes: Readonly<Record<string, string | null>>): Promise<PodRecord> {
    const pod = this.pods.get(name)
    if (!pod) throw new NotFoundError('pod', name, this.store.read(name) ? '(not running: limits apply to running pods)' : '')
    return this.serial(pod, async () => {
      if (!isActive(pod.rec)) throw new PodnetError(`pod '${name}' has ended (${pod.rec.phase}): limits apply to running pods`)
      const spec = applyLimitChanges(pod.rec.spec, changes)
      const sb = pod.rec.sandbox
      if (sb.attached && spec.network !== undefined) {
        if (!this.network.setLimits) throw new PodnetError('this runtime\'s pod network cannot change limits in place')
        await this.network.setLimits({
          network: spec.network, id: name, ...(sb.hostNetns !== undefined && { hostNetns: sb.hostNetns }),
          ...(spec.bandwidth && { bandwidth: spec.bandwidth }), ...(spec.networkPriority !== undefined && { priority: spec.networkPriority }),
        })
      }
      pod.rec.spec = spec
      this.save(pod)
      return pod.rec
    })
  }

  // -------------------------------------------------------------------------------------------
  // run

  /** Creates the sandbox and starts the containers. Nothing is left behind when it throws. */
  async run(spec: PodSpec, opts: RunOptions = {}): Promise<PodRecord> {
    if (this.closed) throw new PodnetError('the runtime is closed')
    validatePodName(spec.name)
    spec.containers.forEach((c, i) => {
      checkRootfs(c.rootfs, `spec.containers[${i}].rootfs`)
      Cgroup.checkLimits(this.layout, c.limits, `spec.containers[${i}].resources.limits`)
    })
    const pause = this.opts.pause ?? pauseCommand()
    this.launcher() // built (or found) before anything is created
    if (!this.store.claim(spec.name)) {
      const prior = this.store.read(spec.name)
      throw new ExistsError('pod', spec.name, prior && !isActive(prior) ? `(${prior.phase.toLowerCase()}; remove it with podnet pod rm)` : '(running)')
    }
    const name = spec.name
    const rec: PodRecord = {
      name, spec, phase: 'Pending', createdAt: now(),
      sandbox: { state: 'creating', ips: [], ...(opts.hostNetns !== undefined && { hostNetns: opts.hostNetns }) },
      containers: spec.containers.map((c) => ({
        name: c.name, state: { status: 'waiting', reason: 'ContainerCreating' }, restartCount: 0, backoffStep: 0,
        logPath: this.store.logPath(name, c.name),
      })),
    }
    const pod: PodRt = { rec, containers: new Map(spec.containers.map((c) => [c.name, { runId: 0 }])), stopping: false, tearingDown: false, queue: Promise.resolve() }
    const sb = rec.sandbox
    await UndoStack.run(async (undo) => {
      undo.push('remove the pod directories', () => this.store.remove(name))
      this.store.create(rec)
      mkdirSync(this.store.logDir(name), { recursive: true })
      mkdirSync(this.store.exitDir(name), { recursive: true })

      // Each step below is named in the record before it is taken, so whoever finds a half-made
      // pod (a supervisor that adopts after a crash) can undo it: teardown skips what is not there.

      // namespaces and the pause (an unrecorded pause is found through the pinned namespaces)
      sb.pins = pinPaths(this.store.nsDir(name), spec.shareProcessNamespace)
      this.store.write(rec)
      const made = createPodNamespaces({ dir: this.store.nsDir(name), hostname: spec.hostname, sharePid: spec.shareProcessNamespace, pause })
      pod.pause = made.pause
      this.checkpoint('namespaces')
      sb.pins = made.pins
      const pauseRef = processRef(made.pause.pid!)
      if (pauseRef) sb.pause = pauseRef
      undo.push('stop the pause and unpin the namespaces', async () => {
        await this.killPause(pod)
        unpinAll(made.pins)
      })
      this.store.write(rec)

      // loopback up (attach does it too, but a pod without a network needs it)
      const ns = Netns.openPath(made.pins.net)
      try {
        const rt = Rtnl.open({ netns: ns })
        try { rt.link.setSync('lo', { up: true }) } finally { rt.close() }
      } finally {
        ns.close()
      }

      // cgroups: the pod's, with the pause in pod/pause
      const podCg = `${this.cgroupParent}/${name}`
      if (this.layout.hierarchies.length) {
        sb.cgroup = podCg
        const pauseCg = new Cgroup(this.layout, `${podCg}/pause`)
        undo.push('remove the pod cgroups', async () => {
          for (const c of this.containerCgroups(rec)) { c.kill(); await c.remove() }
          pauseCg.kill()
          await pauseCg.remove()
          Cgroup.removeIfEmpty(this.layout, podCg)
        })
        this.store.write(rec)
        pauseCg.create()
        if (made.pause.pid !== undefined) {
          try { pauseCg.addProcess(made.pause.pid) } catch { /* it died: noticed below */ }
        }
        this.checkpoint('cgroups')
      }

      // /dev/shm shared by the pod's containers
      const shm = this.store.shmDir(name)
      mkdirSync(shm, { recursive: true })
      sb.shm = shm
      this.store.write(rec)
      mount('shm', shm, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${this.opts.shmSize ?? '64m'}`)
      undo.push('unmount /dev/shm', () => this.unmountShm(shm))

      // network ("attached" from before the attach on: detaching what is not attached is a no-op)
      if (spec.network !== undefined) {
        const mappings = portMappings(spec)
        sb.network = spec.network
        sb.attached = true
        this.store.write(rec)
        try {
          sb.ips = await this.network.attach({
            network: spec.network, netns: made.pins.net, id: name, portMappings: mappings.map((m) => m.mapping),
            ...(opts.hostNetns !== undefined && { hostNetns: opts.hostNetns }),
            ...(spec.bandwidth && { bandwidth: spec.bandwidth }), ...(spec.networkPriority !== undefined && { priority: spec.networkPriority }),
          })
        } catch (err) {
          throw mapAttachError(err, mappings)
        }
        this.checkpoint('network')
        undo.push('detach from the network', () => this.network.detach({ network: spec.network!, id: name, ...(opts.hostNetns !== undefined && { hostNetns: opts.hostNetns }) }))
      }

      // /etc files
      const etc = this.store.etcDir(name)
      mkdirSync(etc, { recursive: true })
      sb.hostsFile = join(etc, 'hosts')
      sb.resolvFile = join(etc, 'resolv.conf')
      sb.hostnameFile = join(etc, 'hostname')
      writeFileSync(sb.hostsFile, hostsFile(spec.hostname, sb.ips))
      writeFileSync(sb.resolvFile, resolvConf(readHostResolvConf()))
      writeFileSync(sb.hostnameFile, `${spec.hostname}\n`)

      if (!isAlive(sb.pause)) throw new PodnetError(`pod '${name}': the pause process (${pause.join(' ')}) exited at once`)
      sb.state = 'ready'
      rec.phase = 'Running'
      rec.startedAt = now()
      this.store.write(rec)
      this.checkpoint('ready')
    })
    this.pods.set(name, pod)
    this.watchPause(pod)
    await this.serial(pod, async () => {
      for (const c of spec.containers) await this.startContainer(pod, c)
    })
    this.emit('change', rec)
    return rec
  }

  /** Every container's cgroup, by the path it has or will have (a launch the record missed may have made it). */
  private containerCgroups(rec: PodRecord): Cgroup[] {
    const sb = rec.sandbox.cgroup
    return rec.containers.flatMap((c) => {
      const path = c.cgroup ?? (sb !== undefined ? `${sb}/ctr-${c.name}` : undefined)
      return path === undefined ? [] : [new Cgroup(this.layout, path)]
    })
  }

  private unmountShm(shm: string): void {
    try {
      umount2(shm, MNT_DETACH)
    } catch (err) {
      if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err
    }
  }

  // -------------------------------------------------------------------------------------------
  // containers

  private async startContainer(pod: PodRt, c: ContainerSpec): Promise<void> {
    const rec = pod.rec
    const cs = rec.containers.find((x) => x.name === c.name)!
    const crt = pod.containers.get(c.name)!
    const sb = rec.sandbox
    if (pod.stopping || sb.state !== 'ready' || !sb.pins) return
    const runToken = randomBytes(4).toString('hex')
    let cg: Cgroup | undefined
    if (sb.cgroup !== undefined) {
      cg = new Cgroup(this.layout, `${sb.cgroup}/ctr-${c.name}`)
      if (cs.cgroup === undefined) {
        cg.create(c.limits)
        cs.cgroup = cg.path
      }
      cs.oomKillsAtStart = cg.oomKills()
    }
    const spec = rec.spec
    const launch: LaunchSpec = {
      ns: { net: sb.pins.net, ipc: sb.pins.ipc, ...(spec.shareUts && { uts: sb.pins.uts }), ...(sb.pins.pid !== undefined && { pid: sb.pins.pid }) },
      newPid: !spec.shareProcessNamespace,
      ...(!spec.shareUts && { newUts: spec.hostname }),
      rootfs: c.rootfs,
      binds: [
        { src: sb.hostsFile!, dst: '/etc/hosts' },
        { src: sb.resolvFile!, dst: '/etc/resolv.conf' },
        { src: sb.hostnameFile!, dst: '/etc/hostname' },
      ],
      ...(sb.shm !== undefined && { shm: sb.shm }),
      cgroupProcs: cg ? cg.procsFiles() : [],
      ...(c.workingDir !== undefined && { cwd: c.workingDir }),
      env: containerEnv(spec.hostname, c.env),
      exitFile: this.store.exitPath(rec.name, c.name, runToken),
      argv: c.argv,
    }
    this.removeExitRecords(rec.name, c.name)
    const log = openSync(cs.logPath, 'a', 0o640)
    let child: ChildProcess
    try {
      child = spawn(this.launcher(), runArgs(launch), { detached: true, stdio: ['ignore', log, log, 'pipe'] })
    } finally {
      closeSync(log)
    }
    const launcherRef = child.pid !== undefined ? processRef(child.pid) : undefined
    this.checkpoint('launch')
    cs.runToken = runToken
    if (launcherRef) {
      // recorded before it can report: a supervisor that dies now leaves a launcher the next one adopts
      cs.launching = { launcher: launcherRef, runToken, at: now() }
      this.store.write(rec)
      this.checkpoint('launched')
    }
    const runId = ++crt.runId
    crt.child = child
    delete crt.adopted
    delete crt.status
    delete crt.exitHandled
    crt.statusText = ''
    crt.exited = new Promise<void>((r) => { crt.markExited = r })
    const statusDone = new Promise<void>((resolve) => {
      const pipe = child.stdio[3] as Readable | null
      if (!pipe) return resolve()
      pipe.setEncoding('utf8')
      pipe.on('data', (d: string) => { if (crt.runId === runId) crt.statusText += d })
      pipe.on('end', () => resolve())
      pipe.on('error', () => resolve())
      pipe.on('close', () => resolve())
    })
    let spawnError: Error | undefined
    child.once('error', (err) => {
      spawnError = err
      this.onContainerExit(pod, c.name, runId, 127, null)
    })
    child.once('close', (code, signal) => this.onContainerExit(pod, c.name, runId, code, signal))
    await Promise.race([statusDone, crt.exited])
    if (spawnError) crt.status = { ok: false, error: `cannot start the launcher: ${spawnError.message}` }
    if (crt.runId !== runId || crt.exitHandled) return // it has ended already (the exit is recorded)
    const st = parseLaunchStatus(crt.statusText)
    crt.status = st
    if (st.ok && st.pid !== undefined && launcherRef) {
      cs.state = { status: 'running', startedAt: now(), pid: st.pid, launcher: launcherRef }
      delete cs.launching
      this.save(pod)
    }
  }

  /** Removes a container's exit records of earlier runs (an abandoned run may write one late). */
  private removeExitRecords(pod: string, container: string): void {
    let names: string[]
    try {
      names = readdirSync(this.store.exitDir(pod))
    } catch {
      return
    }
    for (const n of names) if (n === container || n.startsWith(`${container}.`)) rmSync(join(this.store.exitDir(pod), n), { force: true })
  }

  /**
   * Records the end of a container's run (synchronous, once per run): exit code and reason,
   * then restart policy and back-off; queues the pod-completion check.
   */
  private onContainerExit(pod: PodRt, name: string, runId: number, code: number | null, signal: NodeJS.Signals | null): void {
    const rec = pod.rec
    const cs = rec.containers.find((x) => x.name === name)!
    const crt = pod.containers.get(name)!
    if (crt.runId !== runId || crt.exitHandled) return
    crt.exitHandled = true
    const spec = rec.spec.containers.find((x) => x.name === name)!
    const exit = takeExitRecord(this.store.exitPath(rec.name, name, cs.runToken))
    delete cs.launching
    const st = crt.status ?? (crt.statusText !== undefined ? parseLaunchStatus(crt.statusText) : undefined)
    delete crt.child
    delete crt.adopted
    const startedAt = cs.state.status === 'running' ? cs.state.startedAt : exit ? new Date(exit.startedAtMs).toISOString() : now()
    let exitCode: number
    let sig: number | undefined
    let message: string | undefined
    if (exit) {
      exitCode = exit.exitCode
      if (exit.signal) sig = exit.signal
      if (exit.startError) message = exit.startError
    } else {
      sig = signal ? SIGNALS[signal] ?? 9 : undefined
      exitCode = code ?? 128 + (sig ?? 9)
      message = st && !st.ok ? st.error : 'the launcher ended without an exit record (it was killed)'
    }
    let reason: string
    if (exit?.startError || (!exit && st && !st.ok)) reason = 'StartError'
    else if (cs.cgroup !== undefined && new Cgroup(this.layout, cs.cgroup).oomKills() > (cs.oomKillsAtStart ?? 0)) reason = 'OOMKilled'
    else reason = exitCode === 0 ? 'Completed' : 'Error'
    const term: TerminatedState = {
      status: 'terminated', exitCode, reason, startedAt, finishedAt: exit ? new Date(exit.finishedAtMs).toISOString() : now(),
      ...(sig !== undefined && { signal: sig }), ...(message !== undefined && { message }),
    }
    const ranMs = Date.parse(term.finishedAt) - Date.parse(startedAt)
    if (!pod.stopping && !this.closed && shouldRestart(rec.spec.restartPolicy, exitCode)) {
      const next = nextBackoff({ step: cs.backoffStep }, ranMs, this.backoff)
      cs.backoffStep = next.state.step
      cs.lastState = term
      const restartAt = new Date(Date.now() + next.delayMs).toISOString()
      cs.state = {
        status: 'waiting', reason: 'CrashLoopBackOff', restartAt,
        message: `back-off ${fmtDuration(next.delayMs)} restarting failed container=${name} pod=${rec.name}`,
      }
      this.armRestart(pod, spec, next.delayMs)
    } else {
      if (cs.state.status === 'terminated') cs.lastState = cs.state
      cs.state = term
    }
    this.save(pod)
    crt.markExited?.()
    if (!pod.stopping) void this.serial(pod, () => this.maybeFinish(pod)).catch((err) => this.emit('error', err))
  }

  private armRestart(pod: PodRt, spec: ContainerSpec, delayMs: number): void {
    const crt = pod.containers.get(spec.name)!
    if (crt.timer) clearTimeout(crt.timer)
    crt.timer = setTimeout(() => {
      delete crt.timer
      void this.serial(pod, async () => {
        if (pod.stopping) return
        const cs = pod.rec.containers.find((x) => x.name === spec.name)!
        cs.restartCount++
        await this.startContainer(pod, spec)
        this.save(pod)
      }).catch((err) => this.emit('error', err))
    }, Math.max(0, delayMs))
  }

  /** When every container has ended for good: tear the sandbox down, set the final phase. */
  private async maybeFinish(pod: PodRt): Promise<void> {
    if (pod.rec.containers.every((c) => c.state.status === 'terminated') && isActive(pod.rec)) {
      await this.finish(pod, finalPhase(pod.rec.containers.map((c) => (c.state as TerminatedState).exitCode)))
    }
  }

  /** Tears the sandbox down and records the final phase; an incomplete teardown is recorded, then thrown. */
  private async finish(pod: PodRt, phase: PodPhase, reason?: string, message?: string): Promise<void> {
    let failed: unknown
    try {
      await this.teardown(pod)
    } catch (err) {
      failed = err
    }
    pod.rec.phase = phase
    if (reason !== undefined) pod.rec.reason = reason
    if (message !== undefined) pod.rec.message = message
    pod.rec.finishedAt = now()
    this.save(pod)
    this.pods.delete(pod.rec.name)
    this.updatePolling()
    if (failed !== undefined) throw failed
  }

  // -------------------------------------------------------------------------------------------
  // sandbox teardown

  private watchPause(pod: PodRt): void {
    const died = (): void => {
      if (!pod.tearingDown && this.pods.get(pod.rec.name) === pod) this.sandboxDied(pod, 'the pause process exited')
    }
    const p = pod.pause
    if (!p) return
    if (p.exitCode !== null || p.signalCode !== null) died() // it ended before we listened
    else p.once('exit', died)
  }

  /** The pause died under a live pod: its namespaces are no longer whole; end the pod. */
  private sandboxDied(pod: PodRt, message: string): void {
    if (pod.stopping) return
    pod.stopping = true
    pod.ending = this.serial(pod, async () => {
      await this.killContainers(pod, 0)
      await this.finish(pod, 'Failed', 'SandboxDied', message)
    }).catch((err) => { this.emit('error', err) })
  }

  private async killPause(pod: PodRt): Promise<void> {
    const ref = pod.rec.sandbox.pause
    if (!isAlive(ref)) return
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(ref!.pid, sig)
      } catch {
        // gone
      }
    }
    signal('SIGTERM')
    for (let i = 0; i < 100 && isAlive(ref); i++) await sleep(10)
    if (isAlive(ref)) {
      signal('SIGKILL')
      for (let i = 0; i < 100 && isAlive(ref); i++) await sleep(10)
    }
  }

  /** Takes the sandbox down: pause, leftover processes, cgroups, network, /dev/shm, pins. */
  private async teardown(pod: PodRt): Promise<void> {
    const rec = pod.rec
    const sb = rec.sandbox
    if (sb.state === 'stopped') return
    pod.tearingDown = true
    const errors: Error[] = []
    const step = async (fn: () => unknown): Promise<void> => {
      try { await fn() } catch (err) { errors.push(err as Error) }
    }
    await step(() => this.killPause(pod))
    // a pod still being created may have a pause the record does not name: whatever is in its
    // pinned network namespace is ended (nothing else can be there yet)
    if (sb.state === 'creating' && sb.pins) await step(() => killNamespaceMembers(sb.pins!.net))
    if (sb.cgroup !== undefined) {
      const pauseCg = new Cgroup(this.layout, `${sb.cgroup}/pause`)
      for (const cg of [...this.containerCgroups(rec), pauseCg]) {
        await step(async () => {
          cg.kill('SIGKILL')
          await cg.remove(3000)
        })
      }
      Cgroup.removeIfEmpty(this.layout, sb.cgroup)
    }
    if (sb.attached && sb.network !== undefined) {
      await step(async () => {
        await this.network.detach({ network: sb.network!, id: rec.name, ...(sb.hostNetns !== undefined && { hostNetns: sb.hostNetns }) })
        sb.attached = false
      })
    }
    if (sb.shm) await step(() => this.unmountShm(sb.shm!))
    if (sb.pins) await step(() => unpinAll(sb.pins!))
    pod.tearingDown = false
    if (errors.length) {
      // not 'stopped': pod rm and pod gc try again
      sb.teardownError = errors.map((e) => e.message).join('; ')
      this.store.write(rec)
      throw new PodnetError(`pod '${rec.name}': teardown was incomplete: ${sb.teardownError}`, { cause: new AggregateError(errors) })
    }
    sb.state = 'stopped'
    delete sb.teardownError
    this.store.write(rec)
  }

  // -------------------------------------------------------------------------------------------
  // stop / remove

  /**
   * Stops a pod: no more restarts; SIGTERM to every container, up to the grace period, then
   * SIGKILL to every process of its cgroup; then the sandbox. Stopping an ended pod is a no-op.
   */
  async stop(name: string, opts: StopOptions = {}): Promise<PodRecord> {
    const pod = this.pods.get(name)
    if (!pod) {
      const rec = this.store.read(name)
      if (!rec) throw new NotFoundError('pod', name)
      return rec
    }
    const graceMs = (opts.gracePeriodSeconds ?? pod.rec.spec.terminationGracePeriodSeconds) * 1000
    if (pod.ending) {
      // already ending: a shorter grace period brings the SIGKILL forward (a second Ctrl-C),
      // also when the grace period has not begun yet
      pod.graceDeadline = Math.min(pod.graceDeadline ?? Infinity, Date.now() + graceMs)
      pod.wakeGrace?.()
      await pod.ending
      return pod.rec
    }
    pod.stopping = true
    pod.ending = this.serial(pod, async () => {
      if (this.pods.get(name) !== pod) return // it ended meanwhile
      await this.killContainers(pod, graceMs)
      await this.finish(pod, finalPhase(pod.rec.containers.map((c) => (c.state.status === 'terminated' ? c.state.exitCode : 0))), 'Stopped')
    })
    await pod.ending
    return pod.rec
  }

  /** Waits for every container's exit, until the pod's grace deadline (which a later stop may bring forward). */
  private async waitGrace(pod: PodRt, exits: Promise<unknown>, ms: number): Promise<void> {
    pod.graceDeadline = Math.min(pod.graceDeadline ?? Infinity, Date.now() + ms)
    let done = false
    void exits.then(() => { done = true; pod.wakeGrace?.() })
    try {
      while (!done && Date.now() < pod.graceDeadline) {
        let timer: NodeJS.Timeout | undefined
        await new Promise<void>((resolve) => {
          pod.wakeGrace = resolve
          timer = setTimeout(resolve, Math.max(0, pod.graceDeadline! - Date.now()))
        })
        clearTimeout(timer)
      }
    } finally {
      delete pod.graceDeadline
      delete pod.wakeGrace
    }
  }

  /** Ends every container: pending restarts cancelled, SIGTERM, graceMs, SIGKILL. Resolves when all exits are recorded. */
  private async killContainers(pod: PodRt, graceMs: number): Promise<void> {
    const rec = pod.rec
    for (const cs of rec.containers) {
      const crt = pod.containers.get(cs.name)!
      if (crt.timer) {
        clearTimeout(crt.timer)
        delete crt.timer
      }
      if (cs.state.status === 'waiting') {
        cs.state = cs.lastState ?? { status: 'terminated', exitCode: 0, reason: 'NotStarted', startedAt: now(), finishedAt: now() }
        if (cs.lastState === cs.state) delete cs.lastState
      }
    }
    const running = (): ContainerStatus[] => rec.containers.filter((c) => c.state.status === 'running')
    const waitExits = async (ms: number, grace = false): Promise<void> => {
      // a launcher nobody watches (no child, not polled) is checked here
      for (const cs of running()) {
        const crt = pod.containers.get(cs.name)!
        if (cs.state.status === 'running' && !crt.child && !crt.adopted) {
          crt.adopted = cs.state.launcher
          crt.exited ??= new Promise<void>((r) => { crt.markExited = r })
        }
      }
      this.updatePolling()
      const all = Promise.all(running().map((cs) => pod.containers.get(cs.name)!.exited))
      if (grace) return this.waitGrace(pod, all, ms)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([all, new Promise<void>((r) => { timer = setTimeout(r, ms) })])
      clearTimeout(timer)
    }
    for (const cs of running()) if (cs.state.status === 'running') signalRef(cs.state.launcher, 'SIGTERM')
    if (running().length) await waitExits(graceMs, true)
    for (const cs of running()) {
      if (cs.state.status !== 'running') continue
      if (cs.cgroup !== undefined) new Cgroup(this.layout, cs.cgroup).kill('SIGKILL')
      else if (isAlive(cs.state.launcher)) {
        try { process.kill(cs.state.pid, 'SIGKILL') } catch { /* gone */ }
      }
    }
    if (running().length) await waitExits(5000)
    for (const cs of running()) if (cs.state.status === 'running') signalRef(cs.state.launcher, 'SIGKILL')
    if (running().length) await waitExits(2000)
    for (const cs of running()) {
      const crt = pod.containers.get(cs.name)!
      this.onContainerExit(pod, cs.name, crt.runId, 137, 'SIGKILL')
    }
    this.save(pod)
  }

  /** Stops a pod if it runs, then removes everything of it, logs included. */
  async remove(name: string, opts: StopOptions = {}): Promise<void> {
    const pod = this.pods.get(name)
    if (pod) await this.stop(name, opts)
    const rec = this.store.read(name)
    if (!rec && !this.store.names().includes(name)) throw new NotFoundError('pod', name)
    if (rec && rec.sandbox.state !== 'stopped') {
      const tmp: PodRt = { rec, containers: new Map(), stopping: true, tearingDown: false, queue: Promise.resolve() }
      for (const cs of rec.containers) if (cs.state.status === 'running') signalRef(cs.state.launcher, 'SIGKILL')
      await this.teardown(tmp)
    }
    this.cleanupLeftovers(name)
    if (rec?.reason === 'Lost') {
      // its live state is gone, not necessarily its processes (a cleared run dir): end by the paths podnet uses
      await this.removeCgroupTree(`${this.cgroupParent}/${name}`)
      if (rec.spec.network !== undefined) {
        try {
          await this.network.detach({ network: rec.spec.network, id: name, ...(rec.sandbox.hostNetns !== undefined && { hostNetns: rec.sandbox.hostNetns }) })
        } catch {
          // the network's own records went with the run dir: podnet network gc
        }
      }
    }
    Cgroup.removeIfEmpty(this.layout, `${this.cgroupParent}/${name}`)
    this.store.remove(name)
    this.emit('removed', name)
  }

  /** Unmounts whatever may still be mounted in a pod directory (pins, shm). */
  private cleanupLeftovers(name: string): void {
    const ns = this.store.nsDir(name)
    unpinAll({ net: join(ns, 'net'), ipc: join(ns, 'ipc'), uts: join(ns, 'uts'), pid: join(ns, 'pid') })
    this.unmountShm(this.store.shmDir(name))
  }

  // -------------------------------------------------------------------------------------------
  // adoption and gc

  /**
   * Takes over the pods a previous runtime left (after a supervisor restart): watches live
   * launchers, processes the exits it missed, re-arms back-offs, tears down half-made sandboxes.
   * Returns the names of the pods it adopted.
   */
  async adopt(): Promise<string[]> {
    const adopted: PodRt[] = []
    for (const rec of this.store.list()) {
      if (this.pods.has(rec.name)) continue
      if (rec.sandbox.state === 'creating') {
        try {
          await this.abandonCreation(rec)
        } catch (err) {
          this.emit('error', err)
        }
        continue
      }
      if (!isActive(rec)) continue
      const pod: PodRt = {
        rec, containers: new Map(rec.spec.containers.map((c) => [c.name, { runId: 0 }])), stopping: false, tearingDown: false, queue: Promise.resolve(),
        ...(rec.sandbox.pause && { pauseAdopted: rec.sandbox.pause }),
      }
      for (const cs of rec.containers) {
        const crt = pod.containers.get(cs.name)!
        if (cs.state.status === 'running') this.watchAdopted(crt, cs.state.launcher)
      }
      this.pods.set(rec.name, pod)
      adopted.push(pod)
    }
    this.updatePolling()
    for (const pod of adopted) {
      try {
        await this.adoptPod(pod)
      } catch (err) {
        this.emit('error', err)
      }
    }
    return adopted.map((p) => p.rec.name)
  }

  /** Watches a launcher this runtime did not start (by polling). */
  private watchAdopted(crt: ContainerRt, launcher: ProcessRef): void {
    crt.runId++
    crt.adopted = launcher
    delete crt.exitHandled
    delete crt.status
    delete crt.statusText
    crt.exited = new Promise<void>((r) => { crt.markExited = r })
  }

  /**
   * A pod that was still being created when its supervisor died: everything its record names
   * is undone (its record names each step before it is taken), whatever sits in its network
   * namespace is killed, and it ends as Failed, SetupInterrupted. The record stays until pod rm.
   */
  private async abandonCreation(rec: PodRecord): Promise<void> {
    const tmp: PodRt = { rec, containers: new Map(), stopping: true, tearingDown: false, queue: Promise.resolve() }
    let failed: unknown
    try {
      await this.teardown(tmp)
    } catch (err) {
      failed = err
    }
    rec.phase = 'Failed'
    rec.reason = 'SetupInterrupted'
    rec.message = 'the supervisor ended while the pod was being created'
    rec.finishedAt = now()
    for (const cs of rec.containers) {
      if (cs.state.status === 'waiting') cs.state = { status: 'terminated', exitCode: 0, reason: 'NotStarted', startedAt: rec.finishedAt, finishedAt: rec.finishedAt }
    }
    this.store.write(rec)
    this.emit('change', rec)
    if (failed !== undefined) throw failed
  }

  /** Takes over one active pod: runs its supervisor's predecessor started or left to start. */
  private async adoptPod(pod: PodRt): Promise<void> {
    const rec = pod.rec
    await this.serial(pod, async () => {
      // launches that never reported: adopt them (or their exit) before anything else
      for (const cs of rec.containers) if (cs.launching) await this.adoptLaunch(pod, cs)
    })
    if (!isAlive(rec.sandbox.pause)) {
      delete pod.pauseAdopted
      this.sandboxDied(pod, 'the pause process exited while no supervisor was running')
      await pod.ending
      return
    }
    await this.serial(pod, async () => {
      for (const cs of rec.containers) {
        const crt = pod.containers.get(cs.name)!
        const spec = rec.spec.containers.find((c) => c.name === cs.name)!
        const st = cs.state
        if (st.status === 'running') {
          if (!isAlive(st.launcher)) this.onContainerExit(pod, cs.name, crt.runId, null, null)
        } else if (st.status === 'waiting' && !crt.adopted && !crt.exitHandled) {
          // a launch the record never saw may have left processes in the container's cgroup
          await this.killStrays(rec, cs.name)
          if (st.reason === 'CrashLoopBackOff' && st.restartAt) this.armRestart(pod, spec, Date.parse(st.restartAt) - Date.now())
          else {
            await this.startContainer(pod, spec)
            this.save(pod)
          }
        }
      }
    })
  }

  /**
   * A launcher started by a dead supervisor before it reported: alive, it is adopted as the
   * running container (its child is the container's process; if the exec failed, its exit
   * record says so); ended, its exit record is processed like any exit.
   */
  private async adoptLaunch(pod: PodRt, cs: ContainerStatus): Promise<void> {
    const l = cs.launching!
    const crt = pod.containers.get(cs.name)!
    cs.runToken = l.runToken
    if (isAlive(l.launcher)) {
      let pid: number | undefined
      for (let i = 0; i < 100 && pid === undefined && isAlive(l.launcher); i++) {
        pid = childPids(l.launcher.pid)[0]
        if (pid === undefined) await sleep(10)
      }
      if (pid !== undefined) {
        cs.state = { status: 'running', startedAt: l.at, pid, launcher: l.launcher }
        delete cs.launching
        this.watchAdopted(crt, l.launcher)
        this.save(pod)
        this.updatePolling()
        return
      }
      // a launcher without a container after a second: end it, its run failed
      signalRef(l.launcher, 'SIGKILL')
      for (let i = 0; i < 100 && isAlive(l.launcher); i++) await sleep(10)
    }
    this.watchAdopted(crt, l.launcher)
    this.onContainerExit(pod, cs.name, crt.runId, null, null)
  }

  /** SIGKILLs whatever is in a container's cgroup and waits (up to 3 s) until it is empty. */
  private async killStrays(rec: PodRecord, container: string): Promise<void> {
    if (rec.sandbox.cgroup === undefined) return
    const cg = new Cgroup(this.layout, `${rec.sandbox.cgroup}/ctr-${container}`)
    for (let i = 0; i < 300 && cg.pids().length; i++) {
      cg.kill('SIGKILL')
      await sleep(10)
    }
  }

  /** Polls adopted launchers and pauses (no ChildProcess to tell us they ended). */
  private updatePolling(): void {
    const need = [...this.pods.values()].some((p) => p.pauseAdopted || [...p.containers.values()].some((c) => c.adopted))
    if (need && !this.pollTimer && !this.closed) {
      this.pollTimer = setInterval(() => this.poll(), this.opts.pollMs ?? 250)
    } else if (!need && this.pollTimer) {
      clearInterval(this.pollTimer)
      this.pollTimer = undefined
    }
  }

  private poll(): void {
    for (const pod of this.pods.values()) {
      if (pod.pauseAdopted && !pod.tearingDown && !isAlive(pod.pauseAdopted)) {
        delete pod.pauseAdopted
        this.sandboxDied(pod, 'the pause process exited')
        continue
      }
      for (const [name, crt] of pod.containers) {
        if (crt.adopted && !isAlive(crt.adopted)) this.onContainerExit(pod, name, crt.runId, null, null)
      }
    }
    this.updatePolling()
  }

  /**
   * Removes what no record accounts for: pod directories without a record (their pins and
   * /dev/shm unmounted), sandboxes of ended pods still (partly) up, and cgroups under the
   * parent that belong to no pod (their processes killed).
   */
  async gc(): Promise<GcReport> {
    const report: GcReport = { removedPods: [], tornDown: [], removedCgroups: [], errors: [] }
    const names = new Set(this.store.names())
    for (const name of names) {
      try {
        const rec = this.store.read(name)
        if (!rec) {
          this.cleanupLeftovers(name)
          await this.removeCgroupTree(`${this.cgroupParent}/${name}`)
          this.store.remove(name)
          report.removedPods.push(name)
          continue
        }
        if (!this.pods.has(name) && !isActive(rec) && rec.sandbox.state !== 'stopped') {
          const tmp: PodRt = { rec, containers: new Map(), stopping: true, tearingDown: false, queue: Promise.resolve() }
          await this.teardown(tmp)
          report.tornDown.push(name)
        }
      } catch (err) {
        report.errors.push(`pod ${name}: ${(err as Error).message}`)
      }
    }
    // cgroups of unknown pods
    const h = this.layout.hierarchies[0]
    if (h) {
      const { readdirSync, statSync } = await import('node:fs')
      let entries: string[] = []
      try {
        entries = readdirSync(join(h.mount, this.cgroupParent)).filter((e) => statSync(join(h.mount, this.cgroupParent, e)).isDirectory())
      } catch {
        entries = []
      }
      for (const e of entries) {
        const owner = names.has(e) ? this.store.read(e) : undefined
        if (owner && owner.reason !== 'Lost') continue // a Lost pod's processes have nobody
        try {
          await this.removeCgroupTree(`${this.cgroupParent}/${e}`)
          report.removedCgroups.push(`${this.cgroupParent}/${e}`)
        } catch (err) {
          report.errors.push(`cgroup ${this.cgroupParent}/${e}: ${(err as Error).message}`)
        }
      }
    }
    return report
  }

  /** Kills and removes a pod's cgroup directory and its children, in every hierarchy. */
  private async removeCgroupTree(path: string): Promise<void> {
    const { readdirSync, statSync } = await import('node:fs')
    const h = this.layout.hierarchies[0]
    if (!h) return
    let children: string[] = []
    try {
      children = readdirSync(join(h.mount, path)).filter((e) => statSync(join(h.mount, path, e)).isDirectory())
    } catch {
      return
    }
    for (const c of children) {
      const cg = new Cgroup(this.layout, `${path}/${c}`)
      cg.kill('SIGKILL')
      try { await cg.remove(3000) } catch { /* reported by a later gc */ }
    }
    new Cgroup(this.layout, path).kill('SIGKILL')
    Cgroup.removeIfEmpty(this.layout, path)
  }
}

function signalRef(ref: ProcessRef, sig: NodeJS.Signals): void {
  if (!isAlive(ref)) return
  try {
    process.kill(ref.pid, sig)
  } catch {
    // gone
  }
}

interface FieldMapping {
  mapping: PortMapping
  field: string
}

/** The pod's published ports as bridge port mappings, with the manifest field of each. */
export function portMappings(spec: PodSpec): FieldMapping[] {
  const out: FieldMapping[] = []
  spec.containers.forEach((c, i) => c.ports.forEach((p, j) => {
    if (p.hostPort === undefined) return
    const mapping: PortMapping = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol }
    if (p.hostIp !== undefined) mapping.hostIp = p.hostIp
    out.push({ mapping, field: `spec.containers[${i}].ports[${j}].hostPort` })
  }))
  return out
}

/** A taken host port becomes an error naming the manifest field. */
function mapAttachError(err: unknown, mappings: FieldMapping[]): unknown {
  if (err instanceof ExistsError && err.kind === 'host port') {
    const m = /(\d+)\/(tcp|udp)$/.exec(err.objectName)
    const hit = m ? mappings.find((x) => x.mapping.hostPort === Number(m[1]) && x.mapping.protocol === m[2]) : undefined
    return new InvalidArgumentError(hit?.field ?? 'spec.containers[].ports[].hostPort', `${err.objectName.toUpperCase().replace(/\/(TCP|UDP)$/, (s) => s)} is already taken: ${err.message}`)
  }
  return err
}

/** SIGKILLs every process in the network namespace pinned at `pin` and waits (up to 3 s) until they are gone. */
async function killNamespaceMembers(pin: string): Promise<void> {
  const inode = pinnedInode(pin)
  if (inode === undefined) return
  const refs = processesInNamespace('net', inode).map((pid) => processRef(pid)).filter((r): r is ProcessRef => r !== undefined)
  for (const r of refs) signalRef(r, 'SIGKILL')
  for (let i = 0; i < 300 && refs.some((r) => isAlive(r)); i++) await sleep(10)
  const left = refs.filter((r) => isAlive(r))
  if (left.length) throw new PodnetError(`processes ${left.map((r) => r.pid).join(', ')} in ${pin} survived SIGKILL`)
}
