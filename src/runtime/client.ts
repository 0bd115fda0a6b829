/**
 * The supervisor's client: the request protocol, `request`, `send` (which starts a supervisor when
 * none answers), `pingSupervisor`, `ensureSupervisor`, `stopSupervisor`. It imports nothing of the
 * runtime itself (no netlink, nf_tables, bridge, cgroups or YAML), so a CLI command that only talks
 * to the supervisor loads a few small modules: on this VM that is the difference between ~40 ms
 * and ~300 ms of start-up for `podnet pod run -d`.
 *
 * Requests: ping | run {spec, hostNetns?} | run-manifest {text, baseDir, hostNetns?, cgroups?} |
 *           stop {name, gracePeriodSeconds?} | rm {name, gracePeriodSeconds?} | gc | shutdown |
 *           update {name, annotations} | extension {name, body}
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExistsError, InvalidArgumentError, NotFoundError, PodnetError } from '../errors.js'
import type { PodSpec } from './manifest.js'
import { processStartTime } from './proc.js'
import { PodStore } from './state-store.js'
import type { PodRecord } from './types.js'

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
  | { op: 'run-manifest'; text: string; baseDir: string; hostNetns?: string; cgroups?: false; allowHostPath?: true }
  | { op: 'stop'; name: string; gracePeriodSeconds?: number }
  | { op: 'rm'; name: string; gracePeriodSeconds?: number }
  | { op: 'gc' }
  | { op: 'shutdown' }
  /** New network-limit annotations for a running pod (null removes one). */
  | { op: 'update'; name: string; annotations: Record<string, string | null> }
  /** A request for one of the supervisor's extensions (the workload controllers: src/workloads). */
  | { op: 'extension'; name: string; body: unknown }

/** The answer to 'run-manifest': the pod, and the manifest's warnings. */
export interface RunManifestResult {
  record: PodRecord
  warnings: string[]
}

export interface PingResult {
  pid: number
  startedAt: string
  activePods: number
  rssBytes?: number
  backoffBaseMs: number
  /** Pod records whose write fails (a full disk): the supervisor keeps them and retries. */
  unsavedRecords?: Array<{ pod: string; error: string; since: string; attempts: number }>
}

/** The supervisor's entry point (dist/src/runtime/supervisor-main.js). */
export const supervisorMain = (): string => join(dirname(fileURLToPath(import.meta.url)), 'supervisor-main.js')

