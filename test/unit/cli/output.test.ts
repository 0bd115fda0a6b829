/** The CLI's JSON text: bigints as numbers, Buffers as hex, everything else as JSON.stringify, and no global left changed. */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { jsonText, printJson, printJsonArray } from '../../../src/cli/output.js'

describe('cli/output jsonText', () => {
  it('writes bigints as numbers and Buffers (nested, in arrays) as hex', () => {
    const v = { a: 1n, b: Buffer.from([0xde, 0xad]), c: [{ d: 2n ** 40n, e: Buffer.alloc(0) }], f: 'x', g: null, h: undefined }
    assert.equal(jsonText(v), '{"a":1,"b":"dead","c":[{"d":1099511627776,"e":""}],"f":"x","g":null}')
    assert.equal(jsonText(5n), '5')
  })

  it('puts the prototypes back, also when stringify throws', () => {
    assert.equal(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON'), undefined)
    const bufferToJson = Object.getOwnPropertyDescriptor(Buffer.prototype, 'toJSON')
    jsonText({ a: 1n })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => jsonText(cyclic), TypeError)
    assert.equal(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON'), undefined)
    assert.deepEqual(Object.getOwnPropertyDescriptor(Buffer.prototype, 'toJSON'), bufferToJson)
    assert.throws(() => JSON.stringify({ a: 1n }), TypeError, 'bigints are unserializable again outside the call')
  })

  it('equals JSON.stringify of the value with its bigints and Buffers converted first, on any JSON value holding them', () => {
    // (a replacer cannot be the reference: JSON.stringify calls Buffer's own toJSON before it)
    const convert = (v: unknown): unknown => typeof v === 'bigint' ? Number(v) : Buffer.isBuffer(v) ? v.toString('hex')
      : Array.isArray(v) ? v.map(convert) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)])) : v
    const leaf = fc.oneof(fc.jsonValue(), fc.bigInt({ min: -(2n ** 50n), max: 2n ** 50n }), fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)))
    const value = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string(), tie('node'))) })).node
    fc.assert(fc.property(value, (v) => jsonText(v) === JSON.stringify(convert(v))))
  })

  it('printJsonArray prints the text printJson prints for the mapped array, written in pieces', () => {
    const capture = (): { out: NodeJS.WritableStream; text: () => string; writes: () => number } => {
      const parts: string[] = []
      return { out: { write: (s: string) => { parts.push(s); return true } } as unknown as NodeJS.WritableStream, text: () => parts.join(''), writes: () => parts.length }
    }
    for (const n of [0, 1, 3, 5000]) {
      const items = Array.from({ length: n }, (_, i) => ({ i, big: BigInt(i) * 3n, b: Buffer.from([i & 255]), s: 'x'.repeat(i % 40) }))
      const a = capture()
      const b = capture()
      printJsonArray(items, (x) => ({ ...x, f: () => 1, u: undefined }), a.out)
      printJson(items.map((x) => ({ ...x, f: () => 1, u: undefined })), b.out)
      assert.equal(a.text(), b.text(), `${n} items`)
      if (n === 5000) assert.ok(a.writes() > 1, 'a long list is written in several pieces')
    }
    assert.equal(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON'), undefined, 'no hook left behind')
  })
})
