/**
 * Pod garbage collection: what no record accounts for. Pod directories without a record (their
 * pins and /dev/shm unmounted, their cgroups killed), sandboxes of ended pods still (partly) up,
 * and cgroups under the parent that belong to no pod (their processes killed).
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Cgroup, type CgroupLayout } from './cgroups/index.js'
import { unpinAll } from './namespaces.js'
import { teardownSandbox, unmountShm, type SandboxDeps } from './sandbox.js'
import type { PodStore } from './state-store.js'
import { isActive } from './types.js'
import { unmountVolumes } from './volumes.js'

export interface GcReport {
  /** Pod directories without a record that were cleaned up. */
  removedPods: string[]
  /** Sandboxes of ended pods that were still (partly) up and were torn down. */
  tornDown: string[]
  /** cgroups of pods podnet no longer knows, killed and removed. */
  removedCgroups: string[]
  /** What could not be cleaned up (a later gc tries again). */
  errors: string[]
}

/**
 * Removes what no record accounts for; pods in `watched` (those a runtime supervises now) are
 * left alone. Goes on past a pod it cannot clean, reporting it in `errors`.
 */
export async function collectPodGarbage(deps: SandboxDeps, watched: ReadonlySet<string>): Promise<GcReport> {
  const { store, layout, cgroupParent } = deps
  const report: GcReport = { removedPods: [], tornDown: [], removedCgroups: [], errors: [] }
  const names = new Set(store.names())
  for (const name of names) {
    try {
      const rec = store.read(name)
      if (!rec) {
        cleanupPodMounts(store, name)
        await removeCgroupTree(layout, `${cgroupParent}/${name}`)
        store.remove(name)
        report.removedPods.push(name)
        continue
      }
      if (!watched.has(name) && !isActive(rec) && rec.sandbox.state !== 'stopped') {
        await teardownSandbox(deps, rec)
        report.tornDown.push(name)
      }
    } catch (err) {
      report.errors.push(`pod ${name}: ${(err as Error).message}`)
    }
  }
  // cgroups of unknown pods (a Lost pod's processes have nobody either)
  for (const e of childCgroups(layout, cgroupParent)) {
    if (watched.has(e)) continue // a pod the runtime supervises (or is restoring)
    const owner = names.has(e) ? store.read(e) : undefined
    if (owner && owner.reason !== 'Lost') continue
    try {
      await removeCgroupTree(layout, `${cgroupParent}/${e}`)
      report.removedCgroups.push(`${cgroupParent}/${e}`)
    } catch (err) {
      report.errors.push(`cgroup ${cgroupParent}/${e}: ${(err as Error).message}`)
    }
  }
  return report
}

/** Unmounts whatever may still be mounted in a pod's run directory (pins, /dev/shm). */
export function cleanupPodMounts(store: PodStore, name: string): void {
  const ns = store.nsDir(name)
  unpinAll({ net: join(ns, 'net'), ipc: join(ns, 'ipc'), uts: join(ns, 'uts'), pid: join(ns, 'pid'), user: join(ns, 'user') })
  unmountShm(store.shmDir(name))
  const vols = store.volumeDirs(name).runVolumes
  let names: string[] = []
  try { names = readdirSync(vols) } catch { /* none */ }
  unmountVolumes(names.map((n) => join(vols, n)))
}

/** The child directories of a cgroup path in the first hierarchy ([] when it does not exist). */
function childCgroups(layout: CgroupLayout, path: string): string[] {
  const h = layout.hierarchies[0]
  if (!h) return []
  try {
    return readdirSync(join(h.mount, path)).filter((e) => statSync(join(h.mount, path, e)).isDirectory())
  } catch {
    return []
  }
}

/** Kills and removes a pod's cgroup directory and its children, in every hierarchy. */
export async function removeCgroupTree(layout: CgroupLayout, path: string): Promise<void> {
  const h = layout.hierarchies[0]
  if (!h || !existsSync(join(h.mount, path))) return
  for (const c of childCgroups(layout, path)) {
    const cg = new Cgroup(layout, `${path}/${c}`)
    cg.kill('SIGKILL')
    try { await cg.remove(3000) } catch { /* reported by a later gc */ }
  }
  new Cgroup(layout, path).kill('SIGKILL')
  Cgroup.removeIfEmpty(layout, path)
}
