/**
 * The podman 4 peer of the pod bench: Debian's podman with crun, conmon, catatonit (its pause
 * image) and its default network backend, with every directory of its own under a temp dir
 * (graphroot, runroot, tmp, network config, events; containers.conf and storage.conf given by
 * CONTAINERS_CONF / CONTAINERS_STORAGE_CONF), as test/kernel/cni/podman.test.ts runs it.
 *
 * Unlike that test, podman runs with cgroups (cgroupfs manager), as it does by default, since
 * podnet puts every pod in cgroups too. crun 1.8 refuses this machine's hybrid layout while the
 * cgroup2 mount still owns a controller (hugetlb), so for the run hugetlb is bound to a v1
 * hierarchy mounted at /sys/fs/cgroup/hugetlb in the sandbox's private mount namespace. That
 * binding is global kernel state: it is undone by removing every cgroup podman made (all under
 * one cgroup parent of ours, given with `pod create --cgroup-parent`), waiting until the kernel
 * has released them, and unmounting: the v1 hierarchy then dies and hugetlb returns to v2.
 * A v1 hierarchy that still has a child cgroup when its last mount goes stays bound for good,
 * which is why the order matters. podman's limits: default_ulimits (no CAP_SYS_RESOURCE here).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from '../network/lib.js'
import { mustRun, run, type ChildResult } from './lib.js'

const HUGETLB = '/sys/fs/cgroup/hugetlb'
const UNIFIED = '/sys/fs/cgroup/unified'

/** The hierarchy id of hugetlb in /proc/cgroups (0: the cgroup2 hierarchy) and its cgroup count. */
export function hugetlbBinding(): { hierarchy: number; cgroups: number } | undefined {
  const line = readFileSync('/proc/cgroups', 'utf8').split('\n').find((l) => l.startsWith('hugetlb\t'))
  if (!line) return undefined
  const f = line.split('\t')
  return { hierarchy: Number(f[1]), cgroups: Number(f[2]) }
}

const v2Controllers = (): string[] => {
  try {
    return readFileSync(join(UNIFIED, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
  } catch {
    return []
  }
}

const mounted = (path: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path)

/** Removes a cgroup directory tree, children first, in every hierarchy mounted under /sys/fs/cgroup. */
export function removeCgroupTree(rel: string): string[] {
  const left: string[] = []
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const walk = (dir: string): void => {
      let entries: string[] = []
      try { entries = readdirSync(dir) } catch { return }
      for (const e of entries) {
        try { if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e)) } catch { /* gone */ }
      }
      try { rmdirSync(dir) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir) }
    }
    walk(join('/sys/fs/cgroup', h, rel))
  }
  return left
}

export interface PodmanInfo {
  version: string
  networkBackend: string
  ociRuntime: string
  cgroupManager: string
  iptables: string
}

export class Podman {
  readonly dir: string
  readonly env: NodeJS.ProcessEnv
  readonly cgroupParent: string
  info: PodmanInfo | undefined
  private createdHugetlbDir = false
  private mountedHugetlb = false
  readonly notes: string[] = []
  /**
   * Further cgroup trees (relative to each hierarchy) cleanup removes before giving hugetlb back:
   * `podman kube play` has no --cgroup-parent, so its pods go under libpod_parent (the
   * workloads bench adds it when it did not exist before the run).
   */
  readonly extraCgroups: string[] = []

