/**
 * Pod records, split like the networks' state (src/bridge/state.ts) between two directories:
 *
 * the state directory (default /var/lib/podnet), which persists:
 *   pods/<name>/pod.json              the record as created (spec, creation time, host netns, boot
 *                                     id), again once it runs (its addresses) and when a container
 *                                     ends for good (what a restore after a reboot needs: restore.ts),
 *                                     and the final record once the pod has ended; never on restarts
 *   pods/<name>/logs/<container>.log  stdout and stderr of every run, appended
 *   supervisor.sock, supervisor.pid, supervisor.log, supervisor.lock, bin/
 *
 * the run directory (default /run/podnet, or <state dir>/run when only the state dir is given;
 * the same one `podnet network` uses), for what describes processes and kernel objects that do
 * not survive a reboot. On tmpfs a record write costs about 0.04 ms instead of 1.5-2 ms on
 * ext4 here (rename over an existing file forces a data flush with ext4's auto_da_alloc), and
 * an active pod's record changes often (each creation step, each container start and exit):
 *   pods/<name>/status.json           the live record of an active pod (written on every change,
 *                                     removed once the final record is in pod.json)
 *   pods/<name>/ns/{net,ipc,uts,pid}  pinned namespaces (bind mounts)
 *   pods/<name>/etc/{hosts,resolv.conf,hostname}
 *   pods/<name>/shm/                  the pod's /dev/shm (tmpfs)
 *   pods/<name>/exit/<container>.<run> the launcher's exit record of a run
 *
 * Reading a pod: status.json when it exists, else pod.json. A pod.json that is still active
 * without a status.json lost its live state (the machine rebooted, or the run directory was
 * cleared): it reads as Failed, reason Lost, its containers ContainerStatusUnknown (exit 137,
 * as kubelet reports a container it cannot find), until a supervisor restores it (restore.ts).
 * An ended pod's record is in status.json too while pod.json cannot be written (a full disk).
 * Records are written atomically and durably (src/state/files.ts), by the supervisor only; a
 * write never makes the directory of a removed pod again.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DamagedRecordError, NotFoundError, PodnetError } from '../errors.js'
import { BOOT_ID_FILE, currentBootId, listDir, readJson as readRecord, resolveDirs, writeJsonAtomic, type DirOptions } from '../state/index.js'
import { isActive, type PodRecord } from './types.js'

/** What a pod whose live state is gone reads as. */
export function lostRecord(rec: PodRecord, runDir: string): PodRecord {
  const at = rec.finishedAt ?? rec.startedAt ?? rec.createdAt
  return {
    ...rec, phase: 'Failed', reason: 'Lost', finishedAt: at,
    message: `its live state (${join(runDir, 'pods', rec.name)}) is gone: the machine rebooted or the run directory was cleared`,
    sandbox: { ...rec.sandbox, state: 'stopped' },
    containers: rec.containers.map((c) => ({
      ...c,
      state: c.state.status === 'terminated' ? c.state : {
        status: 'terminated', exitCode: 137, reason: 'ContainerStatusUnknown', message: 'the container state was lost', startedAt: at, finishedAt: at,
      },
    })),
  }
}

export class PodStore {
  readonly root: string
  readonly run: string
  private readonly bootId: string | undefined

  /**
   * The directories by podnet's one rule (src/state/dirs.ts): the run dir defaults to
   * <stateDir>/run when stateDir is given. `bootId`: this boot's (default the kernel's).
   */
  constructor(dirs: DirOptions & { bootId?: string } = {}) {
    const d = resolveDirs(dirs)
    this.root = d.stateDir
    this.run = d.runDir
    this.bootId = dirs.bootId
  }

  /**
   * Whether the run dir describes this boot (or names none). A run dir on disk that names an
   * earlier boot holds nothing live: its records are read as absent until a runtime claims
   * (empties) it, as the networks' are (src/state/boot.ts).
   */
  runIsCurrent(): boolean {
    let recorded: string
    try {
      recorded = readFileSync(join(this.run, BOOT_ID_FILE), 'utf8').trim()
    } catch {
      return true
    }
    try {
      return recorded === (this.bootId ?? currentBootId())
    } catch {
      return true
    }
  }

  podsDir(): string { return join(this.root, 'pods') }
  runPodsDir(): string { return join(this.run, 'pods') }
  /** The pod's persistent directory (record, logs). */
  podDir(name: string): string { return join(this.root, 'pods', name) }
  /** The pod's volatile directory (live record, pins, /dev/shm, /etc files, exit records). */
  runPodDir(name: string): string { return join(this.run, 'pods', name) }
  recordPath(name: string): string { return join(this.podDir(name), 'pod.json') }
  statusPath(name: string): string { return join(this.runPodDir(name), 'status.json') }
  nsDir(name: string): string { return join(this.runPodDir(name), 'ns') }
  etcDir(name: string): string { return join(this.runPodDir(name), 'etc') }
  shmDir(name: string): string { return join(this.runPodDir(name), 'shm') }
  /** Where a pod's emptyDir volumes are: on disk under its state, Memory ones (tmpfs) under its run dir (volumes.ts). */
  volumeDirs(name: string): { stateVolumes: string; runVolumes: string } { return { stateVolumes: join(this.podDir(name), 'volumes'), runVolumes: join(this.runPodDir(name), 'volumes') } }
  logDir(name: string): string { return join(this.podDir(name), 'logs') }
  logPath(name: string, container: string): string { return join(this.logDir(name), `${container}.log`) }
  exitDir(name: string): string { return join(this.runPodDir(name), 'exit') }
  /** The exit record of one run (a token per run, so a late record of an abandoned run is never mistaken for another's). */
  exitPath(name: string, container: string, runToken?: string): string { return join(this.exitDir(name), runToken === undefined ? container : `${container}.${runToken}`) }
  socketPath(): string { return join(this.root, 'supervisor.sock') }
  pidPath(): string { return join(this.root, 'supervisor.pid') }
  lockPath(): string { return join(this.root, 'supervisor.lock') }
  supervisorLogPath(): string { return join(this.root, 'supervisor.log') }
  binDir(): string { return join(this.root, 'bin') }

