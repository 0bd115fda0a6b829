/**
 * Named network namespaces, interchangeable with iproute2's `ip netns` (same directory, same
 * steps): NAME is an empty file under /run/netns with a namespace bind-mounted on it.
 *
 * create: mkdir /run/netns; flock it; make it a shared mount (bind it onto itself first if it
 * is not a mount point yet); create NAME with O_EXCL; unshare(CLONE_NEWNET) on this thread; bind
 * /proc/thread-self/ns/net onto NAME; setns back. All synchronous: only this thread moves, and
 * nothing else runs on it meanwhile.
 * remove: umount2(MNT_DETACH) + unlink.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { validateNetnsName } from '../net/names.js'
import { ExistsError, NotFoundError, PermissionError, SyscallError, isErrno } from '../errors.js'
import {
  CLONE_NEWNET, LOCK_EX, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY,
} from '../sys/constants.js'
import { close, flock, mount, open, setns, umount2, unshare } from '../sys/syscall.js'
import { inNetnsFdSync, type SyncOnly } from '../sys/netns-switch.js'
import { refuseLateSocket } from './socket-guard.js'

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns'

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const netnsRunDir = (): string => NETNS_RUN_DIR

function permission(err: unknown, what: string): never {
  if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES')) {
    throw new PermissionError(`${what}: permission denied (this needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN)`, { cause: err })
  }
  throw err
}

/** A network namespace podnet can act in: anything with an open fd to it (a Netns is one). */
export interface NetnsRef {
  readonly fd: number
  /** For messages: the name, or the path it was opened by. */
  readonly name?: string
}

/**
 * A network namespace, named one of three ways everywhere in podnet's API: a name under
 * /run/netns ('pod1'), a path ('/proc/1234/ns/net', '/run/netns/pod1', a CNI_NETNS), or an open
 * handle (a Netns).
 */
export type NetnsArg = string | NetnsRef

/** A namespace opened from a NetnsArg; close() closes it only when this call opened it. */
export interface OpenedNetns {
  readonly ref: NetnsRef
  /** Its path when known (a name's /run/netns path, the path given, or a Netns's path). */
  readonly path: string | undefined
  close(): void
}

/** Opens a namespace given by name or path; an open handle is passed through (and not closed by close()). */
export function openNetnsArg(arg: NetnsArg): OpenedNetns {
  if (typeof arg !== 'string') return { ref: arg, path: arg instanceof Netns ? arg.path : undefined, close: () => {} }
  const ns = arg.includes('/') ? Netns.openPath(arg) : Netns.open(arg)
  return { ref: ns, path: ns.path, close: () => ns.close() }
}

/** The path of a namespace given by name or path (no file is opened); undefined for an fd-only handle. */
export function netnsArgPath(arg: NetnsArg): string | undefined {
  if (typeof arg === 'string') return arg.includes('/') ? arg : join(netnsRunDir(), arg)
  return arg instanceof Netns ? arg.path : undefined
}

/** A network namespace held open by an fd. Named ones live under /run/netns. */
export class Netns implements NetnsRef {
  readonly name: string
  readonly path: string
  readonly fd: number
  private closed = false

  private constructor(name: string, path: string, fd: number) {
    this.name = name
    this.path = path
    this.fd = fd
  }

