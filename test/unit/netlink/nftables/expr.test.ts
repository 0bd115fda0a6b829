/**
 * Expressions: bytes of each codec against an independent naive builder, encode -> decode
 * round trips, the shapes the kernel dumps, and the raw fallback.
 */
import assert from 'node:assert/strict'
import { decodeAttrs, encodeAttrs } from '../../../../src/netlink/core/schema.js'
import { hexDiff } from '../../../../src/netlink/core/hexdump.js'
import { Writer } from '../../../../src/netlink/core/writer.js'
import { decodeExpr, encodeExpr, type Expr } from '../../../../src/netlink/nftables/expr/index.js'
import { exprAttrs } from '../../../../src/netlink/nftables/schema/expr.js'
import { Bytes } from '../../../support/bytes.js'

const N = 0x8000 // NLA_F_NESTED

/** The expr-attrs bytes podnet writes for one expression. */
function encode(e: Expr): Buffer {
  const w = new Writer(64)
  encodeAttrs(exprAttrs, encodeExpr(e), w)
  return w.toBuffer()
}

function decode(b: Buffer): Expr {
  return decodeExpr(decodeAttrs(exprAttrs, b, 0, b.length))
}

const be32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

/** Naive expected bytes: NFTA_EXPR_NAME, then NFTA_EXPR_DATA built by fn. */
function element(name: string, fn: (b: Bytes) => void): Buffer {
  return new Bytes().attr(1, (b) => b.str(name)).attr(2 | N, fn).build()
}
const u32attr = (b: Bytes, type: number, v: number): Bytes => b.attr(type, (x) => x.raw(...be32(v)))
const value = (b: Bytes, type: number, bytes: number[]): Bytes => b.attr(type | N, (x) => x.attr(1, (y) => y.raw(...bytes)))

function assertBytes(actual: Buffer, expected: Buffer): void {
  if (!actual.equals(expected)) assert.fail(`bytes differ:\n${hexDiff(actual, expected)}`)
}

