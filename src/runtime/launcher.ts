/**
 * The container launcher: podnet-launch, a small static C program (launcher/podnet-launch.c)
 * that runs between fork and exec, where Node cannot run code. It is compiled once on first use
 * and cached next to the build (dist/bin, else the state dir), keyed by a hash of its source and
 * compiler, so a changed source is rebuilt. PODNET_LAUNCHER overrides the path (read by the
 * supervisor and the CLI, which pass it as RuntimeOptions.launcher).
 *
 * The compiler is musl-gcc when installed (Debian's musl-tools, which scripts/setup.sh installs),
 * else gcc: the launcher stays running as each container's monitor, and a static musl build is
 * 49 kB with ~70 kB RSS against glibc's ~700 kB / ~700 kB, a third of a pod's overhead.
 *
 * This module builds its argument lists (pure) and finds or builds the binary.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PodnetError } from '../errors.js'
import { mountSecurityArgs, processSecurityArgs, type ContainerSecurity } from './security/index.js'

/** The package root (dist/src/runtime/launcher.js -> ../../..). */
const packageRoot = (): string => join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Where the launcher's C source is. */
export const launcherSource = (): string => join(packageRoot(), 'src', 'runtime', 'launcher', 'podnet-launch.c')

/** What `podnet-launch run` needs to start one container. */
export interface LaunchSpec {
  /** Namespaces to join, by pin path. */
  ns: Partial<Record<'net' | 'ipc' | 'uts' | 'pid' | 'user', string>>
  /** Mount the rootfs idmapped onto the pod's user namespace (hostUsers: false; needs ns.user). */
  idmapRootfs?: boolean
  /** A private PID namespace (when the pod's is not shared). */
  newPid: boolean
  /** Own UTS namespace with this hostname (when UTS is not shared). */
  newUts?: string
  rootfs: string
  /** Bind mounts into the rootfs (files or directories). */
  binds: Array<{ src: string; dst: string; ro?: boolean }>
  /** The pod's /dev/shm directory. */
  shm?: string
  /** The pod's volumes this container mounts (volumes.ts): SRC, SUB inside it ('' for none), DST, read-only. */
  volumes?: Array<{ src: string; sub: string; dst: string; ro: boolean }>
  /** cgroup.procs files to join. */
  cgroupProcs: string[]
  cwd?: string
  /** The complete environment, K=V. */
  env: string[]
  exitFile: string
  argv: string[]
  /** User, capabilities, seccomp, masked paths (without it the container keeps root's full power). */
  security?: ContainerSecurity
  /** The fd the seccomp filter is written to (the spawner's stdio index; with security.seccomp). */
  seccompFd?: number
}

/** The fd `pod run`'s launcher reads its seccomp filter from (3 is the status fd). */
export const RUN_SECCOMP_FD = 4
/** The fd `pod exec`'s launcher reads its seccomp filter from. */
export const EXEC_SECCOMP_FD = 3

/** argv for `podnet-launch run` (status on fd 3). */
export function runArgs(spec: LaunchSpec): string[] {
  const a = ['run', '--status-fd', '3', '--rootfs', spec.rootfs, '--exit-file', spec.exitFile]
  for (const kind of ['user', 'net', 'ipc', 'uts', 'pid'] as const) {
    const p = spec.ns[kind]
    if (p !== undefined) a.push('--ns', `${kind}=${p}`)
  }
  if (spec.newPid) a.push('--new-pid')
  if (spec.idmapRootfs) a.push('--idmap-rootfs')
  if (spec.newUts !== undefined) a.push('--new-uts', spec.newUts)
  for (const b of spec.binds) a.push(b.ro ? '--bind-ro' : '--bind', b.src, b.dst)
  if (spec.shm !== undefined) a.push('--shm', spec.shm)
  for (const v of spec.volumes ?? []) a.push('--volume', v.src, v.sub, v.dst, v.ro ? 'ro' : 'rw')
  for (const c of spec.cgroupProcs) a.push('--cgroup', c)
  if (spec.cwd !== undefined) a.push('--cwd', spec.cwd)
  for (const e of spec.env) a.push('--env', e)
  if (spec.security) {
    a.push(...processSecurityArgs(spec.security), ...mountSecurityArgs(spec.security))
    if (spec.security.seccomp) a.push('--seccomp-fd', String(spec.seccompFd ?? RUN_SECCOMP_FD))
  }
  a.push('--', ...spec.argv)
  return a
}

/** What `podnet-launch exec` needs to run a command in a running container. */
export interface ExecSpec {
  /** Host pid of the container's process (its namespaces are joined through a pidfd). */
  target: number
  cgroupProcs: string[]
  cwd?: string
  env: string[]
  argv: string[]
  /** The container's security: the exec'd process gets the same (see ContainerSecurity). */
  security?: ContainerSecurity
  /** The fd the seccomp filter is written to (default EXEC_SECCOMP_FD). */
  seccompFd?: number
  /** A terminal of the container's own devpts for the command, relayed to the launcher's stdin and stdout (pod exec -t). */
  tty?: boolean
}

