/**
 * Whether podnet can make cgroups here, asked before a pod is made. A machine can mount its
 * cgroup file systems read-only (a container without --privileged, a read-only /sys) or keep
 * them from this user (root of a user namespace owns none of the host's cgroups): without this
 * check such a pod failed half-way with "EROFS ... mkdir" and a hint about the state directory.
 * The check is the first real step, mkdir of the parent directory (podnet/) in every hierarchy,
 * so no permission guess can disagree with what the kernel will do; the directory stays (every
 * later pod uses it) and gc removes it when empty.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { UnsupportedError } from '../../errors.js'
import type { CgroupLayout } from './detect.js'

/** The annotation (and `pod run --no-cgroups`) that runs a pod without cgroups. */
export const ANNOTATION_CGROUPS = 'podnet.io/cgroups'

/** errno codes that mean "not here, not by this user", as opposed to a real fault. */
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM'])

/**
 * Makes PARENT in every hierarchy of the layout, or throws UnsupportedError('cgroups') naming
 * the directory, the reason and the opt-out. `limitsField` names a container's limits when the
 * pod has any (they are what cannot be had without cgroups).
 */
export function ensureCgroupParent(layout: CgroupLayout, parent: string, limitsField?: string): void {
  for (const h of layout.hierarchies) {
    let dir = h.mount
    try {
      // one level at a time: mkdirSync({ recursive: true }) reports EROFS as ENOENT (node 18-22)
      for (const part of parent.split('/')) {
        dir = join(dir, part)
        try { mkdirSync(dir) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err }
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (!NOT_WRITABLE.has(e.code ?? '')) throw err
      const why = e.code === 'EROFS' ? 'a read-only file system' : `${e.code}, not this user's to write`
      const lose = limitsField !== undefined ? `${limitsField} cannot be enforced` : 'podnet puts every pod in one'
      throw new UnsupportedError('cgroups',
        `cgroups are not writable here (mkdir ${dir}: ${why}), so ${lose}: run the pod with --no-cgroups ` +
        `(annotation ${ANNOTATION_CGROUPS}: "off") to go without them (no limits, no pod stats)`, { cause: err })
    }
  }
}
