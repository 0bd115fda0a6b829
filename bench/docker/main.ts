/**
 * docker0 side by side (issue 12): Debian's Docker 20.10 (dockerd, its containerd, runc,
 * docker-proxy, iptables-nft) and podnet (network + pods) doing the same thing on one node, in
 * one run:
 *
 * - network create: `docker network create --subnet S N` against `podnet network create N
 *   --subnet S` (each created and removed RUNS times, p50);
 * - container start, N times: `docker run -d --network N -p H:80 busybox sleep 3600` against
 *   `podnet pod run -d -f pod.json` (one container, same command, hostPort H), timed from spawn
 *   until the CLI exits, the two taking turns;
 * - memory per container: PSS (smaps_rollup) of everything each system runs (Docker: dockerd,
 *   its containerd, shims, docker-proxy; podnet: the supervisor, pauses, launcher monitors),
 *   with N containers less with none, over N; the workload (sleep) excluded;
 * - throughput: iperf3 for 3 s between two containers of one network, and from a container to
 *   the "internet" through NAT (iperf3 from this machine, run in the containers' network
 *   namespaces with nsenter: the network path is what differs, not the image);
 * - the semantics matrix: one published port probed from outside, from the host, on 127.0.0.1,
 *   by hairpin, from another network, isolation, masquerade; what succeeds and which source
 *   address the container sees (servers run in the containers' namespaces and answer "from
 *   <peer>").
 *
 * Everything runs in the sandbox (bench/docker/run.sh), each side in a topology of its own: the
 * node is its host namespace, the upstream namespace the "internet". (One node for both does not
 * work: Docker sets bridge-nf-call-iptables=1 and the iptables FORWARD policy to DROP in its
 * namespace, which drops every other bridge's pod-to-pod traffic there.) Results: bench/docker/results/docker.json
 * and docker.md.
 *
 *   node dist/bench/docker/main.js [--quick] [--containers N]
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns } from '../../src/netns/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { createTopology, probe, serve, stopServers, UPSTREAM, type Topology } from '../../src/testing/index.js'
import { busyboxImage } from '../../test/support/cri/images.js'
import { percentile, run } from '../network/lib.js'
import { Dockerd, hierarchies, rmCgroupTree, treeOf } from './dockerd.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '../../..')
const BIN = join(repo, 'bin/podnet.js')
const resultsDir = join(repo, 'bench/docker/results')
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const ci = args.indexOf('--containers')
const N = ci >= 0 ? Number(args[ci + 1]) : quick ? 10 : 50
const RUNS = quick ? 3 : 5

const f1 = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '-')
const log = (s: string): void => { process.stderr.write(`docker bench: ${s}\n`) }

/** PSS (kB) of a process from /proc/PID/smaps_rollup; 0 when gone. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}
const comm = (pid: number): string => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return '' } }
/** PSS of the processes, the workload (sleep) and this bench's own servers excluded. */
const pssOf = (pids: number[]): { kb: number; processes: Record<string, number> } => {
  const byComm: Record<string, number> = {}
  let kb = 0
  for (const p of new Set(pids)) {
    const c = comm(p)
    if (c === '' || c === 'sleep' || c === 'iperf3' || c === 'node' && p !== supervisorPid) continue
    byComm[c] = (byComm[c] ?? 0) + 1
    kb += pssKb(p)
  }
  return { kb, processes: byComm }
}
let supervisorPid = -1

/** A busybox root directory for podnet's pods. */
function busyboxRootfs(dir: string): string {
  const root = join(dir, 'rootfs')
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true })
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'))
  chmodSync(join(root, 'bin/busybox'), 0o755)
  for (const a of ['sh', 'sleep', 'nc', 'ip', 'cat']) symlinkSync('busybox', join(root, 'bin', a))
  return root
}

interface Side {
  name: string
  netCreate: number[]
  start: number[]
  memory?: { baseKb: number; perContainerKb: number; processes: Record<string, number> }
  iperf?: { podToPodGbps: number; natGbps: number }
  semantics?: Record<string, string>
}

