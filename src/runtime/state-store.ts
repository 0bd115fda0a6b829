/**
 * Pod records under the state dir (same root as the networks'):
 *
 *   pods/<name>/pod.json              the record (written atomically by the supervisor only)
 *   pods/<name>/ns/{net,ipc,uts,pid}  pinned namespaces (bind mounts)
 *   pods/<name>/etc/{hosts,resolv.conf,hostname}
 *   pods/<name>/shm/                  the pod's /dev/shm (tmpfs)
 *   pods/<name>/logs/<container>.log  stdout and stderr of every run, appended
 *   pods/<name>/exit/<container>.<run> the launcher's exit record of a run
 *   supervisor.sock, supervisor.pid, supervisor.log, supervisor.lock
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PodRecord } from './types.js'

export const defaultStateDir = (): string => process.env.PODNET_STATE_DIR ?? '/var/lib/podnet'

export class PodStore {
  readonly root: string

  constructor(root = defaultStateDir()) {
    this.root = root
  }

  podsDir(): string { return join(this.root, 'pods') }
  podDir(name: string): string { return join(this.root, 'pods', name) }
  recordPath(name: string): string { return join(this.podDir(name), 'pod.json') }
  nsDir(name: string): string { return join(this.podDir(name), 'ns') }
  etcDir(name: string): string { return join(this.podDir(name), 'etc') }
  shmDir(name: string): string { return join(this.podDir(name), 'shm') }
  logPath(name: string, container: string): string { return join(this.podDir(name), 'logs', `${container}.log`) }
  exitDir(name: string): string { return join(this.podDir(name), 'exit') }
  /** The exit record of one run (a token per run, so a late record of an abandoned run is never mistaken for another's). */
  exitPath(name: string, container: string, runToken?: string): string { return join(this.exitDir(name), runToken === undefined ? container : `${container}.${runToken}`) }
  socketPath(): string { return join(this.root, 'supervisor.sock') }
  pidPath(): string { return join(this.root, 'supervisor.pid') }
  lockPath(): string { return join(this.root, 'supervisor.lock') }
  supervisorLogPath(): string { return join(this.root, 'supervisor.log') }
  binDir(): string { return join(this.root, 'bin') }

  /** Creates pods/<name> exclusively; false when it exists. */
  claim(name: string): boolean {
    mkdirSync(this.podsDir(), { recursive: true, mode: 0o700 })
    try {
      mkdirSync(this.podDir(name), { mode: 0o700 })
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
  }

  read(name: string): PodRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.recordPath(name), 'utf8')) as PodRecord
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || err instanceof SyntaxError) return undefined
      throw err
    }
  }

  write(rec: PodRecord): void {
    const path = this.recordPath(rec.name)
    const tmp = `${path}.tmp`
    writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`)
    renameSync(tmp, path)
  }

  /** Names of the pod directories (with or without a record), sorted. */
  names(): string[] {
    try {
      return readdirSync(this.podsDir()).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  list(): PodRecord[] {
    return this.names().flatMap((n) => {
      const r = this.read(n)
      return r ? [r] : []
    })
  }
}
