/**
 * podnet's builder calls for each captured ruleset in test/fixtures/nft/<name>.nft, shared by
 * the golden-bytes unit test and the kernel test that compares both with `nft -j list ruleset`.
 */
import {
  accept, counter, dnat, dnatToMap, drop, jump, masquerade, matchAddrInSet, matchCtState, matchDaddr, matchDport,
  matchDportInSet, matchFibDaddrLocal, matchIifname, matchOifname, matchSaddr, returnVerdict, snat,
  type NftTransaction,
} from '../../../../src/netlink/nftables/index.js'

const ip = { family: 'ip', table: 'podnet' } as const
const ip6 = { family: 'ip6', table: 'podnet6' } as const
const inet = { family: 'inet', table: 'podnet' } as const
const TCP = 6
const UDP = 17

export const RULESETS: Readonly<Record<string, (tx: NftTransaction) => void>> = {
  masquerade: (tx) => tx
    .addTable({ family: 'ip', name: 'podnet' })
    .addChain({ ...ip, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' })
    .addRule({
      ...ip, chain: 'postrouting', comment: 'pn-masq',
      exprs: [...matchSaddr('10.88.0.0/16'), ...matchOifname('pnbr0', { neq: true }), ...masquerade()],
    }),

  dnat: (tx) => tx
    .addTable({ family: 'ip', name: 'podnet' })
    .addChain({ ...ip, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' })
    .addChain({ ...ip, name: 'pn-dnat' })
    .addRule({ ...ip, chain: 'prerouting', exprs: [...matchFibDaddrLocal(), ...jump('pn-dnat')] })
    .addRule({ ...ip, chain: 'pn-dnat', exprs: [...matchIifname('eth0'), ...matchDport('tcp', 8080), ...dnat('10.88.0.2', 80)] }),

  filter: (tx) => tx
    .addTable({ family: 'ip', name: 'podnet' })
    .addChain({ ...ip, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop' })
    .addRule({ ...ip, chain: 'forward', exprs: [...matchCtState(['established', 'related']), ...accept()] })
    .addRule({ ...ip, chain: 'forward', exprs: [...matchDaddr('10.80.0.0/12'), ...counter(), ...drop()] })
    .addRule({
      ...ip, chain: 'forward', comment: 'pn-icc',
      exprs: [...matchIifname('pnbr0'), ...matchOifname('pnbr0', { neq: true }), ...accept()],
    })
    .addRule({ ...ip, chain: 'forward', exprs: returnVerdict() }),

  dnat6: (tx) => tx
    .addTable({ family: 'ip6', name: 'podnet6' })
    .addChain({ ...ip6, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' })
    .addChain({ ...ip6, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' })
    .addRule({ ...ip6, chain: 'prerouting', exprs: [...matchDport('tcp', 8080), ...dnat('fd00::2', 80)] })
    .addRule({
      ...ip6, chain: 'postrouting',
      exprs: [...matchSaddr('fd00::/64'), ...matchOifname('pnbr0', { neq: true }), ...snat('fd00::1')],
    }),

  set: (tx) => tx
    .addTable({ family: 'ip', name: 'podnet' })
    .addChain({ ...ip, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' })
    .addSet({ ...ip, name: 'allowed', keyType: 'ipv4_addr' })
    .addElements({ ...ip, name: 'allowed', elements: [{ key: '10.88.0.5' }, { key: '10.88.0.6' }] })
    .addSet({ ...ip, name: 'webports', keyType: 'inet_service' })
    .addElements({ ...ip, name: 'webports', elements: [{ key: 80 }, { key: 443 }] })
    .addRule({ ...ip, chain: 'input', exprs: [...matchAddrInSet('saddr', 'allowed'), ...matchDportInSet('tcp', 'webports'), ...accept()] }),

  /** Published ports as maps with concatenated keys and values, per-element counters and comments. */
  portmap: (tx) => tx
    .addTable({ family: 'inet', name: 'podnet' })
    .addChain({ ...inet, name: 'hostports' })
    .addSet({ ...inet, name: 'hostip-ports4', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'], exprs: counter() })
    .addSet({ ...inet, name: 'hostports4', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'], exprs: counter() })
    .addSet({ ...inet, name: 'hostip-ports6', keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'], exprs: counter() })
    .addSet({ ...inet, name: 'hostports6', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'], exprs: counter() })
    .addRule({ ...inet, chain: 'hostports', comment: 'podnet shared: IPv4 ports on one host address', exprs: dnatToMap(4, 'hostip-ports4', ['ip daddr', 'meta l4proto', 'th dport'], { tableFamily: 'inet' }) })
    .addRule({ ...inet, chain: 'hostports', comment: 'podnet shared: IPv4 ports', exprs: dnatToMap(4, 'hostports4', ['meta l4proto', 'th dport'], { tableFamily: 'inet' }) })
    .addRule({ ...inet, chain: 'hostports', comment: 'podnet shared: IPv6 ports on one host address', exprs: dnatToMap(6, 'hostip-ports6', ['ip6 daddr', 'meta l4proto', 'th dport'], { tableFamily: 'inet' }) })
    .addRule({ ...inet, chain: 'hostports', comment: 'podnet shared: IPv6 ports', exprs: dnatToMap(6, 'hostports6', ['meta l4proto', 'th dport'], { tableFamily: 'inet' }) })
    .addElements({ ...inet, name: 'hostip-ports4', elements: [{ key: ['10.209.0.1', TCP, 8080], data: ['10.88.0.2', 80], comment: 'podnet net=web id=pod1 if=eth0' }] })
    .addElements({ ...inet, name: 'hostports4', elements: [
      { key: [UDP, 5353], data: ['10.88.0.2', 53], comment: 'podnet net=web id=pod1 if=eth0' },
      { key: [TCP, 8443], data: ['10.88.0.3', 443] },
    ] })
    .addElements({ ...inet, name: 'hostip-ports6', elements: [{ key: ['fd00::1', TCP, 8080], data: ['fd88::2', 80] }] })
    .addElements({ ...inet, name: 'hostports6', elements: [{ key: [TCP, 8443], data: ['fd88::3', 443], comment: 'podnet net=web id=pod2 if=eth0' }] }),

  /** Needs the setup lines of portmap-delete.nft (the two maps and their elements): delete by key only. */
  'portmap-delete': (tx) => tx
    .delElements({ ...inet, name: 'hostip-ports4', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], elements: [{ key: ['10.209.0.1', TCP, 8080] }] })
    .delElements({ ...inet, name: 'hostports6', keyType: ['inet_proto', 'inet_service'], elements: [{ key: [UDP, 5353] }, { key: [TCP, 8443] }] }),

  /** Needs the setup lines of delete.nft (table, chain forward, one counter rule with handle 2). */
  delete: (tx) => tx
    .addRule({ ...ip, chain: 'forward', position: 2n, exprs: drop() })
    .delRule({ ...ip, chain: 'forward', handle: 2n })
    .flushChain({ ...ip, name: 'forward' })
    .delChain({ ...ip, name: 'forward' })
    .delTable({ family: 'ip', name: 'podnet' }),
}
