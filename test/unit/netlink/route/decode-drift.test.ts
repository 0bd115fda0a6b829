/**
 * The hand-written one-pass decoders (decodeLink, decodeAddress) must never drift from the table
 * decode (linkFromValues / addressFromValues over decodeMessageBody): for random well-formed
 * messages both give the same fields, and for malformed ones both raise a DecodeError.
 * test/kernel/route/decode-drift.test.ts runs the same comparison on what the kernel sends.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DecodeError } from '../../../../src/errors.js'
import { Writer, decodeMessageBody, encodeMessageBody, type AttrSet, type AttrValues, type MessageSchema } from '../../../../src/netlink/core/index.js'
import type { NlMessage } from '../../../../src/netlink/core/socket.js'
import { addressFromValues, decodeAddress } from '../../../../src/netlink/route/addr.js'
import { decodeLink, linkFromValues } from '../../../../src/netlink/route/link-decode.js'
import { addrAttrs, ifaddrmsg } from '../../../../src/netlink/route/schema/addr.js'
import { bridgeAttrs, brportAttrs, ifinfomsg, linkAttrs, vxlanAttrs } from '../../../../src/netlink/route/schema/link.js'
import { linkJson } from '../../../../src/netlink/route/json.js'

const NEWLINK: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
const NEWADDR: MessageSchema = { name: 'RTM_NEWADDR', header: ifaddrmsg, attrs: addrAttrs }

function message(schema: MessageSchema, header: Record<string, number>, attrs: AttrValues): NlMessage {
  const w = new Writer(512)
  encodeMessageBody(schema, header, attrs, w)
  const buf = w.toBuffer()
  return { type: 16, flags: 0, seq: 1, pid: 0, buf, off: 0, end: buf.length }
}

/** The same message in a buffer that starts 1 byte past a word boundary (the decoders then read bytes, not words). */
function unaligned(m: NlMessage): NlMessage {
  const b = Buffer.alloc(m.buf.length + 1).subarray(1)
  m.buf.copy(b)
  return { ...m, buf: b }
}

/** The typed fields of a decoded object (not `attrs`, which both decode from the table). */
const fields = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'attrs'))

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'))
const ifname = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/)
const ipv4 = fc.ipV4()
const ipv6 = fc.ipV6().filter((a) => !a.includes('.'))

const linkArb = fc.record({
  header: fc.record({ family: fc.constant(0), type: fc.constantFrom(1, 772, 65534), index: fc.integer({ min: 1, max: 1 << 20 }), flags: fc.nat(0x7ffff), change: fc.constant(0) }),
  attrs: fc.record({
    ifname, mtu: fc.integer({ min: 68, max: 65535 }), address: mac, broadcast: mac, master: fc.integer({ min: 1, max: 1000 }),
    txqlen: fc.nat(10000), operstate: fc.integer({ min: 0, max: 6 }), linkmode: fc.integer({ min: 0, max: 1 }), qdisc: fc.constantFrom('noqueue', 'noop', 'fq_codel'),
    group: fc.nat(100), link: fc.integer({ min: 1, max: 1000 }), linkNetnsid: fc.integer({ min: 0, max: 10 }),
    linkinfo: fc.option(fc.record({ kind: fc.constantFrom('veth', 'bridge', 'ifb'), slaveKind: fc.constantFrom('bridge') }, { requiredKeys: ['kind'] }), { nil: undefined }),
  }, { requiredKeys: ['ifname'] }),
})

const addrArb = fc.oneof(
  fc.record({ family: fc.constant(2), prefixlen: fc.integer({ min: 0, max: 32 }), local: ipv4, peer: fc.option(ipv4, { nil: undefined }), broadcast: fc.option(ipv4, { nil: undefined }) }),
  fc.record({ family: fc.constant(10), prefixlen: fc.integer({ min: 0, max: 128 }), local: ipv6, peer: fc.option(ipv6, { nil: undefined }), broadcast: fc.constant(undefined) }),
).chain((a) => fc.record({
  a: fc.constant(a), flags: fc.nat(255), bigFlags: fc.option(fc.nat(0xffff), { nil: undefined }), scope: fc.constantFrom(0, 253, 254), index: fc.integer({ min: 1, max: 1000 }),
  label: fc.option(ifname, { nil: undefined }), cache: fc.option(fc.record({ prefered: fc.nat(), valid: fc.nat(), cstamp: fc.nat(), tstamp: fc.nat() }), { nil: undefined }),
}))

