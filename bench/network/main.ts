/**
 * Bridge-network bench (issue 3): pod attach, pod removal / detach / gc and the data plane,
 * podnet against the CNI reference chain, an `ip -batch` + `nft` script and pyroute2, all in the
 * same run. Runs inside the sandbox (bench/network/run.sh starts it through scripts/sandbox.sh):
 * every run gets a fresh "host" namespace (src/testing/topology.ts) and every peer runs inside
 * it, so the machine's own network namespace, /run/netns and nf_tables/iptables state are never
 * touched. Writes bench/results/network.json and network.md.
 *
 *   node dist/bench/network/main.js [--quick] [--only pods,dataplane,profile] [--podnet-runs N]
 *       [--peer-runs N] [--peer-runs-1000 N] [--cni-runs N] [--cni-n N] [--iperf-secs S] [--iperf-runs N]
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns } from '../../src/netns/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { createTopology, type Topology } from '../../src/testing/topology.js'
import type { TempNetns } from '../../src/testing/temp-netns.js'
import type { CniArgs } from './cni.js'
import {
  benchArgs, fmtMs, fmtSpread, fmtX, liveNetnsCount, machineLoad, median, nowMs, runJson, runStats, sleep, spread, type PodRun, type Spread,
} from './lib.js'
import type { PodnetArgs } from './podnet.js'
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js'

const HERE = dirname(fileURLToPath(import.meta.url))
/** Repository root (this file is dist/bench/network/main.js). */
const ROOT = resolve(HERE, '../../..')
const PEERS = join(ROOT, 'bench/network/peers')
const PY = '/usr/bin/python3'
const SUBNET = '10.201.0.0/16'
const GATEWAY = '10.201.0.1'
const HOSTPORT_BASE = 20000

type Tool = 'podnet' | 'cni' | 'ip-batch' | 'pyroute2'

interface Options {
  quick: boolean
  ns: number[]
  podnetRuns: number
  peerRuns: number
  peerRuns1000: number
  cniRuns: number
  cniN: number
  iperfSecs: number
  iperfRuns: number
  only: Set<string>
  out: string
}

function parseArgs(argv: string[]): Options {
  const a = benchArgs(argv)
  const { quick } = a
  const num = a.num
  return {
    quick,
    ns: quick ? [50, 200] : [200, 1000],
    podnetRuns: num('--podnet-runs', 3),
    peerRuns: num('--peer-runs', quick ? 1 : 3),
    peerRuns1000: num('--peer-runs-1000', quick ? 1 : 1),
    cniRuns: num('--cni-runs', quick ? 1 : 2),
    cniN: num('--cni-n', quick ? 50 : 200),
    iperfSecs: num('--iperf-secs', 3),
    iperfRuns: num('--iperf-runs', quick ? 2 : 6),
    only: a.only(['pods', 'dataplane', 'profile']),
    out: a.out(join(ROOT, 'bench/results')),
  }
}

