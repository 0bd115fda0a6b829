/**
 * Netlink foundation bench (issue 2): dumps, churn, CLI, peak RSS; podnet vs pyroute2 vs iproute2.
 * Runs inside the sandbox (bench/run.sh starts it through scripts/sandbox.sh); every namespace it
 * makes lives under the sandbox's private /run/netns. Writes bench/results/netlink.json and .md.
 *
 *   node dist/bench/netlink/main.js [--quick] [--pairs N] [--runs N] [--only dump,churn,cli]
 *   node dist/bench/netlink/main.js --only profile   (podnet's side under node --cpu-prof: results/profiles/netlink/)
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns, Rtnl } from '../../src/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import {
  fmtMb, fmtMs, fmtRange, fmtX, hostName, median, mustRun, nowMs, pairAddr, peerName, perPair, run, runJson, sleep, summarize,
} from './lib.js'
import { benchArgs } from '../network/lib.js'
import type { ChurnResult, DumpResult, DumpWhat, WorkerArgs } from './worker.js'
import { analyzeProfile, formatProfile } from './cpuprofile.js'

const HERE = dirname(fileURLToPath(import.meta.url))
/** Repository root (this file is dist/bench/netlink/main.js). */
const ROOT = resolve(HERE, '../../..')
const WORKER = join(HERE, 'worker.js')
const PEERS = join(ROOT, 'bench/peers')
const PY = '/usr/bin/python3'
const NETNS_DIR = '/run/netns'
const BRIDGE = 'br0'

interface Options {
  pairs: number
  dumpPairs: number
  churnRuns: number
  dumpRounds: number
  podnetIters: number
  pyLinkIters: number
  pyAddrIters: number
  hyperfineRuns: number
  deletePairs: number
  only: Set<string>
  out: string
}

function parseArgs(argv: string[]): Options {
  const a = benchArgs(argv)
  const { quick } = a
  const num = a.num
  const only = a.only(['dump', 'churn', 'cli'])
  const pairs = num('--pairs', quick ? 200 : 1000)
  return {
    pairs,
    dumpPairs: num('--dump-pairs', pairs),
    churnRuns: num('--runs', quick ? 2 : 5),
    dumpRounds: quick ? 2 : 3,
    podnetIters: quick ? 5 : 10,
    pyLinkIters: quick ? 2 : 3,
    pyAddrIters: quick ? 3 : 10,
    hyperfineRuns: quick ? 5 : 20,
    deletePairs: Math.min(100, Math.floor(pairs / 4)),
    only,
    out: a.out(join(ROOT, 'bench/results')),
  }
}

const log = (s: string): void => { process.stderr.write(`[bench] ${s}\n`) }
const nsPath = (name: string): string => join(NETNS_DIR, name)
/** argv prefix that runs a command inside a named namespace (no mount-namespace games, unlike `ip -n`). */
const inNs = (name: string, cmd: string, args: string[]): [string, string[]] => ['nsenter', [`--net=${nsPath(name)}`, '--', cmd, ...args]]

async function nsAdd(name: string): Promise<void> {
  await mustRun('ip', ['netns', 'add', name])
  // No IPv6 in bench namespaces: 1000 bridged ports coming up otherwise flood DAD/MLD for 1-2
  // minutes and dumps come back interrupted (shared/brief/peers.md). `default` covers new links.
  await mustRun('nsenter', [`--net=${nsPath(name)}`, '--', 'sh', '-c',
    'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'])
}

async function ipBatch(ns: string, lines: string[], tmp: string, tag: string): Promise<{ wallMs: number; rssKb: number; userMs: number; sysMs: number }> {
  const file = join(tmp, `${tag}.batch`)
  const rssFile = join(tmp, `${tag}.rss`)
  writeFileSync(file, lines.join('\n') + '\n')
  const [c, a] = inNs(ns, '/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, 'ip', '-batch', file])
  const t0 = nowMs()
  await mustRun(c, a)
  const wallMs = nowMs() - t0
  const [rss, user, sys] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number)
  return { wallMs, rssKb: rss ?? NaN, userMs: (user ?? NaN) * 1000, sysMs: (sys ?? NaN) * 1000 }
}

// ------------------------------------------------------------------------------------------------
// Dump

interface HyperfineResult { command: string; mean: number; median: number; min: number; max: number; stddev: number; user: number; system: number; times: number[] }

async function hyperfine(ns: string | undefined, commands: Array<[string, string]>, runs: number, tmp: string): Promise<Record<string, HyperfineResult>> {
  const file = join(tmp, `hf-${Math.random().toString(36).slice(2)}.json`)
  const args = ['-N', '--style', 'none', '--warmup', '3', '--runs', String(runs), '--export-json', file]
  for (const [name, cmd] of commands) args.push('-n', name, cmd)
  const [c, a] = ns ? inNs(ns, 'hyperfine', args) : ['hyperfine', args]
  const first = await run(c, a)
  if (first.status !== 0) {
    // one retry: the shared tree's dist/ may have been rebuilt under a command (concurrent tsc)
    log(`hyperfine failed (${first.stderr.trim().split('\n').pop() ?? ''}); retrying once`)
    await mustRun(c, a)
  }
  const j = JSON.parse(readFileSync(file, 'utf8')) as { results: HyperfineResult[] }
  const out: Record<string, HyperfineResult> = {}
  for (const r of j.results) out[r.command] = { ...r, mean: r.mean * 1000, median: r.median * 1000, min: r.min * 1000, max: r.max * 1000, stddev: r.stddev * 1000, user: r.user * 1000, system: r.system * 1000, times: r.times.map((t) => t * 1000) }
  return out
}

