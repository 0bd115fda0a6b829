/**
 * podnet's error classes. Every error podnet throws is a PodnetError with a stable `code`;
 * the CLI maps them to exit statuses and one-line messages, the CNI plugin to CNI error JSON.
 *
 * errno convention: `errno` is always the positive number (17), `errnoName` the symbolic
 * name as Node's SystemError spells it ('EEXIST'). See docs/library.md.
 */
import { getSystemErrorName } from 'node:util'

/** Every error class's `code`; one per class, stable across releases (docs/library.md lists them). */
export type PodnetErrorCode =
  | 'ERR_PODNET_GENERIC'
  | 'ERR_PODNET_NETLINK'
  | 'ERR_PODNET_NFT_TRANSACTION'
  | 'ERR_PODNET_SYSCALL'
  | 'ERR_PODNET_DECODE'
  | 'ERR_PODNET_NOT_FOUND'
  | 'ERR_PODNET_EXISTS'
  | 'ERR_PODNET_ADDRESS_IN_USE'
  | 'ERR_PODNET_ALLOCATION_EXISTS'
  | 'ERR_PODNET_ADDRESS_EXHAUSTED'
  | 'ERR_PODNET_INVALID'
  | 'ERR_PODNET_DUMP_INTERRUPTED'
  | 'ERR_PODNET_PERMISSION'
  | 'ERR_PODNET_BUSY'
  | 'ERR_PODNET_DAMAGED'
  | 'ERR_PODNET_CNI_REQUEST'
  | 'ERR_PODNET_UNAVAILABLE'
  | 'ERR_PODNET_CONFLICT'
  | 'ERR_PODNET_SANDBOX'
  | 'ERR_PODNET_UNSUPPORTED'
  | 'ERR_PODNET_TIMEOUT'
  | 'ERR_PODNET_SOCKET_NETNS'

/**
 * The base class: `code` names the class (ERR_PODNET_GENERIC for a plain PodnetError), `cause`
 * the lower-level error behind it when there is one.
 */
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
  override readonly code: PodnetErrorCode = 'ERR_PODNET_NETLINK'
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
  override readonly code: PodnetErrorCode = 'ERR_PODNET_EXISTS'
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
  /** The message without the field in front. */
  readonly reason: string
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options)
    this.field = field
    this.reason = message
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

/**
 * True when `err`, or an error in its `cause` chain, is a NetlinkError or SyscallError with this
 * errno name: an ExistsError that wraps the kernel's EEXIST answers isErrno(e, 'EEXIST').
 */
export function isErrno(err: unknown, name: string): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e instanceof NetlinkError || e instanceof SyscallError) && e.errnoName === name) return true
  }
  return false
}

/** The kernel's refusal in `err` or its cause chain (a NetlinkError or SyscallError), if any. */
export function errnoErrorOf(err: unknown): NetlinkError | SyscallError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof NetlinkError || e instanceof SyscallError) return e
  }
  return undefined
}

/**
 * A failed nf_tables transaction. It is the NetlinkError of the first failing command (op = its
 * message type, object = what it was about); `commandIndex` says which command of the
 * transaction it was (-1 when the batch was refused as a whole) and `errors` holds every
 * error of the batch, in command order (later ones are often consequences of the first).
 */
export class NftTransactionError extends NetlinkError {
  override readonly code: PodnetErrorCode = 'ERR_PODNET_NFT_TRANSACTION'
  readonly commandIndex: number
  readonly errors: readonly NetlinkError[]
  constructor(op: string, errno: number, extAck: ExtAck, object: string, commandIndex: number, errors: readonly NetlinkError[]) {
    super(op, errno, extAck, object)
    this.commandIndex = commandIndex
    this.errors = errors
  }
}

/** An object is in use and cannot be changed or removed as asked (a network with attachments). */
export class BusyError extends PodnetError {
  override readonly code = 'ERR_PODNET_BUSY'
  readonly kind: string
  readonly objectName: string
  /** `what`: the whole message, naming the object ("network 'web' has 2 attachment(s) ..."). */
  constructor(kind: string, name: string, what: string, options?: { cause?: unknown }) {
    super(what, options)
    this.kind = kind
    this.objectName = name
  }
}

/** A record on disk exists but cannot be read (not JSON: a torn write, a full disk, a hand edit). */
export class DamagedRecordError extends PodnetError {
  override readonly code = 'ERR_PODNET_DAMAGED'
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    super(`${path} is damaged (${reason})`)
    this.path = path
    this.reason = reason
  }
}

/** The owner of an IPAM allocation (container id, interface name). */
export interface IpamOwner {
  containerId: string
  ifname: string
}

function ownerText(o: IpamOwner, reservation: string | undefined): string {
  if (reservation !== undefined) return `the reservation '${reservation}' ifname '${o.ifname}' (an address kept while its pod is away)`
  return o.containerId === '' && o.ifname === ''
    ? 'an unknown owner (unreadable record)'
    : `container '${o.containerId}' ifname '${o.ifname}'`
}

