/**
 * rtnetlink: the Rtnl handle (links, addresses, routes, neighbours of one namespace), the types
 * it takes and returns, events, and iproute2-shaped JSON. Re-exports only.
 */
export { Rtnl, type RtnlOptions } from './rtnl.js'
export type { LinkApi } from './link.js'
export type {
  BridgeOptions, CommonLinkSpec, Link, LinkChange, LinkListFilter, LinkSpec, MacvlanMode, NetnsRef, VethPeerSpec, VxlanOptions,
} from './link-types.js'
export { linkFlagNames } from './link-decode.js'
export type { AddrApi, Address, AddressSpec } from './addr.js'
export type { Route, RouteApi, RouteSpec } from './route.js'
export type { NeighApi, NeighSpec, Neighbour, NudState } from './neigh.js'
export { RouteMonitor, type MonitorGroup, type RouteEvent } from './monitor.js'
export { addressJson, addressesByLinkJson, linkJson, namesOf, routeJson, type JsonObject, type NameOf } from './json.js'
export type { QdiscApi, Qdisc, QdiscRef, QdiscSpec, HtbQdiscSpec, TbfSpec, TcStats } from './qdisc.js'
export type { ClassApi, ClassSpec, HtbClassSpec, TcClass } from './tclass.js'
export type { Filter, FilterApi, FilterProtocol, FilterRef, FilterSpec, MatchallSpec, U32Key, U32Spec } from './filter.js'
export type { Action, ActionSpec, MirredSpec } from './tc-action.js'
export { formatTcHandle, parseTcHandle, tcHandle, tcMajor, tcMinor } from './tc-handle.js'
export type { LinkCounters, LinkStats64, LinkStatsApi } from './link-stats.js'
