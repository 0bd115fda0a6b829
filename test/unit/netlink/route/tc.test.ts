/** tc handles, rates and the u32 selector: pure functions, no kernel. */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DecodeError, InvalidArgumentError } from '../../../../src/errors.js'
import { decodeMessageBody } from '../../../../src/netlink/core/index.js'
import { gnetStatsBasic, gnetStatsQueue, tcAttrs, tcHtbGlob, tcHtbOpt, tcMirred, tcTbfQopt, tcmsg } from '../../../../src/netlink/route/schema/tc.js'
import { formatTcHandle, parseTcHandle } from '../../../../src/netlink/route/index.js'
import { cellLog, xmitBytes, xmitTicks } from '../../../../src/netlink/route/tc-handle.js'
import { decodeU32Sel, encodeU32Sel, filterInfo } from '../../../../src/netlink/route/filter.js'
import { qdiscRequest, tbfOptions } from '../../../../src/netlink/route/qdisc.js'

describe('route/tc: structs', () => {
  it('have the C sizeof (gcc on linux/pkt_sched.h, rtnetlink.h, tc_mirred.h, gen_stats.h)', () => {
    assert.deepEqual(
      [tcmsg.size, tcTbfQopt.size, tcHtbOpt.size, tcHtbGlob.size, tcMirred.size, gnetStatsBasic.size, gnetStatsQueue.size],
      [20, 36, 44, 20, 28, 16, 20],
    )
  })
  it('random and truncated tc messages decode or fail with DecodeError only', () => {
    const schema = { name: 'RTM_NEWQDISC', header: tcmsg, attrs: tcAttrs }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const b = Buffer.from(bytes)
      try {
        decodeMessageBody(schema, b, 0, b.length)
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e))
      }
    }), { numRuns: 2000 })
  })
})

describe('route/tc: handles', () => {
  it('parses and formats as tc does', () => {
    const cases: Array<[string, number, string]> = [
      ['1:', 0x10000, '1:'], ['1:10', 0x10010, '1:10'], ['ffff:', 0xffff0000, 'ffff:'], [':5', 5, '0:5'],
      ['root', 0xffffffff, 'root'], ['ingress', 0xfffffff1, 'ffff:fff1'], ['egress', 0xfffffff3, 'ffff:fff3'], ['none', 0, 'none'],
    ]
    for (const [text, value, back] of cases) {
      assert.equal(parseTcHandle(text), value, text)
      assert.equal(formatTcHandle(value), back, text)
    }
  })
  it('round-trips every major:minor', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 0, max: 0xffff }), (maj, min) => {
      const h = ((maj << 16) >>> 0) + min
      return parseTcHandle(formatTcHandle(h)) === h
    }))
  })
  it('refuses what is not a handle, naming the field', () => {
    for (const bad of ['1', '1:2:3', 'x:', '12345:', '-1:']) assert.throws(() => parseTcHandle(bad, 'classid'), (e: unknown) => e instanceof InvalidArgumentError && /classid/.test((e as Error).message))
  })
})

describe('route/tc: rates and buffers', () => {
  it('computes psched ticks the way tc does (whole microseconds first)', () => {
    assert.equal(xmitTicks(1_250_000, 32768), 409593) // tc: 26214 us * 15.625
    assert.equal(xmitTicks(12_500_000, 1600), 2000)
    assert.equal(xmitTicks(5e9, 1605), 0) // tc clips the rate to 2^32-1 first
    assert.equal(xmitBytes(1_250_000, 409600), 32768)
    assert.equal(cellLog(), 3)
  })
  it('tbf: limit from latency as tc, rate64 only above 32 bits', () => {
    const o = tbfOptions({ rateBytesPerSec: 1_250_000, burstBytes: 32768, latencyMs: 25 })
    assert.equal((o.parms as any).limit, 64018)
    assert.equal(o.burst, 32768)
    assert.equal(o.rate64, undefined)
    assert.equal(tbfOptions({ rateBytesPerSec: 5e9, burstBytes: 1 << 20 }).rate64, 5_000_000_000n)
  })
  it('refuses zero, negative and oversized values with the field named', () => {
    assert.throws(() => tbfOptions({ rateBytesPerSec: 0, burstBytes: 1 }), /tbf rate/)
    assert.throws(() => tbfOptions({ rateBytesPerSec: 1, burstBytes: 2 ** 32 }), /tbf burst/)
    assert.throws(() => qdiscRequest({ dev: 'x', kind: 'ingress', handle: '1:' }, 1), /handle is ffff:/)
  })
  it('filter info: pref high, ethertype in network order low', () => {
    assert.equal(filterInfo(1, 'all'), 0x00010300)
    assert.equal(filterInfo(2, 'ip'), 0x00020008)
    assert.equal(filterInfo(0, 'ipv6'), 0x0000dd86)
  })
})

describe('route/tc: u32 selector', () => {
  it('round-trips keys', () => {
    fc.assert(fc.property(fc.array(fc.record({
      value: fc.integer({ min: 0, max: 0xffffffff }), mask: fc.integer({ min: 0, max: 0xffffffff }),
      offset: fc.integer({ min: -64, max: 64 }).map((x) => x * 4), offmask: fc.integer({ min: 0, max: 100 }),
    }), { maxLength: 8 }), fc.boolean(), (keys, terminal) => {
      const back = decodeU32Sel(encodeU32Sel(keys, terminal))
      assert.equal(back.terminal, terminal)
      assert.deepEqual(back.keys, keys.map((k) => ({ ...k, value: (k.value & k.mask) >>> 0 })))
    }))
  })
  it('truncated selectors are a DecodeError, never a RangeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try {
        decodeU32Sel(Buffer.from(bytes))
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e))
      }
    }))
  })
})