  /** Creates pods/<name> exclusively (and its run directory); false when the name is taken. */
  claim(name: string): boolean {
    mkdirSync(this.podsDir(), { recursive: true, mode: 0o700 })
    try {
      mkdirSync(this.podDir(name), { mode: 0o700 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
    mkdirSync(this.runPodDir(name), { recursive: true, mode: 0o700 })
    return true
  }

  /**
   * The pod's record: the live one, else the persistent one (Lost when that is still active).
   * A final persistent record wins over an active live one: the pod ended, and its supervisor
   * died between writing the one and removing the other.
   */
  read(name: string): PodRecord | undefined {
    const live = this.runIsCurrent() ? readJson(this.statusPath(name)) : undefined
    if (live && !isActive(live)) return live
    const rec = readJson(this.recordPath(name))
    if (live) return rec && !isActive(rec) ? rec : live
    return rec && isActive(rec) ? lostRecord(rec, this.run) : rec
  }

  /** A new pod: the record goes to both files (the persistent one says what was created). */
  create(rec: PodRecord): void {
    writeAtomic(this.statusPath(rec.name), rec)
    writeAtomic(this.recordPath(rec.name), rec)
  }

  /**
   * Records a change: an active pod's in the run directory; an ended pod's, persistently.
   * @throws NotFoundError when the pod's directory is gone (removed: a late write never brings it back)
   * @throws PodnetError naming the file when the write fails (a full disk)
   */
  write(rec: PodRecord): void {
    if (!existsSync(this.podDir(rec.name))) throw new NotFoundError('pod', rec.name, '(removed)')
    if (isActive(rec)) {
      writeAtomic(this.statusPath(rec.name), rec)
      return
    }
    writeAtomic(this.recordPath(rec.name), rec)
    rmSync(this.statusPath(rec.name), { force: true })
  }

  /**
   * Writes the record to the live file whatever its phase: where an ended pod's record goes while
   * the persistent one cannot be written (read() prefers it; write() removes it once it can).
   */
  writeLive(rec: PodRecord): void {
    if (!existsSync(this.podDir(rec.name))) throw new NotFoundError('pod', rec.name, '(removed)')
    writeAtomic(this.statusPath(rec.name), rec)
  }

  /** Rewrites the persistent record (pod.json) of a pod, whatever its phase (a restore after a reboot starts from it). */
  writePersistent(rec: PodRecord): void {
    if (!existsSync(this.podDir(rec.name))) throw new NotFoundError('pod', rec.name, '(removed)')
    writeAtomic(this.recordPath(rec.name), rec)
  }

  /** The persistent record as written (no Lost view). */
  readPersistent(name: string): PodRecord | undefined {
    return readJson(this.recordPath(name))
  }

  /** True when the pod's live record exists (the run directory knows the pod). */
  hasLive(name: string): boolean {
    return this.runIsCurrent() && existsSync(this.statusPath(name))
  }

  /** Removes a container's exit records of earlier runs (an abandoned run may write one late). */
  clearExitRecords(name: string, container: string): void {
    for (const n of listDir(this.exitDir(name))) {
      if (n === container || n.startsWith(`${container}.`)) rmSync(join(this.exitDir(name), n), { force: true })
    }
  }

  /** Removes both directories of a pod (unmount what is mounted in it first). */
  remove(name: string): void {
    rmSync(this.runPodDir(name), { recursive: true, force: true })
    rmSync(this.podDir(name), { recursive: true, force: true })
  }

  /** Names of the pod directories in either directory (with or without a record), sorted. */
  names(): string[] {
    return [...new Set([...listDir(this.podsDir()), ...(this.runIsCurrent() ? listDir(this.runPodsDir()) : [])])].sort()
  }

  list(): PodRecord[] {
    return this.names().flatMap((n) => {
      const r = this.read(n)
      return r ? [r] : []
    })
  }
}

/** A pod record; undefined when missing or damaged (a damaged live record reads as the persistent one). */
function readJson(path: string): PodRecord | undefined {
  try {
    return readRecord<PodRecord>(path)
  } catch (err) {
    if (err instanceof DamagedRecordError) return undefined
    throw err
  }
}

/** Writes a record; a failure names the file and says why in one line (ENOSPC: the disk is full). */
function writeAtomic(path: string, rec: PodRecord): void {
  try {
    writeJsonAtomic(path, rec)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (typeof e.code !== 'string') throw err
    throw new PodnetError(`cannot write ${path}: ${e.code === 'ENOSPC' ? 'no space left on device (ENOSPC)' : e.code === 'EDQUOT' ? 'disk quota exceeded (EDQUOT)' : e.message}`, { cause: err })
  }
}
