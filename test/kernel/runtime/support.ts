/**
 * Fixtures for pod runtime tests: a busybox-static rootfs, an in-process PodRuntime with its
 * own state dir and cgroup parent (podnet-test-<hex>), and cleanup that removes every pod, the
 * cgroups and the temporary directories.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PodRuntime, detectCgroupLayout, validateManifest, type PodRecord, type PodSpec, type ProcessRef, type RuntimeOptions } from '../../../src/runtime/index.js'
import { containerEnv, ensureLauncher, execArgs } from '../../../src/runtime/launcher.js'
import { childPids, isAlive, processRef, processStartTime } from '../../../src/runtime/proc.js'
import { resolveSecurity, seccompFilterBytes } from '../../../src/runtime/security/index.js'
import { createTopology, ipJson, nftRuleset, type Topology } from '../../../src/testing/index.js'

const APPLETS = ['sh', 'sleep', 'nc', 'hostname', 'cat', 'ps', 'ls', 'echo', 'touch', 'dd', 'head', 'tail', 'true', 'false', 'test', 'wc', 'grep', 'id', 'kill', 'mkdir', 'env', 'pwd', 'date', 'readlink']

/** A rootfs: /bin/busybox with applet symlinks, /etc, and an optional extra static binary. */
export function buildRootfs(extra: Record<string, string> = {}, parent = tmpdir()): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (scripts/setup.sh)')
  const root = mkdtempSync(join(parent, 'podnet-rootfs-'))
  chmodSync(root, 0o755) // as an image's root: other users (runAsUser) can reach /bin
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'srv']) mkdirSync(join(root, d))
  copyFileSync(busybox, join(root, 'bin', 'busybox'))
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a))
  for (const [name, src] of Object.entries(extra)) copyFileSync(src, join(root, 'bin', name))
  return root
}

/** A block device of the test's own with a mounted ext4 on it (createLoopFs). */
export interface LoopFs {
  /** The loop device, /dev/loopN (allocated with `losetup -f --show`). */
  readonly device: string
  /** Its device number as cgroup files name it: "7:N". */
  readonly majMin: string
  /** Where the file system is mounted (in this sandbox's private mount namespace). */
  readonly dir: string
  /** The image file behind the device. */
  readonly image: string
  /** Unmounts, makes sure exactly this device is released, removes the image. Idempotent. */
  close(): void
}

/**
 * Creates a small ext4 on a loop device and mounts it, for tests that need writes attributed to
 * a real block device whatever the machine's own disks are (tmpfs, overlayfs...).
 *
 * Creates: an image file (sparse, `sizeBytes`) under `parent` (the sandbox's TMPDIR, a tmpfs, by
 * default), made ext4 by `mkfs.ext4`; one loop device on it (`losetup -f --show`: loop devices
 * are the host's, so only a free one is taken); a mount of it in this process's mount namespace,
 * which scripts/sandbox.sh makes private (nothing propagates to the machine). Scope: until
 * close(). Depends on: root inside scripts/sandbox.sh, losetup, mkfs.ext4, /dev/loop-control.
 * Cleanup: right after mounting, the device is detached with `losetup -d`, which for a device in
 * use only sets the kernel's autoclear flag: the kernel releases it when its last user, the mount,
 * goes, also when the test is killed (the sandbox's mount namespace dies with it). close()
 * unmounts (lazily when still busy), and if the device is still bound to this image (a holder
 * outlived the unmount), detaches exactly that device again; then removes the image.
 */
export function createLoopFs(sizeBytes = 64 * 2 ** 20, parent = tmpdir()): LoopFs {
  if (process.env.PODNET_IN_SANDBOX !== '1') throw new Error('createLoopFs: mounts only inside scripts/sandbox.sh (a private mount namespace)')
  const base = mkdtempSync(join(parent, 'podnet-loopfs-'))
  const image = join(base, 'disk.img')
  const dir = join(base, 'mnt')
  mkdirSync(dir)
  writeFileSync(image, '')
  truncateSync(image, sizeBytes)
  let device: string | undefined
  let mounted = false
  const boundToImage = (dev: string): boolean => {
    try {
      return readFileSync(`/sys/block/${basename(dev)}/loop/backing_file`, 'utf8').trim() === image
    } catch {
      return false // released (no loop/ directory), or never bound
    }
  }
  const close = (): void => {
    if (mounted) {
      const r = spawnSync('umount', [dir], { encoding: 'utf8' })
      if (r.status !== 0) spawnSync('umount', ['-l', dir])
      mounted = false
    }
    if (device !== undefined) {
      // autoclear released it once the mount went; a device still bound to our image is ours
      for (let i = 0; i < 50 && boundToImage(device); i++) {
        spawnSync('losetup', ['-d', device])
        if (boundToImage(device)) execFileSync('sleep', ['0.1'])
      }
      device = undefined
    }
    rmSync(base, { recursive: true, force: true })
  }
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: ['ignore', 'ignore', 'pipe'] })
    device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim()
    execFileSync('mount', ['-t', 'ext4', device, dir], { stdio: ['ignore', 'ignore', 'pipe'] })
    mounted = true
    execFileSync('losetup', ['-d', device]) // autoclear: see above
    const majMin = readFileSync(`/sys/block/${basename(device)}/dev`, 'utf8').trim()
    return { device, majMin, dir, image, close }
  } catch (err) {
    close()
    throw err
  }
}