  /** Creates a named namespace (synchronous). Throws ExistsError if NAME exists. Equivalent to: `ip netns add NAME`. */
  static create(name: string): Netns {
    validateNetnsName(name)
    const dir = netnsRunDir()
    const path = join(dir, name)
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 })
    } catch (err) {
      permission(new SyscallError('mkdir', (err as NodeJS.ErrnoException).errno ? -Number((err as NodeJS.ErrnoException).errno) : 13, dir), `cannot create ${dir}`)
    }
    let dirFd: number
    try {
      dirFd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    } catch (err) {
      permission(err, `cannot open ${dir}`)
    }
    try {
      flock(dirFd, LOCK_EX, dir)
      makeSharedMount(dir)
      let fileFd: number
      try {
        fileFd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new ExistsError('netns', name, '', { cause: err })
        permission(err, `cannot create ${path}`)
      }
      close(fileFd)
      const home = open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC)
      try {
        try {
          unshare(CLONE_NEWNET)
          mount('/proc/thread-self/ns/net', path, 'none', MS_BIND)
        } finally {
          setns(home, CLONE_NEWNET, 'back to the original network namespace')
        }
      } catch (err) {
        try { unlinkSync(path) } catch { /* already gone */ }
        permission(err, `cannot create network namespace '${name}'`)
      } finally {
        close(home)
      }
    } finally {
      close(dirFd)
    }
    return new Netns(name, path, open(path, O_RDONLY | O_CLOEXEC))
  }

  /** Opens an existing named namespace. Throws NotFoundError. */
  static open(name: string): Netns {
    validateNetnsName(name)
    const path = join(netnsRunDir(), name)
    try {
      return new Netns(name, path, open(path, O_RDONLY | O_CLOEXEC))
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError('netns', name, '', { cause: err })
      throw err
    }
  }

  /** Opens a namespace by path (/proc/PID/ns/net, /var/run/netns/x, a CNI_NETNS ...). */
  static openPath(path: string, name = path): Netns {
    try {
      return new Netns(name, path, open(path, O_RDONLY | O_CLOEXEC))
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError('netns', path, '', { cause: err })
      throw err
    }
  }

  /** The namespace this thread is in now. */
  static current(): Netns {
    return Netns.openPath('/proc/thread-self/ns/net', '(current)')
  }

  /** Removes a named namespace: detach the bind mount, unlink. Equivalent to: `ip netns del NAME`. */
  static remove(name: string): void {
    validateNetnsName(name)
    const path = join(netnsRunDir(), name)
    if (!existsSync(path)) throw new NotFoundError('netns', name)
    try {
      umount2(path, MNT_DETACH)
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) permission(err, `cannot unmount ${path}`) // EINVAL: not mounted, just unlink
    }
    try {
      unlinkSync(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  /** Names of the named namespaces, sorted. Equivalent to: `ip netns list`. */
  static list(): string[] {
    try {
      return readdirSync(netnsRunDir()).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  static exists(name: string): boolean {
    validateNetnsName(name)
    return existsSync(join(netnsRunDir(), name))
  }

  /**
   * Runs fn with this thread inside the namespace; fn must be synchronous (checked by the
   * compiler). A socket node would only create later (net.connect, dgram) is refused with
   * SocketNamespaceError: make those with src/netns/sockets.ts.
   */
  runSync<R>(fn: () => SyncOnly<R>): R {
    const r = inNetnsFdSync(this.fd, fn, `netns '${this.name}'`)
    refuseLateSocket(r, `netns '${this.name}'`)
    return r
  }

  /** Starts a process inside the namespace (fork happens on this thread while it is switched). */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return this.runSync(() => spawn(cmd, args, opts))
  }

  /** Runs a process inside the namespace to completion. Equivalent to: `ip netns exec NAME CMD...` (without the /sys remount). */
  spawnSync(cmd: string, args: string[], opts: Parameters<typeof spawnSync>[2] = {}): SpawnSyncReturns<string | Buffer> {
    return this.runSync(() => spawnSync(cmd, args, opts))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    close(this.fd)
  }
}

/** iproute2's loop: make DIR a shared mount, bind-mounting it onto itself first if needed. */
function makeSharedMount(dir: string): void {
  let bound = false
  for (;;) {
    try {
      mount('', dir, 'none', MS_SHARED | MS_REC)
      return
    } catch (err) {
      if (!isErrno(err, 'EINVAL') || bound) permission(err, `cannot make ${dir} a shared mount`)
      try {
        mount(dir, dir, 'none', MS_BIND | MS_REC)
      } catch (e) {
        permission(e, `cannot bind-mount ${dir}`)
      }
      bound = true
    }
  }
}
