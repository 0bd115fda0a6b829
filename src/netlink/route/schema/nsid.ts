/** rtnetlink namespace-id messages (RTM_NEWNSID/GETNSID), after rt-link.yaml's netns attrs. */
import { attrSet, struct } from '../../core/schema.js'
import * as NS from '../constants/net-namespace.js'

/** struct rtgenmsg padded to 4 bytes. */
export const rtgenmsg = struct('rtgenmsg', [['family', 'u8'], ['pad1', 'pad8'], ['pad2', 'pad16']])

export const nsidAttrs = attrSet('netns-attrs', {
  nsid: { id: NS.NETNSA_NSID, type: 's32' },
  pid: { id: NS.NETNSA_PID, type: 'u32' },
  fd: { id: NS.NETNSA_FD, type: 'u32' },
  targetNsid: { id: NS.NETNSA_TARGET_NSID, type: 's32' },
  currentNsid: { id: NS.NETNSA_CURRENT_NSID, type: 's32' },
})
