/**
 * podnet's builder calls for each captured ruleset in test/fixtures/nft/<name>.nft, shared by
 * the golden-bytes unit test and the kernel test that compares both with `nft -j list ruleset`.
 */
import {
  accept, counter, dnat, drop, jump, masquerade, matchAddrInSet, matchCtState, matchDaddr, matchDport,
  matchDportInSet, matchFibDaddrLocal, matchIifname, matchOifname, matchSaddr, returnVerdict, snat,
  type NftTransaction,
} from '../../../../src/netlink/nftables/index.js'

const ip = { family: 'ip', table: 'podnet' } as const
const ip6 = { family: 'ip6', table: 'podnet6' } as const

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

  /** Needs the setup lines of delete.nft (table, chain forward, one counter rule with handle 2). */
  delete: (tx) => tx
    .addRule({ ...ip, chain: 'forward', position: 2n, exprs: drop() })
    .delRule({ ...ip, chain: 'forward', handle: 2n })
    .flushChain({ ...ip, name: 'forward' })
    .delChain({ ...ip, name: 'forward' })
    .delTable({ family: 'ip', name: 'podnet' }),
}
