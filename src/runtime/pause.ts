/**
 * The pause process: Debian's catatonit in pause mode (`catatonit -P`, podman's infra process,
 * about 0.7 MB RSS). It holds the pod's namespaces, exits on SIGINT/SIGTERM, and as PID 1 of a
 * shared PID namespace reaps orphaned zombies. PODNET_PAUSE overrides the program
 * (space-separated argv; read by the supervisor, which passes it as RuntimeOptions.pause).
 */
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { PodnetError } from '../errors.js'

const CANDIDATES = ['/usr/bin/catatonit', '/usr/libexec/podman/catatonit', '/usr/local/bin/catatonit']

/** The pause argv, e.g. ['/usr/bin/catatonit', '-P']. Throws when catatonit is not installed. */
export function pauseCommand(): string[] {
  const path = [...CANDIDATES, ...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => join(d, 'catatonit'))]
  for (const p of path) {
    try {
      accessSync(p, constants.X_OK)
      return [p, '-P']
    } catch {
      // next
    }
  }
  throw new PodnetError('the pause program catatonit is not installed (apt-get install catatonit, or scripts/setup.sh); PODNET_PAUSE overrides it')
}