/** argv for `podnet-launch exec`. */
export function execArgs(spec: ExecSpec): string[] {
  const a = ['exec', '--target', String(spec.target)]
  for (const c of spec.cgroupProcs) a.push('--cgroup', c)
  if (spec.cwd !== undefined) a.push('--cwd', spec.cwd)
  if (spec.tty) a.push('--tty')
  for (const e of spec.env) a.push('--env', e)
  if (spec.security) {
    a.push(...processSecurityArgs(spec.security))
    if (spec.security.seccomp) a.push('--seccomp-fd', String(spec.seccompFd ?? EXEC_SECCOMP_FD))
  }
  a.push('--', ...spec.argv)
  return a
}

/** runc's default PATH, used when the pod does not set one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The container's environment: PATH and HOSTNAME defaults, then the manifest's variables (last wins). */
export function containerEnv(hostname: string, env: ReadonlyArray<{ name: string; value: string }>): string[] {
  const m = new Map<string, string>([['PATH', DEFAULT_PATH], ['HOSTNAME', hostname]])
  for (const e of env) m.set(e.name, e.value)
  return [...m].map(([k, v]) => `${k}=${v}`)
}

/** The result of `podnet-launch run`'s status lines: "pid N" then "ok" or "error MSG". */
export interface LaunchStatus {
  pid?: number
  ok: boolean
  error?: string
}

/** Parses the status text the launcher wrote on fd 3. */
export function parseLaunchStatus(text: string): LaunchStatus {
  const st: LaunchStatus = { ok: false }
  for (const line of text.split('\n')) {
    if (line.startsWith('pid ')) st.pid = Number(line.slice(4))
    else if (line === 'ok') st.ok = true
    else if (line.startsWith('error ')) st.error = (st.error ? `${st.error}\n` : '') + line.slice(6)
  }
  if (!st.ok && st.error === undefined) st.error = 'the launcher ended before reporting'
  return st
}

/** The exit record the launcher writes when the container ends. */
export interface ExitRecord {
  exitCode: number
  signal: number
  pid: number
  startedAtMs: number
  finishedAtMs: number
  startError?: string
}

/** Reads (and then removes) an exit record; undefined when there is none. */
export function takeExitRecord(path: string): ExitRecord | undefined {
  let rec: ExitRecord
  try {
    rec = JSON.parse(readFileSync(path, 'utf8')) as ExitRecord
  } catch {
    return undefined
  }
  rmSync(path, { force: true })
  return rec
}

let cached: string | undefined
/** musl's gcc wrapper (Debian musl-tools). */
const MUSL_GCC = '/usr/bin/musl-gcc'

/**
 * The launcher binary: the cached build of the current source, compiled
 * now when missing (musl-gcc or gcc, -static -Os; about 0.3 s once). fallbackDir is used when the package's
 * dist/ is not writable.
 */
export function ensureLauncher(fallbackDir?: string): string {
  if (cached && existsSync(cached)) return cached
  const src = launcherSource()
  let text: Buffer
  try {
    text = readFileSync(src)
  } catch (err) {
    throw new PodnetError(`the launcher source ${src} is missing; set PODNET_LAUNCHER to a built podnet-launch`, { cause: err })
  }
  const cc = existsSync(MUSL_GCC) ? MUSL_GCC : 'gcc'
  const hash = createHash('sha256').update(text).update(`\0${cc}`).digest('hex').slice(0, 12)
  const dirs = [join(packageRoot(), 'dist', 'bin'), ...(fallbackDir ? [fallbackDir] : [])]
  for (const dir of dirs) {
    const bin = join(dir, `podnet-launch-${hash}`)
    if (existsSync(bin)) return (cached = bin)
  }
  let lastErr: unknown
  for (const dir of dirs) {
    try {
      mkdirSync(dir, { recursive: true })
      accessSync(dir, constants.W_OK)
    } catch (err) {
      lastErr = err
      continue
    }
    const bin = join(dir, `podnet-launch-${hash}`)
    const tmp = `${bin}.tmp-${process.pid}`
    try {
      execFileSync(cc, ['-static', '-Os', '-s', '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (err) {
      rmSync(tmp, { force: true })
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
      if (e.code === 'ENOENT') throw new PodnetError('building the container launcher needs gcc and libc6-dev (run scripts/setup.sh), or set PODNET_LAUNCHER', { cause: err })
      throw new PodnetError(`cannot build the container launcher: ${String(e.stderr ?? e.message).trim()}`, { cause: err })
    }
    renameSync(tmp, bin)
    return (cached = bin)
  }
  throw new PodnetError(`no writable directory for the container launcher (${dirs.join(', ')})`, { cause: lastErr })
}
