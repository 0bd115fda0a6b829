/**
 * The kernel side of podnet's NAT: its nf_tables table (rules of each network, the published-port
 * maps and their elements) and the conntrack flows of published UDP ports. The rules themselves
 * are pure builders in nat.ts; this module installs, lists and deletes them over one Nft handle
 * and one Conntrack handle of the host namespace, each in one atomic batch per action.
 */
import { ExistsError, isErrno } from '../errors.js'
import type { Address } from '../netlink/route/index.js'
import type { Conntrack } from '../netlink/conntrack/index.js'
import type { AddedRule, Nft, NftTransaction, Rule, SetScalar } from '../netlink/nftables/index.js'
import {
  BRIDGES_SET, CHAINS, HOSTPORTS, PORT_MAPS, TABLE, describePortElement, networkRules, portMapRules, portMapSets,
  parseOwnerTag, portMapTypesOf, sharedRules, type PortElement,
} from './nat.js'
import type { NetworkConfig, PortElementRecord, PortMapEntry, RuleRecord } from './types.js'

export const ruleRecord = (r: AddedRule): RuleRecord => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })
export const portElementKey = (e: { map: string; key: readonly SetScalar[] }): string => `${e.map} ${JSON.stringify(e.key)}`

export interface NatStateDeps {
  /** The state directory's id, written into every comment (StateDir.owner). */
  owner: string
  /** The nf_tables handle of the host namespace (opened on first use). */
  nft(): Nft
  /** The conntrack handle of the host namespace (opened on first use: only UDP ports need it). */
  ct(): Conntrack
  /** The host namespace's addresses (listed only for a UDP port published on every address). */
  hostAddresses(): Address[]
}

export class NatState {
  private readonly deps: NatStateDeps
  /** Whether the kernel deletes conntrack entries by filter (>= 6.12); learnt on first use. */
  private kernelCtFlush = true

  constructor(deps: NatStateDeps) {
    this.deps = deps
  }

  private get nft(): Nft {
    return this.deps.nft()
  }