/** Compiles a static C program (test helpers that busybox lacks); returns its path. */
export function compileStatic(source: string, dir: string, name: string): string {
  const src = join(dir, `${name}.c`)
  const out = join(dir, name)
  execFileSync('sh', ['-c', `cat > ${src}`], { input: source })
  execFileSync('gcc', ['-static', '-Os', '-o', out, src])
  return out
}

/** Removes a cgroup directory tree in every hierarchy (children first). */
export function removeCgroupTree(rel: string): void {
  for (const h of detectCgroupLayout().hierarchies) {
    const walk = (dir: string): void => {
      let entries: string[] = []
      try { entries = readdirSync(dir) } catch { return }
      for (const e of entries) if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e))
      try { rmdirSync(dir) } catch { /* busy or gone */ }
    }
    walk(join(h.mount, rel))
  }
}

/** True when any hierarchy still has the directory. */
export function cgroupExists(rel: string): boolean {
  return detectCgroupLayout().hierarchies.some((h) => existsSync(join(h.mount, rel)))
}

export interface RuntimeFixture {
  rt: PodRuntime
  stateDir: string
  runDir: string
  cgroupParent: string
  rootfs: string
  /** A validated PodSpec from a manifest object whose rootfs annotation defaults to the fixture's. */
  spec(doc: { name: string; spec: Record<string, unknown>; annotations?: Record<string, string> }): PodSpec
  /** run + remember for cleanup. */
  run(spec: PodSpec, opts?: { hostNetns?: string }): Promise<PodRecord>
}

/** mocha hooks: one runtime per test file (before/after), pods removed after every test. */
export function useRuntime(opts: Partial<RuntimeOptions> = {}): () => RuntimeFixture {
  let fx: RuntimeFixture | undefined
  const errors: Error[] = []
  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    const stateDir = mkdtempSync(join(tmpdir(), 'podnet-rt-'))
    // the run dir on tmpfs, as /run/podnet is outside the tests (the sandbox has its own /run)
    const runDir = mkdtempSync('/run/podnet-rt-')
    const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
    const rt = new PodRuntime({ stateDir, runDir, cgroupParent, backoff: { baseMs: 100, maxMs: 2000, resetAfterMs: 60_000 }, ...opts })
    rt.on('error', (e: Error) => errors.push(e))
    const rootfs = buildRootfs()
    fx = {
      rt, stateDir, runDir, cgroupParent, rootfs,
      spec: (d) => validateManifest({
        metadata: { name: d.name, annotations: { 'podnet.io/rootfs': rootfs, ...d.annotations } },
        spec: { terminationGracePeriodSeconds: 1, ...d.spec },
      }).spec,
      run: (spec, o) => rt.run(spec, o),
    }
  })
  afterEach(async function () {
    this.timeout(60_000)
    if (!fx) return
    for (const name of fx.rt.store.names()) await fx.rt.remove(name, { gracePeriodSeconds: 0 })
    if (errors.length) throw new AggregateError(errors.splice(0), 'runtime errors')
  })
  after(() => {
    if (!fx) return
    fx.rt.close()
    removeCgroupTree(fx.cgroupParent)
    rmSync(fx.stateDir, { recursive: true, force: true })
    rmSync(fx.runDir, { recursive: true, force: true })
    rmSync(fx.rootfs, { recursive: true, force: true })
  })
  return () => {
    if (!fx) throw new Error('useRuntime(): used outside a test')
    return fx
  }
}