async function main(): Promise<void> {
  assertSandboxed()
  const started = new Date().toISOString()
  const load0 = loadavg()
  // one node each: Docker sets net.bridge.bridge-nf-call-iptables=1 and the FORWARD policy to DROP
  // in its namespace, which drops the bridged traffic of any other bridge there (podnet's too)
  const topoD = createTopology()
  const topo = createTopology()
  const dir = mkdtempSync('/tmp/podnet-docker-bench-')
  const stateDir = join(dir, 'podnet-state')
  const runDir = mkdtempSync('/run/podnet-docker-bench-')
  const penv = { ...process.env, PODNET_STATE_DIR: stateDir, PODNET_RUN_DIR: runDir, PODNET_CGROUP_PARENT: `podnet-docker-bench-${process.pid}`, PODNET_SUPERVISOR_IDLE_MS: '600000' }
  const podnet = (...a: string[]) => run(process.execPath, [BIN, ...a], { env: penv })
  const mustPodnet = async (...a: string[]): Promise<string> => {
    const r = await podnet(...a)
    if (r.status !== 0) throw new Error(`podnet ${a.join(' ')}: ${r.stderr.trim()}`)
    return r.stdout
  }
  let docker: Dockerd | undefined
  const D: Side = { name: 'Docker 20.10 (docker0-style bridge, docker-proxy, iptables-nft)', netCreate: [], start: [] }
  const P: Side = { name: 'podnet (bridge network, pods)', netCreate: [], start: [] }
  try {
    docker = await Dockerd.start(join(dir, 'docker'), topoD.host.ns.path)
    const image = busyboxImage(dir)
    docker.must('load', '-i', image.docker)
    const rootfs = busyboxRootfs(dir)
    const host = ['--host-netns', topo.host.name]

    log(`network create x${RUNS}`)
    for (let i = 0; i < RUNS; i++) {
      let r = await run(...docker.argv('network', 'create', '--subnet', '10.250.0.0/24', 'dnet'), { env: docker.env() })
      if (r.status !== 0) throw new Error(r.stderr)
      D.netCreate.push(r.wallMs)
      if (i < RUNS - 1) docker.must('network', 'rm', 'dnet')
      r = await podnet('network', 'create', 'pnet', '--subnet', '10.251.0.0/24', ...host)
      if (r.status !== 0) throw new Error(r.stderr)
      P.netCreate.push(r.wallMs)
      if (i < RUNS - 1) await mustPodnet('network', 'rm', 'pnet', ...host)
    }
    docker.must('network', 'create', '--subnet', '10.250.1.0/24', 'dnet2')
    await mustPodnet('network', 'create', 'pnet2', '--subnet', '10.251.1.0/24', ...host)

    // the supervisor, started before the baseline (its start is not part of a container's)
    const manifest = (name: string, hostPort: number, network = 'pnet'): string => {
      const f = join(dir, `${name}.json`)
      writeFileSync(f, JSON.stringify({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': network } },
        spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', command: ['sleep', '3600'], ports: [{ containerPort: 80, hostPort }] }] },
      }))
      return f
    }
    await mustPodnet('pod', 'run', '-d', '-f', manifest('warm', 29999), ...host)
    await mustPodnet('pod', 'rm', 'warm')
    supervisorPid = (JSON.parse(await mustPodnet('pod', 'supervisor', 'status', '--json')) as { pid: number }).pid
    const podnetPids = (): number[] => treeOf(supervisorPid)
    const base = { docker: pssOf(docker.processes()), podnet: pssOf(podnetPids()) }

    log(`container start x${N}, taking turns`)
    const dockerIds: string[] = []
    for (let i = 0; i < N; i++) {
      const r = await run(...docker.argv('run', '-d', '--network', 'dnet', '-p', `${21000 + i}:80`, image.name, 'sleep', '3600'), { env: docker.env() })
      if (r.status !== 0) throw new Error(`docker run: ${r.stderr}`)
      D.start.push(r.wallMs)
      dockerIds.push(r.stdout.trim())
      const p = await podnet('pod', 'run', '-d', '-f', manifest(`p${i}`, 22000 + i), ...host)
      if (p.status !== 0) throw new Error(`podnet pod run: ${p.stderr}`)
      P.start.push(p.wallMs)
      if ((i + 1) % 10 === 0) log(`  ${i + 1}/${N}`)
    }
    await new Promise((r) => setTimeout(r, 1000))
    const full = { docker: pssOf(docker.processes()), podnet: pssOf(podnetPids()) }
    D.memory = { baseKb: base.docker.kb, perContainerKb: (full.docker.kb - base.docker.kb) / N, processes: full.docker.processes }
    P.memory = { baseKb: base.podnet.kb, perContainerKb: (full.podnet.kb - base.podnet.kb) / N, processes: full.podnet.processes }

    // the containers' network namespaces, by the PID of their process
    const dockerPid = (id: string): number => Number(docker!.must('inspect', '-f', '{{.State.Pid}}', id))
    const dockerIp = (id: string, net = 'dnet'): string => docker!.must('inspect', '-f', `{{.NetworkSettings.Networks.${net}.IPAddress}}`, id)
    const podInfo = async (name: string): Promise<{ pid: number; ip: string }> => {
      const rec = JSON.parse(await mustPodnet('pod', 'inspect', name, '--json')) as any
      const pid = Number((rec.pod ?? rec).containers[0].state.pid)
      const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })
      return { pid, ip: (JSON.parse(r.stdout) as any[])[0].addr_info[0].local }
    }
    const nsOf = (pid: number): Netns => Netns.openPath(`/proc/${pid}/ns/net`)

    log('iperf3')
    const iperf = async (serverNs: Netns, clientNs: Netns, target: string): Promise<number> => {
      const srv = serverNs.spawn('iperf3', ['-s', '-1', '-p', '5201'], { stdio: ['ignore', 'pipe', 'inherit'] })
      await new Promise<void>((resolve) => { srv.stdout!.once('data', () => resolve()); setTimeout(resolve, 3000) })
      const r = clientNs.spawnSync('iperf3', ['-c', target, '-p', '5201', '-t', quick ? '2' : '3', '-J'], { encoding: 'utf8', timeout: 30000 })
      srv.kill()
      try {
        const j = JSON.parse(String(r.stdout)) as any
        return j.end.sum_received.bits_per_second / 1e9
      } catch {
        throw new Error(`iperf3 -c ${target}: ${String(r.stdout).slice(-500)} ${String(r.stderr).slice(-500)} ${String(r.error ?? '')}`)
      }
    }
    const d0 = { pid: dockerPid(dockerIds[0]!), ip: dockerIp(dockerIds[0]!) }
    const d1 = { pid: dockerPid(dockerIds[1]!), ip: dockerIp(dockerIds[1]!) }
    const p0 = await podInfo('p0')
    const p1 = await podInfo('p1')
    D.iperf = { podToPodGbps: await iperf(nsOf(d0.pid), nsOf(d1.pid), d0.ip), natGbps: await iperf(topoD.upstream.ns, nsOf(d1.pid), UPSTREAM.upstreamV4) }
    P.iperf = { podToPodGbps: await iperf(nsOf(p0.pid), nsOf(p1.pid), p0.ip), natGbps: await iperf(topo.upstream.ns, nsOf(p1.pid), UPSTREAM.upstreamV4) }

    log('semantics')
    // a container on the second network of each, to probe isolation and another network's view
    const other = { docker: docker.must('run', '-d', '--network', 'dnet2', image.name, 'sleep', '3600') }
    await mustPodnet('pod', 'run', '-d', '-f', manifest('other', 23999, 'pnet2'), ...host)
    const dOther = { pid: dockerPid(other.docker), ip: dockerIp(other.docker, 'dnet2') }
    const pOther = await podInfo('other')
    await serve(topo.upstream, 'tcp', 9000)
    await serve(topoD.upstream, 'tcp', 9000)
    const matrix = async (topo: Topology, web: { pid: number; ip: string }, peer: { pid: number }, otherC: { pid: number }, hostPort: number, gatewayOther: string): Promise<Record<string, string>> => {
      await serve(nsOf(web.pid), 'tcp', 80)
      const tryProbe = (from: Netns, host: string, port: number): string => {
        try { return `yes (sees ${probe(from, 'tcp', host, port)})` } catch { return 'no' }
      }
      return {
        outside: tryProbe(topo.upstream.ns, UPSTREAM.hostV4, hostPort),
        hostAddress: tryProbe(topo.host.ns, UPSTREAM.hostV4, hostPort),
        localhost: tryProbe(topo.host.ns, '127.0.0.1', hostPort),
        hairpin: tryProbe(nsOf(web.pid), UPSTREAM.hostV4, hostPort),
        sameNetworkViaNode: tryProbe(nsOf(peer.pid), UPSTREAM.hostV4, hostPort),
        otherNetworkViaNode: tryProbe(nsOf(otherC.pid), UPSTREAM.hostV4, hostPort),
        otherNetworkViaItsGateway: tryProbe(nsOf(otherC.pid), gatewayOther, hostPort),
        otherNetworkDirect: tryProbe(nsOf(otherC.pid), web.ip, 80),
        masquerade: tryProbe(nsOf(peer.pid), UPSTREAM.upstreamV4, 9000),
        hostBind: String(topo.host.ns.spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${hostPort}, '0.0.0.0', () => { console.log('yes: bound'); process.exit(0) }).on('error', (e) => { console.log('no: ' + e.code); process.exit(0) })`], { encoding: 'utf8', timeout: 10000 }).stdout).trim(),
      }
    }
    D.semantics = await matrix(topoD, d0, d1, dOther, 21000, '10.250.1.1')
    P.semantics = await matrix(topo, p0, p1, pOther, 22000, '10.251.1.1')
    stopServers()

    const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), min: Math.min(...xs), max: Math.max(...xs) })
    const result = {
      suite: 'docker', started, finished: new Date().toISOString(), containers: N, node: process.version, cpus: cpus().length,
      docker: docker.must('version', '-f', '{{.Server.Version}}'), loadavgStart: load0, loadavgEnd: loadavg(),
      sides: [D, P].map((s) => ({ ...s, netCreate: stats(s.netCreate), start: stats(s.start) })),
    }
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'docker.json'), `${JSON.stringify(result, null, 2)}\n`)
    const [rd, rp] = result.sides as [typeof result.sides[0], typeof result.sides[0]]
    const rows: Array<[string, string]> = [
      ['outside', 'published port from outside (internet -> node:H)'],
      ['hostAddress', 'from the node, to its own address:H'],
      ['localhost', 'from the node, to 127.0.0.1:H'],
      ['hairpin', 'hairpin: the container, to node:H (itself)'],
      ['sameNetworkViaNode', 'another container of the network, to node:H'],
      ['otherNetworkViaNode', 'a container of another network, to node:H'],
      ['otherNetworkViaItsGateway', 'a container of another network, to its own gateway:H (the port is on 0.0.0.0)'],
      ['otherNetworkDirect', 'isolation: a container of another network, to the container\'s address:80'],
      ['masquerade', 'masquerade: a container, to the internet (source the internet sees)'],
      ['hostBind', 'a program on the node binds 0.0.0.0:H (the published port)'],
    ]
    const lines = [
      `# docker0 side by side: ${N} containers each, ${started} (Docker ${result.docker}, node ${process.version}, ${cpus().length} CPUs, load ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${result.loadavgEnd.map((x) => x.toFixed(1)).join(' ')})`,
      '',
      '| | Docker | podnet | podnet vs Docker |',
      '|---|---|---|---|',
      `| network create p50 (ms, ${RUNS} runs) | ${f1(rd.netCreate.p50)} | ${f1(rp.netCreate.p50)} | ${(rd.netCreate.p50 / rp.netCreate.p50).toFixed(2)}x faster |`,
      `| container start p50 (ms) | ${f1(rd.start.p50)} | ${f1(rp.start.p50)} | ${(rd.start.p50 / rp.start.p50).toFixed(2)}x faster |`,
      `| container start p95 (ms) | ${f1(rd.start.p95)} | ${f1(rp.start.p95)} | ${(rd.start.p95 / rp.start.p95).toFixed(2)}x faster |`,
      `| memory per container (PSS, kB) | ${f1(rd.memory!.perContainerKb)} | ${f1(rp.memory!.perContainerKb)} | ${(rd.memory!.perContainerKb / rp.memory!.perContainerKb).toFixed(2)}x less |`,
      `| memory with no container (PSS, kB) | ${f1(rd.memory!.baseKb)} | ${f1(rp.memory!.baseKb)} | |`,
      `| processes with ${N} containers | ${Object.entries(rd.memory!.processes).map(([k, v]) => `${k} ${v}`).join(', ')} | ${Object.entries(rp.memory!.processes).map(([k, v]) => `${k} ${v}`).join(', ')} | |`,
      `| iperf3 container to container (Gbit/s) | ${rd.iperf!.podToPodGbps.toFixed(2)} | ${rp.iperf!.podToPodGbps.toFixed(2)} | ${(rp.iperf!.podToPodGbps / rd.iperf!.podToPodGbps).toFixed(2)}x |`,
      `| iperf3 container to internet through NAT (Gbit/s) | ${rd.iperf!.natGbps.toFixed(2)} | ${rp.iperf!.natGbps.toFixed(2)} | ${(rp.iperf!.natGbps / rd.iperf!.natGbps).toFixed(2)}x |`,
      '',
      `Semantics (node address ${UPSTREAM.hostV4}, internet ${UPSTREAM.upstreamV4}; "sees" is the source address the server got):`,
      '',
      '| case | Docker | podnet |',
      '|---|---|---|',
      ...rows.map(([k, label]) => `| ${label} | ${rd.semantics![k]} | ${rp.semantics![k]} |`),
      '',
    ]
    writeFileSync(join(resultsDir, 'docker.md'), lines.join('\n'))
    process.stdout.write(lines.join('\n'))
  } finally {
    stopServers()
    const pods = await podnet('pod', 'ls', '--json')
    try {
      for (const p of JSON.parse(pods.stdout) as Array<{ name: string }>) await podnet('pod', 'rm', '-t', '0', p.name)
    } catch { /* none */ }
    await podnet('pod', 'supervisor', 'stop')
    for (const n of ['pnet', 'pnet2']) await podnet('network', 'rm', n, '--force', '--host-netns', topo.host.name)
    await docker?.close()
    topoD.close()
    for (const h of hierarchies()) rmCgroupTree(join(h, penv.PODNET_CGROUP_PARENT))
    topo.close()
    rmSync(dir, { recursive: true, force: true })
    rmSync(runDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`docker bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
