/**
 * What a container's end means: a pure function from what the launcher left (its exit record,
 * the status it reported on fd 3, how its own process ended) and the cgroup's OOM count to
 * Kubernetes' terminated state (exit code, reason, message, times). No kernel, no files.
 */
import type { ExitRecord, LaunchStatus } from './launcher.js'
import type { TerminatedState } from './types.js'

/** Signal numbers of the names Node reports for a child's end. */
const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 }

export interface ExitFacts {
  /** The exit record the launcher wrote when the container ended (none when the launcher itself was killed). */
  exit?: ExitRecord
  /** How the launcher process ended (its own status; null for an adopted one nobody waited for). */
  code: number | null
  signal: NodeJS.Signals | null
  /** What the launcher reported on its status fd ('pid N', 'ok', or 'error ...'). */
  status?: LaunchStatus
  /** The container's cgroup OOM-kill count when the run started and now (undefined without a memory cgroup). */
  oomKillsAtStart?: number
  oomKillsNow?: number
  /** When the run started, if the record knows (a running state's startedAt). */
  startedAt?: string
  /** Now, as ISO text (injected for tests). */
  now: string
  /** The run ended because the pod was deliberately stopped (pod stop, pod rm): not a failure. */
  stopped?: boolean
}

/**
 * The terminated state of a run:
 * - with an exit record: its exit code and signal, its start error (reason StartError);
 * - without one (the launcher was killed, or could not start): 128 + signal from the launcher's
 *   own status (SIGKILL when unknown), the launcher's reported error or "killed" as the message;
 *   reason StartError when the launcher reported an error before the container ran;
 * - otherwise OOMKilled when the cgroup counted an OOM kill during the run, else Completed (0),
 *   Stopped (a non-zero end, 143 after SIGTERM or 137 after SIGKILL, of a run a deliberate stop
 *   ended: podman's "Exited (143)", not a failure) or Error.
 */
export function classifyExit(f: ExitFacts): TerminatedState {
  const { exit } = f
  const startedAt = f.startedAt ?? (exit ? new Date(exit.startedAtMs).toISOString() : f.now)
  let exitCode: number
  let signal: number | undefined
  let message: string | undefined
  if (exit) {
    exitCode = exit.exitCode
    if (exit.signal) signal = exit.signal
    if (exit.startError) message = exit.startError
  } else {
    signal = f.signal ? SIGNALS[f.signal] ?? 9 : undefined
    exitCode = f.code ?? 128 + (signal ?? 9)
    message = f.status && !f.status.ok ? f.status.error : 'the launcher ended without an exit record (it was killed)'
  }
  let reason: string
  if (exit?.startError || (!exit && f.status && !f.status.ok)) reason = 'StartError'
  else if (f.oomKillsNow !== undefined && f.oomKillsNow > (f.oomKillsAtStart ?? 0)) reason = 'OOMKilled'
  else reason = exitCode === 0 ? 'Completed' : f.stopped ? 'Stopped' : 'Error'
  return {
    status: 'terminated', exitCode, reason, startedAt, finishedAt: exit ? new Date(exit.finishedAtMs).toISOString() : f.now,
    ...(signal !== undefined && { signal }), ...(message !== undefined && { message }),
  }
}
