/**
 * The layout of a DiskStore directory (disk-store.ts has the picture and the rules): the names
 * of its files (records, cursors, the owner index, temporaries), the owner hash that names an
 * index directory, and the two record formats it reads (podnet's JSON, host-local's text).
 */
import { createHash } from 'node:crypto'
import type { Owner, StoredAllocation } from './store.js'

/** Name of the lock file inside the store directory. */
export const LOCK_FILE = 'lock'
/** Prefix of the per-range-set round-robin cursor files: `last_reserved.<rangeSetIndex>`. */
export const LAST_RESERVED_PREFIX = 'last_reserved.'
/** Sub-directory holding the owner index. */
export const OWNERS_DIR = 'owners'
/** Marker file in `owners/`: every record has its index entry. */
export const INDEX_COMPLETE = 'complete'
/** Prefix of a write in progress (`.tmp-<pid>-<n>`). */
export const TMP_PREFIX = '.tmp-'
/** The name of an owner directory in `owners/` (an owner hash). */
export const OWNER_DIR_RE = /^[0-9a-f]{32}$/

/** File name of an address record: the address text with ':' replaced by '_'. */
export function recordFileName(ip: string): string {
  return ip.replaceAll(':', '_')
}

/** The address text of a record file name, or undefined when `name` is not a record. */
export function ipFromRecordFileName(name: string): string | undefined {
  return RECORD_NAME_RE.test(name) ? name.replaceAll('_', ':') : undefined
}
// Canonical addresses use lower-case hex digits, '.', and ':' (stored as '_') only; the
// lock, cursor, index and temporary files all contain other characters.
const RECORD_NAME_RE = /^[0-9a-f_][0-9a-f._]*$/

/** The owner hash used in index entry names (32 hex digits). */
export function ownerHash(owner: Owner): string {
  return createHash('sha256').update(JSON.stringify([owner.containerId, owner.ifname])).digest('hex').slice(0, 32)
}

/** Reads a record's owner: podnet's JSON, host-local's `id\r\nifname`, else an unknown owner. */
export function parseRecord(text: string): Omit<StoredAllocation, 'ip'> {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    try {
      const v = JSON.parse(trimmed) as Record<string, unknown>
      if (typeof v.containerId === 'string' && typeof v.ifname === 'string') {
        return {
          containerId: v.containerId,
          ifname: v.ifname,
          allocatedAt: typeof v.allocatedAt === 'string' ? v.allocatedAt : '',
        }
      }
    } catch {
      // fall through: unreadable
    }
    return { containerId: '', ifname: '', allocatedAt: '' }
  }
  const [id = '', ifname = ''] = trimmed.split('\r\n')
  return { containerId: id.trim(), ifname: ifname.trim(), allocatedAt: '' }
}
