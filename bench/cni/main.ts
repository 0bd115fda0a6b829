/**
 * CNI bench (issue 5): ADD and DEL latency of podnet-cni through its executable, Node start-up
 * included, against the reference chain (Debian's containernetworking-plugins: bridge with
 * host-local, then portmap) driven the same way: one process per plugin, the configuration on
 * stdin, CNI_* and PATH in the environment (as containerd passes them), each pod with one
 * published port (runtimeConfig.portMappings), the chain's ADD result passed to portmap as
 * prevResult, and DEL in reverse plugin order with the cached result.
 *
 * Tools are interleaved pod by pod, so a busy moment of the machine hits all of them. The pod
 * namespaces exist before the timed ADD (the runtime makes them) and go after the timed DEL.
 * A second part measures where podnet-cni's start-up goes: bare Node, Node with the
 * NODE_EXTRA_CA_CERTS this machine sets, the three ways of loading the plugin (modules, one
 * file, one file + code cache), koffi, and the plugin's own work in-process.
 *
 * Runs inside the sandbox (bench/cni/run.sh). Results: bench/cni/results/cni.json and cni.md.
 *
 *   node dist/bench/cni/main.js [--pods N] [--quick] [--startup-runs N]
 */
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns } from '../../src/netns/index.js'
import { Rtnl } from '../../src/netlink/route/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { createPlugin, installCni, runPlugin } from '../../src/cni/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '../../..')
const resultsDir = join(repo, 'bench/cni/results')

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const quick = args.includes('--quick')
const PODS = Number(flag('--pods') ?? (quick ? 40 : 200))
const STARTUP_RUNS = Number(flag('--startup-runs') ?? (quick ? 15 : 40))
const NAME = 'benchnet'

const nowMs = (): number => performance.now()

/** The installed launcher's steps, timed (argv[2]: the .podnet-cni directory). */
const PHASES = `const t0 = performance.now()
const { readFileSync } = require('node:fs')
const { Script } = require('node:vm')
const dir = process.argv[2]
const cachedData = readFileSync(dir + '/podnet-cni.v8cache')
const src = readFileSync(dir + '/podnet-cni.cjs', 'latin1')
const t1 = performance.now()
const script = new Script(src, { filename: dir + '/podnet-cni.cjs', cachedData })
const t2 = performance.now()
const req = script.runInThisContext()(require)
req('src/cni/main.js')
const t3 = performance.now()
req('src/sys/libc.js')
const t4 = performance.now()
req('src/cni/plugin.js')
const t5 = performance.now()
process.stdout.write(JSON.stringify({ boot: t0, read: t1 - t0, compile: t2 - t1, entry: t3 - t2, koffi: t4 - t3, graph: t5 - t4, total: t5 }))
`
const PHASE_NAMES: Record<string, string> = {
  boot: 'Node start-up, until the launcher runs',
  read: 'read the bundle and its code cache',
  compile: 'compile the bundle from the code cache',
  entry: 'evaluate the entry (dispatcher)',
  koffi: 'load koffi\'s native module (libc bindings)',
  graph: 'evaluate the rest of the plugin (bridge, netlink, nftables, IPAM modules)',
  total: 'total, until ADD could start',
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] ?? NaN
}

/** CPU time (ms) of this process's waited-for children (cutime + cstime, USER_HZ = 100). */
function childCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').slice(readFileSync('/proc/self/stat', 'utf8').lastIndexOf(')') + 2).split(' ')
  return (Number(f[13]) + Number(f[14])) * 10
}

interface Run { status: number; stdout: string; stderr: string; ms: number }

/** One process in the host namespace: env and stdin as a runtime gives them. */
function run(host: Netns, file: string, env: Record<string, string>, stdin: string, argv: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs()
    const child = host.spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (b: Buffer) => out.push(b))
    child.stderr!.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) => resolve({ status: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: nowMs() - t0 }))
    child.stdin!.end(stdin)
  })
}

