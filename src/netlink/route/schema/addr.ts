/** rtnetlink address messages (RTM_NEWADDR/DELADDR/GETADDR), after rt-addr.yaml. */
import { attrSet, struct } from '../../core/schema.js'
import * as A from '../constants/if-addr.js'

/** struct ifaddrmsg, 8 bytes. */
export const ifaddrmsg = struct('ifaddrmsg', [
  ['family', 'u8'], ['prefixlen', 'u8'], ['flags', 'u8'], ['scope', 'u8'], ['index', 'u32'],
])

export const ifaCacheinfo = struct('ifa_cacheinfo', [
  ['prefered', 'u32'], ['valid', 'u32'], ['cstamp', 'u32'], ['tstamp', 'u32'],
])

export const addrAttrs = attrSet('addr-attrs', {
  address: { id: A.IFA_ADDRESS, type: 'ip' },
  local: { id: A.IFA_LOCAL, type: 'ip' },
  label: { id: A.IFA_LABEL, type: 'string' },
  broadcast: { id: A.IFA_BROADCAST, type: 'ip' },
  anycast: { id: A.IFA_ANYCAST, type: 'ip' },
  cacheinfo: { id: A.IFA_CACHEINFO, type: 'struct', struct: ifaCacheinfo },
  multicast: { id: A.IFA_MULTICAST, type: 'ip' },
  flags: { id: A.IFA_FLAGS, type: 'u32' },
  rtPriority: { id: A.IFA_RT_PRIORITY, type: 'u32' },
  targetNetnsid: { id: A.IFA_TARGET_NETNSID, type: 's32' },
  proto: { id: A.IFA_PROTO, type: 'u8' },
})
