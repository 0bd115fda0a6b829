/**
 * Small JSON records on disk, the one way podnet writes and reads them.
 *
 * writeJsonAtomic: a temporary file in the same directory, fsync, rename over the record, fsync of
 * the directory. A reader (or a crash, or a power loss) sees the old record or the new one, never
 * a torn or empty one. On tmpfs (the run directory) the fsyncs cost nothing; on the state
 * directory's disk they are what makes "written" mean written.
 *
 * readJson: undefined when the record does not exist; DamagedRecordError (with the path) when it
 * exists but is not JSON (an older podnet's torn write, a full disk, a hand edit), so callers can
 * report it and go on with the other records instead of failing every command.
 */
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { DamagedRecordError } from '../errors.js'

let tmpSeq = 0

/** Marks a temporary file of writeJsonAtomic (listDir skips them). */
export const TMP_MARK = '.tmp-'

/** fsync(2) of a directory, so a rename or unlink in it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes `text` to `path` atomically and durably (temporary file, fsync, rename, fsync of the
 * directory): the file gets exactly `mode`; missing directories are made with `dirMode`.
 */
export function writeFileAtomic(path: string, text: string | Buffer, opts: { mode?: number; dirMode?: number } = {}): void {
  const mode = opts.mode ?? 0o600
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: opts.dirMode ?? 0o700 })
  const tmp = `${path}${TMP_MARK}${process.pid}-${++tmpSeq}`
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'wx', mode)
    fchmodSync(fd, mode) // exactly `mode`, whatever the umask
    const buf = typeof text === 'string' ? Buffer.from(text) : text
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(tmp, path)
  } catch (err) {
    if (fd !== undefined) closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dir)
}

/** Writes a JSON record atomically and durably (see writeFileAtomic). */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, { mode })
}

/** The record at `path`; undefined when it does not exist. @throws DamagedRecordError when it is not JSON. */
export function readJson<T>(path: string): T | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw err
  }
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw new DamagedRecordError(path, text.length === 0 ? 'empty file' : (err as Error).message)
  }
}

/**
 * Creates `path` exclusively with `value` (durably); false when it already exists. The record is
 * written to a temporary file first and linked into place (link(2) fails with EEXIST, atomically),
 * so `path` never exists empty or half written: a process killed between the exclusive create and
 * the write of an open(O_EXCL) left an empty claim behind, which the next claimer could only read
 * as damaged.
 */
export function createJsonExclusive(path: string, value: unknown): boolean {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = `${path}${TMP_MARK}${process.pid}-${++tmpSeq}`
  try {
    const fd = openSync(tmp, 'wx', 0o600)
    try {
      writeSync(fd, `${JSON.stringify(value)}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    try {
      linkSync(tmp, path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
  } finally {
    rmSync(tmp, { force: true })
  }
  fsyncDir(dir)
  return true
}

/**
 * Removes the temporary files (writeFileAtomic's, createJsonExclusive's) in `dir`: those of
 * writers killed between their write and its rename or link. Only for callers holding the lock
 * that every writer of `dir` takes (a live writer's file would go too). Returns how many.
 */
export function removeTempFiles(dir: string): number {
  let names: string[]
  try {
    names = readdirSync(dir).filter((f) => f.includes(TMP_MARK))
  } catch {
    return 0
  }
  for (const f of names) rmSync(`${dir}/${f}`, { force: true })
  return names.length
}

/** Removes a file; false when it was not there. */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/** Entries of a directory, sorted, without writeJsonAtomic's temporary files; [] when it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => !f.includes(TMP_MARK)).sort()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw err
  }
}
