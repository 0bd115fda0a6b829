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
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createJsonExclusive, listDir, readJson, removeFile, resolveDirs, withLock, writeJsonAtomic, type DirOptions } from '../state/index.js'

export class StateDir {
  readonly root: string
  readonly run: string

  constructor(dirs: DirOptions = {}) {
    const d = resolveDirs(dirs)
    this.root = d.stateDir
    this.run = d.runDir
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
  portsDir(): string { return join(this.run, 'ports') }
  lockPath(): string { return join(this.run, 'lock') }

  /** Runs fn holding the run directory's state lock. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath(), fn)
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

  /** Creates `path` exclusively with `value`; false when it already exists. */
  createExclusive(path: string, value: unknown): boolean {
    return createJsonExclusive(path, value)
  }
}
