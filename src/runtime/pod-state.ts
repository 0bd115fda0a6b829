/**
 * What the pod runtime holds in memory for each pod it watches, beside the pod's record: the
 * launcher of each container's current run (a child, or an adopted one checked by polling), the
 * pod's queue of operations and the state of its ending. Nothing here outlives the process: a
 * new runtime rebuilds it from the records (pod-recovery.ts).
 */
import type { ChildProcess } from 'node:child_process'
import type { LaunchStatus } from './launcher.js'
import type { ProcessRef } from './proc.js'
import type { PodRecord } from './types.js'

export interface ContainerRt {
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
  /** The run is being killed for a failed liveness/startup probe (probes.ts): restarted unless Never, with this message. */
  probeKill?: { message: string; timer?: NodeJS.Timeout | undefined }
  status?: LaunchStatus
}

export interface PodRt {
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

export const now = (): string => new Date().toISOString()
