/**
 * The supervisor: ONE Node process per state dir that runs a PodRuntime for every pod, so
 * pods outlive the CLI. The CLI starts it on demand (detached, own session) and talks to it
 * over <state>/supervisor.sock: one JSON request line, one JSON response line per connection.
 * <state>/supervisor.lock (flock) makes it one per state dir; <state>/supervisor.pid names it.
 *
 * When it dies, pods keep running (the pause and the launchers do not depend on it). The next
 * supervisor adopts them (PodRuntime.adopt): see docs/pods.md, "When the supervisor dies".
 *
 * The requests and the client side are in client.ts.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { InvalidArgumentError, PodnetError, isErrno } from '../errors.js'
import { LOCK_EX, LOCK_NB, O_CLOEXEC, O_CREAT, O_RDWR } from '../sys/constants.js'
import { close, flock, open } from '../sys/syscall.js'
import { errorToWire, type PingResult, type RunManifestResult, type SupervisorRequest } from './client.js'
import { checkManifestSize, MANIFEST_MAX_BYTES } from './limits.js'
import { parseManifest } from './manifest-yaml.js'
import { PodRuntime, type RuntimeOptions } from './pod-runtime.js'
import { HALT_STAGES, type HaltStage } from './sandbox.js'
import { userNamespacePool } from './userns.js'
import { bootIdFromEnv } from '../state/boot.js'
import { rssBytes } from './proc.js'
import { PodStore } from './state-store.js'

export interface SupervisorOptions extends RuntimeOptions {
  /** Exit after this long with no active pod and no request (default 60 s; 0: never). */
  idleExitMs?: number
  /** Where log lines go (default: stderr, which is supervisor.log for a supervisor the CLI starts). */
  log?: (msg: string) => void
  /**
   * Request handlers that run in the supervisor beside the pods (the workload controllers,
   * src/workloads: wired by supervisor-main.ts). Each is made once the pods are adopted and
   * before the socket listens; `restored` resolves once the pods a reboot took down are back.
   */
  extensions?: Array<(sup: Supervisor, restored: Promise<void>) => SupervisorExtension | Promise<SupervisorExtension>>
}

/** A request handler in the supervisor (op 'extension' with its name). */
export interface SupervisorExtension {
  readonly name: string
  handle(body: unknown): Promise<unknown>
  /** True while it has work that needs the supervisor to stay (no idle exit). */
  busy(): boolean
  /** Stops its timers; called when the supervisor closes. */
  close(): void
}

/** The longest request line taken (a manifest at its limit, escaped as JSON, and the rest of the request). */
const MAX_REQUEST_CHARS = 4 * MANIFEST_MAX_BYTES + 64 * 1024

/**
 * A supervisor log line on stderr (supervisor.log). A log that cannot be written (a full disk)
 * loses the line, never the supervisor.
 */
export const logLine = (msg: string): void => {
  try {
    process.stderr.write(`${new Date().toISOString()} supervisor[${process.pid}]: ${msg}\n`)
  } catch {
    // lost
  }
}

/** Runtime options from the environment (how the CLI passes them to a supervisor it starts). */
export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SupervisorOptions {
  const num = (k: string): number | undefined => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : undefined)
  const o: SupervisorOptions = {}
  const backoff: NonNullable<RuntimeOptions['backoff']> = {}
  const base = num('PODNET_BACKOFF_BASE_MS')
  const max = num('PODNET_BACKOFF_MAX_MS')
  const reset = num('PODNET_BACKOFF_RESET_MS')
  if (base !== undefined) backoff.baseMs = base
  if (max !== undefined) backoff.maxMs = max
  if (reset !== undefined) backoff.resetAfterMs = reset
  if (Object.keys(backoff).length) o.backoff = backoff
  if (env.PODNET_CGROUP_PARENT) o.cgroupParent = env.PODNET_CGROUP_PARENT
  if (env.PODNET_RUN_DIR) o.runDir = env.PODNET_RUN_DIR
  const idle = num('PODNET_SUPERVISOR_IDLE_MS')
  if (idle !== undefined) o.idleExitMs = idle
  if (env.PODNET_TEST_HALT_AT) o.checkpoint = haltCheckpoint(env.PODNET_TEST_HALT_AT)
  if (env.PODNET_LAUNCHER) o.launcher = env.PODNET_LAUNCHER
  if (env.PODNET_PAUSE) o.pause = env.PODNET_PAUSE.split(' ').filter(Boolean)
  if (env.PODNET_USERNS_POOL) o.usernsPool = userNamespacePool(env)
  // test hook: the boot id a simulated reboot gives the commands of the new boot (src/state/boot.ts)
  const bootId = bootIdFromEnv(env)
  if (bootId !== undefined) o.bootId = bootId
  return o
}

