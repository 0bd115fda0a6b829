/**
 * The bridge layer's records, in the two directories of src/state (one rule for every part of podnet):
 *
 * the state directory (default /var/lib/podnet), which persists:
 *   networks/<name>/network.json           the network's configuration and its nf_tables rule handles
 *   networks/<name>/pending.json           why a known network (an overlay's) is not configured here yet
 *
 * the run directory (default /run/podnet, or <state dir>/run when only the state dir is given),
 * for what describes kernel objects that do not survive a reboot. On tmpfs it is also ~40x
 * cheaper to write than ext4 here, and after a reboot it starts empty, exactly like the pods and
 * veths it described, so no address can leak across reboots:
 *   lock                                    flock held by every operation that changes state
 *   networks/<name>/ipam/                   IPAM allocations (bridge/ipam DiskStore)
 *   networks/<name>/attachments/<id>@<if>.json one per attached (container id, ifname)
 *   ports/<proto>-<port>/<hostip or *>      one per published host port: created with O_EXCL, so
 *                                           a port can be claimed only once, atomically
 *
 * Records are written atomically and durably (src/state/files.ts). The lock is the run
 * directory's state lock (src/state/lock.ts): keyed by path within a process, flock across
 * processes, and waiting for it never blocks the event loop.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  BOOT_ID_FILE, claimRunDir, createJsonExclusive, currentBootId, listDir, readJson, removeFile, removeTempFiles, resolveDirs, withLock, writeJsonAtomic,
  type BootCheck, type DirOptions,
} from '../state/index.js'

export interface StateDirOptions extends DirOptions {
  /** The boot podnet runs in (default /proc/sys/kernel/random/boot_id; tests pass another to simulate a reboot). */
  bootId?: string
}

export class StateDir {
  readonly root: string
  readonly run: string
  /**
   * Who owns what this state directory made in shared kernel places (podnet's nf_tables table):
   * 8 hex digits of a hash of the state directory's path, in every rule and element comment.
   */
  readonly owner: string
  private readonly bootId: string | undefined
  /** The last boot check of the run directory (set under the lock). */
  lastBoot: BootCheck | undefined

  constructor(dirs: StateDirOptions = {}) {
    const d = resolveDirs(dirs)
    this.root = d.stateDir
    this.run = d.runDir
    this.owner = createHash('sha256').update(resolve(this.root)).digest('hex').slice(0, 8)
    this.bootId = dirs.bootId
  }

  /** This boot's id (the option, else the kernel's). */
  boot(): string {
    return this.bootId ?? currentBootId()
  }

  /**
   * Whether the run directory describes this boot (or names none yet). When it names another
   * boot, readers treat it as empty; the next locked operation empties it (claimRunDir).
   */
  runIsCurrent(): boolean {
    try {
      return readFileSync(join(this.run, BOOT_ID_FILE), 'utf8').trim() === this.boot()
    } catch {
      return true // no boot id: a fresh run directory, or nothing recorded yet
    }
  }

  networksDir(): string { return join(this.root, 'networks') }
  networkDir(name: string): string { return join(this.root, 'networks', name) }
  configPath(name: string): string { return join(this.networkDir(name), 'network.json') }
  /** Why a known network has no configuration on this node yet (bridge/network.ts, setPending). */
  pendingPath(name: string): string { return join(this.networkDir(name), 'pending.json') }
  runNetworkDir(name: string): string { return join(this.run, 'networks', name) }
  ipamDir(name: string): string { return join(this.runNetworkDir(name), 'ipam') }
  attachmentsDir(name: string): string { return join(this.runNetworkDir(name), 'attachments') }
  attachmentPath(network: string, id: string, ifname: string): string { return join(this.attachmentsDir(network), `${id}@${ifname}.json`) }
  /** The other nodes' DNS names of an overlay network, kept by the node agent (overlay/names.ts), read by the DNS responder. */
  remoteNamesPath(network: string): string { return join(this.run, 'overlay', 'names', `${network}.json`) }
  portsDir(): string { return join(this.run, 'ports') }
  lockPath(): string { return join(this.run, 'lock') }

  /**
   * Runs fn holding the run directory's state lock, after making the run directory this boot's:
   * one of an earlier boot is emptied first (its attachments, addresses and port claims described
   * kernel objects that died with it).
   */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath(), () => {
      this.lastBoot = claimRunDir(this.run, this.boot())
      return fn()
    })
  }

  readJson<T>(path: string): T | undefined {
    return readJson<T>(path)
  }

  writeJson(path: string, value: unknown): void {
    writeJsonAtomic(path, value)
  }

  remove(path: string): boolean {
    return removeFile(path)
  }

  removeTree(path: string): void {
    rmSync(path, { recursive: true, force: true })
  }

  list(dir: string): string[] {
    return listDir(dir)
  }

  exists(path: string): boolean {
    return existsSync(path)
  }

  /** Removes what writers killed mid-write left in `dir` (callers hold the lock). */
  removeTempFiles(dir: string): number {
    return removeTempFiles(dir)
  }

  /** Creates `path` exclusively with `value`; false when it already exists. */
  createExclusive(path: string, value: unknown): boolean {
    return createJsonExclusive(path, value)
  }
}
