/**
 * A Kubernetes node's path: containerd 1.6's CRI (Debian's, with runc) runs pod sandboxes on
 * podnet-cni, driven by a minimal CRI client doing the kubelet's calls (test/support/cri).
 *
 * containerd runs in the topology's host namespace (the node; the upstream namespace plays the
 * internet) with its own root, state, socket and config (test/support/cri/containerd.ts), the
 * CNI bin and conf dirs `podnet cni install` wrote (plus the reference loopback plugin), and
 * images built here from Debian's busybox and catatonit. podnet-cni (the forwarder) is behind a
 * wrapper that logs each call (environment and stdin), so the test also sees what containerd
 * sent; `podnet cni serve` runs in containerd's namespaces and serves every request (the Node
 * plugin is moved away until the last test, which stops the daemon and puts it back).
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetworkManager } from '../../../src/bridge/index.js'
import { DiskStore } from '../../../src/bridge/ipam/index.js'
import { installCni } from '../../../src/cni/index.js'
import { createTopology, probe, serve, stopServers, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import type { CriClient, PodSandboxConfig, PortMapping } from '../../support/cri/client.js'
import { Containerd } from '../../support/cri/containerd.js'
import { busyboxImage, pauseImage, type BuiltImage } from '../../support/cri/images.js'
import { podnetPublishedPorts } from './helpers.js'

const PODNET_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
const NETWORK = 'podnet-k8s'
const SUBNET = '10.213.0'
const esc = (s: string): string => s.replace(/\./g, '\\.')

interface Call { command: string; id: string; netns: string; ifname: string; args: string; stdin: string }
interface Pod { id: string; ip: string; pid: number; config: PodSandboxConfig }

const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

describe('kernel: containerd 1.6 CRI (the kubelet\'s calls) runs pod sandboxes on podnet-cni', function () {
  this.timeout(300000)
  let topo: Topology
  let dir: string
  let ctd: Containerd | undefined
  let cri: CriClient
  let busybox: BuiltImage
  let mgr: NetworkManager | undefined
  let daemon: ChildProcess | undefined
  let nodePlugin = ''

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    for (const cmd of ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', 'nsenter', 'unshare', 'tar']) assert.ok(which(cmd), `${cmd} is not installed (scripts/setup.sh installs it)`)
    topo = createTopology()
    dir = mkdtempSync('/tmp/podnet-cri-')
    const bin = join(dir, 'bin')
    const r = await installCni({ binDir: bin, confDir: join(dir, 'net.d'), network: NETWORK, subnet: `${SUBNET}.0/24`, stateDir: join(dir, 'state'), socket: join(dir, 'cni.sock') })
    assert.equal(r.mode, 'bundle', r.bundleError)
    assert.equal(r.forwarder, true, r.forwarderError)
    // a wrapper that logs each call, then runs the plugin as installed
    renameSync(r.executable, `${r.executable}.real`)
    mkdirSync(join(dir, 'calls'))
    writeFileSync(r.executable, [
      '#!/bin/sh',
      'in=$(cat)',
      `f=${join(dir, 'calls')}/$(date +%s%N).$$`,
      `printf '%s\\n' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" > "$f"`,
      `printf '%s' "$in" >> "$f"`,
      `printf '%s' "$in" | exec ${r.executable}.real`,
      '',
    ].join('\n'))
    chmodSync(r.executable, 0o755)
    copyFileSync('/usr/lib/cni/loopback', join(bin, 'loopback'))
    const pause = pauseImage(dir)
    busybox = busyboxImage(dir)
    ctd = await Containerd.start({ dir: join(dir, 'containerd'), netnsPath: topo.host.ns.path, cniBinDir: bin, cniConfDir: join(dir, 'net.d'), sandboxImage: pause.name })
    ctd.importImage(pause.oci)
    ctd.importImage(busybox.oci)
    cri = ctd.client()
    // `podnet cni serve` in containerd's namespaces, and the Node plugin moved away: every
    // request must be served by the daemon (the last test puts it back and stops the daemon)
    nodePlugin = r.nodeExecutable
    renameSync(nodePlugin, `${nodePlugin}.away`)
    daemon = await startDaemon(r.socket)
  })

  after(async function () {
    if (!dir) return
    stopServers()
    await ctd?.close()
    await stopDaemon()
    mgr?.close()
    topo?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** `podnet cni serve` where containerd runs (its mount and network namespaces); resolves when it listens. */
  async function startDaemon(socket: string): Promise<ChildProcess> {
    const [cmd, ...args] = [...ctd!.enter(), process.execPath, PODNET_BIN, 'cni', 'serve', '--socket', socket]
    const d = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      d.stdout!.once('data', () => resolve())
      d.once('exit', (c) => reject(new Error(`podnet cni serve exited with ${c}`)))
    })
    return d
  }
  async function stopDaemon(): Promise<void> {
    const d = daemon
    daemon = undefined
    if (!d || d.exitCode !== null || d.signalCode !== null) return
    const gone = new Promise((r) => d.once('exit', r))
    d.kill('SIGTERM')
    await gone
  }

  const manager = (): NetworkManager => (mgr ??= new NetworkManager({ hostNetns: topo.host.name, stateDir: join(dir, 'state'), runDir: join(dir, 'state', 'run') }))

  /** The calls containerd made to podnet-cni, oldest first. */
  function calls(): Call[] {
    return readdirSync(join(dir, 'calls')).sort().map((f) => {
      const [command, id, netns, ifname, args, ...rest] = readFileSync(join(dir, 'calls', f), 'utf8').split('\n')
      return { command: command!, id: id!, netns: netns!, ifname: ifname!, args: args!, stdin: rest.join('\n') }
    })
  }

  function sandboxConfig(name: string, portMappings: PortMapping[] = []): PodSandboxConfig {
    return {
      metadata: { name, uid: randomBytes(8).toString('hex'), namespace: 'default', attempt: 0 },
      hostname: name,
      portMappings,
      labels: { app: name },
      linux: { cgroupParent: ctd!.cgroupParent },
    }
  }

  async function runPod(name: string, portMappings: PortMapping[] = []): Promise<Pod> {
    const config = sandboxConfig(name, portMappings)
    const id = await cri.runPodSandbox(config)
    const st = await cri.podSandboxStatus(id, true)
    assert.equal(st.status.state, 'SANDBOX_READY')
    const info = JSON.parse(st.info.info!) as { pid: number }
    return { id, ip: st.status.network?.ip ?? '', pid: info.pid, config }
  }

  async function container(pod: Pod, name: string, command: string[]): Promise<string> {
    const id = await cri.createContainer(pod.id, { metadata: { name }, image: { image: busybox.name }, command }, pod.config)
    await cri.startContainer(id)
    return id
  }

  async function sh(cid: string, script: string): Promise<string> {
    const r = await cri.execSync(cid, ['sh', '-c', script], 15)
    assert.equal(r.exitCode, 0, `${script}: ${r.stderr}`)
    return r.stdout
  }

  /** eth0's IPv4 addresses in the sandbox's network namespace, as ip(8) sees them. */
  function eth0Addrs(pod: Pod): string[] {
    const r = spawnSync('nsenter', [`--net=/proc/${pod.pid}/ns/net`, 'ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    return (JSON.parse(r.stdout) as any[]).flatMap((l) => l.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`))
  }

  const leases = (): string[] => {
    try {
      return new DiskStore(manager().state.ipamDir(NETWORK)).transaction((tx) => tx.ips())
    } catch {
      return []
    }
  }
  const hostVeths = (): string[] => topo.host.rt.link.listSync({ kind: 'veth' }).map((l) => l.name).filter((n) => n !== 'up0')

  /** Nothing of any pod left: no attachment, lease, host veth, published port. */
  function nothingLeft(what: string): void {
    assert.deepEqual(manager().attachments(NETWORK).map((a) => a.id), [], `${what}: attachments`)
    assert.deepEqual(leases(), [], `${what}: address leases`)
    assert.deepEqual(hostVeths(), [], `${what}: host veths`)
    assert.deepEqual(podnetPublishedPorts(topo.host), [], `${what}: published ports`)
  }

  async function removePod(id: string): Promise<void> {
    await cri.stopPodSandbox(id)
    await cri.removePodSandbox(id)
  }

  it('Status reports NetworkReady; Version is containerd\'s over runtime.v1', async () => {
    const v = await cri.version()
    assert.equal(v.runtimeName, 'containerd')
    assert.equal(v.runtimeApiVersion, 'v1')
    const conds = await cri.status()
    assert.ok(conds.some((c) => c.type === 'NetworkReady' && c.status), JSON.stringify(conds))
  })

  it('RunPodSandbox: an address from podnet\'s network, in PodSandboxStatus and on eth0; containers reach another pod and the internet through NAT', async () => {
    await serve(topo.upstream, 'tcp', 9000)
    const a = await runPod('pod-a')
    const b = await runPod('pod-b')
    for (const p of [a, b]) {
      assert.match(p.ip, new RegExp(`^${esc(SUBNET)}\\.\\d+$`))
      assert.deepEqual(eth0Addrs(p), [`${p.ip}/24`], 'eth0 in the sandbox netns has the address containerd reports')
      const att = manager().attachments(NETWORK).find((x) => x.id === p.id)
      assert.ok(att, `podnet has the attachment of ${p.id}`)
      assert.deepEqual(att.addresses.map((x) => x.address), [`${p.ip}/24`])
    }
    assert.notEqual(a.ip, b.ip)
    assert.deepEqual((await cri.listPodSandbox({ id: a.id })).map((s) => s.state), ['SANDBOX_READY'])
    const web = await container(b, 'web', ['sh', '-c', 'while true; do echo hello-from-b | nc -l -p 80; done'])
    const client = await container(a, 'client', ['sleep', '3600'])
    assert.match(await sh(client, 'ip route'), new RegExp(`default via ${esc(SUBNET)}\\.1 dev eth0`))
    let answer = ''
    for (let i = 0; i < 20 && !answer.includes('hello-from-b'); i++) {
      answer = (await cri.execSync(client, ['sh', '-c', `echo | timeout 3 nc ${b.ip} 80`], 10)).stdout
      if (!answer.includes('hello-from-b')) await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(answer, /hello-from-b/, 'pod a reaches pod b')
    assert.equal((await sh(client, `echo | timeout 5 nc ${UPSTREAM.upstreamV4} 9000`)).trim(), `from ${UPSTREAM.hostV4}`, 'the internet sees the node address (masquerade)')
    await cri.stopContainer(web)
    await cri.stopContainer(client)
    await removePod(a.id)
    await removePod(b.id)
    nothingLeft('after Stop and Remove')
  })

  it('port_mappings: reachable on the node\'s address, on 127.0.0.1 and by hairpin; containerd sends go-cni\'s capitalised keys', async () => {
    const p = await runPod('web', [{ protocol: 'TCP', containerPort: 80, hostPort: 18080 }])
    const add = calls().filter((c) => c.command === 'ADD' && c.id === p.id).pop()
    assert.ok(add, 'containerd called ADD')
    assert.match(add.stdin, /"runtimeConfig":\{"portMappings":\[\{"HostPort":18080,"ContainerPort":80,"Protocol":"tcp","HostIP":""\}\]\}/, add.stdin)
    assert.deepEqual(podnetPublishedPorts(topo.host), ['tcp 18080'])
    const web = await container(p, 'web', ['sh', '-c', 'while true; do echo hello-from-web | nc -l -p 80; done'])
    let answer = ''
    for (let i = 0; i < 50 && answer !== 'hello-from-web'; i++) {
      try { answer = probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 18080) } catch { await new Promise((r) => setTimeout(r, 100)) }
    }
    assert.equal(answer, 'hello-from-web', 'internet -> node:18080 -> pod:80')
    assert.equal(probe(topo.host, 'tcp', '127.0.0.1', 18080), 'hello-from-web', 'node 127.0.0.1:18080')
    assert.match(await sh(web, `echo | timeout 5 nc ${UPSTREAM.hostV4} 18080`), /hello-from-web/, 'hairpin: the pod through its own published port')
    await cri.stopContainer(web)
    await removePod(p.id)
    nothingLeft('after Stop and Remove')
  })

  it('Stop and Remove, each twice, leave no veth, lease, attachment or published port; DEL came with and without prevResult', async () => {
    const p = await runPod('twice', [{ protocol: 'UDP', containerPort: 53, hostPort: 15353 }])
    assert.deepEqual(podnetPublishedPorts(topo.host), ['udp 15353'])
    await cri.stopPodSandbox(p.id)
    nothingLeft('after Stop')
    await cri.stopPodSandbox(p.id)
    await cri.removePodSandbox(p.id)
    await cri.removePodSandbox(p.id)
    nothingLeft('after Stop, Stop, Remove, Remove')
    assert.deepEqual(await cri.listPodSandbox({ id: p.id }), [])
    const dels = calls().filter((c) => c.command === 'DEL' && c.id === p.id)
    assert.ok(dels.length >= 1, 'containerd called DEL')
    assert.match(dels[0]!.stdin, /"prevResult":/, 'the first DEL had the cached ADD result')
  })

  it('containerd restarted between RunPodSandbox and Stop: Stop and Remove still tear the network down', async () => {
    const p = await runPod('restart', [{ protocol: 'TCP', containerPort: 80, hostPort: 18081 }])
    await ctd!.restart()
    cri = ctd!.client()
    const st = await cri.podSandboxStatus(p.id)
    assert.equal(st.status.network?.ip, p.ip, 'the restarted containerd still knows the address')
    await removePod(p.id)
    nothingLeft('after the restart, Stop and Remove')
  })

  it('a failed ADD (host port taken) and containerd\'s DEL without prevResult leave the other pod intact and nothing of the failed one', async () => {
    const a = await runPod('holder', [{ protocol: 'TCP', containerPort: 80, hostPort: 18082 }])
    const before = calls().length
    await assert.rejects(cri.runPodSandbox(sandboxConfig('clash', [{ protocol: 'TCP', containerPort: 80, hostPort: 18082 }])), /18082/)
    const mine = calls().slice(before)
    const add = mine.find((c) => c.command === 'ADD')
    assert.ok(add, 'containerd called ADD')
    const dels = mine.filter((c) => c.command === 'DEL' && c.id === add.id)
    assert.ok(dels.length >= 1, 'containerd called DEL after the failed ADD')
    assert.ok(dels.every((d) => !d.stdin.includes('"prevResult"')), 'the DEL had no prevResult')
    assert.deepEqual(manager().attachments(NETWORK).map((x) => x.id), [a.id], 'only the first pod is attached')
    assert.deepEqual(leases(), [a.ip])
    assert.deepEqual(podnetPublishedPorts(topo.host), ['tcp 18082'])
    assert.deepEqual(eth0Addrs(a), [`${a.ip}/24`])
    assert.equal(hostVeths().length, 1)
    await removePod(a.id)
    nothingLeft('after removing the first pod')
  })

  it('50 sandboxes in a row, then 16 in parallel, leave nothing behind', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const p = await runPod(`row-${i}`)
      assert.match(p.ip, new RegExp(`^${esc(SUBNET)}\\.`))
      seen.add(p.ip)
      await removePod(p.id)
    }
    nothingLeft('after 50 in a row')
    const pods = await Promise.all(Array.from({ length: 16 }, (_, i) => runPod(`par-${i}`, [{ protocol: 'TCP', containerPort: 80, hostPort: 19000 + i }])))
    assert.equal(new Set(pods.map((p) => p.ip)).size, 16, '16 distinct addresses')
    assert.equal(manager().attachments(NETWORK).length, 16)
    assert.equal(podnetPublishedPorts(topo.host).length, 16)
    await Promise.all(pods.map((p) => removePod(p.id)))
    nothingLeft('after 16 in parallel')
  })

  it('with the daemon stopped between RunPodSandbox and Stop, the forwarder runs the Node plugin: same results, nothing left', async () => {
    const p = await runPod('nodaemon', [{ protocol: 'TCP', containerPort: 80, hostPort: 18083 }])
    await stopDaemon()
    renameSync(`${nodePlugin}.away`, nodePlugin)
    const q = await runPod('nodaemon-2', [{ protocol: 'TCP', containerPort: 80, hostPort: 18084 }])
    assert.deepEqual(eth0Addrs(q), [`${q.ip}/24`])
    assert.deepEqual(podnetPublishedPorts(topo.host).sort(), ['tcp 18083', 'tcp 18084'])
    await removePod(p.id)
    await removePod(q.id)
    nothingLeft('after Stop and Remove through the Node plugin')
  })
})
