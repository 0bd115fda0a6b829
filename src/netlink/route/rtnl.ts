/**
 * Rtnl: the rtnetlink handle for one network namespace (vishvananda's Handle). Its socket is
 * created inside the namespace (setns, socket, setns back: synchronous), so every request on
 * it acts there, whatever thread or await follows.
 */
import { NETLINK_ROUTE } from '../core/header.js'
import { NetlinkSocket } from '../core/socket.js'
import { AddrApi } from './addr.js'
import { LinkApi, type NetnsRef } from './link.js'
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
  /** The namespace to act in (default: the one this thread is in). */
  netns?: NetnsRef
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

  private constructor(sock: NetlinkSocket, netns: NetnsRef | undefined) {
    this.sock = sock
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

  /** Opens a handle (synchronously; async callers may await it all the same). */
  static open(opts: RtnlOptions = {}): Rtnl {
    return new Rtnl(Rtnl.openSocket(opts.netns), opts.netns)
  }

  private static openSocket(ns?: NetnsRef): NetlinkSocket {
    return NetlinkSocket.open(NETLINK_ROUTE, ns ? { netnsFd: ns.fd, typeName: rtmTypeName, ...(ns.name !== undefined && { netnsName: ns.name }) } : { typeName: rtmTypeName })
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
  }
}
