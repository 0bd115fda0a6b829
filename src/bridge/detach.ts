/**
 * Detaching a pod namespace from a bridge network (NetworkManager.detach), and what a killed
 * attach left without a record. Under the state lock: published ports, priority marks,
 * addresses (freed, or kept as a reservation: DetachSpec.reserveAs), port claims, the record; the veth goes after the lock (its deletion waits for an
 * RCU grace period), or not at all when the namespace is going with it. Nothing to detach is
 * a success that says so (CNI DEL semantics).
 */
import { DamagedRecordError, InvalidArgumentError } from '../errors.js'
import { netnsArgPath } from '../netns/index.js'
import type { Rtnl } from '../netlink/route/index.js'
import type { Nft } from '../netlink/nftables/index.js'
import type { Allocator } from './ipam/index.js'
import { hostVethName, ifbNameForVeth } from './names.js'
import { attachmentPriorityElements, listPriorityElements, removePriorityElements } from './priority.js'
import { ownerTag } from './nat.js'
import type { NatState } from './nat-state.js'
import { PortClaims } from './port-mapping.js'
import type { StateDir } from './state.js'
import type { HostLinks } from './links.js'
import { attachmentKey, idFromNetns, sameNetns } from './attach.js'
import type { Attachment, DetachResult, DetachSpec, NetworkConfig } from './types.js'

/** What detach needs of its NetworkManager. */
export interface DetachContext {
  readonly state: StateDir
  readonly rt: Rtnl
  readonly nft: Nft
  readonly nat: NatState
  readonly links: HostLinks
  get(name: string): NetworkConfig
  allocator(network: string): Allocator
}

/**
 * Detaches (container id, ifname) from a network: its published ports, veth, addresses and
 * record. Succeeds, and says so, when there is nothing to detach. Equivalent to
 * `podnet network detach`.
 */
export async function detachPod(ctx: DetachContext, spec: DetachSpec): Promise<DetachResult> {
  const config = ctx.get(spec.network)
  const ifname = spec.ifname ?? 'eth0'
  const id = spec.id ?? idFromNetns(spec.netns)
  if (id === undefined) throw new InvalidArgumentError('id', 'a detach needs an id (or a namespace given by name)')
  const result = await ctx.state.locked(async (): Promise<DetachResult> => {
    const path = ctx.state.attachmentPath(config.name, id, ifname)
    let a: Attachment | undefined
    try {
      a = ctx.state.readJson<Attachment>(path)
    } catch (err) {
      if (!(err instanceof DamagedRecordError)) throw err
      ctx.state.remove(path) // unreadable: what it described is found by name and tag below
    }
    if (!a) {
      await removeLeftovers(ctx, config, id, ifname, spec.reserveAs)
      return { detached: false, reason: `${attachmentKey(id, ifname)} is not attached to network '${config.name}'` }
    }
    if (spec.netns !== undefined) {
      const asked = netnsArgPath(spec.netns)
      if (asked === undefined || (asked !== a.netns && !sameNetns(asked, a.netns))) {
        return { detached: false, reason: `${attachmentKey(id, ifname)} belongs to netns ${a.netns}, not ${asked ?? 'the one given'}` }
      }
    }
    await detachLocked(ctx, config, a, spec.reserveAs)
    return { detached: true, attachment: a }
  })
  // The veth goes outside the lock: its deletion waits for an RCU grace period in the kernel
  // (on a worker thread), and concurrent detaches overlap those waits instead of queueing.
  const a = result.attachment
  if (a && !spec.netnsGoing && ctx.state.exists(a.netns)) await ctx.links.deleteVeth(a.hostVeth)
  // the ifb of an egress limit is in the host namespace: it does not die with the pod's
  if (a?.bandwidth?.egress) await ctx.links.deleteVeth(ifbNameForVeth(a.hostVeth))
  return result
}

/**
 * What an attach killed before writing its record (or one whose record is damaged) may have
 * left, found by name and owner tag: the address this owner holds (kept under `reserveAs` when
 * given), the host veth and its ifb (named for the owner), published ports and priority marks
 * tagged with it, its port claims. Inside the lock, so no attach of the owner is under way.
 */
async function removeLeftovers(ctx: DetachContext, config: NetworkConfig, id: string, ifname: string, reserveAs: string | undefined): Promise<void> {
  await ctx.allocator(config.name).release(id, ifname, reserveAs !== undefined ? { reserveAs } : {})
  const veth = hostVethName(ctx.state.owner, config.name, id, ifname)
  for (const name of [veth, ifbNameForVeth(veth)]) if (ctx.rt.link.findSync(name)) await ctx.links.deleteVeth(name)
  const tag = `${ownerTag(ctx.state.owner, config.name)} id=${id} if=${ifname}`
  const tagged = (c: string | undefined): boolean => c === tag || (c ?? '').startsWith(`${tag} `)
  ctx.nat.deletePortElements((await ctx.nat.portMapEntries()).filter((e) => tagged(e.comment)))
  removePriorityElements(ctx.nft, (await listPriorityElements(ctx.nft)).filter((e) => tagged(e.comment)))
  const claims = new PortClaims(ctx.state)
  for (const { file, owner } of claims.list()) {
    if (owner && owner.network === config.name && owner.id === id && owner.ifname === ifname) claims.removeFile(file)
  }
}

/**
 * Everything of a recorded attachment but its veth (and ifb): published ports, priority marks,
 * addresses (kept under `reserveAs` when given, in the same IPAM transaction), port claims, record.
 */
export async function detachLocked(ctx: DetachContext, config: NetworkConfig, a: Attachment, reserveAs?: string): Promise<void> {
  ctx.nat.deletePortElements(a.portElements ?? [])
  removePriorityElements(ctx.nft, attachmentPriorityElements(a))
  await ctx.allocator(config.name).release(a.id, a.ifname, reserveAs !== undefined ? { reserveAs } : {})
  const claims = new PortClaims(ctx.state)
  for (const m of a.portMappings) claims.release(m)
  ctx.state.remove(ctx.state.attachmentPath(config.name, a.id, a.ifname))
}