/**
 * A requested (static) address is already allocated; `owner` says to whom, `reservation` the key
 * when the owner is a reservation (bridge/ipam: an address kept for a pod that takes it back).
 */
export class AddressInUseError extends ExistsError {
  override readonly code: PodnetErrorCode = 'ERR_PODNET_ADDRESS_IN_USE'
  readonly ip: string
  readonly owner: IpamOwner
  readonly reservation?: string
  constructor(ip: string, owner: IpamOwner, subnet: string, reservation?: string) {
    super('allocation of address', ip, `in ${subnet}: it is owned by ${ownerText(owner, reservation)}`)
    this.ip = ip
    this.owner = owner
    if (reservation !== undefined) this.reservation = reservation
  }
}

/** The owner already holds addresses: IPAM gives an owner one allocation (release it first). */
export class AllocationExistsError extends ExistsError {
  override readonly code: PodnetErrorCode = 'ERR_PODNET_ALLOCATION_EXISTS'
  readonly owner: IpamOwner
  readonly ips: readonly string[]
  constructor(owner: IpamOwner, ips: readonly string[]) {
    super('IPAM allocation for container', owner.containerId, `with ifname '${owner.ifname}' (${ips.join(', ')}); release it before allocating again`)
    this.owner = owner
    this.ips = ips
  }
}

/** Usage of one range when a range set ran out. */
export interface RangeUsage {
  /** '10.0.0.0/30' */
  readonly subnet: string
  /** The allocatable window, '10.0.0.2-10.0.0.2'. */
  readonly range: string
  /** Allocations inside the window. */
  readonly inUse: number
}

/**
 * A range set has no free address left:
 * "no free address in 10.0.0.0/30 (range 10.0.0.2-10.0.0.2: 1 in use)".
 */
export class AddressExhaustedError extends PodnetError {
  override readonly code = 'ERR_PODNET_ADDRESS_EXHAUSTED'
  readonly rangeSetIndex: number
  readonly usage: readonly RangeUsage[]
  constructor(rangeSetIndex: number, usage: readonly RangeUsage[]) {
    super(`no free address in ${usage.map((u) => `${u.subnet} (range ${u.range}: ${u.inUse} in use)`).join(', ')}`)
    this.rangeSetIndex = rangeSetIndex
    this.usage = usage
  }
}

/** What kind of bad CNI request: each maps to one well-known CNI error code (cni/skel.ts). */
export type CniRequestErrorKind =
  | 'version' // 1
  | 'unsupported-field' // 2
  | 'unknown-container' // 3
  | 'env' // 4
  | 'decode' // 6
  | 'config' // 7
  | 'try-again' // 11
  | 'not-available' // 50
  | 'check-failed' // 101

/**
 * A CNI request the plugin cannot serve as given (bad environment, configuration or version), or
 * a CHECK/STATUS verdict. `message` is short; `details` says what exactly.
 */
export class CniRequestError extends PodnetError {
  override readonly code = 'ERR_PODNET_CNI_REQUEST'
  readonly kind: CniRequestErrorKind
  readonly details: string | undefined
  constructor(kind: CniRequestErrorKind, message: string, details?: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
    this.details = details
  }
}

/** Why a sandbox or a fixture cannot run (podnet/testing): each says what to do instead. */
export type SandboxErrorReason =
  | 'not-sandboxed' // the guard cannot prove this process is outside the machine's own network namespace
  | 'no-privilege' // not root and no user namespace asked for (or one that lacks the capability)
  | 'no-userns' // user namespaces are not available to this user (rootless mode)
  | 'failed' // the sandbox launcher (unshare) failed for another reason

/** A sandbox or fixture cannot run here; fixtures throw it instead of skipping tests silently. */
export class SandboxError extends PodnetError {
  override readonly code = 'ERR_PODNET_SANDBOX'
  readonly reason: SandboxErrorReason
  constructor(message: string, reason: SandboxErrorReason, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

/** This kernel (or machine) lacks what was asked for, e.g. the netem qdisc: `feature` names it. */
export class UnsupportedError extends PodnetError {
  override readonly code = 'ERR_PODNET_UNSUPPORTED'
  readonly feature: string
  constructor(feature: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.feature = feature
  }
}

/** An operation with a deadline (a probe, a request to a server in a namespace) ran out of time. */
export class TimeoutError extends PodnetError {
  override readonly code = 'ERR_PODNET_TIMEOUT'
  readonly timeoutMs: number
  constructor(message: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(message, options)
    this.timeoutMs = timeoutMs
  }
}

/**
 * A socket Node would create later, off the namespace switch (net.connect, dgram.createSocket,
 * a listen given a host), was made inside `runSync`: it would act in the caller's namespace,
 * not the one asked for. podnet refuses it; src/netns/sockets.ts creates sockets in place.
 */
export class SocketNamespaceError extends PodnetError {
  override readonly code = 'ERR_PODNET_SOCKET_NETNS'
}
