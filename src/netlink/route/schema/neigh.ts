/** rtnetlink neighbour messages (RTM_NEWNEIGH/DELNEIGH/GETNEIGH), after rt-neigh.yaml. */
import { attrSet, struct } from '../../core/schema.js'
import * as N from '../constants/neighbour.js'

/** struct ndmsg, 12 bytes. */
export const ndmsg = struct('ndmsg', [
  ['family', 'u8'], ['pad1', 'pad8'], ['pad2', 'pad16'], ['ifindex', 's32'], ['state', 'u16'], ['flags', 'u8'], ['type', 'u8'],
])

export const neighAttrs = attrSet('neighbour-attrs', {
  dst: { id: N.NDA_DST, type: 'ip' },
  lladdr: { id: N.NDA_LLADDR, type: 'mac' },
  cacheinfo: { id: N.NDA_CACHEINFO, type: 'binary' },
  probes: { id: N.NDA_PROBES, type: 'u32' },
  vlan: { id: N.NDA_VLAN, type: 'u16' },
  port: { id: N.NDA_PORT, type: 'be16' },
  vni: { id: N.NDA_VNI, type: 'u32' },
  ifindex: { id: N.NDA_IFINDEX, type: 'u32' },
  master: { id: N.NDA_MASTER, type: 'u32' },
  linkNetnsid: { id: N.NDA_LINK_NETNSID, type: 's32' },
  srcVni: { id: N.NDA_SRC_VNI, type: 'u32' },
  protocol: { id: N.NDA_PROTOCOL, type: 'u8' },
})
