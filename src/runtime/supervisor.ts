/**
 * The supervisor: ONE Node process per state dir that runs a PodRuntime for every pod, so
 * pods outlive the CLI. The CLI starts it on demand (detached, own session) and talks to it
 * over <state>/supervisor.sock: one JSON request line, one JSON response line per connection.
 * <state>/supervisor.lock (flock) makes it one per state dir; <state>/supervisor.pid names it.
 *
 * When it dies, pods keep running (the pause and the launchers do not depend on it). The next
 * supervisor adopts them (PodRuntime.adopt): see docs/pods.md, "When the supervisor dies".
 *
 * Requests: ping | run {spec, hostNetns?} | stop {name, gracePeriodSeconds?} |
 *           rm {name, gracePeriodSeconds?} | gc | shutdown
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError, isErrno } from '../errors.js'
import { LOCK_EX, LOCK_NB, O_CLOEXEC, O_CREAT, O_RDWR } from '../sys/constants.js'
import { close, flock, open } from '../sys/syscall.js'
import type { PodSpec } from './manifest.js'
import { PodRuntime, type RuntimeOptions } from './pod-runtime.js'
import { processStartTime, rssBytes } from './proc.js'
import { PodStore, runDirFor } from './state-store.js'

/** An error as it crosses the socket. */
export interface WireError {
  name: string
  code: string
  message: string
  field?: string
  kind?: string
  objectName?: string
}

export function errorToWire(err: unknown): WireError {
  const e = err as Partial<WireError> & Error
  const w: WireError = { name: e?.name ?? 'Error', code: typeof e?.code === 'string' ? e.code : 'ERR_INTERNAL', message: e?.message ?? String(err) }
  if (typeof e?.field === 'string') w.field = e.field
  if (typeof e?.kind === 'string') w.kind = e.kind
  if (typeof e?.objectName === 'string') w.objectName = e.objectName
  return w
}

/** Rebuilds the error class the supervisor threw, so the CLI maps it to the same exit status. */
export function errorFromWire(w: WireError): PodnetError {
  let e: PodnetError
  if (w.code === 'ERR_PODNET_INVALID' && w.field !== undefined) {
    const prefix = `${w.field}: `
    e = new InvalidArgumentError(w.field, w.message.startsWith(prefix) ? w.message.slice(prefix.length) : w.message)
  } else if (w.code === 'ERR_PODNET_NOT_FOUND') e = new NotFoundError(w.kind ?? 'object', w.objectName ?? '')
  else if (w.code === 'ERR_PODNET_EXISTS') e = new ExistsError(w.kind ?? 'object', w.objectName ?? '')
  else e = new PodnetError(w.message)
  e.message = w.message
  return e
}

export type SupervisorRequest =
  | { op: 'ping' }
  | { op: 'run'; spec: PodSpec; hostNetns?: string }
  | { op: 'stop'; name: string; gracePeriodSeconds?: number }
  | { op: 'rm'; name: string; gracePeriodSeconds?: number }
  | { op: 'gc' }
  | { op: 'shutdown' }

export interface PingResult {
  pid: number
  startedAt: string
  activePods: number
  rssBytes?: number
  backoffBaseMs: number
}

export interface SupervisorOptions extends RuntimeOptions {
  /** Exit after this long with no active pod and no request (default 60 s; 0: never). */
  idleExitMs?: number
  /** Where log lines go (default: stderr, which is supervisor.log for a supervisor the CLI starts). */
  log?: (msg: string) => void
}