/** Sends one request; rejects with the rebuilt error. ECONNREFUSED/ENOENT when none listens. */
export function request<T = unknown>(stateDir: string, req: SupervisorRequest, timeoutMs = 600_000): Promise<T> {
  const store = new PodStore({ stateDir })
  return new Promise<T>((resolve, reject) => {
    const sock = createConnection(store.socketPath())
    let buf = ''
    let connected = false
    // one line however the supervisor went away (ECONNRESET, EPIPE, a closed socket): it may have
    // died with the request half done; its log says why, and its successor adopts what it left
    const closed = (code?: string): PodnetError => {
      const e = new PodnetError(`the supervisor closed the connection during '${req.op}'${code ? ` (${code})` : ''}; see ${store.supervisorLogPath()}`)
      dropped.add(e)
      return e
    }
    const timer = setTimeout(() => { sock.destroy(); reject(new PodnetError(`the supervisor did not answer '${req.op}' within ${timeoutMs} ms`)) }, timeoutMs)
    sock.setEncoding('utf8')
    sock.on('connect', () => {
      connected = true
      sock.write(`${JSON.stringify(req)}\n`)
    })
    sock.on('data', (d: string) => { buf += d })
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // before the connection is made the request was not sent: an errno error (ENOENT,
      // ECONNREFUSED, or ECONNRESET from a supervisor that died with us in its backlog), on
      // which send() starts a supervisor and sends it again
      if (!connected) unsent.add(err)
      reject(connected ? closed(err.code) : err)
    })
    sock.on('end', () => {
      clearTimeout(timer)
      let res: { ok: boolean; result?: T; error?: WireError }
      try {
        res = JSON.parse(buf) as typeof res
      } catch {
        reject(closed())
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
    // one that died while answering is not running either
    if (notListening(err) || dropped.has(err as object)) return undefined
    throw err
  }
}

/** Errors of requests that never reached a supervisor (no connection was made). */
const unsent = new WeakSet<object>()
/** Errors of requests whose supervisor went away before it answered. */
const dropped = new WeakSet<object>()

const notListening = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ECONNREFUSED' || (typeof err === 'object' && err !== null && unsent.has(err))
}

/**
 * Sends one request, starting a supervisor first when none listens (one connection when one
 * runs: no ping before the request). A request that failed to connect was never received, so
 * sending it again after the start is safe.
 */
export async function send<T = unknown>(stateDir: string, req: SupervisorRequest, runDir?: string, timeoutMs?: number): Promise<T> {
  try {
    return await request<T>(stateDir, req, timeoutMs)
  } catch (err) {
    if (!notListening(err)) throw err
  }
  await ensureSupervisor(stateDir, runDir)
  try {
    return await request<T>(stateDir, req, timeoutMs)
  } catch (err) {
    if (!notListening(err)) throw err
    const store = new PodStore({ stateDir })
    throw new PodnetError(`the supervisor stopped listening on ${store.socketPath()} (${(err as NodeJS.ErrnoException).code}); see ${store.supervisorLogPath()}`)
  }
}


/**
 * Starts a supervisor for stateDir unless one runs (detached: own session, output to
 * supervisor.log; PODNET_* variables configure it, runDir is passed as PODNET_RUN_DIR).
 * Resolves once it answers.
 */
export async function ensureSupervisor(stateDir: string, runDir?: string, env: NodeJS.ProcessEnv = process.env): Promise<PingResult> {
  const running = await pingSupervisor(stateDir)
  if (running) return running
  const store = new PodStore({ stateDir, ...(runDir !== undefined && { runDir }) })
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const deadline = Date.now() + 15_000
  // what the child did (set by its event handlers)
  type Exit = { code: number | null; signal: NodeJS.Signals | null }
  const st: { exited?: Exit; failure?: string } = {}
  const exited = (): Exit | undefined => st.exited // read through a call: the handlers set it behind the compiler's back
  // a supervisor killed while it starts (kill -9, the OOM killer) is started once more
  for (let attempt = 1; attempt <= 2; attempt++) {
    delete st.exited
    delete st.failure
    const log = openSync(store.supervisorLogPath(), 'a', 0o600)
    try {
      const child = spawn(process.execPath, ['--max-semi-space-size=1', supervisorMain(), '--state-dir', stateDir], {
        detached: true, stdio: ['ignore', log, log], env: { ...env, PODNET_STATE_DIR: stateDir, PODNET_RUN_DIR: store.run },
      })
      child.on('exit', (code, signal) => { st.exited = { code, signal } })
      child.on('error', (err) => { st.failure = err.message })
      child.unref()
    } finally {
      closeSync(log)
    }
    let giveUpAt: number | undefined
    for (;;) {
      const p = await pingSupervisor(stateDir)
      if (p) return p
      if (Date.now() > deadline || st.failure !== undefined) break
      // a loser of the start race exits 0 while the winner is still starting: keep pinging;
      // one that failed (a signal, a non-zero status) is given a moment, then given up
      const ex = exited()
      if (ex && (ex.signal !== null || ex.code !== 0)) {
        giveUpAt ??= Date.now() + 200
        if (Date.now() > giveUpAt) break
      }
      await new Promise((r) => setTimeout(r, exited() ? 50 : 20))
    }
    if (exited()?.signal == null || Date.now() > deadline) break
  }
  let last = ''
  try {
    last = readFileSync(store.supervisorLogPath(), 'utf8').trim().split('\n').at(-1) ?? ''
  } catch {
    // no log
  }
  const ex = exited()
  const how = st.failure ?? (ex ? `exited with ${ex.signal ?? ex.code}` : 'no answer within 15 s')
  // one line: the cause, the log's last line (without its timestamp), where the log is
  throw new PodnetError(`the supervisor did not start (${how})${last ? `: ${last.replace(/^\S+ supervisor\[\d+\]: /, '')}` : ''}; see ${store.supervisorLogPath()}`)
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
