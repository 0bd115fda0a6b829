/** podnet addr add | del | ls */
import type { Command } from 'commander'
import { withRtnl, namer } from '../context.js'
import { ADDR_COLUMNS, addrRow, addrsToJson, printJson, printTable } from '../output.js'

export function registerAddr(program: Command): void {
  const addr = program.command('addr').alias('address').description('IPv4 and IPv6 addresses')

  for (const verb of ['add', 'del'] as const) {
    addr.command(`${verb} <cidr>`).description(verb === 'add' ? 'add an address (e.g. 10.88.0.1/16)' : 'delete an address')
      .requiredOption('--dev <ifname>', 'interface')
      .option('-n, --netns <ns>', 'act in this named network namespace')
      .action(async (cidr: string, o: { dev: string; netns?: string }) => {
        await withRtnl(o.netns, (rt) => (verb === 'add' ? rt.addr.add({ cidr, dev: o.dev }) : rt.addr.del({ cidr, dev: o.dev })))
      })
  }

  addr.command('ls').alias('list').description('list addresses')
    .option('--dev <ifname>', 'only this interface')
    .option('-n, --netns <ns>', 'act in this named network namespace')
    .option('--json', 'JSON output (as `ip -j addr show`)')
    .action(async (o: { dev?: string; netns?: string; json?: boolean }) => {
      await withRtnl(o.netns, async (rt) => {
        const links = o.dev ? [await rt.link.get(o.dev)] : await rt.link.list()
        const addrs = await rt.addr.list(o.dev ? { dev: links[0]?.index ?? o.dev } : {})
        const nameOf = namer(links)
        if (o.json) printJson(addrsToJson(links, addrs, nameOf))
        else printTable(addrs.map((a) => addrRow(a, nameOf)), ADDR_COLUMNS)
      })
    })
}
