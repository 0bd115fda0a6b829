/**
 * DNS bench (issue 16), inside the sandbox on a createTopology() host:
 *   podnet   questions per second and latency percentiles from a pod to its network's responder
 *            (a pod's name: answered from the records; a name of the internet: forwarded to a
 *            resolver in the "internet" namespace)
 *   peer     the same against podman's aardvark-dns 1.4 (Debian's, /usr/lib/podman/aardvark-dns),
 *            serving another network of the same host with the same records and the same upstream
 *   floor    the upstream resolver alone, asked directly from the pod (through the host's NAT)
 *   memory   RSS of the responder idle and after the load, and of aardvark-dns
 * The load generator (client.ts) runs in the pod's namespace as its own process. Writes
 * bench/results/dns.json and dns.md. usage: bench/dns/run.sh [--count N] [--concurrency N]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDnsResponder, stopDnsResponder } from '../../src/dns/index.js'
import { TestResolver, UPSTREAM, createTopology, type TempNetns } from '../../src/testing/index.js'
import { MNT_DETACH, MS_BIND } from '../../src/sys/constants.js'
import { mount, umount2 } from '../../src/sys/syscall.js'

const args = process.argv.slice(2)
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : def
}
const COUNT = opt('--count', 10_000)
const CONC = opt('--concurrency', 8)
const here = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(here, '../../../bench/results')
const AARDVARK = ['/usr/lib/podman/aardvark-dns', '/usr/libexec/podman/aardvark-dns'].find((p) => existsSync(p))

const f = (v: number | null, d: number): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-')
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)

interface Run { qps: number; p50: number; p90: number; p99: number; max: number; answered: number; lost: number; rcodes: Record<string, number> }

function load(pod: TempNetns, server: string, name: string, count = COUNT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = pod.ns.spawn(process.execPath, [join(here, 'client.js'), server, name, 'A', String(count), String(CONC)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`client exited ${code}`))
      else resolve(JSON.parse(out) as Run)
    })
  })
}

async function main(): Promise<void> {
  const topo = createTopology()
  const dir = mkdtempSync(join(tmpdir(), 'podnet-dns-bench-'))
  const result: Record<string, unknown> = { date: new Date().toISOString(), count: COUNT, concurrency: CONC, cpus: (await import('node:os')).cpus().length }
  let upstream: TestResolver | undefined
  let aardvarkPid: number | undefined
  let unmountResolv = false
  const dirs = { stateDir: topo.stateDir, runDir: topo.runDir }
  try {
    const m = topo.manager()
    await m.create({ name: 'bench', subnets: ['10.60.0.0/24'], dns: true })
    await m.create({ name: 'aard', subnets: ['10.61.0.0/24'] })
    const server = topo.pod('pn-bsrv')
    const client = topo.pod('pn-bcli')
    const server2 = topo.pod('pn-bsrv')
    const client2 = topo.pod('pn-bcli')
    const s1 = await m.attach({ network: 'bench', netns: server.name, id: 'srv', dnsNames: ['srv'] })
    await m.attach({ network: 'bench', netns: client.name, id: 'cli', dnsNames: ['cli'] })
    const s2 = await m.attach({ network: 'aard', netns: server2.name, id: 'srv' })
    await m.attach({ network: 'aard', netns: client2.name, id: 'cli' })
    upstream = await TestResolver.start(topo.upstream.ns, UPSTREAM.upstreamV4, { records: { 'www.example.test': [{ type: 'A', data: '192.0.2.10', ttl: 300 }] } })
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${UPSTREAM.upstreamV4}\n`)
    const st = await ensureDnsResponder(dirs, { network: 'bench', env: { ...process.env, PODNET_RESOLV_CONF: join(dir, 'resolv.conf'), PODNET_DNS_IDLE_MS: '600000' } })
    const idle = rssKb(st.pid)
    console.log(`podnet responder pid ${st.pid}, RSS ${idle} kB idle`)

    const runs: Record<string, Run> = {}
    await load(client, '10.60.0.1', 'srv', 500) // warm-up
    runs['podnet, a pod name'] = await load(client, '10.60.0.1', 'srv')
    runs['podnet, forwarded'] = await load(client, '10.60.0.1', 'www.example.test')
    result.rssKb = { idle, afterLoad: rssKb(st.pid) }
    runs['upstream alone (the floor of forwarding)'] = await load(client, UPSTREAM.upstreamV4, 'www.example.test')

    if (AARDVARK && process.env.PODNET_IN_SANDBOX === '1') {
      // aardvark-dns 1.4 forwards to /etc/resolv.conf's servers: inside the sandbox's private mount
      // namespace, that file is bind-mounted over with the test internet's resolver (never the machine's)
      mount(join(dir, 'resolv.conf'), '/etc/resolv.conf', null, MS_BIND)
      unmountResolv = true
      const conf = join(dir, 'aardvark')
      const { mkdirSync } = await import('node:fs')
      mkdirSync(conf)
      // first line: listen addresses, then the network's own upstreams (so it never asks the machine's resolvers)
      writeFileSync(join(conf, 'aard'), `10.61.0.1 ${UPSTREAM.upstreamV4}\nsrv ${s2.addresses[0]!.address.split('/')[0]}  srv\n`)
      const child = topo.host.ns.spawn(AARDVARK, ['--config', conf, '-p', '53', 'run'], { stdio: 'ignore', detached: true })
      child.unref()
      for (let i = 0; i < 100 && !existsSync(join(conf, 'aardvark.pid')); i++) await new Promise((r) => setTimeout(r, 50))
      aardvarkPid = existsSync(join(conf, 'aardvark.pid')) ? Number(readFileSync(join(conf, 'aardvark.pid'), 'utf8').trim()) : child.pid
      await new Promise((r) => setTimeout(r, 300))
      await load(client2, '10.61.0.1', 'srv', 500)
      runs['aardvark-dns 1.4, a pod name'] = await load(client2, '10.61.0.1', 'srv')
      runs['aardvark-dns 1.4, forwarded'] = await load(client2, '10.61.0.1', 'www.example.test')
      result.aardvarkRssKb = aardvarkPid !== undefined ? rssKb(aardvarkPid) : null
    } else {
      result.aardvark = AARDVARK ? 'not run outside the sandbox' : 'not installed (bench/dns/run.sh installs Debian\'s aardvark-dns)'
    }
    result.runs = runs
    for (const [k, r] of Object.entries(runs)) console.log(k, JSON.stringify(r))
    result.answersChecked = { podnet: s1.addresses[0]!.address }

    const lines = [
      `# DNS bench (${result.date as string})`, '',
      `${COUNT} questions per run, ${CONC} in flight, UDP, from a pod's namespace (a separate process); ${result.cpus as number} CPUs shared with other work.`, '',
      '| target | questions/s | p50 ms | p90 ms | p99 ms | max ms | lost | rcodes |', '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...Object.entries(runs).map(([k, r]) => `| ${k} | ${r.qps} | ${f(r.p50, 3)} | ${f(r.p90, 3)} | ${f(r.p99, 3)} | ${f(r.max, 1)} | ${r.lost} | ${Object.entries(r.rcodes).map(([c, n]) => `${c} ${n}`).join(', ')} |`),
      '', `podnet responder RSS: ${idle} kB idle, ${(result.rssKb as { afterLoad: number }).afterLoad} kB after the load` + (result.aardvarkRssKb ? `; aardvark-dns RSS ${result.aardvarkRssKb as number} kB` : ''), '',
    ]
    writeFileSync(join(resultsDir, 'dns.json'), `${JSON.stringify(result, null, 2)}\n`)
    writeFileSync(join(resultsDir, 'dns.md'), lines.join('\n'))
    console.log(lines.join('\n'))
  } finally {
    if (aardvarkPid !== undefined) try { process.kill(aardvarkPid, 'SIGTERM') } catch { /* gone */ }
    if (unmountResolv) umount2('/etc/resolv.conf', MNT_DETACH)
    await stopDnsResponder(dirs)
    upstream?.close()
    topo.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
