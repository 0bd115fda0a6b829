/**
 * podnet's state, in two directories:
 *
 * the state directory (default /var/lib/podnet; --state-dir or PODNET_STATE_DIR), which persists:
 *   networks/<name>/network.json           the network's configuration and its nf_tables rule handles
 *
 * the run directory (default /run/podnet, or <state dir>/run when only the state dir is given;
 * --run-dir or PODNET_RUN_DIR), for what describes kernel objects that do not survive a reboot.
 * On tmpfs it is also ~40x cheaper to write than ext4 here (rename and truncate-over-data force
 * a data flush with ext4's auto_da_alloc: 0.5-2 ms per file), and after a reboot it starts empty,
 * exactly like the pods and veths it described, so no address can leak across reboots:
 *   lock                                   flock held by every operation that changes state
 *   networks/<name>/ipam/                  IPAM allocations (bridge/ipam DiskStore)
 *   networks/<name>/attachments/<key>.json one per attached (container id, ifname)
 *   ports/<proto>-<hostip>-<port>          one per published host port: created with O_EXCL, so
 *                                          a port can be claimed only once, atomically
 *
 * Files are written atomically (temporary file + rename). The lock is a flock on `lock` plus an
 * in-process queue (two flock()s on one file from one process would deadlock each other).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync, openSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { LOCK_EX, LOCK_UN, O_CLOEXEC, O_CREAT, O_RDWR } from '../sys/constants.js'
import { close, flock, open } from '../sys/syscall.js'

export const defaultStateDir = (): string => process.env.PODNET_STATE_DIR ?? '/var/lib/podnet'

/** The run directory for a state directory: PODNET_RUN_DIR, else <stateDir>/run when the state dir was chosen, else /run/podnet. */
export function defaultRunDir(stateDir?: string): string {
  if (process.env.PODNET_RUN_DIR) return process.env.PODNET_RUN_DIR
  if (stateDir !== undefined || process.env.PODNET_STATE_DIR) return join(stateDir ?? defaultStateDir(), 'run')
  return '/run/podnet'
}

export class StateDir {
  readonly root: string
  readonly run: string
  private queue: Promise<void> = Promise.resolve()

  constructor(root?: string, run?: string) {
    this.root = root ?? defaultStateDir()
    this.run = run ?? defaultRunDir(root)
  }

  networksDir(): string { return join(this.root, 'networks') }
  networkDir(name: string): string { return join(this.root, 'networks', name) }
  runNetworkDir(name: string): string { return join(this.run, 'networks', name) }
  ipamDir(name: string): string { return join(this.runNetworkDir(name), 'ipam') }
  attachmentsDir(name: string): string { return join(this.runNetworkDir(name), 'attachments') }
  portsDir(): string { return join(this.run, 'ports') }

  /** Runs fn holding the state lock (in-process queue, then flock). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      mkdirSync(this.run, { recursive: true, mode: 0o700 })
      const path = join(this.run, 'lock')
      const fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
      try {
        flock(fd, LOCK_EX, path)
        try {
          return await fn()
        } finally {
          flock(fd, LOCK_UN, path)
        }
      } finally {
        close(fd)
      }
    }
    const p = this.queue.then(run, run)
    this.queue = p.then(() => undefined, () => undefined)
    return p
  }

  readJson<T>(path: string): T | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  writeJson(path: string, value: unknown): void {
    const dir = path.slice(0, path.lastIndexOf('/'))
    mkdirSync(dir, { recursive: true })
    const tmp = `${path}.tmp-${process.pid}`
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`)
    renameSync(tmp, path)
  }

  remove(path: string): boolean {
    try {
      unlinkSync(path)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  removeTree(path: string): void {
    rmSync(path, { recursive: true, force: true })
  }

  list(dir: string): string[] {
    try {
      return readdirSync(dir).filter((f) => !f.includes('.tmp-')).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  exists(path: string): boolean {
    return existsSync(path)
  }

  /** Creates `path` exclusively with `value`; false when it already exists. */
  createExclusive(path: string, value: unknown): boolean {
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true })
    let fd: number
    try {
      fd = openSync(path, 'wx', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
    try {
      writeFileSync(fd, `${JSON.stringify(value)}\n`)
    } finally {
      closeSync(fd)
    }
    return true
  }
}
