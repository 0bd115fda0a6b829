/**
 * A Docker daemon of its own (Debian's docker.io 20.10, with the containerd it starts itself),
 * for the docker0 side-by-side bench. It never touches the machine's Docker:
 *
 * - data root, exec root, pid file, socket and daemon.json under `dir`; the client is Debian's
 *   /usr/bin/docker with `-H unix://<dir>/docker.sock` and DOCKER_CONFIG under `dir`;
 * - it runs in the node namespace it is given (a topology's host), so docker0, its bridges, its
 *   veths and its iptables rules (iptables-nft) exist in that namespace only;
 * - in a nested mount namespace held by a sleeping process, with a tmpfs over /etc/docker (the
 *   daemon writes its key.json there whatever its data root);
 * - with a `modprobe` that refuses, first in its PATH: module loading is host-global state;
 * - its containers' cgroups under a parent of its own (--cgroup-parent), removed by close().
 *
 * Depends on: root, a sandboxed process, docker.io, nsenter, unshare. Cleanup: close() removes
 * every container, stops the daemon, ends what is left of its processes (their command lines
 * name `dir`, or they are its children) by PID, and removes the cgroups.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const DOCKER_CLI = '/usr/bin/docker'

export function rmCgroupTree(path: string): void {
  if (!existsSync(path)) return
  for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) rmCgroupTree(join(path, e.name))
  try { rmdirSync(path) } catch { /* busy */ }
}

export const hierarchies = (): string[] => readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '))
  .filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]!.startsWith('/sys/fs/cgroup')).map((f) => f[1]!)

/** Children of a process (from /proc/PID/task/*\/children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = []
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number))
    }
  } catch { /* gone */ }
  return out
}

/** A process and all its descendants. */
export function treeOf(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!))
  return out
}

export class Dockerd {
  readonly socket: string
  readonly cgroupParent: string
  private holder: ChildProcess | undefined
  private daemon: ChildProcess | undefined
  readonly dir: string
  readonly netnsPath: string

  private constructor(dir: string, netnsPath: string) {
    this.dir = dir
    this.netnsPath = netnsPath
    this.socket = join(dir, 'docker.sock')
    this.cgroupParent = `/podnet-docker-${randomBytes(4).toString('hex')}`
  }

  static async start(dir: string, netnsPath: string): Promise<Dockerd> {
    mkdirSync(join(dir, 'shim'), { recursive: true })
    const d = new Dockerd(dir, netnsPath)
    writeFileSync(join(dir, 'shim', 'modprobe'), '#!/bin/sh\necho "modprobe $*: refused in the bench sandbox" >&2\nexit 1\n')
    chmodSync(join(dir, 'shim', 'modprobe'), 0o755)
    writeFileSync(join(dir, 'daemon.json'), '{}\n')
    try {
      const script = ['set -e', 'mkdir -p /etc/docker', 'mount -t tmpfs podnet-etc-docker /etc/docker', 'echo ready', 'exec sleep infinity'].join('\n')
      const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] })
      d.holder = holder
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve())
        holder.once('exit', (c) => reject(new Error(`the mount namespace holder exited with ${c}`)))
      })
      const log = openSync(join(dir, 'dockerd.log'), 'a')
      d.daemon = spawn('nsenter', [`--mount=/proc/${holder.pid}/ns/mnt`, `--net=${netnsPath}`, '--', 'dockerd',
        '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
        '-H', `unix://${d.socket}`, '--config-file', join(dir, 'daemon.json'), '--cgroup-parent', d.cgroupParent,
        '--exec-opt', 'native.cgroupdriver=cgroupfs', '--storage-driver', 'overlay2', '--log-level', 'warn',
      ], { stdio: ['ignore', log, log], env: { PATH: `${join(dir, 'shim')}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir } })
      closeSync(log)
      let exited = ''
      d.daemon.once('exit', (c, s) => { exited = `dockerd exited (${c ?? s})` })
      const until = Date.now() + 60000
      for (;;) {
        if (exited) throw new Error(`${exited}: ${readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`)
        if (existsSync(d.socket) && d.cli('version').status === 0) break
        if (Date.now() > until) throw new Error(`dockerd did not answer in 60 s: ${readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      return d
    } catch (err) {
      await d.close()
      throw err
    }
  }

  /** The daemon's PID (nsenter execs dockerd). */
  get pid(): number {
    return this.daemon!.pid!
  }

  /** argv of one docker command against this daemon. */
  argv(...args: string[]): [string, string[]] {
    return [DOCKER_CLI, ['-H', `unix://${this.socket}`, ...args]]
  }

  env(): Record<string, string> {
    return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DOCKER_CONFIG: join(this.dir, 'cli'), HOME: this.dir }
  }

  cli(...args: string[]): { status: number; stdout: string; stderr: string } {
    const [cmd, a] = this.argv(...args)
    const r = spawnSync(cmd, a, { encoding: 'utf8', timeout: 120000, env: this.env() })
    return { status: r.status ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) }
  }

  /** docker ARGS, throwing on failure; stdout trimmed. */
  must(...args: string[]): string {
    const r = this.cli(...args)
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`)
    return r.stdout.trim()
  }

  /** Every process of this Docker: dockerd and its descendants, and the shims (their command lines name dir) with theirs. */
  processes(): number[] {
    const pids = new Set<number>(this.daemon?.pid ? treeOf(this.daemon.pid) : [])
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(this.dir)) for (const q of treeOf(Number(p))) pids.add(q)
      } catch { /* gone */ }
    }
    return [...pids]
  }

  async close(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) {
      const ids = this.cli('ps', '-aq').stdout.trim().split('\n').filter((x) => x !== '')
      if (ids.length) this.cli('rm', '-f', ...ids)
      const leftover = this.processes()
      const gone = new Promise((r) => this.daemon!.once('exit', r))
      this.daemon.kill('SIGTERM')
      const t = setTimeout(() => this.daemon?.kill('SIGKILL'), 20000)
      await gone
      clearTimeout(t)
      for (const p of leftover) try { process.kill(p, 'SIGKILL') } catch { /* gone */ }
    }
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(this.dir)) process.kill(Number(p), 'SIGKILL')
      } catch { /* gone */ }
    }
    if (this.holder?.exitCode === null) this.holder.kill('SIGKILL')
    await new Promise((r) => setTimeout(r, 300))
    for (const h of hierarchies()) rmCgroupTree(join(h, this.cgroupParent))
  }
}
