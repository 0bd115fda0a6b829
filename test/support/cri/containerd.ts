/**
 * A containerd of its own (Debian's 1.6 with the CRI plugin built in, runc), for tests and
 * benches that play the kubelet against it. It never touches the machine's containerd:
 *
 * - everything lives under `dir`: root, state, the gRPC socket (`[grpc] address`), the opt
 *   plugin's path (else it makes /opt/containerd), the config;
 * - it runs in the node namespace it is given (a topology's host) and in a nested mount
 *   namespace held by a sleeping process, where a tmpfs covers /var/lib: libcni writes its
 *   result cache under /var/lib/cni, with no setting to move it;
 * - the CRI's CNI bin_dir and conf_dir are the caller's (what `podnet cni install` wrote, plus
 *   the reference `loopback` plugin, which the CRI calls for every sandbox);
 * - `restrict_oom_score_adj` (root has no CAP_SYS_RESOURCE on these machines: without it runc
 *   fails with "can't get final child's PID from pipe: EOF"), `disable_apparmor`, a local
 *   `sandbox_image`, the CRI's streaming server on 127.0.0.1 with a random port;
 * - sandboxes should name a `cgroup_parent` of the caller's (cgroupParent): close() removes
 *   it, and the `k8s.io` and `default` cgroups runc makes, from every v1 hierarchy and the
 *   unified one (when empty and not there before).
 *
 * Depends on: root, a sandboxed process (scripts/sandbox.sh), containerd, ctr, runc,
 * nsenter and unshare. Cleanup: close() stops containerd, ends the shims it started (their
 * command lines name `dir`) by PID, the mount namespace holder, and removes the cgroups.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CriClient } from './client.js'

export interface ContainerdOptions {
  /** Where everything goes (created). */
  dir: string
  /** The node's network namespace (a path: /run/netns/NAME). */
  netnsPath: string
  cniBinDir: string
  cniConfDir: string
  sandboxImage: string
  /** containerd's log (default <dir>/containerd.log). */
  log?: string
}

const CGROUP_ROOT = '/sys/fs/cgroup'

/** cgroup hierarchies: every v1 mount under /sys/fs/cgroup, and the unified one (runc makes its cgroups there too on a hybrid layout). */
function hierarchies(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]!.startsWith(CGROUP_ROOT)).map((f) => f[1]!)
}

/** Removes an empty cgroup tree, deepest first; returns false when something is still in it. */
function rmCgroupTree(path: string): boolean {
  if (!existsSync(path)) return true
  let ok = true
  for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) ok = rmCgroupTree(join(path, e.name)) && ok
  try {
    rmdirSync(path)
  } catch {
    ok = false
  }
  return ok
}

export class Containerd {
  readonly socket: string
  readonly config: string
  readonly log: string
  /** The cgroup parent sandboxes should use: removed by close(). */
  readonly cgroupParent: string
  private holder: ChildProcess | undefined
  private daemon: ChildProcess | undefined
  private cri: CriClient | undefined
  private readonly cgroupsBefore: Set<string>
  readonly opts: ContainerdOptions

  private constructor(opts: ContainerdOptions) {
    this.opts = opts
    mkdirSync(opts.dir, { recursive: true })
    this.socket = join(opts.dir, 'containerd.sock')
    this.config = join(opts.dir, 'config.toml')
    this.log = opts.log ?? join(opts.dir, 'containerd.log')
    this.cgroupParent = `/podnet-cri-${randomBytes(4).toString('hex')}`
    this.cgroupsBefore = new Set(hierarchies().flatMap((h) => ['k8s.io', 'default'].filter((c) => existsSync(join(h, c))).map((c) => join(h, c))))
    writeFileSync(this.config, configToml(opts, this.socket))
  }

  /** Starts containerd and waits until its CRI answers. */
  static async start(opts: ContainerdOptions): Promise<Containerd> {
    const c = new Containerd(opts)
    try {
      await c.startHolder()
      await c.startDaemon()
      return c
    } catch (err) {
      await c.close()
      throw err
    }
  }

