/**
 * A container's security (context.ts) as podnet-launch options, and its seccomp filter as the
 * bytes the launcher reads from a pipe (--seccomp-fd). The same options serve `pod exec`, so an
 * exec'd process gets exactly the container's user, capabilities, no_new_privs and filter.
 */
import { compileSeccomp, sockFilterBytes } from './seccomp-bpf.js'
import { nativeArch } from './seccomp-profile.js'
import type { ContainerSecurity } from './context.js'
import { PodnetError } from '../../errors.js'

const hex = (m: bigint): string => m.toString(16)

/** Process options (user, groups, capabilities, no_new_privs): for run and exec. */
export function processSecurityArgs(sec: ContainerSecurity): string[] {
  const c = sec.caps
  const a = ['--user', `${sec.uid}:${sec.gid}`, '--groups', sec.groups.join(','),
    '--caps', [c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map(hex).join(',')]
  if (sec.noNewPrivs) a.push('--no-new-privs')
  return a
}

/** Mount options (masked and read-only paths, /sys, read-only root): for run. */
export function mountSecurityArgs(sec: ContainerSecurity): string[] {
  const a: string[] = []
  for (const p of sec.maskedPaths) a.push('--mask', p)
  for (const p of sec.readonlyPaths) a.push('--ro', p)
  a.push('--sysfs', sec.sysfsReadOnly ? 'ro' : 'rw')
  if (sec.readOnlyRootFilesystem) a.push('--readonly-root')
  return a
}

const cache = new Map<string, Buffer>()

/** The seccomp filter's bytes (struct sock_filter[]), or undefined for Unconfined. Cached per profile. */
export function seccompFilterBytes(sec: ContainerSecurity): Buffer | undefined {
  if (!sec.seccomp) return undefined
  const arch = nativeArch()
  if (!arch) throw new PodnetError(`seccomp: podnet has no syscall table for ${process.arch}; use seccompProfile type Unconfined`)
  const key = JSON.stringify(sec.seccomp, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)
  let bytes = cache.get(key)
  if (!bytes) {
    bytes = sockFilterBytes(compileSeccomp(sec.seccomp, arch))
    if (cache.size > 64) cache.clear()
    cache.set(key, bytes)
  }
  return bytes
}
