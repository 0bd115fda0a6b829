/**
 * The pod runtime's state machine (PodRuntime, pod-runtime.ts, is its API; pod-recovery.ts
 * takes over the pods a dead supervisor or a reboot left): one run of a container from launch
 * to exit, the restart policy and CrashLoopBackOff, the pod's end when every container has ended
 * for good or its pause died, the grace period then SIGKILL of a stop, and the watching of
 * launchers and pauses by polling when this runtime did not start them. Every transition
 * runs in the pod's queue (serial) and is recorded (save) before the next.
 */
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { claimRunDir, withLock } from '../state/index.js'
import { InvalidArgumentError } from '../errors.js'
import { Cgroup, detectCgroupLayout, type CgroupLayout } from './cgroups/index.js'
import { classifyExit } from './exit-classifier.js'
import { LogMarker } from './log-marks.js'
import { containerLaunchSpec, spawnLauncher } from './container.js'
import { ensureLauncher, parseLaunchStatus, takeExitRecord } from './launcher.js'
import type { ContainerSpec } from './manifest.js'
import { BridgePodNetwork, type PodNetwork } from './network.js'
import { isAlive, processRef, type ProcessRef } from './proc.js'
import { KUBERNETES_BACKOFF, finalPhase, formatDuration, nextBackoff, shouldRestart, type BackoffOptions } from './restart-policy.js'
import { signalRef, teardownSandbox, type SandboxDeps } from './sandbox.js'
import type { RuntimeOptions } from './options.js'
import { resolveSecurity, seccompFilterBytes } from './security/index.js'
import { thisBoot } from './restore.js'
import { PodStore } from './state-store.js'
import { RecordWriter } from './record-writer.js'
import { now, type ContainerRt, type PodRt } from './pod-state.js'
import { isActive, type ContainerStatus, type PodPhase, type PodRecord, type TerminatedState } from './types.js'

