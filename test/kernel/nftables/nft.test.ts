/**
 * nf_tables through podnet against the real kernel, each test in its own network namespace,
 * with `nft` as the oracle: rulesets built by podnet and by `nft -f` must look the same to
 * `nft -j list ruleset` and to podnet's own listing.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { NetlinkError } from '../../../src/errors.js'
import {
  NftTransactionError, accept, counter, dnatToMap, drop, masquerade, matchDport, matchOifname, matchSaddr,
  type Expr, type Rule, type SetElement,
} from '../../../src/netlink/nftables/index.js'
import { fixturePath } from '../../unit/netlink/nftables/fixtures.js'
import { RULESETS } from '../../unit/netlink/nftables/rulesets.js'
import { createNftNetns, useNftNetns } from './nft-netns.js'

const ip = { family: 'ip', table: 'podnet' } as const

/** Drops what differs between two otherwise equal rulesets made in different namespaces: nothing but handles. */
function withoutHandles(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(withoutHandles)
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'handle').map(([k, v]) => [k, withoutHandles(v)]))
  }
  return x
}

const stripHandles = (rules: Rule[]): unknown[] => rules.map(({ handle: _h, ...r }) => r)

/**
 * What a kernel dump adds to what podnet sent: counter values, no set ids, and for nat the max
 * registers (= the min ones) with NF_NAT_RANGE_MAP_IPS (1) and _PROTO_SPECIFIED (2) set.
 */
function asDumped(exprs: readonly Expr[]): Expr[] {
  return exprs.map((e) => {
    if (e.kind === 'counter') return { kind: 'counter', bytes: 0n, packets: 0n }
    if (e.kind === 'nat' && e.regAddrMin !== undefined) {
      const out: Expr = { ...e, regAddrMax: e.regAddrMax ?? e.regAddrMin, flags: (e.flags ?? 0) | 1 | (e.regProtoMin !== undefined ? 2 : 0) }
      if (e.regProtoMin !== undefined) out.regProtoMax = e.regProtoMax ?? e.regProtoMin
      return out
    }
    if (e.kind === 'lookup') { const { setId: _s, ...rest } = e; return rest }
    return e
  })
}

