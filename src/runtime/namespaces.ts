/**
 * The pod's shared namespaces: created on this thread with unshare(2), pinned by bind mounts
 * (as CRI-O's pinns does, so they outlive every process), and given to the pause process,
 * which is forked while this thread is still inside them. No helper process is involved.
 *
 *   <dir>/net  <dir>/ipc  <dir>/uts     always (the pod's network, IPC and UTS namespaces)
 *   <dir>/pid                           with shareProcessNamespace (the pause is its PID 1)
 *
 * Only this thread moves, and only between unshare and the setns calls that bring it back,
 * with nothing but synchronous calls in between (see sys/netns-switch.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sysctlRefused } from './security/context.js'
import { PodnetError, isErrno } from '../errors.js'
import {
  CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUTS, MNT_DETACH, MS_BIND, O_CLOEXEC, O_RDONLY,
} from '../sys/constants.js'
import { close, mount, open, sethostname, setns, umount2, unshare } from '../sys/syscall.js'

export type PinnedKind = 'net' | 'ipc' | 'uts' | 'pid'

/** Paths of the pinned namespaces. */
export interface NamespacePins {
  net: string
  ipc: string
  uts: string
  pid?: string
  /** The pod's user namespace (hostUsers: false; see userns.ts). */
  user?: string
}

export interface CreateNamespacesOptions {
  /** Directory for the pin files (created). */
  dir: string
  hostname: string
  /** Also a PID namespace, with the pause as its PID 1. */
  sharePid: boolean
  /** The pause program and its arguments (e.g. ['/usr/bin/catatonit', '-P']). */
  pause: string[]
  /**
   * Namespaced sysctls to set (net.* in the network namespace, kernel.shm_rmid_forced in the
   * IPC one): written while this thread is inside the new namespaces.
   */
  sysctls?: ReadonlyArray<{ name: string; value: string; field?: string }>
}

export interface CreatedNamespaces {
  pins: NamespacePins
  pause: ChildProcess
}

const CLONE_FLAG: Record<PinnedKind, number> = { net: CLONE_NEWNET, ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS, pid: CLONE_NEWPID }

function touch(path: string): void {
  closeSync(openSync(path, 'wx', 0o444))
}

/** Where createPodNamespaces pins a pod's namespaces under dir (known before they exist). */
export function pinPaths(dir: string, sharePid: boolean): NamespacePins {
  return { net: join(dir, 'net'), ipc: join(dir, 'ipc'), uts: join(dir, 'uts'), ...(sharePid && { pid: join(dir, 'pid') }) }
}

/** Bind-mounts a namespace file onto a pin file (created empty). */
function pin(source: string, target: string): void {
  touch(target)
  try {
    mount(source, target, 'none', MS_BIND)
  } catch (err) {
    try { unlinkSync(target) } catch { /* gone */ }
    throw err
  }
}

/** Unpins: detach the bind mount, remove the file. Missing pins are fine. */
export function unpin(path: string): void {
  try {
    umount2(path, MNT_DETACH)
  } catch (err) {
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err
  }
  try {
    unlinkSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/** Unpins every namespace of a pod. */
export function unpinAll(pins: Partial<NamespacePins>): void {
  for (const p of [pins.net, pins.ipc, pins.uts, pins.pid, pins.user]) if (p) unpin(p)
}

/**
 * Creates net, ipc and uts namespaces (and pid with sharePid), sets the hostname, pins them
 * under opts.dir and starts the pause inside them. Synchronous. On failure nothing is left:
 * no pin, no process.
 */
export function createPodNamespaces(opts: CreateNamespacesOptions): CreatedNamespaces {
  const [cmd, ...args] = opts.pause
  if (!cmd) throw new PodnetError('no pause program given')
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const kinds: PinnedKind[] = opts.sharePid ? ['net', 'ipc', 'uts', 'pid'] : ['net', 'ipc', 'uts']
  const planned = pinPaths(opts.dir, opts.sharePid)
  const pins: NamespacePins = { net: planned.net, ipc: planned.ipc, uts: planned.uts }
  const made: string[] = []
  const home = new Map<PinnedKind, number>()
  let pause: ChildProcess | undefined
  try {
    for (const k of kinds) home.set(k, open(`/proc/thread-self/ns/${k}`, O_RDONLY | O_CLOEXEC))
    let flags = 0
    for (const k of kinds) flags |= CLONE_FLAG[k]
    try {
      unshare(flags)
      sethostname(opts.hostname)
      for (const s of opts.sysctls ?? []) {
        try {
          writeFileSync(`/proc/sys/${s.name.replace(/\./g, '/')}`, s.value)
        } catch (err) {
          throw Object.assign(sysctlRefused(s, (err as NodeJS.ErrnoException).code ?? String(err)), { cause: err })
        }
      }
      for (const k of ['net', 'ipc', 'uts'] as const) {
        pin(`/proc/thread-self/ns/${k}`, pins[k])
        made.push(pins[k])
      }
      // forked now, on this thread: the pause is born in the new namespaces (PID 1 of the new pid ns)
      pause = spawn(cmd, args, { detached: true, stdio: 'ignore' })
      pause.on('error', () => { /* reported below: no pid */ })
    } finally {
      for (const [k, fd] of home) setns(fd, CLONE_FLAG[k], `back to the original ${k} namespace`)
    }
    if (pause.pid === undefined) throw new PodnetError(`cannot start the pause process ${cmd}`)
    if (planned.pid !== undefined) {
      pins.pid = planned.pid
      pin(`/proc/${pause.pid}/ns/pid`, pins.pid)
      made.push(pins.pid)
    }
    return { pins, pause }
  } catch (err) {
    if (pause?.pid !== undefined) pause.kill('SIGKILL')
    for (const p of made) {
      try { unpin(p) } catch { /* best effort */ }
    }
    throw err
  } finally {
    for (const fd of home.values()) close(fd)
  }
}

/**
 * The namespace inode a pin holds, or undefined when the pin is not a mounted namespace (a
 * missing file, or a plain file left after the unmount).
 */
export function pinnedInode(path: string): number | undefined {
  try {
    const st = statSync(path)
    return st.dev === statSync('/proc/self/ns/net').dev ? st.ino : undefined // nsfs
  } catch {
    return undefined
  }
}