  private async startHolder(): Promise<void> {
    const script = ['set -e', 'mount -t tmpfs podnet-varlib /var/lib', 'mkdir -p /var/lib/cni', 'echo ready', 'exec sleep infinity'].join('\n')
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    this.holder = holder
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve())
      holder.once('exit', (code) => reject(new Error(`the mount namespace holder exited with ${code}`)))
    })
  }

  /** argv prefix that runs a command in containerd's mount and network namespaces. */
  enter(): string[] {
    return ['nsenter', `--mount=/proc/${this.holder!.pid}/ns/mnt`, `--net=${this.opts.netnsPath}`, '--']
  }

  private async startDaemon(): Promise<void> {
    const [cmd, ...args] = [...this.enter(), 'containerd', '--config', this.config, '--log-level', 'info']
    const out = openSync(this.log, 'a')
    const daemon = spawn(cmd!, args, { stdio: ['ignore', out, out] })
    closeSync(out)
    this.daemon = daemon
    let exited: string | undefined
    daemon.once('exit', (code, sig) => { exited = `containerd exited (${code ?? sig})` })
    const until = Date.now() + 60000
    for (;;) {
      if (exited) throw new Error(`${exited}; log ${this.log}:\n${tail(this.log)}`)
      if (existsSync(this.socket)) {
        try {
          const conds = await this.client().status()
          if (conds.some((c) => c.type === 'RuntimeReady' && c.status)) return
        } catch { /* not yet */ }
      }
      if (Date.now() > until) throw new Error(`containerd did not answer in 60 s; log ${this.log}:\n${tail(this.log)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** The CRI client on this containerd's socket (one, re-made after a restart). */
  client(): CriClient {
    return (this.cri ??= new CriClient(this.socket))
  }

  /** containerd's PID (the nsenter child execs it). */
  get pid(): number | undefined {
    return this.daemon?.pid
  }

  /** `ctr --address SOCKET ARGS...` in containerd's namespaces; throws on failure. */
  ctr(...args: string[]): string {
    const [cmd, ...rest] = [...this.enter(), 'ctr', '--address', this.socket, ...args]
    const r = spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 120000 })
    if (r.status !== 0) throw new Error(`ctr ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.status}`}`)
    return String(r.stdout)
  }

  /** Imports an image archive into the CRI's namespace (k8s.io). */
  importImage(archive: string): void {
    this.ctr('-n', 'k8s.io', 'images', 'import', '--no-unpack=false', archive)
  }

  /** Stops containerd (SIGTERM, then SIGKILL after 10 s); the shims and sandboxes go on. */
  async stop(): Promise<void> {
    const d = this.daemon
    this.daemon = undefined
    this.cri?.close()
    this.cri = undefined
    if (!d || d.exitCode !== null || d.signalCode !== null) return
    const gone = new Promise<void>((r) => d.once('exit', () => r()))
    d.kill('SIGTERM')
    const t = setTimeout(() => d.kill('SIGKILL'), 10000)
    await gone
    clearTimeout(t)
  }

  /** Stops and starts containerd again (same root and state: sandboxes are recovered). */
  async restart(): Promise<void> {
    await this.stop()
    await this.startDaemon()
  }

  /** Stops and removes every sandbox, stops containerd, ends its shims, the holder; removes the cgroups. */
  async close(): Promise<void> {
    if (this.daemon) {
      try {
        const cri = this.client()
        for (const s of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(s.id).catch(() => undefined)
          await cri.removePodSandbox(s.id).catch(() => undefined)
        }
      } catch { /* containerd is not answering: the shims are ended below */ }
    }
    await this.stop()
    // shims (and what they started) outlive containerd: end ours, by PID (their command lines name our dir)
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.opts.dir)) process.kill(Number(pid), 'SIGKILL')
      } catch { /* gone */ }
    }
    if (this.holder?.pid !== undefined && this.holder.exitCode === null) this.holder.kill('SIGKILL')
    this.holder = undefined
    await new Promise((r) => setTimeout(r, 200))
    for (const h of hierarchies()) {
      rmCgroupTree(join(h, this.cgroupParent))
      for (const c of ['k8s.io', 'default']) if (!this.cgroupsBefore.has(join(h, c))) rmCgroupTree(join(h, c))
    }
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** containerd 1.6's config (version 2) for this sandbox. */
function configToml(o: ContainerdOptions, socket: string): string {
  const q = JSON.stringify
  return `version = 2
root = ${q(join(o.dir, 'root'))}
state = ${q(join(o.dir, 'state'))}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(socket)}

[ttrpc]
  address = ${q(`${socket}.ttrpc`)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(o.dir, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(o.sandboxImage)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(o.cniBinDir)}
    conf_dir = ${q(o.cniConfDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
`
}