/** Peak RSS (KB) of a whole process: median of 3 runs of /usr/bin/time -f %M. */
async function processRss(ns: string | undefined, cmd: string, tmp: string): Promise<number> {
  const rss: number[] = []
  const f = join(tmp, 'rss.txt')
  for (let i = 0; i < 3; i++) {
    const argv = ['-f', '%M', '-o', f, 'sh', '-c', `exec ${cmd} >/dev/null`]
    const [c, a] = ns ? inNs(ns, '/usr/bin/time', argv) : ['/usr/bin/time', argv]
    await mustRun(c, a)
    rss.push(Number(readFileSync(f, 'utf8').trim().split('\n').pop()))
  }
  return median(rss)
}

interface DumpSection {
  links: number
  addrs: number
  podnet: { links: DumpResult[]; addrs: DumpResult[] }
  /** The same requests through the same socket, nothing decoded: kernel + socket loop. */
  floor: { links: DumpResult[]; addrs: DumpResult[] }
  pyroute2: { links: DumpResult[]; addrs: DumpResult[] }
  ip: { links: HyperfineResult; addrs: HyperfineResult; linksRssKb: number; addrsRssKb: number }
}

async function setupDumpNs(ns: string, pairs: number, tmp: string): Promise<void> {
  await nsAdd(ns)
  // lo, a bridge with the host ends as ports, an "uplink" (a second bridge: this kernel has no
  // dummy driver) with an address, and one /32 per peer end: 2 * pairs + 3 links.
  const lines = [
    'link set lo up',
    `link add ${BRIDGE} type bridge`, `link set ${BRIDGE} up`, `addr add 10.99.0.1/16 dev ${BRIDGE}`,
    'link add up0 type bridge', 'link set up0 up', 'addr add 10.98.0.1/24 dev up0',
  ]
  for (let i = 1; i <= pairs; i++) {
    lines.push(`link add ${hostName(i)} type veth peer name ${peerName(i)}`, `link set ${hostName(i)} master ${BRIDGE} up`,
      `link set ${peerName(i)} up`, `addr add ${pairAddr(i)}/32 dev ${peerName(i)}`)
  }
  await ipBatch(ns, lines, tmp, 'dump-setup')
}

/**
 * Removes the dump namespace synchronously: deleting 2000 veths one namespace teardown at a time
 * would go on in the kernel's cleanup work queue (holding RTNL) while the next measurement runs.
 * One `ip link del group` deletes them all in one batch and returns when they are gone.
 */
async function teardownDumpNs(ns: string, pairs: number, tmp: string): Promise<void> {
  const lines = Array.from({ length: pairs }, (_, k) => `link set ${peerName(k + 1)} group 9`)
  await ipBatch(ns, lines, tmp, 'dump-group')
  await mustRun(...inNs(ns, 'ip', ['link', 'del', 'group', '9']))
  await mustRun('ip', ['netns', 'del', ns])
  await sleep(500)
}

async function benchDump(o: Options, tmp: string): Promise<DumpSection> {
  const ns = 'bench-dump'
  log(`dump: building ${o.dumpPairs} veth pairs in netns ${ns}`)
  await setupDumpNs(ns, o.dumpPairs, tmp)
  const links = Number((await mustRun(...inNs(ns, 'sh', ['-c', 'ip -o link show | wc -l']))).stdout.trim())
  const addrs = Number((await mustRun(...inNs(ns, 'sh', ['-c', 'ip -o addr show | wc -l']))).stdout.trim())
  log(`dump: ${links} links, ${addrs} addresses; IPv6 disabled in the namespace`)
  const res: DumpSection = {
    links, addrs, podnet: { links: [], addrs: [] }, floor: { links: [], addrs: [] }, pyroute2: { links: [], addrs: [] },
    ip: undefined as unknown as DumpSection['ip'],
  }
  const podnet = async (what: DumpWhat): Promise<DumpResult> => {
    const args: WorkerArgs = { op: 'dump', what, iters: o.podnetIters }
    return runJson<DumpResult>(...inNs(ns, process.execPath, [WORKER, JSON.stringify(args)]))
  }
  const py = async (what: 'links' | 'addrs', iters: number): Promise<DumpResult> =>
    runJson<DumpResult>(...inNs(ns, PY, [join(PEERS, 'dump.py'), JSON.stringify({ op: what, iters })]))
  for (let r = 0; r < o.dumpRounds; r++) {
    log(`dump: round ${r + 1}/${o.dumpRounds}`)
    res.podnet.links.push(await podnet('links'))
    res.podnet.addrs.push(await podnet('addrs'))
    res.floor.links.push(await podnet('links-raw'))
    res.floor.addrs.push(await podnet('addrs-raw'))
    res.pyroute2.links.push(await py('links', o.pyLinkIters))
    res.pyroute2.addrs.push(await py('addrs', o.pyAddrIters))
  }
  log('dump: ip -j link/addr show (hyperfine)')
  const hf = await hyperfine(ns, [['ip -j link show', 'ip -j link show'], ['ip -j addr show', 'ip -j addr show']], o.hyperfineRuns, tmp)
  res.ip = {
    links: hf['ip -j link show'] as HyperfineResult,
    addrs: hf['ip -j addr show'] as HyperfineResult,
    linksRssKb: await processRss(ns, 'ip -j link show', tmp),
    addrsRssKb: await processRss(ns, 'ip -j addr show', tmp),
  }
  return res
}

