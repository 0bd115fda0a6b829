/**
 * Which boot the run directory describes. Everything in a run directory describes kernel objects
 * and processes of one boot (attachments, IPAM allocations, port claims, live pod records, pins):
 * after a reboot it is void. On tmpfs (/run/podnet) the reboot empties it; a run directory on disk
 * (`--state-dir DIR` gives DIR/run) keeps its files, so the boot is recorded next to them
 * (<run>/boot_id, from /proc/sys/kernel/random/boot_id) and a run directory of another boot is
 * emptied before anyone reads it.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from './files.js'

export const BOOT_ID_FILE = 'boot_id'
/** Kept when a run directory of an earlier boot is emptied: the flock file others may hold. */
const KEEP = new Set(['lock', BOOT_ID_FILE])

/** This boot's id (/proc/sys/kernel/random/boot_id). */
export function currentBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
}

export type BootCheck =
  /** The run directory is of this boot. */
  | { state: 'same' }
  /** It had no boot id: this boot claims it (a fresh tmpfs, or the first run). */
  | { state: 'first' }
  /** It was of an earlier boot: its contents were removed, `previous` names that boot. */
  | { state: 'new'; previous: string; removed: string[] }

const checked = new Map<string, string>()

/**
 * Makes `runDir` this boot's: records the boot id when there is none, and empties the directory
 * (all but the lock file) when it names another boot. Callers hold the run directory's lock.
 * Cheap after the first call per process and directory (one file read then none).
 */
export function claimRunDir(runDir: string, bootId: string = currentBootId()): BootCheck {
  if (checked.get(runDir) === bootId) return { state: 'same' }
  const path = join(runDir, BOOT_ID_FILE)
  let recorded: string | undefined
  try {
    recorded = readFileSync(path, 'utf8').trim() || undefined
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  let result: BootCheck
  if (recorded === bootId) result = { state: 'same' }
  else if (recorded === undefined) {
    writeFileAtomic(path, `${bootId}\n`, { mode: 0o644 })
    result = { state: 'first' }
  } else {
    const removed: string[] = []
    for (const name of readdirSync(runDir)) {
      if (KEEP.has(name)) continue
      rmSync(join(runDir, name), { recursive: true, force: true })
      removed.push(name)
    }
    writeFileAtomic(path, `${bootId}\n`, { mode: 0o644 })
    result = { state: 'new', previous: recorded, removed }
  }
  checked.set(runDir, bootId)
  return result
}

/**
 * The boot id the environment asks for (PODNET_TEST_BOOT_ID: the fault tests simulate a reboot by
 * giving the commands of the "new boot" another id), else undefined: the kernel's. Edges only.
 */
export const bootIdFromEnv = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.PODNET_TEST_BOOT_ID || undefined

/** Forgets what this process learnt about run directories (tests that simulate a reboot). */
export function forgetBootChecks(): void {
  checked.clear()
}

