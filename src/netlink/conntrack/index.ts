/** podnet/conntrack: conntrack over ctnetlink (list, flush by filter, delete flows). Re-exports only. */
export {
  Conntrack, type ConntrackOpenOptions, type ConntrackTuple, type Flow, type FlowFilter,
} from './conntrack.js'
export { IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT, IPS_EXPECTED, IPS_SEEN_REPLY, IPS_SRC_NAT } from './constants.js'
