/** Set values, set messages and userdata TLVs (rule comments, set byte orders). */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../../src/errors.js'
import { counter, type SetDataType, type SetValue } from '../../../../src/netlink/nftables/index.js'
import { commentUdata, splitRuleUdata } from '../../../../src/netlink/nftables/userdata.js'
import { decodeSetValue, elementFromValues, elementValues, encodeSetValue, newSetValues, setFromValues, setTypeId, setTypeLen, setTypeName } from '../../../../src/netlink/nftables/set.js'

describe('nftables sets and userdata', () => {
  it('a rule comment is { type 0, strlen + 1, "text\\0" }', () => {
    assert.equal(commentUdata('pn-masq').toString('hex'), '0008' + Buffer.from('pn-masq\0').toString('hex'))
    assert.deepEqual(splitRuleUdata(commentUdata('hello')), { comment: 'hello', rest: [] })
    assert.throws(() => commentUdata('x'.repeat(129)), InvalidArgumentError)
    assert.throws(() => commentUdata('a\0b'), InvalidArgumentError)
    assert.doesNotThrow(() => commentUdata('x'.repeat(128)))
  })

  it('keeps userdata TLVs other than the comment', () => {
    const udata = Buffer.concat([commentUdata('c'), Buffer.from([1, 2, 9, 9])])
    assert.deepEqual(splitRuleUdata(udata), { comment: 'c', rest: [{ type: 1, value: Buffer.from([9, 9]) }] })
  })

  const values: Array<[SetDataType, SetValue, string]> = [
    ['ipv4_addr', '10.88.0.5', '0a580005'],
    ['ipv6_addr', 'fd00::1', 'fd000000000000000000000000000001'],
    ['inet_service', 443, '01bb'],
    ['inet_proto', 17, '11'],
    ['ether_addr', '02:42:ac:11:00:02', '0242ac110002'],
    ['mark', 0x10, '10000000'],
    ['ifname', 'eth0', '65746830000000000000000000000000'],
  ]
  for (const [type, v, bytes] of values) {
    it(`${type} ${String(v)} <-> ${bytes}`, () => {
      assert.equal(encodeSetValue(type, v).toString('hex'), bytes)
      assert.deepEqual(decodeSetValue(type, Buffer.from(bytes, 'hex')), v)
    })
  }

  it('refuses values that do not fit the type', () => {
    assert.throws(() => encodeSetValue('ipv4_addr', 'fd00::1'), InvalidArgumentError)
    assert.throws(() => encodeSetValue('inet_service', 65536), InvalidArgumentError)
    assert.throws(() => encodeSetValue('ipv4_addr', Buffer.alloc(3)), InvalidArgumentError)
    assert.deepEqual(decodeSetValue('ipv4_addr', Buffer.alloc(3)), Buffer.alloc(3))
    assert.deepEqual(decodeSetValue(99, Buffer.from([1])), Buffer.from([1]))
  })

  it('a map writes the key and data types and the byte orders nft writes', () => {
    // from `add map ip podnet ports { type inet_service : ipv4_addr; }` (nft 1.0.6)
    const v = newSetValues({ family: 'ip', table: 'podnet', name: 'ports', keyType: 'inet_service', dataType: 'ipv4_addr' }, 2)
    assert.deepEqual(Object.keys(v), ['table', 'name', 'flags', 'keyType', 'keyLen', 'dataType', 'dataLen', 'id', 'userdata'])
    assert.deepEqual({ ...v, userdata: (v.userdata as Buffer).toString('hex') }, {
      table: 'podnet', name: 'ports', flags: 8, keyType: 13, keyLen: 2, dataType: 7, dataLen: 4, id: 2,
      userdata: '000402000000' + '010402000000' + '060400000000',
    })
  })

  describe('concatenations', () => {
    const key4 = ['ipv4_addr', 'inet_proto', 'inet_service'] as const
    const data4 = ['ipv4_addr', 'inet_service'] as const

    it('type ids are the fields 6 bits apart, lengths are padded to 4 per field (as nft computes them)', () => {
      assert.equal(setTypeId(key4), 0x730d)
      assert.equal(setTypeId(data4), 0x1cd)
      assert.equal(setTypeId(['ipv6_addr', 'inet_proto', 'inet_service']), 0x830d)
      assert.equal(setTypeId(['inet_proto', 'inet_service']), 0x30d)
      assert.deepEqual([setTypeLen(key4), setTypeLen(data4), setTypeLen(['ipv6_addr', 'inet_service'])], [12, 8, 20])
      assert.deepEqual(setTypeName(0x730d), ['ipv4_addr', 'inet_proto', 'inet_service'])
      assert.deepEqual(setTypeName(13), 'inet_service')
      assert.equal(setTypeName((7 << 6) | 60), (7 << 6) | 60, 'an unknown field keeps the number')
      assert.throws(() => setTypeId(['ipv6_addr', 'ipv6_addr', 'ipv6_addr', 'ipv6_addr', 'inet_service']), /64 bytes/)
    })

    it('values: one per field, each in network order and zero-padded to 4 bytes', () => {
      const b = encodeSetValue(key4, ['10.0.0.1', 6, 8080])
      assert.equal(b.toString('hex'), '0a000001' + '06000000' + '1f900000')
      assert.deepEqual(decodeSetValue(key4, b), ['10.0.0.1', 6, 8080])
      assert.equal(encodeSetValue(['ipv6_addr', 'inet_service'], ['fd88::2', 80]).toString('hex'), 'fd880000000000000000000000000002' + '00500000')
      assert.throws(() => encodeSetValue(key4, ['10.0.0.1', 6]), /takes 3 values/)
      assert.throws(() => encodeSetValue(key4, '10.0.0.1'), InvalidArgumentError)
      assert.throws(() => encodeSetValue('ipv4_addr', ['10.0.0.1']), InvalidArgumentError)
      assert.deepEqual(decodeSetValue(key4, Buffer.alloc(8)), Buffer.alloc(8), 'wrong length: raw bytes')
    })

    it('a concatenated map: byte orders 0, the typeof udata nft writes, and the counter as NFTA_SET_EXPR', () => {
      const v = newSetValues({ family: 'inet', table: 'podnet', name: 'm', keyType: key4, dataType: data4, exprs: counter() }, 1)
      assert.deepEqual(Object.keys(v), ['table', 'name', 'flags', 'keyType', 'keyLen', 'dataType', 'dataLen', 'id', 'userdata', 'expr'])
      assert.equal((v.userdata as Buffer).toString('hex'),
        '000400000000' + '010400000000' + '0308' + '00040d000000' + '0100' + '0408' + '00040d000000' + '0100' + '060400000000')
      assert.deepEqual(v.expr, { name: 'counter', data: {} })
      const back = setFromValues(1, { ...v, handle: 3n })
      assert.deepEqual([back.keyType, back.keyLen, back.dataType, back.dataLen, back.exprs], [[...key4], 12, [...data4], 8, [{ kind: 'counter' }]])
    })

    it('elements carry a comment; dumped ones a counter', () => {
      const el = elementValues({ key: [17, 5353], data: ['10.88.0.2', 53], comment: 'podnet x' }, ['inet_proto', 'inet_service'], data4, 'm')
      assert.equal((el.userdata as Buffer).toString('hex'), '0009' + Buffer.from('podnet x\0').toString('hex'))
      const dumped = { ...el, expr: { name: 'counter', data: { bytes: 120n, packets: 2n } } }
      assert.deepEqual(elementFromValues({ keyType: ['inet_proto', 'inet_service'], dataType: [...data4] }, dumped), {
        key: [17, 5353], data: ['10.88.0.2', 53], comment: 'podnet x', counter: { packets: 2n, bytes: 120n },
      })
    })
  })
})
