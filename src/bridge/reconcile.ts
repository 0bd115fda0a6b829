/**
 * Reconciliation of the recorded state with the kernel: check (report drift, change nothing) and
 * gc (remove what no live attachment or network accounts for). Both read the records, podnet's
 * nf_tables table and the links of each bridge; gc holds the state lock for its whole run.
 */
import { NotFoundError } from '../errors.js'
import { Rtnl } from '../netlink/route/index.js'
import type { Nft } from '../netlink/nftables/index.js'
import { bandwidthDrift, strayIfbs } from './bandwidth.js'
import { attachmentPriorityElements, listPriorityElements, removePriorityElements } from './priority.js'
import type { Allocator } from './ipam/index.js'
import { ifbNameForVeth, isHostVethName } from './names.js'
import { describePortElement, parseOwnerTag } from './nat.js'
import { portElementKey, type NatState } from './nat-state.js'
import { PortClaims } from './port-mapping.js'
import type { StateDir } from './state.js'
import type { Attachment, Drift, GcReport, NetworkConfig } from './types.js'

/** What check and gc need from a NetworkManager. */
export interface ReconcileContext {
  readonly state: StateDir
  readonly rt: Rtnl
  readonly nft: Nft
  readonly nat: NatState
  get(name: string): NetworkConfig
  list(): NetworkConfig[]
  attachments(network: string): Attachment[]
  damagedNetworks(): Array<{ name: string }>
  allocator(network: string): Allocator
  /** Deletes links by index with one kernel request. */
  deleteLinksBulk(indexes: number[]): Promise<void>
}

const attachmentKey = (a: { id: string; ifname: string }): string => `${a.id}@${a.ifname}`

/**
 * Reports drift between the recorded state and the kernel: of every network, of one network,
 * or of one network and only one of its attachments (`only`; NotFoundError when not attached).
 */
export async function checkNetworks(ctx: ReconcileContext, name?: string, only?: { id: string; ifname: string }): Promise<Drift[]> {
  const configs = name ? [ctx.get(name)] : ctx.list()
  const drift: Drift[] = []
  const handles = new Set((await ctx.nat.rules()).map((r) => `${r.chain}/${r.handle}`))
  let elements: Set<string> | undefined
  let marks: Set<string> | undefined
  for (const c of configs) {
    const br = ctx.rt.link.findSync(c.bridge)
    if (!br) drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: 'missing' })
    else {
      if (br.kind !== 'bridge') drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: `is a ${br.kind ?? 'non-bridge'}` })
      if (!br.up) drift.push({ network: c.name, object: `bridge ${c.bridge}`, problem: 'down' })
      const have = new Set(ctx.rt.addr.listSync({ dev: br.index }).map((a) => `${a.local}`))
      for (const s of c.subnets) if (!have.has(s.gateway)) drift.push({ network: c.name, object: `gateway ${s.gateway}`, problem: `not on ${c.bridge}` })
    }
    for (const r of c.rules) if (!handles.has(`${r.chain}/${r.handle}`)) drift.push({ network: c.name, object: `rule ${r.chain} #${r.handle} (${r.comment})`, problem: 'missing' })
    const one = only && ctx.state.readJson<Attachment>(ctx.state.attachmentPath(c.name, only.id, only.ifname))
    if (only && !one) throw new NotFoundError('attachment', attachmentKey(only), `on network '${c.name}'`)
    for (const a of one ? [one] : ctx.attachments(c.name)) {
      const what = `attachment ${attachmentKey(a)}`
      const veth = ctx.rt.link.findSync(a.hostVeth)
      if (!veth) drift.push({ network: c.name, object: `${what} veth ${a.hostVeth}`, problem: 'missing' })
      else if (br && veth.master !== br.index) drift.push({ network: c.name, object: `${what} veth ${a.hostVeth}`, problem: `not a port of ${c.bridge}` })
      if (veth) for (const p of bandwidthDrift(ctx.rt, a.hostVeth, a.bandwidth)) drift.push({ network: c.name, object: `${what} bandwidth`, problem: p })
      if (a.priority !== undefined) {
        marks ??= new Set((await listPriorityElements(ctx.nft)).map((e) => `${e.key} ${e.classid}`))
        for (const e of attachmentPriorityElements(a)) if (!marks.has(`${e.key} ${e.classid}`)) drift.push({ network: c.name, object: `${what} priority mark ${e.key} (map ${e.map})`, problem: 'missing' })
      }
      if (!ctx.state.exists(a.netns)) drift.push({ network: c.name, object: `${what} netns ${a.netns}`, problem: 'missing (run network gc)' })
      else {
        const pod = Rtnl.open({ netns: a.netns })
        try {
          const l = pod.link.findSync(a.ifname)
          if (!l) drift.push({ network: c.name, object: `${what} ${a.ifname}`, problem: 'missing in the pod namespace' })
          else {
            const got = new Set(pod.addr.listSync({ dev: l.index }).map((x) => `${x.local}/${x.prefixlen}`))
            for (const ad of a.addresses) if (!got.has(ad.address)) drift.push({ network: c.name, object: `${what} address ${ad.address}`, problem: 'missing' })
          }
        } finally {
          pod.close()
        }
      }
      if (a.portElements?.length) {
        elements ??= new Set((await ctx.nat.portMapEntries()).map(portElementKey))
        for (const e of a.portElements) {
          if (!elements.has(portElementKey(e))) drift.push({ network: c.name, object: `${what} published port ${describePortElement(e)} (map ${e.map})`, problem: 'missing' })
        }
      }
    }
  }
  return drift
}

