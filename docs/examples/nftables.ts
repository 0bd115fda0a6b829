// podnet/nftables: one atomic transaction (table, nat chain, masquerade rule), read back, deleted.
import { Netns } from 'podnet'
import { Nft, counter, masquerade, matchOifname, matchSaddr } from 'podnet/nftables'

const ns = Netns.create('example-nft')
const nft = Nft.open({ netns: ns })
try {
  const t = { family: 'ip', table: 'example' } as const
  const { rules } = await nft.transaction()
    .addTable({ family: 'ip', name: 'example' })
    .addChain({ ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' })
    .addRule({ ...t, chain: 'postrouting', comment: 'pods out', exprs: [...matchSaddr('10.88.0.0/16'), ...matchOifname('br0', { neq: true }), ...counter(), ...masquerade()] })
    .commit()
  console.log('rule handle', rules[0]?.handle, 'comment', rules[0]?.comment)
  console.log('rules', (await nft.listRules(t)).map((r) => `${r.chain} #${r.handle} ${r.comment ?? ''}`))
  await nft.transaction().delTable({ family: 'ip', name: 'example' }).commit()
} finally {
  nft.close()
  ns.close()
  Netns.remove('example-nft')
}
