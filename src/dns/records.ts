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
 *
 * On an overlay network the other nodes' pods are in one more file, kept by this node's agent
 * from the store (overlay/names.ts, <run>/overlay/names/NETWORK.json, replaced by rename): it is
 * checked the same way (one stat per question), and its cluster subnet joins the network's
 * subnets for reverse lookups.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { Attachment, NetworkConfig, RemoteNamesFile } from '../bridge/types.js'
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

  private readonly remotePath: string | undefined
  private remote: RemoteNamesFile | undefined

  /** `remotePath`: the other nodes' names of an overlay network (see above). */
  constructor(attachmentsDir: string, remotePath?: string) {
    this.dir = attachmentsDir
    this.remotePath = remotePath
  }

  /** The zone of `config` as the records are now. */
  zone(config: NetworkConfig): Zone {
    const st = statSync(this.dir, { bigint: true, throwIfNoEntry: false })
    // the remote file is replaced by rename: a new inode each time
    const rst = this.remotePath !== undefined ? statSync(this.remotePath, { bigint: true, throwIfNoEntry: false }) : undefined
    const key = `${st ? `${st.ino}:${st.mtimeNs}` : 'none'}|${rst ? `${rst.ino}:${rst.mtimeNs}` : 'none'}`
    const cfgKey = `${config.name}|${config.subnets.map((s) => s.subnet).join(',')}`
    if (this.cached && key === this.key && !this.recent && cfgKey === this.configKey) return this.cached
    this.rescan()
    if (this.remotePath !== undefined && key.split('|')[1] !== this.key.split('|')[1]) this.remote = readRemote(this.remotePath)
    this.key = key
    this.recent = st !== undefined && BigInt(Date.now()) * 1_000_000n - st.mtimeNs < QUIET_NS
    this.configKey = cfgKey
    const records = [...this.files.values()].filter((r): r is ZoneRecord => r !== undefined)
    const subnets = config.subnets.map((s) => s.subnet)
    if (this.remote) {
      records.push(...this.remote.records)
      if (this.remote.cluster) subnets.push(this.remote.cluster)
    }
    this.cached = new Zone(config.name, subnets, records)
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

/** The other nodes' names of an overlay network; undefined when there is no such file or it is damaged. */
function readRemote(path: string): RemoteNamesFile | undefined {
  try {
    const f = readJson<RemoteNamesFile>(path)
    if (!f || !Array.isArray(f.records)) return undefined
    return { cluster: typeof f.cluster === 'string' ? f.cluster : '', records: f.records.filter((r) => Array.isArray(r?.names) && Array.isArray(r?.addresses)) }
  } catch {
    return undefined
  }
}
