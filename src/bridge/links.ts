/**
 * The host namespace's links as a NetworkManager's attach, detach and remove use them: bridge
 * ifindexes looked up once, veth deletions in flight (an attach that reuses the name waits for
 * them), and the bulk deletion of many links through a device group (one RCU wait for all).
 */
import { NotFoundError, isErrno } from '../errors.js'
import type { Rtnl } from '../netlink/route/index.js'
import type { NetworkConfig } from './types.js'

/** Device group podnet gives veths it is about to delete in bulk ('pn' in ASCII). */
const BULK_DELETE_GROUP = 0x706e

export class HostLinks {
  private readonly rt: () => Rtnl
  /** Bridge ifindexes by name, looked up once (dropped on any failure that may mean the bridge changed). */
  private readonly bridgeIndexCache = new Map<string, number>()
  /** Veth deletions in flight, by name (an attach reusing the name waits for them). */
  private readonly pendingDeletes = new Map<string, Promise<void>>()

  /** `rt`: the host namespace's rtnetlink handle (opened on first use). */
  constructor(rt: () => Rtnl) {
    this.rt = rt
  }

  /** The bridge's ifindex (one GET, then cached); NotFoundError when it is missing. */
  bridgeIndex(config: NetworkConfig): number {
    let i = this.bridgeIndexCache.get(config.bridge)
    if (i === undefined) {
      i = this.rt().link.bridgeIndexSync(config.bridge)
      this.bridgeIndexCache.set(config.bridge, i)
    }
    return i
  }

  /** Drops a cached ifindex (a failure that may mean the bridge changed). */
  forgetBridge(bridge: string): void {
    this.bridgeIndexCache.delete(bridge)
  }

  /** The deletion of link `name` in flight, if any. */
  deleting(name: string): Promise<void> | undefined {
    return this.pendingDeletes.get(name)
  }

  /** Deletes a link (a veth, an ifb) if it exists; the kernel's RCU wait runs on a worker thread. */
  async deleteVeth(name: string): Promise<void> {
    const p = this.rt().link.del(name).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err
    })
    this.pendingDeletes.set(name, p)
    try {
      await p
    } finally {
      if (this.pendingDeletes.get(name) === p) this.pendingDeletes.delete(name)
    }
  }

  /** Deletes many links with one kernel request (one RCU wait): group them, delete the group. */
  async deleteBulk(indexes: number[]): Promise<void> {
    if (!indexes.length) return
    for (const i of indexes) {
      try {
        await this.rt().link.set(i, { group: BULK_DELETE_GROUP })
      } catch (err) {
        if (!(err instanceof NotFoundError) && !isErrno(err, 'ENODEV')) throw err
      }
    }
    try {
      await this.rt().link.delGroup(BULK_DELETE_GROUP)
    } catch (err) {
      // the kernel destroyed them first (their namespaces went away): nothing left to delete
      if (!isErrno(err, 'ENODEV')) throw err
    }
  }
}