describe('route: the fast decoders agree with the table decode', () => {
  it('links: every field equal on random messages', () => {
    fc.assert(fc.property(linkArb, ({ header, attrs }) => {
      const m = message(NEWLINK, header, attrs as AttrValues)
      const fast = decodeLink(m)
      const full = decodeMessageBody(NEWLINK, m.buf, m.off, m.end)
      assert.deepEqual(fields(fast), fields(linkFromValues(full.header, full.attrs)))
      assert.deepEqual(fast.attrs, full.attrs, 'the lazy attrs are the table decode')
      assert.deepEqual(fields(decodeLink(unaligned(m))), fields(fast), 'read byte by byte when the buffer is not 4-byte aligned')
    }), { numRuns: 500 })
  })

  it('links as JSON: info data decoded straight to JSON (decodeFlatAttrsJson) gives the text of the table decode', () => {
    // an arbitrary value for each attribute of a table, from its kind
    const valueOf = (type: string): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'u8': return fc.nat(255)
        case 'u16': case 'be16': return fc.nat(65535)
        case 'u32': case 'be32': return fc.nat(0xffffffff)
        case 'u64': return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
        case 'flag': return fc.constant(true)
        case 'binary': return fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b))
        case 'ip': return fc.ipV4()
        case 'mac': return mac
        default: return fc.nat(255)
      }
    }
    const attrsOf = (set: AttrSet): fc.Arbitrary<AttrValues> => fc.record(Object.fromEntries(Object.entries(set.attrs).map(([k, d]) => [k, valueOf(d.type)])), { requiredKeys: [] }) as fc.Arbitrary<AttrValues>
    // raw attributes: unknown ids, and sometimes a known one again (a repeat: the object keeps its first position, the last value)
    const unknown = fc.option(fc.array(fc.record({ id: fc.oneof(fc.integer({ min: 200, max: 300 }), fc.integer({ min: 1, max: 8 })), bytes: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b)) }), { maxLength: 3 }), { nil: undefined })
    const arb = fc.oneof(
      fc.tuple(attrsOf(bridgeAttrs), unknown).map(([data, u]) => ({ kind: 'bridge', data: u ? { ...data, unknown: u } : data })),
      fc.tuple(attrsOf(brportAttrs), unknown).map(([slaveData, u]) => ({ kind: 'veth', slaveKind: 'bridge', slaveData: u ? { ...slaveData, unknown: u } : slaveData })),
      fc.tuple(attrsOf(vxlanAttrs)).map(([data]) => ({ kind: 'vxlan', data })),
    )
    const altnames = fc.option(fc.array(ifname, { minLength: 1, maxLength: 2 }), { nil: undefined })
    fc.assert(fc.property(arb, altnames, (linkinfo, alt) => {
      const m = message(NEWLINK, { index: 7, type: 1 }, { ifname: 'x0', linkinfo, ...(alt && { propList: { altIfname: alt } }) })
      const full = decodeMessageBody(NEWLINK, m.buf, m.off, m.end)
      const slow = linkFromValues(full.header, full.attrs)
      const expected = JSON.stringify(linkJson(slow))
      assert.equal(JSON.stringify(linkJson(decodeLink(m))), expected)
      assert.equal(JSON.stringify(linkJson(decodeLink(unaligned(m)))), expected, 'read byte by byte when the buffer is not 4-byte aligned')
    }), { numRuns: 300 })
  })

  it('addresses: every field equal on random messages', () => {
    fc.assert(fc.property(addrArb, (x) => {
      const attrs: AttrValues = { local: x.a.local, address: x.a.peer ?? x.a.local }
      if (x.a.broadcast !== undefined) attrs.broadcast = x.a.broadcast
      if (x.label !== undefined) attrs.label = x.label
      if (x.bigFlags !== undefined) attrs.flags = x.bigFlags
      if (x.cache) attrs.cacheinfo = x.cache
      const m = message(NEWADDR, { family: x.a.family, prefixlen: x.a.prefixlen, flags: x.flags, scope: x.scope, index: x.index }, attrs)
      assert.deepEqual(fields(decodeAddress(m)), fields(addressFromValues(decodeMessageBody(NEWADDR, m.buf, m.off, m.end))))
    }), { numRuns: 500 })
  })

  it('malformed attributes: a DecodeError from the fast path as from the table, never another error or a silent stop', () => {
    const cases: Array<[string, MessageSchema, (m: NlMessage) => unknown]> = [['link', NEWLINK, decodeLink], ['address', NEWADDR, decodeAddress]]
    for (const [what, schema, fast] of cases) {
      fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(200), (junk, cut) => {
        // a valid header and one good attribute, then random bytes and a possibly cut message
        const good = message(schema, schema === NEWLINK ? { index: 1 } : { family: 2, index: 1 }, schema === NEWLINK ? { ifname: 'x' } : { local: '10.0.0.1' })
        const bytes = Buffer.concat([good.buf, Buffer.from(junk)])
        const end = Math.min(bytes.length, good.buf.length + (cut % (junk.length + 1)))
        const m: NlMessage = { ...good, buf: bytes, end }
        let fullErr: unknown
        let fullOk: object | undefined
        try { fullOk = decodeMessageBody(schema, bytes, 0, end) } catch (e) { fullErr = e }
        let fastErr: unknown
        try { fast(m) } catch (e) { fastErr = e }
        if (fullErr) {
          assert.ok(fullErr instanceof DecodeError, `${what}: the table decode threw ${String(fullErr)}`)
          assert.ok(fastErr instanceof DecodeError, `${what}: the table decode refused it (${(fullErr as Error).message}) but the fast path gave ${String(fastErr ?? 'a result')}`)
        } else {
          assert.ok(fullOk)
          assert.equal(fastErr, undefined, `${what}: the fast path threw ${String(fastErr)} on what the table accepts`)
        }
      }), { numRuns: 1000 })
    }
  })
})