  private constructor(dir: string, cgroupParent: string) {
    this.dir = dir
    this.cgroupParent = cgroupParent
    this.env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      HOME: dir,
    }
  }

  /** Writes the configuration and binds hugetlb to v1 for crun (see the file comment). */
  static async setup(cgroupParent: string): Promise<Podman> {
    const p = new Podman(mkdtempSync('/tmp/podnet-bench-podman-'), cgroupParent)
    const d = p.dir
    writeFileSync(join(d, 'containers.conf'), [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'log_driver = "k8s-file"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(d, 'events.log')}"`,
      'runtime = "crun"',
      `tmp_dir = "${join(d, 'tmp')}"`,
      '[network]',
      `network_config_dir = "${join(d, 'networks')}"`,
      '',
    ].join('\n'))
    writeFileSync(join(d, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${join(d, 'runroot')}"\ngraphroot = "${join(d, 'root')}"\n`)
    if (v2Controllers().length) {
      if (!existsSync(HUGETLB)) {
        mkdirSync(HUGETLB)
        p.createdHugetlbDir = true
      }
      if (!mounted(HUGETLB)) {
        await mustRun('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'podnet-bench-hugetlb', HUGETLB])
        p.mountedHugetlb = true
      }
      const left = v2Controllers()
      if (left.length) p.notes.push(`cgroup2 still owns ${left.join(', ')}: crun may refuse to run`)
    }
    const info = await mustRun('podman', ['info', '--format', '{{.Version.Version}}|{{.Host.NetworkBackend}}|{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}|{{.Host.CgroupManager}}'], { env: p.env })
    const [version, networkBackend, ociRuntime, cgroupManager] = info.stdout.trim().split('|')
    const ipt = await run('iptables', ['--version'])
    p.info = {
      version: version ?? '?', networkBackend: networkBackend ?? '?', ociRuntime: (ociRuntime ?? '?').split('\n')[0]!, cgroupManager: cgroupManager ?? '?',
      iptables: ipt.stdout.trim(),
    }
    return p
  }

  cmd(...args: string[]): Promise<ChildResult> {
    return run('podman', args, { env: this.env })
  }

  async must(...args: string[]): Promise<ChildResult> {
    const r = await this.cmd(...args)
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`)
    return r
  }

  /** `podman pod create` + `podman run -d --pod` per container; wall ms of each command. */
  async startPod(name: string, rootfs: string, containers: number): Promise<{ createMs: number; runMs: number[]; cids: string[] }> {
    const c = await this.must('pod', 'create', '--cgroup-parent', `/${this.cgroupParent}`, '--name', name)
    const runMs: number[] = []
    const cids: string[] = []
    for (let i = 0; i < containers; i++) {
      const r = await this.must('run', '-d', '--pod', name, '--rootfs', rootfs, 'sleep', '3600')
      runMs.push(r.wallMs)
      cids.push(r.stdout.trim().split('\n').pop() ?? '')
    }
    return { createMs: c.wallMs, runMs, cids }
  }

  /** Pid of a container's process, its conmon's pid, and whether it is the pod's infra container. */
  async inspect(ids: string[]): Promise<Array<{ id: string; pid: number; conmonPid: number; infra: boolean; pod: string }>> {
    if (!ids.length) return []
    const r = await this.must('inspect', '--format', '{{.Id}} {{.State.Pid}} {{.State.ConmonPid}} {{.IsInfra}} {{.Pod}}', ...ids)
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
      const [id, pid, conmonPid, infra, pod] = l.split(' ')
      return { id: id!, pid: Number(pid), conmonPid: Number(conmonPid), infra: infra === 'true', pod: pod ?? '' }
    })
  }

  async allContainerIds(): Promise<string[]> {
    const r = await this.must('ps', '-a', '-q', '--no-trunc')
    return r.stdout.trim().split('\n').filter(Boolean)
  }

  async removePods(names: string[]): Promise<void> {
    if (names.length) await this.cmd('pod', 'rm', '-f', '-t', '0', ...names)
  }

  /**
   * Removes every pod and container, ends leftover conmons of ours by pid, removes our
   * cgroups, gives hugetlb back to cgroup v2, deletes the temp dir. Returns what it could not do.
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = []
    await this.cmd('pod', 'rm', '--all', '-f', '-t', '0')
    await this.cmd('rm', '--all', '-f', '-t', '0')
    // conmon (and its exit-command cleanup process) can outlive podman: end ours, by pid
    for (let round = 0; round < 20; round++) {
      const ours = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).filter((p) => {
        try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(this.dir) } catch { return false }
      })
      if (!ours.length) break
      if (round >= 10) for (const p of ours) { try { process.kill(Number(p), 'SIGKILL') } catch { /* gone */ } }
      await sleep(100)
    }
    const left = [this.cgroupParent, ...this.extraCgroups].flatMap((c) => removeCgroupTree(c))
    if (left.length) problems.push(`cgroups not removed: ${left.join(', ')}`)
    if (this.mountedHugetlb) {
      // the v1 hierarchy dies with its last mount only when it has no child cgroup left, and a
      // removed cgroup leaves its parent's list asynchronously: wait for that before unmounting
      for (let i = 0; i < 100 && (hugetlbBinding()?.cgroups ?? 1) > 1; i++) await sleep(50)
      const r = await run('umount', [HUGETLB])
      if (r.status !== 0) problems.push(`umount ${HUGETLB}: ${r.stderr.trim()}`)
      for (let i = 0; i < 40 && (hugetlbBinding()?.hierarchy ?? 0) !== 0; i++) await sleep(50)
      if ((hugetlbBinding()?.hierarchy ?? 0) !== 0) {
        // a mount and unmount with no child cgroup left ends the hierarchy
        const r2 = await run('sh', ['-c', `mount -t cgroup -o hugetlb podnet-bench-hugetlb ${HUGETLB} && umount ${HUGETLB}`])
        for (let i = 0; i < 40 && (hugetlbBinding()?.hierarchy ?? 0) !== 0; i++) await sleep(50)
        if ((hugetlbBinding()?.hierarchy ?? 0) !== 0) {
          problems.push(`hugetlb is still bound to a v1 hierarchy (${JSON.stringify(hugetlbBinding())}; another user of it?) ${r2.stderr.trim()}`)
        }
      }
    }
    if (this.createdHugetlbDir) {
      try { rmdirSync(HUGETLB) } catch (err) { problems.push(`rmdir ${HUGETLB}: ${(err as Error).message}`) }
    }
    try { rmSync(this.dir, { recursive: true, force: true }) } catch (err) { problems.push(`rm ${this.dir}: ${(err as Error).message}`) }
    return problems
  }
}
