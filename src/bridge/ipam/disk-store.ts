/**
 * IpamStore on disk: one directory per network (the caller passes it, normally
 * `<runDir>/networks/<name>/ipam/`), laid out like host-local's but with JSON records:
 *
 * ```
 * lock                   empty; flock(LOCK_EX) on it guards every transaction
 * 10.88.0.2              one file per allocated address, named by its canonical text
 * fd00__2                IPv6: ':' becomes '_' (fd00::2)
 *                          content: {"containerId":"…","ifname":"eth0","allocatedAt":"2026-…Z"}\n
 * last_reserved.0        the address last handed out dynamically from range set 0, as text
 * owners/<h>/<record>    owner index: a hard link to <record>, whose owner hashes to <h>
 * owners/complete        marker: every record of the directory has its index entry
 * .tmp-<pid>-<n>         a write in progress (left over only by a crash; removed when seen)
 * ```
 * `<h>` is the first 32 hex digits of sha256(JSON.stringify([containerId, ifname])). The names
 * and the record formats are in disk-layout.ts.
 *
 * No per-call directory listing. The records are the truth; `owners/` is an index that finds
 * an owner's addresses by listing one directory of one or two names, so allocation and
 * release cost the same with 10 or 10,000 records (the allocator probes candidate addresses
 * with `has()`, a stat each, and lists the store only when a range is nearly full). An entry
 * is written first (doubling as the temporary file of the record) and hard-linked to the
 * record's name; it is removed after the record. Every hit is checked against the record, so a
 * crash between the two steps leaves only a stale entry, which is ignored and removed when
 * seen.
 *
 * Completeness: podnet keeps the index complete by construction. Records without an entry
 * (host-local's, an `owners/` that was deleted, the flat `owners/<h>.<record>` layout of podnet
 * 0.1) are found by a full scan that indexes them and then writes `owners/complete`; the scan
 * runs on the first owner lookup of a directory without the marker. `list()` (used by gc and
 * network inspect) also indexes any record whose link count says it has no entry, so records
 * a foreign writer adds later are indexed by the next gc; until then they are never handed out
 * (addresses are probed) but owner lookups do not see them.
 *
 * Every write goes to a new file first: a record is then hard-linked to its final name
 * (link(2) fails if the name exists, so a record is never overwritten by an add; `replace`, which
 * gives an address to another owner, renames a link to the new content over it), `last_reserved.<i>`
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
import {
  closeSync, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmdirSync, statSync,
  unlinkSync, writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { ExistsError, NotFoundError, PodnetError, isErrno } from '../../errors.js'
import { close, flock, open } from '../../sys/syscall.js'
import { LOCK_EX, O_CLOEXEC, O_CREAT, O_RDWR } from '../../sys/constants.js'
import type { IpamStore, IpamStoreTx, Owner, StoredAllocation, SyncOnly } from './store.js'
import {
  INDEX_COMPLETE, LAST_RESERVED_PREFIX, LOCK_FILE, OWNERS_DIR, OWNER_DIR_RE, TMP_PREFIX, ipFromRecordFileName, ownerHash, parseRecord, recordFileName,
} from './disk-layout.js'

/** Options of DiskStore. */
export interface DiskStoreOptions {
  /** fsync written files and the directories before a transaction returns (default false: see the module comment). */
  readonly fsync?: boolean
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
  /** Addresses that have a record, loaded on first use of ips()/list(). */
  #records: Set<string> | undefined
  /** The index is known complete in this transaction (marker seen or written). */
  #complete = false

  constructor(dir: string, fsync: boolean) {
    this.#dir = dir
    this.#owners = join(dir, OWNERS_DIR)
    this.#fsync = fsync
  }

