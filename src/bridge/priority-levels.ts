/**
 * Traffic priority levels (priority.ts): names and numbers only, so that manifests and the CLI
 * can validate them without loading the netlink layers.
 */
import { InvalidArgumentError } from '../errors.js'

/** The named levels (a number 0-7 may be given instead; higher wins). */
export const PRIORITY_LEVELS = { low: 2, normal: 4, high: 6 } as const
export type PriorityName = keyof typeof PRIORITY_LEVELS
/** Traffic of pods without a priority (and of the host) is in this level's class. */
export const DEFAULT_PRIORITY = PRIORITY_LEVELS.normal
export const MAX_PRIORITY = 7

/** Parses "high", "normal", "low" or "0".."7" (numbers too); `field` names the value in errors. */
export function parsePriority(value: unknown, field: string): number {
  if (typeof value === 'string' && Object.hasOwn(PRIORITY_LEVELS, value)) return PRIORITY_LEVELS[value as PriorityName]
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isInteger(n) || n < 0 || n > MAX_PRIORITY) {
    throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not a priority: high, normal, low, or a level from 0 to ${MAX_PRIORITY} (higher wins)`)
  }
  return n
}

/** "high (6)", "3". */
export function formatPriority(level: number): string {
  const name = (Object.keys(PRIORITY_LEVELS) as PriorityName[]).find((k) => PRIORITY_LEVELS[k] === level)
  return name ? `${name} (${level})` : String(level)
}