// ------------------------------------------------------------------------------------------------
// CLI

interface CliSection {
  where: Array<{ ns: string; links: number; results: Record<string, HyperfineResult & { rssKb: number }> }>
}

async function benchCli(o: Options, tmp: string, dumpNs: string | undefined): Promise<CliSection> {
  const cli = `${process.execPath} ${join(ROOT, 'bin/podnet.js')} link ls --json`
  // the root as package.json exports it (the single-file build, src/cli/library-bundle.ts), and tsc's modules
  const importOnly = `${process.execPath} --input-type=module -e "await import('${join(ROOT, 'dist/lib/index.js')}')"`
  const importModules = `env PODNET_NO_BUNDLE=1 ${process.execPath} --input-type=module -e "await import('${join(ROOT, 'dist/lib/index.js')}')"`
  // each subpath of package.json, imported alone: what a library user pays before doing anything
  const exportsMap = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }).exports
  const subpaths = Object.entries(exportsMap).filter(([k]) => k !== '.').map(([k, v]): [string, string] =>
    [`node: import podnet/${k.slice(2)}`, `${process.execPath} --input-type=module -e "await import('${join(ROOT, v.default)}')"`])
  const cmds: Array<[string, string]> = [
    ['node -e 0', `${process.execPath} -e 0`],
    ['node: import podnet (library index)', importOnly],
    ['node: import podnet, ES modules (PODNET_NO_BUNDLE=1)', importModules],
    ...subpaths,
    ['podnet --version', `${process.execPath} ${join(ROOT, 'bin/podnet.js')} --version`],
    ['podnet link ls --json', cli],
    ['ip -j link show', 'ip -j link show'],
    ['ip -d -j link show', 'ip -d -j link show'],
    ...(EXTRA_CA ? [['node -e 0, with NODE_EXTRA_CA_CERTS (as this shell had it)', `env NODE_EXTRA_CA_CERTS=${EXTRA_CA} ${process.execPath} -e 0`] as [string, string]] : []),
  ]
  const out: CliSection = { where: [] }
  const places: Array<string | undefined> = [undefined, ...(dumpNs ? [dumpNs] : [])]
  for (const ns of places) {
    log(`cli: hyperfine in ${ns ?? 'the sandbox namespace (lo only)'}`)
    const linksOut = await mustRun(...(ns ? inNs(ns, 'sh', ['-c', 'ip -o link show | wc -l']) : ['sh', ['-c', 'ip -o link show | wc -l']] as [string, string[]]))
    const hf = await hyperfine(ns, cmds, o.hyperfineRuns, tmp)
    const results: Record<string, HyperfineResult & { rssKb: number }> = {}
    for (const [name, cmd] of cmds) {
      const h = hf[name]
      if (h) results[name] = { ...h, rssKb: await processRss(ns, cmd, tmp) }
    }
    out.where.push({ ns: ns ?? '(sandbox, lo only)', links: Number(linksOut.stdout.trim()), results })
  }
  return out
}

// ------------------------------------------------------------------------------------------------
// Churn

type Tool = 'podnet' | 'podnet (ifindexes)' | 'podnet (socket floor)' | 'ip -batch' | 'pyroute2'
const TOOLS: Tool[] = ['podnet', 'ip -batch', 'pyroute2', 'podnet (ifindexes)', 'podnet (socket floor)']
const PODNET_BY: Partial<Record<Tool, 'name' | 'index' | 'raw'>> = { podnet: 'name', 'podnet (ifindexes)': 'index', 'podnet (socket floor)': 'raw' }
const BUCKET = 100

interface ChurnRun {
  tool: Tool
  run: number
  createMs: number
  /** ms per pair over the first and the last 100 pairs (in-process tools only). */
  first100?: number
  last100?: number
  /** ms per pair in each successive block of 100 pairs (in-process tools only). */
  buckets?: number[]
  deleteMs: number
  deleted: number
  /** `ip link set hN group G` for the next pairs, then one `ip link del group G`. */
  groupSetMs: number
  groupDelMs: number
  groupDeleted: number
  /** `ip netns del PODS` call, then until the host ends are gone (kernel cleanup of the namespace). */
  nsDelCallMs: number
  nsGoneMs: number
  nsDeleted: number
  rssKb: number
  /** CPU of the create phase: user and system (kernel) ms. */
  userMs: number
  sysMs: number
}

