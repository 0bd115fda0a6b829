/**
 * What probe results mean, as pure functions (no timers, no kernel): probes.ts feeds them each
 * result and acts on the decision. Kubernetes' prober rules:
 *
 * - A startup probe gates the others: until it has succeeded once, only it runs, and the
 *   container is neither started nor ready. failureThreshold consecutive failures kill the
 *   container ("Startup probe failed: ..."), which restarts under its restartPolicy.
 * - Readiness starts as failure: successThreshold consecutive successes make the container
 *   ready, failureThreshold consecutive failures make it unready again. Without a readiness
 *   probe a started container is ready.
 * - Liveness starts as success: failureThreshold consecutive failures kill the container.
 * - Every failure is an Unhealthy event ("Liveness probe failed: connection refused").
 * - The pod is Ready (and ContainersReady) when every container is ready.
 */
import type { PodCondition, PodEvent } from './types.js'
import { PROBE_FIELDS, PROBE_TITLES, type ContainerProbes, type ProbeKind } from './probe-spec.js'

export interface ProbeCounters { successes: number; failures: number }

/** The probe state of one run of one container. */
export interface ProbeRunState {
  /** The startup probe has succeeded (or there is none). */
  started: boolean
  /** The readiness probe's current result (true without one). */
  readinessOk: boolean
  counters: Record<ProbeKind, ProbeCounters>
}

export interface ProbeOutcome {
  state: ProbeRunState
  ready: boolean
  started: boolean
  /** The container is to be killed (and restarted under its restartPolicy). */
  kill?: { kind: 'liveness' | 'startup'; message: string }
  /** An event to record. */
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string }
}

const zero = (): Record<ProbeKind, ProbeCounters> => ({ startup: { successes: 0, failures: 0 }, readiness: { successes: 0, failures: 0 }, liveness: { successes: 0, failures: 0 } })

/**
 * A run's first state. `prior` is what the record says about this same run (a restarted
 * supervisor keeps a ready container ready until its probes say otherwise).
 */
export function initialProbeState(c: ContainerProbes, prior?: { ready?: boolean; started?: boolean }): ProbeRunState {
  const started = c.startupProbe === undefined || prior?.started === true
  return { started, readinessOk: c.readinessProbe === undefined || (started && prior?.ready === true), counters: zero() }
}

/** Ready: started and passing readiness. */
export const isReady = (s: ProbeRunState): boolean => s.started && s.readinessOk

/** The probes that run now: the startup probe alone until it has succeeded, then liveness and readiness. */
export function dueProbes(c: ContainerProbes, s: ProbeRunState): ProbeKind[] {
  if (!s.started) return c.startupProbe ? ['startup'] : []
  return (['liveness', 'readiness'] as const).filter((k) => c[PROBE_FIELDS[k]] !== undefined)
}

/** Applies one result of probe `kind` (ignored when that probe is not due). */
export function applyProbeResult(c: ContainerProbes, s: ProbeRunState, kind: ProbeKind, ok: boolean, detail: string): ProbeOutcome {
  const probe = c[PROBE_FIELDS[kind]]
  if (!probe || !dueProbes(c, s).includes(kind)) return { state: s, ready: isReady(s), started: s.started }
  const counters = { ...s.counters, [kind]: ok ? { successes: s.counters[kind].successes + 1, failures: 0 } : { successes: 0, failures: s.counters[kind].failures + 1 } }
  const state: ProbeRunState = { ...s, counters }
  const out: ProbeOutcome = { state, ready: false, started: false }
  const n = counters[kind]
  if (ok) {
    if (kind === 'startup' && n.successes >= probe.successThreshold) state.started = true
    if (kind === 'readiness' && n.successes >= probe.successThreshold) state.readinessOk = true
  } else {
    const message = `${PROBE_TITLES[kind]} probe failed: ${detail}`
    out.event = { type: 'Warning', reason: 'Unhealthy', message }
    if (n.failures >= probe.failureThreshold) {
      if (kind === 'readiness') state.readinessOk = false
      else {
        out.kill = { kind, message }
        state.counters = zero()
      }
    }
  }
  out.ready = isReady(state)
  out.started = state.started
  return out
}

/**
 * The pod's Ready and ContainersReady conditions for these containers' readiness, keeping a
 * condition's lastTransitionTime while its status stays. Returns the new condition list, or
 * undefined when nothing changes.
 */
export function readyConditions(containers: ReadonlyArray<{ name: string; ready?: boolean }>, conditions: readonly PodCondition[] | undefined, now: string): PodCondition[] | undefined {
  const unready = containers.filter((c) => c.ready !== true).map((c) => c.name)
  const status = unready.length ? 'False' : 'True'
  const list = [...(conditions ?? [])]
  let changed = false
  for (const type of ['ContainersReady', 'Ready']) {
    const i = list.findIndex((c) => c.type === type)
    const prev = i >= 0 ? list[i] : undefined
    const next: PodCondition = {
      type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
      ...(unready.length > 0 && { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` }),
    }
    if (prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message) continue
    changed = true
    if (i >= 0) list[i] = next
    else list.push(next)
  }
  return changed ? list : undefined
}

/** How many events a pod record keeps. */
export const EVENTS_KEPT = 20

/** Appends an event (counted into the last one when it is the same), keeping the last EVENTS_KEPT. */
export function addEvent(events: readonly PodEvent[] | undefined, ev: { type: 'Normal' | 'Warning'; reason: string; message: string; container?: string }, now: string): PodEvent[] {
  const list = [...(events ?? [])]
  const last = list[list.length - 1]
  if (last && last.type === ev.type && last.reason === ev.reason && last.message === ev.message && last.container === ev.container) {
    list[list.length - 1] = { ...last, count: last.count + 1, lastTimestamp: now }
    return list
  }
  list.push({ ...ev, count: 1, firstTimestamp: now, lastTimestamp: now })
  return list.slice(-EVENTS_KEPT)
}
