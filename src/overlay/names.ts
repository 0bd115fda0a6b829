/**
 * Pod names across the nodes of an overlay network, for each node's DNS responder (docs/dns.md,
 * "Overlay networks").
 *
 * Each node's responder answers from records on its own disk (dns/records.ts): its own pods'
 * attachment records, plus one file per overlay network that this module keeps:
 *
 *   publish   the DNS names of this node's attachments on the network go to the store, one key
 *             per attachment, on the agent's lease (so a node that dies takes its names with it
 *             when the lease expires):
 *               /podnet/overlay/names/NETWORK/NODE/ATTACHMENT-ID  {"names": [...], "addresses": [...]}
 *             The attachments directory is read at every change (fs.watch) and every second (a
 *             safety net, and the retry after a failed write); only differences are written. A
 *             new lease (the old one expired while the store was away) republishes everything.
 *   mirror    every other node's keys of the network (a list, then a watch) are written, as one
 *             file, to <run>/overlay/names/NETWORK.json: {cluster, records: [{node, names,
 *             addresses}]} (atomic rename). The responder reads it like its own records: a name
 *             appears or goes as soon as the watch event reaches this node. A broken watch is
 *             re-listed after a back-off (0.2 s to 2 s); the last file stays meanwhile.
 *
 * What it holds can be rebuilt from the store and the attachment records: the run dir is tmpfs,
 * and after a reboot or an agent restart the list at start writes the file again. An agent that
 * is killed leaves the file (the responder keeps answering the other nodes' names as they were,
 * as the data plane keeps routing to them) until it runs again.
 */
import { statSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import type { Attachment, RemoteNamesFile } from '../bridge/types.js'
import { listDir, readJson, removeFile, writeJsonAtomic } from '../state/index.js'
import { KEY_PREFIX } from './model.js'
import type { Store, WatchEvent, WatchHandle } from './store/store.js'

/** A directory changed this recently (ns) may change again within the same timestamp tick. */
const QUIET_NS = 1_000_000_000n

export const NAMES_PREFIX = `${KEY_PREFIX}names/`
export const namesPrefix = (network: string): string => `${NAMES_PREFIX}${network}/`
export const namesKey = (network: string, node: string, id: string): string => `${namesPrefix(network)}${node}/${id}`

/** One attachment's names as the store and the mirror file hold them. */
export interface NameRecord {
  names: string[]
  addresses: string[]
}

export interface OverlayNamesOptions {
  store: Store
  node: string
  /** The agent's current lease (its names are put on it). */
  lease: () => string
  /** Where this node's attachment records of a network are, and where the other nodes' names go. */
  attachmentsDir: (network: string) => string
  remoteNamesPath: (network: string) => string
  warn: (message: string) => void
  /** How often the attachments are read again and failed writes retried (default 1000 ms). */
  intervalMs?: number
}

interface Net {
  cluster: string
  /** What is in the store for this node: attachment id -> value text. */
  published: Map<string, string>
  /** The lease `published` was written on. */
  lease: string
  watcher: FSWatcher | undefined
  /** The attachments directory (inode, mtime) and lease of the last publish that wrote everything: unchanged, nothing to read. */
  done: string
  /** Attachment records read so far: file@inode:mtime -> value text (undefined: no names). A record is written once (by rename), so a new inode or mtime is a new record. */
  files: Map<string, string | undefined>
  /** Other nodes' keys -> record (from the list and the watch). */
  remote: Map<string, NameRecord & { node: string }>
  busy: boolean
  again: boolean
}

const parseKey = (key: string): { network: string; node: string; id: string } | undefined => {
  const m = /^([^/]+)\/([^/]+)\/([^/]+)$/.exec(key.slice(NAMES_PREFIX.length))
  return m ? { network: m[1]!, node: m[2]!, id: m[3]! } : undefined
}

function parseValue(text: string): NameRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<NameRecord>
    if (!Array.isArray(v.names) || !Array.isArray(v.addresses)) return undefined
    if (!v.names.every((x) => typeof x === 'string') || !v.addresses.every((x) => typeof x === 'string')) return undefined
    return { names: v.names, addresses: v.addresses }
  } catch {
    return undefined
  }
}

export class OverlayNames {
  private readonly opts: OverlayNamesOptions
  private readonly nets = new Map<string, Net>()
  private timer: NodeJS.Timeout | undefined
  private watchHandle: WatchHandle | undefined
  private closed = false
  private relisting = false
  private relistAgain = false

  constructor(opts: OverlayNamesOptions) {
    this.opts = opts
  }

  /** Publishes and mirrors the names of `network` (idempotent; `cluster`: its cluster subnet). */
  add(network: string, cluster: string): void {
    if (this.closed) return
    let n = this.nets.get(network)
    if (!n) {
      n = { cluster, published: new Map(), lease: '', watcher: undefined, done: '', files: new Map(), remote: new Map(), busy: false, again: false }
      this.nets.set(network, n)
      try {
        n.watcher = watch(this.opts.attachmentsDir(network), () => this.kick(network))
        n.watcher.on('error', () => { n!.watcher?.close(); n!.watcher = undefined })
      } catch {
        n.watcher = undefined // no directory yet: the interval reads it
      }
      void this.relist()
    }
    n.cluster = cluster
    this.kick(network)
    this.timer ??= setInterval(() => { for (const name of this.nets.keys()) this.kick(name) }, this.opts.intervalMs ?? 1000).unref()
  }

