/**
 * podnet: named network namespaces and an rtnetlink client in pure TypeScript, with the address
 * and name helpers they share and the errors they throw. More in the subpaths:
 *   podnet/bridge     bridge networks (NetworkManager: create, attach, detach, check, gc)
 *   podnet/runtime    pods (PodRuntime, manifests, the supervisor's client)
 *   podnet/cni        the CNI plugin, for embedding
 *   podnet/nftables   nf_tables; podnet/conntrack   conntrack
 *   podnet/netlink    the netlink codec and socket, for other netlink families
 *   podnet/errors     every error class and its code
 *   podnet/testing    fixtures for networked tests
 * Re-exports only (docs/library.md).
 */
export { NETNS_RUN_DIR, Netns, netnsArgPath, netnsRunDir, openNetnsArg, type NetnsArg, type NetnsRef, type OpenedNetns } from './netns/index.js'
export {
  Rtnl, RouteMonitor, addressJson, addressesByLinkJson, linkFlagNames, linkJson, namesOf, routeJson,
  type AddrApi, type Address, type AddressSpec, type BridgeOptions, type CommonLinkSpec, type JsonObject, type Link, type LinkApi,
  type LinkChange, type LinkListFilter, type LinkSpec, type MacvlanMode, type MonitorGroup, type NameOf, type NeighApi,
  type NeighSpec, type Neighbour, type NudState, type Route, type RouteApi, type RouteEvent, type RouteSpec, type RtnlOptions, type VethPeerSpec,
  type VxlanOptions,
} from './netlink/route/index.js'
export {
  bytesToIp, cidrContains, formatIp, formatMac, ipFamily, ipToBytes, overlaps, parseCidr, parseIp, parseMac, parsePrefixedAddress,
  tryParseIp, validateContainerId, validateIfname, validateMac, validateNetnsName, validateNetworkName,
  type Cidr, type IpAddress, type IpFamily, type PrefixedAddress,
} from './net/index.js'
export {
  DecodeError, ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, PermissionError, PodnetError, SyscallError, isErrno,
  type PodnetErrorCode,
} from './errors.js'
