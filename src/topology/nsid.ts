/**
 * The id a namespace has for another (RTM_GETNSID with NETNSA_FD, as `ip netns list-id` and
 * `ip -n A netns identify` rely on): how a veth's IFLA_LINK_NETNSID is tied to the namespace
 * its peer is in. Ifindexes alone do not say it: every namespace has an eth0 at ifindex 2.
 */
import { decodeMessageBody, encodeMessageBody, type MessageSchema } from '../netlink/core/schema.js'
import { RTM_GETNSID, RTM_NEWNSID } from '../netlink/route/constants/rtnetlink.js'
import { nsidAttrs, rtgenmsg } from '../netlink/route/schema/nsid.js'
import type { Rtnl } from '../netlink/route/index.js'

const GETNSID: MessageSchema = { name: 'RTM_GETNSID', header: rtgenmsg, attrs: nsidAttrs }

/** The nsid `rt`'s namespace has for the namespace open at `fd`; undefined when none is assigned. */
export function nsidOf(rt: Rtnl, fd: number): number | undefined {
  const got = rt.sock.requestSync(
    { type: RTM_GETNSID, flags: 0, body: (w) => encodeMessageBody(GETNSID, { family: 0 }, { fd }, w), schema: GETNSID, object: 'nsid' },
    (m) => (m.type === RTM_NEWNSID ? decodeMessageBody(GETNSID, m.buf, m.off, m.end).attrs.nsid as number | undefined : undefined),
  )
  const id = got[0]
  return id === undefined || id < 0 ? undefined : id
}
