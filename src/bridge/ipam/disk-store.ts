/**
 * IpamStore on disk: one directory per network (the caller passes it, normally
 * `<stateDir>/networks/<name>/ipam/`), laid out like host-local's but with JSON records:
 *
 * ```
 * lock                 empty; flock(LOCK_EX) on it guards every transaction
 * 10.88.0.2            one file per allocated address, named by its canonical text
 * fd00__2              IPv6: ':' becomes '_' (fd00::2)
 *                        content: {"containerId":"…","ifname":"eth0","allocatedAt":"2026-…Z"}\n
 * last_reserved.0      the address last handed out dynamically from range set 0, as text
 * owners/<h>.<record>  owner index: a hard link to <record>, whose owner hashes to <h>
 * .tmp-<pid>-<n>       a write in progress (left over only by a crash; removed when seen)
 * ```
 * `<h>` is the first 32 hex digits of sha256(JSON.stringify([containerId, ifname])).
 *
 * The records are the truth; `owners/` is an index that lets the allocator find an owner's
 * addresses from two directory listings instead of reading every record (200 dual-stack pods
 * on the development VM's ext4: ~4 ms instead of ~30 ms per lookup). An entry is a hard link
 * to its record, named `<owner hash>.<record name>`: it is written first (doubling as the
 * temporary file of the record) and linked to the record's name, and it is removed after the
 * record. Every hit is checked against the record, so a crash between the two steps leaves
 * only a stale entry, which is ignored and removed when seen. Records without an entry
 * (written by host-local, or with `owners/` deleted) are read and indexed on the next owner
 * lookup.
 *
 * Every write goes to a new file first: a record is then hard-linked to its final name
 * (link(2) fails if the name exists, so a record is never overwritten), `last_reserved.<i>`
 * is written to a temporary file and renamed over the old one. Readers therefore never see a
 * half-written file, and a process that dies mid-transaction leaves either the whole file or
 * none under the final name.
 *
 * Durability: by default nothing is fsynced (as host-local). The page cache survives any
 * process crash, and a kernel crash or power loss also ends every pod the records describe,
 * so the runtime's gc cleans up after a reboot. A record that power loss left empty reads as
 * "unknown owner" and is never handed out (see Allocator.gc `removeUnreadable`). With
 * `fsync: true` file contents are fsynced before they get their name and the directories when
 * the transaction ends; on the development VM that costs ~10 ms per fsync, ~45 ms for a
 * dual-stack allocation.
 *
 * Records written by host-local (`<containerID>\r\n<ifname>`) are read too.
 */
import { createHash } from 'node:crypto'
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { ExistsError, PodnetError, isErrno } from '../../errors.js'
import { close, flock, open } from '../../sys/syscall.js'
import { LOCK_EX, O_CLOEXEC, O_CREAT, O_RDWR } from '../../sys/constants.js'
import type { IpamStore, IpamStoreTx, Owner, StoredAllocation, SyncOnly } from './store.js'

/** Options of DiskStore. */
export interface DiskStoreOptions {
  /** fsync written files and the directories before a transaction returns (default false: see the module comment). */
  readonly fsync?: boolean
}

/** Name of the lock file inside the store directory. */
export const LOCK_FILE = 'lock'
/** Prefix of the per-range-set round-robin cursor files: `last_reserved.<rangeSetIndex>`. */
export const LAST_RESERVED_PREFIX = 'last_reserved.'
/** Sub-directory holding the owner index. */
export const OWNERS_DIR = 'owners'
const TMP_PREFIX = '.tmp-'

/** File name of an address record: the address text with ':' replaced by '_'. */
export function recordFileName(ip: string): string {
  return ip.replaceAll(':', '_')
}

/** The address text of a record file name, or undefined when `name` is not a record. */
export function ipFromRecordFileName(name: string): string | undefined {
  return RECORD_NAME_RE.test(name) ? name.replaceAll('_', ':') : undefined
}
// Canonical addresses use lower-case hex digits, '.', and ':' (stored as '_') only; the
// lock, cursor, index and temporary files all contain other characters.
const RECORD_NAME_RE = /^[0-9a-f_][0-9a-f._]*$/

/** The owner hash used in index entry names (32 hex digits). */
export function ownerHash(owner: Owner): string {
  return createHash('sha256').update(JSON.stringify([owner.containerId, owner.ifname])).digest('hex').slice(0, 32)
}

/** Directories this process holds the lock of: a nested transaction would block forever. */
const held = new Set<string>()

/** An IpamStore keeping one file per allocation in `dir`, safe across processes. */
export class DiskStore implements IpamStore {
  /** The store directory (created on first use, mode 0755). */
  readonly dir: string
  readonly #fsync: boolean

  constructor(dir: string, options: DiskStoreOptions = {}) {
    this.dir = resolve(dir)
    this.#fsync = options.fsync ?? false
  }