  /** Stops publishing `network` and removes its mirror file (its keys go with the lease, or now when `unpublish`). */
  async remove(network: string, unpublish = false): Promise<void> {
    const n = this.nets.get(network)
    if (!n) return
    this.nets.delete(network)
    n.watcher?.close()
    removeFile(this.opts.remoteNamesPath(network))
    if (unpublish) for (const id of n.published.keys()) await this.opts.store.delete(namesKey(network, this.opts.node, id)).catch(() => undefined)
  }

  /** Stops everything; the mirror files stay (a restarted agent rewrites them). */
  close(): void {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.watchHandle?.close()
    this.watchHandle = undefined
    for (const n of this.nets.values()) n.watcher?.close()
  }

  private kick(network: string): void {
    const n = this.nets.get(network)
    if (!n || this.closed) return
    if (n.busy) {
      n.again = true
      return
    }
    n.busy = true
    void this.publish(network, n).finally(() => {
      n.busy = false
      if (n.again) {
        n.again = false
        this.kick(network)
      }
    })
  }

  /** Writes the differences between this node's attachment records and what it published. */
  private async publish(network: string, n: Net): Promise<void> {
    const dir = this.opts.attachmentsDir(network)
    const lease = this.opts.lease()
    // the timer's common case: nothing attached or detached since the last complete publish (one stat)
    const st = statSync(dir, { bigint: true, throwIfNoEntry: false })
    const key = `${st ? `${st.ino}:${st.mtimeNs}` : 'none'}|${lease}`
    if (key === n.done) return
    // timestamps are coarse: a directory changed within the last second may change again unseen
    const quiet = !st || BigInt(Date.now()) * 1_000_000n - st.mtimeNs > QUIET_NS
    const files = new Map<string, string | undefined>()
    for (const f of listDir(dir)) {
      if (!f.endsWith('.json')) continue
      const fst = statSync(join(dir, f), { bigint: true, throwIfNoEntry: false })
      if (!fst) continue // detached meanwhile
      const at = `${f}@${fst.ino}:${fst.mtimeNs}`
      if (n.files.has(at)) {
        files.set(at, n.files.get(at))
        continue
      }
      let a: Attachment | undefined
      try {
        a = readJson<Attachment>(join(dir, f))
      } catch {
        a = undefined
      }
      files.set(at, a?.dnsNames?.length ? JSON.stringify({ names: a.dnsNames, addresses: a.addresses.map((x) => x.address) } satisfies NameRecord) : undefined)
    }
    n.files = files
    const want = new Map<string, string>()
    for (const [at, value] of files) if (value !== undefined) want.set(at.slice(0, at.lastIndexOf('.json@')), value)
    if (lease !== n.lease) {
      n.published.clear() // keys on an expired lease are gone
      n.lease = lease
    }
    const { store, node } = this.opts
    try {
      for (const [id, value] of want) {
        if (n.published.get(id) === value) continue
        await store.put(namesKey(network, node, id), value, { lease })
        n.published.set(id, value)
      }
      for (const id of [...n.published.keys()]) {
        if (want.has(id)) continue
        await store.delete(namesKey(network, node, id))
        n.published.delete(id)
      }
      n.done = quiet ? key : ''
    } catch {
      // the store is away: the next tick writes what is missing
    }
  }

  /** Lists every network's names, rewrites the mirror files, watches from there. */
  private async relist(): Promise<void> {
    if (this.closed) return
    if (this.relisting) {
      this.relistAgain = true // a network added meanwhile: its keys are in the next listing
      return
    }
    this.relisting = true
    let delay = 200
    try {
      while (!this.closed) {
        try {
          const { kvs, revision } = await this.opts.store.list(NAMES_PREFIX)
          for (const n of this.nets.values()) n.remote.clear()
          for (const kv of kvs) this.apply({ type: 'put', kv })
          for (const name of this.nets.keys()) this.writeMirror(name)
          this.watchHandle?.close()
          this.watchHandle = this.opts.store.watch(NAMES_PREFIX, revision + 1, {
            events: (events) => {
              const touched = new Set<string>()
              for (const e of events) {
                const k = this.apply(e)
                if (k) touched.add(k)
              }
              for (const name of touched) this.writeMirror(name)
            },
            error: () => {
              this.watchHandle?.close()
              this.watchHandle = undefined
              if (!this.closed) setTimeout(() => void this.relist(), 200).unref()
            },
          })
          return
        } catch {
          await new Promise((r) => setTimeout(r, delay).unref())
          delay = Math.min(2000, delay * 2)
        }
      }
    } finally {
      this.relisting = false
      if (this.relistAgain) {
        this.relistAgain = false
        void this.relist()
      }
    }
  }

  /** Applies one key's change to the mirror; returns the network it touched. */
  private apply(e: WatchEvent): string | undefined {
    const k = parseKey(e.kv.key)
    if (!k || k.node === this.opts.node) return undefined
    const n = this.nets.get(k.network)
    if (!n) return undefined
    const id = `${k.node}/${k.id}`
    if (e.type === 'delete') {
      n.remote.delete(id)
      return k.network
    }
    const v = parseValue(e.kv.value)
    if (!v) {
      this.opts.warn(`skipping ${e.kv.key}: not a name record`)
      n.remote.delete(id)
    } else {
      n.remote.set(id, { node: k.node, ...v })
    }
    return k.network
  }

  private writeMirror(network: string): void {
    const n = this.nets.get(network)
    if (!n) return
    const file: RemoteNamesFile = { cluster: n.cluster, records: [...n.remote.values()] }
    try {
      writeJsonAtomic(this.opts.remoteNamesPath(network), file)
    } catch (err) {
      this.opts.warn(`overlay network '${network}': cannot write the other nodes' names: ${(err as Error).message}`)
    }
  }
}
