import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DecodeError } from '../../../../src/errors.js'
import {
  Writer, attrSet, attrPathAt, decodeAttrs, decodeMessageBody, encodeAttrs, encodeMessageBody,
  struct, type AttrValues, type MessageSchema,
} from '../../../../src/netlink/core/index.js'
import { bytesToIp, formatMac, ipToBytes, parseMac } from '../../../../src/net/index.js'
import { ifinfomsg, linkAttrs } from '../../../../src/netlink/route/schema/link.js'
import { ifaddrmsg, addrAttrs } from '../../../../src/netlink/route/schema/addr.js'
import { rtmsg, routeAttrs } from '../../../../src/netlink/route/schema/route.js'
import { ndmsg, neighAttrs } from '../../../../src/netlink/route/schema/neigh.js'
import { Bytes } from '../../../support/bytes.js'

const NEWLINK: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
const enc = (set: typeof linkAttrs, v: AttrValues): Buffer => { const w = new Writer(16); encodeAttrs(set, v, w); return w.toBuffer() }

describe('netlink/core schema', () => {
  it('family header structs have the C sizeof', () => {
    assert.equal(ifinfomsg.size, 16)
    assert.equal(ifaddrmsg.size, 8)
    assert.equal(rtmsg.size, 12)
    assert.equal(ndmsg.size, 12)
  })

  it('encodes a bridge with options as the kernel expects (independent builder)', () => {
    const got = enc(linkAttrs, { ifname: 'br0', mtu: 1500, linkinfo: { kind: 'bridge', data: { stpState: 0 } } })
    const want = new Bytes()
      .attr(3, (b) => b.str('br0'))
      .attr(4, (b) => b.u32(1500))
      .attr(18, (b) => b.attr(1, (k) => k.str('bridge', false)).attr(2, (d) => d.attr(5, (x) => x.u32(0))))
      .build()
    assert.deepEqual(got, want)
  })

  it('round-trips nested, sub-message and struct-nest attributes', () => {
    const v: AttrValues = {
      mtu: 1400, address: '02:00:00:00:00:01', ifname: 'va',
      linkinfo: { kind: 'veth', data: { peer: { header: { family: 0, type: 0, index: 0, flags: 0, change: 0 }, attrs: { netNsFd: 4, ifname: 'vb' } } } },
    }
    const bytes = enc(linkAttrs, v)
    assert.deepEqual(decodeAttrs(linkAttrs, bytes, 0, bytes.length), v)
  })

  it('keeps unknown attributes as raw bytes and writes them back', () => {
    const bytes = new Bytes().attr(3, (b) => b.str('x')).attr(999, (b) => b.raw(1, 2, 3)).build()
    const v = decodeAttrs(linkAttrs, bytes, 0, bytes.length)
    assert.equal(v.ifname, 'x')
    assert.deepEqual(v.unknown, [{ id: 999, bytes: Buffer.from([1, 2, 3]) }])
    assert.deepEqual(enc(linkAttrs, v), bytes)
  })

  it('keeps the data of a link kind it has no table for', () => {
    const bytes = new Bytes().attr(18, (b) => b.attr(1, (k) => k.str('wireguard')).attr(2, (d) => d.raw(9, 9, 9, 9))).build()
    const v = decodeAttrs(linkAttrs, bytes, 0, bytes.length)
    assert.deepEqual((v.linkinfo as AttrValues).data, Buffer.from([9, 9, 9, 9]))
  })

  it('honours NLA_F_NET_BYTEORDER on decode', () => {
    const bytes = new Bytes().u16(8).u16(4 | 0x4000).raw(0, 0, 5, 0xdc).build()
    assert.equal(decodeAttrs(linkAttrs, bytes, 0, bytes.length).mtu, 1500)
  })

  it('big-endian sets write integers in network order', () => {
    const be = attrSet('be', { n: { id: 1, type: 'u32' } }, { byteOrder: 'be' })
    assert.deepEqual(enc(be, { n: 0x01020304 }), Buffer.from([8, 0, 1, 0, 1, 2, 3, 4]))
  })

  it('rejects values of the wrong type and attributes the set does not know', () => {
    assert.throws(() => enc(linkAttrs, { mtu: 'x' }), /expected an integer/)
    assert.throws(() => enc(linkAttrs, { nope: 1 }), /unknown attribute 'nope'/)
  })

  it('says where a short or overrunning attribute is', () => {
    const overrun = new Bytes().u16(12).u16(4).raw(0, 0, 0, 0).build()
    assert.throws(() => decodeAttrs(linkAttrs, overrun, 0, overrun.length), (e: unknown) => e instanceof DecodeError && e.set === 'link-attrs' && e.attr === 'mtu' && e.offset === 0)
    const short = new Bytes().u16(6).u16(4).raw(1, 2).pad().build()
    assert.throws(() => decodeAttrs(linkAttrs, short, 0, short.length), (e: unknown) => e instanceof DecodeError && /u32 needs 4 bytes/.test(e.message))
    assert.throws(() => decodeMessageBody(NEWLINK, Buffer.alloc(10), 0, 10), DecodeError)
  })

  it('maps an ext-ack offset to an attribute path', () => {
    const w = new Writer()
    w.zeros(16)
    encodeMessageBody(NEWLINK, {}, { ifname: 'va', linkinfo: { kind: 'veth', data: { peer: { header: {}, attrs: { ifname: 'vb' } } } } }, w)
    const req = w.toBuffer()
    req.writeUInt32LE(req.length, 0)
    const peerName = req.indexOf(Buffer.from('vb\0')) - 4
    assert.equal(attrPathAt(NEWLINK, req, peerName), 'linkinfo.data.peer.ifname')
    assert.equal(attrPathAt(NEWLINK, req, 32), 'ifname')
  })

  it('converts IPv4, IPv6 and MAC addresses both ways', () => {
    assert.deepEqual(ipToBytes('10.1.2.3'), Buffer.from([10, 1, 2, 3]))
    assert.equal(bytesToIp(ipToBytes('fd00::1')), 'fd00::1')
    assert.equal(bytesToIp(ipToBytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1')
    assert.equal(bytesToIp(ipToBytes('::ffff:10.0.0.1')), '::ffff:10.0.0.1')
    assert.equal(bytesToIp(ipToBytes('::')), '::')
    assert.equal(formatMac(parseMac('02:AB:00:00:00:01')), '02:ab:00:00:00:01')
    assert.throws(() => ipToBytes('10.0.0.256'), /not an IP/)
  })

  it('property: IPv6 text and bytes round-trip', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      assert.deepEqual(ipToBytes(bytesToIp(b)), Buffer.from(b))
    }))
  })

  const schemas: MessageSchema[] = [
    NEWLINK,
    { name: 'RTM_NEWADDR', header: ifaddrmsg, attrs: addrAttrs },
    { name: 'RTM_NEWROUTE', header: rtmsg, attrs: routeAttrs },
    { name: 'RTM_NEWNEIGH', header: ndmsg, attrs: neighAttrs },
  ]

  it('property: random bytes never raise anything but DecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(...schemas), (bytes, schema) => {
      const buf = Buffer.from(bytes)
      try {
        decodeMessageBody(schema, buf, 0, buf.length)
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
      }
    }), { numRuns: 3000 })
  })

  it('property: encode/decode round-trips generated link attributes, and truncations fail only with DecodeError', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/)
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b))
    const arb = fc.record({
      ifname: name, mtu: fc.integer({ min: 68, max: 65535 }), address: mac, txqlen: fc.nat(),
      master: fc.nat(), operstate: fc.integer({ min: 0, max: 6 }), linkNetnsid: fc.integer({ min: -1, max: 1000 }),
      linkinfo: fc.record({ kind: fc.constant('bridge'), data: fc.record({ stpState: fc.nat(), priority: fc.integer({ min: 0, max: 65535 }), vlanFiltering: fc.integer({ min: 0, max: 1 }) }, { requiredKeys: [] }) }),
    }, { requiredKeys: ['ifname'] })
    fc.assert(fc.property(arb, fc.nat(), (generated, cut) => {
      const v = JSON.parse(JSON.stringify(generated)) as AttrValues // plain prototypes for deepEqual
      const bytes = enc(linkAttrs, v as AttrValues)
      assert.deepEqual(decodeAttrs(linkAttrs, bytes, 0, bytes.length), v)
      const n = cut % (bytes.length + 1)
      try { decodeAttrs(linkAttrs, bytes, 0, n) } catch (err) { if (!(err instanceof DecodeError)) throw err }
    }), { numRuns: 1000 })
  })

  it('struct fields encode in order with padding', () => {
    const s = struct('t', [['a', 'u8'], ['p', 'pad8'], ['b', 'u16'], ['c', 'be32']])
    const w = new Writer()
    encodeMessageBody({ name: 'T', header: s, attrs: attrSet('x', {}) }, { a: 1, b: 2, c: 3 }, {}, w)
    assert.deepEqual(w.toBuffer(), Buffer.from([1, 0, 2, 0, 0, 0, 0, 3]))
  })
})