/** A supervisor log line on stderr. */
export const logLine = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} supervisor[${process.pid}]: ${msg}\n`) }

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
  if (env.PODNET_TEST_HALT_AT) o.haltAt = env.PODNET_TEST_HALT_AT // test hook: see HALT_STAGES
  return o
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
    const store = new PodStore(opts.stateDir)
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
      runtime.on('error', (err: Error) => { (opts.log ?? logLine)(`error: ${err.stack ?? err.message}`) })
      await runtime.adopt()
    } catch (err) {
      close(lockFd)
      throw err
    }
    const server = createServer()
    const sup = new Supervisor(runtime, server, lockFd)
    server.on('connection', (sock) => sup.serve(sock))
    rmSync(store.socketPath(), { force: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(store.socketPath(), () => resolve())
    })
    writeFileSync(store.pidPath(), `${process.pid}\n`)
    const idle = opts.idleExitMs ?? 60_000
    if (idle > 0) {
      sup.idleTimer = setInterval(() => {
        if (runtime.activeCount() === 0 && Date.now() - sup.lastRequest > idle) void sup.close()
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
      if (nl < 0) return
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
        return r
      }
      case 'run': return this.runtime.run(req.spec, req.hostNetns !== undefined ? { hostNetns: req.hostNetns } : {})
      case 'stop': return this.runtime.stop(req.name, req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {})
      case 'rm': {
        await this.runtime.remove(req.name, req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {})
        return { removed: req.name }
      }
      case 'gc': return this.runtime.gc()
      case 'shutdown': return { pid: process.pid }
      default: throw new PodnetError(`unknown request '${(req as { op: string }).op}'`)
    }
  }

  /** Stops listening and watching; pods keep running. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.idleTimer) clearInterval(this.idleTimer)
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

// ---------------------------------------------------------------------------------------------
// client

/** The supervisor's entry point (dist/src/runtime/supervisor-main.js). */
export const supervisorMain = (): string => join(dirname(fileURLToPath(import.meta.url)), 'supervisor-main.js')

/** Sends one request; rejects with the rebuilt error. ECONNREFUSED/ENOENT when none listens. */
export function request<T = unknown>(stateDir: string, req: SupervisorRequest, timeoutMs = 600_000): Promise<T> {
  const store = new PodStore(stateDir)
  return new Promise<T>((resolve, reject) => {
    const sock = createConnection(store.socketPath())
    let buf = ''
    const timer = setTimeout(() => { sock.destroy(); reject(new PodnetError(`the supervisor did not answer '${req.op}' within ${timeoutMs} ms`)) }, timeoutMs)
    sock.setEncoding('utf8')
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`))
    sock.on('data', (d: string) => { buf += d })
    sock.on('error', (err) => { clearTimeout(timer); reject(err) })
    sock.on('end', () => {
      clearTimeout(timer)
      let res: { ok: boolean; result?: T; error?: WireError }
      try {
        res = JSON.parse(buf) as typeof res
      } catch {
        reject(new PodnetError(`the supervisor closed the connection during '${req.op}'`))
        return
      }
      if (res.ok) resolve(res.result as T)
      else reject(errorFromWire(res.error ?? { name: 'Error', code: 'ERR_PODNET_GENERIC', message: 'unknown error' }))
    })
  })
}

/** The supervisor's ping, or undefined when none is running. */
export async function pingSupervisor(stateDir: string): Promise<PingResult | undefined> {
  try {
    return await request<PingResult>(stateDir, { op: 'ping' }, 5000)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return undefined
    throw err
  }
}

/**
 * Starts a supervisor for stateDir unless one runs (detached: own session, output to
 * supervisor.log; PODNET_* variables configure it, runDir is passed as PODNET_RUN_DIR).
 * Resolves once it answers.
 */
export async function ensureSupervisor(stateDir: string, runDir: string = runDirFor({ stateDir }), env: NodeJS.ProcessEnv = process.env): Promise<PingResult> {
  const running = await pingSupervisor(stateDir)
  if (running) return running
  const store = new PodStore(stateDir)
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const log = openSync(store.supervisorLogPath(), 'a', 0o600)
  let exited: string | undefined
  try {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', supervisorMain(), '--state-dir', stateDir], {
      detached: true, stdio: ['ignore', log, log], env: { ...env, PODNET_STATE_DIR: stateDir, PODNET_RUN_DIR: runDir },
    })
    child.on('exit', (code, sig) => { exited = `exited with ${code ?? sig}` })
    child.on('error', (err) => { exited = err.message })
    child.unref()
  } finally {
    closeSync(log)
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    const p = await pingSupervisor(stateDir)
    if (p) return p
    if (Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, exited ? 100 : 20))
    // a loser of the start race exits 0 while the winner is still starting: keep pinging
  }
  let tail = ''
  try {
    tail = readFileSync(store.supervisorLogPath(), 'utf8').trim().split('\n').slice(-5).join('\n')
  } catch {
    // no log
  }
  throw new PodnetError(`the supervisor did not start${exited ? ` (${exited})` : ''}${tail ? `:\n${tail}` : ''}`)
}

/** Asks the supervisor to exit (pods keep running). False when none was running. */
export async function stopSupervisor(stateDir: string, timeoutMs = 10_000): Promise<boolean> {
  const p = await pingSupervisor(stateDir)
  if (!p) return false
  await request(stateDir, { op: 'shutdown' })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (processStartTime(p.pid) === undefined) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new PodnetError(`the supervisor (pid ${p.pid}) did not exit within ${timeoutMs} ms`)
}
