/**
 * Transactions through a fake kernel: batch framing, one datagram per commit, errors tied to
 * the failing command by seq (with the kernel's ext-ack message and the attribute it points
 * at), echoed rule handles, and the transaction's bookkeeping (set ids, element encoding).
 */
import assert from 'node:assert/strict'
import { NetlinkError, PodnetError } from '../../../../src/errors.js'
import { decodeMessageBody } from '../../../../src/netlink/core/schema.js'
import { Nft, NftTransactionError, accept, drop, masquerade, matchAddrInSet } from '../../../../src/netlink/nftables/index.js'
import { ruleFromValues } from '../../../../src/netlink/nftables/rule.js'
import { NEWRULE } from '../../../../src/netlink/nftables/schema/rule.js'
import { nfgenmsg } from '../../../../src/netlink/nftables/schema/nfgen.js'
import { NftKernel, splitMessages } from './fake-kernel.js'

const ip = { family: 'ip', table: 'podnet' } as const

function setup(): { kernel: NftKernel; nft: Nft } {
  const kernel = new NftKernel()
  return { kernel, nft: Nft.open({ transport: kernel }) }
}

describe('nftables transactions', () => {
  it('nfgenmsg is 4 bytes', () => {
    assert.equal(nfgenmsg.size, 4)
  })

  it('frames the commands between BATCH_BEGIN and BATCH_END in one datagram', () => {
    const { kernel, nft } = setup()
    nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c' })
      .addRule({ ...ip, chain: 'c', exprs: accept() })
      .commitSync()
    assert.equal(kernel.sent.length, 1)
    const msgs = splitMessages(kernel.sent[0] as Buffer)
    assert.deepEqual(msgs.map((m) => m.type.toString(16)), ['10', 'a00', 'a03', 'a06', '11'])
    const [begin, table, chain, rule, end] = msgs
    assert.ok(begin && table && chain && rule && end)
    // markers: REQUEST only, nfgenmsg { AF_UNSPEC, NFNETLINK_V0, res_id = htons(NFNL_SUBSYS_NFTABLES) }
    for (const m of [begin, end]) {
      assert.equal(m.flags, 0x1)
      assert.equal(m.body.toString('hex'), '0000000a')
    }
    // commands: REQUEST|ACK (+CREATE for chains, +CREATE|APPEND|ECHO for rules); nfgenmsg family ip
    assert.equal(table.flags, 0x5)
    assert.equal(chain.flags, 0x405)
    assert.equal(rule.flags, 0xc0d)
    for (const m of [table, chain, rule]) assert.equal(m.body.subarray(0, 4).toString('hex'), '02000000')
    // sequence numbers increase through the batch
    const seqs = msgs.map((m) => m.seq)
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b))
    assert.equal(new Set(seqs).size, seqs.length)
  })

  it('pins the batch to a generation with NFNL_BATCH_GENID', () => {
    const { kernel, nft } = setup()
    nft.transaction({ genId: 0x01020304 }).addTable({ family: 'ip', name: 'podnet' }).commitSync()
    const [begin] = splitMessages(kernel.sent[0] as Buffer)
    assert.equal(begin?.body.toString('hex'), '0000000a' + '08000100' + '01020304')
  })

  it('insert, exclusive create and destroy set their flags', () => {
    const { kernel, nft } = setup()
    nft.transaction()
      .addTable({ family: 'ip', name: 'podnet', exclusive: true })
      .addChain({ ...ip, name: 'c', exclusive: true })
      .addRule({ ...ip, chain: 'c', exprs: accept(), insert: true })
      .destroyTable({ family: 'ip', name: 'podnet' })
      .commitSync()
    const msgs = splitMessages(kernel.sent[0] as Buffer).slice(1, -1)
    assert.deepEqual(msgs.map((m) => [m.type.toString(16), m.flags.toString(16)]), [['a00', '205'], ['a03', '605'], ['a06', '40d'], ['a1a', '5']])
  })

  it('returns the handles the kernel echoed, in addRule order', () => {
    const { kernel, nft } = setup()
    kernel.nextHandle = 7n
    const { rules } = nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addRule({ ...ip, chain: 'a', exprs: accept(), comment: 'first' })
      .addChain({ ...ip, name: 'b' })
      .addRule({ ...ip, chain: 'b', exprs: drop() })
      .commitSync()
    assert.deepEqual(rules, [
      { family: 'ip', table: 'podnet', chain: 'a', handle: 7n, comment: 'first' },
      { family: 'ip', table: 'podnet', chain: 'b', handle: 8n },
    ])
  })

  it('an empty transaction sends nothing', async () => {
    const { kernel, nft } = setup()
    assert.deepEqual(await nft.transaction().commit(), { rules: [] })
    assert.equal(kernel.sent.length, 0)
  })

  it('a transaction commits once', () => {
    const { nft } = setup()
    const tx = nft.transaction().addTable({ family: 'ip', name: 'podnet' })
    tx.commitSync()
    assert.throws(() => tx.commitSync(), /already committed/)
    assert.throws(() => tx.addTable({ family: 'ip', name: 'x' }), /already committed/)
  })

  it('names the failing command, its object, the errno and the kernel message', () => {
    const { kernel, nft } = setup()
    const tx = nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addRule({ ...ip, chain: 'postrouting', exprs: masquerade() })
    // offset 16 (nlmsghdr) + 4 (nfgenmsg) + 12 ("podnet" attribute) = NFTA_RULE_CHAIN
    kernel.inject = [{ index: 1, errno: 2, message: 'chain not found', offset: 32 }]
    assert.throws(() => tx.commitSync(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.ok(err instanceof NetlinkError)
      assert.equal(err.op, 'NFT_MSG_NEWRULE')
      assert.equal(err.object, 'table ip podnet chain postrouting')
      assert.equal(err.errno, 2)
      assert.equal(err.errnoName, 'ENOENT')
      assert.equal(err.extAck.message, 'chain not found')
      assert.equal(err.extAck.attrPath, 'chain')
      assert.equal(err.commandIndex, 1)
      assert.equal(err.message, 'table ip podnet chain postrouting: NFT_MSG_NEWRULE failed: ENOENT (No such file or directory): chain not found (at chain)')
      return true
    })
  })

  it('reports the first failing command and keeps the others in `errors`', () => {
    const { kernel, nft } = setup()
    const tx = nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c', type: 'nat', hook: 'forward' })
      .addRule({ ...ip, chain: 'c', exprs: accept() })
    kernel.inject = [{ index: 2, errno: 2 }, { index: 1, errno: 95 }]
    assert.throws(() => tx.commitSync(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.equal(err.op, 'NFT_MSG_NEWCHAIN')
      assert.equal(err.errnoName, 'EOPNOTSUPP')
      assert.deepEqual(err.errors.map((e) => e.op), ['NFT_MSG_NEWCHAIN', 'NFT_MSG_NEWRULE'])
      return true
    })
  })

  it('an error on the expressions names the expression', () => {
    const { kernel, nft } = setup()
    const tx = nft.transaction().addRule({ ...ip, chain: 'c', exprs: [...masquerade(), ...accept()] })
    // 16 + 4 + 12 (table) + 8 (chain "c") = expressions nest at 40; first element at 44, its data at 44+4+12
    kernel.inject = [{ index: 0, errno: 22, offset: 60 }]
    assert.throws(() => tx.commitSync(), (err: unknown) => {
      assert.ok(err instanceof NetlinkError)
      assert.equal(err.extAck.attrPath, 'expressions[0].data')
      return true
    })
  })

  it('a batch refused as a whole names the batch', () => {
    const { kernel, nft } = setup()
    const tx = nft.transaction().addTable({ family: 'ip', name: 'podnet' })
    kernel.inject = [{ index: -1, errno: 1 }]
    assert.throws(() => tx.commitSync(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.equal(err.op, 'NFNL_MSG_BATCH_BEGIN')
      assert.equal(err.errnoName, 'EPERM')
      assert.equal(err.commandIndex, -1)
      return true
    })
  })

  it('gives up when the kernel does not answer', () => {
    const silent = new NftKernel()
    silent.answering = false
    const nft = Nft.open({ transport: silent })
    assert.throws(() => nft.transaction().addTable({ family: 'ip', name: 'podnet' }).commitSync(), (err: unknown) =>
      err instanceof PodnetError && /no answer/.test(err.message))
  })

  it('lookups of a set created in the same transaction carry its id, others do not', () => {
    const { kernel, nft } = setup()
    nft.transaction()
      .addSet({ ...ip, name: 'a', keyType: 'ipv4_addr' })
      .addSet({ ...ip, name: 'b', keyType: 'ipv4_addr' })
      .addRule({ ...ip, chain: 'c', exprs: [...matchAddrInSet('saddr', 'b'), ...matchAddrInSet('daddr', 'elsewhere'), ...accept()] })
      .commitSync()
    const recorded = splitMessages(kernel.sent[0] as Buffer)
    assert.equal(recorded.length, 5)
    const body = recorded[3]?.body
    assert.ok(body)
    const m = decodeMessageBody(NEWRULE, body, 0, body.length)
    const lookups = ruleFromValues(2, m.attrs).exprs.filter((e) => e.kind === 'lookup')
    assert.deepEqual(lookups, [
      { kind: 'lookup', set: 'b', sreg: 1, setId: 2 },
      { kind: 'lookup', set: 'elsewhere', sreg: 1 },
    ])
  })

  it('encodes element values by the set type, and refuses to guess', () => {
    const { kernel, nft } = setup()
    nft.transaction()
      .addSet({ ...ip, name: 'p', keyType: 'inet_service', dataType: 'ipv4_addr' })
      .addElements({ ...ip, name: 'p', elements: [{ key: 8080, data: '10.88.0.2' }] })
      .commitSync()
    const elem = splitMessages(kernel.sent[0] as Buffer)[2]
    assert.ok(elem)
    // key {value 1f90}, data {value 0a580002}
    assert.ok(elem.body.toString('hex').includes('06000100' + '1f900000'))
    assert.ok(elem.body.toString('hex').includes('0c00028008000100' + '0a580002'))
    assert.throws(() => nft.transaction().addElements({ ...ip, name: 'other', elements: [{ key: 80 }] }), /give keyType/)
    assert.doesNotThrow(() => nft.transaction().addElements({ ...ip, name: 'other', elements: [{ key: Buffer.from([0, 80]) }] }))
  })

  it('checks chain specs before anything is sent', () => {
    const { nft } = setup()
    const tx = nft.transaction()
    assert.throws(() => tx.addChain({ ...ip, name: 'c', type: 'nat' }), /need a hook/)
    assert.throws(() => tx.addChain({ ...ip, name: 'c', hook: 'bogus' as never }), /unknown hook/)
    assert.throws(() => tx.addChain({ ...ip, name: 'c', hook: 'input', priority: 'bogus' as never }), /bad priority/)
    assert.throws(() => tx.addRule({ ...ip, chain: 'c', exprs: accept(), comment: 'x'.repeat(200) }), /at most 128/)
    assert.equal(tx.size, 0)
  })

  it('a closed handle refuses work', () => {
    const { kernel, nft } = setup()
    nft.close()
    assert.equal(kernel.closed, true)
    assert.throws(() => nft.transaction(), /closed/)
  })
})