/**
 * Removes leftovers: attachments whose namespace is gone (ports, addresses, record, veth),
 * podnet veths with no attachment on the bridges its networks made (not on bridges used as is:
 * another state directory's veths may be there), addresses with no owner, rules of deleted
 * networks, published ports and port claims with no attachment. Runs under the state lock.
 */
export async function collectGarbage(ctx: ReconcileContext): Promise<GcReport> {
  return ctx.state.locked(async () => {
    const report: GcReport = { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [], removedIfbs: [] }
    const configs = ctx.list()
    // a network whose record is damaged is not gone: what carries its name waits for remove with force
    const spared = new Set(ctx.damagedNetworks().map((d) => d.name))
    const ours = (comment: string | undefined): boolean => {
      const tag = parseOwnerTag(comment)
      return tag?.owner === ctx.state.owner && !spared.has(tag.network)
    }
    const live = new Map<string, Attachment>()
    const doomed: number[] = []
    for (const c of configs) {
      for (const a of ctx.attachments(c.name)) {
        if (ctx.state.exists(a.netns) && netnsHasLink(a.netns, a.ifname)) {
          live.set(`${c.name}/${attachmentKey(a)}`, a)
          continue
        }
        ctx.nat.deletePortElements(a.portElements ?? [])
        const veth = ctx.rt.link.findSync(a.hostVeth)
        if (veth) {
          doomed.push(veth.index)
          report.removedVeths.push(a.hostVeth)
        }
        ctx.state.remove(ctx.state.attachmentPath(c.name, a.id, a.ifname))
        report.removedAttachments.push(`${c.name}/${attachmentKey(a)}`)
      }
      const valid = [...live.values()].filter((a) => a.network === c.name).map((a) => ({ containerId: a.id, ifname: a.ifname }))
      for (const freed of await ctx.allocator(c.name).gc(valid)) report.releasedAddresses.push(`${c.name}/${freed.ip}`)
      // podnet veths on this bridge that no live attachment owns, when the network made the bridge:
      // a bridge used as is (made by someone else) may also carry another state directory's veths,
      // which cannot be told from this one's leftovers (those go by name at the next attach or
      // detach of their container, or with their pod's namespace)
      const br = c.createdBridge ? ctx.rt.link.findSync(c.bridge) : undefined
      if (br) {
        const owned = new Set([...live.values()].filter((a) => a.network === c.name).map((a) => a.hostVeth))
        for (const l of ctx.rt.link.listSync({ master: br.index })) {
          if (isHostVethName(l.name) && !owned.has(l.name) && !doomed.includes(l.index)) {
            doomed.push(l.index)
            report.removedVeths.push(l.name)
          }
        }
      }
    }
    // ifbs of bandwidth limits whose attachment is gone (a killed attach, a DEL that never came);
    // as for veths, only those whose veth is on a bridge this state dir's networks made
    const bridges = new Set(configs.filter((c) => c.createdBridge).map((c) => ctx.rt.link.findSync(c.bridge)?.index).filter((i): i is number => i !== undefined))
    for (const l of strayIfbs(ctx.rt, new Set([...live.values()].filter((a) => a.bandwidth?.egress).map((a) => a.hostVeth)), bridges)) {
      doomed.push(l.index)
      report.removedIfbs.push(l.name)
    }
    await ctx.deleteLinksBulk(doomed)
    // rules: this state directory's own that no live network recorded (shared rules, other owners' and
    // rules without an owner are never touched)
    const keep = new Set<string>()
    for (const c of configs) for (const r of c.rules) keep.add(`${r.chain}/${r.handle}`)
    const stale = (await ctx.nat.rules()).filter((r) => !keep.has(`${r.chain}/${r.handle}`) && ours(r.comment))
    if (stale.length) {
      ctx.nat.deleteRules(stale.map((r) => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })))
      report.removedRules.push(...stale.map((r) => `${r.chain} #${r.handle} ${r.comment ?? ''}`.trim()))
    }
    // published ports: map elements no live attachment recorded (reported with the rules)
    const keepElements = new Set([...live.values()].flatMap((a) => (a.portElements ?? []).map((e) => portElementKey(e))))
    const strays = (await ctx.nat.portMapEntries()).filter((e) => !keepElements.has(portElementKey(e)) && ours(e.comment))
    if (strays.length) {
      ctx.nat.deletePortElements(strays)
      report.removedRules.push(...strays.map((e) => `map ${e.map} ${e.text}${e.comment ? ` ${e.comment}` : ''}`))
    }
    // priority marks of this state dir's networks that no live attachment recorded (reported with the rules)
    const keepMarks = new Set([...live.values()].flatMap((a) => attachmentPriorityElements(a).map((e) => `${e.map} ${e.key}`)))
    const strayMarks = (await listPriorityElements(ctx.nft)).filter((e) => !keepMarks.has(`${e.map} ${e.key}`) && ours(e.comment))
    if (strayMarks.length) {
      removePriorityElements(ctx.nft, strayMarks)
      report.removedRules.push(...strayMarks.map((e) => `map ${e.map} ${e.key}${e.comment ? ` ${e.comment}` : ''}`))
    }
    // port claims
    const claims = new PortClaims(ctx.state)
    claims.sweep()
    for (const { file, owner } of claims.list()) {
      if (!owner || (!live.has(`${owner.network}/${attachmentKey(owner)}`) && !spared.has(owner.network))) {
        claims.removeFile(file)
        report.removedPorts.push(file)
      }
    }
    return report
  })
}

