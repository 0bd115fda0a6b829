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
 * restore: after a reboot, the pods whose live state is gone come back as restartPolicy asks.
 *
 * This file is the API; the container state machine under it is pod-machine.ts (records
 * written through record-writer.ts), adopt and restore are pod-recovery.ts.
 */
import { mkdirSync } from 'node:fs'
import { ExistsError, NotFoundError, PodnetError } from '../errors.js'
import { UndoStack } from '../bridge/undo.js'
import { Cgroup, ensureCgroupParent } from './cgroups/index.js'
import { cleanupPodMounts, collectPodGarbage, removeCgroupTree, type GcReport } from './gc.js'
import { checkRootfs, validatePodName, type PodSpec } from './manifest.js'
import type { OwnerReference } from './labels.js'
import { pauseCommand } from './pause.js'
import { applyLimitChanges } from './pod-network-limits.js'
import { finalPhase } from './restart-policy.js'
import { createSandbox, podDetachRequest, signalRef } from './sandbox.js'
import type { RunOptions, RuntimeOptions, StopOptions } from './options.js'
import { finishRemovals, removalsToFinish } from './finish-removals.js'
import { ProbeManager, killRunForProbe } from './probes.js'
import { checkPodSecurity, privilegedCondition } from './security/index.js'
import { releaseIdRange } from './userns.js'
import { PodRecovery } from './pod-recovery.js'
import { now, type PodRt } from './pod-state.js'
import { isActive, type PodRecord } from './types.js'

export { HALT_STAGES, type HaltStage } from './sandbox.js'
export type { GcReport } from './gc.js'

export type { RunOptions, RuntimeOptions, StopOptions } from './options.js'

/** Runs pods; emits 'change' (PodRecord) whenever a record changes. */
export class PodRuntime extends PodRecovery {
  /** Liveness, readiness and startup probes (probes.ts). */
  private readonly probes: ProbeManager

  constructor(opts: RuntimeOptions = {}) {
    super(opts)
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

  override close(): void {
    super.close()
    this.probes.close()
  }

  /** Adopts the pods an earlier runtime left running (pod-recovery.ts); their probes resume. */
  override async adopt(): Promise<string[]> {
    const names = await super.adopt()
    this.probes.syncAll() // probes resume for the running containers adopted
    // removals a killed supervisor began, of every pod (owned or not): finished in the background
    void finishRemovals(removalsToFinish(this.store, (n) => this.pods.has(n)), this, (err) => this.emit('error', err))
    return names
  }

  /** The stored record of a pod. */
  get(name: string): PodRecord {
    const rec = this.pods.get(name)?.rec ?? this.records.held(name) ?? this.store.read(name)
    if (!rec) throw new NotFoundError('pod', name)
    return rec
  }

  /** Every pod's record; where a write failed, the one this runtime holds. */
  list(): PodRecord[] {
    return this.store.list().map((r) => this.records.held(r.name) ?? r)
  }

  /** Pods this runtime watches (running or restarting). */
  activeCount(): number {
    return [...this.pods.values()].filter((p) => isActive(p.rec)).length
  }

  /** Records whose write failed and is being retried (a full disk): pod, error, since when, attempts. */
  unsavedRecords(): Array<{ pod: string; error: string; since: string; attempts: number }> {
    return this.records.report()
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
    return this.changeSpec(name, (spec) => {
      if (refs.length) spec.ownerReferences = refs
      else delete spec.ownerReferences
    })
  }

  /**
   * Sets (or, undefined, removes) the key under which a pod's addresses are kept while it has no
   * sandbox (PodSpec.addressReservation: a StatefulSet adopting or orphaning it), recorded in
   * both of its records; the next detach of the pod uses it. Also for an ended pod.
   */
  async setAddressReservation(name: string, key: string | undefined): Promise<PodRecord> {
    return this.changeSpec(name, (spec) => {
      if (key !== undefined) spec.addressReservation = key
      else delete spec.addressReservation
    })
  }

  /**
   * Frees the addresses reserved under keys starting with `keyPrefix` on every network (a
   * StatefulSet deleted: `statefulset/NAME/`); returns how many. 0 when the runtime's pod
   * network keeps no reservations.
   */
  async releaseAddressReservations(keyPrefix: string): Promise<number> {
    return (await this.network.releaseReservations?.(keyPrefix)) ?? 0
  }

  /** Changes a pod's spec in both of its records (metadata a controller owns: no restart, nothing else changes). */
  private async changeSpec(name: string, apply: (spec: PodSpec) => void): Promise<PodRecord> {
    const pod = this.pods.get(name)
    if (!pod) {
      // an ended pod, or one waiting for its restore: its persistent record is the one to change
      const rec = this.store.readPersistent(name)
      if (!rec) throw new NotFoundError('pod', name)
      apply(rec.spec)
      this.store.writePersistent(rec)
      const now = this.store.read(name) ?? rec
      this.emit('change', now)
      return now
    }
    return this.serial(pod, () => {
      apply(pod.rec.spec)
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
      pod.pause = await createSandbox(this.sb, rec, pause, undo, opts.ips)
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
    const rec = this.records.held(name) ?? this.store.read(name)
    this.records.forget(name)
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
          await this.network.detach(podDetachRequest(rec, rec.spec.network))
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
   * Removes what no record accounts for: pod directories without a record (their pins and
   * /dev/shm unmounted), sandboxes of ended pods still (partly) up, and cgroups under the
   * parent that belong to no pod (their processes killed). See gc.ts.
   */
  gc(): Promise<GcReport> {
    return collectPodGarbage(this.sb, new Set(this.pods.keys()))
  }
}
