/** podnet dns status | records | start | stop: the DNS responder of a state directory (docs/dns.md). */
import type { Command } from 'commander'
import { printJson, printTable } from '../output.js'

interface Global { stateDir?: string; runDir?: string; json?: boolean }

function common(c: Command): Command {
  return c
    .option('--state-dir <dir>', 'persistent state (default $PODNET_STATE_DIR or /var/lib/podnet)')
    .option('--run-dir <dir>', 'volatile state (default $PODNET_RUN_DIR, <state-dir>/run or /run/podnet)')
    .option('--json', 'JSON output')
}

async function dirsOf(o: Global): Promise<{ stateDir?: string; runDir?: string }> {
  const { dirsFromEnv } = await import('../../state/dirs.js')
  return dirsFromEnv({ ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }) })
}

export function registerDns(program: Command): void {
  const dns = program.command('dns').description("the DNS responder: pods' names on networks with DNS, other names forwarded")

  common(dns.command('status').description('whether it runs: pid, upstreams, networks served and their counters'))
    .action(async (o: Global) => {
      const { freshDnsStatus } = await import('../../dns/service.js')
      const { rssBytes } = await import('../../runtime/proc.js')
      const st = await freshDnsStatus(await dirsOf(o))
      if (o.json) {
        printJson(st ? { running: true, ...st, rssBytes: rssBytes(st.pid) ?? null } : { running: false })
        return
      }
      if (!st) {
        process.stdout.write('not running\n')
        return
      }
      const rss = rssBytes(st.pid)
      process.stdout.write(`running: pid ${st.pid}${rss !== undefined ? `, RSS ${Math.round(rss / 1024)} kB` : ''}, since ${st.startedAt}\nupstreams: ${st.upstreams.join(', ') || 'none (forwarded names get SERVFAIL)'}\n\n`)
      printTable(st.networks.map((n) => ({
        name: n.name, listen: n.error !== undefined ? `not served: ${n.error}` : n.addresses.join(','), names: n.names,
        queries: n.counters.queries, local: n.counters.local, forwarded: n.counters.forwarded, refused: n.counters.refused, formerr: n.counters.formerr,
      })), [['name', 'NETWORK'], ['listen', 'LISTENS ON'], ['names', 'NAMES'], ['queries', 'QUERIES'], ['local', 'LOCAL'], ['forwarded', 'FORWARDED'], ['refused', 'REFUSED'], ['formerr', 'FORMERR']])
    })

  common(dns.command('records <network>').description("the names a network's responder answers, from the attachment records"))
    .action(async (network: string, o: Global) => {
      const [{ NetworkManager }, { NetworkRecords }] = await Promise.all([import('../../bridge/index.js'), import('../../dns/records.js')])
      const { bootIdFromEnv } = await import('../../state/boot.js')
      const bootId = bootIdFromEnv()
      const m = new NetworkManager({ ...await dirsOf(o), ...(bootId !== undefined && { bootId }) })
      try {
        const c = m.get(network)
        const zone = new NetworkRecords(m.state.attachmentsDir(network)).zone(c)
        // records of an earlier boot (a run dir on disk) name nobody: the first locked operation empties them
        const rows = !m.state.runIsCurrent() ? [] : zone.entries().map((e) => ({ name: e.name, fqdn: `${e.name}.${zone.domain}`, addresses: e.addresses }))
        if (o.json) printJson({ network, dns: c.dns === true, records: rows })
        else {
          if (!c.dns) process.stderr.write(`podnet: network ${network} has DNS off (created with --no-dns): nobody answers these names\n`)
          printTable(rows, [['name', 'NAME'], ['fqdn', 'FQDN'], ['addresses', 'ADDRESSES']])
        }
      } finally {
        m.close()
      }
    })

  common(dns.command('start').description('start it now (network create, attach and the pod supervisor do when needed)'))
    .action(async (o: Global) => {
      const [{ ensureDnsResponder }, { bootIdFromEnv }] = await Promise.all([import('../../dns/service.js'), import('../../state/boot.js')])
      const bootId = bootIdFromEnv()
      const st = await ensureDnsResponder(await dirsOf(o), { ...(bootId !== undefined && { bootId }) })
      if (o.json) printJson(st)
      else process.stdout.write(`running: pid ${st.pid}\n`)
    })

  common(dns.command('stop').description('stop it (it also exits by itself 10 s after the last network with DNS is gone)'))
    .action(async (o: Global) => {
      const { stopDnsResponder } = await import('../../dns/service.js')
      const stopped = await stopDnsResponder(await dirsOf(o))
      if (o.json) printJson({ stopped })
      else process.stdout.write(stopped ? 'DNS responder stopped\n' : 'not running\n')
    })
  for (const c of dns.commands) c.exitOverride()
}
