/**
 * podnet's error classes. Every error podnet throws is a PodnetError with a stable `code`;
 * the CLI maps them to exit statuses and one-line messages, the CNI plugin to CNI error JSON.
 *
 * errno convention: `errno` is always the positive number (17), `errnoName` the symbolic
 * name as Node's SystemError spells it ('EEXIST'). See docs/library.md.
 */
import { getSystemErrorName } from 'node:util'

export type PodnetErrorCode =
  | 'ERR_PODNET_GENERIC'
  | 'ERR_PODNET_NETLINK'
  | 'ERR_PODNET_SYSCALL'
  | 'ERR_PODNET_DECODE'
  | 'ERR_PODNET_NOT_FOUND'
  | 'ERR_PODNET_EXISTS'
  | 'ERR_PODNET_INVALID'
  | 'ERR_PODNET_DUMP_INTERRUPTED'
  | 'ERR_PODNET_PERMISSION'
  | 'ERR_PODNET_BUSY'
  | 'ERR_PODNET_UNAVAILABLE'
  | 'ERR_PODNET_CONFLICT'

export class PodnetError extends Error {
  readonly code: PodnetErrorCode = 'ERR_PODNET_GENERIC'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Symbolic errno name ('EEXIST') for a positive errno number. */
export function errnoName(errno: number): string {
  // ENOTSUP and EOPNOTSUPP are both 95 on Linux; the kernel and iproute2 speak of EOPNOTSUPP.
  if (Math.abs(errno) === 95) return 'EOPNOTSUPP'
  const extra = LINUX_ONLY_ERRNOS[Math.abs(errno)]
  if (extra) return extra
  try {
    const name = getSystemErrorName(-Math.abs(errno))
    return name.startsWith('Unknown') ? `errno ${Math.abs(errno)}` : name
  } catch {
    return `errno ${Math.abs(errno)}`
  }
}

/** errnos Node's libuv table does not name (Linux-specific). */
const LINUX_ONLY_ERRNOS: Record<number, string> = { 54: 'EXFULL', 85: 'ERESTART', 512: 'ERESTARTSYS' }

/** Human text for an errno, as strerror(3) prints it. */
export function errnoText(errno: number): string {
  return ERRNO_TEXT[errnoName(errno)] ?? `errno ${errno}`
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  ENAMETOOLONG: 'File name too long',
  ENOTEMPTY: 'Directory not empty',
  ENODATA: 'No data available',
  EXFULL: 'Exchange full',
  EOPNOTSUPP: 'Operation not supported',
  ENOTSUP: 'Operation not supported',
  EPROTONOSUPPORT: 'Protocol not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  ENOBUFS: 'No buffer space available',
  ETIMEDOUT: 'Connection timed out',
  EMSGSIZE: 'Message too long',
  ELOOP: 'Too many levels of symbolic links',
  ERESTART: 'Interrupted system call should be restarted',
  ENOTSOCK: 'Socket operation on non-socket',
  ESOCKTNOSUPPORT: 'Socket type not supported',
}

/** Extended-ack TLVs (NLMSGERR_ATTR_*) the kernel attached to an NLMSG_ERROR or NLMSG_DONE. */
export interface ExtAck {
  readonly message?: string
  /** Byte offset of the offending attribute from the start of the request message. */
  readonly offset?: number
  /** The attribute path the offset points at, resolved through the request's schema. */
  readonly attrPath?: string
  readonly missingType?: number
  readonly missingNest?: number
}

/** The kernel refused a netlink request: errno from nlmsgerr.error plus ext-ack detail. */
export class NetlinkError extends PodnetError {
  override readonly code = 'ERR_PODNET_NETLINK'
  /** The request's message type name, e.g. 'RTM_NEWLINK'. */
  readonly op: string
  /** The object the request was about, e.g. "link 'pn0'" (may be empty). */
  readonly object: string
  readonly errno: number
  readonly errnoName: string
  readonly extAck: ExtAck
  constructor(op: string, errno: number, extAck: ExtAck = {}, object = '') {
    const name = errnoName(errno)
    const detail = extAck.message ? `: ${extAck.message}` : ''
    const at = extAck.attrPath ? ` (at ${extAck.attrPath})` : ''
    super(`${object ? `${object}: ` : ''}${op} failed: ${name} (${errnoText(errno)})${detail}${at}`)
    this.op = op
    this.object = object
    this.errno = errno
    this.errnoName = name
    this.extAck = extAck
  }
}

/** A libc call failed. */
export class SyscallError extends PodnetError {
  override readonly code = 'ERR_PODNET_SYSCALL'
  readonly syscall: string
  readonly errno: number
  readonly errnoName: string
  readonly path: string | undefined
  constructor(syscall: string, errno: number, path?: string) {
    const name = errnoName(errno)
    super(`${syscall}${path !== undefined ? ` ${path}` : ''} failed: ${name} (${errnoText(errno)})`)
    this.syscall = syscall
    this.errno = errno
    this.errnoName = name
    this.path = path
  }
}

/** Bytes from the kernel (or a fixture) did not match the schema. Never a RangeError. */
export class DecodeError extends PodnetError {
  override readonly code = 'ERR_PODNET_DECODE'
  readonly set: string
  readonly attr: string
  readonly offset: number
  constructor(set: string, attr: string, offset: number, reason: string) {
    super(`decode ${set}${attr ? `.${attr}` : ''} at offset ${offset}: ${reason}`)
    this.set = set
    this.attr = attr
    this.offset = offset
  }
}

/** A named object does not exist. */
export class NotFoundError extends PodnetError {
  override readonly code = 'ERR_PODNET_NOT_FOUND'
  readonly kind: string
  readonly objectName: string
  constructor(kind: string, name: string, where = '', options?: { cause?: unknown }) {
    super(`${kind} '${name}' does not exist${where ? ` ${where}` : ''}`, options)
    this.kind = kind
    this.objectName = name
  }
}

/** A named object already exists. */
export class ExistsError extends PodnetError {
  override readonly code = 'ERR_PODNET_EXISTS'
  readonly kind: string
  readonly objectName: string
  constructor(kind: string, name: string, where = '', options?: { cause?: unknown }) {
    super(`${kind} '${name}' already exists${where ? ` ${where}` : ''}`, options)
    this.kind = kind
    this.objectName = name
  }
}

/** Bad input: a name, address, CIDR, MTU ... that cannot be used. Nothing was changed. */
export class InvalidArgumentError extends PodnetError {
  override readonly code = 'ERR_PODNET_INVALID'
  readonly field: string
  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}

/** The caller lacks a capability (CAP_NET_ADMIN, CAP_SYS_ADMIN). */
export class PermissionError extends PodnetError {
  override readonly code = 'ERR_PODNET_PERMISSION'
}

/** A dump stayed interrupted (NLM_F_DUMP_INTR) after the bounded retries; `partial` holds what came back. */
export class DumpInterruptedError extends PodnetError {
  override readonly code = 'ERR_PODNET_DUMP_INTERRUPTED'
  readonly partial: readonly unknown[]
  readonly attempts: number
  constructor(op: string, attempts: number, partial: readonly unknown[]) {
    super(`${op} dump was interrupted ${attempts} times in a row (the kernel's tables kept changing); results may be inconsistent`)
    this.partial = partial
    this.attempts = attempts
  }
}

/** A service podnet depends on (an etcd cluster) could not be reached or answered with an error; retrying may help. */
export class UnavailableError extends PodnetError {
  override readonly code = 'ERR_PODNET_UNAVAILABLE'
}

/** Shared state says otherwise: a different configuration under the same name, a name held by someone else. */
export class ConflictError extends PodnetError {
  override readonly code = 'ERR_PODNET_CONFLICT'
}

export const isErrno = (err: unknown, name: string): err is NetlinkError | SyscallError =>
  (err instanceof NetlinkError || err instanceof SyscallError) && err.errnoName === name
