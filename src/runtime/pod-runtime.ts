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
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { claimRunDir, withLock } from '../state/index.js'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError } from '../errors.js'
import { UndoStack } from '../bridge/undo.js'
import { Cgroup, detectCgroupLayout, ensureCgroupParent, type CgroupLayout } from './cgroups/index.js'
import { classifyExit } from './exit-classifier.js'
import { LogMarker } from './log-marks.js'
import { cleanupPodMounts, collectPodGarbage, removeCgroupTree, type GcReport } from './gc.js'
import { containerLaunchSpec, spawnLauncher } from './container.js'
import { ensureLauncher, parseLaunchStatus, takeExitRecord, type LaunchStatus } from './launcher.js'
import { checkRootfs, validatePodName, type ContainerSpec, type PodSpec } from './manifest.js'
import type { OwnerReference } from './labels.js'
import { BridgePodNetwork, type PodNetwork } from './network.js'
import { pauseCommand } from './pause.js'
import { applyLimitChanges } from './pod-network-limits.js'
import { childPids, isAlive, processRef, type ProcessRef } from './proc.js'
import { KUBERNETES_BACKOFF, finalPhase, formatDuration, nextBackoff, shouldRestart, type BackoffOptions } from './restart-policy.js'
import { abandonSandbox, createSandbox, killCgroupProcesses, signalRef, teardownSandbox, type SandboxDeps } from './sandbox.js'
import type { RunOptions, RuntimeOptions, StopOptions } from './options.js'
import { checkPodSecurity, privilegedCondition, resolveSecurity, seccompFilterBytes } from './security/index.js'
import { planRestore, thisBoot, type RestorePlan } from './restore.js'
import { finishRemovals, removalsToFinish } from './finish-removals.js'
import { ProbeManager, killRunForProbe } from './probes.js'
import { PodStore, lostRecord } from './state-store.js'
import { releaseIdRange } from './userns.js'
import { isActive, type ContainerStatus, type PodPhase, type PodRecord, type TerminatedState } from './types.js'

export { HALT_STAGES, type HaltStage } from './sandbox.js'
export type { GcReport } from './gc.js'

export type { RunOptions, RuntimeOptions, StopOptions } from './options.js'

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
  /** The run is being killed for a failed liveness/startup probe (probes.ts): restarted unless Never, with this message. */
  probeKill?: { message: string; timer?: NodeJS.Timeout | undefined }
}

interface PodRt {
  rec: PodRecord
  containers: Map<string, ContainerRt>
  pause?: ChildProcess
  pauseAdopted?: ProcessRef
  /** No more restarts: a stop or the sandbox's death is ending the pod. */
  stopping: boolean
  /** A deliberate stop (pod stop, pod rm) is ending it: the runs it ends are Stopped, not failed. */
  stopRequested?: boolean
  tearingDown: boolean
  queue: Promise<unknown>
  /** The stop (or sandbox death) in progress; later stop requests wait for it. */
  ending?: Promise<void>
  /** When SIGKILL comes at the latest while containers are given their grace period (a later stop can bring it forward). */
  graceDeadline?: number
  wakeGrace?: () => void
}

interface UnsavedRecord {
  rec: PodRecord
  /** The state dir's copy is due too. */
  persistent: boolean
  error: string
  since: string
  attempts: number
}

/** First retry of a failed record write, and the longest wait between retries. */
const WRITE_RETRY_MS = 1000
const WRITE_RETRY_MAX_MS = 30_000

