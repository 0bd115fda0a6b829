import assert from 'node:assert/strict'
import { parseDonePayload, parseErrorPayload } from '../../../../src/netlink/core/ack.js'
import { NLM_F_ACK_TLVS, NLM_F_CAPPED } from '../../../../src/netlink/core/header.js'
import { NetlinkError } from '../../../../src/errors.js'
import { Bytes } from '../../../support/bytes.js'

describe('netlink/core ack', () => {
  const echoedHeader = (b: Bytes): Bytes => b.u32(40).u16(16).u16(0x605).u32(7).u32(0)

  it('parses a capped NLMSG_ERROR with ext-ack message and offset', () => {
    const b = new Bytes().u32(-17 >>> 0)
    echoedHeader(b)
    b.attr(1, (x) => x.str('An interface with the same name exists')).attr(2, (x) => x.u32(36))
    const buf = b.build()
    const e = parseErrorPayload(buf, 0, buf.length, NLM_F_CAPPED | NLM_F_ACK_TLVS)
    assert.equal(e.errno, 17)
    assert.deepEqual(e.extAck, { message: 'An interface with the same name exists', offset: 36 })
  })

  it('skips the echoed payload when the error is not capped', () => {
    const b = new Bytes().u32(-22 >>> 0)
    echoedHeader(b)
    b.raw(...new Array(24).fill(0xee)) // echoed body: 40 - 16
    b.attr(1, (x) => x.str('bad'))
    const buf = b.build()
    assert.deepEqual(parseErrorPayload(buf, 0, buf.length, NLM_F_ACK_TLVS), { errno: 22, extAck: { message: 'bad' } })
  })

  it('reads no TLVs without NLM_F_ACK_TLVS and treats error 0 as an ACK', () => {
    const b = new Bytes().u32(0)
    echoedHeader(b)
    const buf = b.build()
    assert.deepEqual(parseErrorPayload(buf, 0, buf.length, NLM_F_CAPPED), { errno: 0, extAck: {} })
  })

  it('parses NLMSG_DONE with an error and TLVs right after it', () => {
    const buf = new Bytes().u32(-95 >>> 0).attr(1, (x) => x.str('no dump for you')).build()
    assert.deepEqual(parseDonePayload(buf, 0, buf.length, NLM_F_ACK_TLVS), { errno: 95, extAck: { message: 'no dump for you' } })
  })

  it('NetlinkError names the object, the errno and the kernel message', () => {
    const e = new NetlinkError('RTM_NEWLINK', 17, { message: 'exists', attrPath: 'ifname' }, "veth 'a'")
    assert.equal(e.message, "veth 'a': RTM_NEWLINK failed: EEXIST (File exists): exists (at ifname)")
    assert.equal(new NetlinkError('RTM_NEWLINK', 95).errnoName, 'EOPNOTSUPP')
  })
})
