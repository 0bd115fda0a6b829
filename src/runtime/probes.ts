/**
 * ProbeManager: runs the liveness, readiness and startup probes of every running container of a
 * PodRuntime, and turns their results into the container's `ready`/`started` flags, the pod's
 * Ready and ContainersReady conditions, Unhealthy/Killing events, and kills of containers whose
 * liveness or startup probe failed (the runtime restarts them under their restartPolicy).
 *
 * It reconciles from the records: on every 'change' of a pod (and once after adoption, `syncAll`)
 * it starts a worker for each running container with probes (one per run, keyed by the run's
 * token) and stops the workers of runs that ended. So a restarted supervisor resumes probing
 * the containers it adopts, keeping a ready container ready until its probes say otherwise.
 * A worker runs each due probe every periodSeconds from initialDelaySeconds after the run
 * started; the meaning of results is in probe-state.ts (pure), the attempts in probe-check.ts.
 * Only pods with at least one probe are touched.
 */
import type { EventEmitter } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { Cgroup, type CgroupLayout } from './cgroups/index.js'
import { containerEnv, execArgs } from './launcher.js'
import type { ContainerSpec, PodSpec } from './manifest.js'
import { runProbe, type ExecTarget, type NetTarget } from './probe-check.js'
import { PROBE_FIELDS, hasProbes, type ProbeKind } from './probe-spec.js'
import { addEvent, applyProbeResult, initialProbeState, isReady, readyConditions, type ProbeOutcome, type ProbeRunState } from './probe-state.js'
import { isAlive } from './proc.js'
import { signalRef } from './sandbox.js'
import { resolveSecurity, seccompFilterBytes } from './security/index.js'
import { isActive, type ContainerStatus, type PodRecord } from './types.js'

export interface ProbeDeps {
  /** The launcher binary (exec probes). */
  launcher(): string
  layout: CgroupLayout
  /** The records of the pods the runtime supervises (live objects). */
  active(): PodRecord[]
  /** Applies fn to the live record of an active pod and saves it when fn returns true. */
  update(pod: string, fn: (rec: PodRecord) => boolean): void
  /** Ends the run `runToken` of a container for a failed probe (SIGTERM, graceMs, SIGKILL); the exit records `message`. */
  kill(pod: string, container: string, runToken: string, message: string, graceMs: number): void
}

const now = (): string => new Date().toISOString()

export const podHasProbes = (spec: PodSpec): boolean => spec.containers.some(hasProbes)

/** The probes of one run of one container. */
class ProbeWorker {
  readonly pod: string
  readonly spec: ContainerSpec
  readonly run: string
  state: ProbeRunState
  private stopped = false
  private killed = false
  private readonly timers = new Set<NodeJS.Timeout>()
  private netnsFd: number | undefined
  private readonly rec: PodRecord
  private readonly cs: ContainerStatus
  private readonly mgr: ProbeManager

  constructor(mgr: ProbeManager, rec: PodRecord, spec: ContainerSpec, cs: ContainerStatus) {
    this.mgr = mgr
    this.rec = rec
    this.pod = rec.name
    this.spec = spec
    this.cs = cs
    this.run = cs.runToken!
    this.state = initialProbeState(spec, cs.probedRun === this.run ? { ...(cs.ready !== undefined && { ready: cs.ready }), ...(cs.started !== undefined && { started: cs.started }) } : undefined)
  }

