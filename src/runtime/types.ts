/** The pod and container records podnet keeps (pods/<name>/pod.json) and shows in `pod inspect`. */
import type { PodSpec } from './manifest.js'
import type { NamespacePins } from './namespaces.js'
import type { ProcessRef } from './proc.js'
import type { VolumeRecord } from './volumes.js'

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed'

/** A container that ended (Kubernetes' ContainerStateTerminated). */
export interface TerminatedState {
  status: 'terminated'
  exitCode: number
  /** The signal that ended it, if one did. */
  signal?: number
  /** Completed, Error, OOMKilled, StartError, Stopped (ended by a deliberate stop: not a failure). */
  reason: string
  message?: string
  startedAt: string
  finishedAt: string
}

export interface RunningState {
  status: 'running'
  startedAt: string
  /** Host pid of the container's process. */
  pid: number
  /** The launcher that waits for it (and writes its exit record). */
  launcher: ProcessRef
}

export interface WaitingState {
  status: 'waiting'
  /** ContainerCreating, CrashLoopBackOff. */
  reason: string
  message?: string
  /** When the back-off ends (CrashLoopBackOff). */
  restartAt?: string
}

export type ContainerState = TerminatedState | RunningState | WaitingState

export interface ContainerStatus {
  name: string
  state: ContainerState
  /** The previous run, once the container has ended at least once. */
  lastState?: TerminatedState
  restartCount: number
  /** CrashLoopBackOff step (0: the next delay is the base). */
  backoffStep: number
  /** cgroup path below each hierarchy's root. */
  cgroup?: string
  /** OOM kills of the cgroup when the current run started. */
  oomKillsAtStart?: number
  logPath: string
  /** Names the exit record of the current (or last) run: exit/<container>.<runToken>. */
  runToken?: string
  /**
   * A run whose launcher was started but has not reported yet (recorded right after the
   * spawn). A supervisor that finds it adopts that launcher instead of starting another run.
   */
  launching?: { launcher: ProcessRef; runToken: string; at: string }
  /**
   * Containers of a pod with probes (probes.ts): passing its readiness probe (or running, without
   * one) after its startup probe; `started`: the startup probe has passed (or there is none).
   * Both belong to the run `probedRun` (a runToken) and start false with each run.
   */
  ready?: boolean
  started?: boolean
  probedRun?: string
}

/** Something that happened to a pod (Kubernetes' Event, kept in the record): probe failures, probe kills. */
export interface PodEvent {
  type: 'Normal' | 'Warning'
  /** Unhealthy, Killing. */
  reason: string
  message: string
  container?: string
  /** Identical consecutive events are counted, as Kubernetes aggregates them. */
  count: number
  firstTimestamp: string
  lastTimestamp: string
}

export interface SandboxRecord {
  /** creating: setup in progress; ready: namespaces and pause up; stopped: torn down. */
  state: 'creating' | 'ready' | 'stopped'
  pins?: NamespacePins
  pause?: ProcessRef
  /** The pod's /dev/shm (a tmpfs mounted in the state dir). */
  shm?: string
  /** The pod's volumes on the host (volumes.ts), named before they are made; tmpfs ones are unmounted at teardown. */
  volumes?: VolumeRecord[]
  /** The pod's cgroup path (parent of the containers'). */
  cgroup?: string
  /** The named namespace that plays the host for the network, if not the supervisor's own. */
  hostNetns?: string
  network?: string
  attached?: boolean
  /** Pod addresses (CIDR) on the network. */
  ips: string[]
  hostsFile?: string
  resolvFile?: string
  hostnameFile?: string
  /** hostUsers: false: the host IDs the pod's 0-65535 map to. */
  userns?: { hostId: number; size: number }
  /** Why the last teardown was incomplete (the sandbox is then not 'stopped': pod rm and pod gc retry). */
  teardownError?: string
}

/**
 * A condition of the pod, as Kubernetes' PodCondition. podnet sets:
 *   RecordWritten  False (reason WriteFailed) while a record write fails (a full disk): the
 *                  supervisor keeps the record in memory and retries; the condition goes once
 *                  the write succeeds.
 *   Privileged     True (reason PrivilegedContainers) for the pod's life when a container has
 *                  `privileged: true`; the message names them and what that opens.
 *   Ready, ContainersReady  in pods with probes (probes.ts): True when every container is
 *                  ready, else False (reason ContainersNotReady, the message names them).
 */
export interface PodCondition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastTransitionTime: string
}

export interface PodRecord {
  name: string
  spec: PodSpec
  phase: PodPhase
  /**
   * Why the pod ended when that was not its containers' doing: Stopped, SandboxDied,
   * SetupInterrupted, Lost, NodeRestart (see restore.ts).
   */
  reason?: string
  message?: string
  createdAt: string
  startedAt?: string
  finishedAt?: string
  /** The boot (/proc/sys/kernel/random/boot_id) the current sandbox was made in. */
  bootId?: string
  /**
   * When `pod rm` was asked for (Kubernetes' metadata.deletionTimestamp), recorded in the state
   * dir before the pod is stopped: a reboot in the middle of it removes the pod instead of
   * restoring it.
   */
  deletionTimestamp?: string
  /**
   * The grace period `pod rm` gave (Kubernetes' metadata.deletionGracePeriodSeconds), recorded
   * with deletionTimestamp: a removal the next supervisor finishes gets what is left of it
   * (finish-removals.ts).
   */
  deletionGracePeriodSeconds?: number
  /** The last time the pod was brought back after its live state was lost (restore.ts), and how often. */
  restored?: { count: number; at: string; cause: 'NodeRestart' | 'RunDirLost'; message: string }
  conditions?: PodCondition[]
  /** The last events (probes.ts), oldest first. */
  events?: PodEvent[]
  sandbox: SandboxRecord
  containers: ContainerStatus[]
}

/** True while a pod holds processes or will start some. */
export const isActive = (p: PodRecord): boolean => p.phase === 'Pending' || p.phase === 'Running'

/**
 * The exit status of an ended pod, as `podnet pod run` (without -d) exits with it: the exit code
 * of the first container (in manifest order) whose last run ended non-zero (3, 137 after SIGKILL,
 * 143 after SIGTERM, 127 for StartError; also for a pod a stop ended, Succeeded (Stopped), as
 * `docker run` exits 143 when interrupted), else 0 when it Succeeded, else 1.
 */
export function podExitStatus(p: PodRecord): number {
  for (const c of p.containers) if (c.state.status === 'terminated' && c.state.exitCode !== 0) return c.state.exitCode
  return p.phase === 'Succeeded' ? 0 : 1
}