  /**
   * Runs `fn` holding an exclusive flock on `<dir>/lock` (blocking until other processes'
   * transactions are done). The lock is released when `fn` returns or throws, and also if
   * the process dies. A transaction opened inside another on the same directory throws
   * instead of deadlocking.
   */
  transaction<R>(fn: (tx: IpamStoreTx) => SyncOnly<R>): R {
    if (held.has(this.dir)) {
      throw new PodnetError(`IPAM store ${this.dir}: nested transaction (the lock is already held by this process)`)
    }
    const fd = this.#openLock()
    try {
      lockExclusive(fd, join(this.dir, LOCK_FILE))
      held.add(this.dir)
      const tx = new DiskTx(this.dir, this.#fsync)
      let result: R
      try {
        result = fn(tx)
      } catch (err) {
        try { tx.syncDirs() } catch { /* the original error matters more */ }
        throw err
      }
      tx.syncDirs()
      return result
    } finally {
      held.delete(this.dir)
      close(fd) // releases the flock
    }
  }

  #openLock(): number {
    const path = join(this.dir, LOCK_FILE)
    const flags = O_RDWR | O_CREAT | O_CLOEXEC
    try {
      return open(path, flags, 0o644)
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
      mkdirSync(this.dir, { recursive: true, mode: 0o755 })
      return open(path, flags, 0o644)
    }
  }
}

function lockExclusive(fd: number, path: string): void {
  for (;;) {
    try {
      flock(fd, LOCK_EX, path)
      return
    } catch (err) {
      if (!isErrno(err, 'EINTR')) throw err
    }
  }
}

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code

let tmpCounter = 0

class DiskTx implements IpamStoreTx {
  readonly #dir: string
  readonly #owners: string
  readonly #fsync: boolean
  readonly #dirty = new Set<string>()
  /** The owner index, loaded on first use: record ip -> index entry names. */
  #index: Map<string, string[]> | undefined
  /** Addresses that have a record, loaded on first use. */
  #records: Set<string> | undefined

  constructor(dir: string, fsync: boolean) {
    this.#dir = dir
    this.#owners = join(dir, OWNERS_DIR)
    this.#fsync = fsync
  }

