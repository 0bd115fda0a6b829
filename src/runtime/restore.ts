/**
 * Pods whose live state is gone: after a reboot (the run dir is tmpfs; the pause, the launchers
 * and the containers died with the machine) or a run dir cleared under running pods. What is
 * left is the persistent record (pods/<name>/pod.json in the state dir), still active.
 *
 * What the kubelet does after a node restart, and podnet's supervisor when it starts:
 * - restartPolicy Never: no new sandbox; the pod ends Failed, reason Lost, its containers that
 *   had not ended terminated as ContainerStatusUnknown (exit 137);
 * - Always: a new sandbox (same name, the same addresses when still free), every container
 *   started again (restartCount + 1, lastState the lost run);
 * - OnFailure: likewise, the reboot counting as a failure; containers that had completed
 *   (exit 0, recorded persistently when they ended) are not run again;
 * - a pod whose `pod rm` was under way (deletionTimestamp) is removed, whatever its policy.
 *
 * How a reboot is told from a cleared run dir: the record names the boot it was made in
 * (/proc/sys/kernel/random/boot_id). A run dir on disk that names an earlier boot (src/state/
 * boot.ts) is void: the runtime claims it for this boot (emptying it) before it reads records. The same boot means the old processes may still run: the
 * supervisor ends them (the pod's cgroup tree) before it makes the new sandbox. Pure functions
 * here; PodRuntime.restoreLost does the work.
 */
import { currentBootId } from '../state/index.js'
import type { ContainerStatus, PodRecord, TerminatedState } from './types.js'

/** This boot's id (src/state/boot.ts); undefined when it cannot be read. */
export function thisBoot(): string | undefined {
  try {
    return currentBootId() || undefined
  } catch {
    return undefined
  }
}

/** Why a pod's live state is gone. */
export type LostCause = 'NodeRestart' | 'RunDirLost'

export function lostCause(rec: PodRecord, bootId: string | undefined): LostCause {
  return rec.bootId !== undefined && bootId !== undefined && rec.bootId !== bootId ? 'NodeRestart' : 'RunDirLost'
}

export function describeLoss(rec: PodRecord, bootId: string | undefined): string {
  if (lostCause(rec, bootId) === 'NodeRestart') return `the node rebooted (boot ${rec.bootId} -> ${bootId})`
  if (rec.bootId === undefined || bootId === undefined) return 'its live state is gone (the node rebooted or the run directory was cleared)'
  return 'its live state is gone (the run directory was cleared; same boot)'
}

/** The state a container's lost run ends in (as kubelet reports a container it cannot find). */
export function lostRunState(at: string): TerminatedState {
  return { status: 'terminated', exitCode: 137, reason: 'ContainerStatusUnknown', message: 'the container state was lost', startedAt: at, finishedAt: at }
}

/** Whether a container runs again in the new sandbox (kubelet's computePodActions after a sandbox change). */
export function restartsAfterLoss(policy: PodRecord['spec']['restartPolicy'], c: ContainerStatus): boolean {
  if (policy === 'Never') return false
  if (policy === 'OnFailure') return !(c.state.status === 'terminated' && c.state.exitCode === 0)
  return true
}

export interface RestorePlan {
  /** Its removal was under way (deletionTimestamp): finish it instead. */
  remove?: boolean
  /** The record of the new sandbox (phase Pending, sandbox creating), or undefined: no restore. */
  restore?: PodRecord
  /** The containers that run again. */
  containers: string[]
  /** The final record when the pod is not restored (Failed, Lost). */
  final?: PodRecord
  /** The addresses to ask the network for again. */
  ips: string[]
}

/**
 * What becomes of a lost pod: `old` is its persistent record (active), `now` the time,
 * `bootId` this boot's.
 */
export function planRestore(old: PodRecord, now: string, bootId: string | undefined): RestorePlan {
  const why = describeLoss(old, bootId)
  const at = old.startedAt ?? old.createdAt
  const restart = old.containers.filter((c) => restartsAfterLoss(old.spec.restartPolicy, c)).map((c) => c.name)
  const ips = old.sandbox.ips.map((a) => a.split('/')[0]!)
  if (old.deletionTimestamp !== undefined) return { remove: true, containers: [], ips }
  if (!restart.length) {
    return {
      containers: [], ips,
      final: {
        ...old, phase: 'Failed', reason: 'Lost', finishedAt: now,
        message: `${why}; restartPolicy ${old.spec.restartPolicy}: not restarted`,
        sandbox: { ...old.sandbox, state: 'stopped' },
        containers: old.containers.map((c) => (c.state.status === 'terminated' ? c : { ...c, state: lostRunState(at) })),
      },
    }
  }
  const { reason: _r, message: _m, startedAt: _s, finishedAt: _f, conditions: _c, ...rest } = old
  const kept = old.conditions?.filter((c) => c.type === 'Privileged') ?? [] // a property of the spec, not of the run
  const restore: PodRecord = {
    ...rest,
    ...(kept.length && { conditions: kept }),
    phase: 'Pending',
    ...(bootId !== undefined && { bootId }),
    restored: { count: (old.restored?.count ?? 0) + 1, at: now, cause: lostCause(old, bootId), message: why },
    sandbox: { state: 'creating', ips: [], ...(old.sandbox.hostNetns !== undefined && { hostNetns: old.sandbox.hostNetns }) },
    containers: old.containers.map((c): ContainerStatus => {
      if (!restart.includes(c.name)) return c
      const lastState = c.state.status === 'terminated' ? c.state : lostRunState(at)
      return {
        name: c.name, state: { status: 'waiting', reason: 'ContainerCreating' }, lastState,
        restartCount: c.restartCount + 1, backoffStep: 0, logPath: c.logPath,
      }
    }),
  }
  return { restore, containers: restart, ips }
}
