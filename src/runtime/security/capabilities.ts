/**
 * Linux capabilities by name (<linux/capability.h>, names and numbers verbatim) and the sets a
 * container gets. Sets are bit masks (bigint, bit N = capability N) as /proc/PID/status shows
 * them (CapEff, CapPrm, CapInh, CapBnd, CapAmb).
 */
import { InvalidArgumentError } from '../../errors.js'

export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
}

/** CAP_LAST_CAP of the header above (the launcher also stops at the kernel's cap_last_cap). */
export const CAP_LAST_CAP = 40

/**
 * The default set, podman 4's (containers.conf default_capabilities): no NET_RAW (ping works
 * through ping_group_range), no MKNOD, no AUDIT_WRITE, unlike Docker's and containerd's 14.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
]

/** Every capability this table knows. */
export const ALL_CAPABILITIES_MASK = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n

/**
 * A capability name as Kubernetes accepts it ("NET_ADMIN", "CAP_NET_ADMIN", any case) to its
 * canonical CAP_ name; "ALL" stays "ALL". Unknown names throw, naming the field.
 */
export function capabilityName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(field, `must be a capability name, got ${JSON.stringify(name)}`)
  const up = name.toUpperCase()
  if (up === 'ALL') return 'ALL'
  const canon = up.startsWith('CAP_') ? up : `CAP_${up}`
  if (CAPABILITIES[canon] === undefined) throw new InvalidArgumentError(field, `unknown capability ${JSON.stringify(name)}`)
  return canon
}

/** The mask of a list of CAP_ names. */
export function capMask(names: Iterable<string>): bigint {
  let m = 0n
  for (const n of names) {
    const bit = CAPABILITIES[n]
    if (bit === undefined) throw new InvalidArgumentError('capabilities', `unknown capability ${JSON.stringify(n)}`)
    m |= 1n << BigInt(bit)
  }
  return m
}

/** The CAP_ names of a mask, in number order. */
export function capNames(mask: bigint): string[] {
  return Object.entries(CAPABILITIES).filter(([, bit]) => (mask >> BigInt(bit)) & 1n).map(([n]) => n)
}

/**
 * The container's capability set, with containerd's CRI order for Kubernetes'
 * capabilities.add/drop: add "ALL", drop "ALL", then each added name, then each dropped name
 * (so a name both added and dropped is dropped).
 */
export function resolveCapabilities(base: bigint, add: readonly string[], drop: readonly string[]): bigint {
  let m = base
  if (add.includes('ALL')) m = ALL_CAPABILITIES_MASK
  if (drop.includes('ALL')) m = 0n
  for (const a of add) if (a !== 'ALL') m |= capMask([a])
  for (const d of drop) if (d !== 'ALL') m &= ~capMask([d])
  return m
}