  /**
   * Ensures table, chains, sets and port maps exist and adds the network's rules; one atomic batch.
   * Returns the network's rules with the handles the kernel gave them.
   */
  async installNetworkRules(config: NetworkConfig): Promise<RuleRecord[]> {
    const tx = this.nft.transaction()
    if (!(await this.tableExists())) {
      tx.addTable({ family: TABLE.family, name: TABLE.table })
      for (const [chain, def] of Object.entries(CHAINS)) tx.addChain({ ...TABLE, name: chain, ...def })
      tx.addChain({ ...TABLE, name: HOSTPORTS })
      tx.addSet({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname' })
      for (const r of sharedRules()) tx.addRule(r)
      for (const m of portMapSets()) tx.addSet(m)
      for (const r of portMapRules()) tx.addRule(r)
    }
    tx.addElements({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname', elements: [{ key: config.bridge }] })
    const rules = networkRules({ owner: this.deps.owner, name: config.name, bridge: config.bridge, subnets: config.subnets, nat: config.nat, internal: config.internal })
    for (const r of rules) tx.addRule(r)
    const result = tx.commitSync()
    return result.rules.slice(result.rules.length - rules.length).map(ruleRecord)
  }

  /** True when podnet's table exists. */
  async tableExists(): Promise<boolean> {
    return (await this.nft.listTables(TABLE.family)).some((t) => t.name === TABLE.table)
  }

  /** Deletes rules by handle (and a bridge from the bridges set) in one batch; what is already gone is fine. */
  deleteRules(rules: readonly RuleRecord[], bridge?: string): void {
    if (!rules.length && bridge === undefined) return
    const tx = this.nft.transaction()
    for (const r of rules) tx.destroyRule({ ...TABLE, chain: r.chain, handle: BigInt(r.handle) })
    if (bridge !== undefined) tx.destroyElements({ ...TABLE, name: BRIDGES_SET, keyType: 'ifname', elements: [{ key: bridge }] })
    try {
      tx.commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
    }
  }

  /**
   * Deletes podnet's table when nothing in it belongs to anyone any more: no rule but the shared
   * ones and no published port (another state directory's networks, the CNI plugin's beside the
   * CLI's, keep it). Returns whether it went.
   */
  async destroyTableIfUnused(): Promise<boolean> {
    if (!(await this.tableExists())) return false
    const owned = (await this.rules()).some((r) => !(r.comment ?? '').startsWith('podnet shared'))
    if (owned || (await this.portMapEntries()).length) return false
    this.destroyTable()
    return true
  }

  /** Deletes podnet's whole table; fine when it is already gone. */
  destroyTable(): void {
    try {
      this.nft.transaction().destroyTable({ family: TABLE.family, name: TABLE.table }).commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
    }
  }

  /** Queues the addition (or the deletion by key) of map elements, one command per map. */
  private queuePortElements(tx: NftTransaction, elements: readonly PortElementRecord[] | readonly PortElement[], op: 'add' | 'destroy'): void {
    const byMap = new Map<string, Array<PortElementRecord | PortElement>>()
    for (const e of elements) byMap.set(e.map, [...(byMap.get(e.map) ?? []), e])
    for (const [map, els] of byMap) {
      const types = portMapTypesOf(map)
      if (!types) continue
      const spec = { ...TABLE, name: map, keyType: types.keyType, dataType: types.dataType }
      if (op === 'add') {
        tx.addElements({ ...spec, elements: els.map((e) => ({ key: e.key, ...('data' in e ? { data: e.data, comment: e.comment } : {}) })) })
      } else {
        tx.destroyElements({ ...spec, elements: els.map((e) => ({ key: e.key })) })
      }
    }
  }

  /**
   * Adds published ports (map elements) in one batch, then flushes the stale conntrack entries
   * of their UDP ports (best effort: without ctnetlink a stale flow lasts until its client
   * pauses for 30 s, as with the CNI portmap plugin).
   */
  async addPortElements(elements: readonly PortElement[]): Promise<void> {
    if (!elements.length) return
    const tx = this.nft.transaction()
    this.queuePortElements(tx, elements, 'add')
    try {
      tx.commitSync()
    } catch (err) {
      // the kernel refuses a key that is there with other data (the same data is a silent no-op)
      if (!isErrno(err, 'EEXIST')) throw err
      await this.replaceOwnPortElements(elements, err)
    }
    try {
      this.flushUdpConntrack(elements)
    } catch {
      // best effort, see above
    }
  }

  /**
   * A key of `elements` is in a map with other data. When every such element carries this state
   * directory's owner tag, it is a leftover of an attach that died before its record was written:
   * it is replaced (deleted and added again in one batch). An element of another owner (another
   * state directory: the CNI plugin's beside the CLI's) is never touched: ExistsError names it.
   */
  private async replaceOwnPortElements(elements: readonly PortElement[], cause: unknown): Promise<void> {
    const wanted = new Set(elements.map(portElementKey))
    const present = (await this.portMapEntries()).filter((e) => wanted.has(portElementKey(e)))
    const foreign = present.find((e) => parseOwnerTag(e.comment)?.owner !== this.deps.owner)
    if (foreign) {
      // named as port claims name it (port-mapping.ts): [HOSTIP:]PORT/PROTO
      const k = foreign.key
      const proto = (p: SetScalar | undefined): string => (p === 6 ? 'tcp' : p === 17 ? 'udp' : String(p))
      const key = k.length === 3 ? `${String(k[0])}:${String(k[2])}/${proto(k[1])}` : `${String(k[1])}/${proto(k[0])}`
      throw new ExistsError('host port', key, `(published by another podnet state directory: ${foreign.comment ?? 'no owner tag'})`, { cause })
    }
    const tx = this.nft.transaction()
    this.queuePortElements(tx, present, 'destroy')
    this.queuePortElements(tx, elements, 'add')
    tx.commitSync()
  }

  /**
   * Deletes published ports by key in one batch; what is already gone is fine. Then the UDP flows
   * that were DNATed through those ports (best effort), so that they cannot reach a later pod
   * that gets the same address.
   */
  deletePortElements(elements: readonly PortElementRecord[]): void {
    if (!elements.length) return
    const tx = this.nft.transaction()
    this.queuePortElements(tx, elements, 'destroy')
    try {
      tx.commitSync()
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
      // a map is gone (an edited table): delete what is there, element by element
      for (const e of elements) {
        const one = this.nft.transaction()
        this.queuePortElements(one, [e], 'destroy')
        try {
          one.commitSync()
        } catch (err2) {
          if (!isErrno(err2, 'ENOENT')) throw err2
        }
      }
    }
    try {
      this.flushUdpConntrack(elements.flatMap((e) => {
        const t = portMapTypesOf(e.map)
        return t ? [{ key: e.key, family: t.family }] : []
      }))
    } catch {
      // best effort: the entries time out by themselves once their client stops sending
    }
  }

  /**
   * Deletes conntrack entries of UDP flows to a published port, so that the next datagram goes
   * through the port maps again: without this, a client that keeps sending (and so keeps its
   * entry alive) stays stuck with where its first datagram went (the host itself, or the pod
   * that had the port before), the bug CNI portmap, Docker and kube-proxy fixed the same way.
   * Done after the elements are in place, so no datagram can make a new stale entry in between.
   * An entry goes when its original direction is UDP to hostPort on the mapping's host address,
   * or (for a mapping on every address) on any address of the host: flows from the host or its
   * pods to the same port elsewhere are left alone.
   *
   * One filtered delete per (port, address) on kernels >= 6.12 (~0.6 ms: the kernel walks its
   * table without taking a lock per bucket); older kernels refuse a filtered delete (EINVAL or
   * EOPNOTSUPP), and there it is a filtered dump plus one delete per flow (~8 ms: the dump locks
   * each of the 262,144 buckets). Returns the number of deletes sent.
   */
  flushUdpConntrack(elements: ReadonlyArray<Pick<PortElement, 'family' | 'key'>>): number {
    const udp = elements.filter((e) => (e.key.length === 3 ? e.key[1] : e.key[0]) === 17)
    if (!udp.length) return 0
    let local: Address[] | undefined
    let n = 0
    const ct = this.deps.ct()
    for (const e of udp) {
      const port = Number(e.key[e.key.length - 1])
      const dsts = e.key.length === 3
        ? [String(e.key[0])]
        : [...new Set((local ??= this.deps.hostAddresses()).filter((a) => a.family === e.family).map((a) => a.local))]
      if (this.kernelCtFlush) {
        try {
          for (const dst of dsts) {
            ct.flush({ family: e.family, protocol: 17, dstPort: port, dst })
            n++
          }
          continue
        } catch (err) {
          if (!isErrno(err, 'EINVAL') && !isErrno(err, 'EOPNOTSUPP')) throw err
          this.kernelCtFlush = false // kernel < 6.12: no delete by filter
        }
      }
      const mine = new Set(dsts)
      n += ct.deleteFlows({ family: e.family, protocol: 17, dstPort: port, ...(dsts.length === 1 && { dst: dsts[0] }) }, (f) => mine.has(f.orig.dst))
    }
    return n
  }

  /** The published ports in podnet's maps, with their owners and counters (empty when there are no maps). */
  async portMapEntries(): Promise<PortMapEntry[]> {
    const out: PortMapEntry[] = []
    for (const f of [4, 6] as const) {
      for (const map of [PORT_MAPS[f].hostIp, PORT_MAPS[f].any]) {
        let els
        try {
          els = await this.nft.listElements({ ...TABLE, name: map })
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue
          throw err
        }
        for (const e of els) {
          if (!Array.isArray(e.key) || !Array.isArray(e.data)) continue
          const entry: PortMapEntry = { map, key: [...e.key] as SetScalar[], data: [...e.data] as SetScalar[], text: describePortElement({ key: e.key, data: e.data }) }
          if (e.comment !== undefined) entry.comment = e.comment
          if (e.counter) {
            entry.packets = e.counter.packets
            entry.bytes = e.counter.bytes
          }
          out.push(entry)
        }
      }
    }
    return out
  }

  /** Rules in podnet's table (empty when the table does not exist). */
  async rules(): Promise<Rule[]> {
    try {
      return await this.nft.listRules({ ...TABLE })
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return []
      throw err
    }
  }
}