const T0 = nowMs()
const log = (s: string): void => { process.stderr.write(`[bench ${((nowMs() - T0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`) }
const inNs = (ns: string, cmd: string, args: string[]): [string, string[]] => ['nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args]]

/**
 * Waits until the kernel has finished destroying namespaces (the count of live `struct net`
 * stops changing for 1.5 s), so one run's asynchronous cleanup does not bill the next run.
 */
async function waitQuiet(maxMs = 90_000): Promise<number> {
  const t = nowMs()
  let last = liveNetnsCount()
  let stableSince = nowMs()
  while (nowMs() - t < maxMs) {
    await sleep(250)
    const c = liveNetnsCount()
    if (c !== last) {
      last = c
      stableSince = nowMs()
    } else if (nowMs() - stableSince >= 1500) break
  }
  return nowMs() - t
}

/** Removes named namespaces a failed run left behind. */
function removeLeftoverNetns(prefix: string): void {
  for (const n of readdirSync('/run/netns')) {
    if (n.startsWith(prefix)) {
      try { Netns.remove(n) } catch { /* gone */ }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// pod lifecycle

interface RunRecord extends PodRun {
  run: number
  load1AtStart: number
  wallS: number
}

type RunExtra = { cpuProfDir?: string; breakdown?: boolean; label?: string }

/**
 * One run; retried once after a pause when it fails. The repository is shared with other
 * sessions: a concurrent `npm ci` or build can make a worker fail to start for a few seconds.
 */
async function podRun(tool: Tool, n: number, run: number, teardown: PodnetArgs['teardown'], extra: RunExtra = {}): Promise<RunRecord> {
  try {
    return await podRunOnce(tool, n, run, teardown, extra)
  } catch (err) {
    log(`${tool} N=${n} ${extra.label ?? `run ${run + 1}`} failed, retrying in 15 s: ${String(err).slice(0, 400)}`)
    await sleep(15_000)
    await waitQuiet()
    return podRunOnce(tool, n, run, teardown, extra)
  }
}

async function podRunOnce(tool: Tool, n: number, run: number, teardown: PodnetArgs['teardown'], extra: RunExtra = {}): Promise<RunRecord> {
  const prefix = `${tool === 'ip-batch' ? 'i' : tool[0]}${n}r${run}-`
  const topo = createTopology()
  const load1AtStart = loadavg()[0] ?? NaN
  const t = nowMs()
  let res: PodRun
  try {
    switch (tool) {
      case 'podnet': {
        const args: PodnetArgs = {
          hostNetns: topo.host.name, stateDir: topo.stateDir, runDir: topo.runDir, n, teardown, prefix, subnet: SUBNET, hostPortBase: HOSTPORT_BASE,
          ...(extra.breakdown && { breakdown: true }),
        }
        const flags = extra.cpuProfDir ? ['--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${extra.cpuProfDir}`] : []
        res = await runJson<PodRun>(process.execPath, [...flags, join(HERE, 'podnet.js'), JSON.stringify(args)])
        break
      }
      case 'cni': {
        const dataDir = mkdtempSync(join(tmpdir(), 'bench-cni-ipam-'))
        try {
          const args: CniArgs = { n, prefix, dataDir, subnet: SUBNET, gateway: GATEWAY, hostPortBase: HOSTPORT_BASE }
          res = await runJson<PodRun>(...inNs(topo.host.name, process.execPath, [join(HERE, 'cni.js'), JSON.stringify(args)]))
        } finally {
          rmSync(dataDir, { recursive: true, force: true })
        }
        break
      }
      case 'ip-batch':
        res = await runJson<PodRun>(...inNs(topo.host.name, 'bash', [join(PEERS, 'ipbatch.sh'), String(n), prefix, String(HOSTPORT_BASE)]))
        break
      case 'pyroute2':
        res = await runJson<PodRun>(...inNs(topo.host.name, PY, [join(PEERS, 'pyroute2_pods.py'), String(n), prefix, String(HOSTPORT_BASE)]))
        break
    }
  } finally {
    removeLeftoverNetns(prefix)
    topo.close()
  }
  const wallS = (nowMs() - t) / 1000
  const quietMs = await waitQuiet()
  const s = runStats(res.add)
  log(`${tool} N=${n} ${extra.label ?? `run ${run + 1}`} (${res.teardown}): ADD p50 ${fmtMs(s.p50)} p95 ${fmtMs(s.p95)} ms` +
    (res.del.length ? `, DEL p50 ${fmtMs(runStats(res.del).p50)} ms` : '') + (res.gcMs !== undefined ? `, gc ${fmtMs(res.gcMs)} ms` : '') +
    `; ${wallS.toFixed(1)} s, kernel quiet after ${(quietMs / 1000).toFixed(1)} s, load ${load1AtStart.toFixed(2)}`)
  return { ...res, run, load1AtStart, wallS }
}

interface AddRow { tool: Tool; n: number; runs: number; p50: Spread; p95: Spread; firstP50: number; lastP50: number; growth: Spread; cpuPerPod: number; totalS: number; netnsP50?: number }
interface DelRow { tool: Tool; n: number; teardown: string; runs: number; p50: Spread; p95: Spread; totalS: number; perPod?: Spread; settleS?: number; cpuPerPod: number }

function addRows(runs: RunRecord[]): AddRow[] {
  const keys = [...new Set(runs.map((r) => `${r.tool}/${r.n}`))]
  return keys.map((k) => {
    const rs = runs.filter((r) => `${r.tool}/${r.n}` === k)
    const st = rs.map((r) => runStats(r.add))
    const row: AddRow = {
      tool: rs[0]!.tool as Tool, n: rs[0]!.n, runs: rs.length,
      p50: spread(st.map((s) => s.p50)), p95: spread(st.map((s) => s.p95)),
      firstP50: median(st.map((s) => s.first100p50)), lastP50: median(st.map((s) => s.last100p50)),
      growth: spread(st.map((s) => s.last100p50 / s.first100p50)),
      cpuPerPod: median(rs.map((r) => (r.addCpuMs ?? NaN) / r.n)), totalS: median(st.map((s) => s.totalS)),
    }
    const nn = rs.flatMap((r) => (r.netnsMs ? [runStats(r.netnsMs).p50] : []))
    if (nn.length) row.netnsP50 = median(nn)
    return row
  })
}

function delRows(runs: RunRecord[]): DelRow[] {
  const keys = [...new Set(runs.map((r) => `${r.tool}/${r.n}/${r.teardown}`))]
  return keys.flatMap((k) => {
    const rs = runs.filter((r) => `${r.tool}/${r.n}/${r.teardown}` === k)
    const first = rs[0]!
    if (first.teardown === 'none') return []
    const cpuPerPod = median(rs.map((r) => (r.delCpuMs ?? NaN) / r.n))
    const settle = rs.flatMap((r) => (r.settleMs !== undefined ? [r.settleMs / 1000] : []))
    const base = { tool: first.tool as Tool, n: first.n, teardown: first.teardown, runs: rs.length, cpuPerPod, ...(settle.length && { settleS: median(settle) }) }
    if (first.teardown === 'gc') {
      const gc = rs.map((r) => r.gcMs ?? NaN)
      const per = spread(gc.map((g) => g / first.n))
      return [{ ...base, p50: per, p95: spread([]), totalS: median(gc) / 1000, perPod: per }]
    }
    const st = rs.map((r) => runStats(r.del))
    return [{ ...base, p50: spread(st.map((s) => s.p50)), p95: spread(st.map((s) => s.p95)), totalS: median(st.map((s) => s.totalS)) }]
  })
}

// ------------------------------------------------------------------------------------------------
// data plane

type Path = 'limit' | 'bare' | 'bridge' | 'nat'
const PATHS: Array<[Path, string]> = [
  ['limit', 'veth pair between two namespaces (the limit)'],
  ['bare', 'reference: two namespaces on a bare Linux bridge (no nf_tables in its namespace)'],
  ['bridge', 'pod → pod over the podnet bridge'],
  ['nat', 'pod → upstream through NAT (masquerade)'],
]

interface DataplaneResult {
  secs: number
  runs: number
  /** Gbit/s per round, per path (the paths take turns within a round). */
  gbps: Record<Path, number[]>
  /** CPU of the iperf3 client + server per round (% of one CPU, iperf3's own accounting). */
  cpuPct: Record<Path, number[]>
}

interface IperfResult { gbps: number; cpuPct: number }

/** Per-round ratio path / limit: neighbouring runs share the machine's load, so drift cancels. */
const roundRatios = (dp: DataplaneResult, k: Path): number[] => dp.gbps[k].map((g, i) => g / (dp.gbps.limit[i] ?? NaN))

const started: ChildProcess[] = []

/** Starts `iperf3 -s -1` in a namespace and resolves once it listens. */
async function iperfServer(ns: TempNetns, port: number): Promise<ChildProcess> {
  const child = ns.ns.spawn('iperf3', ['-s', '-1', '-p', String(port), '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] })
  started.push(child)
  await new Promise<void>((res, rej) => {
    let out = ''
    const timer = setTimeout(() => rej(new Error('iperf3 server did not start')), 5000)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      if (out.includes('listening')) {
        clearTimeout(timer)
        res()
      }
    })
    child.once('exit', (c) => {
      clearTimeout(timer)
      rej(new Error(`iperf3 server exited ${c}`))
    })
  })
  return child
}

/** One TCP test (single stream, first second omitted): Gbit/s received, CPU of both ends. */
async function iperf(client: TempNetns, server: TempNetns, addr: string, secs: number): Promise<IperfResult> {
  const port = 5201
  const srv = await iperfServer(server, port)
  try {
    const child = client.ns.spawn('iperf3', ['-c', addr, '-p', String(port), '-t', String(secs), '-O', '1', '-J'], { stdio: ['ignore', 'pipe', 'pipe'] })
    started.push(child)
    const out: Buffer[] = []
    child.stdout!.on('data', (b: Buffer) => out.push(b))
    const code = await new Promise<number | null>((res) => child.once('close', res))
    const j = JSON.parse(Buffer.concat(out).toString('utf8')) as {
      end?: { sum_received?: { bits_per_second?: number }; cpu_utilization_percent?: { host_total?: number; remote_total?: number } }
      error?: string
    }
    if (code !== 0 || j.error) throw new Error(`iperf3 -c ${addr}: ${j.error ?? `exit ${code}`}`)
    const cpu = j.end?.cpu_utilization_percent
    return { gbps: (j.end?.sum_received?.bits_per_second ?? NaN) / 1e9, cpuPct: (cpu?.host_total ?? NaN) + (cpu?.remote_total ?? NaN) }
  } finally {
    if (srv.exitCode === null && srv.signalCode === null) srv.kill('SIGKILL')
  }
}

async function benchDataplane(o: Options): Promise<DataplaneResult> {
  const empty = (): Record<Path, number[]> => ({ limit: [], bare: [], bridge: [], nat: [] })
  const res: DataplaneResult = { secs: o.iperfSecs, runs: o.iperfRuns, gbps: empty(), cpuPct: empty() }
  const topo: Topology = createTopology()
  const mgr = topo.manager()
  try {
    await mgr.create({ name: 'dp', subnets: ['10.202.0.0/24'] })
    const p1 = topo.pod('dp-pod1')
    const p2 = topo.pod('dp-pod2')
    const a1 = await mgr.attach({ network: 'dp', netns: p1.ns.path, id: 'dp-pod1' })
    await mgr.attach({ network: 'dp', netns: p2.ns.path, id: 'dp-pod2' })
    const ip1 = (a1.addresses[0]?.address ?? '').split('/')[0] ?? ''
    // the limit: a veth pair straight between two namespaces
    const va = topo.pod('dp-va')
    const vb = topo.pod('dp-vb')
    va.rt.link.addSync({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth0', netns: vb.ns, up: true } })
    va.rt.addr.addSync({ cidr: '10.203.0.1/24', dev: 'eth0' })
    vb.rt.addr.addSync({ cidr: '10.203.0.2/24', dev: 'eth0' })
    // the reference: a bare bridge in a namespace of its own (no nf_tables there, so no conntrack)
    const bh = topo.pod('dp-bare')
    const b1 = topo.pod('dp-b1')
    const b2 = topo.pod('dp-b2')
    bh.rt.link.addSync({ kind: 'bridge', name: 'br0', up: true })
    ;[b1, b2].forEach((b, i) => {
      bh.rt.link.addSync({ kind: 'veth', name: `v${i + 1}`, master: 'br0', up: true, peer: { name: 'eth0', netns: b.ns, up: true } })
      b.rt.addr.addSync({ cidr: `10.204.0.${i + 11}/24`, dev: 'eth0' })
    })
    await sleep(300)
    const run: Record<Path, () => Promise<IperfResult>> = {
      limit: () => iperf(va, vb, '10.203.0.2', o.iperfSecs),
      bare: () => iperf(b2, b1, '10.204.0.11', o.iperfSecs),
      bridge: () => iperf(p2, p1, ip1, o.iperfSecs),
      nat: () => iperf(p1, topo.upstream, '10.209.0.2', o.iperfSecs),
    }
    for (let r = 0; r < o.iperfRuns; r++) {
      for (const [k] of PATHS) {
        const x = await run[k]()
        res.gbps[k].push(x.gbps)
        res.cpuPct[k].push(x.cpuPct)
      }
      log(`data plane round ${r + 1}: ${PATHS.map(([k]) => `${k} ${res.gbps[k].at(-1)!.toFixed(2)}`).join(', ')} Gbit/s; load ${(loadavg()[0] ?? NaN).toFixed(2)}`)
    }
  } finally {
    for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    try { await mgr.remove('dp', { force: true }) } catch { /* dies with the topology */ }
    topo.close()
    await waitQuiet()
  }
  return res
}

// ------------------------------------------------------------------------------------------------
// profile

async function benchProfile(o: Options, n: number): Promise<{ file: string; summary: ProfileSummary; n: number; text: string }> {
  const dir = join(o.out, 'profiles', 'network-attach')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  log(`profile: podnet attach loop, N=${n}, node --cpu-prof`)
  const r = await podRun('podnet', n, 99, 'none', { cpuProfDir: dir, label: 'under node --cpu-prof' })
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error('no .cpuprofile written')
  const summary = summarizeProfile(join(dir, file), 30)
  const text = `podnet attach loop under node --cpu-prof (N=${n}, ADD p50 ${fmtMs(runStats(r.add).p50)} ms under the profiler; ` +
    `the profile also covers process start-up and network create)\n${formatProfile(summary, n)}\n`
  writeFileSync(join(dir, 'summary.txt'), text)
  return { file: join('bench/results/profiles/network-attach', file), summary, n, text }
}

interface BreakdownResult {
  n: number
  p50: number
  growth: number
  rows: NonNullable<PodRun['breakdown']>
}

async function benchBreakdown(n: number): Promise<BreakdownResult> {
  log(`breakdown: podnet attach loop, N=${n}, time per kind of work`)
  const r = await podRun('podnet', n, 97, 'remove', { breakdown: true, label: 'breakdown' })
  const st = runStats(r.add)
  return { n, p50: st.p50, growth: st.last100p50 / st.first100p50, rows: r.breakdown ?? [] }
}

function breakdownTable(b: BreakdownResult): string {
  const k = Math.min(100, Math.max(1, Math.floor(b.n / 10)))
  return table(['work', 'calls/pod', 'mean ms/pod', `pods 1-${k}`, `pods ${b.n - k + 1}-${b.n}`, 'growth'], b.rows.map((r) => [
    r.what, r.callsPerPod ? r.callsPerPod.toFixed(1) : '', fmtMs(r.meanMs), fmtMs(r.firstMs), fmtMs(r.lastMs), fmtX(r.lastMs / r.firstMs),
  ]))
}

// ------------------------------------------------------------------------------------------------
// report

interface Target { what: string; target: string; measured: string; ratio: number; need: number; pass: boolean; note?: string }

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

const fmtPct = (x: number): string => `${(100 * x).toFixed(0)}%`

const TOOL_LABEL: Record<Tool, string> = {
  podnet: 'podnet (in-process netlink + nf_tables)',
  cni: 'CNI bridge + host-local + portmap',
  'ip-batch': '`ip -batch` + `nft` script',
  pyroute2: 'pyroute2 (+ `nft` for the DNAT rule)',
}

function report(o: Options, runs: RunRecord[], dp: DataplaneResult | undefined, loadBefore: string, loadAfter: string): { md: string; targets: Target[] } {
  const adds = addRows(runs)
  const dels = delRows(runs)
  const targets: Target[] = []
  const add = (tool: Tool, n: number): AddRow | undefined => adds.find((r) => r.tool === tool && r.n === n)
  const del = (tool: Tool, n: number, td: string): DelRow | undefined => dels.find((r) => r.tool === tool && r.n === n && r.teardown === td)
  const ratioTarget = (what: string, slow: number, fast: number, need: number, note?: string): void => {
    const ratio = slow / fast
    targets.push({ what, target: `≥ ${need}×`, measured: `${fmtMs(slow)} / ${fmtMs(fast)} ms = ${fmtX(ratio)}`, ratio, need, pass: ratio >= need, ...(note !== undefined && { note }) })
  }
  const big = Math.max(...o.ns)
  const cniN = o.cniN
  const pn = (n: number): AddRow | undefined => add('podnet', n)
  const cni = add('cni', cniN)
  if (cni && pn(cniN)) ratioTarget(`attach p50 vs CNI chain (N=${cniN})`, cni.p50.median, pn(cniN)!.p50.median, 30)
  for (const n of o.ns) {
    for (const peer of ['ip-batch', 'pyroute2'] as const) {
      const pr = add(peer, n)
      if (pr && pn(n)) ratioTarget(`attach p50 vs ${peer} (N=${n})`, pr.p50.median, pn(n)!.p50.median, 5)
    }
  }
  const pb = pn(big)
  if (pb) {
    const g = pb.growth
    targets.push({
      what: `podnet attach: p50 of the last 10% of pods / first 10% (N=${big})`, target: '≤ 1.3×',
      measured: `${fmtMs(pb.lastP50)} / ${fmtMs(pb.firstP50)} ms = ${fmtX(g.median)} (runs ${fmtX(g.min)}–${fmtX(g.max)})`,
      ratio: g.median, need: 1.3, pass: g.median <= 1.3,
    })
  }
  const cniDel = del('cni', cniN, 'del')
  const pnRemove = del('podnet', cniN, 'remove')
  if (cniDel && pnRemove) ratioTarget(`pod removal p50 vs CNI DEL (N=${cniN})`, cniDel.p50.median, pnRemove.p50.median, 10)
  const pnDetach = del('podnet', cniN, 'detach')
  if (cniDel && pnDetach) ratioTarget(`plain detach (deletes the veth) p50 vs CNI DEL (N=${cniN})`, cniDel.p50.median, pnDetach.p50.median, 10, 'not a target: for reference')
  if (dp) {
    for (const [k, label] of [['bridge', 'pod to pod over the bridge'], ['nat', 'pod to upstream through NAT']] as const) {
      const r = spread(roundRatios(dp, k))
      targets.push({
        what: `data plane: ${label}`, target: '≥ 90% of the veth pair',
        measured: `${fmtPct(r.median)} (median of ${r.runs} per-round ratios, ${fmtPct(r.min)}–${fmtPct(r.max)}); ${median(dp.gbps[k]).toFixed(1)} vs ${median(dp.gbps.limit).toFixed(1)} Gbit/s`,
        ratio: r.median, need: 0.9, pass: r.median >= 0.9,
      })
    }
  }

  const addTable = table(
    ['tool', 'N', 'runs', 'ADD p50 ms', 'ADD p95 ms', 'first 10% p50', 'last 10% p50', 'CPU ms/pod', 'all N (s)', 'p50 vs podnet'],
    adds.sort((a, b) => a.n - b.n || a.tool.localeCompare(b.tool)).map((r) => [
      TOOL_LABEL[r.tool], String(r.n), String(r.runs), fmtSpread(r.p50), fmtSpread(r.p95), fmtMs(r.firstP50), fmtMs(r.lastP50),
      fmtMs(r.cpuPerPod), r.totalS.toFixed(2), r.tool === 'podnet' ? '1×' : fmtX(r.p50.median / (pn(r.n)?.p50.median ?? NaN)),
    ]),
  )
  const tdLabel: Record<string, string> = {
    remove: 'pod removal: detach(netnsGoing) + Netns.remove', detach: 'plain detach (deletes the veth) + Netns.remove',
    gc: 'gc of N leftovers (one call; per leftover)', del: 'DEL + namespace delete',
  }
  const delTable = table(
    ['tool', 'N', 'what', 'runs', 'p50 ms', 'p95 ms', 'all N (s)', 'CPU ms/pod', 'kernel done after (s)', 'CNI DEL p50 / this p50'],
    dels.sort((a, b) => a.n - b.n || a.tool.localeCompare(b.tool) || a.teardown.localeCompare(b.teardown)).map((r) => [
      TOOL_LABEL[r.tool], String(r.n), tdLabel[r.teardown] ?? r.teardown, String(r.runs), fmtSpread(r.p50), r.teardown === 'gc' ? '–' : fmtSpread(r.p95),
      r.totalS.toFixed(2), fmtMs(r.cpuPerPod), r.settleS === undefined ? '–' : r.settleS.toFixed(2),
      cniDel && r.n === cniN ? fmtX(cniDel.p50.median / r.p50.median) : '–',
    ]),
  )
  const dpTable = dp
    ? table(['path', 'runs', 'Gbit/s median [min–max]', 'of the veth pair: median of per-round ratios [min–max]', 'iperf3 CPU % (both ends)'], PATHS.map(([k, label]) => {
        const r = spread(roundRatios(dp, k))
        return [label, String(dp.runs), fmtSpread(spread(dp.gbps[k])), k === 'limit' ? '100%' : `${fmtPct(r.median)} [${fmtPct(r.min)}–${fmtPct(r.max)}]`, median(dp.cpuPct[k]).toFixed(0)]
      }))
    : ''
  const tgtTable = table(['target', 'need', 'measured', 'result'], targets.map((t) => [t.what, t.target, t.measured, t.note ?? (t.pass ? 'PASS' : 'MISS')]))
  const netnsNote = pn(big)?.netnsP50 !== undefined
    ? `podnet's ADD includes Netns.create: p50 ${fmtMs(pn(big)!.netnsP50!)} ms of it at N=${big} (${fmtMs(pn(Math.min(...o.ns))?.netnsP50 ?? NaN)} ms at N=${Math.min(...o.ns)}).`
    : ''
  const md = [
    `Machine: ${cpus().length} CPU, kernel ${release()}, node ${process.version}. Load before: ${loadBefore}; after: ${loadAfter}.`,
    `Per pod wall time; p50/p95 over the N pods of a run, then the median over runs [min–max of the per-run value].`,
    `first/last 10% = p50 of the first and last N/10 pods (at most 100). CNI chain at N=${cniN} only (about 0.4 s per pod for ADD + DEL: a run at N=1,000 would take 7 minutes).`,
    '',
    '### Pod attach (create the namespace + attach: IPAM, veth, addresses, routes, masquerade, one published port)',
    '',
    addTable,
    '',
    netnsNote,
    '',
    '### Pod removal, detach, gc',
    '',
    delTable,
    '',
    ...(dp ? [`### Data plane (iperf3, one TCP stream, ${dp.secs} s per run after a 1 s warm-up; the four paths take turns in each round)`, '', dpTable, ''] : []),
    '### Targets',
    '',
    tgtTable,
    '',
  ].join('\n')
  return { md, targets }
}

const uptime = async (): Promise<string> => {
  const l = await machineLoad(1000)
  return `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, CPU busy ${l.busyPct.toFixed(0)}% over 1 s`
}

async function main(): Promise<void> {
  assertSandboxed()
  const o = parseArgs(process.argv.slice(2))
  mkdirSync(o.out, { recursive: true })
  const loadBefore = await uptime()
  log(`start: ${loadBefore}`)
  const runs: RunRecord[] = []
  let dp: DataplaneResult | undefined
  let profile: Awaited<ReturnType<typeof benchProfile>> | undefined
  let breakdown: Awaited<ReturnType<typeof benchBreakdown>> | undefined
  await waitQuiet()

  // a phase that fails after the retries is reported as failed; the others still make the report
  const failed: string[] = []
  const phase = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      failed.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
      log(`${name} FAILED: ${String(err).slice(0, 2000)}`)
    }
  }
  if (o.only.has('pods')) {
    const teardowns: Array<PodnetArgs['teardown']> = ['remove', 'detach', 'gc']
    const one = (tool: Tool, n: number, r: number, td: PodnetArgs['teardown']): Promise<void> =>
      phase(`${tool} N=${n} run ${r + 1}`, async () => { runs.push(await podRun(tool, n, r, td)) })
    for (const n of o.ns) {
      const peerRuns = n >= 1000 ? o.peerRuns1000 : o.peerRuns
      const rounds = Math.max(o.podnetRuns, peerRuns, n === o.cniN ? o.cniRuns : 0)
      for (let r = 0; r < rounds; r++) {
        // interleaved, so drift in the machine's load touches every tool alike
        if (r < o.podnetRuns) await one('podnet', n, r, teardowns[r % teardowns.length]!)
        if (r < peerRuns) await one('ip-batch', n, r, 'remove')
        if (r < peerRuns) await one('pyroute2', n, r, 'remove')
        if (n === o.cniN && r < o.cniRuns) await one('cni', n, r, 'remove')
      }
      // every podnet run measures ADD; the runs take turns at the three teardowns, which need one run each at least
      for (let r = o.podnetRuns; r < teardowns.length; r++) await one('podnet', n, r, teardowns[r]!)
    }
    if (!o.ns.includes(o.cniN)) for (let r = 0; r < o.cniRuns; r++) await one('cni', o.cniN, r, 'remove')
  }
  if (o.only.has('dataplane')) {
    log('data plane: iperf3')
    await phase('data plane', async () => { dp = await benchDataplane(o) })
  }
  if (o.only.has('profile')) {
    await phase('breakdown', async () => { breakdown = await benchBreakdown(Math.max(...o.ns)) })
    await phase('profile', async () => { profile = await benchProfile(o, Math.max(...o.ns)) })
  }

  const loadAfter = await uptime()
  log(`end: ${loadAfter}`)
  const { md, targets } = report(o, runs, dp, loadBefore, loadAfter)
  const full = [
    md,
    ...(failed.length ? ['### Failed phases', '', ...failed.map((f) => `- ${f}`), ''] : []),
    ...(breakdown ? [
      `### Where podnet's attach time goes (N=${breakdown.n}, mean wall ms per pod by kind of work)`,
      '',
      `In this run: ADD p50 ${fmtMs(breakdown.p50)} ms, p50 of the last 10% / first 10% ${fmtX(breakdown.growth)}. Wall time of the wrapped entry points (bench/network/breakdown.ts); "everything else" is the rest of the ADD.`,
      '',
      breakdownTable(breakdown),
      '',
    ] : []),
    ...(profile ? ['### CPU profile of the attach loop (node --cpu-prof)', '', '```', profile.text.trimEnd(), '```', ''] : []),
  ].join('\n')
  process.stdout.write(`\n${full}\n`)
  const round = (xs: number[] | undefined): number[] | undefined => xs?.map((x) => Math.round(x * 1000) / 1000)
  const json = {
    bench: 'network (issue 3)',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, kernel: release(), node: process.version },
    load: { before: loadBefore, after: loadAfter },
    options: { ...o, only: [...o.only] },
    durationS: (nowMs() - T0) / 1000,
    targets,
    attach: addRows(runs),
    removal: delRows(runs),
    dataplane: dp,
    failed,
    breakdown,
    profile: profile && { file: profile.file, n: profile.n, summary: profile.summary },
    runs: runs.map((r) => ({ ...r, add: round(r.add), del: round(r.del), netnsMs: round(r.netnsMs) })),
  }
  writeFileSync(join(o.out, 'network.json'), `${JSON.stringify(json, null, 1)}\n`)
  writeFileSync(join(o.out, 'network.md'), `${full}`)
  log(`wrote ${join(o.out, 'network.json')} and network.md (${((nowMs() - T0) / 1000).toFixed(0)} s)`)
}

main().catch((err: unknown) => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  process.stderr.write(`network bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
