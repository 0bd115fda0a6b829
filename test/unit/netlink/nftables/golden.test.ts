/**
 * podnet's batches against `nft` 1.0.6's own bytes (test/fixtures/nft/*.hex, captured with
 * strace by capture.py from the .nft file next to each). Sequence numbers differ and podnet
 * asks for ACKs (and echoes of new rules), so each command is compared by type, flags without
 * ACK/ECHO, and body (nfgenmsg + attributes) byte for byte.
 */
import assert from 'node:assert/strict'
import { hexDiff } from '../../../../src/netlink/core/hexdump.js'
import { Nft, type NftTransaction } from '../../../../src/netlink/nftables/index.js'
import { NftKernel, splitMessages } from './fake-kernel.js'
import { fixtureCommands } from './fixtures.js'
import { RULESETS } from './rulesets.js'

const NLM_F_ACK = 0x4
const NLM_F_ECHO = 0x8

function podnetCommands(build: (tx: NftTransaction) => void): ReturnType<typeof splitMessages> {
  const kernel = new NftKernel()
  const nft = Nft.open({ transport: kernel })
  const tx = nft.transaction()
  build(tx)
  tx.commitSync()
  assert.equal(kernel.sent.length, 1, 'one transaction = one datagram')
  const msgs = splitMessages(kernel.sent[0] as Buffer)
  return msgs.filter((m) => m.type !== 0x10 && m.type !== 0x11)
}

function assertSameCommands(name: string, build: (tx: NftTransaction) => void): void {
  const expected = fixtureCommands(name)
  const actual = podnetCommands(build)
  assert.equal(actual.length, expected.length, `${name}: number of commands`)
  expected.forEach((e, i) => {
    const a = actual[i]
    assert.ok(a)
    assert.equal(a.type.toString(16), e.type.toString(16), `${name} #${i}: message type`)
    assert.equal((a.flags & ~(NLM_F_ACK | NLM_F_ECHO)).toString(16), e.flags.toString(16), `${name} #${i}: flags`)
    if (!a.body.equals(e.body)) {
      assert.fail(`${name} #${i} (type ${e.type.toString(16)}) body differs from nft's:\n${hexDiff(a.body, e.body)}`)
    }
  })
}

const DESCRIPTIONS: Record<string, string> = {
  masquerade: 'table, nat chain, `ip saddr 10.88.0.0/16 oifname != "pnbr0" masquerade comment "pn-masq"`',
  dnat: 'fib daddr type local jump, iifname + tcp dport + dnat to 10.88.0.2:80',
  filter: 'ct state, /12 prefix with counter, iifname/oifname with comment, return',
  dnat6: 'ip6 table, dnat to [fd00::2]:80, snat to [fd00::1] with a /64 prefix',
  set: 'ipv4_addr and inet_service sets with elements, and a rule looking both up',
  delete: 'rule at a position, delete rule by handle, flush chain, delete chain and table',
  portmap: 'maps with concatenated keys and values (v4, v6, with and without the host address), counter per element, element comments, dnat ip/ip6 to <key> map @m',
  'portmap-delete': 'delete map elements by concatenated key',
}

describe('nftables golden batches (nft 1.0.6)', () => {
  for (const [name, build] of Object.entries(RULESETS)) {
    it(`${name}: ${DESCRIPTIONS[name] ?? ''}`, () => assertSameCommands(name, build))
  }
})
