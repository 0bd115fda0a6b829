/**
 * tc handles and rates: the 32-bit "major:minor" ids of qdiscs, classes and parents as tc(8)
 * writes them ("1:", "1:10", "ffff:", "root", "ingress"), and the rate/size arithmetic tc uses
 * to fill the legacy fields of struct tc_ratespec and the psched-tick buffers.
 */
import { InvalidArgumentError } from '../../errors.js'
import { TC_H_CLSACT, TC_H_INGRESS, TC_H_MIN_EGRESS, TC_H_MIN_INGRESS, TC_H_ROOT, TC_H_UNSPEC, TC_LINKLAYER_ETHERNET } from './constants/pkt-sched.js'

/** TC_H_MAKE(maj, min): maj is the upper 16 bits already shifted (as in the kernel's macro). */
export const tcHandle = (major: number, minor: number): number => (((major << 16) >>> 0) | (minor & 0xffff)) >>> 0
export const tcMajor = (h: number): number => (h >>> 16) & 0xffff
export const tcMinor = (h: number): number => h & 0xffff

/** The parent of the clsact qdisc's ingress and egress hooks, as tc names them ("ingress", "egress"). */
export const TC_H_CLSACT_INGRESS = tcHandle(0xffff, TC_H_MIN_INGRESS)
export const TC_H_CLSACT_EGRESS = tcHandle(0xffff, TC_H_MIN_EGRESS)

/**
 * Parses a handle as tc(8) does: "1:" (major 1, minor 0), "1:10" (hex parts), ":10", "ffff:",
 * "none" (0), or the names "root", "ingress" (ffff:fff1), "clsact" (same), and for filter
 * parents under clsact "egress" (ffff:fff3). Numbers pass through. `field` names the value in errors.
 */
export function parseTcHandle(value: string | number, field = 'handle'): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new InvalidArgumentError(field, `${value} is not a 32-bit tc handle`)
    return value
  }
  switch (value) {
    case 'root': return TC_H_ROOT
    case 'ingress': case 'clsact': return TC_H_INGRESS
    case 'egress': return TC_H_CLSACT_EGRESS
    case 'none': return TC_H_UNSPEC
  }
  const m = /^([0-9a-fA-F]{0,4}):([0-9a-fA-F]{0,4})$/.exec(value)
  if (!m) throw new InvalidArgumentError(field, `'${value}' is not a tc handle (MAJOR:[MINOR] in hex, e.g. "1:", "1:10", or root/ingress)`)
  return tcHandle(m[1] ? parseInt(m[1], 16) : 0, m[2] ? parseInt(m[2], 16) : 0)
}

/** Formats a handle as tc(8) prints it: "root", "1:", "1:10", "ffff:fff1", "none". */
export function formatTcHandle(h: number): string {
  if (h === TC_H_ROOT) return 'root'
  if (h === TC_H_UNSPEC) return 'none'
  const min = tcMinor(h)
  return `${tcMajor(h).toString(16)}:${min ? min.toString(16) : ''}`
}

/** True for the ingress/clsact pseudo-parent. */
export const isIngressParent = (h: number): boolean => h === TC_H_INGRESS || h === TC_H_CLSACT

/** psched ticks per microsecond: the kernel's PSCHED_SHIFT is 6 (64 ns per tick) since Linux 2.6.31. */
export const PSCHED_TICKS_PER_US = 1000 / 64

/**
 * Transmission time of `bytes` at `rateBytesPerSec`, in psched ticks, computed as tc(8) does
 * (tc_calc_xmittime: whole microseconds first, then ticks; a rate above 2^32-1 is clipped to it
 * first, as tc uses the 32-bit field). The kernel uses this only when the request carries no
 * byte-sized burst (TCA_TBF_BURST), but htb classes have only these ticks.
 */
export function xmitTicks(rateBytesPerSec: number, bytes: number): number {
  const rate = Math.min(rateBytesPerSec, 0xffffffff)
  if (rate <= 0) return 0
  const us = Math.floor((1e6 * bytes) / rate) >>> 0
  return Math.floor(us * PSCHED_TICKS_PER_US) >>> 0
}

/** Bytes sent in `ticks` psched ticks at `rateBytesPerSec` (tc_calc_xmitsize), for reading buffers back. */
export function xmitBytes(rateBytesPerSec: number, ticks: number): number {
  return Math.round((rateBytesPerSec * ticks) / PSCHED_TICKS_PER_US / 1e6)
}

/** The cell_log tc computes for a rate table over `mtu` bytes (tc_calc_rtable with the default mtu 2047). */
export function cellLog(mtu = 2047): number {
  let log = 0
  while ((mtu >> log) > 255) log++
  return log
}

/**
 * The struct tc_ratespec fields for a rate, as a prefix-named part of a struct value: the rate
 * (clipped to 2^32-1; the full value goes in a *64 attribute), linklayer ethernet, and the
 * cell_log/cell_align tc writes. With linklayer set the kernel needs no rate table
 * (TCA_*_RTAB), so podnet sends none.
 */
export function ratespec(prefix: string, rateBytesPerSec: number): Record<string, number> {
  return {
    [`${prefix}CellLog`]: cellLog(),
    [`${prefix}Linklayer`]: TC_LINKLAYER_ETHERNET,
    [`${prefix}Overhead`]: 0,
    [`${prefix}CellAlign`]: 0xffff,
    [`${prefix}Mpu`]: 0,
    [prefix]: Math.min(rateBytesPerSec, 0xffffffff),
  }
}

/** A rate of a decoded struct plus its *64 attribute: the 64-bit attribute wins when present. */
export function rateOf(u32: unknown, u64: unknown): number {
  return typeof u64 === 'bigint' ? Number(u64) : Number(u32 ?? 0)
}

export { TC_H_ROOT, TC_H_INGRESS, TC_H_CLSACT, TC_H_UNSPEC }