/**
 * Removes a network whose record is damaged, by what carries its name: rules, published ports and
 * priority marks tagged with this state directory's owner and the network; the bridge whose alias
 * is that tag, with the podnet veths on it and the ifbs of recorded attachments; the port claims
 * and records of the network. Holds the lock. Returns the number of attachments it found.
 */
export async function removeDamagedNetwork(ctx: ReconcileContext, name: string): Promise<{ detached: number }> {
  return ctx.state.locked(async () => {
    const mine = (comment: string | undefined): boolean => {
      const tag = parseOwnerTag(comment)
      return tag?.owner === ctx.state.owner && tag.network === name
    }
    const atts = ctx.attachments(name)
    ctx.nat.deletePortElements((await ctx.nat.portMapEntries()).filter((e) => mine(e.comment)))
    removePriorityElements(ctx.nft, (await listPriorityElements(ctx.nft)).filter((e) => mine(e.comment)))
    const bridges = ctx.rt.link.listSync().filter((l) => l.kind === 'bridge' && mine(l.alias))
    const doomed = new Set<number>()
    for (const br of bridges) for (const l of ctx.rt.link.listSync({ master: br.index })) if (isHostVethName(l.name)) doomed.add(l.index)
    for (const a of atts) {
      for (const n of [a.hostVeth, ifbNameForVeth(a.hostVeth)]) {
        const l = ctx.rt.link.findSync(n)
        if (l) doomed.add(l.index)
      }
    }
    await ctx.deleteLinksBulk([...doomed])
    const rules = (await ctx.nat.rules()).filter((r) => mine(r.comment))
    ctx.nat.deleteRules(rules.map((r) => ({ chain: r.chain, handle: r.handle.toString(), comment: r.comment ?? '' })))
    for (const br of bridges) {
      ctx.nat.deleteRules([], br.name)
      try {
        await ctx.rt.link.del(br.index)
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err
      }
    }
    const claims = new PortClaims(ctx.state)
    for (const { file, owner } of claims.list()) if (owner?.network === name) claims.removeFile(file)
    ctx.state.removeTree(ctx.state.networkDir(name))
    ctx.state.removeTree(ctx.state.runNetworkDir(name))
    if (ctx.list().length === 0) await ctx.nat.destroyTableIfUnused()
    return { detached: atts.length }
  })
}

/** True when the namespace at `path` still has interface `ifname`. */
function netnsHasLink(path: string, ifname: string): boolean {
  let rt: Rtnl
  try {
    rt = Rtnl.open({ netns: path })
  } catch {
    return false
  }
  try {
    return rt.link.findSync(ifname) !== undefined
  } finally {
    rt.close()
  }
}
