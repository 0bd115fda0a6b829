/** Set values, set messages and userdata TLVs (rule comments, set byte orders). */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../../src/errors.js'
import {
  commentUdata, decodeSetValue, encodeSetValue, newSetValues, splitRuleUdata, type SetDataType, type SetValue,
} from '../../../../src/netlink/nftables/index.js'

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
})