/**
 * The test hook PODNET_TEST_HALT_AT=STAGE as a runtime checkpoint: at that stage of creating a
 * pod the supervisor stops itself with SIGSTOP, so a test can SIGKILL it exactly there (HALT_STAGES).
 */
export function haltCheckpoint(stage: string): (at: HaltStage) => void {
  if (!(HALT_STAGES as readonly string[]).includes(stage)) {
    throw new InvalidArgumentError('PODNET_TEST_HALT_AT', `unknown stage '${stage}' (one of ${HALT_STAGES.join(', ')})`)
  }
  return (at) => {
    if (at !== stage) return
    process.stderr.write(`${new Date().toISOString()} podnet runtime[${process.pid}]: halting at stage '${stage}' (test hook PODNET_TEST_HALT_AT)\n`)
    process.kill(process.pid, 'SIGSTOP')
  }
}

/** A running supervisor (in this process). */
export class Supervisor {
  readonly runtime: PodRuntime
  readonly store: PodStore
  private readonly server: Server
  private readonly lockFd: number
  private readonly startedAt = new Date().toISOString()
  private lastRequest = Date.now()
  private idleTimer: NodeJS.Timeout | undefined
  private closing: Promise<void> | undefined
  private readonly extensions = new Map<string, SupervisorExtension>()
  /** Called once the supervisor has shut down (the main program exits then). */
  onClosed: (() => void) | undefined

  private constructor(runtime: PodRuntime, server: Server, lockFd: number) {
    this.runtime = runtime
    this.store = runtime.store
    this.server = server
    this.lockFd = lockFd
  }

