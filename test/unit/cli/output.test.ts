/** The CLI's JSON text: bigints as numbers, Buffers as hex, everything else as JSON.stringify, and no global left changed. */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { jsonText } from '../../../src/cli/output.js'

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
})