describe('nftables in the kernel', function () {
  this.timeout(20000)
  const t = useNftNetns()

  for (const name of ['masquerade', 'dnat', 'filter', 'dnat6', 'set', 'portmap']) {
    it(`${name}: podnet's ruleset equals nft's (nft -j list ruleset and podnet's listing)`, async () => {
      const build = RULESETS[name]
      assert.ok(build)
      const ours = t()
      const theirs = createNftNetns()
      try {
        const tx = ours.nft.transaction()
        build(tx)
        const { rules } = await tx.commit()
        assert.ok(rules.every((r) => r.handle > 0n), 'every added rule has a handle')
        theirs.apply(readFileSync(fixturePath(`${name}.nft`), 'utf8'))
        assert.deepEqual(withoutHandles(ours.ruleset()), withoutHandles(theirs.ruleset()))
        // the reverse: what nft made, decoded by podnet, equals what podnet made
        const family = name === 'dnat6' ? 'ip6' : name === 'portmap' ? 'inet' : 'ip'
        const table = name === 'dnat6' ? 'podnet6' : 'podnet'
        const mine = await ours.nft.listRules({ family, table })
        const nfts = await theirs.nft.listRules({ family, table })
        assert.deepEqual(stripHandles(nfts), stripHandles(mine))
        assert.ok(nfts.every((r) => r.exprs.every((e) => e.kind !== 'raw')), 'every expression decoded to its typed form')
        assert.deepEqual(mine.map((r) => r.handle), rules.map((r) => r.handle), 'commit() reported the kernel handles')
      } finally {
        theirs.close()
      }
    })
  }

  it('decodes rules made by nft into the expressions the builders make', async () => {
    t().apply(readFileSync(fixturePath('masquerade.nft'), 'utf8'))
    const [rule] = await t().nft.listRules({ ...ip, chain: 'postrouting' })
    assert.ok(rule)
    assert.equal(rule.comment, 'pn-masq')
    assert.deepEqual(rule.exprs, asDumped([...matchSaddr('10.88.0.0/16'), ...matchOifname('pnbr0', { neq: true }), ...masquerade()]))
  })

  it('lists tables, chains, sets and elements', async () => {
    const tx = t().nft.transaction()
    const build = RULESETS.set
    assert.ok(build)
    build(tx)
    await tx.commit()
    const tables = await t().nft.listTables()
    assert.deepEqual(tables.map((x) => [x.family, x.name]), [['ip', 'podnet']])
    assert.deepEqual((await t().nft.listTables('ip6')), [])
    const chains = await t().nft.listChains(ip)
    assert.deepEqual(chains.map(({ handle: _h, use: _u, ...c }) => c), [
      { family: 'ip', table: 'podnet', name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'accept', flags: 1 },
    ])
    const sets = await t().nft.listSets(ip)
    assert.deepEqual(sets.map((s) => [s.name, s.keyType, s.keyLen]), [['allowed', 'ipv4_addr', 4], ['webports', 'inet_service', 2]])
    const elements = await t().nft.listElements({ ...ip, name: 'allowed' })
    assert.deepEqual(elements.map((e) => e.key).sort(), ['10.88.0.5', '10.88.0.6'])
    const ports = await t().nft.listElements({ ...ip, name: 'webports' })
    assert.deepEqual(ports.map((e) => e.key).sort(), [443, 80])
    // and nft prints them the same way
    const set = t().ruleset().find((o) => o.set?.name === 'webports')
    assert.deepEqual(set.set.elem, [80, 443])
  })

  it('maps with concatenated keys: what podnet reads back equals what nft -j shows (comments, counters), and delete by key', async () => {
    const inet = { family: 'inet', table: 'podnet' } as const
    const build = RULESETS.portmap
    assert.ok(build)
    const tx = t().nft.transaction()
    build(tx)
    await tx.commit()
    const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp' }
    /** podnet's element in nft -j's shape: concat values, protocols by name, comment and counter. */
    const asNftJson = (e: SetElement): unknown => {
      const conv = (v: unknown): unknown => (Array.isArray(v) ? { concat: v.map((x, i) => (i === v.length - 2 && typeof x === 'number' && v.length > 2) || (v.length === 2 && i === 0 && typeof x === 'number' && !String(v[1]).includes('.')) ? PROTO[x] ?? x : x) } : v)
      const elem: Record<string, unknown> = { val: conv(e.key) }
      if (e.comment !== undefined) elem.comment = e.comment
      if (e.counter) elem.counter = { packets: Number(e.counter.packets), bytes: Number(e.counter.bytes) }
      return [{ elem }, conv(e.data)]
    }
    for (const name of ['hostip-ports4', 'hostports4', 'hostip-ports6', 'hostports6']) {
      const set = await t().nft.getSet({ ...inet, name })
      const json = t().ruleset().find((o) => o.map?.name === name).map
      assert.deepEqual(set.keyType, json.type, `${name}: key type`)
      assert.equal((set.dataType as string[]).join(' . '), json.map, `${name}: data type`)
      assert.deepEqual(set.exprs?.map((x) => x.kind), ['counter'], `${name}: a counter per element`)
      const mine = (await t().nft.listElements({ ...inet, name })).map(asNftJson)
      const key = (x: unknown): string => JSON.stringify(x)
      assert.deepEqual(mine.map(key).sort(), json.elem.map(key).sort(), `${name}: elements`)
    }
    await t().nft.transaction()
      .delElements({ ...inet, name: 'hostports4', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [17, 5353] }] })
      .delElements({ ...inet, name: 'hostip-ports6', keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], elements: [{ key: ['fd00::1', 6, 8080] }] })
      .commit()
    assert.deepEqual((await t().nft.listElements({ ...inet, name: 'hostports4' })).map((e) => e.key), [[6, 8443]])
    assert.deepEqual(await t().nft.listElements({ ...inet, name: 'hostip-ports6' }), [])
    // deleting what is not there: ENOENT with delete, nothing with destroy
    await assert.rejects(t().nft.transaction().delElements({ ...inet, name: 'hostports4', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [17, 5353] }] }).commit(), /ENOENT/)
    await t().nft.transaction().destroyElements({ ...inet, name: 'hostports4', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [17, 5353] }] }).commit()
  })

  it('a map made by nft -f (portmap.nft) and its rules decode to what the builders make', async () => {
    t().apply(readFileSync(fixturePath('portmap.nft'), 'utf8'))
    const rules = await t().nft.listRules({ family: 'inet', table: 'podnet', chain: 'hostports' })
    assert.deepEqual(rules.map((r) => r.exprs), [
      dnatToMap(4, 'hostip-ports4', ['ip daddr', 'meta l4proto', 'th dport'], { tableFamily: 'inet' }),
      dnatToMap(4, 'hostports4', ['meta l4proto', 'th dport'], { tableFamily: 'inet' }),
      dnatToMap(6, 'hostip-ports6', ['ip6 daddr', 'meta l4proto', 'th dport'], { tableFamily: 'inet' }),
      dnatToMap(6, 'hostports6', ['meta l4proto', 'th dport'], { tableFamily: 'inet' }),
    ].map((x) => asDumped(x)))
    const els = await t().nft.listElements({ family: 'inet', table: 'podnet', name: 'hostip-ports4' })
    assert.deepEqual(els, [{ key: ['10.209.0.1', 6, 8080], data: ['10.88.0.2', 80], comment: 'podnet net=web id=pod1 if=eth0', counter: { packets: 0n, bytes: 0n } }])
  })

  it('adds elements to an existing set and deletes them', async () => {
    await t().nft.transaction().addTable({ family: 'ip', name: 'podnet' }).addSet({ ...ip, name: 'ports', keyType: 'inet_service' }).commit()
    await t().nft.transaction().addElements({ ...ip, name: 'ports', keyType: 'inet_service', elements: [{ key: 8080 }, { key: 8443 }] }).commit()
    assert.deepEqual((await t().nft.listElements({ ...ip, name: 'ports' })).map((e) => e.key).sort(), [8080, 8443])
    await t().nft.transaction().delElements({ ...ip, name: 'ports', keyType: 'inet_service', elements: [{ key: 8080 }] }).commit()
    assert.deepEqual((await t().nft.listElements({ ...ip, name: 'ports' })).map((e) => e.key), [8443])
  })

  it('deletes a rule by its handle, leaving the others', async () => {
    const { rules } = await t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'fwd', type: 'filter', hook: 'forward', priority: 0 })
      .addRule({ ...ip, chain: 'fwd', exprs: [...matchDport('tcp', 1), ...accept()], comment: 'one' })
      .addRule({ ...ip, chain: 'fwd', exprs: [...matchDport('tcp', 2), ...accept()], comment: 'two' })
      .addRule({ ...ip, chain: 'fwd', exprs: [...matchDport('tcp', 3), ...accept()], comment: 'three' })
      .commit()
    const two = rules[1]
    assert.ok(two)
    assert.equal(two.comment, 'two')
    await t().nft.transaction().delRule(two).commit()
    const left = await t().nft.listRules({ ...ip, chain: 'fwd' })
    assert.deepEqual(left.map((r) => r.comment), ['one', 'three'])
    assert.deepEqual(left.map((r) => r.handle), [rules[0]?.handle, rules[2]?.handle])
    const json = t().ruleset().filter((o) => o.rule).map((o) => o.rule.comment)
    assert.deepEqual(json, ['one', 'three'])
  })

  it('inserts at the front and after a position', async () => {
    const { rules } = await t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c' })
      .addRule({ ...ip, chain: 'c', exprs: counter(), comment: 'a' })
      .addRule({ ...ip, chain: 'c', exprs: counter(), comment: 'c' })
      .commit()
    await t().nft.transaction()
      .addRule({ ...ip, chain: 'c', exprs: counter(), comment: 'first', insert: true })
      .addRule({ ...ip, chain: 'c', exprs: counter(), comment: 'b', position: rules[0]?.handle as bigint })
      .commit()
    assert.deepEqual((await t().nft.listRules({ ...ip, chain: 'c' })).map((r) => r.comment), ['first', 'a', 'b', 'c'])
  })

  it('a batch with one failing command changes nothing, and the error names the command', async () => {
    const before = t().ruleset()
    const tx = t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' })
      .addRule({ ...ip, chain: 'postrouting', exprs: masquerade() })
      .addRule({ ...ip, chain: 'nope', exprs: drop() })
    await assert.rejects(tx.commit(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.ok(err instanceof NetlinkError)
      assert.equal(err.code, 'ERR_PODNET_NFT_TRANSACTION')
      assert.equal(err.op, 'NFT_MSG_NEWRULE')
      assert.equal(err.object, 'table ip podnet chain nope')
      assert.equal(err.errnoName, 'ENOENT')
      assert.equal(err.commandIndex, 3)
      assert.equal(err.extAck.attrPath, 'chain', 'the ext-ack offset points at NFTA_RULE_CHAIN')
      assert.match(err.message, /^table ip podnet chain nope: NFT_MSG_NEWRULE failed: ENOENT \(No such file or directory\)/)
      return true
    })
    assert.deepEqual(t().ruleset(), before)
    assert.deepEqual(await t().nft.listTables(), [])
  })

  it('reports the kernel ext-ack message of a refused command', async () => {
    // a nat chain cannot hook forward in the ip family
    const tx = t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'bad', type: 'nat', hook: 'forward', priority: 0 })
    await assert.rejects(tx.commit(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.equal(err.op, 'NFT_MSG_NEWCHAIN')
      assert.equal(err.object, 'table ip podnet chain bad')
      assert.equal(err.errnoName, 'EOPNOTSUPP')
      return true
    })
    assert.deepEqual(await t().nft.listTables(), [])
  })

  it('points at the offending expression (ext-ack offset -> attribute path)', async () => {
    const tx = t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c' })
      .addRule({ ...ip, chain: 'c', exprs: [...counter(), { kind: 'verdict', code: 'jump', chain: 'missing' }] })
    await assert.rejects(tx.commit(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.equal(err.op, 'NFT_MSG_NEWRULE')
      assert.equal(err.errnoName, 'ENOENT')
      assert.equal(err.extAck.attrPath, 'expressions[1]')
      assert.match(err.message, /\(at expressions\[1\]\)$/)
      return true
    })
    const unknown = t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c' })
      .addRule({ ...ip, chain: 'c', exprs: [{ kind: 'raw', name: 'no-such-expression' }] })
    await assert.rejects(unknown.commit(), (err: unknown) => err instanceof NetlinkError && err.extAck.attrPath === 'expressions[0]')
  })

  it('never touches a table it did not create', async () => {
    t().apply('table ip foreign {\n chain input {\n  type filter hook input priority 0; policy accept;\n  counter comment "theirs"\n }\n}\n')
    const foreign = (): unknown => t().ruleset().filter((o) => (o.table ?? o.chain ?? o.rule)?.['table'] === 'foreign' || o.table?.name === 'foreign')
    const before = foreign()
    const { rules } = await t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'input', type: 'filter', hook: 'input', priority: 0 })
      .addRule({ ...ip, chain: 'input', exprs: counter() })
      .commit()
    await t().nft.transaction().delRule(rules[0] as never).commit()
    await t().nft.transaction().flushChain({ ...ip, name: 'input' }).flushTable({ family: 'ip', name: 'podnet' }).commit()
    assert.deepEqual(await t().nft.listRules({ ...ip }), [])
    await t().nft.transaction().delTable({ family: 'ip', name: 'podnet' }).commit()
    assert.deepEqual(foreign(), before)
    assert.deepEqual((await t().nft.listTables()).map((x) => x.name), ['foreign'])
    assert.equal((await t().nft.listRules({ family: 'ip', table: 'foreign' }))[0]?.comment, 'theirs')
  })

  it('destroy* succeeds when the object is already gone (kernel >= 6.3)', async () => {
    await t().nft.transaction()
      .destroyTable({ family: 'ip', name: 'podnet' })
      .commit()
    await t().nft.transaction()
      .addTable({ family: 'ip', name: 'podnet' })
      .addChain({ ...ip, name: 'c' })
      .commit()
    await t().nft.transaction()
      .destroyRule({ ...ip, chain: 'c', handle: 999n })
      .destroyChain({ ...ip, name: 'c' })
      .destroyChain({ ...ip, name: 'c' })
      .destroyTable({ family: 'ip', name: 'podnet' })
      .commit()
    assert.deepEqual(await t().nft.listTables(), [])
  })

  it('a transaction pinned to a generation fails once the ruleset changed', async () => {
    const gen = await t().nft.getGen()
    assert.ok(gen.id >= 0)
    t().run('add', 'table', 'ip', 'other')
    assert.ok((await t().nft.getGen()).id > gen.id)
    await assert.rejects(t().nft.transaction({ genId: gen.id }).addTable({ family: 'ip', name: 'podnet' }).commit(), (err: unknown) => {
      assert.ok(err instanceof NftTransactionError)
      assert.equal(err.op, 'NFNL_MSG_BATCH_BEGIN')
      assert.equal(err.errno, 85) // ERESTART (libuv has no name for it)
      assert.equal(err.commandIndex, -1)
      return true
    })
    const now = await t().nft.getGen()
    await t().nft.transaction({ genId: now.id }).addTable({ family: 'ip', name: 'podnet' }).commit()
    assert.deepEqual((await t().nft.listTables()).map((x) => x.name).sort(), ['other', 'podnet'])
  })

  it('keeps expressions it has no type for (raw) and rules survive a round trip', async () => {
    t().apply('table ip podnet {\n chain c {\n  limit rate 10/second log prefix "pn: " accept\n }\n}\n')
    const [rule] = await t().nft.listRules({ ...ip, chain: 'c' })
    assert.ok(rule)
    assert.deepEqual(rule.exprs.map((e) => e.kind), ['raw', 'raw', 'verdict'])
    assert.deepEqual(rule.exprs.map((e) => e.kind === 'raw' ? e.name : ''), ['limit', 'log', ''])
    // write the decoded rule back: nft sees the same rule twice
    await t().nft.transaction().addRule({ ...ip, chain: 'c', exprs: rule.exprs }).commit()
    const rules = t().ruleset().filter((o) => o.rule).map((o) => o.rule.expr)
    assert.equal(rules.length, 2)
    assert.deepEqual(rules[1], rules[0])
  })
})
