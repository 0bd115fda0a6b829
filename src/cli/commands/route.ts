/** podnet route add | replace | del | ls */
import type { Command } from 'commander'
import type { RouteSpec } from '../../netlink/route/index.js'
import { withRtnl, intArg, namer } from '../context.js'
import { ROUTE_COLUMNS, printJson, printTable, routeRow, routeToJson } from '../output.js'

export function registerRoute(program: Command): void {
  const route = program.command('route').description('routes')

  for (const verb of ['add', 'replace', 'del'] as const) {
    route.command(`${verb} <dst>`).description(`${verb} a route; DST is "default" or a CIDR`)
      .option('--via <gateway>', 'next hop')
      .option('--dev <ifname>', 'output interface')
      .option('--metric <n>', 'metric', intArg('--metric'))
      .option('--table <id>', 'routing table id', intArg('--table', 1, 0xffffffff))
      .option('-6', 'IPv6 (only needed for "default" without --via)')
      .option('-n, --netns <ns>', 'act in this named network namespace')
      .action(async (dst: string, o: { via?: string; dev?: string; metric?: number; table?: number; netns?: string; '6'?: boolean }) => {
        const spec: RouteSpec = { dst }
        if (o.via) spec.via = o.via
        if (o.dev) spec.dev = o.dev
        if (o.metric !== undefined) spec.metric = o.metric
        if (o.table !== undefined) spec.table = o.table
        if (o['6']) spec.family = 6
        await withRtnl(o.netns, (rt) => rt.route[verb](spec))
      })
  }

  route.command('ls').alias('list').description('list routes of the main table (IPv4 and IPv6)')
    .option('-n, --netns <ns>', 'act in this named network namespace')
    .option('-4', 'IPv4 only')
    .option('-6', 'IPv6 only')
    .option('--table <id>', 'table id, or "all"')
    .option('--json', 'JSON output (as `ip -j route show`)')
    .action(async (o: { netns?: string; json?: boolean; table?: string; '4'?: boolean; '6'?: boolean }) => {
      await withRtnl(o.netns, async (rt) => {
        const filter: { family?: 4 | 6; table?: number | 'all' } = {}
        if (o['4']) filter.family = 4
        if (o['6']) filter.family = 6
        if (o.table) filter.table = o.table === 'all' ? 'all' : intArg('--table', 0, 0xffffffff)(o.table)
        const routes = await rt.route.list(filter)
        const nameOf = namer(await rt.link.list())
        if (o.json) printJson(routes.map((r) => routeToJson(r, nameOf)))
        else printTable(routes.map((r) => routeRow(r, nameOf)), ROUTE_COLUMNS)
      })
    })
}