const cniEnv = (command: string, id: string, netns: string, cniPath: string): Record<string, string> => ({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0',
  CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${id}`, CNI_PATH: cniPath,
})

/** A CNI client for one tool: ADD and DEL of one pod, each a sequence of plugin processes. */
interface Tool {
  name: string
  add(id: string, netns: string, hostPort: number): Promise<void>
  del(id: string, netns: string, hostPort: number): Promise<void>
  processesPerAdd: string
}

function podnetTool(name: string, host: Netns, exe: string, stateDir: string, subnet: string, bridge: string): Tool {
  const conf = (hostPort: number, prev?: unknown): string => JSON.stringify({
    cniVersion: '1.0.0', name: `${NAME}-${bridge}`, type: 'podnet-cni', bridge, isGateway: true, ipMasq: true, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
    capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    podnet: { stateDir, runDir: join('/run/podnet-bench', bridge) },
    ...(prev !== undefined && { prevResult: prev }),
  })
  const results = new Map<string, unknown>()
  return {
    name,
    processesPerAdd: '1 (podnet-cni)',
    async add(id, netns, hostPort) {
      const r = await run(host, exe, cniEnv('ADD', id, netns, dirname(exe)), conf(hostPort))
      if (r.status !== 0) throw new Error(`${name} ADD ${id}: ${r.stdout}${r.stderr}`)
      results.set(id, JSON.parse(r.stdout))
    },
    async del(id, netns, hostPort) {
      const r = await run(host, exe, cniEnv('DEL', id, netns, dirname(exe)), conf(hostPort, results.get(id)))
      if (r.status !== 0) throw new Error(`${name} DEL ${id}: ${r.stdout}${r.stderr}`)
    },
  }
}

function referenceTool(host: Netns, dataDir: string, subnet: string, bridge: string): Tool {
  const cniPath = '/usr/lib/cni'
  const bridgeConf = {
    cniVersion: '1.0.0', name: NAME, type: 'bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
  }
  const portmap = (hostPort: number) => ({ cniVersion: '1.0.0', name: NAME, type: 'portmap', capabilities: { portMappings: true }, snat: true, runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } })
  const results = new Map<string, unknown>()
  const call = async (plugin: string, command: string, id: string, netns: string, conf: object): Promise<string> => {
    const r = await run(host, `${cniPath}/${plugin}`, cniEnv(command, id, netns, cniPath), JSON.stringify(conf))
    if (r.status !== 0) throw new Error(`${plugin} ${command} ${id}: ${r.stdout}${r.stderr}`)
    return r.stdout
  }
  return {
    name: 'reference: bridge + host-local + portmap',
    processesPerAdd: 'bridge, host-local, portmap + their iptables',
    async add(id, netns, hostPort) {
      const r1 = JSON.parse(await call('bridge', 'ADD', id, netns, bridgeConf))
      const r2 = await call('portmap', 'ADD', id, netns, { ...portmap(hostPort), prevResult: r1 })
      results.set(id, r2.trim() ? JSON.parse(r2) : r1)
    },
    async del(id, netns, hostPort) {
      const prev = results.get(id)
      await call('portmap', 'DEL', id, netns, { ...portmap(hostPort), prevResult: prev })
      await call('bridge', 'DEL', id, netns, { ...bridgeConf, prevResult: prev })
    },
  }
}

interface Stats { p50: number; p95: number; mean: number; min: number; max: number }
const stats = (xs: number[]): Stats => ({
  p50: percentile(xs, 50), p95: percentile(xs, 95), mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs),
})
const f1 = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '-')

async function main(): Promise<void> {
  assertSandboxed()
  const started = new Date().toISOString()
  const load0 = loadavg()
  const work = mkdtempSync(join(tmpdir(), 'podnet-cni-bench-'))
  const host = Netns.create('cnib-host')
  Rtnl.open({ netns: host }).link.setSync('lo', { up: true })
  const made: string[] = []
  let daemon: ChildProcess | undefined
  try {
    // podnet-cni, installed as a runtime would have it (single file + code cache); the same
    // without its code cache; and the modules launcher (bin/podnet-cni.js)
    const inst = await installCni({ binDir: join(work, 'bin'), confDir: join(work, 'net.d'), network: 'bench' })
    if (inst.mode !== 'bundle') throw new Error(`no single-file build: ${inst.bundleError}`)
    const noCache = await installCni({ binDir: join(work, 'bin-nocache'), confDir: join(work, 'net.d'), network: 'bench', forwarder: false })
    rmSync(join(work, 'bin-nocache', '.podnet-cni', 'podnet-cni.v8cache'))
    // the modules variant runs from a private copy of dist/ (a rebuild of the tree must not change it mid-run)
    cpSync(join(repo, 'dist/src'), join(work, 'podnet/dist/src'), { recursive: true })
    copyFileSync(join(repo, 'package.json'), join(work, 'podnet/package.json'))
    symlinkSync(join(repo, 'node_modules'), join(work, 'podnet/node_modules'))
    const modulesBin = join(work, 'podnet/podnet-cni.mjs')
    writeFileSync(modulesBin, `#!${process.execPath}\nimport { main } from './dist/src/cni/main.js'\nawait main()\n`, { mode: 0o755 })
    // the forwarder with `podnet cni serve` running in the host namespace (same mount namespace as the runtime: this process)
    const served = await installCni({ binDir: join(work, 'bin-served'), confDir: join(work, 'net.d-served'), network: 'bench', socket: join(work, 'cni.sock') })
    if (!served.forwarder) throw new Error(`no forwarder: ${served.forwarderError}`)
    daemon = host.spawn(process.execPath, [join(repo, 'bin/podnet.js'), 'cni', 'serve', '--socket', served.socket], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.once('data', () => resolve())
      daemon!.once('exit', (c) => reject(new Error(`podnet cni serve exited with ${c}`)))
    })
    const tools: Tool[] = [
      podnetTool('podnet-cni: forwarder + `podnet cni serve`', host, served.executable, join(work, 'state-d'), '10.235.0.0/16', 'pnb-d'),
      podnetTool('podnet-cni: installed, no daemon (forwarder -> one file + code cache)', host, inst.executable, join(work, 'state-a'), '10.230.0.0/16', 'pnb-a'),
      podnetTool('podnet-cni: one file, no code cache', host, noCache.executable, join(work, 'state-b'), '10.231.0.0/16', 'pnb-b'),
      podnetTool('podnet-cni: modules (as bin/podnet-cni.js)', host, modulesBin, join(work, 'state-c'), '10.232.0.0/16', 'pnb-c'),
      referenceTool(host, join(work, 'host-local'), '10.233.0.0/16', 'cnib0'),
    ]
    const add = tools.map(() => [] as number[])
    const del = tools.map(() => [] as number[])
    const cpuAdd = tools.map(() => 0)
    const cpuDel = tools.map(() => 0)
    const pods = tools.map((_, t) => Array.from({ length: PODS }, (_x, i) => `b${t}p${i}`))
    for (const list of pods) for (const p of list) { Netns.create(p).close(); made.push(p) }
    process.stderr.write(`cni bench: ${PODS} pods x ${tools.length} tools, interleaved\n`)
    for (let i = 0; i < PODS; i++) {
      for (const [t, tool] of tools.entries()) {
        const id = pods[t]![i]!
        const c0 = childCpuMs()
        const t0 = nowMs()
        await tool.add(id, join('/run/netns', id), 20000 + t * 1000 + i)
        add[t]!.push(nowMs() - t0)
        cpuAdd[t]! += childCpuMs() - c0
      }
      if ((i + 1) % 50 === 0) process.stderr.write(`  ADD ${i + 1}/${PODS}\n`)
    }
    for (let i = 0; i < PODS; i++) {
      for (const [t, tool] of tools.entries()) {
        const id = pods[t]![i]!
        const c0 = childCpuMs()
        const t0 = nowMs()
        await tool.del(id, join('/run/netns', id), 20000 + t * 1000 + i)
        del[t]!.push(nowMs() - t0)
        cpuDel[t]! += childCpuMs() - c0
      }
      if ((i + 1) % 50 === 0) process.stderr.write(`  DEL ${i + 1}/${PODS}\n`)
    }
    for (const p of made.splice(0)) Netns.remove(p)

    // where podnet-cni's start-up goes
    process.stderr.write(`cni bench: start-up, ${STARTUP_RUNS} runs each\n`)
    const clean = { PATH: '/usr/bin:/bin' }
    const koffiPath = join(repo, 'node_modules/koffi')
    const caFile = '/etc/ssl/certs/ca-certificates.crt'
    const startup: Array<[string, () => Promise<Run>]> = [
      ['node -e 0', () => run(host, process.execPath, clean, '', ['-e', '0'])],
      ...(existsSync(caFile) ? [[`node -e 0 with NODE_EXTRA_CA_CERTS=${caFile}`, () => run(host, process.execPath, { ...clean, NODE_EXTRA_CA_CERTS: caFile }, '', ['-e', '0'])]] as Array<[string, () => Promise<Run>]> : []),
      ['node -e "require(\'koffi\')"', () => run(host, process.execPath, clean, '', ['-e', `require(${JSON.stringify(koffiPath)})`])],
      ['VERSION, modules (as bin/podnet-cni.js)', () => run(host, modulesBin, { ...clean, CNI_COMMAND: 'VERSION' }, '')],
      ['VERSION, one file, no code cache', () => run(host, noCache.executable, { ...clean, CNI_COMMAND: 'VERSION' }, '')],
      ['VERSION, installed without a daemon (forwarder -> one file + code cache)', () => run(host, inst.executable, { ...clean, CNI_COMMAND: 'VERSION' }, '')],
      ['VERSION, one file + code cache (the Node plugin itself)', () => run(host, inst.nodeExecutable, { ...clean, CNI_COMMAND: 'VERSION' }, '')],
      ['VERSION, forwarder + `podnet cni serve`', () => run(host, served.executable, { ...clean, CNI_COMMAND: 'VERSION' }, '')],
    ]
    const startupMs: Record<string, Stats> = {}
    for (const [what, fn] of startup) {
      const xs: number[] = []
      for (let i = 0; i < STARTUP_RUNS; i++) xs.push((await fn()).ms)
      startupMs[what] = stats(xs)
    }
    // inside one process: what the installed launcher does, step by step, until ADD could start
    const phaseScript = join(work, 'phases.cjs')
    writeFileSync(phaseScript, PHASES)
    const phases: Record<string, number[]> = {}
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const r = await run(host, process.execPath, clean, '', [phaseScript, join(work, 'bin', '.podnet-cni')])
      for (const [k, v] of Object.entries(JSON.parse(r.stdout) as Record<string, number>)) (phases[k] ??= []).push(v)
    }
    const phaseMs = Object.fromEntries(Object.entries(phases).map(([k, xs]) => [k, stats(xs)]))
    // the plugin's own work, in-process (no start-up): same configuration, 50 pods
    const funcs = createPlugin({ hostNetns: host.name })
    const inAdd: number[] = []
    const inDel: number[] = []
    const n = Math.min(50, PODS)
    const conf = (i: number) => JSON.stringify({
      cniVersion: '1.0.0', name: 'inproc', type: 'podnet-cni', bridge: 'pnb-in', isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { ranges: [[{ subnet: '10.234.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }] },
      runtimeConfig: { portMappings: [{ hostPort: 30000 + i, containerPort: 80 }] }, podnet: { stateDir: join(work, 'state-in'), runDir: '/run/podnet-bench/in' },
    })
    const io = (env: Record<string, string>, stdin: string) => ({ env, stdin, stdout: { write: () => true }, stderr: { write: () => true } })
    for (let i = 0; i < n; i++) { Netns.create(`bin${i}`).close(); made.push(`bin${i}`) }
    for (let i = 0; i < n; i++) {
      const t0 = nowMs()
      if (await runPlugin(funcs, io(cniEnv('ADD', `in${i}`, `/run/netns/bin${i}`, ''), conf(i))) !== 0) throw new Error('in-process ADD failed')
      inAdd.push(nowMs() - t0)
    }
    for (let i = 0; i < n; i++) {
      const t0 = nowMs()
      if (await runPlugin(funcs, io(cniEnv('DEL', `in${i}`, `/run/netns/bin${i}`, ''), conf(i))) !== 0) throw new Error('in-process DEL failed')
      inDel.push(nowMs() - t0)
    }
    for (const p of made.splice(0)) Netns.remove(p)

    const result = {
      suite: 'cni', started, finished: new Date().toISOString(), pods: PODS, node: process.version, cpus: cpus().length,
      loadavgStart: load0, loadavgEnd: loadavg(),
      tools: tools.map((tool, t) => ({
        name: tool.name, processesPerAdd: tool.processesPerAdd,
        add: stats(add[t]!), del: stats(del[t]!), addCpuMsPerPod: cpuAdd[t]! / PODS, delCpuMsPerPod: cpuDel[t]! / PODS,
      })),
      startupMs,
      phaseMs,
      inProcess: { pods: n, add: stats(inAdd), del: stats(inDel) },
    }
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'cni.json'), `${JSON.stringify(result, null, 2)}\n`)
    const ref = result.tools[result.tools.length - 1]!
    const lines = [
      `# CNI bench: ${PODS} pods, ${started} (node ${process.version}, ${cpus().length} CPUs, load ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${result.loadavgEnd.map((x) => x.toFixed(1)).join(' ')})`,
      '',
      '| tool | ADD p50 | ADD p95 | DEL p50 | DEL p95 | ADD CPU/pod | DEL CPU/pod | ADD p50 vs reference |',
      '|---|---|---|---|---|---|---|---|',
      ...result.tools.map((t) => `| ${t.name} | ${f1(t.add.p50)} | ${f1(t.add.p95)} | ${f1(t.del.p50)} | ${f1(t.del.p95)} | ${f1(t.addCpuMsPerPod)} | ${f1(t.delCpuMsPerPod)} | ${(ref.add.p50 / t.add.p50).toFixed(2)}x faster |`),
      '',
      `Start-up (ms, ${STARTUP_RUNS} runs each, wall time of the process seen by its parent):`,
      '',
      '| what | p50 | p95 | min |',
      '|---|---|---|---|',
      ...Object.entries(startupMs).map(([w, s]) => `| ${w} | ${f1(s.p50)} | ${f1(s.p95)} | ${f1(s.min)} |`),
      `| the plugin's work in-process: ADD (${n} pods) | ${f1(result.inProcess.add.p50)} | ${f1(result.inProcess.add.p95)} | ${f1(result.inProcess.add.min)} |`,
      `| the plugin's work in-process: DEL | ${f1(result.inProcess.del.p50)} | ${f1(result.inProcess.del.p95)} | ${f1(result.inProcess.del.min)} |`,
      '',
      'Inside the installed plugin\'s process, until an ADD could start (ms, performance.now(), same runs):',
      '',
      '| phase | p50 | p95 |',
      '|---|---|---|',
      ...Object.entries(phaseMs).map(([k, st]) => `| ${PHASE_NAMES[k] ?? k} | ${f1(st.p50)} | ${f1(st.p95)} |`),
      '',
    ]
    writeFileSync(join(resultsDir, 'cni.md'), lines.join('\n'))
    process.stdout.write(lines.join('\n'))
  } finally {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM')
    for (const p of made) try { Netns.remove(p) } catch { /* gone */ }
    host.close()
    try { Netns.remove('cnib-host') } catch { /* gone */ }
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cni bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
