/** The rule builders: the bytecode nft generates for the same rule text, and input checks. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../../src/errors.js'
import { dnat, dnatToMap, goTo, jump, masquerade, matchCtState, matchDaddr, matchDport, matchL4proto, matchSaddr, matchSport, redirect, snat, type Expr } from '../../../../src/netlink/nftables/index.js'
import { concatRegister, loadConcat, ifnameBytes } from '../../../../src/netlink/nftables/builders.js'

const hex = (s: string): Buffer => Buffer.from(s, 'hex')

describe('nftables rule builders', () => {
  describe('address matches (as nft 1.0.6 --debug=netlink shows them)', () => {
    it('ip saddr 10.88.0.0/16: a 2-byte payload compare', () => {
      assert.deepEqual(matchSaddr('10.88.0.0/16'), [
        { kind: 'payload', base: 'network', offset: 12, len: 2, dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('0a58') },
      ])
    })
    it('ip saddr 10.0.0.0/20: full load, mask, compare', () => {
      assert.deepEqual(matchSaddr('10.0.0.0/20'), [
        { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
        { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hex('fffff000'), xor: hex('00000000') },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('0a000000') },
      ])
    })
    it('ip daddr 0.0.0.0/0 masks everything', () => {
      const [, bitwise, cmp] = matchDaddr('0.0.0.0/0')
      assert.deepEqual(bitwise, { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hex('00000000'), xor: hex('00000000') })
      assert.deepEqual(cmp, { kind: 'cmp', op: 'eq', sreg: 1, data: hex('00000000') })
    })
    it('ip saddr 1.2.3.4: the whole address', () => {
      assert.deepEqual(matchSaddr('1.2.3.4'), [
        { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('01020304') },
      ])
    })
    it('ip6 daddr fd00::/65 and ip6 saddr fd00::/64 != ', () => {
      assert.deepEqual(matchDaddr('fd00::/65'), [
        { kind: 'payload', base: 'network', offset: 24, len: 16, dreg: 1 },
        { kind: 'bitwise', sreg: 1, dreg: 1, len: 16, mask: hex('ffffffffffffffff8000000000000000'), xor: Buffer.alloc(16) },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('fd000000000000000000000000000000') },
      ])
      assert.deepEqual(matchSaddr('fd00::/64', { neq: true }), [
        { kind: 'payload', base: 'network', offset: 8, len: 8, dreg: 1 },
        { kind: 'cmp', op: 'neq', sreg: 1, data: hex('fd00000000000000') },
      ])
    })
    it('host bits are cleared', () => {
      assert.deepEqual(matchSaddr('10.88.1.7/16')[1], { kind: 'cmp', op: 'eq', sreg: 1, data: hex('0a58') })
    })
    it('inet tables check the layer-3 protocol first', () => {
      const [meta, cmp] = matchSaddr('10.0.0.0/8', { tableFamily: 'inet' })
      assert.deepEqual(meta, { kind: 'meta', key: 'nfproto', dreg: 1 })
      assert.deepEqual(cmp, { kind: 'cmp', op: 'eq', sreg: 1, data: hex('02') })
      assert.deepEqual(matchSaddr('fd00::/8', { tableFamily: 'inet' })[1], { kind: 'cmp', op: 'eq', sreg: 1, data: hex('0a') })
    })
    it('refuses what is not a CIDR', () => {
      for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'x', '10.0.0.0/8/1', '10.0.0.0/-1', '10.0.0.0/']) {
        assert.throws(() => matchSaddr(bad), InvalidArgumentError, bad)
      }
    })
  })

  describe('interfaces, protocols, ports', () => {
    it('interface names are 16 zero-padded bytes', () => {
      assert.deepEqual(ifnameBytes('eth0'), hex('65746830000000000000000000000000'))
      assert.equal(ifnameBytes('a23456789012345').length, 16)
      for (const bad of ['', 'a234567890123456', 'a\0b']) assert.throws(() => ifnameBytes(bad), InvalidArgumentError)
    })
    it('meta l4proto udp th dport 53', () => {
      assert.deepEqual(matchDport('udp', 53), [
        { kind: 'meta', key: 'l4proto', dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('11') },
        { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('0035') },
      ])
      assert.deepEqual(matchSport('tcp', 443)[2], { kind: 'payload', base: 'transport', offset: 0, len: 2, dreg: 1 })
      assert.deepEqual(matchL4proto(132)[1], { kind: 'cmp', op: 'eq', sreg: 1, data: hex('84') })
      assert.throws(() => matchDport('tcp', 70000), InvalidArgumentError)
      assert.throws(() => matchL4proto(256), InvalidArgumentError)
    })
  })

  describe('conntrack state', () => {
    it('bits in host order: invalid 1, established 2, related 4, new 8, untracked 64', () => {
      const mask = (states: Parameters<typeof matchCtState>[0]): Buffer => (matchCtState(states)[1] as Extract<Expr, { kind: 'bitwise' }>).mask
      assert.deepEqual(mask(['established', 'related']), hex('06000000'))
      assert.deepEqual(mask(['new']), hex('08000000'))
      assert.deepEqual(mask(['invalid', 'untracked']), hex('41000000'))
      assert.deepEqual(matchCtState(['new'])[2], { kind: 'cmp', op: 'neq', sreg: 1, data: hex('00000000') })
      assert.throws(() => matchCtState([]), InvalidArgumentError)
    })
  })

  describe('NAT', () => {
    it('masquerade random,persistent: flags 0xc', () => {
      assert.deepEqual(masquerade({ random: true, persistent: true }), [{ kind: 'masq', flags: 0xc }])
    })
    it('masquerade to :1000-2000: port registers and PROTO_SPECIFIED', () => {
      assert.deepEqual(masquerade({ ports: [1000, 2000] }), [
        { kind: 'immediate', dreg: 1, data: hex('03e8') },
        { kind: 'immediate', dreg: 2, data: hex('07d0') },
        { kind: 'masq', flags: 2, regProtoMin: 1, regProtoMax: 2 },
      ])
    })
    it('redirect to :8080', () => {
      assert.deepEqual(redirect(8080), [
        { kind: 'immediate', dreg: 1, data: hex('1f90') },
        { kind: 'redir', regProtoMin: 1, flags: 2 },
      ])
      assert.deepEqual(redirect(), [{ kind: 'redir' }])
    })
    it('dnat to 10.0.0.1 (no port): no flags', () => {
      assert.deepEqual(dnat('10.0.0.1'), [
        { kind: 'immediate', dreg: 1, data: hex('0a000001') },
        { kind: 'nat', type: 'dnat', family: 'ip', regAddrMin: 1 },
      ])
    })
    it('dnat to [fd00::2]:80 and snat to 192.0.2.1:1024', () => {
      assert.deepEqual(dnat('fd00::2', 80), [
        { kind: 'immediate', dreg: 1, data: hex('fd000000000000000000000000000002') },
        { kind: 'immediate', dreg: 2, data: hex('0050') },
        { kind: 'nat', type: 'dnat', family: 'ip6', regAddrMin: 1, regProtoMin: 2, flags: 2 },
      ])
      assert.equal((snat('192.0.2.1', 1024)[2] as Extract<Expr, { kind: 'nat' }>).type, 'snat')
      assert.throws(() => dnat('nope'), InvalidArgumentError)
    })
  })

  it('verdicts', () => {
    assert.deepEqual(jump('x'), [{ kind: 'verdict', code: 'jump', chain: 'x' }])
    assert.deepEqual(goTo('y'), [{ kind: 'verdict', code: 'goto', chain: 'y' }])
  })

  describe('concatenations and maps (register layout of nft 1.0.6)', () => {
    it('32-bit slots are named NFT_REG_n where a 16-byte register starts, NFT_REG32_xx elsewhere', () => {
      assert.deepEqual([0, 1, 2, 3, 4, 5, 8, 12, 15].map(concatRegister), [1, 9, 10, 11, 2, 13, 3, 4, 23])
      assert.throws(() => concatRegister(16), InvalidArgumentError)
    })
    it('ip daddr . meta l4proto . th dport loads into reg 1, 9, 10', () => {
      assert.deepEqual(loadConcat(['ip daddr', 'meta l4proto', 'th dport']), {
        slots: 3,
        exprs: [
          { kind: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 },
          { kind: 'meta', key: 'l4proto', dreg: 9 },
          { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 10 },
        ],
      })
    })
    it('ip6 daddr . meta l4proto . th dport loads into reg 1, 2, 13', () => {
      assert.deepEqual(loadConcat(['ip6 daddr', 'meta l4proto', 'th dport']).exprs.map((e) => (e as { dreg: number }).dreg), [1, 2, 13])
    })
    it('more than 64 bytes do not fit the registers', () => {
      assert.throws(() => loadConcat(['ip6 daddr', 'ip6 saddr', 'meta iifname', 'meta oifname', 'th dport']), /64/)
    })
    it('dnat ip to ... map: guard, key, lookup with dreg, nat with the port right after the address', () => {
      assert.deepEqual(dnatToMap(4, 'm4', ['meta l4proto', 'th dport'], { tableFamily: 'inet' }), [
        { kind: 'meta', key: 'nfproto', dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: hex('02') },
        { kind: 'meta', key: 'l4proto', dreg: 1 },
        { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 9 },
        { kind: 'lookup', set: 'm4', sreg: 1, dreg: 1 },
        { kind: 'nat', type: 'dnat', family: 'ip', regAddrMin: 1, regProtoMin: 9 },
      ])
      const v6 = dnatToMap(6, 'm6', ['ip6 daddr', 'meta l4proto', 'th dport'])
      assert.deepEqual(v6.at(-1), { kind: 'nat', type: 'dnat', family: 'ip6', regAddrMin: 1, regProtoMin: 2 })
      assert.equal(v6[0]?.kind, 'payload', 'no guard outside inet tables')
    })
    it('refuses a key field of the other family', () => {
      assert.throws(() => dnatToMap(6, 'm', ['ip daddr', 'th dport']), /not an IPv6 field/)
    })
  })
})
