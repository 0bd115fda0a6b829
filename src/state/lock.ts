/**
 * The state lock: one exclusive lock per lock file, for every holder in every process.
 *
 * Across processes it is flock(2) on the file. Inside a process, holders of the same path queue
 * on one promise chain keyed by the path (not by the object that asked): two managers of one run
 * directory in one process never take two flocks on two file descriptions of one file, which
 * would deadlock the process against itself.
 *
 * Waiting never blocks the event loop: the lock is first tried with LOCK_NB; when another process
 * holds it, the blocking flock runs on a worker thread (koffi's async call) and the event loop goes
 * on (timers, sockets, other pods). Uncontended, taking it costs one open, one flock and one close.
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LOCK_EX, LOCK_UN, O_CLOEXEC, O_CREAT, O_RDWR } from '../sys/constants.js'
import { close, flock, flockOnWorker, open, tryFlock } from '../sys/syscall.js'

const queues = new Map<string, Promise<void>>()

/**
 * Runs fn holding the lock file at `path` (created if needed): first every earlier holder in this
 * process, then the flock. The lock is released when fn settles, also when it throws.
 */
export function withLock<T>(path: string, fn: () => Promise<T> | T): Promise<T> {
  const key = resolve(path)
  const prev = queues.get(key) ?? Promise.resolve()
  const run = async (): Promise<T> => {
    mkdirSync(dirname(key), { recursive: true, mode: 0o700 })
    const fd = open(key, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    try {
      if (!tryFlock(fd, LOCK_EX, key)) await flockOnWorker(fd, LOCK_EX, key)
      try {
        return await fn()
      } finally {
        flock(fd, LOCK_UN, key)
      }
    } finally {
      close(fd)
    }
  }
  const p = prev.then(run, run)
  const tail = p.then(() => undefined, () => undefined)
  queues.set(key, tail)
  void tail.then(() => { if (queues.get(key) === tail) queues.delete(key) })
  return p
}
