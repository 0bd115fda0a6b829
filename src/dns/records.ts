/**
 * A network's zone, always as fresh as its attachment records (run dir,
 * networks/<name>/attachments/). Every question checks the directory first: one stat(2), a
 * couple of microseconds. Records are created by rename and removed by unlink, and either
 * changes the directory's mtime, so an unchanged mtime means an unchanged set of records.
 * Timestamps are coarse (one clock tick), so a directory changed within the last second is
 * read again at every question until it has been quiet for a second. A re-read lists the
 * directory and reads only the records it has not seen (a record is written once, at attach).
 *
 * So a name appears as soon as attach has returned and is gone as soon as detach has returned,
 * whatever the responder's watchers are doing, and nothing is kept that the records do not say.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { Attachment, NetworkConfig } from '../bridge/types.js'
import { listDir, readJson } from '../state/index.js'
import { Zone, type ZoneRecord } from './zone.js'

/** A directory changed this recently (ns) may change again within the same timestamp tick. */
const QUIET_NS = 1_000_000_000n

export class NetworkRecords {
  readonly dir: string
  private key = ''
  private recent = true
  private files = new Map<string, ZoneRecord | undefined>()
  private cached: Zone | undefined
  private configKey = ''
  /** How many times the directory was read (tests and `dns status`). */
  rescans = 0

  constructor(attachmentsDir: string) {
    this.dir = attachmentsDir
  }

  /** The zone of `config` as the records are now. */
  zone(config: NetworkConfig): Zone {
    const st = statSync(this.dir, { bigint: true, throwIfNoEntry: false })
    const key = st ? `${st.ino}:${st.mtimeNs}` : 'none'
    const cfgKey = `${config.name}|${config.subnets.map((s) => s.subnet).join(',')}`
    if (this.cached && key === this.key && !this.recent && cfgKey === this.configKey) return this.cached
    this.rescan()
    this.key = key
    this.recent = st !== undefined && BigInt(Date.now()) * 1_000_000n - st.mtimeNs < QUIET_NS
    this.configKey = cfgKey
    this.cached = new Zone(config.name, config.subnets.map((s) => s.subnet), [...this.files.values()].filter((r): r is ZoneRecord => r !== undefined))
    return this.cached
  }

  private rescan(): void {
    this.rescans++
    const names = listDir(this.dir).filter((f) => f.endsWith('.json'))
    const next = new Map<string, ZoneRecord | undefined>()
    for (const f of names) {
      if (this.files.has(f)) {
        next.set(f, this.files.get(f))
        continue
      }
      let a: Attachment | undefined
      try {
        a = readJson<Attachment>(join(this.dir, f))
      } catch {
        a = undefined // a damaged record names nobody (network check reports it)
      }
      if (!a) continue
      next.set(f, { names: a.dnsNames ?? [], addresses: (a.addresses ?? []).map((x) => x.address) })
    }
    this.files = next
  }
}