/** Runs the pods' containers; emits 'change' (PodRecord) whenever a record changes. PodRuntime is its face. */
export abstract class PodMachine extends EventEmitter {
  readonly store: PodStore
  readonly backoff: BackoffOptions
  readonly cgroupParent: string
  readonly layout: CgroupLayout
  protected readonly opts: RuntimeOptions
  protected readonly network: PodNetwork
  private readonly ownsNetwork: boolean
  protected readonly pods = new Map<string, PodRt>()
  /** What the sandbox steps (sandbox.ts) and gc (gc.ts) need. */
  protected readonly sb: SandboxDeps
  private pollTimer: NodeJS.Timeout | undefined
  protected closed = false
  /** Notes the logs' sizes once a second (pod logs --since: log-marks.ts). */
  protected readonly logMarker = new LogMarker(() => [...this.pods.values()].flatMap((p) => p.rec.containers.map((c) => c.logPath)))
  /** Writes the records; keeps and retries those a full disk refused (record-writer.ts). */
  protected readonly records: RecordWriter
  /** This boot's id, recorded with every sandbox (restore.ts). */
  protected readonly bootId: string | undefined
  private runClaimed = false

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
    this.records = new RecordWriter(this.store, {
      ...(opts.writeRetryMs !== undefined && { retryMs: opts.writeRetryMs }),
      emit: (event, name, detail) => { this.emit(event, name, detail) },
    })
    this.bootId = bootId
    this.sb = {
      store: this.store, layout: this.layout, cgroupParent: this.cgroupParent, network: this.network,
      shmSize: opts.shmSize ?? '64m', checkpoint: opts.checkpoint ?? (() => {}), launcher: () => this.launcher(),
      record: (rec) => { this.persist(rec) },
      ...(opts.usernsPool !== undefined && { usernsPool: opts.usernsPool }),
    }
    this.logMarker.start()
  }

  protected launcher(): string {
    return this.opts.launcher ?? ensureLauncher(this.store.binDir())
  }

  /** Stops watching (timers, polling). Pods keep running: a new runtime can adopt them. */
  close(): void {
    this.closed = true
    this.logMarker.stop()
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = undefined
    this.records.close()
    for (const p of this.pods.values()) for (const c of p.containers.values()) if (c.timer) clearTimeout(c.timer)
    this.pods.clear()
    if (this.ownsNetwork) this.network.close()
  }

  /** Writes the pod's record (`persistent`: the state dir's copy too, see persist) and emits 'change'. */
  protected save(pod: PodRt, persistent = false): void {
    this.persist(pod.rec, persistent)
    this.emit('change', pod.rec)
  }

  /** Writes a pod's record (`persistent`: the state dir's copy too); a failed write is kept and retried (record-writer.ts). */
  protected persist(rec: PodRecord, persistent = false): boolean {
    return this.records.persist(rec, persistent)
  }

  /** Runs fn after every earlier operation on the pod. */
  protected serial<T>(pod: PodRt, fn: () => Promise<T> | T): Promise<T> {
    const p = pod.queue.then(fn, fn)
    pod.queue = p.catch(() => undefined)
    return p
  }

  /**
   * Makes the run dir this boot's before any record in it is read or written (src/state/boot.ts):
   * one on disk that names an earlier boot is emptied (its live records, pins and the networks'
   * attachments described processes and kernel objects of that boot), under the run dir's lock
   * as the network side does. Once per runtime.
   */
  protected async claimRunDir(): Promise<void> {
    if (this.runClaimed || this.bootId === undefined) return
    const bootId = this.bootId
    await withLock(join(this.store.run, 'lock'), () => { claimRunDir(this.store.run, bootId) })
    this.runClaimed = true
  }

  // -------------------------------------------------------------------------------------------
  // containers

  /**
   * Starts one run of container c. Whatever keeps its launcher from starting (the cgroup, the
   * log file, spawn(2) refusing with E2BIG or ENOMEM) ends the run as a StartError, as an exec
   * failure does, and is returned: the restart policy applies to it, and run() undoes a pod
   * whose first start failed so. Never throws.
   */
  protected async startContainer(pod: PodRt, c: ContainerSpec): Promise<Error | undefined> {
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
      child = spawnLauncher(this.launcher(), launch, cs.logPath, seccompFilterBytes(security), this.store.runPodDir(rec.name))
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
  protected onContainerExit(pod: PodRt, name: string, runId: number, code: number | null, signal: NodeJS.Signals | null): void {
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

  protected armRestart(pod: PodRt, spec: ContainerSpec, delayMs: number): void {
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
  protected async finish(pod: PodRt, phase: PodPhase, reason?: string, message?: string): Promise<void> {
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

  protected watchPause(pod: PodRt): void {
    const died = (): void => {
      if (!pod.tearingDown && this.pods.get(pod.rec.name) === pod) this.sandboxDied(pod, 'the pause process exited')
    }
    const p = pod.pause
    if (!p) return
    if (p.exitCode !== null || p.signalCode !== null) died() // it ended before we listened
    else p.once('exit', died)
  }

  /** The pause died under a live pod: its namespaces are no longer whole; end the pod. */
  protected sandboxDied(pod: PodRt, message: string): void {
    if (pod.stopping) return
    pod.stopping = true
    pod.ending = this.serial(pod, async () => {
      await this.killContainers(pod, 0)
      await this.finish(pod, 'Failed', 'SandboxDied', message)
    }).catch((err) => { this.emit('error', err) })
  }

  /** Takes the sandbox down (sandbox.ts), marking the pod as tearing down meanwhile. */
  protected async teardown(pod: PodRt): Promise<void> {
    if (pod.rec.sandbox.state === 'stopped') return
    pod.tearingDown = true
    try {
      await teardownSandbox(this.sb, pod.rec)
    } finally {
      pod.tearingDown = false
    }
  }

  // -------------------------------------------------------------------------------------------
  // ending: the grace period, then SIGKILL

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
  protected async killContainers(pod: PodRt, graceMs: number): Promise<void> {
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

  // -------------------------------------------------------------------------------------------
  // launchers and pauses this runtime did not start (pod-recovery.ts hands them over)

  /** Watches a launcher this runtime did not start (by polling). */
  protected watchAdopted(crt: ContainerRt, launcher: ProcessRef): void {
    crt.runId++
    crt.adopted = launcher
    delete crt.exitHandled
    delete crt.status
    delete crt.statusText
    crt.exited = new Promise<void>((r) => { crt.markExited = r })
  }


  /** Polls adopted launchers and pauses (no ChildProcess to tell us they ended). */
  protected updatePolling(): void {
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
}