  ips(): string[] {
    return [...this.#recordSet()]
  }

  has(ip: string): boolean {
    if (this.#records) return this.#records.has(ip)
    return existsSync(join(this.#dir, recordFileName(ip)))
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
      const rec = this.#readWithLinks(ip)
      if (!rec) continue
      // One link: the record has no index entry (a foreign writer's): index it now.
      if (rec.links === 1 && rec.record.containerId !== '') this.#link(rec.record)
      out.push(rec.record)
    }
    return out
  }

  byOwner(owner: Owner): StoredAllocation[] {
    this.#ensureComplete()
    const h = ownerHash(owner)
    const ownerDir = join(this.#owners, h)
    let names: string[]
    try {
      names = readdirSync(ownerDir)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return []
      throw err
    }
    const out: StoredAllocation[] = []
    for (const name of names) {
      const ip = ipFromRecordFileName(name)
      const rec = ip === undefined ? undefined : this.get(ip)
      if (ip === undefined || !rec) {
        // Stale: the record is gone (a crash between the two steps of add or remove).
        this.#unlinkQuietly(join(ownerDir, name))
        continue
      }
      if (rec.containerId === owner.containerId && rec.ifname === owner.ifname) out.push(rec)
      else if (!this.#sameFile(join(ownerDir, name), join(this.#dir, name))) this.#unlinkQuietly(join(ownerDir, name)) // stale
    }
    if (out.length === 0) this.#rmdirQuietly(ownerDir)
    return out
  }

  add(a: StoredAllocation): void {
    const record = join(this.#dir, recordFileName(a.ip))
    if (existsSync(record)) throw new ExistsError('IPAM record', a.ip, `in ${this.#dir}`)
    // The index entry doubles as the temporary file: written completely, then hard-linked to
    // the record's name (link(2) fails with EEXIST when the address is taken). A crash in
    // between leaves only a stale entry (no record).
    const entry = this.#createEntry(a)
    try {
      linkSync(entry, record)
      this.#dirty.add(this.#dir)
      this.#records?.add(a.ip)
    } catch (err) {
      this.#unlinkQuietly(entry)
      this.#rmdirQuietly(join(entry, '..'))
      if (errnoCode(err) === 'EEXIST') throw new ExistsError('IPAM record', a.ip, `in ${this.#dir}`)
      throw err
    }
  }

  replace(a: StoredAllocation): void {
    const name = recordFileName(a.ip)
    const record = join(this.#dir, name)
    const old = this.get(a.ip)
    if (!old) throw new NotFoundError('IPAM record', a.ip, `in ${this.#dir}`)
    // The new owner's index entry is written first (as for add) and a second link to it is
    // renamed over the record: rename(2) replaces the name in one step, so the address always
    // has a record. A crash before the rename leaves a stale entry of the new owner, one after
    // it the old owner's entry (a link to the old inode): both are dropped when seen (byOwner).
    const entry = this.#createEntry(a)
    const tmp = join(this.#dir, `${TMP_PREFIX}${process.pid}-${tmpCounter++}`)
    try {
      linkSync(entry, tmp)
      renameSync(tmp, record)
      this.#dirty.add(this.#dir)
    } catch (err) {
      this.#unlinkQuietly(tmp)
      this.#unlinkQuietly(entry)
      this.#rmdirQuietly(join(entry, '..'))
      throw err
    }
    if (old.containerId !== '' && ownerHash(old) !== ownerHash(a)) {
      const ownerDir = join(this.#owners, ownerHash(old))
      this.#unlinkQuietly(join(ownerDir, name))
      this.#rmdirQuietly(ownerDir)
      this.#dirty.add(this.#owners)
    }
  }

  remove(ip: string): boolean {
    const name = recordFileName(ip)
    const rec = this.get(ip)
    try {
      unlinkSync(join(this.#dir, name))
      this.#dirty.add(this.#dir)
      this.#records?.delete(ip)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        this.#records?.delete(ip)
        return false
      }
      throw err
    }
    if (rec && rec.containerId !== '') {
      const ownerDir = join(this.#owners, ownerHash(rec))
      this.#unlinkQuietly(join(ownerDir, name))
      this.#rmdirQuietly(ownerDir)
      this.#dirty.add(this.#owners)
    }
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
      let fd: number
      try {
        fd = openSync(d, 'r')
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue // an owner directory removed again
        throw err
      }
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
    this.#dirty.clear()
  }

  /**
   * Makes sure every record has its index entry: a stat of the marker when it exists, else one
   * full scan (drops what is not an owner directory, e.g. the flat entries of podnet 0.1,
   * links every record into its owner's directory) and the marker.
   */
  #ensureComplete(): void {
    if (this.#complete) return
    const marker = join(this.#owners, INDEX_COMPLETE)
    if (existsSync(marker)) {
      this.#complete = true
      return
    }
    mkdirSync(this.#owners, { recursive: true, mode: 0o755 })
    for (const name of readdirSync(this.#owners)) {
      if (!OWNER_DIR_RE.test(name)) this.#unlinkQuietly(join(this.#owners, name))
    }
    for (const ip of this.ips()) {
      const rec = this.#readWithLinks(ip)
      if (rec && rec.links === 1 && rec.record.containerId !== '') this.#link(rec.record)
    }
    this.#writeNew(marker, '')
    this.#dirty.add(this.#owners)
    this.#complete = true
  }

  /** Both paths name the same inode. */
  #sameFile(a: string, b: string): boolean {
    try {
      return statSync(a).ino === statSync(b).ino
    } catch {
      return false
    }
  }

  /** A record with its link count (2 when it has an index entry). */
  #readWithLinks(ip: string): { record: StoredAllocation; links: number } | undefined {
    let fd: number
    try {
      fd = openSync(join(this.#dir, recordFileName(ip)), 'r')
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw err
    }
    try {
      const links = fstatSync(fd).nlink
      return { record: { ip, ...parseRecord(readFileSync(fd, 'utf8')) }, links }
    } finally {
      closeSync(fd)
    }
  }

  /** Writes the index entry (the record's content) for a new record; returns its path. */
  #createEntry(a: StoredAllocation): string {
    const ownerDir = join(this.#owners, ownerHash(a))
    const path = join(ownerDir, recordFileName(a.ip))
    const body = `${JSON.stringify({ containerId: a.containerId, ifname: a.ifname, allocatedAt: a.allocatedAt })}\n`
    mkdirSync(ownerDir, { recursive: true, mode: 0o755 })
    this.#unlinkQuietly(path) // a stale entry: a record written with it would have failed with EEXIST
    this.#writeNew(path, body)
    this.#dirty.add(ownerDir)
    this.#dirty.add(this.#owners)
    return path
  }

  /** Indexes a record that has no entry (a hard link to it); failures only cost speed. */
  #link(rec: StoredAllocation): void {
    const ownerDir = join(this.#owners, ownerHash(rec))
    const name = recordFileName(rec.ip)
    try {
      mkdirSync(ownerDir, { recursive: true, mode: 0o755 })
      this.#unlinkQuietly(join(ownerDir, name))
      linkSync(join(this.#dir, name), join(ownerDir, name))
      this.#dirty.add(ownerDir)
      this.#dirty.add(this.#owners)
    } catch {
      // left unindexed: the next full scan tries again
    }
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
      if (body !== '') writeFileSync(fd, body)
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

  /** Removes an owner directory when it is empty (ENOTEMPTY: the owner still holds addresses). */
  #rmdirQuietly(path: string): void {
    try {
      rmdirSync(path)
    } catch {
      // not empty, or gone
    }
  }
}
