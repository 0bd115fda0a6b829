/**
 * Rtnl: the rtnetlink handle for one network namespace (vishvananda's Handle). Its socket is
 * created inside the namespace (setns, socket, setns back: synchronous), so every request on
 * it acts there, whatever thread or await follows.
 */
import { NETLINK_ROUTE } from '../core/header.js'
import { NetlinkSocket } from '../core/socket.js'
import { AddrApi } from './addr.js'
import { LinkApi } from './link.js'
import { openNetnsArg, type NetnsArg, type NetnsRef, type OpenedNetns } from '../../netns/netns.js'
import type { Transport } from '../core/socket.js'
import { NeighApi } from './neigh.js'
import { RouteApi } from './route.js'
import { QdiscApi } from './qdisc.js'
import { ClassApi } from './tclass.js'
import { FilterApi } from './filter.js'
import { LinkStatsApi } from './link-stats.js'
import { RouteMonitor, type MonitorGroup } from './monitor.js'
import * as R from './constants/rtnetlink.js'

const TYPE_NAMES = new Map<number, string>(
  Object.entries(R).filter(([k, v]) => k.startsWith('RTM_') && !k.startsWith('RTM_F_') && typeof v === 'number').map(([k, v]) => [v as number, k]),
)
export const rtmTypeName = (t: number): string => TYPE_NAMES.get(t) ?? `message type ${t}`

export interface RtnlOptions {
  /** The namespace to act in: a name, a path or an open Netns (default: the one this thread is in). */
  netns?: NetnsArg
  /** Talk to this instead of the kernel (tests: a fake kernel). */
  transport?: Transport
}

export class Rtnl {
  readonly sock: NetlinkSocket
  readonly link: LinkApi
  readonly addr: AddrApi
  readonly route: RouteApi
  readonly neigh: NeighApi
  /** Traffic control: qdiscs, classes, filters with actions (tc qdisc / class / filter). */
  readonly qdisc: QdiscApi
  readonly tclass: ClassApi
  readonly filter: FilterApi
  /** Interface counters (ip -s link). */
  readonly stats: LinkStatsApi
  readonly netns: NetnsRef | undefined
  private readonly opened: OpenedNetns | undefined

  private constructor(sock: NetlinkSocket, opened: OpenedNetns | undefined) {
    this.sock = sock
    this.opened = opened
    const netns = opened?.ref
    this.netns = netns
    const where = netns ? (netns.name ? `in netns '${netns.name}'` : 'in the target netns') : ''
    this.link = new LinkApi(sock, where, (ns) => Rtnl.openSocket(ns))
    this.addr = new AddrApi(sock, this.link)
    this.route = new RouteApi(sock, this.link)
    this.neigh = new NeighApi(sock, this.link)
    this.qdisc = new QdiscApi(sock, this.link)
    this.tclass = new ClassApi(sock, this.link)
    this.filter = new FilterApi(sock, this.link)
    this.stats = new LinkStatsApi(sock)
  }

  /**
   * Opens a handle (synchronously; async callers may await it all the same). A namespace given
   * by name or path stays open until close(); an open Netns stays the caller's.
   */
  static open(opts: RtnlOptions = {}): Rtnl {
    if (opts.transport) return new Rtnl(NetlinkSocket.open(NETLINK_ROUTE, { transport: opts.transport, typeName: rtmTypeName }), undefined)
    const opened = opts.netns === undefined ? undefined : openNetnsArg(opts.netns)
    try {
      return new Rtnl(Rtnl.openSocket(opened?.ref), opened)
    } catch (err) {
      opened?.close()
      throw err
    }
  }

  private static openSocket(ns?: NetnsRef): NetlinkSocket {
    return NetlinkSocket.open(NETLINK_ROUTE, { typeName: rtmTypeName, ...(ns && { netns: ns }) })
  }

  /**
   * Events of this namespace on a socket of their own (the handle's socket stays for requests).
   * Iterate with `for await`; call close() on the monitor to stop. Equivalent to: `ip monitor`.
   */
  monitor(groups: readonly MonitorGroup[] = ['link', 'addr', 'route']): RouteMonitor {
    return new RouteMonitor(groups, this.netns)
  }

  close(): void {
    this.sock.close()
    this.opened?.close()
  }
}
