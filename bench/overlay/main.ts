/**
 * Overlay bench (issue 14), inside the sandbox on a createCluster() cluster with real etcd:
 *   convergence   time from a node's subnet write (its 'subnet' event, right after the claim
 *                 transaction) to the peer being programmed on every other node, over repeated joins
 *   scale         N synthetic nodes written into etcd (one lease, 64 puts per transaction); time
 *                 for one agent (a `podnet node run` process) to program them all, per-node cost of
 *                 the first and last tenth, agent RSS and CPU idle and during the sync; the kernel
 *                 floor: the same routes/neighbours with `ip -batch` plus FDB entries with `bridge -batch`
 *   loss          time from a crash (no release) to removal on the others, minus the TTL
 *   data plane    iperf3, one stream, 4 s, in interleaved rounds: node to node over the underlay, pod
 *                 to pod over VXLAN, pod to pod with direct routing, the two pod paths again with the
 *                 nodes' nf_tables rules taken out (podnet's own cost), and the same three paths
 *                 built with ip alone (bare.ts: the kernel's cost)
 * Writes bench/results/overlay.json and .md.
 * usage: bench/overlay/run.sh [--joins N] [--synthetic N] [--iperf-runs N] [--iperf-seconds S]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync, writeFileSync as wf } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOverlayNetwork } from '../../src/overlay/admin.js'
import { subnetKey, nodeSubnet, overlayConfigFromSpec } from '../../src/overlay/model.js'
import { createCluster, createTempNetns } from '../../src/testing/index.js'
import { percentile, sleep, nowMs } from '../network/lib.js'
import { buildBare } from './bare.js'

const args = process.argv.slice(2)
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : def
}
const JOINS = opt('--joins', 20)
const SYNTH = opt('--synthetic', 1000)
const IPERF_RUNS = opt('--iperf-runs', 6)
const IPERF_SECONDS = opt('--iperf-seconds', 4)
const here = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(here, '../../../bench/results')

function procStat(pid: number): { rssKb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return { rssKb, cpuTicks: Number(f[11]) + Number(f[12]) }
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = { date: new Date().toISOString(), joins: JOINS, synthetic: SYNTH }
  const c = await createCluster({ nodes: 3, etcdMembers: 3, agents: false, leaseTtl: 3 })
  try {
    const store = c.node(1).store()
    await createOverlayNetwork(store, { name: 'ov', subnet: '10.244.0.0/16' })
    await createOverlayNetwork(store, { name: 'dr', subnet: '10.245.0.0/16', vni: 3, directRouting: true })
    for (const i of [1, 2]) await c.startAgent(i)

    // 1. convergence: measured from node-3's 'subnet' event to the last peer-added on nodes 1 and 2
    const conv: number[] = []
    for (let k = 0; k < JOINS; k++) {
      let t0 = 0
      const seen = new Set<number>()
      let done!: () => void
      const all = new Promise<void>((r) => { done = r })
      const fns = [1, 2].map((i) => {
        const fn = (net: string, p: { node: string }): void => {
          if (net === 'ov' && p.node === 'node-3') { seen.add(i); if (seen.size === 2) done() }
        }
        c.node(i).agent!.on('peer-added', fn)
        return [i, fn] as const
      })
      const { OverlayAgent } = await import('../../src/overlay/agent.js')
      const proto = OverlayAgent.prototype as unknown as { emit: (...a: unknown[]) => boolean }
      const orig = proto.emit
      proto.emit = function (this: { node: string }, ...a: unknown[]) {
        if (a[0] === 'subnet' && a[1] === 'ov' && this.node === 'node-3' && !t0) t0 = nowMs()
        return orig.apply(this, a)
      }
      try {
        await c.startAgent(3)
        await Promise.race([all, sleep(5000)])
      } finally {
        proto.emit = orig
      }
      if (seen.size === 2 && t0) conv.push(nowMs() - t0)
      for (const [i, fn] of fns) c.node(i).agent!.off('peer-added', fn)
      await c.stopAgent(3)
      await sleep(50)
    }
    result.convergence = { runs: conv.length, p50Ms: percentile(conv, 50), p95Ms: percentile(conv, 95), maxMs: Math.max(...conv) }
    console.log('convergence', result.convergence)

    // 2. node loss: crash node 3 (no release), time until nodes 1 and 2 removed it
    await c.startAgent(3)
    let lost = 0
    const removedAt = new Promise<void>((r) => {
      let n = 0
      for (const i of [1, 2]) c.node(i).agent!.on('peer-removed', (net, p) => { if (net === 'ov' && p.node === 'node-3' && ++n === 2) r() })
    })
    const tc = nowMs()
    await c.stopAgent(3, { keep: true })
    await Promise.race([removedAt, sleep(10000)])
    lost = nowMs() - tc
    result.nodeLoss = { ttlS: 3, detectMs: lost, overTtlMs: lost - 3000 }
    console.log('node loss', result.nodeLoss)

    // 3. data plane: iperf3 node to node (underlay), pod to pod (vxlan), pod to pod (direct routing)
    await c.startAgent(3)
    await sleep(300)
    const iperf = (clientNs: string, serverNs: string, addr: string): number => {
      const srv = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', addr], { stdio: 'ignore' })
      spawnSync('sleep', ['0.4'])
      const r = spawnSync('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', addr, '-t', String(IPERF_SECONDS), '-J'], { encoding: 'utf8' })
      srv.kill()
      try {
        return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9
      } catch {
        return NaN
      }
    }
    const p1 = await c.pod(1, 'ov'), p3 = await c.pod(3, 'ov')
    const d1 = await c.pod(1, 'dr'), d3 = await c.pod(3, 'dr')
    // IPERF_RUNS rounds, the three paths interleaved in each (load that comes and goes hits them alike); medians
    // the peer: the same paths built by hand with ip (no nf_tables, no podnet), in the same rounds
    const bare = buildBare()
    // podnet's own share: the same two pod paths with the node namespaces' nf_tables rulesets taken
    // out for the run (saved with `nft list ruleset`, restored with `nft -f`): what conntrack and the
    // NAT and forward rules cost, apart from the kernel path the overlay is built of
    const nodeNs = [c.node(1).ns.name, c.node(3).ns.name]
    const withoutRules = (run: () => number): number => {
      const saved = nodeNs.map((ns) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }))
      for (const ns of nodeNs) execFileSync('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset'])
      try {
        return run()
      } finally {
        nodeNs.forEach((ns, i) => execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: saved[i] }))
      }
    }
    type Round = { underlay: number; vxlan: number; direct: number; vxlanNoRules: number; directNoRules: number; bareUnderlay: number; bareVxlan: number; bareDirect: number }
    const runs: Round[] = []
    try {
      for (let k = 0; k < IPERF_RUNS; k++) {
        runs.push({
          underlay: iperf(c.node(1).ns.name, c.node(3).ns.name, c.node(3).address),
          vxlan: iperf(p1.ns.name, p3.ns.name, p3.ip),
          direct: iperf(d1.ns.name, d3.ns.name, d3.ip),
          vxlanNoRules: withoutRules(() => iperf(p1.ns.name, p3.ns.name, p3.ip)),
          directNoRules: withoutRules(() => iperf(d1.ns.name, d3.ns.name, d3.ip)),
          bareUnderlay: iperf(bare.underlay.client, bare.underlay.server, bare.underlay.addr),
          bareVxlan: iperf(bare.vxlan.client, bare.vxlan.server, bare.vxlan.addr),
          bareDirect: iperf(bare.direct.client, bare.direct.server, bare.direct.addr),
        })
        console.log('round', k + 1, runs.at(-1))
      }
    } finally {
      bare.close()
    }
    const med = (k: 'underlay' | 'vxlan' | 'direct'): number => percentile(runs.map((r) => r[k]).filter((x) => !Number.isNaN(x)), 50)
    const underlay = med('underlay'), vxlan = med('vxlan'), direct = med('direct')
    // the ratio within each round, then the median of those (a round shares its machine load)
    const ratio = (k: keyof Round, base: keyof Round = 'underlay'): number => percentile(runs.map((r) => r[k] / r[base]).filter((x) => !Number.isNaN(x)), 50)
    result.dataPlane = {
      runs: IPERF_RUNS, underlayGbps: underlay, vxlanGbps: vxlan, directGbps: direct, vxlanRatio: ratio('vxlan'), directRatio: ratio('direct'),
      bare: { vxlanRatio: ratio('bareVxlan', 'bareUnderlay'), directRatio: ratio('bareDirect', 'bareUnderlay'), podnetVxlanOfBare: ratio('vxlan', 'bareVxlan'), podnetDirectOfBare: ratio('direct', 'bareDirect') },
      noRules: { vxlanRatio: ratio('vxlanNoRules'), directRatio: ratio('directNoRules'), vxlanWithRules: ratio('vxlan', 'vxlanNoRules'), directWithRules: ratio('direct', 'directNoRules') },
      rounds: runs,
    }
    console.log('data plane', result.dataPlane)

    // 4. scale: a `podnet node run` process on node 1 ('ov' only), N synthetic nodes written into etcd
    for (const i of [1, 2, 3]) await c.stopAgent(i)
    const bin = join(here, '../../../bin/podnet.js')
    const agent = c.node(1).ns.ns.spawn(process.execPath, [bin, 'node', 'run', '--store', c.storeUrl, '--name', 'node-1', '--underlay', c.node(1).address,
      '--state-dir', c.node(1).stateDir, '--run-dir', c.node(1).runDir, '--lease-ttl', '10'], { stdio: ['ignore', 'pipe', 'inherit'] })
    // the agent prints a line once a peer is programmed (peer-added comes after its netlink requests were acknowledged)
    const added: number[] = []
    let t0 = 0
    const watchAdds = (proc: typeof agent, into: number[], text: { out: string }): void => {
      let partial = ''
      proc.stdout!.on('data', (d: Buffer) => {
        const s = partial + d.toString()
        text.out += d.toString()
        const lines = s.split('\n')
        partial = lines.pop()!
        const t = nowMs()
        for (const l of lines) if (l.includes('network big: + synth-')) into.push(t - t0)
      })
    }
    const text = { out: '' }
    watchAdds(agent, added, text)
    while (!text.out.includes('ready')) await sleep(20)
    await sleep(1000)
    const idle = procStat(agent.pid!)
    await sleep(2000)
    const idle2 = procStat(agent.pid!)
    const cfg = overlayConfigFromSpec({ name: 'ov', subnet: '10.244.0.0/16' })
    const big = overlayConfigFromSpec({ name: 'big', subnet: '10.128.0.0/12', vni: 9 })
    void cfg
    await createOverlayNetwork(store, { name: 'big', subnet: '10.128.0.0/12', vni: 9 })
    while (!text.out.includes('network big: subnet')) await sleep(20)
    const lease = await store.grantLease(120)
    const recs = Array.from({ length: SYNTH }, (_, k) => {
      const subnet = nodeSubnet(big, k + 10)
      const h = (k + 1).toString(16).padStart(4, '0')
      return { node: `synth-${k}`, subnet, gateway: subnet.replace(/0\/24$/, '1'), underlay: `10.99.${(k >> 8) & 255}.${k & 255}`, vtepMac: `02:55:00:00:${h.slice(0, 2)}:${h.slice(2)}` }
    })
    const count = (): number => {
      const r = spawnSync('ip', ['-n', c.node(1).ns.name, 'route', 'show', 'dev', 'pnvx-big'], { encoding: 'utf8' })
      return r.stdout.split('\n').filter((l) => l.includes('onlink')).length
    }
    const cpu0 = procStat(agent.pid!)
    t0 = nowMs()
    for (let k = 0; k < recs.length; k += 64) {
      await store.txn([], recs.slice(k, k + 64).map((r) => ({ put: { key: subnetKey('big', r.subnet), value: JSON.stringify(r), lease: lease.id } })))
    }
    const written = nowMs() - t0
    let peakRss = 0
    while (added.length < SYNTH && nowMs() - t0 < 60000) {
      peakRss = Math.max(peakRss, procStat(agent.pid!).rssKb)
      await sleep(10)
    }
    const converged = added.length >= SYNTH ? added[SYNTH - 1]! : NaN
    const cpu1 = procStat(agent.pid!)
    const oracle = count()
    // flatness: ms per node over the first and the last tenth of the peers programmed
    const tenth = Math.max(1, Math.floor(SYNTH / 10))
    const perNode = (a: number[], from: number, to: number): number => (a[to]! - a[from]!) / (to - from)
    const firstTenth = perNode(added, 0, tenth), lastTenth = perNode(added, SYNTH - 1 - tenth, SYNTH - 1)
    agent.kill('SIGTERM')
    await new Promise((r) => agent.once('exit', r))

    // an agent (re)started on a store that holds the N nodes: its first list programs them all
    const again: number[] = []
    const t2 = nowMs()
    t0 = t2
    const agent2 = c.node(1).ns.ns.spawn(process.execPath, [bin, 'node', 'run', '--store', c.storeUrl, '--name', 'node-1', '--underlay', c.node(1).address,
      '--state-dir', c.node(1).stateDir, '--run-dir', c.node(1).runDir, '--lease-ttl', '10'], { stdio: ['ignore', 'pipe', 'inherit'] })
    watchAdds(agent2, again, { out: '' })
    while (again.length < SYNTH && nowMs() - t2 < 60000) await sleep(10)
    const restart = { startToAllMs: again.length >= SYNTH ? again[SYNTH - 1]! : NaN, firstToAllMs: again.length >= SYNTH ? again[SYNTH - 1]! - again[0]! : NaN, oracleRoutes: count() }
    agent2.kill('SIGTERM')
    await new Promise((r) => agent2.once('exit', r))
    await store.revoke(lease.id)
    // kernel floor: the same objects with ip -batch / bridge -batch in a fresh namespace
    const floorNs = createTempNetns('pn-floor')
    try {
      execFileSync('ip', ['-n', floorNs.name, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1'])
      execFileSync('ip', ['-n', floorNs.name, 'addr', 'add', '10.99.255.254/16', 'dev', 'u0'])
      execFileSync('ip', ['-n', floorNs.name, 'link', 'set', 'u0', 'up'])
      execFileSync('ip', ['-n', floorNs.name, 'link', 'add', 'vx', 'type', 'vxlan', 'id', '9', 'dstport', '4789', 'local', '10.99.255.254', 'dev', 'u0', 'nolearning'])
      execFileSync('ip', ['-n', floorNs.name, 'link', 'set', 'vx', 'up'])
      const fdb = recs.map((r) => `fdb append ${r.vtepMac} dev vx dst ${r.underlay} self permanent`).join('\n') + '\n'
      const ipb = recs.flatMap((r) => [`neigh replace ${r.gateway} lladdr ${r.vtepMac} dev vx nud permanent`, `route replace ${r.subnet} via ${r.gateway} dev vx onlink`]).join('\n') + '\n'
      wf('/tmp/overlay-fdb.batch', fdb)
      wf('/tmp/overlay-ip.batch', ipb)
      const f0 = nowMs()
      execFileSync('bridge', ['-n', floorNs.name, '-batch', '/tmp/overlay-fdb.batch'])
      execFileSync('ip', ['-n', floorNs.name, '-batch', '/tmp/overlay-ip.batch'])
      const floor = nowMs() - f0
      result.scale = {
        nodes: SYNTH, writeMs: written, convergeMs: converged, perNodeMs: converged / SYNTH, ipBatchFloorMs: floor, ratioToFloor: converged / floor,
        oracleRoutes: oracle, firstTenthMsPerNode: firstTenth, lastTenthMsPerNode: lastTenth, restart,
        agentIdleRssMb: idle.rssKb / 1024, agentPeakRssMb: peakRss / 1024, agentIdleCpuPct: ((idle2.cpuTicks - idle.cpuTicks) / 100 / 2) * 100,
        agentSyncCpuS: (cpu1.cpuTicks - cpu0.cpuTicks) / 100,
      }
    } finally {
      floorNs.close()
    }
    console.log('scale', result.scale)
  } finally {
    await c.destroy()
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'overlay.json'), `${JSON.stringify(result, null, 2)}\n`)
  const r = result as any
  const md = [
    `# overlay bench (${r.date})`, '',
    `| measure | value | goal |`, `| --- | --- | --- |`,
    `| convergence p50 / p95 (${r.convergence.runs} joins, 3 nodes) | ${r.convergence.p50Ms.toFixed(1)} / ${r.convergence.p95Ms.toFixed(1)} ms | p95 <= 300 ms |`,
    `| node loss detection (TTL 3 s) | ${(r.nodeLoss.detectMs / 1000).toFixed(2)} s (TTL + ${(r.nodeLoss.overTtlMs / 1000).toFixed(2)} s) | TTL + <= 1 s |`,
    `| ${r.scale.nodes} synthetic nodes: programmed after | ${r.scale.convergeMs.toFixed(0)} ms (${r.scale.perNodeMs.toFixed(2)} ms/node; writes took ${r.scale.writeMs.toFixed(0)} ms) | <= 1 s |`,
    `| ${r.scale.nodes} synthetic nodes: ms per node, first / last tenth programmed (flatness) | ${r.scale.firstTenthMsPerNode.toFixed(2)} / ${r.scale.lastTenthMsPerNode.toFixed(2)} ms (routes read back with ip: ${r.scale.oracleRoutes}) | flat |`,
    `| agent started on a store holding ${r.scale.nodes} nodes: all programmed after (from spawn / from its first peer) | ${r.scale.restart.startToAllMs.toFixed(0)} / ${r.scale.restart.firstToAllMs.toFixed(0)} ms (routes: ${r.scale.restart.oracleRoutes}) | <= 1 s |`,
    `| kernel floor (ip -batch + bridge -batch) | ${r.scale.ipBatchFloorMs.toFixed(0)} ms (podnet ${r.scale.ratioToFloor.toFixed(1)}x) | |`,
    `| agent RSS idle / peak during sync | ${r.scale.agentIdleRssMb.toFixed(1)} / ${r.scale.agentPeakRssMb.toFixed(1)} MB | |`,
    `| agent CPU idle / during sync | ${r.scale.agentIdleCpuPct.toFixed(2)} % / ${r.scale.agentSyncCpuS.toFixed(2)} s | |`,
    `| iperf3 underlay / vxlan / direct (median of ${r.dataPlane.runs} interleaved rounds) | ${r.dataPlane.underlayGbps.toFixed(2)} / ${r.dataPlane.vxlanGbps.toFixed(2)} / ${r.dataPlane.directGbps.toFixed(2)} Gbit/s | |`,
    `| vxlan / underlay, direct / underlay (median of the rounds' ratios) | ${(r.dataPlane.vxlanRatio * 100).toFixed(0)} % / ${(r.dataPlane.directRatio * 100).toFixed(0)} % | >= 80 % / >= 95 % |`,
    `| the same paths built with ip alone (no nf_tables, no podnet): vxlan / underlay, direct / underlay | ${(r.dataPlane.bare.vxlanRatio * 100).toFixed(0)} % / ${(r.dataPlane.bare.directRatio * 100).toFixed(0)} % | (the kernel's own cost) |`,
    `| podnet's pod-to-pod throughput as a share of the bare path's: vxlan / direct | ${(r.dataPlane.bare.podnetVxlanOfBare * 100).toFixed(0)} % / ${(r.dataPlane.bare.podnetDirectOfBare * 100).toFixed(0)} % | |`,
    `| podnet's paths with the nodes' nf_tables rules taken out for the run: vxlan / underlay, direct / underlay | ${(r.dataPlane.noRules.vxlanRatio * 100).toFixed(0)} % / ${(r.dataPlane.noRules.directRatio * 100).toFixed(0)} % | |`,
    `| with the rules (conntrack, NAT, forward accepts) as a share of without: vxlan / direct | ${(r.dataPlane.noRules.vxlanWithRules * 100).toFixed(0)} % / ${(r.dataPlane.noRules.directWithRules * 100).toFixed(0)} % | (podnet's own cost) |`,
  ].join('\n')
  writeFileSync(join(resultsDir, 'overlay.md'), `${md}\n`)
  console.log(md)
}

await main()
