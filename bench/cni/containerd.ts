/**
 * CNI bench, through containerd (issue 12): what the kubelet waits for. Two containerd 1.6
 * instances of their own (test/support/cri/containerd.ts) in one node namespace, one with
 * podnet-cni (the forwarder and `podnet cni serve`), one with the reference chain (bridge +
 * host-local + portmap, and the loopback plugin both call), the same conflist fields (gateway,
 * masquerade, hairpin, the portMappings capability). A minimal CRI client does the kubelet's
 * calls: RunPodSandbox with one hostPort, StopPodSandbox, RemovePodSandbox, interleaved pod by
 * pod between the two chains, so a busy moment of the machine hits both. A third column runs
 * podnet-cni without its daemon (the forwarder execs the Node plugin).
 *
 * Runs inside the sandbox (bench/cni/run.sh). Results: bench/cni/results/cri.json and cri.md.
 *
 *   node dist/bench/cni/containerd.js [--pods N] [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCni } from '../../src/cni/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { createTopology } from '../../src/testing/index.js'
import type { PodSandboxConfig } from '../../test/support/cri/client.js'
import { Containerd } from '../../test/support/cri/containerd.js'
import { pauseImage } from '../../test/support/cri/images.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '../../..')
const resultsDir = join(repo, 'bench/cni/results')
const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const PODS = Number(flag('--pods') ?? (args.includes('--quick') ? 15 : 40))

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] ?? NaN
}
const f1 = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '-')

interface Chain { name: string; ctd: Containerd; run: number[]; stop: number[]; remove: number[] }

async function main(): Promise<void> {
  assertSandboxed()
  const started = new Date().toISOString()
  const load0 = loadavg()
  const topo = createTopology()
  const dir = mkdtempSync('/tmp/podnet-cri-bench-')
  const chains: Chain[] = []
  let daemon: ChildProcess | undefined
  try {
    const pause = pauseImage(dir)
    // podnet-cni: forwarder + daemon; and the same install with no daemon (its socket never exists)
    const pn = await installCni({ binDir: join(dir, 'pn/bin'), confDir: join(dir, 'pn/net.d'), network: 'podnet', subnet: '10.240.0.0/16', stateDir: join(dir, 'pn/state'), socket: join(dir, 'cni.sock') })
    const pnNo = await installCni({ binDir: join(dir, 'pn-nodaemon/bin'), confDir: join(dir, 'pn-nodaemon/net.d'), network: 'podnet-nd', bridge: 'pn-nd', subnet: '10.241.0.0/16', stateDir: join(dir, 'pn-nodaemon/state'), socket: join(dir, 'none.sock') })
    for (const r of [pn, pnNo]) if (!r.forwarder || r.mode !== 'bundle') throw new Error(`podnet-cni install: ${r.forwarderError ?? r.bundleError}`)
    // the reference chain
    const refBin = join(dir, 'ref/bin')
    mkdirSync(refBin, { recursive: true })
    mkdirSync(join(dir, 'ref/net.d'), { recursive: true })
    writeFileSync(join(dir, 'ref/net.d/10-ref.conflist'), JSON.stringify({
      cniVersion: '1.0.0', name: 'ref',
      plugins: [
        { type: 'bridge', bridge: 'cni-ref0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.242.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }, null, 2))
    for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) copyFileSync(`/usr/lib/cni/${p}`, join(refBin, p))
    for (const b of [pn, pnNo]) copyFileSync('/usr/lib/cni/loopback', join(dirname(b.executable), 'loopback'))

    const start = async (name: string, sub: string, bin: string, conf: string): Promise<Chain> => {
      const ctd = await Containerd.start({ dir: join(dir, sub, 'containerd'), netnsPath: topo.host.ns.path, cniBinDir: bin, cniConfDir: conf, sandboxImage: pause.name })
      ctd.importImage(pause.oci)
      const c = { name, ctd, run: [], stop: [], remove: [] }
      chains.push(c)
      return c
    }
    const podnet = await start('podnet-cni (forwarder + `podnet cni serve`)', 'pn', dirname(pn.executable), join(dir, 'pn/net.d'))
    const [cmd, ...rest] = [...podnet.ctd.enter(), process.execPath, join(repo, 'bin/podnet.js'), 'cni', 'serve', '--socket', pn.socket]
    daemon = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.once('data', () => resolve())
      daemon!.once('exit', (c) => reject(new Error(`podnet cni serve exited with ${c}`)))
    })
    await start('podnet-cni without the daemon (forwarder -> Node plugin)', 'pn-nodaemon', dirname(pnNo.executable), join(dir, 'pn-nodaemon/net.d'))
    await start('reference: bridge + host-local + portmap', 'ref', refBin, join(dir, 'ref/net.d'))

    process.stderr.write(`cri bench: ${PODS} sandboxes x ${chains.length} chains, interleaved\n`)
    // one warm-up sandbox per chain (first-use costs: the bridge, nf_tables/iptables tables, the daemon's JIT)
    for (let i = -1; i < PODS; i++) {
      for (const [t, c] of chains.entries()) {
        const cri = c.ctd.client()
        const config: PodSandboxConfig = {
          metadata: { name: `b${t}-${i}`, uid: `uid-${t}-${i}`, namespace: 'bench', attempt: 0 },
          hostname: `b${t}-${i}`,
          portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 20000 + t * 1000 + i + 1 }],
          linux: { cgroupParent: c.ctd.cgroupParent },
        }
        let t0 = performance.now()
        const id = await cri.runPodSandbox(config)
        const run = performance.now() - t0
        t0 = performance.now()
        await cri.stopPodSandbox(id)
        const stop = performance.now() - t0
        t0 = performance.now()
        await cri.removePodSandbox(id)
        const remove = performance.now() - t0
        if (i >= 0) { c.run.push(run); c.stop.push(stop); c.remove.push(remove) }
      }
      if ((i + 1) % 10 === 0) process.stderr.write(`  ${i + 1}/${PODS}\n`)
    }

    const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), min: Math.min(...xs), max: Math.max(...xs) })
    const result = {
      suite: 'cni-cri', started, finished: new Date().toISOString(), pods: PODS, node: process.version, cpus: cpus().length,
      containerd: (await chains[0]!.ctd.client().version()).runtimeVersion,
      loadavgStart: load0, loadavgEnd: loadavg(),
      chains: chains.map((c) => ({ name: c.name, runPodSandbox: stats(c.run), stopPodSandbox: stats(c.stop), removePodSandbox: stats(c.remove) })),
    }
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'cri.json'), `${JSON.stringify(result, null, 2)}\n`)
    const ref = result.chains[result.chains.length - 1]!
    const vs = (a: number, b: number): string => `${(b / a).toFixed(2)}x`
    const lines = [
      `# CNI through containerd ${result.containerd}'s CRI: ${PODS} sandboxes per chain, ${started} (node ${process.version}, ${cpus().length} CPUs, load ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${result.loadavgEnd.map((x) => x.toFixed(1)).join(' ')})`,
      '',
      '| chain | RunPodSandbox p50 | p95 | StopPodSandbox p50 | p95 | RemovePodSandbox p50 | p95 | Run / Stop / Remove vs reference (p50) |',
      '|---|---|---|---|---|---|---|---|',
      ...result.chains.map((c) => `| ${c.name} | ${f1(c.runPodSandbox.p50)} | ${f1(c.runPodSandbox.p95)} | ${f1(c.stopPodSandbox.p50)} | ${f1(c.stopPodSandbox.p95)} | ${f1(c.removePodSandbox.p50)} | ${f1(c.removePodSandbox.p95)} | ${vs(c.runPodSandbox.p50, ref.runPodSandbox.p50)} / ${vs(c.stopPodSandbox.p50, ref.stopPodSandbox.p50)} / ${vs(c.removePodSandbox.p50, ref.removePodSandbox.p50)} faster |`),
      '',
    ]
    writeFileSync(join(resultsDir, 'cri.md'), lines.join('\n'))
    process.stdout.write(lines.join('\n'))
  } finally {
    for (const c of chains) await c.ctd.close()
    if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM')
    topo.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cri bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
