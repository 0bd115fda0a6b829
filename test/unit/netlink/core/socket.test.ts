/** NetlinkSocket against a fake kernel: ACKs, errors with ext-ack, multi-part dumps, NLM_F_DUMP_INTR retry, sizing. */
import assert from 'node:assert/strict'
import { DumpInterruptedError, NetlinkError } from '../../../../src/errors.js'
import { NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NetlinkSocket, encodeMessageBody, type MessageSchema } from '../../../../src/netlink/core/index.js'
import { NLM_F_ACK_TLVS, NLM_F_CAPPED } from '../../../../src/netlink/core/header.js'
import { ifinfomsg, linkAttrs } from '../../../../src/netlink/route/schema/link.js'
import { Bytes } from '../../../support/bytes.js'
import { FakeKernel, type FakeRequest } from '../../../support/fake-kernel.js'

const PORT = 4242
type Req = FakeRequest

/** A fake kernel answering the first message of each datagram through `respond`. */
const kernel = (respond: (r: Req, k: FakeKernel) => Buffer[]): FakeKernel => new FakeKernel((msgs, k) => respond(msgs[0]!, k), PORT)

/** One netlink message: header + payload. */
function msg(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const b = new Bytes().u32(16 + payload.length).u16(type).u16(flags).u32(seq).u32(PORT).raw(...payload).pad().build()
  return b
}
const link = (index: number, name: string): Buffer => new Bytes().u8(0).u8(0).u16(1).u32(index).u32(0).u32(0).attr(3, (b) => b.str(name)).build()
const ack = (r: Req, errno = 0, tlvs?: Bytes): Buffer => {
  const p = new Bytes().u32(-errno >>> 0).raw(...r.bytes.subarray(0, 16))
  if (tlvs) p.raw(...tlvs.build())
  return msg(NLMSG_ERROR, NLM_F_CAPPED | (tlvs ? NLM_F_ACK_TLVS : 0), r.seq, p.build())
}
const done = (r: Req, flags = 0, errno = 0): Buffer => msg(NLMSG_DONE, NLM_F_MULTI | flags, r.seq, new Bytes().u32(-errno >>> 0).build())

const SCHEMA: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
const names = (sock: NetlinkSocket, flags = 0): string[] =>
  sock.dumpSync({ type: 18, flags, body: (w) => encodeMessageBody(SCHEMA, {}, {}, w) }, (m) => m.buf.toString('utf8', m.off + 20, m.off + 22))

