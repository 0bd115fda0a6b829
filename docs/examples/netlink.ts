// podnet/netlink: a message layout declared as data, one dump over a raw socket, decoded.
import { NETLINK_ROUTE, NetlinkSocket, attrSet, decodeMessageBody, encodeMessageBody, struct, type MessageSchema } from 'podnet/netlink'

const RTM_NEWLINK = 16
const RTM_GETLINK = 18
// struct ifinfomsg and two IFLA_* attributes (linux/rtnetlink.h, linux/if_link.h)
const ifinfomsg = struct('ifinfomsg', [['family', 'u8'], ['pad', 'pad8'], ['type', 'u16'], ['index', 's32'], ['flags', 'u32'], ['change', 'u32']])
const attrs = attrSet('link-attrs', { ifname: { id: 3, type: 'string' }, mtu: { id: 4, type: 'u32' } })
const GETLINK: MessageSchema = { name: 'RTM_GETLINK', header: ifinfomsg, attrs }

const sock = NetlinkSocket.open(NETLINK_ROUTE)
try {
  const links = sock.dumpSync(
    { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, {}, {}, w), schema: GETLINK, object: 'links' },
    (m) => (m.type === RTM_NEWLINK ? decodeMessageBody(GETLINK, m.buf, m.off, m.end) : undefined),
  )
  for (const l of links) console.log(l.header.index, l.attrs.ifname, l.attrs.mtu)
} finally {
  sock.close()
}