  start(): void {
    const st = this.cs.state
    const startedAt = st.status === 'running' ? Date.parse(st.startedAt) : Date.now()
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const p = this.spec[PROBE_FIELDS[kind]]
      if (!p) continue
      if (kind === 'startup' && this.state.started) continue
      this.schedule(kind, Math.max(0, startedAt + p.initialDelaySeconds * 1000 - Date.now()))
    }
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    if (this.netnsFd !== undefined) {
      try { closeSync(this.netnsFd) } catch { /* closed */ }
      this.netnsFd = undefined
    }
  }

  private schedule(kind: ProbeKind, ms: number): void {
    if (this.stopped || this.killed) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      void this.tick(kind)
    }, ms)
    this.timers.add(t)
  }

  private async tick(kind: ProbeKind): Promise<void> {
    const p = this.spec[PROBE_FIELDS[kind]]!
    if (this.stopped || this.killed) return
    const due = kind === 'startup' ? !this.state.started : this.state.started
    if (due) {
      const r = await runProbe(p, () => this.execTarget(p.exec?.command ?? []), () => this.netTarget())
      if (this.stopped || this.killed) return
      this.mgr.report(this, kind, applyProbeResult(this.spec, this.state, kind, r.ok, r.detail))
    }
    if (kind === 'startup' && this.state.started) return
    this.schedule(kind, p.periodSeconds * 1000)
  }

  /** After a kill: no more probes for this run. */
  markKilled(): void {
    this.killed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  /** `podnet pod exec`'s launch: the container's namespaces, cgroups, user, capabilities, seccomp and environment. */
  private execTarget(argv: string[]): ExecTarget {
    const st = this.cs.state
    if (st.status !== 'running') throw new Error('the container is not running')
    const rec = this.rec
    const security = resolveSecurity(rec.spec.securityContext, this.spec.securityContext)
    const filter = seccompFilterBytes(security)
    const args = execArgs({
      target: st.pid, cgroupProcs: this.cs.cgroup !== undefined ? new Cgroup(this.mgr.deps.layout, this.cs.cgroup).procsFiles() : [],
      env: containerEnv(rec.spec.hostname, this.spec.env), argv, security,
      ...(this.spec.workingDir !== undefined && { cwd: this.spec.workingDir }),
    })
    return { launcher: this.mgr.deps.launcher(), args, ...(filter && { filter }) }
  }

  private netTarget(): NetTarget {
    const pins = this.rec.sandbox.pins
    if (!pins) throw new Error('the pod has no network namespace')
    this.netnsFd ??= openSync(pins.net, 'r')
    const ip = this.rec.sandbox.ips.find((a) => !a.includes(':')) ?? this.rec.sandbox.ips[0]
    return { netnsFd: this.netnsFd, host: ip !== undefined ? ip.split('/')[0]! : '127.0.0.1' }
  }
}

export class ProbeManager {
  readonly deps: ProbeDeps
  private readonly workers = new Map<string, ProbeWorker>()
  private readonly onChange = (rec: PodRecord): void => { this.sync(rec) }
  private readonly onRemoved = (name: string): void => { this.stopPod(name) }
  private readonly events: EventEmitter

  constructor(events: EventEmitter, deps: ProbeDeps) {
    this.events = events
    this.deps = deps
    events.on('change', this.onChange)
    events.on('removed', this.onRemoved)
  }

  /** Reconciles every active pod (after adoption). */
  syncAll(): void {
    for (const rec of this.deps.active()) this.sync(rec)
  }

  /** Starts and stops workers for one pod's record, and brings its flags and conditions up to date. */
  sync(rec: PodRecord): void {
    if (!podHasProbes(rec.spec)) return
    if (!isActive(rec)) {
      // its last record: no container is ready any more
      this.stopPod(rec.name)
      this.deps.update(rec.name, (r) => this.applyFlags(r))
      return
    }
    for (const spec of rec.spec.containers) {
      const cs = rec.containers.find((c) => c.name === spec.name)
      if (!cs) continue
      const key = `${rec.name}/${spec.name}`
      const w = this.workers.get(key)
      const running = cs.state.status === 'running' && cs.runToken !== undefined
      if (w && (!running || w.run !== cs.runToken)) {
        w.stop()
        this.workers.delete(key)
      }
      if (running && hasProbes(spec) && !this.workers.has(key)) {
        const nw = new ProbeWorker(this, rec, spec, cs)
        this.workers.set(key, nw)
        nw.start()
      }
    }
    this.deps.update(rec.name, (r) => this.applyFlags(r))
  }

