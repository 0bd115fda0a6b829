/**
 * A real CNI client: podman 4 (Debian) with its CNI backend runs busybox containers on a
 * podnet network. podnet-cni is put in place by `podnet cni install` into a private plugin
 * and config dir; a logging wrapper records each call podman makes.
 *
 * Everything stays inside the sandbox: podman runs in the topology's host namespace (nsenter,
 * not `ip netns exec`, which remounts /sys), with its own storage, run and tmp dirs and a
 * containers.conf of its own (CONTAINERS_CONF, which conmon's cleanup process inherits), in a
 * nested mount namespace where a tmpfs covers /var/lib (libcni caches results in /var/lib/cni)
 * and, on a hybrid cgroup layout, the controllers still on the v2 hierarchy (hugetlb here) are
 * bound to v1 hierarchies mounted on temporary directories, which crun requires. Containers
 * run with cgroups disabled. When the test ends the mount namespace goes with its holder
 * process, and the controllers return to v2.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NetworkManager } from '../../../src/bridge/index.js'
import { installCni } from '../../../src/cni/index.js'
import { createTopology, probe, serve, stopServers, UPSTREAM, type Topology } from '../../../src/testing/index.js'
import { podnetPublishedPorts } from './helpers.js'

const NETWORK = 'podnet-pm'
const SUBNET = '10.212.0'

interface Call { command: string; id: string; netns: string; ifname: string; args: string; stdin: any }

const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

describe('kernel: podman 4 (CNI backend) runs containers on podnet-cni', function () {
  this.timeout(180000)
  let topo: Topology
  let dir: string
  let holder: ChildProcess | undefined
  let env: Record<string, string>
  let mgr: NetworkManager | undefined

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    for (const cmd of ['podman', 'crun', 'conmon', 'nsenter']) assert.ok(which(cmd), `${cmd} is not installed (scripts/setup.sh installs it)`)
    topo = createTopology()
    dir = mkdtempSync('/tmp/podnet-podman-')
    const bin = join(dir, 'bin')
    // the plugin, exactly as `podnet cni install` writes it, behind a wrapper that logs each call
    const r = await installCni({ binDir: bin, confDir: join(dir, 'net.d'), network: NETWORK, subnet: `${SUBNET}.0/24`, stateDir: join(dir, 'state') })
    assert.equal(r.mode, 'bundle', r.bundleError)
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
    // a busybox root file system
    const rootfs = join(dir, 'rootfs')
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true })
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'))
    chmodSync(join(rootfs, 'bin/busybox'), 0o755)
    for (const c of ['sh', 'ip', 'ping', 'nc', 'cat', 'sleep', 'timeout', 'echo']) symlinkSync('busybox', join(rootfs, 'bin', c))
    writeFileSync(join(dir, 'containers.conf'), [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'log_driver = "k8s-file"',
      'cgroups = "disabled"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      'runtime = "crun"',
      `tmp_dir = "${join(dir, 'tmp')}"`,
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${bin}"]`,
      `network_config_dir = "${join(dir, 'net.d')}"`,
      '',
    ].join('\n'))
    writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${join(dir, 'runroot')}"\ngraphroot = "${join(dir, 'root')}"\n`)
    env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      HOME: dir,
    }
    // the nested mount namespace, held by a sleeping process
    const unified = '/sys/fs/cgroup/unified/cgroup.controllers'
    const onV2 = existsSync(unified) ? readFileSync(unified, 'utf8').trim().split(/\s+/).filter((c) => c !== '') : []
    const script = [
      'set -e',
      'mount -t tmpfs podnet-varlib /var/lib',
      'mkdir -p /var/lib/cni',
      ...onV2.flatMap((c) => [`mkdir -p ${join(dir, `cgroup-${c}`)}`, `mount -t cgroup -o ${c} podnet-${c} ${join(dir, `cgroup-${c}`)}`]),
      'echo ready',
      'exec sleep infinity',
    ].join('\n')
    holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      holder!.stdout!.once('data', () => resolve())
      holder!.once('exit', (code) => reject(new Error(`the mount namespace holder exited with ${code}`)))
    })
  })

  after(function () {
    if (!dir) return
    if (holder?.pid !== undefined) {
      podman('rm', '--all', '--force', '--time', '0')
      holder.kill('SIGKILL')
    }
    // conmon and its cleanup process outlive podman: end ours (their command lines name our dir), by PID
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(Number(pid), 'SIGKILL')
      } catch { /* gone */ }
    }
    stopServers()
    mgr?.close()
    topo?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** podman in the nested mount namespace and the topology's host network namespace. */
  function podman(...args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', [`--mount=/proc/${holder!.pid}/ns/mnt`, `--net=${topo.host.ns.path}`, 'podman', ...args], { env, encoding: 'utf8', timeout: 120000 })
    return { status: r.status ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) }
  }

  /** The calls podman made to the plugin, oldest first. */
  function calls(): Call[] {
    return readdirSync(join(dir, 'calls')).sort().map((f) => {
      const [command, id, netns, ifname, args, ...rest] = readFileSync(join(dir, 'calls', f), 'utf8').split('\n')
      const text = rest.join('\n')
      return { command: command!, id: id!, netns: netns!, ifname: ifname!, args: args!, stdin: text.trim() ? JSON.parse(text) : undefined }
    })
  }

  const manager = (): NetworkManager => (mgr ??= new NetworkManager({ hostNetns: topo.host.name, stateDir: join(dir, 'state'), runDir: join(dir, 'state', 'run') }))

  /** Waits until podnet has no attachment left (DEL comes from conmon's cleanup, after podman returns). */
  async function detached(): Promise<void> {
    const until = Date.now() + 30000
    while (manager().attachments(NETWORK).length && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(manager().attachments(NETWORK), [])
  }

  it('a busybox container gets its address from podnet, reaches the gateway, the host and the internet through NAT', async () => {
    await serve(topo.host, 'tcp', 7000)
    await serve(topo.upstream, 'tcp', 9000)
    const r = podman('run', '--rm', '--name', 'pn-box', '--network', NETWORK, '--rootfs', join(dir, 'rootfs'), '/bin/sh', '-c', [
      'ip -4 -o addr show eth0',
      'ip route',
      `ping -c 1 -W 2 ${SUBNET}.1 >/dev/null && echo gateway-ok`,
      `echo | timeout 5 nc ${SUBNET}.1 7000`,
      `echo | timeout 5 nc ${UPSTREAM.upstreamV4} 9000`,
    ].join('; '))
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`inet ${SUBNET.replace(/\./g, '\\.')}\\.2/24`))
    assert.match(r.stdout, new RegExp(`default via ${SUBNET.replace(/\./g, '\\.')}\\.1 dev eth0`))
    assert.match(r.stdout, /gateway-ok/)
    assert.match(r.stdout, new RegExp(`from ${SUBNET.replace(/\./g, '\\.')}\\.2\\n`), 'the host sees the pod address')
    assert.match(r.stdout, new RegExp(`from ${UPSTREAM.hostV4.replace(/\./g, '\\.')}\\n`), 'the internet sees the host address (masquerade)')
    await detached()
    assert.equal(topo.host.rt.link.listSync({ kind: 'veth' }).filter((l) => l.name.startsWith('pn') && l.name !== 'up0').length, 0, 'no host veth left')
    // what podman sent
    const log = calls()
    const add = log.find((c) => c.command === 'ADD')!
    assert.ok(add, JSON.stringify(log.map((c) => c.command)))
    assert.match(add.netns, /^\/run\/netns\/netns-[0-9a-f-]+$/)
    assert.equal(add.ifname, 'eth0')
    assert.match(add.args, /IgnoreUnknown=1/)
    assert.match(add.args, /K8S_POD_NAME=pn-box/)
    assert.equal(add.stdin.type, 'podnet-cni')
    assert.equal(add.stdin.name, NETWORK)
    const versions = log.filter((c) => c.command === 'VERSION')
    assert.ok(versions.length >= 1 && versions.every((c) => c.netns === 'dummy' && c.ifname === 'dummy'), 'libcni asks VERSION with "dummy" netns and ifname')
    const del = log.find((c) => c.command === 'DEL' && c.id === add.id)!
    assert.ok(del, 'podman called DEL')
    assert.deepEqual(del.stdin.prevResult.ips.map((i: any) => i.address), [`${SUBNET}.2/24`], 'DEL got the ADD result as prevResult')
  })

  it('publishes a port (portMappings capability) and DEL removes it', async () => {
    const r = podman('run', '-d', '--name', 'pn-web', '--network', NETWORK, '-p', '8080:80', '--rootfs', join(dir, 'rootfs'),
      '/bin/sh', '-c', 'while true; do echo hello-from-podman | nc -l -p 80; done')
    assert.equal(r.status, 0, r.stderr)
    const add = calls().filter((c) => c.command === 'ADD').pop()!
    assert.deepEqual(add.stdin.runtimeConfig.portMappings, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }])
    let answer = ''
    for (let i = 0; i < 50 && answer !== 'hello-from-podman'; i++) {
      try { answer = probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080) } catch { await new Promise((res) => setTimeout(res, 100)) }
    }
    assert.equal(answer, 'hello-from-podman', 'upstream -> host:8080 -> container:80')
    assert.ok(podnetPublishedPorts(topo.host).includes('tcp 8080'))
    assert.equal(podman('rm', '--force', '--time', '0', 'pn-web').status, 0)
    await detached()
    assert.ok(!podnetPublishedPorts(topo.host).includes('tcp 8080'), 'the published port went with the container')
  })
})