const now = (): string => new Date().toISOString()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

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
  /** What the sandbox steps (sandbox.ts) and gc (gc.ts) need. */
  private readonly sb: SandboxDeps
  private pollTimer: NodeJS.Timeout | undefined
  private closed = false
  /** Notes the logs' sizes once a second (pod logs --since: log-marks.ts). */
  private readonly logMarker = new LogMarker(() => [...this.pods.values()].flatMap((p) => p.rec.containers.map((c) => c.logPath)))
  /** Records whose last write failed (a full disk), kept here and retried (see persist). */
  private readonly unsaved = new Map<string, UnsavedRecord>()
  private writeTimer: NodeJS.Timeout | undefined
  private writeDelayMs: number
  private retryingWrites = false
  /** This boot's id, recorded with every sandbox (restore.ts). */
  private readonly bootId: string | undefined
  private runClaimed = false
  /** Liveness, readiness and startup probes (probes.ts). */
  private readonly probes: ProbeManager

  constructor(opts: RuntimeOptions = {}) {
    super()
    this.opts = opts
    const dirs = { ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) }
    const bootId = opts.bootId ?? thisBoot()
    this.store = new PodStore({ ...dirs, ...(bootId !== undefined && { bootId }) })
    this.backoff = { ...KUBERNETES_BACKOFF, ...opts.backoff }
    this.cgroupParent = opts.cgroupParent ?? 'podnet'
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/.test(this.cgroupParent)) {
      throw new InvalidArgumentError('cgroup parent', `'${this.cgroupParent}' is not a relative cgroup path`)
    }
    this.layout = detectCgroupLayout()
    this.network = opts.network ?? new BridgePodNetwork({ stateDir: this.store.root, runDir: this.store.run, ...(bootId !== undefined && { bootId }) })
    this.ownsNetwork = opts.network === undefined
    this.writeDelayMs = opts.writeRetryMs ?? WRITE_RETRY_MS
    this.bootId = bootId
    this.sb = {
      store: this.store, layout: this.layout, cgroupParent: this.cgroupParent, network: this.network,
      shmSize: opts.shmSize ?? '64m', checkpoint: opts.checkpoint ?? (() => {}), launcher: () => this.launcher(),
      record: (rec) => { this.persist(rec) },
      ...(opts.usernsPool !== undefined && { usernsPool: opts.usernsPool }),
    }
    this.logMarker.start()
    this.probes = new ProbeManager(this, {
      launcher: () => this.launcher(), layout: this.layout, active: () => [...this.pods.values()].map((p) => p.rec),
      update: (name, fn) => { const pod = this.pods.get(name); if (pod && fn(pod.rec)) this.save(pod) },
      kill: (name, container, runToken, message, graceMs) => { this.killForProbe(name, container, runToken, message, graceMs) },
    })
  }

  /** Ends a run whose liveness or startup probe failed (probes.ts); onContainerExit restarts it unless restartPolicy is Never. */
  private killForProbe(name: string, container: string, runToken: string, message: string, graceMs: number): void {
    const pod = this.pods.get(name)
    const cs = pod?.rec.containers.find((c) => c.name === container)
    const crt = pod?.containers.get(container)
    if (!pod || !cs || !crt || pod.stopping || cs.state.status !== 'running' || cs.runToken !== runToken || crt.probeKill) return
    crt.probeKill = { message, timer: killRunForProbe(this.layout, cs, graceMs) }
  }

  private launcher(): string {
    return this.opts.launcher ?? ensureLauncher(this.store.binDir())
  }

  /** Stops watching (timers, polling). Pods keep running: a new runtime can adopt them. */
  close(): void {
    this.closed = true
    this.logMarker.stop()
    this.probes.close()
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = undefined
    if (this.writeTimer) clearTimeout(this.writeTimer)
    this.writeTimer = undefined
    for (const u of [...this.unsaved.values()]) this.persist(u.rec) // a last try
    for (const p of this.pods.values()) for (const c of p.containers.values()) if (c.timer) clearTimeout(c.timer)
    this.pods.clear()
    if (this.ownsNetwork) this.network.close()
  }

  /** The stored record of a pod. */
  get(name: string): PodRecord {
    const rec = this.pods.get(name)?.rec ?? this.unsaved.get(name)?.rec ?? this.store.read(name)
    if (!rec) throw new NotFoundError('pod', name)
    return rec
  }

  /** Every pod's record; where a write failed, the one this runtime holds. */
  list(): PodRecord[] {
    return this.store.list().map((r) => this.unsaved.get(r.name)?.rec ?? r)
  }

  /** Pods this runtime watches (running or restarting). */
  activeCount(): number {
    return [...this.pods.values()].filter((p) => isActive(p.rec)).length
  }

  /** Records whose write failed and is being retried (a full disk): pod, error, since when, attempts. */
  unsavedRecords(): Array<{ pod: string; error: string; since: string; attempts: number }> {
    return [...this.unsaved.values()].map((u) => ({ pod: u.rec.name, error: u.error, since: u.since, attempts: u.attempts }))
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

  /** Writes the pod's record (`persistent`: the state dir's copy too, see persist) and emits 'change'. */
  private save(pod: PodRt, persistent = false): void {
    this.persist(pod.rec, persistent)
    this.emit('change', pod.rec)
  }

  /**
   * Writes a pod's record. A failed write (a full disk) never throws and never stops the
   * supervision: the record gets a RecordWritten=False condition and goes to the live file when
   * that can be written (so `pod inspect` tells the truth: the run dir is tmpfs), this runtime
   * keeps it (get, list), reports it once ('write-failed', then 'write-recovered') and retries
   * every writeRetryMs, doubling up to 30 s, until a write succeeds. A removed pod's record is
   * never written again (store.write refuses to make its directory anew). Returns whether it
   * was written.
   *
   * `persistent`: an active pod's record goes to the state dir too (pod.json), for what a
   * reboot must not lose: its addresses once it runs, a container that has ended for good.
   */
  private persist(rec: PodRecord, persistent = false): boolean {
    const failed = this.unsaved.get(rec.name)
    persistent ||= failed?.persistent === true
    const cond = rec.conditions?.find((c) => c.type === 'RecordWritten')
    if (cond) {
      rec.conditions = rec.conditions!.filter((c) => c !== cond)
      if (!rec.conditions.length) delete rec.conditions
    }
    try {
      if (persistent && isActive(rec)) this.store.writePersistent(rec)
      this.store.write(rec)
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.unsaved.delete(rec.name)
        return false
      }
      const error = (err as Error).message
      rec.conditions = [...(rec.conditions ?? []), {
        type: 'RecordWritten', status: 'False', reason: 'WriteFailed', message: `${error} (kept by the supervisor, retried)`,
        lastTransitionTime: cond?.lastTransitionTime ?? now(),
      }]
      try {
        this.store.writeLive(rec)
      } catch {
        // the run dir cannot be written either: the record lives in this process until it can
      }
      this.unsaved.set(rec.name, { rec, error, persistent, since: failed?.since ?? now(), attempts: (failed?.attempts ?? 0) + 1 })
      if (!failed) this.emit('write-failed', rec.name, err)
      if (!this.retryingWrites) this.armWriteRetry()
      return false
    }
    if (failed) {
      this.unsaved.delete(rec.name)
      this.emit('write-recovered', rec.name, failed.attempts)
    }
    return true
  }

  private armWriteRetry(): void {
    if (this.writeTimer || this.closed) return
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined
      this.retryingWrites = true
      try {
        for (const u of [...this.unsaved.values()]) this.persist(u.rec)
      } finally {
        this.retryingWrites = false
      }
      if (this.unsaved.size) {
        this.writeDelayMs = Math.min(this.writeDelayMs * 2, WRITE_RETRY_MAX_MS)
        this.armWriteRetry()
      } else {
        this.writeDelayMs = this.opts.writeRetryMs ?? WRITE_RETRY_MS
      }
    }, this.writeDelayMs)
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
      this.save(pod, true) // the state dir's copy too: a restore after a reboot applies the limits in force
      return pod.rec
    })
  }

  /**
   * Replaces a pod's owner references (a workload adopting or orphaning it: src/workloads),
   * recorded in both of its records; also for an ended pod.
   */
  async setOwnerReferences(name: string, refs: OwnerReference[]): Promise<PodRecord> {
    const apply = (rec: PodRecord): void => {
      if (refs.length) rec.spec.ownerReferences = refs
      else delete rec.spec.ownerReferences
    }
    const pod = this.pods.get(name)
    if (!pod) {
      // an ended pod, or one waiting for its restore: its persistent record is the one to change
      const rec = this.store.readPersistent(name)
      if (!rec) throw new NotFoundError('pod', name)
      apply(rec)
      this.store.writePersistent(rec)
      const now = this.store.read(name) ?? rec
      this.emit('change', now)
      return now
    }
    return this.serial(pod, () => {
      apply(pod.rec)
      this.save(pod, true)
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
      if (spec.cgroups !== false) Cgroup.checkLimits(this.layout, c.limits, `spec.containers[${i}].resources.limits`)
    })
    if (spec.cgroups !== false) {
      const limited = spec.containers.findIndex((c) => c.limits.cpuMillis !== undefined || c.limits.memoryBytes !== undefined)
      ensureCgroupParent(this.layout, this.cgroupParent, limited >= 0 ? `spec.containers[${limited}].resources.limits` : undefined)
    }
    checkPodSecurity(spec)
    const pause = this.opts.pause ?? pauseCommand()
    this.launcher() // built (or found) before anything is created
    await this.claimRunDir()
    if (!this.store.claim(spec.name)) {
      const prior = this.store.read(spec.name)
      throw new ExistsError('pod', spec.name, prior && !isActive(prior) ? `(${prior.phase.toLowerCase()}; remove it with podnet pod rm)` : '(running)')
    }
    const name = spec.name
    const createdAt = now()
    const privileged = privilegedCondition(spec, createdAt)
    const rec: PodRecord = {
      name, spec, phase: 'Pending', createdAt, ...(this.bootId !== undefined && { bootId: this.bootId }),
      ...(privileged && { conditions: [privileged] }),
      sandbox: { state: 'creating', ips: [], ...(opts.hostNetns !== undefined && { hostNetns: opts.hostNetns }) },
      containers: spec.containers.map((c) => ({
        name: c.name, state: { status: 'waiting', reason: 'ContainerCreating' }, restartCount: 0, backoffStep: 0,
        logPath: this.store.logPath(name, c.name),
      })),
    }
    const pod: PodRt = { rec, containers: new Map(spec.containers.map((c) => [c.name, { runId: 0 }])), stopping: false, tearingDown: false, queue: Promise.resolve() }
    await UndoStack.run(async (undo) => {
      undo.push('remove the pod directories', () => this.store.remove(name))
      this.store.create(rec)
      mkdirSync(this.store.logDir(name), { recursive: true })
      mkdirSync(this.store.exitDir(name), { recursive: true })
      pod.pause = await createSandbox(this.sb, rec, pause, undo)
    })
    this.pods.set(name, pod)
    this.watchPause(pod)
    let failed: { container: string; err: Error } | undefined
    await this.serial(pod, async () => {
      for (const c of spec.containers) {
        const err = await this.startContainer(pod, c)
        if (err) {
          failed = { container: c.name, err }
          return
        }
      }
    })
    if (failed) await this.undoRun(pod, failed.container, failed.err)
    // the state dir learns the pod's addresses: a restore after a reboot asks for them again
    this.save(pod, true)
    return rec
  }

  /**
   * A pod whose launcher could not be started (spawn E2BIG, ENOMEM, a log that cannot be
   * opened): podnet's failure, not the container's, so nothing of the pod stays (its other
   * containers, the sandbox, the address and ports, the record), as when the sandbox fails.
   */
  private async undoRun(pod: PodRt, container: string, err: Error): Promise<never> {
    const name = pod.rec.name
    const what = `pod '${name}': container '${container}' could not be started (${err.message})`
    try {
      await this.stop(name, { gracePeriodSeconds: 0 })
      await this.remove(name)
    } catch (e) {
      throw new PodnetError(`${what}; undoing the pod failed (podnet pod rm ${name} retries): ${(e as Error).message}`, { cause: err })
    }
    throw new PodnetError(`${what}; the pod was undone`, { cause: err })
  }

  // -------------------------------------------------------------------------------------------
  // containers

  /**
   * Starts one run of container c. Whatever keeps its launcher from starting (the cgroup, the
   * log file, spawn(2) refusing with E2BIG or ENOMEM) ends the run as a StartError, as an exec
   * failure does, and is returned: the restart policy applies to it, and run() undoes a pod
   * whose first start failed so. Never throws.
   */
  private async startContainer(pod: PodRt, c: ContainerSpec): Promise<Error | undefined> {
    const rec = pod.rec
    const cs = rec.containers.find((x) => x.name === c.name)!
    const crt = pod.containers.get(c.name)!
    const sb = rec.sandbox
    if (pod.stopping || sb.state !== 'ready' || !sb.pins) return undefined
    const runToken = randomBytes(4).toString('hex')
    const runId = ++crt.runId
    delete crt.child
    delete crt.adopted
    delete crt.status
    delete crt.exitHandled
    crt.statusText = ''
    crt.exited = new Promise<void>((r) => { crt.markExited = r })
    let child: ChildProcess
    try {
      let cg: Cgroup | undefined
      if (sb.cgroup !== undefined) {
        cg = new Cgroup(this.layout, `${sb.cgroup}/ctr-${c.name}`)
        if (cs.cgroup === undefined) {
          cg.create(c.limits)
          cs.cgroup = cg.path
        }
        cs.oomKillsAtStart = cg.oomKills()
      }
      const security = resolveSecurity(rec.spec.securityContext, c.securityContext)
      const launch = containerLaunchSpec(rec, c, { cgroupProcs: cg ? cg.procsFiles() : [], exitFile: this.store.exitPath(rec.name, c.name, runToken), security })
      this.store.clearExitRecords(rec.name, c.name)
      child = spawnLauncher(this.launcher(), launch, cs.logPath, seccompFilterBytes(security))
    } catch (err) {
      crt.status = { ok: false, error: `cannot start the launcher: ${(err as Error).message}` }
      this.onContainerExit(pod, c.name, runId, 127, null)
      return err as Error
    }
    const launcherRef = child.pid !== undefined ? processRef(child.pid) : undefined
    this.sb.checkpoint('launch')
    cs.runToken = runToken
    crt.child = child
    if (launcherRef) {
      // recorded before it can report: a supervisor that dies now leaves a launcher the next one adopts
      cs.launching = { launcher: launcherRef, runToken, at: now() }
      this.persist(rec)
      this.sb.checkpoint('launched')
    }
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
      // the launcher could not be started (EAGAIN, EACCES, ENOENT: spawn reports them late)
      spawnError = err
      if (crt.runId === runId && !crt.exitHandled) crt.status = { ok: false, error: `cannot start the launcher: ${err.message}` }
      this.onContainerExit(pod, c.name, runId, 127, null)
    })
    child.once('close', (code, signal) => this.onContainerExit(pod, c.name, runId, code, signal))
    await Promise.race([statusDone, crt.exited])
    if (spawnError) return spawnError
    if (crt.runId !== runId || crt.exitHandled) return undefined // it has ended already (the exit is recorded)
    const st = parseLaunchStatus(crt.statusText)
    crt.status = st
    if (st.ok && st.pid !== undefined && launcherRef) {
      cs.state = { status: 'running', startedAt: now(), pid: st.pid, launcher: launcherRef }
      delete cs.launching
      this.save(pod)
    }
    return undefined
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
    const cg = cs.cgroup !== undefined ? new Cgroup(this.layout, cs.cgroup) : undefined
    const term = classifyExit({
      ...(exit && { exit }), code, signal, ...(st && { status: st }), now: now(), ...(pod.stopRequested && { stopped: true }),
      ...(cs.state.status === 'running' && { startedAt: cs.state.startedAt }),
      ...(cg && { oomKillsAtStart: cs.oomKillsAtStart ?? 0, oomKillsNow: cg.oomKills() }),
    })
    const ranMs = Date.parse(term.finishedAt) - Date.parse(term.startedAt)
    const probeKill = crt.probeKill
    delete crt.probeKill
    if (probeKill) {
      clearTimeout(probeKill.timer)
      term.message = probeKill.message
    }
    let endedForGood = false
    if (!pod.stopping && !this.closed && (shouldRestart(rec.spec.restartPolicy, term.exitCode) || (probeKill !== undefined && rec.spec.restartPolicy !== 'Never'))) {
      const next = nextBackoff({ step: cs.backoffStep }, ranMs, this.backoff)
      cs.backoffStep = next.state.step
      cs.lastState = term
      const restartAt = new Date(Date.now() + next.delayMs).toISOString()
      cs.state = {
        status: 'waiting', reason: 'CrashLoopBackOff', restartAt,
        message: `back-off ${formatDuration(next.delayMs)} restarting failed container=${name} pod=${rec.name}`,
      }
      this.armRestart(pod, spec, next.delayMs)
    } else {
      if (cs.state.status === 'terminated') cs.lastState = cs.state
      cs.state = term
      // ended for good while others run: a restore after a reboot must not run it again (OnFailure)
      endedForGood = !pod.stopping && rec.containers.some((x) => x.state.status !== 'terminated')
    }
    this.save(pod, endedForGood)
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
    this.logMarker.tick() // the logs' last sizes, while the pod is still listed
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

  /** Takes the sandbox down (sandbox.ts), marking the pod as tearing down meanwhile. */
  private async teardown(pod: PodRt): Promise<void> {
    if (pod.rec.sandbox.state === 'stopped') return
    pod.tearingDown = true
    try {
      await teardownSandbox(this.sb, pod.rec)
    } finally {
      pod.tearingDown = false
    }
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
    pod.stopRequested = true
    pod.ending = this.serial(pod, async () => {
      if (this.pods.get(name) !== pod) return // it ended meanwhile
      await this.killContainers(pod, graceMs)
      // a run the stop ended counts as a success; one that had failed before it still fails the pod
      await this.finish(pod, finalPhase(pod.rec.containers.map((c) => (c.state.status === 'terminated' && c.state.reason !== 'Stopped' ? c.state.exitCode : 0))), 'Stopped')
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
    if (pod) {
      if (isActive(pod.rec) && pod.rec.deletionTimestamp === undefined) {
        // the intent first, in the state dir: a reboot in the middle removes the pod, not restores it
        pod.rec.deletionTimestamp = now()
        pod.rec.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? pod.rec.spec.terminationGracePeriodSeconds
        this.persist(pod.rec, true)
        this.sb.checkpoint('removing')
      }
      await this.stop(name, opts)
      this.sb.checkpoint('removing-stopped')
    }
    const rec = this.unsaved.get(name)?.rec ?? this.store.read(name)
    this.unsaved.delete(name)
    if (!rec && !this.store.names().includes(name)) throw new NotFoundError('pod', name)
    if (rec && rec.sandbox.state !== 'stopped') {
      const tmp: PodRt = { rec, containers: new Map(), stopping: true, tearingDown: false, queue: Promise.resolve() }
      for (const cs of rec.containers) if (cs.state.status === 'running') signalRef(cs.state.launcher, 'SIGKILL')
      await this.teardown(tmp)
    }
    cleanupPodMounts(this.store, name)
    if (rec?.reason === 'Lost') {
      // its live state is gone, not necessarily its processes (a cleared run dir): end by the paths podnet uses
      await removeCgroupTree(this.layout, `${this.cgroupParent}/${name}`)
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
    releaseIdRange(this.store.root, name)
    this.emit('removed', name)
  }

  /**
   * Makes the run dir this boot's before any record in it is read or written (src/state/boot.ts):
   * one on disk that names an earlier boot is emptied (its live records, pins and the networks'
   * attachments described processes and kernel objects of that boot), under the run dir's lock
   * as the network side does. Once per runtime.
   */
  private async claimRunDir(): Promise<void> {
    if (this.runClaimed || this.bootId === undefined) return
    const bootId = this.bootId
    await withLock(join(this.store.run, 'lock'), () => { claimRunDir(this.store.run, bootId) })
    this.runClaimed = true
  }

  // -------------------------------------------------------------------------------------------
  // restore after a reboot (restore.ts)

  /**
   * Brings back the pods whose live state is gone (a reboot, a cleared run dir) as their
   * restartPolicy asks (restore.ts): a new sandbox with the same name and, when free, the same
   * addresses; the others end Failed (Lost). Every such pod is registered at once (a stop or rm
   * waits for its turn, and ends it), then they are restored one by one. Emits 'restored' and
   * 'lost' per pod. Returns the names of the pods that run again.
   */
  async restoreLost(): Promise<string[]> {
    const todo: Array<{ pod: PodRt; old: PodRecord; plan: RestorePlan }> = []
    for (const name of this.store.names()) {
      if (this.closed || this.pods.has(name) || this.store.hasLive(name)) continue
      const old = this.store.readPersistent(name)
      if (!old || !isActive(old)) continue
      const plan = planRestore(old, now(), this.bootId)
      const pod: PodRt = {
        rec: plan.restore ?? plan.final ?? lostRecord(old, this.store.run), containers: new Map(old.spec.containers.map((c) => [c.name, { runId: 0 }])),
        stopping: false, tearingDown: false, queue: Promise.resolve(),
      }
      this.pods.set(name, pod)
      todo.push({ pod, old, plan })
    }
    const restored: string[] = []
    for (const { pod, old, plan } of todo) {
      try {
        if (await this.serial(pod, () => this.restorePod(pod, old, plan))) restored.push(old.name)
      } catch (err) {
        this.emit('error', err)
      }
    }
    return restored
  }

  /** One lost pod: its leftovers ended, then a new sandbox and its containers, or its final record. */
  private async restorePod(pod: PodRt, old: PodRecord, plan: RestorePlan): Promise<boolean> {
    const name = old.name
    if (this.closed || pod.stopping || this.pods.get(name) !== pod) return false
    // what the lost sandbox may have left: its processes (a cleared run dir: they run on), mounts, its attachment
    cleanupPodMounts(this.store, name)
    await removeCgroupTree(this.layout, `${this.cgroupParent}/${name}`)
    if (old.spec.network !== undefined) {
      try {
        await this.network.detach({ network: old.spec.network, id: name, ...(old.sandbox.hostNetns !== undefined && { hostNetns: old.sandbox.hostNetns }) })
      } catch {
        // its records went with the run dir
      }
    }
    if (plan.remove) {
      this.pods.delete(name)
      await this.remove(name)
      return false
    }
    if (plan.final) {
      this.persist(plan.final)
      this.pods.delete(name)
      this.emit('change', plan.final)
      this.emit('lost', name, plan.final.message)
      return false
    }
    const rec = pod.rec
    try {
      // the new boot is recorded before anything is made
      this.store.writePersistent(rec)
      mkdirSync(this.store.logDir(name), { recursive: true })
      mkdirSync(this.store.exitDir(name), { recursive: true })
      await UndoStack.run(async (undo) => {
        pod.pause = await createSandbox(this.sb, rec, this.opts.pause ?? pauseCommand(), undo, plan.ips)
      })
    } catch (err) {
      // everything made was undone: the pod ends, saying why
      rec.phase = 'Failed'
      rec.reason = 'RestoreFailed'
      rec.message = `${rec.restored?.message ?? 'its live state was lost'}; no new sandbox: ${(err as Error).message}`
      rec.finishedAt = now()
      rec.sandbox = { state: 'stopped', ips: [], ...(rec.sandbox.hostNetns !== undefined && { hostNetns: rec.sandbox.hostNetns }) }
      for (const cs of rec.containers) {
        if (cs.state.status === 'waiting') {
          cs.state = cs.lastState ?? { status: 'terminated', exitCode: 0, reason: 'NotStarted', startedAt: rec.finishedAt, finishedAt: rec.finishedAt }
          if (cs.lastState === cs.state) delete cs.lastState
        }
      }
      this.persist(rec)
      this.pods.delete(name)
      this.emit('change', rec)
      this.emit('lost', name, rec.message)
      return false
    }
    this.watchPause(pod)
    for (const c of rec.spec.containers) if (plan.containers.includes(c.name)) await this.startContainer(pod, c)
    this.save(pod, true)
    this.emit('restored', name, rec.restored)
    return true
  }

  // -------------------------------------------------------------------------------------------
  // adoption and gc

  /**
   * Takes over the pods a previous runtime left (after a supervisor restart): watches live
   * launchers, processes the exits it missed, re-arms back-offs, tears down half-made sandboxes.
   * Returns the names of the pods it adopted.
   */
  async adopt(): Promise<string[]> {
    await this.claimRunDir()
    const adopted: PodRt[] = []
    for (const rec of this.store.list()) {
      if (this.pods.has(rec.name)) continue
      if (rec.sandbox.state === 'creating') {
        try {
          try {
            await abandonSandbox(this.sb, rec)
          } finally {
            this.emit('change', rec)
          }
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
    this.probes.syncAll() // probes resume for the running containers adopted
    // removals a killed supervisor began, of every pod (owned or not): finished in the background
    void finishRemovals(removalsToFinish(this.store, (n) => this.pods.has(n)), this, (err) => this.emit('error', err))
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
          if (rec.sandbox.cgroup !== undefined) await killCgroupProcesses(new Cgroup(this.layout, `${rec.sandbox.cgroup}/ctr-${cs.name}`))
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
   * parent that belong to no pod (their processes killed). See gc.ts.
   */
  gc(): Promise<GcReport> {
    return collectPodGarbage(this.sb, new Set(this.pods.keys()))
  }
}