  /** Each container's ready/started flags from its worker (or its state), and the pod's conditions; true when something changed. */
  private applyFlags(rec: PodRecord): boolean {
    let changed = false
    for (const cs of rec.containers) {
      const w = this.workers.get(`${rec.name}/${cs.name}`)
      const running = cs.state.status === 'running'
      const want = running && w && w.run === cs.runToken
        ? { ready: isReady(w.state), started: w.state.started, probedRun: w.run }
        : { ready: running, started: running, probedRun: cs.runToken }
      if (cs.ready !== want.ready || cs.started !== want.started || cs.probedRun !== want.probedRun) {
        cs.ready = want.ready
        cs.started = want.started
        if (want.probedRun !== undefined) cs.probedRun = want.probedRun
        else delete cs.probedRun
        changed = true
      }
    }
    const conds = readyConditions(rec.containers, rec.conditions, now())
    if (conds) {
      rec.conditions = conds
      changed = true
    }
    return changed
  }

  /** A worker's result: flags, conditions and events recorded; a kill passed to the runtime. */
  report(w: ProbeWorker, kind: ProbeKind, o: ProbeOutcome): void {
    w.state = o.state
    if (o.kill) w.markKilled()
    this.deps.update(w.pod, (rec) => {
      const cs = rec.containers.find((c) => c.name === w.spec.name)
      if (!cs || cs.runToken !== w.run || this.workers.get(`${rec.name}/${cs.name}`) !== w) return false
      let changed = this.applyFlags(rec)
      if (o.event) {
        rec.events = addEvent(rec.events, { ...o.event, container: cs.name }, now())
        changed = true
      }
      if (o.kill) {
        const never = rec.spec.restartPolicy === 'Never'
        rec.events = addEvent(rec.events, {
          type: 'Normal', reason: 'Killing', container: cs.name,
          message: `Container ${cs.name} failed ${kind} probe, ${never ? 'will not be restarted (restartPolicy Never)' : 'will be restarted'}`,
        }, now())
        changed = true
      }
      return changed
    })
    if (o.kill) {
      const p = w.spec[PROBE_FIELDS[o.kill.kind]]!
      const rec = this.deps.active().find((r) => r.name === w.pod)
      const graceS = p.terminationGracePeriodSeconds ?? rec?.spec.terminationGracePeriodSeconds ?? 30
      this.deps.kill(w.pod, w.spec.name, w.run, o.kill.message, graceS * 1000)
    }
  }

  private stopPod(name: string): void {
    for (const [key, w] of this.workers) {
      if (w.pod !== name) continue
      w.stop()
      this.workers.delete(key)
    }
  }

  /** Stops every worker (the runtime closes; the pods run on, a new runtime probes them again). */
  close(): void {
    this.events.off('change', this.onChange)
    this.events.off('removed', this.onRemoved)
    for (const w of this.workers.values()) w.stop()
    this.workers.clear()
  }
}

/**
 * Ends a running container for a failed probe as the kubelet does: SIGTERM (the launcher
 * forwards it), then after graceMs SIGKILL to every process of its cgroup (or its process).
 * Returns the SIGKILL timer (cleared by the caller once the run has ended).
 */
export function killRunForProbe(layout: CgroupLayout, cs: ContainerStatus, graceMs: number): NodeJS.Timeout | undefined {
  const st = cs.state
  if (st.status !== 'running') return undefined
  signalRef(st.launcher, 'SIGTERM')
  const timer = setTimeout(() => {
    if (cs.state !== st) return // that run has ended
    if (cs.cgroup !== undefined) new Cgroup(layout, cs.cgroup).kill('SIGKILL')
    else if (isAlive(st.launcher)) { try { process.kill(st.pid, 'SIGKILL') } catch { /* gone */ } }
  }, graceMs)
  return timer
}