/** Polls fn until it returns a value other than undefined (or throws after timeoutMs). */
export async function eventually<T>(fn: () => T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Runs argv inside a running container (podnet-launch exec) with the container's security, as
 * `podnet pod exec` does (the seccomp filter comes on stdin, which the command then lacks);
 * returns status and output.
 */
export function execIn(rec: PodRecord, container: string, argv: string[]): { status: number; stdout: string; stderr: string } {
  const cs = rec.containers.find((c) => c.name === container)
  if (!cs || cs.state.status !== 'running') throw new Error(`container ${container} is not running`)
  const spec = rec.spec.containers.find((c) => c.name === container)!
  const layout = detectCgroupLayout()
  const procs = cs.cgroup !== undefined ? layout.hierarchies.map((h) => join(h.mount, cs.cgroup!, 'cgroup.procs')) : []
  const security = resolveSecurity(rec.spec.securityContext, spec.securityContext)
  const filter = seccompFilterBytes(security)
  const r = spawnSync(ensureLauncher(), execArgs({ target: cs.state.pid, cgroupProcs: procs, env: containerEnv(rec.spec.hostname, spec.env), argv, security, seccompFd: 0 }), { encoding: 'utf8', timeout: 10_000, input: filter ?? '' })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

// ---------------------------------------------------------------------------------------------
// the CLI, a supervisor it starts, and a host namespace with a podnet network

export interface CliResult { status: number; stdout: string; stderr: string }

export interface CliWorld {
  topo: Topology
  /** The environment every command (and so the supervisor it starts) gets. */
  env: NodeJS.ProcessEnv
  cgroupParent: string
  rootfs: string
  /** The network pods join (10.79.0.0/24, made in the topology's host namespace). */
  network: string
  /** Runs bin/podnet.js with env (plus extra variables). */
  podnet(args: string[], extraEnv?: NodeJS.ProcessEnv): CliResult
  /** Runs it and asserts exit 0; returns stdout. */
  ok(...args: string[]): string
  inspect(name: string): PodRecord
  /** Writes a manifest file; returns its path. */
  manifest(name: string, yaml: string): string
  /** The running supervisor's pid, from its pid file, if it is alive. */
  supervisorPid(): number | undefined
  /** Everything a pod may leave behind that is still there (empty: nothing). */
  leftovers(name: string, processes: ProcessRef[]): string[]
}

export const podnetBin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

/** mocha hooks: a topology (host namespace), a network, state and run dirs, a rootfs; the supervisor stopped and everything removed after. */
export function useCliWorld(): () => CliWorld {
  let w: CliWorld | undefined
  let dir = ''
  let nftBaseline = 0
  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    const topo = createTopology()
    dir = mkdtempSync(join(tmpdir(), 'podnet-cli-world-'))
    const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
    const env: NodeJS.ProcessEnv = {
      ...process.env, PODNET_STATE_DIR: topo.stateDir, PODNET_RUN_DIR: topo.runDir, PODNET_CGROUP_PARENT: cgroupParent,
      PODNET_BACKOFF_BASE_MS: '200', PODNET_SUPERVISOR_IDLE_MS: '0',
    }
    const podnet = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliResult => {
      const r = spawnSync(process.execPath, [podnetBin, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 30_000 })
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
    }
    const ok = (...args: string[]): string => {
      const r = podnet(args)
      assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    const network = 'pods'
    ok('network', 'create', network, '--subnet', '10.79.0.0/24', '--host-netns', topo.host.name)
    nftBaseline = nftRuleset(topo.host.name).filter((o) => o.rule).length
    const rootfs = buildRootfs()
    const runNet = join(topo.runDir, 'networks', network)
    w = {
      topo, env, cgroupParent, rootfs, network, podnet, ok,
      inspect: (name) => JSON.parse(ok('pod', 'inspect', name, '--json')) as PodRecord,
      manifest: (name, yaml) => {
        const f = join(dir, `${name}.yaml`)
        writeFileSync(f, yaml)
        return f
      },
      supervisorPid: () => {
        try {
          const pid = Number(readFileSync(join(topo.stateDir, 'supervisor.pid'), 'utf8').trim())
          return processStartTime(pid) !== undefined ? pid : undefined
        } catch {
          return undefined
        }
      },
      leftovers: (name, processes) => {
        const out: string[] = []
        for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
          const mp = line.split(' ')[4]
          if (mp && (mp.startsWith(`${topo.stateDir}/`) || mp.startsWith(`${topo.runDir}/`)) && mp.includes(`/pods/${name}/`)) out.push(`mount ${mp}`)
        }
        for (const p of processes) if (isAlive(p)) out.push(`process ${p.pid} (${readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()})`)
        if (cgroupExists(`${cgroupParent}/${name}`)) out.push(`cgroup ${cgroupParent}/${name}`)
        for (const l of ipJson(topo.host.name, 'link', 'show', 'type', 'veth') as Array<{ ifname: string }>) if (l.ifname !== 'up0') out.push(`veth ${l.ifname}`)
        const ls = (d: string): string[] => { try { return readdirSync(d) } catch { return [] } }
        for (const f of ls(join(runNet, 'ipam'))) if (/^[0-9.]+$|^[0-9a-f_]+$/.test(f)) out.push(`IPAM address ${f}`)
        for (const f of ls(join(runNet, 'attachments'))) out.push(`attachment ${f}`)
        for (const d of ls(join(topo.runDir, 'ports'))) for (const f of ls(join(topo.runDir, 'ports', d))) out.push(`port claim ${d}/${f}`)
        const rules = nftRuleset(topo.host.name).filter((o) => o.rule).length
        if (rules !== nftBaseline) out.push(`nft rules: ${rules}, ${nftBaseline} without pods`)
        return out
      },
    }
  })
  afterEach(function () {
    this.timeout(60_000)
    if (!w) return
    for (const p of JSON.parse(w.ok('pod', 'ls', '--json')) as PodRecord[]) w.ok('pod', 'rm', p.name, '-t', '0')
  })
  after(function () {
    this.timeout(60_000)
    if (!w) return
    stopSupervisorOf(w.topo.stateDir, () => w!.podnet(['pod', 'supervisor', 'stop']))
    w.podnet(['network', 'rm', w.network, '--force', '--host-netns', w.topo.host.name])
    removeCgroupTree(w.cgroupParent)
    w.topo.close()
    for (const d of [dir, w.rootfs]) rmSync(d, { recursive: true, force: true })
  })
  return () => {
    if (!w) throw new Error('useCliWorld(): used outside a test')
    return w
  }
}