describe('netlink/core NetlinkSocket (fake kernel)', () => {
  it('returns on the ACK, and sets REQUEST|ACK on requests', () => {
    const k = kernel((r) => [ack(r)])
    const sock = NetlinkSocket.fromTransport(k)
    assert.deepEqual(sock.requestSync({ type: 16, flags: 0x600, body: (w) => encodeMessageBody(SCHEMA, {}, { ifname: 'x' }, w) }), [])
    assert.equal(k.requests[0]!.flags, 0x605)
  })

  it('turns an error into NetlinkError with the op, object, errno name, kernel message and attribute path', () => {
    const k = kernel((r) => [ack(r, 17, new Bytes().attr(1, (b) => b.str('exists already')).attr(2, (b) => b.u32(32)))])
    const sock = NetlinkSocket.fromTransport(k)
    assert.throws(() => sock.requestSync({ type: 16, flags: 0, schema: SCHEMA, object: "veth 'a'", body: (w) => encodeMessageBody(SCHEMA, {}, { ifname: 'a' }, w) }),
      (e: unknown) => e instanceof NetlinkError && e.message === "veth 'a': RTM_NEWLINK failed: EEXIST (File exists): exists already (at ifname)" && e.extAck.offset === 32)
  })

  it('collects a dump spread over several datagrams and ignores stale messages', () => {
    const k = kernel((r) => [
      msg(16, NLM_F_MULTI, r.seq - 1, link(9, 'zz')), // an answer to an older request
      Buffer.concat([msg(16, NLM_F_MULTI, r.seq, link(1, 'lo')), msg(16, NLM_F_MULTI, r.seq, link(2, 'e0'))]),
      msg(16, NLM_F_MULTI, r.seq, link(3, 'e1')),
      done(r),
    ])
    assert.deepEqual(names(NetlinkSocket.fromTransport(k)), ['lo', 'e0', 'e1'])
    assert.equal(k.requests[0]!.flags & 0x300, 0x300, 'NLM_F_DUMP')
  })

  it('retries a dump that came back with NLM_F_DUMP_INTR, and returns the clean one', () => {
    let n = 0
    const k = kernel((r) => {
      n++
      const intr = n < 3 ? NLM_F_DUMP_INTR : 0
      return [msg(16, NLM_F_MULTI | intr, r.seq, link(1, n < 3 ? 'xx' : 'ok')), done(r, intr)]
    })
    assert.deepEqual(names(NetlinkSocket.fromTransport(k)), ['ok'])
    assert.equal(k.requests.length, 3)
  })

  it('gives up after 5 interrupted attempts with DumpInterruptedError carrying the partial result', () => {
    const k = kernel((r) => [msg(16, NLM_F_MULTI, r.seq, link(1, 'pp')), done(r, NLM_F_DUMP_INTR)])
    assert.throws(() => names(NetlinkSocket.fromTransport(k)), (e: unknown) => e instanceof DumpInterruptedError && e.attempts === 5 && (e.partial as string[])[0] === 'pp')
    assert.equal(k.requests.length, 5)
  })

  it('reports an error carried by NLMSG_DONE', () => {
    const k = kernel((r) => [done(r, 0, 95)])
    assert.throws(() => names(NetlinkSocket.fromTransport(k)), (e: unknown) => e instanceof NetlinkError && e.errnoName === 'EOPNOTSUPP')
  })

  it('sizes each read with MSG_PEEK|MSG_TRUNC (a 200 KB datagram arrives whole)', () => {
    const big = Buffer.alloc(200_000, 0x61)
    const k = kernel((r) => [msg(16, 0, r.seq, Buffer.concat([link(5, 'bb'), new Bytes().attr(999, (b) => b.raw(...big.subarray(0, 60000))).build()])), ack(r)])
    const sock = NetlinkSocket.fromTransport(k)
    const lens = sock.requestSync({ type: 18, flags: 0, body: () => undefined }, (m) => m.end - m.off)
    assert.equal(lens[0], 16 + 8 + 4 + 60000)
  })

  it('keeps an offloaded request\'s ACK that a synchronous request read while the worker sent (no wait for the receive timeout)', async () => {
    // a veth deletion offloaded to a worker while another pod's setup sends requests on the same socket
    const k = kernel((r) => [ack(r)])
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => { release = r })
    const transport = Object.assign(Object.create(k) as FakeKernel, {
      sendAsync: async (bytes: Buffer) => { k.send(bytes); await gate },
    })
    const sock = NetlinkSocket.fromTransport(transport)
    const offloaded = sock.request({ type: 17, flags: 0, body: (w) => encodeMessageBody(SCHEMA, {}, { ifname: 'old' }, w) }, undefined, { offload: true })
    while (k.requests.length < 1) await new Promise((r) => setImmediate(r))
    // the kernel has answered the offloaded request; this one reads that ACK before its own
    assert.deepEqual(sock.requestSync({ type: 16, flags: 0, body: (w) => encodeMessageBody(SCHEMA, {}, { ifname: 'new' }, w) }), [])
    release()
    assert.deepEqual(await offloaded, [])
    assert.equal(k.requests.length, 2)
  })

  it('says when the kernel never answers (receive timeout)', () => {
    const k = kernel(() => [])
    assert.throws(() => NetlinkSocket.fromTransport(k).requestSync({ type: 16, flags: 0, body: () => undefined }), /no answer from the kernel/)
  })
})
