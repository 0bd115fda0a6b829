/**
 * rtnetlink events: links, addresses, routes and neighbours appearing, changing and going.
 * Equivalent to: `ip monitor link address route neigh`.
 */
import { NETLINK_ROUTE } from '../core/header.js'
import { NetlinkSubscription, type NlEvent } from '../core/subscription.js'
import type { NlMessage } from '../core/socket.js'
import { decodeAddress, type Address } from './addr.js'
import { decodeLink, type Link } from './link.js'
import type { NetnsArg } from '../../netns/netns.js'
import { decodeNeighbour, type Neighbour } from './neigh.js'
import { decodeRoute, type Route } from './route.js'
import * as R from './constants/rtnetlink.js'

export type MonitorGroup = 'link' | 'addr' | 'route' | 'neigh'

export type RouteEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'addr'; action: 'new' | 'del'; address: Address }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  | { kind: 'neigh'; action: 'new' | 'del'; neighbour: Neighbour }
  /** The kernel dropped events (socket buffer full): re-list what you track. */
  | { kind: 'overrun' }

const GROUPS: Record<MonitorGroup, number[]> = {
  link: [R.RTNLGRP_LINK],
  addr: [R.RTNLGRP_IPV4_IFADDR, R.RTNLGRP_IPV6_IFADDR],
  route: [R.RTNLGRP_IPV4_ROUTE, R.RTNLGRP_IPV6_ROUTE],
  neigh: [R.RTNLGRP_NEIGH],
}

function toMessage(e: Extract<NlEvent, { type: number }>): NlMessage {
  return { type: e.type, flags: e.flags, seq: e.seq, pid: 0, buf: e.payload, off: 0, end: e.payload.length }
}

export class RouteMonitor implements AsyncIterable<RouteEvent> {
  private readonly sub: NetlinkSubscription

  constructor(groups: readonly MonitorGroup[], netns?: NetnsArg) {
    this.sub = NetlinkSubscription.open(NETLINK_ROUTE, groups.flatMap((g) => GROUPS[g]), netns !== undefined ? { netns } : {})
  }

  close(): void {
    this.sub.close()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RouteEvent> {
    for await (const e of this.sub) {
      if (e.overrun) {
        yield { kind: 'overrun' }
        continue
      }
      const m = toMessage(e)
      switch (e.type) {
        case R.RTM_NEWLINK: case R.RTM_DELLINK:
          yield { kind: 'link', action: e.type === R.RTM_NEWLINK ? 'new' : 'del', link: decodeLink(m) }
          break
        case R.RTM_NEWADDR: case R.RTM_DELADDR:
          yield { kind: 'addr', action: e.type === R.RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(m) }
          break
        case R.RTM_NEWROUTE: case R.RTM_DELROUTE:
          yield { kind: 'route', action: e.type === R.RTM_NEWROUTE ? 'new' : 'del', route: decodeRoute(m) }
          break
        case R.RTM_NEWNEIGH: case R.RTM_DELNEIGH:
          yield { kind: 'neigh', action: e.type === R.RTM_NEWNEIGH ? 'new' : 'del', neighbour: decodeNeighbour(m) }
          break
      }
    }
  }
}