  /**
   * Takes the state dir's supervisor lock, adopts the pods left by an earlier supervisor and
   * listens. Returns undefined when another supervisor holds the lock.
   */
  static async start(opts: SupervisorOptions = {}): Promise<Supervisor | undefined> {
    const store = new PodStore({ ...(opts.stateDir !== undefined && { stateDir: opts.stateDir }), ...(opts.runDir !== undefined && { runDir: opts.runDir }) })
    mkdirSync(store.root, { recursive: true, mode: 0o700 })
    const lockFd = open(store.lockPath(), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    try {
      flock(lockFd, LOCK_EX | LOCK_NB, store.lockPath())
    } catch (err) {
      close(lockFd)
      if (isErrno(err, 'EAGAIN') || isErrno(err, 'EWOULDBLOCK')) return undefined
      throw err
    }
    let runtime: PodRuntime
    try {
      runtime = new PodRuntime(opts)
      // errors of pods that nobody waits for (adoption, exits, restarts) go to the log
      const log = opts.log ?? logLine
      runtime.on('error', (err: Error) => { log(`error: ${err.stack ?? err.message}`) })
      runtime.on('write-failed', (pod: string, err: Error) => { log(`pod ${pod}: ${err.message}; the record is kept in memory and the write retried`) })
      runtime.on('write-recovered', (pod: string, attempts: number) => { log(`pod ${pod}: record written after ${attempts} failed attempt(s)`) })
      runtime.on('restored', (pod: string, r: { message: string; count: number }) => { log(`pod ${pod}: restored (${r.message}; restore #${r.count})`) })
      runtime.on('lost', (pod: string, message: string) => { log(`pod ${pod}: not restored: ${message}`) })
      await runtime.adopt()
    } catch (err) {
      close(lockFd)
      throw err
    }
    const server = createServer()
    const sup = new Supervisor(runtime, server, lockFd)
    let restoredDone: () => void = () => {}
    const restored = new Promise<void>((r) => { restoredDone = r })
    try {
      for (const make of opts.extensions ?? []) {
        const ext = await make(sup, restored)
        sup.extensions.set(ext.name, ext)
      }
    } catch (err) {
      for (const ext of sup.extensions.values()) ext.close()
      runtime.close()
      close(lockFd)
      throw err
    }
    server.on('connection', (sock) => sup.serve(sock))
    rmSync(store.socketPath(), { force: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(store.socketPath(), () => resolve())
    })
    try {
      writeFileSync(store.pidPath(), `${process.pid}\n`)
    } catch (err) {
      // a full disk: the pid file only names the supervisor (the socket is how it is reached)
      (opts.log ?? logLine)(`cannot write ${store.pidPath()}: ${(err as Error).message}`)
    }
    // pods a reboot (or a cleared run dir) took down come back while requests are served: a
    // stop or rm of one of them waits for its turn
    void runtime.restoreLost().catch((err: Error) => { (opts.log ?? logLine)(`error: restoring pods: ${err.stack ?? err.message}`) }).finally(restoredDone)
    const idle = opts.idleExitMs ?? 60_000
    if (idle > 0) {
      sup.idleTimer = setInterval(() => {
        if (runtime.activeCount() === 0 && runtime.unsavedRecords().length === 0 && ![...sup.extensions.values()].some((e) => e.busy()) && Date.now() - sup.lastRequest > idle) void sup.close()
      }, Math.min(idle, 1000))
    }
    return sup
  }

  private serve(sock: Socket): void {
    this.lastRequest = Date.now()
    let buf = ''
    sock.setEncoding('utf8')
    sock.on('error', () => { /* the client went away */ })
    sock.on('data', (d: string) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_CHARS) {
          // a request is one line: a manifest at most (limits.ts) with JSON's escaping
          sock.end(`${JSON.stringify({ ok: false, error: errorToWire(new InvalidArgumentError('request', `longer than ${MAX_REQUEST_CHARS} characters`)) })}\n`)
          buf = ''
          sock.removeAllListeners('data')
        }
        return
      }
      const line = buf.slice(0, nl)
      buf = ''
      let req: SupervisorRequest
      try {
        req = JSON.parse(line) as SupervisorRequest
      } catch {
        sock.end(`${JSON.stringify({ ok: false, error: errorToWire(new PodnetError('bad request')) })}\n`)
        return
      }
      this.handle(req).then(
        (result) => sock.end(`${JSON.stringify({ ok: true, result })}\n`),
        (err) => sock.end(`${JSON.stringify({ ok: false, error: errorToWire(err) })}\n`),
      ).finally(() => {
        this.lastRequest = Date.now()
        if (req.op === 'shutdown') void this.close()
      })
    })
  }

  private async handle(req: SupervisorRequest): Promise<unknown> {
    switch (req.op) {
      case 'ping': {
        const r: PingResult = { pid: process.pid, startedAt: this.startedAt, activePods: this.runtime.activeCount(), backoffBaseMs: this.runtime.backoff.baseMs }
        const rss = rssBytes(process.pid)
        if (rss !== undefined) r.rssBytes = rss
        const unsaved = this.runtime.unsavedRecords()
        if (unsaved.length) r.unsavedRecords = unsaved
        return r
      }
      case 'run': return this.runtime.run(req.spec, req.hostNetns !== undefined ? { hostNetns: req.hostNetns } : {})
      case 'run-manifest': {
        // the CLI sends the manifest's text: parsing it here spares every `pod run -d` loading
        // the YAML parser (~50 ms of a command's start-up)
        checkManifestSize(Buffer.byteLength(req.text))
        const { spec, warnings } = parseManifest(req.text, { baseDir: req.baseDir, ...(req.cgroups === false && { cgroups: false as const }), ...(req.allowHostPath === true && { allowHostPath: true }) })
        const record = await this.runtime.run(spec, req.hostNetns !== undefined ? { hostNetns: req.hostNetns } : {})
        const r: RunManifestResult = { record, warnings }
        return r
      }
      case 'stop': return this.runtime.stop(req.name, req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {})
      case 'rm': {
        await this.runtime.remove(req.name, req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {})
        return { removed: req.name }
      }
      case 'gc': return this.runtime.gc()
      case 'update': return this.runtime.update(req.name, req.annotations)
      case 'shutdown': return { pid: process.pid }
      case 'extension': {
        const ext = this.extensions.get(req.name)
        if (!ext) throw new PodnetError(`this supervisor has no '${req.name}' (an older build: podnet pod supervisor stop, then run the command again)`)
        return ext.handle(req.body)
      }
      default: throw new PodnetError(`unknown request '${(req as { op: string }).op}'`)
    }
  }

  /** Stops listening and watching; pods keep running. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.idleTimer) clearInterval(this.idleTimer)
      for (const ext of this.extensions.values()) ext.close()
      await new Promise<void>((r) => this.server.close(() => r()))
      this.runtime.close()
      try {
        if (readFileSync(this.store.pidPath(), 'utf8').trim() === String(process.pid)) rmSync(this.store.pidPath(), { force: true })
      } catch {
        // gone
      }
      close(this.lockFd)
      this.onClosed?.()
    })()
    return this.closing
  }
}

// The client side (request, ensureSupervisor, ...) is in client.ts, which the CLI loads without
// the runtime behind this file.
export {
  ensureSupervisor, pingSupervisor, request, send, stopSupervisor, type PingResult, type RunManifestResult, type SupervisorRequest,
} from './client.js'
