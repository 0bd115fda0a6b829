/**
 * The process sandbox: runs a command through scripts/sandbox.sh (shipped with the package) in
 * new network, mount and PID namespaces, with an empty tmpfs on /run (so /run/netns belongs to
 * the sandbox alone) holding the podnet state dir and TMPDIR. The sandbox owns what it creates:
 * when the command ends or is killed (kill -9 too), the sandbox's init exits and the kernel
 * kills every process left in its PID namespace; the namespaces, mounts and temporary files go
 * with them. When the process that started the sandbox dies, the sandbox is killed too
 * (PR_SET_PDEATHSIG). With `rootless`, a user namespace maps the caller to root first.
 *
 * Uses util-linux `unshare` and `setpriv` (a multi-threaded Node process cannot unshare its own
 * mount namespace) — a test harness convenience, not product code.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process'
import { existsSync, readlinkSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SandboxError } from '../errors.js'

export interface SandboxOptions {
  /** A user namespace maps the caller to root (unshare --user --map-root-user): no root needed where user namespaces are allowed. */
  rootless?: boolean
  /** Also a tmpfs over /tmp (for code that hard-codes /tmp); files passed in through /tmp are then hidden. */
  privateTmp?: boolean
  /** stdio of the sandbox process (default 'inherit'). */
  stdio?: StdioOptions
  /**
   * The sandbox in a process group of its own: signal the command with
   * `process.kill(-child.pid, 'SIGTERM')` (the sandbox's init ignores SIGTERM, as PID 1 of a PID
   * namespace does; SIGKILL of `child.pid` ends everything at once).
   */
  processGroup?: boolean
  /** Extra environment for the command. */
  env?: NodeJS.ProcessEnv
}

/** scripts/sandbox.sh of this package (dist/src/testing -> the package root). */
export function sandboxScript(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const p = join(d, 'scripts', 'sandbox.sh')
    if (existsSync(p)) return p
    d = dirname(d)
  }
  throw new SandboxError('cannot find scripts/sandbox.sh next to podnet/testing (is the package complete?)', 'failed')
}

/** argv for running `cmd args...` in a fresh sandbox. */
export function sandboxArgv(cmd: string, args: string[] = [], opts: SandboxOptions = {}): [string, string[]] {
  const flags = [...(opts.rootless ? ['--rootless'] : []), ...(opts.privateTmp ? ['--private-tmp'] : [])]
  return ['bash', [sandboxScript(), ...flags, '--', cmd, ...args]]
}

/** Whether a sandbox can be made here, and if not, why (one sentence a user can act on). */
export interface SandboxSupport {
  readonly ok: boolean
  readonly reason?: string
  readonly error?: SandboxError
}

/**
 * Checks (once per mode, ~10 ms) that this process can make the namespaces a sandbox needs:
 * as root, or with `rootless` through a user namespace. runInSandbox calls it first so a
 * missing privilege is a SandboxError, never a silently skipped test.
 */
export function sandboxSupport(opts: { rootless?: boolean } = {}): SandboxSupport {
  const key = opts.rootless ? 'rootless' : 'root'
  const cached = supportCache.get(key)
  if (cached) return cached
  const result = probeSupport(opts.rootless === true)
  supportCache.set(key, result)
  return result
}
const supportCache = new Map<string, SandboxSupport>()

function probeSupport(rootless: boolean): SandboxSupport {
  const uid = process.getuid?.() ?? -1
  if (!rootless && uid !== 0) {
    const reason = `runInSandbox needs root (uid ${uid}): pass { rootless: true } to use a user namespace instead`
    return { ok: false, reason, error: new SandboxError(reason, 'no-privilege') }
  }
  const ns = [...(rootless ? ['--user', '--map-root-user'] : []), '--net', '--mount', '--pid', '--fork', '--mount-proc']
  const r = spawnSync('unshare', [...ns, '--', 'true'], { encoding: 'utf8', timeout: 10_000 })
  if (r.error) {
    const reason = `cannot run unshare (util-linux): ${r.error.message}`
    return { ok: false, reason, error: new SandboxError(reason, 'failed', { cause: r.error }) }
  }
  if (r.status === 0) return { ok: true }
  const said = r.stderr.trim().split('\n').pop() ?? ''
  if (rootless) {
    const reason = `user namespaces are not available to uid ${uid} (${said}); check /proc/sys/user/max_user_namespaces, ` +
      'kernel.unprivileged_userns_clone (Debian) or kernel.apparmor_restrict_unprivileged_userns (Ubuntu)'
    return { ok: false, reason, error: new SandboxError(reason, 'no-userns') }
  }
  const reason = `cannot create the sandbox's namespaces (${said})`
  return { ok: false, reason, error: new SandboxError(reason, /EPERM|not permitted/.test(said) ? 'no-privilege' : 'failed') }
}

/**
 * Starts `cmd args...` in a fresh sandbox and returns the process (the sandbox's `unshare`:
 * SIGKILL it to end the sandbox and everything in it). Does not check support first
 * (runInSandbox does): a sandbox that cannot be made exits 1 with unshare's message.
 * The third argument may be the stdio alone (the older signature).
 */
export function spawnInSandbox(cmd: string, args: string[] = [], stdioOrOpts: StdioOptions | SandboxOptions = 'inherit', more: SandboxOptions = {}): ChildProcess {
  const opts: SandboxOptions = isStdio(stdioOrOpts) ? { ...more, stdio: stdioOrOpts } : { ...stdioOrOpts, ...more }
  const [c, a] = sandboxArgv(cmd, args, opts)
  return spawn(c, a, {
    stdio: opts.stdio ?? 'inherit',
    detached: opts.processGroup === true,
    env: { ...process.env, ...opts.env, PODNET_OUTER_NETNS: readlinkSync('/proc/self/ns/net') },
  })
}

function isStdio(x: StdioOptions | SandboxOptions): x is StdioOptions {
  return typeof x === 'string' || Array.isArray(x)
}

/**
 * Runs `cmd args...` in a fresh sandbox; resolves with its exit code (128 + n when a signal
 * ended it). Throws SandboxError first when no sandbox can be made here (not root and not
 * rootless, or no user namespaces): fixtures never skip silently.
 */
export async function runInSandbox(cmd: string, args: string[] = [], opts: SandboxOptions = {}): Promise<number> {
  const support = sandboxSupport(opts)
  if (!support.ok) throw support.error ?? new SandboxError(support.reason ?? 'no sandbox', 'failed')
  return new Promise((resolve, reject) => {
    const child = spawnInSandbox(cmd, args, opts)
    child.on('error', reject)
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + signalNumber(sig) : 1)))
  })
}

const signalNumber = (sig: NodeJS.Signals): number => constants.signals[sig] ?? 0