const CASES: Array<[string, Expr, Buffer]> = [
  ['meta load oifname => reg 1', { kind: 'meta', key: 'oifname', dreg: 1 },
    element('meta', (b) => { u32attr(b, 2, 7); u32attr(b, 1, 1) })],
  ['meta set mark with reg 1', { kind: 'meta', key: 'mark', sreg: 1 },
    element('meta', (b) => { u32attr(b, 2, 3); u32attr(b, 3, 1) })],
  ['payload load 4b @ network header + 12 => reg 1', { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
    element('payload', (b) => { u32attr(b, 1, 1); u32attr(b, 2, 1); u32attr(b, 3, 12); u32attr(b, 4, 4) })],
  ['cmp neq reg 1 "pnbr0"', { kind: 'cmp', op: 'neq', sreg: 1, data: Buffer.from('pnbr0\0\0\0\0\0\0\0\0\0\0\0') },
    element('cmp', (b) => { u32attr(b, 1, 1); u32attr(b, 2, 1); value(b, 3, [...Buffer.from('pnbr0'), ...Array<number>(11).fill(0)]) })],
  ['bitwise reg 1 = (reg 1 & 0x06) ^ 0', { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: Buffer.from([6, 0, 0, 0]), xor: Buffer.alloc(4) },
    element('bitwise', (b) => { u32attr(b, 1, 1); u32attr(b, 2, 1); u32attr(b, 3, 4); value(b, 4, [6, 0, 0, 0]); value(b, 5, [0, 0, 0, 0]) })],
  ['immediate reg 1 10.88.0.2', { kind: 'immediate', dreg: 1, data: Buffer.from([10, 88, 0, 2]) },
    element('immediate', (b) => { u32attr(b, 1, 1); value(b, 2, [10, 88, 0, 2]) })],
  ['immediate reg 0 accept', { kind: 'verdict', code: 'accept' },
    element('immediate', (b) => { u32attr(b, 1, 0); b.attr(2 | N, (d) => d.attr(2 | N, (v) => u32attr(v, 1, 1))) })],
  ['immediate reg 0 jump -> pn-dnat', { kind: 'verdict', code: 'jump', chain: 'pn-dnat' },
    element('immediate', (b) => { u32attr(b, 1, 0); b.attr(2 | N, (d) => d.attr(2 | N, (v) => { u32attr(v, 1, 0xfffffffd); v.attr(2, (s) => s.str('pn-dnat')) })) })],
  ['immediate reg 0 return', { kind: 'verdict', code: 'return' },
    element('immediate', (b) => { u32attr(b, 1, 0); b.attr(2 | N, (d) => d.attr(2 | N, (v) => u32attr(v, 1, 0xfffffffb))) })],
  ['ct load state => reg 1', { kind: 'ct', key: 'state', dreg: 1 },
    element('ct', (b) => { u32attr(b, 2, 0); u32attr(b, 1, 1) })],
  ['ct original saddr', { kind: 'ct', key: 'src_ip', dreg: 1, direction: 'original' },
    element('ct', (b) => { u32attr(b, 2, 19); u32attr(b, 1, 1); b.attr(3, (x) => x.u8(0)) })],
  ['fib daddr type => reg 1', { kind: 'fib', flags: ['daddr'], result: 'addrtype', dreg: 1 },
    element('fib', (b) => { u32attr(b, 3, 2); u32attr(b, 2, 3); u32attr(b, 1, 1) })],
  ['nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2', { kind: 'nat', type: 'dnat', family: 'ip', regAddrMin: 1, regProtoMin: 2, flags: 2 },
    element('nat', (b) => { u32attr(b, 1, 1); u32attr(b, 2, 2); u32attr(b, 3, 1); u32attr(b, 5, 2); u32attr(b, 7, 2) })],
  ['nat snat ip6 addr_min reg 1', { kind: 'nat', type: 'snat', family: 'ip6', regAddrMin: 1 },
    element('nat', (b) => { u32attr(b, 1, 0); u32attr(b, 2, 10); u32attr(b, 3, 1) })],
  ['masq', { kind: 'masq' }, element('masq', () => undefined)],
  ['masq flags 0xc', { kind: 'masq', flags: 0xc }, element('masq', (b) => { u32attr(b, 1, 0xc) })],
  ['redir proto_min reg 1 flags 0x2', { kind: 'redir', regProtoMin: 1, flags: 2 },
    element('redir', (b) => { u32attr(b, 1, 1); u32attr(b, 3, 2) })],
  ['counter', { kind: 'counter' }, element('counter', () => undefined)],
  ['lookup reg 1 set allowed (id 1)', { kind: 'lookup', set: 'allowed', sreg: 1, setId: 1 },
    element('lookup', (b) => { u32attr(b, 2, 1); b.attr(1, (s) => s.str('allowed')); u32attr(b, 4, 1) })],
  ['lookup reg 1 set allowed inverted', { kind: 'lookup', set: 'allowed', sreg: 1, invert: true },
    element('lookup', (b) => { u32attr(b, 2, 1); b.attr(1, (s) => s.str('allowed')); u32attr(b, 5, 1) })],
]

describe('nftables expressions', () => {
  describe('encode (against a naive builder)', () => {
    for (const [name, e, expected] of CASES) it(name, () => assertBytes(encode(e), expected))
  })

  describe('decode(encode(e)) = e', () => {
    for (const [name, e] of CASES) it(name, () => assert.deepEqual(decode(encode(e)), e))
    it('counter with values', () => {
      const e: Expr = { kind: 'counter', bytes: 1234n, packets: 5n }
      assert.deepEqual(decode(encode(e)), e)
    })
    it('payload store with checksum fields', () => {
      const e: Expr = { kind: 'payload', base: 'transport', offset: 2, len: 2, sreg: 1, csumType: 1, csumOffset: 16, csumFlags: 1 }
      assert.deepEqual(decode(encode(e)), e)
    })
    it('numbers for keys podnet has no name for', () => {
      const e: Expr = { kind: 'meta', key: 200, dreg: 1 }
      assert.deepEqual(decode(encode(e)), e)
    })
  })

  describe('what the kernel dumps', () => {
    it('counter with packets, bytes and a pad attribute', () => {
      const b = element('counter', (x) => { x.attr(1, (y) => y.raw(0, 0, 0, 0, 0, 0, 0, 9)); x.attr(2, (y) => y.raw(0, 0, 0, 0, 0, 0, 0, 1)); x.attr(3, () => undefined) })
      assert.deepEqual(decode(b), { kind: 'counter', bytes: 9n, packets: 1n })
    })
    it('lookup with flags 0', () => {
      const b = element('lookup', (x) => { x.attr(1, (s) => s.str('allowed')); u32attr(x, 2, 1); u32attr(x, 5, 0) })
      assert.deepEqual(decode(b), { kind: 'lookup', set: 'allowed', sreg: 1 })
    })
    it('bitwise with op mask-xor', () => {
      const b = element('bitwise', (x) => { u32attr(x, 1, 1); u32attr(x, 2, 1); u32attr(x, 3, 4); u32attr(x, 6, 0); value(x, 4, [255, 240, 0, 0]); value(x, 5, [0, 0, 0, 0]) })
      assert.deepEqual(decode(b), { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: Buffer.from([255, 240, 0, 0]), xor: Buffer.alloc(4) })
    })
    it('payload store with checksum type none', () => {
      const b = element('payload', (x) => { u32attr(x, 5, 1); u32attr(x, 2, 2); u32attr(x, 3, 0); u32attr(x, 4, 2); u32attr(x, 6, 0); u32attr(x, 7, 0); u32attr(x, 8, 0) })
      assert.deepEqual(decode(b), { kind: 'payload', base: 'transport', offset: 0, len: 2, sreg: 1 })
    })
  })

  describe('raw fallback', () => {
    it('an unknown expression keeps its bytes and writes them back unchanged', () => {
      const b = element('log', (x) => { x.attr(2, (s) => s.str('pn: ')); u32attr(x, 1, 0) })
      const e = decode(b)
      assert.equal(e.kind, 'raw')
      assert.equal(e.kind === 'raw' && e.name, 'log')
      assertBytes(encode(e), b)
    })
    it('an element without data', () => {
      const b = new Bytes().attr(1, (x) => x.str('notrack')).build()
      assert.deepEqual(decode(b), { kind: 'raw', name: 'notrack' })
      assertBytes(encode(decode(b)), b)
    })
    it('a known expression with an attribute podnet does not know', () => {
      const b = element('meta', (x) => { u32attr(x, 2, 7); u32attr(x, 1, 1); u32attr(x, 9, 1) })
      const e = decode(b)
      assert.equal(e.kind, 'raw')
      assertBytes(encode(e), b)
    })
    it('a bitwise shift (not mask/xor)', () => {
      const b = element('bitwise', (x) => { u32attr(x, 1, 1); u32attr(x, 2, 1); u32attr(x, 3, 4); u32attr(x, 6, 1); value(x, 7, [0, 0, 0, 8]) })
      const e = decode(b)
      assert.equal(e.kind, 'raw')
      assertBytes(encode(e), b)
    })
    it('an unknown verdict code, a cmp op out of range, a fib flag podnet does not know', () => {
      const verdict = element('immediate', (b) => { u32attr(b, 1, 0); b.attr(2 | N, (d) => d.attr(2 | N, (v) => u32attr(v, 1, 77))) })
      const cmp = element('cmp', (b) => { u32attr(b, 1, 1); u32attr(b, 2, 9); value(b, 3, [1]) })
      const fib = element('fib', (b) => { u32attr(b, 3, 0x400); u32attr(b, 2, 3); u32attr(b, 1, 1) })
      for (const b of [verdict, cmp, fib]) assert.equal(decode(b).kind, 'raw')
    })
  })

  describe('validation', () => {
    it('jump and goto need a chain, other verdicts take none', () => {
      assert.throws(() => encode({ kind: 'verdict', code: 'jump' }), /needs a chain/)
      assert.throws(() => encode({ kind: 'verdict', code: 'accept', chain: 'x' }), /takes no chain/)
    })
    it('names must be known', () => {
      assert.throws(() => encode({ kind: 'meta', key: 'bogus' as never, dreg: 1 }), /unknown name 'bogus'/)
    })
  })
})
