/** The fast decoders against the table decode on what the kernel itself sends (every link kind podnet makes, both families). */
import assert from 'node:assert/strict'
import { decodeMessageBody, encodeMessageBody, type MessageSchema } from '../../../src/netlink/core/index.js'
import { RTEXT_FILTER_SKIP_STATS, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK } from '../../../src/netlink/route/constants/rtnetlink.js'
import { addressFromValues, decodeAddress } from '../../../src/netlink/route/addr.js'
import { decodeLink, linkFromValues } from '../../../src/netlink/route/link-decode.js'
import { addrAttrs, ifaddrmsg } from '../../../src/netlink/route/schema/addr.js'
import { ifinfomsg, linkAttrs } from '../../../src/netlink/route/schema/link.js'
import { useTempNetns } from '../../../src/testing/index.js'

const LINK: MessageSchema = { name: 'RTM_GETLINK', header: ifinfomsg, attrs: linkAttrs }
const ADDR: MessageSchema = { name: 'RTM_GETADDR', header: ifaddrmsg, attrs: addrAttrs }
const fields = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'attrs'))

describe('kernel: route decoders agree with the table decode on kernel messages', () => {
  const t = useTempNetns()
  it('links of every kind podnet makes, and their addresses (IPv4, IPv6, peer, label)', async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'bridge', name: 'br0', up: true })
    await rt.link.add({ kind: 'veth', name: 'v0', master: 'br0', peer: { name: 'v1', up: true }, up: true })
    await rt.link.add({ kind: 'vxlan', name: 'vx0', vxlan: { id: 42, port: 4789, local: '10.1.0.1', learning: false } })
    await rt.link.add({ kind: 'macvlan', name: 'mv0', parent: 'v1', mode: 'bridge' })
    await rt.link.add({ kind: 'ifb', name: 'ifb0' })
    await rt.link.set('v0', { hairpin: true })
    await rt.addr.add({ cidr: '10.1.0.1/24', dev: 'br0' })
    await rt.addr.add({ cidr: 'fd01::1/64', dev: 'br0', nodad: true })
    t().ip('addr', 'add', '10.2.0.1', 'peer', '10.2.0.2/32', 'dev', 'v1', 'label', 'v1:x')
    const links = rt.sock.dumpSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(LINK, {}, { extMask: RTEXT_FILTER_SKIP_STATS }, w) },
      (m) => (m.type === RTM_NEWLINK ? [decodeLink(m), decodeMessageBody(LINK, m.buf, m.off, m.end)] as const : undefined),
    )
    assert.ok(links.length >= 7)
    for (const [fast, full] of links) assert.deepEqual(fields(fast), fields(linkFromValues(full.header, full.attrs)), fast.name)
    const addrs = rt.sock.dumpSync(
      { type: RTM_GETADDR, flags: 0, body: (w) => encodeMessageBody(ADDR, {}, {}, w) },
      (m) => (m.type === RTM_NEWADDR ? [decodeAddress(m), decodeMessageBody(ADDR, m.buf, m.off, m.end)] as const : undefined),
    )
    assert.ok(addrs.length >= 4)
    for (const [fast, full] of addrs) assert.deepEqual(fields(fast), fields(addressFromValues(full)), fast.local)
    assert.ok(addrs.some(([a]) => a.peer === '10.2.0.2' && a.label === 'v1:x'))
  })
})
