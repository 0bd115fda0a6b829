/** One message in, one decision out: local answers, EDNS, truncation, FORMERR, NOTIMP, REFUSED, drops; random bytes never throw. */
import assert from 'node:assert/strict'
import * as dnsPacket from 'dns-packet'
import fc from 'fast-check'
import { Zone, answerQuery, errorReply, questionLength, parseUpstreams } from '../../../src/dns/index.js'

const zone = new Zone('net1', ['10.88.0.0/16'], [
  { names: ['web'], addresses: ['10.88.0.2/16'] },
  // 100 records under one alias: 1,600+ bytes of answers
  ...Array.from({ length: 100 }, (_, i) => ({ names: [`w${i}`, 'many'], addresses: [`10.88.1.${i + 1}/16`] })),
])

const query = (name: string, type: string, opts: { edns?: number; id?: number; flags?: number } = {}): Buffer => dnsPacket.encode({
  type: 'query', id: opts.id ?? 4242, flags: opts.flags ?? dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }],
  ...(opts.edns !== undefined && { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns } as unknown as dnsPacket.Answer] }),
})

function reply(d: ReturnType<typeof answerQuery>): dnsPacket.DecodedPacket & { rcode?: string } {
  assert.equal(d.action, 'reply')
  return dnsPacket.decode((d as { bytes: Buffer }).bytes) as dnsPacket.DecodedPacket & { rcode?: string }
}

