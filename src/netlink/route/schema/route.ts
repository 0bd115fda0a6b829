/** rtnetlink route messages (RTM_NEWROUTE/DELROUTE/GETROUTE), after rt-route.yaml. */
import { attrSet, struct } from '../../core/schema.js'
import * as R from '../constants/rtnetlink.js'

/** struct rtmsg, 12 bytes. */
export const rtmsg = struct('rtmsg', [
  ['family', 'u8'], ['dstLen', 'u8'], ['srcLen', 'u8'], ['tos', 'u8'],
  ['table', 'u8'], ['protocol', 'u8'], ['scope', 'u8'], ['type', 'u8'], ['flags', 'u32'],
])

export const routeAttrs = attrSet('route-attrs', {
  dst: { id: R.RTA_DST, type: 'ip' },
  src: { id: R.RTA_SRC, type: 'ip' },
  iif: { id: R.RTA_IIF, type: 'u32' },
  oif: { id: R.RTA_OIF, type: 'u32' },
  gateway: { id: R.RTA_GATEWAY, type: 'ip' },
  priority: { id: R.RTA_PRIORITY, type: 'u32' },
  prefsrc: { id: R.RTA_PREFSRC, type: 'ip' },
  metrics: { id: R.RTA_METRICS, type: 'binary' },
  multipath: { id: R.RTA_MULTIPATH, type: 'binary' },
  protoinfo: { id: R.RTA_PROTOINFO, type: 'binary' },
  flow: { id: R.RTA_FLOW, type: 'u32' },
  cacheinfo: { id: R.RTA_CACHEINFO, type: 'binary' },
  session: { id: R.RTA_SESSION, type: 'binary' },
  mpAlgo: { id: R.RTA_MP_ALGO, type: 'binary' },
  table: { id: R.RTA_TABLE, type: 'u32' },
  mark: { id: R.RTA_MARK, type: 'u32' },
  mfcStats: { id: R.RTA_MFC_STATS, type: 'binary' },
  via: { id: R.RTA_VIA, type: 'binary' },
  newdst: { id: R.RTA_NEWDST, type: 'binary' },
  pref: { id: R.RTA_PREF, type: 'u8' },
  encapType: { id: R.RTA_ENCAP_TYPE, type: 'u16' },
  encap: { id: R.RTA_ENCAP, type: 'binary' },
  expires: { id: R.RTA_EXPIRES, type: 'u32' },
  pad: { id: R.RTA_PAD, type: 'binary' },
  uid: { id: R.RTA_UID, type: 'u32' },
  ttlPropagate: { id: R.RTA_TTL_PROPAGATE, type: 'u8' },
  ipProto: { id: R.RTA_IP_PROTO, type: 'u8' },
  sport: { id: R.RTA_SPORT, type: 'be16' },
  dport: { id: R.RTA_DPORT, type: 'be16' },
  nhId: { id: R.RTA_NH_ID, type: 'u32' },
})
