/**
 * The workload controllers as a supervisor extension (requests {op: 'extension', name:
 * 'workloads', body: WorkloadRequest}); supervisor-main.ts adds it to every supervisor.
 */
import type { Supervisor, SupervisorExtension } from '../runtime/supervisor.js'
import { WorkloadManager, type WorkloadManagerOptions } from './manager.js'
import type { WorkloadRequest } from './requests.js'

export const WORKLOADS_EXTENSION = 'workloads'

/** Options from the environment (the supervisor's main is an edge): PODNET_JOB_BACKOFF_BASE_MS, PODNET_JOB_BACKOFF_MAX_MS. */
export function workloadOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkloadManagerOptions {
  const num = (k: string): number | undefined => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : undefined)
  const base = num('PODNET_JOB_BACKOFF_BASE_MS')
  const max = num('PODNET_JOB_BACKOFF_MAX_MS')
  const resync = num('PODNET_WORKLOADS_RESYNC_MS')
  return {
    ...((base !== undefined || max !== undefined) && { jobBackoff: { ...(base !== undefined && { baseMs: base }), ...(max !== undefined && { maxMs: max }) } }),
    ...(resync !== undefined && { resyncMs: resync }),
  }
}

/** The extension factory Supervisor.start takes. */
export function workloadsExtension(opts: WorkloadManagerOptions = {}): (sup: Supervisor, restored: Promise<void>) => SupervisorExtension {
  return (sup, restored) => {
    const mgr = new WorkloadManager(sup.runtime, { stateDir: sup.store.root, ...opts })
    void mgr.start(restored).catch((err: Error) => opts.log?.(`workloads: start failed: ${err.stack ?? err.message}`))
    return {
      name: WORKLOADS_EXTENSION,
      handle: (body) => mgr.handle(body as WorkloadRequest),
      busy: () => mgr.busy(),
      close: () => mgr.close(),
    }
  }
}
