/**
 * Kubernetes' restart rules and CrashLoopBackOff, as pure functions.
 *
 * - Always restarts after any exit, OnFailure after a non-zero exit (or a signal), Never never.
 * - Every restart waits: base, then twice as long after each further exit, capped at max
 *   (Kubernetes: 10 s, 20 s, 40 s ... 5 min). A container that ran for at least `resetAfterMs`
 *   (Kubernetes: 10 min) before it exited starts over at base.
 */
import type { RestartPolicy } from './manifest.js'

export interface BackoffOptions {
  baseMs: number
  maxMs: number
  /** A run at least this long resets the back-off. */
  resetAfterMs: number
}

export const KUBERNETES_BACKOFF: BackoffOptions = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 }

/** Whether a container that exited with exitCode is restarted under policy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  switch (policy) {
    case 'Always': return true
    case 'OnFailure': return exitCode !== 0
    case 'Never': return false
  }
}

export interface BackoffState {
  /** How many back-off steps have been taken since the last reset. */
  step: number
}

/**
 * The delay before the next start of a container that ran for ranMs, and the new state.
 * step 0 -> base, 1 -> 2*base, 2 -> 4*base ... capped at max.
 */
export function nextBackoff(state: BackoffState, ranMs: number, opts: BackoffOptions): { delayMs: number; state: BackoffState } {
  const step = ranMs >= opts.resetAfterMs ? 0 : state.step
  const delayMs = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(step, 40))
  return { delayMs, state: { step: step + 1 } }
}

/** The phase of a pod whose containers have all ended for good: Succeeded when every one exited 0. */
export function finalPhase(exitCodes: readonly number[]): 'Succeeded' | 'Failed' {
  return exitCodes.every((c) => c === 0) ? 'Succeeded' : 'Failed'
}

/** A back-off delay as Kubernetes prints it in its messages: 800ms, 10s, 2m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const s = ms / 1000
  return s < 60 ? `${Math.round(s * 10) / 10}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`
}