  ips(): string[] {
    return [...this.#recordSet()]
  }

  /** The record names of the directory, listed once per transaction and kept up to date by add/remove. */
  #recordSet(): Set<string> {
    if (this.#records) return this.#records
    const out = new Set<string>()
    for (const name of readdirSync(this.#dir)) {
      const ip = ipFromRecordFileName(name)
      if (ip !== undefined) out.add(ip)
      else if (name.startsWith(TMP_PREFIX)) this.#unlinkQuietly(join(this.#dir, name)) // stale: writers hold the lock
    }
    this.#records = out
    return out
  }

  get(ip: string): StoredAllocation | undefined {
    let text: string
    try {
      text = readFileSync(join(this.#dir, recordFileName(ip)), 'utf8')
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw err
    }
    return { ip, ...parseRecord(text) }
  }

  list(): StoredAllocation[] {
    const out: StoredAllocation[] = []
    for (const ip of this.ips()) {
      const rec = this.get(ip)
      if (rec) out.push(rec)
    }
    return out
  }

  byOwner(owner: Owner): StoredAllocation[] {
    const prefix = `${ownerHash(owner)}.`
    const index = this.#loadIndex()
    const records = this.#recordSet()
    const out: StoredAllocation[] = []
    for (const [ip, entries] of index) {
      if (!records.has(ip)) {
        // Stale: the record is gone (a crash between the two steps of add or remove).
        for (const e of entries) this.#unlinkQuietly(join(this.#owners, e))
        index.delete(ip)
        continue
      }
      if (!entries.some((e) => e.startsWith(prefix))) continue
      const rec = this.get(ip)
      if (rec && rec.containerId === owner.containerId && rec.ifname === owner.ifname) out.push(rec)
    }
    for (const ip of [...records]) {
      if (index.has(ip)) continue
      // A record without an index entry (host-local's, or the index was deleted): read it, index it.
      const rec = this.get(ip)
      if (!rec) continue
      if (rec.containerId !== '') this.#indexExisting(rec)
      if (rec.containerId === owner.containerId && rec.ifname === owner.ifname) out.push(rec)
    }
    return out
  }

  add(a: StoredAllocation): void {
    const record = join(this.#dir, recordFileName(a.ip))
    if (existsSync(record)) throw new ExistsError('IPAM record', a.ip, `in ${this.#dir}`)
    // The index entry doubles as the temporary file: written completely, then hard-linked to
    // the record's name. A crash in between leaves only a stale entry (no record).
    const entry = this.#createEntry(a)
    try {
      linkSync(join(this.#owners, entry), record)
      this.#dirty.add(this.#dir)
      this.#records?.add(a.ip)
    } catch (err) {
      this.#removeEntry(a.ip, entry)
      if (errnoCode(err) === 'EEXIST') throw new ExistsError('IPAM record', a.ip, `in ${this.#dir}`)
      throw err
    }
  }

  remove(ip: string): boolean {
    try {
      unlinkSync(join(this.#dir, recordFileName(ip)))
      this.#dirty.add(this.#dir)
      this.#records?.delete(ip)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        this.#records?.delete(ip)
        return false
      }
      throw err
    }
    for (const e of this.#loadIndex().get(ip) ?? []) this.#removeEntry(ip, e)
    return true
  }

  lastReserved(rangeSetIndex: number): string | undefined {
    try {
      const text = readFileSync(join(this.#dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`), 'utf8').trim()
      return text === '' ? undefined : text
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw err
    }
  }

  setLastReserved(rangeSetIndex: number, ip: string): void {
    if (!this.#fsync) {
      // Written in place: the cursor only says where the round-robin scan starts, and the
      // allocator treats an empty or garbled cursor as "start of the range" (tested), so a torn
      // write costs nothing but a restart of the scan. tmp + rename cost ~2 ms per call here.
      writeFileSync(join(this.#dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`), ip)
      return
    }
    const tmp = this.#writeTmp(ip)
    try {
      renameSync(tmp, join(this.#dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`))
      this.#dirty.add(this.#dir)
    } catch (err) {
      this.#unlinkQuietly(tmp)
      throw err
    }
  }

  /** With fsync on, fsyncs the directories where entries were added, renamed or removed. */
  syncDirs(): void {
    if (!this.#fsync) return
    for (const d of this.#dirty) {
      const fd = openSync(d, 'r')
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
    this.#dirty.clear()
  }

  #loadIndex(): Map<string, string[]> {
    if (this.#index) return this.#index
    const index = new Map<string, string[]>()
    let names: string[] = []
    try {
      names = readdirSync(this.#owners)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
    }
    for (const name of names) {
      const dot = name.indexOf('.')
      const ip = dot === 32 ? ipFromRecordFileName(name.slice(dot + 1)) : undefined
      if (ip === undefined) continue
      const list = index.get(ip)
      if (list) list.push(name)
      else index.set(ip, [name])
    }
    this.#index = index
    return index
  }

  /** Writes the index entry (the record's content) for a new record; returns its name. */
  #createEntry(a: StoredAllocation): string {
    const name = `${ownerHash(a)}.${recordFileName(a.ip)}`
    const path = join(this.#owners, name)
    const body = `${JSON.stringify({ containerId: a.containerId, ifname: a.ifname, allocatedAt: a.allocatedAt })}\n`
    mkdirSync(this.#owners, { recursive: true, mode: 0o755 })
    this.#unlinkQuietly(path) // a stale entry: its record does not exist (checked by the caller)
    this.#writeNew(path, body)
    this.#dirty.add(this.#owners)
    const index = this.#loadIndex()
    index.set(a.ip, [...(index.get(a.ip) ?? []).filter((e) => e !== name), name])
    return name
  }

  /** Indexes a record that has no entry (a hard link to it); failures only cost speed. */
  #indexExisting(rec: StoredAllocation): void {
    const name = `${ownerHash(rec)}.${recordFileName(rec.ip)}`
    try {
      mkdirSync(this.#owners, { recursive: true, mode: 0o755 })
      linkSync(join(this.#dir, recordFileName(rec.ip)), join(this.#owners, name))
      this.#dirty.add(this.#owners)
      const index = this.#loadIndex()
      index.set(rec.ip, [...(index.get(rec.ip) ?? []), name])
    } catch {
      // left unindexed: the next lookup reads it again
    }
  }

  #removeEntry(ip: string, name: string): void {
    this.#unlinkQuietly(join(this.#owners, name))
    this.#dirty.add(this.#owners)
    const list = this.#index?.get(ip)?.filter((e) => e !== name)
    if (list && list.length > 0) this.#index?.set(ip, list)
    else this.#index?.delete(ip)
  }

  /** Writes `body` to a fresh temporary file in the directory; returns its path. */
  #writeTmp(body: string): string {
    const path = join(this.#dir, `${TMP_PREFIX}${process.pid}-${tmpCounter++}`)
    this.#writeNew(path, body)
    return path
  }

  /** Creates `path` (which must not exist) with `body`, fsynced when asked. */
  #writeNew(path: string, body: string): void {
    const fd = openSync(path, 'wx', 0o644)
    try {
      writeFileSync(fd, body)
      if (this.#fsync) fsyncSync(fd)
    } catch (err) {
      closeSync(fd)
      this.#unlinkQuietly(path)
      throw err
    }
    closeSync(fd)
  }

  #unlinkQuietly(path: string): void {
    try {
      unlinkSync(path)
    } catch {
      // already gone
    }
  }
}

/** Reads a record's owner: podnet's JSON, host-local's `id\r\nifname`, else an unknown owner. */
export function parseRecord(text: string): Omit<StoredAllocation, 'ip'> {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    try {
      const v = JSON.parse(trimmed) as Record<string, unknown>
      if (typeof v.containerId === 'string' && typeof v.ifname === 'string') {
        return {
          containerId: v.containerId,
          ifname: v.ifname,
          allocatedAt: typeof v.allocatedAt === 'string' ? v.allocatedAt : '',
        }
      }
    } catch {
      // fall through: unreadable
    }
    return { containerId: '', ifname: '', allocatedAt: '' }
  }
  const [id = '', ifname = ''] = trimmed.split('\r\n')
  return { containerId: id.trim(), ifname: ifname.trim(), allocatedAt: '' }
}