describe('dns answer', () => {
  it('answers a local name authoritatively with TTL 5, the id and question echoed, RD copied, RA set', () => {
    const r = reply(answerQuery(query('Web.net1', 'A'), zone, 'udp'))
    assert.equal(r.id, 4242)
    assert.equal(r.rcode, 'NOERROR')
    assert.ok(r.flag_aa && r.flag_rd && r.flag_ra && !r.flag_tc)
    assert.deepEqual(r.questions, [{ name: 'Web.net1', type: 'A', class: 'IN' }])
    assert.deepEqual(r.answers?.map((a) => [a.name, a.type, (a as { ttl: number }).ttl, (a as { data: string }).data]), [['Web.net1', 'A', 5, '10.88.0.2']])
  })

  it('NXDOMAIN for an unknown name of the network; NODATA for AAAA of an IPv4-only name; forward for others', () => {
    assert.equal(reply(answerQuery(query('nope.net1', 'A'), zone, 'udp')).rcode, 'NXDOMAIN')
    const nodata = reply(answerQuery(query('web', 'AAAA'), zone, 'udp'))
    assert.equal(nodata.rcode, 'NOERROR')
    assert.deepEqual(nodata.answers, [])
    const f = answerQuery(query('example.com', 'A'), zone, 'udp')
    assert.equal(f.action, 'forward')
  })

  it('EDNS: an OPT record comes back; the client\'s size bounds UDP; too big -> TC and empty, TCP gets everything', () => {
    const classic = reply(answerQuery(query('many', 'A'), zone, 'udp'))
    assert.ok(classic.flag_tc, 'no EDNS: 512 bytes, 100 addresses do not fit')
    assert.deepEqual(classic.answers, [])
    const small = answerQuery(query('many', 'A', { edns: 1232 }), zone, 'udp')
    const r = reply(small)
    assert.ok(r.flag_tc)
    assert.equal(r.additionals?.[0]?.type, 'OPT', 'the OPT record is kept in a truncated answer')
    const big = reply(answerQuery(query('many', 'A', { edns: 4096 }), zone, 'udp'))
    assert.ok(!big.flag_tc)
    assert.equal(big.answers?.length, 100)
    const tcp = reply(answerQuery(query('many', 'A'), zone, 'tcp'))
    assert.ok(!tcp.flag_tc)
    assert.equal(tcp.answers?.length, 100)
    // asking for more than 4096 is honoured as 4096; less than 512 as 512
    assert.equal(reply(answerQuery(query('web', 'A', { edns: 100 }), zone, 'udp')).answers?.length, 1)
  })

  it('ANY gives both families of a local name', () => {
    const z = new Zone('n', ['10.0.0.0/8', 'fd00::/64'], [{ names: ['a'], addresses: ['10.0.0.2', 'fd00::2'] }])
    assert.deepEqual(reply(answerQuery(query('a', 'ANY'), z, 'udp')).answers?.map((a) => a.type), ['A', 'AAAA'])
  })

  it('malformed: short -> drop, a response -> drop, truncated/loop/too long -> FORMERR with the id, opcode -> NOTIMP, two questions -> FORMERR, class CH -> REFUSED', () => {
    assert.equal(answerQuery(Buffer.from([1, 2, 3]), zone, 'udp').action, 'drop')
    const resp = query('web', 'A')
    resp[2] = resp[2]! | 0x80
    assert.equal(answerQuery(resp, zone, 'udp').action, 'drop')
    const q = query('web.net1', 'A', { id: 777 })
    for (const bad of [
      q.subarray(0, q.length - 3), // truncated question
      Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), // label loop: a pointer to itself
      Buffer.concat([q.subarray(0, 12), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 97)])), Buffer.from([0, 0, 1, 0, 1])]), // 320 characters
    ]) {
      const r = reply(answerQuery(bad, zone, 'udp'))
      assert.equal(r.id, 777)
      assert.equal(r.rcode, 'FORMERR')
      assert.equal(r.type, 'response')
    }
    const op = query('web', 'A')
    op[2] = op[2]! | (2 << 3) // opcode STATUS
    assert.equal(reply(answerQuery(op, zone, 'udp')).rcode, 'NOTIMP')
    const two = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'a' }, { type: 'A', name: 'b' }] })
    assert.equal(reply(answerQuery(two, zone, 'udp')).rcode, 'FORMERR')
    const ch = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] })
    assert.equal(reply(answerQuery(ch, zone, 'udp')).rcode, 'REFUSED')
  })

  it('a header counting more records than a query has: FORMERR without decoding', () => {
    const q = query('web', 'A', { id: 5 })
    for (const [off, v] of [[4, 2], [4, 0], [6, 1], [8, 1], [10, 65535]] as const) {
      const b = Buffer.from(q)
      b.writeUInt16BE(v, off)
      const r = reply(answerQuery(b, zone, 'udp'))
      assert.equal(r.rcode, 'FORMERR', `count at ${off} = ${v}`)
      assert.equal(r.id, 5)
    }
  })

  it('errorReply: SERVFAIL keeps the question; a header-only FORMERR for what does not decode', () => {
    const r = dnsPacket.decode(errorReply(query('x.example', 'A', { id: 9 }), 'SERVFAIL')) as dnsPacket.DecodedPacket & { rcode: string }
    assert.equal(r.rcode, 'SERVFAIL')
    assert.equal(r.id, 9)
    assert.equal(r.questions?.[0]?.name, 'x.example')
    assert.equal(errorReply(Buffer.alloc(12, 0xff), 'FORMERR').length, 12)
  })

  it('random and truncated bytes never throw: a decision every time', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.uint8Array({ minLength: 12, maxLength: 600, size: 'max' })), fc.constantFrom<'udp' | 'tcp'>('udp', 'tcp'), (bytes, t) => {
      const d = answerQuery(Buffer.from(bytes), zone, t)
      assert.ok(['drop', 'reply', 'forward'].includes(d.action))
      if (d.action === 'reply') assert.ok(d.bytes.length >= 12 && (d.bytes[2]! & 0x80) !== 0, 'a reply is a response')
    }), { numRuns: 2000 })
    const q = query('web.net1', 'AAAA', { edns: 1232 })
    for (let n = 0; n <= q.length; n++) answerQuery(q.subarray(0, n), zone, 'udp')
  })

  it('questionLength: the first question\'s bytes, 0 when malformed', () => {
    const q = query('web.net1', 'A')
    assert.equal(questionLength(q), 1 + 3 + 1 + 4 + 1 + 4)
    assert.equal(questionLength(q.subarray(0, 15)), 0)
    assert.equal(questionLength(Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])])), 0)
  })

  it('upstreams from resolv.conf: loopback skipped, ADDR#PORT, junk ignored, IPv6 canonical', () => {
    assert.deepEqual(parseUpstreams('# x\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.209.0.2\nnameserver fd09:0::2#5353\nnameserver nope\nsearch a b\n'), [
      { host: '10.209.0.2', port: 53, family: 4 },
      { host: 'fd09::2', port: 5353, family: 6 },
    ])
  })
})
