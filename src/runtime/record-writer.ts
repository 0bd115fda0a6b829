/**
 * The pod runtime's record writer: every pod record the runtime changes goes through persist().
 * A write a full disk refuses never throws and never stops the supervision: the record is kept
 * here (get, list and remove read it back), marked RecordWritten=False, and retried with a
 * doubling delay until a write succeeds (docs/reliability.md).
 */
import { NotFoundError } from '../errors.js'
import type { PodStore } from './state-store.js'
import { isActive, type PodRecord } from './types.js'

/** First retry of a failed record write, and the longest wait between retries. */
const WRITE_RETRY_MS = 1000
const WRITE_RETRY_MAX_MS = 30_000

const now = (): string => new Date().toISOString()

interface UnsavedRecord {
  rec: PodRecord
  /** The state dir's copy is due too. */
  persistent: boolean
  error: string
  since: string
  attempts: number
}

export interface RecordWriterOptions {
  /** First retry of a failed write (ms; RuntimeOptions.writeRetryMs). */
  retryMs?: number
  /** Told once per pod when its writes start failing ('write-failed', name, error) and when one succeeds again ('write-recovered', name, attempts). */
  emit: (event: 'write-failed' | 'write-recovered', name: string, detail: unknown) => void
}

/** Writes pod records through a PodStore, keeping and retrying those whose write failed. */
export class RecordWriter {
  private readonly store: PodStore
  private readonly opts: RecordWriterOptions
  /** Records whose last write failed (a full disk), kept here and retried (see persist). */
  private readonly unsaved = new Map<string, UnsavedRecord>()
  private writeTimer: NodeJS.Timeout | undefined
  private writeDelayMs: number
  private retryingWrites = false
  private closed = false

  constructor(store: PodStore, opts: RecordWriterOptions) {
    this.store = store
    this.opts = opts
    this.writeDelayMs = opts.retryMs ?? WRITE_RETRY_MS
  }

  /** The record this writer holds because its write failed, if any. */
  held(name: string): PodRecord | undefined {
    return this.unsaved.get(name)?.rec
  }

  /** Drops a held record (the pod is being removed). */
  forget(name: string): void {
    this.unsaved.delete(name)
  }

  /** Records whose write failed and is being retried (a full disk): pod, error, since when, attempts. */
  report(): Array<{ pod: string; error: string; since: string; attempts: number }> {
    return [...this.unsaved.values()].map((u) => ({ pod: u.rec.name, error: u.error, since: u.since, attempts: u.attempts }))
  }

  /** Stops retrying, after a last try of every held record. */
  close(): void {
    this.closed = true
    if (this.writeTimer) clearTimeout(this.writeTimer)
    this.writeTimer = undefined
    for (const u of [...this.unsaved.values()]) this.persist(u.rec) // a last try
  }

  /**
   * Writes a pod's record. A failed write (a full disk) never throws and never stops the
   * supervision: the record gets a RecordWritten=False condition and goes to the live file when
   * that can be written (so `pod inspect` tells the truth: the run dir is tmpfs), this writer
   * keeps it (held), reports it once ('write-failed', then 'write-recovered') and retries
   * every retryMs, doubling up to 30 s, until a write succeeds. A removed pod's record is
   * never written again (store.write refuses to make its directory anew). Returns whether it
   * was written.
   *
   * `persistent`: an active pod's record goes to the state dir too (pod.json), for what a
   * reboot must not lose: its addresses once it runs, a container that has ended for good.
   */
  persist(rec: PodRecord, persistent = false): boolean {
    const failed = this.unsaved.get(rec.name)
    persistent ||= failed?.persistent === true
    const cond = rec.conditions?.find((c) => c.type === 'RecordWritten')
    if (cond) {
      rec.conditions = rec.conditions!.filter((c) => c !== cond)
      if (!rec.conditions.length) delete rec.conditions
    }
    try {
      if (persistent && isActive(rec)) this.store.writePersistent(rec)
      this.store.write(rec)
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.unsaved.delete(rec.name)
        return false
      }
      const error = (err as Error).message
      rec.conditions = [...(rec.conditions ?? []), {
        type: 'RecordWritten', status: 'False', reason: 'WriteFailed', message: `${error} (kept by the supervisor, retried)`,
        lastTransitionTime: cond?.lastTransitionTime ?? now(),
      }]
      try {
        this.store.writeLive(rec)
      } catch {
        // the run dir cannot be written either: the record lives in this process until it can
      }
      this.unsaved.set(rec.name, { rec, error, persistent, since: failed?.since ?? now(), attempts: (failed?.attempts ?? 0) + 1 })
      if (!failed) this.opts.emit('write-failed', rec.name, err)
      if (!this.retryingWrites) this.armWriteRetry()
      return false
    }
    if (failed) {
      this.unsaved.delete(rec.name)
      this.opts.emit('write-recovered', rec.name, failed.attempts)
    }
    return true
  }

  private armWriteRetry(): void {
    if (this.writeTimer || this.closed) return
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined
      this.retryingWrites = true
      try {
        for (const u of [...this.unsaved.values()]) this.persist(u.rec)
      } finally {
        this.retryingWrites = false
      }
      if (this.unsaved.size) {
        this.writeDelayMs = Math.min(this.writeDelayMs * 2, WRITE_RETRY_MAX_MS)
        this.armWriteRetry()
      } else {
        this.writeDelayMs = this.opts.retryMs ?? WRITE_RETRY_MS
      }
    }, this.writeDelayMs)
  }
}
