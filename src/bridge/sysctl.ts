/**
 * sysctls, per network namespace. /proc/sys/net is resolved from the thread that opens the
 * file, so writes for another namespace happen inside Netns.runSync with synchronous fs calls.
 * Per-device IPv4 settings are set over netlink where the kernel allows it (IFLA_INET_CONF).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { PodnetError } from '../errors.js'

const sysctlPath = (name: string): string => `/proc/sys/${name.includes('/') ? name : name.replace(/\./g, '/')}`

/**
 * Writes a sysctl in the calling thread's namespace; no-op when already set. Names are dotted
 * ('net.ipv4.ip_forward') or slashed ('net/ipv6/conf/pn-a.b/accept_ra', for interface names with dots).
 */
export function writeSysctlSync(name: string, value: string): void {
  const path = sysctlPath(name)
  try {
    if (readFileSync(path, 'utf8').trim() === value) return
    writeFileSync(path, value)
  } catch (err) {
    throw new PodnetError(`cannot set sysctl ${name}=${value}: ${(err as Error).message}`, { cause: err })
  }
}

export function readSysctlSync(name: string): string {
  return readFileSync(sysctlPath(name), 'utf8').trim()
}