async function churnOnce(o: Options, tool: Tool, runNo: number, tmp: string): Promise<ChurnRun> {
  const host = `bench-host-${runNo}`
  const pods = `bench-pods-${runNo}`
  await nsAdd(host)
  await nsAdd(pods)
  await mustRun(...inNs(host, 'sh', ['-c', `ip link set lo up && ip link add ${BRIDGE} type bridge && ip link set ${BRIDGE} up && ip addr add 10.99.0.1/16 dev ${BRIDGE}`]))
  await mustRun(...inNs(pods, 'ip', ['link', 'set', 'lo', 'up']))
  const n = o.pairs
  const del = o.deletePairs
  let r: Omit<ChurnRun, 'groupSetMs' | 'groupDelMs' | 'groupDeleted' | 'nsDelCallMs' | 'nsGoneMs' | 'nsDeleted'>
  const inProcess = (w: ChurnResult): typeof r => ({
    tool, run: runNo, createMs: w.createMs,
    first100: perPair(w.marks, 0, BUCKET), last100: perPair(w.marks, n - BUCKET, n),
    buckets: Array.from({ length: Math.floor(n / BUCKET) }, (_, k) => perPair(w.marks, k * BUCKET, (k + 1) * BUCKET)),
    deleteMs: w.deleteMs, deleted: w.deleted, rssKb: w.maxRssKb, userMs: w.userMs, sysMs: w.sysMs,
  })
  const by = PODNET_BY[tool]
  if (by) {
    const args: WorkerArgs = { op: 'churn', pods, pairs: n, delete: del, bridge: BRIDGE, by }
    r = inProcess(await runJson<ChurnResult>(...inNs(host, process.execPath, [WORKER, JSON.stringify(args)])))
  } else if (tool === 'pyroute2') {
    r = inProcess(await runJson<ChurnResult>(...inNs(host, PY, [join(PEERS, 'churn.py'), JSON.stringify({ pods, pairs: n, delete: del, bridge: BRIDGE })])))
  } else {
    const hostLines: string[] = []
    const podLines: string[] = []
    for (let i = 1; i <= n; i++) {
      hostLines.push(`link add ${hostName(i)} type veth peer name ${peerName(i)} netns ${pods}`, `link set ${hostName(i)} master ${BRIDGE} up`)
      podLines.push(`addr add ${pairAddr(i)}/32 dev ${peerName(i)}`, `link set ${peerName(i)} up`)
    }
    const a = await ipBatch(host, hostLines, tmp, 'churn-host')
    const b = await ipBatch(pods, podLines, tmp, 'churn-pods')
    const d = await ipBatch(host, Array.from({ length: del }, (_, k) => `link del ${hostName(k + 1)}`), tmp, 'churn-del')
    r = { tool, run: runNo, createMs: a.wallMs + b.wallMs, deleteMs: d.wallMs, deleted: del, rssKb: Math.max(a.rssKb, b.rssKb), userMs: a.userMs + b.userMs, sysMs: a.sysMs + b.sysMs }
  }
  // Bulk deletion by group (reference for a proposed API), the same for every tool's run.
  const g = Array.from({ length: del }, (_, k) => `link set ${hostName(del + k + 1)} group 77`)
  const gs = await ipBatch(host, g, tmp, 'group-set')
  const t0 = nowMs()
  await mustRun(...inNs(host, 'ip', ['link', 'del', 'group', '77']))
  const groupDelMs = nowMs() - t0
  // The rest goes with the pods namespace: time the call, then until the kernel has destroyed
  // the veths (their host ends vanish from the host namespace).
  const hostNs = Netns.open(host)
  const rt = Rtnl.open({ netns: hostNs })
  try {
    const before = (await rt.link.list({ kind: 'veth' })).length
    const t1 = nowMs()
    await mustRun('ip', ['netns', 'del', pods])
    const nsDelCallMs = nowMs() - t1
    for (;;) {
      if ((await rt.link.list({ kind: 'veth' })).length === 0) break
      if (nowMs() - t1 > 120_000) throw new Error(`churn: the host ends were still there 120 s after deleting ${pods}`)
      await sleep(2)
    }
    const nsGoneMs = nowMs() - t1
    return { ...r, groupSetMs: gs.wallMs, groupDelMs, groupDeleted: del, nsDelCallMs, nsGoneMs, nsDeleted: before }
  } finally {
    rt.close()
    hostNs.close()
    await mustRun('ip', ['netns', 'del', host])
    await sleep(200) // let the namespace cleanup work queue settle before the next run
  }
}

async function benchChurn(o: Options, tmp: string): Promise<ChurnRun[]> {
  const runs: ChurnRun[] = []
  let runNo = 0
  for (let r = 0; r < o.churnRuns; r++) {
    // rotate the order so that no tool always follows the same one
    const order = TOOLS.map((_, k) => TOOLS[(k + r) % TOOLS.length] as Tool)
    for (const tool of order) {
      runNo++
      log(`churn: round ${r + 1}/${o.churnRuns}: ${tool}, ${o.pairs} pairs`)
      const c = await churnOnce(o, tool, runNo, tmp)
      log(`churn:   create ${fmtMs(c.createMs)} ms, delete ${fmtMs(c.deleteMs / c.deleted)} ms/pair, netns gone after ${fmtMs(c.nsGoneMs)} ms`)
      runs.push(c)
    }
  }
  return runs
}