/** The process ids a pod record names: the pause, every running container and its launcher. */
export function podProcesses(rec: PodRecord): ProcessRef[] {
  const out: ProcessRef[] = []
  if (rec.sandbox.pause) out.push(rec.sandbox.pause)
  for (const c of rec.containers) {
    if (c.state.status !== 'running') continue
    out.push(c.state.launcher)
    const st = processStartTime(c.state.pid)
    if (st !== undefined) out.push({ pid: c.state.pid, startTime: st })
  }
  return out
}

/** The state letter of a process (R, S, T, Z...), undefined when gone. */
export function procState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

/**
 * Stops the supervisor of a state dir: politely (stop), then, should it still run (a broken
 * build, a failed test), with SIGKILL by the pid in its pid file. Tests never leave one behind.
 */
export function stopSupervisorOf(stateDir: string, stop: () => unknown): void {
  let pid: number | undefined
  try {
    pid = Number(readFileSync(join(stateDir, 'supervisor.pid'), 'utf8').trim())
  } catch {
    pid = undefined
  }
  const start = pid !== undefined ? processStartTime(pid) : undefined
  try { stop() } catch { /* below */ }
  if (pid !== undefined && start !== undefined && processStartTime(pid) === start) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
}

/**
 * Runs `podnet ARGS` (in the background) while a supervisor that halts at `stage` serves it,
 * waits for the halt (the supervisor stopped, its log saying so), SIGKILLs the supervisor there
 * and returns the processes it had started, the command's exit status and its stderr.
 */
export async function killHaltedSupervisor(w: CliWorld, args: string[], stage: string, opts: { env?: NodeJS.ProcessEnv; haltTimeoutMs?: number } = {}): Promise<{ started: ProcessRef[]; status: number | null; stderr: string }> {
  const cli = spawn(process.execPath, [podnetBin, ...args], { env: opts.env ?? w.env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  cli.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exit = new Promise<number | null>((r) => cli.once('close', (code) => r(code)))
  try {
    const sup = await eventually(() => {
      const pid = w.supervisorPid()
      return pid !== undefined && procState(pid) === 'T' ? pid : undefined
    }, opts.haltTimeoutMs ?? 30_000, `the supervisor halted at ${stage}`)
    assert.match(readFileSync(join(w.topo.stateDir, 'supervisor.log'), 'utf8'), new RegExp(`halting at stage '${stage}'`))
    const started = childPids(sup).map((p) => processRef(p)).filter((r): r is ProcessRef => r !== undefined)
    process.kill(sup, 'SIGKILL')
    await eventually(() => (processStartTime(sup) === undefined ? true : undefined), 5000, 'the supervisor gone')
    return { started, status: await exit, stderr }
  } finally {
    if (cli.exitCode === null) cli.kill('SIGKILL')
  }
}
