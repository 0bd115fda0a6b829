/**
 * Running synchronous code with the calling thread inside another network namespace.
 *
 * setns(2) moves only the calling thread; Node's threadpool (fs, DNS) stays where it was.
 * So the window between switch and switch-back must contain only synchronous calls: the
 * `SyncOnly` type makes an async callback a compile error.
 */
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from './constants.js'
import { close, open, setns } from './syscall.js'

export type SyncOnly<R> = R extends PromiseLike<unknown> ? never : R

/** Calls fn with this thread in the network namespace behind nsFd, then switches back (also on throw). */
export function inNetnsFdSync<R>(nsFd: number, fn: () => SyncOnly<R>, what?: string): R {
  const home = open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC)
  try {
    setns(nsFd, CLONE_NEWNET, what)
    try {
      return fn()
    } finally {
      setns(home, CLONE_NEWNET, 'back to the original network namespace')
    }
  } finally {
    close(home)
  }
}