/** Waits until the kernel has destroyed every veth whose other end was in a deleted namespace. */
async function waitNoVeth(host: string, limitMs = 120_000): Promise<number> {
  const hostNs = Netns.open(host)
  const rt = Rtnl.open({ netns: hostNs })
  const t0 = nowMs()
  try {
    while ((await rt.link.list({ kind: 'veth' })).length > 0) {
      if (nowMs() - t0 > limitMs) throw new Error(`veths still in ${host} after ${limitMs} ms`)
      await sleep(2)
    }
    return nowMs() - t0
  } finally {
    rt.close()
    hostNs.close()
  }
}

// ------------------------------------------------------------------------------------------------
// Profiles: the podnet side of each measurement again, under node --cpu-prof

async function profileAll(o: Options, tmp: string): Promise<string> {
  const dir = join(o.out, 'profiles', 'netlink')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const texts: string[] = []
  const prof = async (name: string, ns: string, args: string[]): Promise<void> => {
    const d = join(dir, name)
    await mustRun(...inNs(ns, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${d}`, ...args]))
    const file = readdirSync(d).find((f) => f.endsWith('.cpuprofile'))
    if (!file) throw new Error(`no profile in ${d}`)
    texts.push(formatProfile(`${name} (${args.slice(-3).join(' ').slice(0, 120)})`, analyzeProfile(join(d, file), 30)))
  }
  const ns = 'bench-dump'
  log(`profile: ${o.dumpPairs} pairs in ${ns}`)
  await setupDumpNs(ns, o.dumpPairs, tmp)
  await prof('dump-links', ns, [WORKER, JSON.stringify({ op: 'dump', what: 'links', iters: 20 } satisfies WorkerArgs)])
  await prof('dump-addrs', ns, [WORKER, JSON.stringify({ op: 'dump', what: 'addrs', iters: 50 } satisfies WorkerArgs)])
  await prof('cli-link-ls-json', ns, [join(ROOT, 'bin/podnet.js'), 'link', 'ls', '--json'])
  await teardownDumpNs(ns, o.dumpPairs, tmp)
  log(`profile: churn, ${o.pairs} pairs`)
  for (const by of ['name', 'raw'] as const) {
    const host = `bench-prof-host-${by}`
    const pods = `bench-prof-pods-${by}`
    await nsAdd(host)
    await nsAdd(pods)
    await mustRun(...inNs(host, 'sh', ['-c', `ip link set lo up && ip link add ${BRIDGE} type bridge && ip link set ${BRIDGE} up`]))
    await prof(`churn-by-${by}`, host, [WORKER, JSON.stringify({ op: 'churn', pods, pairs: o.pairs, delete: 10, bridge: BRIDGE, by } satisfies WorkerArgs)])
    await mustRun('ip', ['netns', 'del', pods])
    await waitNoVeth(host)
    await mustRun('ip', ['netns', 'del', host])
  }
  const text = texts.join('\n')
  writeFileSync(join(dir, 'summary.txt'), text)
  return text
}

// ------------------------------------------------------------------------------------------------
// Report

/** A target judged on wall-time medians, and again on CPU time (user + sys), which a busy machine disturbs less. */
interface Target { name: string; value: number; goal: string; pass: boolean; detail: string; cpuValue?: number; cpuPass?: boolean; cpuDetail?: string }

interface Report {
  meta: Record<string, unknown>
  options: Omit<Options, 'only' | 'out'> & { only: string[] }
  dump?: DumpSection
  churn?: ChurnRun[]
  cli?: CliSection
  targets: Target[]
  table: string
}

const pool = (rs: DumpResult[]): number[] => rs.flatMap((r) => r.samples)
const maxOf = (xs: number[]): number => (xs.length ? Math.max(...xs) : NaN)

function render(rep: Report): string {
  const L: string[] = []
  const t = rep.targets
  if (rep.dump) {
    const d = rep.dump
    L.push(`### Dump: ${d.links} links, ${d.addrs} addresses in one namespace (IPv6 off)`, '')
    L.push('In-process rows: warm calls, each measurement in a fresh process; `ip` rows: whole processes (hyperfine). ' +
      '"× podnet" is the row\'s median over podnet\'s median (above 1: podnet is faster).', '')
    L.push('| dump | tool | wall ms: median [min–max] (n) | CPU ms | 1st call ms | peak RSS MB | × podnet |')
    L.push('|---|---|---|---|---|---|---|')
    for (const what of ['links', 'addrs'] as const) {
      const p = summarize(pool(d.podnet[what]))
      const ip = what === 'links' ? d.ip.links : d.ip.addrs
      const row = (tool: string, rs: DumpResult[], ratio: boolean): string => {
        const s = summarize(pool(rs))
        return `| ${what} | ${tool} | ${fmtRange(s)} (${s.n}) | ${fmtMs(median(rs.flatMap((r) => r.cpuSamples)))} | ${fmtMs(median(rs.map((r) => r.cold)))} | ${fmtMb(maxOf(rs.map((r) => r.maxRssKb)))} | ${ratio ? fmtX(s.median / p.median) : ''} |`
      }
      L.push(row(what === 'links' ? 'podnet `rt.link.list()`' : 'podnet `rt.addr.list()`', d.podnet[what], false))
      L.push(row('podnet socket, nothing decoded (floor)', d.floor[what], true))
      L.push(row(what === 'links' ? 'pyroute2 `get_links()`' : 'pyroute2 `get_addr()`', d.pyroute2[what], true))
      L.push(`| ${what} | \`ip -j ${what === 'links' ? 'link' : 'addr'} show\` (process) | ${fmtMs(ip.median)} [${fmtMs(ip.min)}–${fmtMs(ip.max)}] (${ip.times.length}) | ${fmtMs(ip.user + ip.system)} | | ${fmtMb(what === 'links' ? d.ip.linksRssKb : d.ip.addrsRssKb)} | ${fmtX(ip.median / p.median)} |`)
    }
    const pb = median(pool(d.podnet.links)) + median(pool(d.podnet.addrs))
    const yb = median(pool(d.pyroute2.links)) + median(pool(d.pyroute2.addrs))
    const ib = d.ip.links.median + d.ip.addrs.median
    L.push('')
    L.push(`Links + addresses (sum of medians): podnet ${fmtMs(pb)} ms, pyroute2 ${fmtMs(yb)} ms (${fmtX(yb / pb)}), \`ip -j link show\` + \`ip -j addr show\` ${fmtMs(ib)} ms (${fmtX(ib / pb)}). ` +
      `RSS before the first request: podnet worker (node + podnet loaded) ${fmtMb(maxOf(d.podnet.links.map((r) => r.baselineRssKb)))} MB, pyroute2 after import ${fmtMb(maxOf(d.pyroute2.links.map((r) => r.baselineRssKb)))} MB.`, '')
  }
  if (rep.churn?.length) {
    const c = rep.churn
    const n = rep.options.pairs
    L.push(`### Churn: ${n} veth pairs, peer in a second namespace: create, /32 on the peer, both up, host end into ${BRIDGE}; then delete`, '')
    L.push('| tool | create all: median [min–max] ms | per pair ms | first 100 ms/pair | last 100 ms/pair | last/first | peak RSS MB | CPU ms of create: user + sys | delete one by one, ms/pair | runs |')
    L.push('|---|---|---|---|---|---|---|---|---|---|')
    for (const tool of TOOLS) {
      const rs = c.filter((r) => r.tool === tool)
      if (!rs.length) continue
      const cr = summarize(rs.map((r) => r.createMs))
      const f = rs.map((r) => r.first100).filter((x): x is number => x !== undefined)
      const l = rs.map((r) => r.last100).filter((x): x is number => x !== undefined)
      const ratio = summarize(rs.flatMap((r) => (r.first100 !== undefined && r.last100 !== undefined ? [r.last100 / r.first100] : [])))
      const dl = summarize(rs.map((r) => r.deleteMs / r.deleted))
      const label: Record<Tool, string> = {
        podnet: 'podnet, by name (async API, one process)',
        'podnet (ifindexes)': 'podnet, by ifindex (from the creation echo)',
        'podnet (socket floor)': 'podnet socket + request builders, no lookups, no decoding (floor)',
        'ip -batch': '`ip -batch` (2 processes: host, pods)',
        pyroute2: 'pyroute2 (one process, pushns)',
      }
      L.push(`| ${label[tool]} | ${fmtRange(cr)} | ${fmtMs(cr.median / n)} | ${f.length ? fmtMs(median(f)) : '–'} | ${l.length ? fmtMs(median(l)) : '–'} | ${ratio.n ? fmtX(ratio.median) : '–'} | ${fmtMb(maxOf(rs.map((r) => r.rssKb)))} | ${fmtMs(median(rs.map((r) => r.userMs)))} + ${fmtMs(median(rs.map((r) => r.sysMs)))} | ${fmtRange(dl)} | ${rs.length} |`)
    }
    L.push('')
    L.push(`ms per pair in successive blocks of ${BUCKET} pairs (median over runs):`, '')
    for (const tool of TOOLS) {
      const rs = c.filter((r) => r.tool === tool && r.buckets)
      if (!rs.length) continue
      const nb = Math.min(...rs.map((r) => r.buckets?.length ?? 0))
      const med = Array.from({ length: nb }, (_, k) => median(rs.map((r) => r.buckets?.[k] ?? NaN)))
      L.push(`- ${tool}: ${med.map(fmtMs).join(', ')}`)
    }
    const gd = summarize(c.map((r) => r.groupDelMs / r.groupDeleted))
    const gs = summarize(c.map((r) => r.groupSetMs / r.groupDeleted))
    const nsCall = summarize(c.map((r) => r.nsDelCallMs))
    const nsGone = summarize(c.map((r) => r.nsGoneMs / r.nsDeleted))
    const nsGoneTotal = summarize(c.map((r) => r.nsGoneMs))
    L.push('')
    L.push('Deleting in bulk (every run, whatever the tool; the kernel does one RCU wait per batch):', '')
    L.push('| how | ms per pair: median [min–max] | total |')
    L.push('|---|---|---|')
    L.push(`| one RTM_DELLINK per pair (above, podnet) | ${fmtRange(summarize(c.filter((r) => r.tool === 'podnet').map((r) => r.deleteMs / r.deleted)))} | ${rep.options.deletePairs} pairs |`)
    L.push(`| \`ip link set hN group 77\` ×${rep.options.deletePairs} (one batch), then \`ip link del group 77\` | set ${fmtRange(gs)} + del ${fmtRange(gd)} | del ${fmtMs(median(c.map((r) => r.groupDelMs)))} ms for ${rep.options.deletePairs} pairs |`)
    L.push(`| \`ip netns del PODS\` with ${c[0]?.nsDeleted ?? '?'} pairs left: until the host ends are gone | ${fmtRange(nsGone)} | call ${fmtMs(nsCall.median)} ms, gone after ${fmtRange(nsGoneTotal)} ms |`)
    L.push('')
  }
  if (rep.cli) {
    L.push('### CLI: whole-process wall time (hyperfine, -N, 3 warm-ups)', '')
    L.push('| command | where | median ms [min–max] | CPU ms (user+sys, mean) | peak RSS MB |')
    L.push('|---|---|---|---|---|')
    for (const w of rep.cli.where) {
      for (const [name, r] of Object.entries(w.results)) {
        L.push(`| \`${name}\` | ${w.ns} (${w.links} links) | ${fmtMs(r.median)} [${fmtMs(r.min)}–${fmtMs(r.max)}] (n=${r.times.length}) | ${fmtMs(r.user + r.system)} | ${fmtMb(r.rssKb)} |`)
      }
    }
    L.push('')
  }
  if (t.length) {
    L.push('### Targets (issues 2 and 9)', '')
    L.push('Judged on wall-time medians; the CPU columns judge the same ratio on CPU time (user + sys), which other load on the machine disturbs less.', '')
    L.push('| target | goal | wall: measured | wall | CPU: measured | CPU |')
    L.push('|---|---|---|---|---|---|')
    for (const x of t) L.push(`| ${x.name} | ${x.goal} | ${x.detail} | ${x.pass ? 'PASS' : 'MISS'} | ${x.cpuDetail ?? '–'} | ${x.cpuPass === undefined ? '–' : x.cpuPass ? 'PASS' : 'MISS'} |`)
    L.push('')
  }
  return L.join('\n')
}

function targets(rep: Report): Target[] {
  const out: Target[] = []
  /** "a / b" with its ratio, judged against the goal. */
  const judge = (a: number, b: number, ok: (r: number) => boolean): { value: number; pass: boolean; detail: string } =>
    ({ value: a / b, pass: ok(a / b), detail: `${fmtMs(a)} / ${fmtMs(b)} ms = ${fmtX(a / b)}` })
  const target = (name: string, goal: string, ok: (r: number) => boolean, wall: [number, number], cpu: [number, number]): Target => {
    const w = judge(wall[0], wall[1], ok)
    const c = judge(cpu[0], cpu[1], ok)
    return { name, goal, ...w, cpuValue: c.value, cpuPass: c.pass, cpuDetail: c.detail }
  }
  if (rep.dump) {
    const d = rep.dump
    for (const what of ['links', 'addrs'] as const) {
      const cpu = (rs: DumpResult[]): number => median(rs.flatMap((r) => r.cpuSamples))
      const p = median(pool(d.podnet[what]))
      const py = median(pool(d.pyroute2[what]))
      const ip = what === 'links' ? d.ip.links : d.ip.addrs
      const label = what === 'links' ? 'link dump' : 'address dump'
      out.push(target(`${label}: pyroute2 / podnet`, '≥ 20×', (r) => r >= 20, [py, p], [cpu(d.pyroute2[what]), cpu(d.podnet[what])]))
      out.push(target(`${label}: \`ip -j\` process / podnet`, '≥ 2×', (r) => r >= 2, [ip.median, p], [ip.user + ip.system, cpu(d.podnet[what])]))
    }
  }
  if (rep.churn?.length) {
    const c = rep.churn
    const of = (tool: Tool): ChurnRun[] => c.filter((r) => r.tool === tool)
    const wall = (tool: Tool): number => median(of(tool).map((r) => r.createMs))
    const cpu = (tool: Tool): number => median(of(tool).map((r) => r.userMs + r.sysMs))
    if (of('podnet').length && of('ip -batch').length) {
      out.push(target('churn create: podnet / `ip -batch`', '≤ 1.3×', (r) => r <= 1.3, [wall('podnet'), wall('ip -batch')], [cpu('podnet'), cpu('ip -batch')]))
    }
    if (of('podnet').length && of('pyroute2').length) {
      out.push(target('churn create: pyroute2 / podnet', '≥ 3×', (r) => r >= 3, [wall('pyroute2'), wall('podnet')], [cpu('pyroute2'), cpu('podnet')]))
    }
    const ratios = of('podnet').filter((r) => r.first100 !== undefined && r.last100 !== undefined).map((r) => (r.last100 as number) / (r.first100 as number))
    if (ratios.length) {
      const rm = median(ratios)
      out.push({ name: 'churn create: podnet last 100 / first 100 (per pair)', value: rm, goal: '≤ 1.2×', pass: rm <= 1.2, detail: `median over runs ${fmtX(rm)} [${fmtX(Math.min(...ratios))}–${fmtX(Math.max(...ratios))}]` })
    }
  }
  if (rep.cli) {
    // issue 9: start-up (ms)
    const at = (pred: (w: CliSection['where'][number]) => boolean, name: string): (HyperfineResult & { rssKb: number }) | undefined =>
      rep.cli?.where.find(pred)?.results[name]
    const quiet = (w: CliSection['where'][number]): boolean => w.links <= 1
    const base = at(quiet, 'node -e 0')
    const imp = at(quiet, 'node: import podnet (library index)')
    if (base && imp) {
      const over = imp.median - base.median
      const overCpu = imp.user + imp.system - base.user - base.system
      out.push({ name: 'import podnet: over `node -e 0`', value: over, goal: '≤ 30 ms', pass: over <= 30, detail: `${fmtMs(imp.median)} - ${fmtMs(base.median)} ms = ${fmtMs(over)} ms`, cpuValue: overCpu, cpuPass: overCpu <= 30, cpuDetail: `${fmtMs(overCpu)} ms` })
    }
    const ls = at((w) => w.links >= 2000, 'podnet link ls --json')
    if (ls) {
      const ms = ls.median
      const cpuMs = ls.user + ls.system
      out.push({ name: '`podnet link ls --json` at 2,003 links', value: ms, goal: '≤ 150 ms', pass: ms <= 150, detail: `${fmtMs(ms)} ms`, cpuValue: cpuMs, cpuPass: cpuMs <= 150, cpuDetail: `${fmtMs(cpuMs)} ms` })
    }
  }
  return out
}

/**
 * NODE_EXTRA_CA_CERTS makes every node process parse a CA bundle at start-up (+130 ms here); it
 * has nothing to do with podnet, so the bench's children run without it (one CLI row keeps it).
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS
delete process.env.NODE_EXTRA_CA_CERTS

function writeReport(rep: Report, out: string): void {
  const meta = rep.meta
  rep.targets = targets(rep)
  rep.table = render(rep)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'netlink.json'), JSON.stringify(rep, null, 1) + '\n')
  const la = (x: unknown): string => (Array.isArray(x) ? x.map((v) => Number(v).toFixed(2)).join(' ') : '?')
  const head = `podnet netlink bench — ${String(meta.date)}, kernel ${String(meta.kernel)}, node ${String(meta.node)}, ${String(meta.cpus)}; ` +
    `load average ${la(meta.loadavgBefore)} before, ${la(meta.loadavgAfter)} after; ${String(meta.durationS)} s`
  writeFileSync(join(out, 'netlink.md'), `${head}\n\n${rep.table}`)
  process.stdout.write(`\n${head}\n\n${rep.table}\n`)
  log(`wrote ${join(out, 'netlink.json')} and netlink.md`)
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const ri = argv.indexOf('--render')
  if (ri >= 0) {
    // re-render a results file (e.g. after a change to the table), without measuring anything
    const file = argv[ri + 1] ?? join(ROOT, 'bench/results/netlink.json')
    writeReport(JSON.parse(readFileSync(file, 'utf8')) as Report, dirname(resolve(file)))
    return
  }
  assertSandboxed()
  const o = parseArgs(argv)
  const tmp = mkdtempSync(join(tmpdir(), 'podnet-bench-'))
  const started = new Date()
  const load0 = loadavg()
  const t0 = nowMs()
  const version = async (cmd: string, args: string[]): Promise<string> => (await run(cmd, args)).stdout.trim().split('\n')[0] ?? ''
  const meta: Record<string, unknown> = {
    date: started.toISOString(),
    kernel: release(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    iproute2: await version('ip', ['-V']),
    python: await version(PY, ['--version']),
    pyroute2: await version(PY, ['-c', 'import importlib.metadata as m; print(m.version("pyroute2"))']),
    hyperfine: await version('hyperfine', ['--version']),
    loadavgBefore: load0,
    nodeExtraCaCertsRemoved: EXTRA_CA ?? null,
  }
  const options: Report['options'] = {
    pairs: o.pairs, dumpPairs: o.dumpPairs, churnRuns: o.churnRuns, dumpRounds: o.dumpRounds, podnetIters: o.podnetIters,
    pyLinkIters: o.pyLinkIters, pyAddrIters: o.pyAddrIters, hyperfineRuns: o.hyperfineRuns, deletePairs: o.deletePairs, only: [...o.only],
  }
  const rep: Report = { meta, options, targets: [], table: '' }
  if (o.only.has('profile')) {
    try {
      process.stdout.write(await profileAll(o, tmp))
      log(`wrote ${join(o.out, 'profiles', 'netlink')}`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    return
  }
  try {
    if (o.only.has('dump')) rep.dump = await benchDump(o, tmp)
    if (o.only.has('cli')) rep.cli = await benchCli(o, tmp, rep.dump ? 'bench-dump' : undefined)
    if (rep.dump) await teardownDumpNs('bench-dump', o.dumpPairs, tmp)
    if (o.only.has('churn')) rep.churn = await benchChurn(o, tmp)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  meta.loadavgAfter = loadavg()
  meta.durationS = Math.round((nowMs() - t0) / 1000)
  writeReport(rep, o.out)
}

await main()
