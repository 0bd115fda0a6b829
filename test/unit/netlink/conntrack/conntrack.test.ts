/**
 * ctnetlink requests against bytes from the naive builder (test/support/bytes.ts), and decoding
 * of a dumped entry, through a fake socket. The same requests run against the kernel in
 * test/kernel/bridge (UDP published ports) and are compared there with real flows.
 */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../../src/errors.js'
import { Conntrack } from '../../../../src/netlink/conntrack/index.js'
import { Bytes } from '../../../support/bytes.js'
import { FakeKernel, ackFor } from '../../../support/fake-kernel.js'

const NESTED = 0x8000
const NLM_F_DUMP = 0x300
const NLMSG_DONE = 3

/** nfgenmsg{family, v0, res_id 0}. */
const nfgen = (family: number): Bytes => new Bytes().u8(family).u8(0).be16(0)

/**
 * The kernel's ctnetlink end: a dump request is answered with `dumpReply` (one message per entry)
 * and NLMSG_DONE, anything else with an ACK. `sent` lists what came in, decoded enough to check.
 */
class CtKernel extends FakeKernel {
  dumpReply: Buffer[] = []
  get sentRequests(): Array<{ type: number; flags: number; body: Buffer; dump: boolean }> {
    return this.requests.map((r) => ({ type: r.type, flags: r.flags, body: r.body, dump: (r.flags & NLM_F_DUMP) === NLM_F_DUMP }))
  }
  constructor() {
    super((msgs, k) => msgs.flatMap((m) => {
      if ((m.flags & NLM_F_DUMP) !== NLM_F_DUMP) return [ackFor(m, k.portId)]
      const entries = this.dumpReply.map((payload) => frame((1 << 8) | 0, 2, m.seq, k.portId, payload))
      return [...entries, frame(NLMSG_DONE, 2, m.seq, k.portId, Buffer.alloc(4))]
    }))
  }
}

function frame(type: number, flags: number, seq: number, pid: number, payload: Buffer): Buffer {
  return new Bytes().u32(16 + payload.length).u16(type).u16(flags).u32(seq).u32(pid).raw(...payload).pad().build()
}

/** CTA_TUPLE_* for an IPv4 UDP tuple (nested attributes, as the kernel writes them). */
function tuple4(b: Bytes, type: number, src: number[], dst: number[], sport: number, dport: number): void {
  b.attr(type | NESTED, (t) => t
    .attr(1 | NESTED, (ip) => ip.attr(1, (x) => x.raw(...src)).attr(2, (x) => x.raw(...dst)))
    .attr(2 | NESTED, (p) => p.attr(1, (x) => x.u8(17)).attr(2, (x) => x.be16(sport)).attr(3, (x) => x.be16(dport))))
}

describe('conntrack (ctnetlink)', () => {
  it('list: IPCTNL_MSG_CT_GET dump with the filter as an original tuple and CTA_FILTER flags (host order)', () => {
    const sock = new CtKernel()
    Conntrack.open({ transport: sock }).list({ family: 4, protocol: 17, dstPort: 5353, dst: '10.209.0.1' })
    const [req] = sock.sentRequests
    assert.ok(req?.dump)
    assert.equal(req.type, 0x0101, 'NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET')
    const expected = nfgen(2)
      .attr(1 | NESTED, (t) => t
        .attr(1 | NESTED, (ip) => ip.attr(2, (x) => x.raw(10, 209, 0, 1)))
        .attr(2 | NESTED, (p) => p.attr(1, (x) => x.u8(17)).attr(3, (x) => x.be16(5353))))
      .attr(25 | NESTED, (f) => f.attr(1, (x) => x.u32(0b101010))) // IP_DST | PROTO_NUM | PROTO_DST_PORT
      .build()
    assert.equal(req.body.toString('hex'), expected.toString('hex'))
  })

  it('decodes a dumped entry, filters again in user space, deletes by original tuple and CTA_ID', () => {
    const sock = new CtKernel()
    const entry = (dport: number, id: number): Buffer => {
      const b = nfgen(2)
      tuple4(b, 1, [10, 209, 0, 2], [10, 209, 0, 1], 40000, dport)
      tuple4(b, 2, [10, 88, 0, 2], [10, 209, 0, 2], 53, 40000)
      b.attr(3, (x) => x.raw(0, 0, 0, 0x2a)).attr(7, (x) => x.raw(0, 0, 0, 29)).attr(12, (x) => x.raw(0, 0, id >> 8, id & 0xff))
      return b.build()
    }
    sock.dumpReply = [entry(5353, 0x1234), entry(5354, 0x5678)] // an old kernel ignores the filter: the second must not match
    const ct = Conntrack.open({ transport: sock })
    const flows = ct.list({ family: 4, protocol: 17, dstPort: 5353 })
    assert.deepEqual(flows, [{
      family: 4,
      orig: { src: '10.209.0.2', dst: '10.209.0.1', protocol: 17, srcPort: 40000, dstPort: 5353 },
      reply: { src: '10.88.0.2', dst: '10.209.0.2', protocol: 17, srcPort: 53, dstPort: 40000 },
      status: 0x2a, id: 0x1234, timeoutSec: 29,
    }])
    const before = sock.requests.length
    assert.equal(ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5353 }, (f) => f.orig.dst === '10.209.0.1'), 1)
    const del = sock.sentRequests.slice(before).find((x) => !x.dump)
    assert.equal(del?.type, 0x0102, 'IPCTNL_MSG_CT_DELETE')
    const expected = nfgen(2)
    tuple4(expected, 1, [10, 209, 0, 2], [10, 209, 0, 1], 40000, 5353)
    expected.attr(12, (x) => x.raw(0, 0, 0x12, 0x34))
    assert.equal(del.body.toString('hex'), expected.build().toString('hex'))
    assert.equal(ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5353 }, () => false), 0, 'the predicate can spare flows')
  })

  it('IPv6 addresses use CTA_IP_V6_*; bad filters are refused before anything is sent', () => {
    const sock = new CtKernel()
    const ct = Conntrack.open({ transport: sock })
    ct.list({ family: 6, protocol: 17, dst: 'fd09::1' })
    const b = sock.sentRequests[0]?.body.toString('hex') ?? ''
    assert.ok(b.startsWith('0a000000'), 'nfgen family NFPROTO_IPV6')
    assert.ok(b.includes('14000400' + 'fd090000000000000000000000000001'), 'CTA_IP_V6_DST')
    assert.throws(() => ct.list({ family: 4, dst: 'fd09::1' }), InvalidArgumentError)
    assert.throws(() => ct.list({ family: 4, dstPort: 53 }), /needs the protocol/)
    assert.throws(() => ct.list({ family: 4, protocol: 17, dstPort: 70000 }), InvalidArgumentError)
  })
})
