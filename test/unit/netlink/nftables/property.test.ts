/**
 * Properties (fast-check): every expression podnet can build survives encode -> decode, and
 * the decoders are total: random, truncated or corrupted bytes raise DecodeError, never
 * anything else (no RangeError, no TypeError).
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DecodeError } from '../../../../src/errors.js'
import { decodeAttrs, decodeMessageBody, encodeAttrs } from '../../../../src/netlink/core/schema.js'
import { Writer } from '../../../../src/netlink/core/writer.js'
import { decodeExpr, encodeExpr, type Expr } from '../../../../src/netlink/nftables/expr/index.js'
import { CT_KEYS } from '../../../../src/netlink/nftables/expr/ct.js'
import { META_KEYS } from '../../../../src/netlink/nftables/expr/meta.js'
import { decodeUdata, splitRuleUdata } from '../../../../src/netlink/nftables/userdata.js'
import { ruleFromValues } from '../../../../src/netlink/nftables/rule.js'
import { tableFromValues } from '../../../../src/netlink/nftables/table.js'
import { chainFromValues } from '../../../../src/netlink/nftables/chain.js'
import { setFromValues } from '../../../../src/netlink/nftables/set.js'
import { exprAttrs } from '../../../../src/netlink/nftables/schema/expr.js'
import { NEWCHAIN } from '../../../../src/netlink/nftables/schema/chain.js'
import { NEWRULE } from '../../../../src/netlink/nftables/schema/rule.js'
import { NEWSET, NEWSETELEM } from '../../../../src/netlink/nftables/schema/set.js'
import { NEWTABLE } from '../../../../src/netlink/nftables/schema/table.js'
import { fixtureCommands } from './fixtures.js'

const reg = fc.integer({ min: 0, max: 23 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b))
const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0'))

const exprArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.record({ kind: fc.constant('meta' as const), key: fc.constantFrom(...(Object.keys(META_KEYS) as Array<keyof typeof META_KEYS>)), dreg: reg }),
  fc.record({ kind: fc.constant('payload' as const), base: fc.constantFrom('ll' as const, 'network' as const, 'transport' as const, 'inner' as const), offset: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 1, max: 16 }), dreg: reg }),
  fc.record({ kind: fc.constant('cmp' as const), op: fc.constantFrom('eq' as const, 'neq' as const, 'lt' as const, 'lte' as const, 'gt' as const, 'gte' as const), sreg: reg, data: bytes(1, 16) }),
  fc.integer({ min: 1, max: 16 }).chain((len) => fc.record({ kind: fc.constant('bitwise' as const), sreg: reg, dreg: reg, len: fc.constant(len), mask: bytes(len, len), xor: bytes(len, len) })),
  fc.record({ kind: fc.constant('immediate' as const), dreg: fc.integer({ min: 1, max: 23 }), data: bytes(1, 16) }),
  fc.constantFrom('accept' as const, 'drop' as const, 'return' as const, 'continue' as const, 'break' as const).map((code): Expr => ({ kind: 'verdict', code })),
  fc.tuple(fc.constantFrom('jump' as const, 'goto' as const), name).map(([code, chain]): Expr => ({ kind: 'verdict', code, chain })),
  fc.record({ kind: fc.constant('ct' as const), key: fc.constantFrom(...(Object.keys(CT_KEYS) as Array<keyof typeof CT_KEYS>)), dreg: reg }, { requiredKeys: ['kind', 'key', 'dreg'] }),
  fc.record({ kind: fc.constant('fib' as const), flags: fc.subarray(['saddr', 'daddr', 'mark', 'iif', 'oif', 'present'] as const).map((f) => [...f]), result: fc.constantFrom('oif' as const, 'oifname' as const, 'addrtype' as const), dreg: reg }),
  fc.record({ kind: fc.constant('nat' as const), type: fc.constantFrom('snat' as const, 'dnat' as const), family: fc.constantFrom('ip' as const, 'ip6' as const), regAddrMin: reg, regAddrMax: reg, regProtoMin: reg, regProtoMax: reg, flags: u32 }, { requiredKeys: ['kind', 'type', 'family'] }),
  fc.record({ kind: fc.constant('masq' as const), flags: u32, regProtoMin: reg, regProtoMax: reg }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('redir' as const), flags: u32, regProtoMin: reg, regProtoMax: reg }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('counter' as const), bytes: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), packets: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('lookup' as const), set: name, sreg: reg, setId: u32, dreg: reg, invert: fc.constant(true) }, { requiredKeys: ['kind', 'set', 'sreg'] }),
)

function roundTrip(e: Expr): Expr {
  const w = new Writer(64)
  encodeAttrs(exprAttrs, encodeExpr(e), w)
  const b = w.toBuffer()
  return decodeExpr(decodeAttrs(exprAttrs, b, 0, b.length))
}

/** Decodes a command body (nfgenmsg + attributes) the way listing does, into podnet's objects. */
function decodeCommand(type: number, body: Buffer): unknown {
  switch (type & 0xff) {
    case 0: { const m = decodeMessageBody(NEWTABLE, body, 0, body.length); return tableFromValues(Number(m.header.family), m.attrs) }
    case 3: { const m = decodeMessageBody(NEWCHAIN, body, 0, body.length); return chainFromValues(Number(m.header.family), m.attrs) }
    case 9: { const m = decodeMessageBody(NEWSET, body, 0, body.length); return setFromValues(Number(m.header.family), m.attrs) }
    case 12: return decodeMessageBody(NEWSETELEM, body, 0, body.length)
    default: { const m = decodeMessageBody(NEWRULE, body, 0, body.length); return ruleFromValues(Number(m.header.family), m.attrs) }
  }
}

function onlyDecodeErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err
  }
}

const FIXTURE_BODIES = ['masquerade', 'dnat', 'filter', 'dnat6', 'set', 'delete'].flatMap((n) => fixtureCommands(n))

describe('nftables properties', () => {
  it('every expression survives encode -> decode', () => {
    // fc.record builds null-prototype objects: compare with a plain copy
    fc.assert(fc.property(exprArb, (e) => { assert.deepEqual(roundTrip(e), { ...e }) }), { numRuns: 2000 })
  })

  it('random bytes fed to the rule, table, chain and set decoders raise only DecodeError', () => {
    fc.assert(fc.property(fc.constantFrom(0, 3, 6, 9, 12), bytes(0, 300), (type, b) => {
      onlyDecodeErrors(() => decodeCommand(type, b))
    }), { numRuns: 3000 })
  })

  it('random bytes fed to the expression decoder raise only DecodeError', () => {
    fc.assert(fc.property(bytes(0, 200), (b) => {
      onlyDecodeErrors(() => decodeExpr(decodeAttrs(exprAttrs, b, 0, b.length)))
    }), { numRuns: 3000 })
  })

  it('truncated and corrupted nft batches raise only DecodeError', () => {
    const arb = fc.tuple(fc.constantFrom(...FIXTURE_BODIES), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
    fc.assert(fc.property(arb, ([m, cut, flips]) => {
      const b = Buffer.from(m.body.subarray(0, m.body.length ? cut % (m.body.length + 1) : 0))
      for (const [at, v] of flips) if (b.length) b[at % b.length] = v
      onlyDecodeErrors(() => decodeCommand(m.type, b))
    }), { numRuns: 3000 })
  })

  it('the captured bodies decode whole, without raw expressions', () => {
    for (const m of FIXTURE_BODIES) {
      const decoded = decodeCommand(m.type, m.body) as { exprs?: Expr[] }
      for (const e of decoded.exprs ?? []) assert.notEqual(e.kind, 'raw')
    }
  })

  it('userdata TLVs: random bytes raise only DecodeError', () => {
    fc.assert(fc.property(bytes(0, 64), (b) => {
      onlyDecodeErrors(() => decodeUdata(b))
      onlyDecodeErrors(() => splitRuleUdata(b))
    }), { numRuns: 1000 })
  })
})
