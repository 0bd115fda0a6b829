/**
 * podnet pod run | ls | inspect | logs | exec | stop | rm | ns | gc | supervisor
 * (pod update, stats, exec, ns and supervisor: pod-update.ts, pod-stats.ts, pod-exec.ts, pod-ns.ts,
 * pod-supervisor.ts)
 *
 * run, stop, rm and gc go through the supervisor (started on demand); ls, inspect, logs and
 * ns read the state dir; exec starts the launcher itself, attached to this terminal.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { Command } from 'commander'
import { InvalidArgumentError, NotFoundError, PodnetError } from '../../errors.js'
import type { GcReport, PodRecord, PodStore, RunManifestResult, SupervisorRequest } from '../../runtime/index.js'
import { intArg } from '../context.js'
import { printJson, printTable } from '../output.js'
import { registerPodUpdate } from './pod-update.js'
import { registerPodStats } from './pod-stats.js'
import { registerPodExec } from './pod-exec.js'
import { registerPodSupervisor } from './pod-supervisor.js'
import { registerPodNs } from './pod-ns.js'

export interface Global { stateDir?: string; runDir?: string; json?: boolean }

// The runtime's modules load lazily and only as far as a command needs: records (state-store,
// types) and the supervisor's client are small; the rest (netlink, nf_tables, the bridge,
// cgroups, YAML) only for exec, ns and a foreground run.
const runtime = (): Promise<typeof import('../../runtime/index.js')> => import('../../runtime/index.js')
const client = (): Promise<typeof import('../../runtime/client.js')> => import('../../runtime/client.js')
const records = (): Promise<typeof import('../../runtime/types.js')> => import('../../runtime/types.js')

export async function storeOf(o: Global): Promise<PodStore> {
  const [{ PodStore }, { dirsFromEnv }, { bootIdFromEnv }] = await Promise.all([import('../../runtime/state-store.js'), import('../../state/dirs.js'), import('../../state/boot.js')])
  const bootId = bootIdFromEnv()
  return new PodStore({ ...dirsFromEnv({ ...(o.stateDir !== undefined && { stateDir: o.stateDir }), ...(o.runDir !== undefined && { runDir: o.runDir }) }), ...(bootId !== undefined && { bootId }) })
}

export async function readPod(o: Global, name: string): Promise<PodRecord> {
  const rec = (await storeOf(o)).read(name)
  if (!rec) throw new NotFoundError('pod', name)
  return rec
}

/** Sends a request to the supervisor, starting it first when none runs. */
export async function ask<T>(o: Global, req: SupervisorRequest): Promise<T> {
  const { send } = await client()
  const store = await storeOf(o)
  return send<T>(store.root, req, store.run)
}

/** What the other pod-*.ts files use of this file (passed in: no import cycle). */
export interface PodCommandHelpers {
  ask: typeof ask
  common: typeof common
  endLine: typeof endLine
  failWith: typeof failWith
  inParallel: typeof inParallel
  readPod: typeof readPod
  storeOf: typeof storeOf
}

export function common(c: Command): Command {
  return c.option('--state-dir <dir>', 'state directory (default $PODNET_STATE_DIR or /var/lib/podnet)')
    .option('--run-dir <dir>', "the networks' volatile state, for a supervisor this starts (default as podnet network)")
    .option('--json', 'JSON output')
}

function age(iso: string | undefined): string {
  if (!iso) return ''
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.floor(s / 60)}m`
  if (s < 172800) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

/** kubectl's STATUS column: the pod's reason, a waiting/terminated container's reason, or the phase. */
function statusOf(p: PodRecord): string {
  if (p.phase === 'Running') {
    const waiting = p.containers.find((c) => c.state.status === 'waiting')
    if (waiting && waiting.state.status === 'waiting') return waiting.state.reason
    const failed = p.containers.find((c) => c.state.status === 'terminated' && c.state.exitCode !== 0)
    if (failed && failed.state.status === 'terminated') return failed.state.reason
    return 'Running'
  }
  if (p.phase === 'Pending') return 'ContainerCreating'
  // a deliberate stop, as podman shows it: Exited (CODE); a container that failed before the stop still fails the pod
  if (p.reason === 'Stopped' && p.phase === 'Succeeded') return `Exited (${exitCodeOf(p)})`
  return p.reason ? `${p.phase} (${p.reason})` : p.phase === 'Succeeded' ? 'Completed' : 'Error'
}

/** The first non-zero exit code of an ended pod's containers, else 0 (podExitStatus of a Succeeded pod). */
function exitCodeOf(p: PodRecord): number {
  for (const c of p.containers) if (c.state.status === 'terminated' && c.state.exitCode !== 0) return c.state.exitCode
  return 0
}

/** How an ended pod ended, for one line: "stopped: app exit 143" or "failed (SandboxDied): app exit 137". */
export function endLine(p: PodRecord): string {
  const stopped = p.reason === 'Stopped'
  const exits = p.containers.map((c) => `${c.name} ${c.state.status === 'terminated' ? `exit ${c.state.exitCode}${!['Completed', 'Error', 'Stopped'].includes(c.state.reason) ? ` (${c.state.reason})` : ''}` : c.state.status}`)
  const how = stopped ? (p.phase === 'Succeeded' ? 'stopped' : 'stopped, failed') : `${p.phase.toLowerCase()}${p.reason ? ` (${p.reason})` : ''}`
  return `${how}: ${exits.join(', ')}`
}

function ports(p: PodRecord): string {
  return p.spec.containers.flatMap((c) => c.ports.filter((x) => x.hostPort !== undefined)
    .map((x) => `${x.hostIp ? `${x.hostIp}:` : ''}${x.hostPort}->${x.containerPort}/${x.protocol}`)).join(',')
}

function podRow(p: PodRecord): Record<string, unknown> {
  // ready: what the readiness probes say (probes.ts), else running
  const ready = p.containers.filter((c) => c.ready ?? c.state.status === 'running').length
  return {
    name: p.name, ready: `${ready}/${p.containers.length}`, status: statusOf(p),
    restarts: p.containers.reduce((n, c) => n + c.restartCount, 0), ip: p.sandbox.ips.map((i) => i.split('/')[0]).join(','),
    ports: ports(p), age: age(p.createdAt), owner: ownerOf(p),
  }
}

/** The managing workload (ReplicaSet/web), from the pod's ownerReferences. */
function ownerOf(p: PodRecord): string {
  const r = p.spec.ownerReferences?.find((x) => x.controller)
  return r ? `${r.kind}/${r.name}` : ''
}

function printPod(p: PodRecord): void {
  const out = process.stdout
  out.write(`Name:          ${p.name}\n`)
  out.write(`Status:        ${statusOf(p)}\n`)
  out.write(`Phase:         ${p.phase}${p.reason ? ` (${p.reason}${p.message ? `: ${p.message}` : ''})` : ''}\n`)
  out.write(`Hostname:      ${p.spec.hostname}\n`)
  out.write(`Network:       ${p.spec.network ?? '(none: loopback only)'}\n`)
  out.write(`IP:            ${p.sandbox.ips.join(', ') || '-'}\n`)
  if (p.spec.addressReservation !== undefined && p.spec.network !== undefined) out.write(`IP reserved:   as ${p.spec.addressReservation} while the pod has no sandbox\n`)
  if (ports(p)) out.write(`Ports:         ${ports(p)}\n`)
  out.write(`Restart:       ${p.spec.restartPolicy}\n`)
  out.write(`Shared PID ns: ${p.spec.shareProcessNamespace}\n`)
  out.write(`Pause:         ${p.sandbox.pause ? `pid ${p.sandbox.pause.pid}` : '-'} (sandbox ${p.sandbox.state})\n`)
  out.write(`Created:       ${p.createdAt}\n`)
  if (p.finishedAt) out.write(`Finished:      ${p.finishedAt}\n`)
  if (p.restored) out.write(`Restored:      ${p.restored.at} (${p.restored.cause}: ${p.restored.message}; ${p.restored.count} time(s))\n`)
  for (const c of p.conditions ?? []) out.write(`Condition:     ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''} since ${c.lastTransitionTime}${c.message ? `: ${c.message}` : ''}\n`)
  out.write('\n')
  printTable(p.containers.map((c) => {
    const st = c.state
    const last = c.lastState
    return {
      name: c.name,
      state: st.status === 'waiting' ? `waiting (${st.reason})` : st.status === 'terminated' ? `terminated (${st.reason})` : 'running',
      exit: st.status === 'terminated' ? st.exitCode : '',
      pid: st.status === 'running' ? st.pid : '',
      ready: c.ready ?? st.status === 'running',
      restarts: c.restartCount,
      last: last ? `${last.exitCode} ${last.reason}${last.message ? ` (${last.message})` : ''}` : '',
      message: st.status !== 'running' ? st.message ?? '' : '',
    }
  }), [['name', 'CONTAINER'], ['state', 'STATE'], ['exit', 'EXIT'], ['pid', 'PID'], ['ready', 'READY'], ['restarts', 'RESTARTS'], ['last', 'LAST EXIT'], ['message', 'MESSAGE']])
  printPodEvents(p)
}

/** The pod's events (probe failures and kills: probes.ts), as `kubectl describe pod` shows them. */
export function printPodEvents(p: PodRecord): void {
  if (!p.events?.length) return
  process.stdout.write('\nEvents:\n')
  printTable(p.events.map((e) => ({
    type: `  ${e.type}`, reason: e.reason, last: e.lastTimestamp, count: e.count, container: e.container ?? '', message: e.message,
  })), [['type', '  Type'], ['reason', 'Reason'], ['last', 'Last seen'], ['count', 'Count'], ['container', 'Container'], ['message', 'Message']])
}

/** --tail: a number of lines, or docker's `all` (every line: Infinity). */
function tailArg(v: string): number {
  return v === 'all' ? Number.POSITIVE_INFINITY : intArg('--tail', 0)(v)
}

/** Reads a log file from `offset` on; returns the new offset. */
function pump(path: string, offset: number, write: (b: Buffer) => void): number {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return offset
  }
  try {
    const size = fstatSync(fd).size
    if (size < offset) offset = 0 // truncated
    const buf = Buffer.alloc(64 * 1024)
    while (offset < size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset)
      if (n <= 0) break
      write(buf.subarray(0, n))
      offset += n
    }
  } finally {
    closeSync(fd)
  }
  return offset
}

interface StreamOptions {
  /** Keep reading new output until `done` holds (or `cancel.cancelled`). */
  follow: boolean
  /** When following ends (checked before the last read, so nothing written before it is missed). */
  done: (rec: PodRecord) => boolean
  /** Set by a signal handler: stop following (what was written so far is still printed). */
  cancel?: { cancelled: boolean }
  /** JSON lines ({"container","log"}) instead of text. */
  json: boolean
  /** Where each container's log starts being shown (pod logs --tail, --since); default its beginning. */
  start?: (logPath: string) => number
}

/** A stdout write that ignores a reader that went away (EPIPE): the pod must still be handled. */
function out(text: string): void {
  try {
    process.stdout.write(text)
  } catch {
    // closed
  }
}

/**
 * Prints the logs of containers (each line prefixed with [container] when there are several),
 * from the start; when following, every 100 ms until `done` holds. Returns the last record
 * read, or undefined when the pod was removed meanwhile.
 */
async function streamLogs(o: Global, name: string, containers: string[] | undefined, opts: StreamOptions): Promise<PodRecord | undefined> {
  const store = await storeOf(o)
  let rec: PodRecord | undefined = await readPod(o, name)
  const names = containers ?? rec.containers.map((c) => c.name)
  const prefix = names.length > 1
  const offsets = new Map<string, number>(names.map((n) => [n, opts.start?.(store.logPath(name, n)) ?? 0]))
  const decoders = new Map(names.map((n) => [n, new StringDecoder('utf8')]))
  const partial = new Map<string, string>()
  process.stdout.on('error', () => { /* EPIPE: the reader went away */ })
  const emit = (c: string, text: string, flush = false): void => {
    if (!prefix && !opts.json) { out(text); return }
    const all = (partial.get(c) ?? '') + text
    const lines = all.split('\n')
    const rest = lines.pop() ?? ''
    if (flush && rest) lines.push(rest)
    for (const l of lines) out(opts.json ? `${JSON.stringify({ container: c, log: l })}\n` : `[${c}] ${l}\n`)
    partial.set(c, flush ? '' : rest)
  }
  const readAll = (): void => {
    for (const c of names) offsets.set(c, pump(store.logPath(name, c), offsets.get(c)!, (b) => emit(c, decoders.get(c)!.write(b))))
  }
  for (;;) {
    const ended = !opts.follow || opts.cancel?.cancelled === true || rec === undefined || opts.done(rec)
    readAll()
    if (ended) break
    await new Promise((r) => setTimeout(r, 100))
    rec = store.read(name)
  }
  for (const c of names) emit(c, decoders.get(c)!.end(), true)
  return rec
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error }

/** Runs fn for every name at once (requests to one supervisor, started first if none runs); the results in the names' order. */
async function inParallel<T>(o: Global, names: string[], fn: (name: string) => Promise<T>): Promise<Array<Settled<T>>> {
  if (names.length > 1) {
    const [{ ensureSupervisor }, store] = await Promise.all([client(), storeOf(o)])
    await ensureSupervisor(store.root, store.run)
  }
  return Promise.all(names.map((n) => fn(n).then((value): Settled<T> => ({ ok: true, value }), (error: Error): Settled<T> => ({ ok: false, error }))))
}

/** The failures: one line each on stderr; the command fails with the first one's status. */
function failWith(results: Array<Settled<unknown>>): void {
  const failed = results.filter((r): r is { ok: false; error: Error } => !r.ok)
  if (!failed.length) return
  if (failed.length === 1 && results.length === 1) throw failed[0]!.error
  for (const f of failed) process.stderr.write(`podnet: ${f.error.message}\n`)
  process.exitCode = failed.some((f) => f.error instanceof InvalidArgumentError) ? 2 : 1
}

export function registerPod(program: Command): void {
  const pod = program.command('pod').description('pods: Kubernetes Pod manifests run in namespaces with a pause process, cgroups and a podnet network')
    .enablePositionalOptions()

  common(pod.command('run').description('run a pod from a manifest (YAML or JSON); without -d, stream its output until it ends and exit with its status'))
    .requiredOption('-f, --file <file>', 'the Pod manifest ("-" for stdin)')
    .option('-d, --detach', 'return once the pod runs; it keeps running after the command exits')
    .option('--rm', 'without -d: remove the pod (record and logs) once it has ended')
    .option('--host-netns <ns>', 'the named namespace that plays the host for the pod network (default: the current one)')
    .option('--no-cgroups', 'no cgroups for the pod (no limits, no pod stats), where podnet cannot write them (annotation podnet.io/cgroups: "off")')
    .option('--allow-host-path', 'allow hostPath volumes (refused without it): they mount host directories into the pod')
    .action(async (o: Global & { file: string; detach?: boolean; rm?: boolean; hostNetns?: string; cgroups: boolean; allowHostPath?: boolean }) => {
      if (o.detach && o.rm) throw new InvalidArgumentError('--rm', 'cannot be combined with -d: a detached pod stays until podnet pod rm')
      const { readManifestText } = await import('../../runtime/limits.js')
      const text = readManifestText(o.file)
      const baseDir = o.file === '-' ? process.cwd() : dirname(resolve(o.file))
      if (o.detach) {
        // the supervisor parses the manifest (it has the YAML parser loaded already)
        const { record: rec, warnings } = await ask<RunManifestResult>(o, { op: 'run-manifest', text, baseDir, ...(o.hostNetns !== undefined && { hostNetns: o.hostNetns }), ...(!o.cgroups && { cgroups: false as const }), ...(o.allowHostPath && { allowHostPath: true as const }) })
        for (const w of warnings) process.stderr.write(`podnet: warning: ${w}\n`)
        if (o.json) printJson(rec)
        else process.stdout.write(`pod ${rec.name} ${statusOf(rec).toLowerCase()}${rec.sandbox.ips.length ? `, ip ${rec.sandbox.ips.join(', ')}` : ''}\n`)
        return
      }
      const { parseManifest, isActive, podExitStatus } = await runtime()
      const { spec, warnings } = parseManifest(text, { baseDir, ...(!o.cgroups && { cgroups: false as const }), ...(o.allowHostPath && { allowHostPath: true }) })
      for (const w of warnings) process.stderr.write(`podnet: warning: ${w}\n`)
      // Foreground. The handlers are in place before the pod exists: a Ctrl-C during creation
      // stops the pod as soon as it is there. 1st signal: pod stop (SIGTERM, grace, SIGKILL);
      // 2nd: SIGKILL now. Either way the output streams on until the pod has ended.
      let signals = 0
      let created = false
      let asked = 0
      const requestStop = (): void => {
        while (asked < Math.min(signals, 2)) {
          asked++
          const force = asked > 1
          process.stderr.write(force
            ? `podnet: killing pod ${spec.name} now\n`
            : `podnet: stopping pod ${spec.name}: SIGTERM, then SIGKILL after ${spec.terminationGracePeriodSeconds}s (interrupt again to kill now)\n`)
          ask(o, { op: 'stop', name: spec.name, ...(force && { gracePeriodSeconds: 0 }) })
            .catch((err: Error) => { process.stderr.write(`podnet: pod stop ${spec.name}: ${err.message}\n`) })
        }
      }
      const onSignal = (): void => {
        signals++
        if (created) requestStop()
      }
      const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
      for (const sg of sigs) process.on(sg, onSignal)
      let end: PodRecord | undefined
      try {
        await ask<PodRecord>(o, { op: 'run', spec, ...(o.hostNetns !== undefined && { hostNetns: o.hostNetns }) })
        created = true
        requestStop()
        end = await streamLogs(o, spec.name, undefined, { follow: true, json: o.json === true, done: (r) => !isActive(r) })
      } finally {
        for (const sg of sigs) process.off(sg, onSignal)
      }
      if (!end) throw new PodnetError(`pod '${spec.name}' was removed while it ran`)
      const status = podExitStatus(end)
      if (o.rm) await ask(o, { op: 'rm', name: spec.name })
      if (o.json) out(`${JSON.stringify({ pod: end, exitStatus: status, ...(o.rm && { removed: true }) })}\n`)
      else {
        process.stderr.write(`podnet: pod ${end.name} ${endLine(end)}${o.rm ? '; removed' : ''}\n`)
      }
      process.exitCode = status
    })

  common(pod.command('ls').aliases(['list', 'ps']).description('list pods (ps: docker\'s and podman\'s name)'))
    .action(async (o: Global) => {
      const pods = (await storeOf(o)).list()
      if (o.json) printJson(pods)
      // OWNER only when a workload owns one of them (src/workloads)
      else printTable(pods.map(podRow), [['name', 'NAME'], ['ready', 'READY'], ['status', 'STATUS'], ['restarts', 'RESTARTS'], ['ip', 'IP'], ['ports', 'PORTS'], ['age', 'AGE'], ...(pods.some(ownerOf) ? [['owner', 'OWNER'] as [string, string]] : [])])
    })

  common(pod.command('inspect <name>').description('a pod: spec, sandbox, containers with exit codes and restart counts'))
    .action(async (name: string, o: Global) => {
      const rec = await readPod(o, name)
      if (o.json) printJson(rec)
      else printPod(rec)
    })

  const helpers: PodCommandHelpers = { ask, common, endLine, failWith, inParallel, readPod, storeOf }
  registerPodUpdate(pod, helpers)
  registerPodStats(pod, helpers)

  common(pod.command('logs <name>').description("a pod's container output (stdout and stderr of every run)"))
    .option('-c, --container <name>', 'one container (default: all, each line prefixed when there are several)')
    .option('-f, --follow', 'keep printing new output until the container (with -c) or the pod has ended, or an interrupt')
    .option('--tail <lines>', "only the last N lines of each container's log (then new ones with -f)", tailArg)
    .option('--since <when>', 'only output written since a duration ago (10s, 42m, 1h30m) or a time (2026-12-02T10:00:00Z, Unix seconds), to within a second')
    .action(async (name: string, o: Global & { container?: string; follow?: boolean; tail?: number; since?: string }) => {
      const [{ isActive }, { offsetOfTail, offsetSince }, { parseSince }] = await Promise.all([records(), import('../../runtime/log-marks.js'), import('../time-arg.js')])
      const sinceMs = o.since !== undefined ? parseSince(o.since) : undefined
      const start = (path: string): number => {
        const from = sinceMs !== undefined ? offsetSince(path, sinceMs) : 0
        return o.tail !== undefined && o.tail !== Number.POSITIVE_INFINITY ? offsetOfTail(path, o.tail, from) : from
      }
      const rec = await readPod(o, name)
      const c = o.container
      if (c !== undefined && !rec.containers.some((x) => x.name === c)) throw new NotFoundError('container', c, `in pod '${name}'`)
      // a container has ended for good when it is terminated (a back-off wait is not an end)
      const done = (r: PodRecord): boolean => !isActive(r) || (c !== undefined && r.containers.find((x) => x.name === c)?.state.status === 'terminated')
      const cancel = { cancelled: false }
      let signal: number | undefined
      const handlers = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const
      const on = Object.entries(handlers).map(([sg, n]) => {
        const h = (): void => { signal ??= n; cancel.cancelled = true }
        process.on(sg, h)
        return [sg, h] as const
      })
      try {
        await streamLogs(o, name, c !== undefined ? [c] : undefined, { follow: o.follow === true, json: o.json === true, cancel, done, start })
      } finally {
        for (const [sg, h] of on) process.off(sg, h)
      }
      // interrupted: what was written so far is out; the status says how it ended (as tail -f's)
      if (signal !== undefined) process.exitCode = 128 + signal
    })

  registerPodExec(pod, helpers)

  common(pod.command('stop <names...>').description('stop pods (in parallel): SIGTERM, grace period, SIGKILL; the records and logs stay until pod rm'))
    .option('-t, --time <seconds>', 'grace period (default: each pod\'s terminationGracePeriodSeconds)', intArg('--time', 0, 86400))
    .action(async (names: string[], o: Global & { time?: number }) => {
      const results = await inParallel(o, names, (name) => ask<PodRecord>(o, { op: 'stop', name, ...(o.time !== undefined && { gracePeriodSeconds: o.time }) }))
      if (o.json) printJson(names.length === 1 && results[0]!.ok ? results[0]!.value : results.map((r, i) => (r.ok ? r.value : { name: names[i], error: r.error.message })))
      else for (const [i, r] of results.entries()) if (r.ok) process.stdout.write(`pod ${names[i]} ${endLine(r.value)}\n`)
      failWith(results)
    })

  common(pod.command('rm [names...]').alias('remove').description('remove pods (stopping them first, in parallel), their logs and state'))
    .option('-t, --time <seconds>', 'grace period when stopping', intArg('--time', 0, 86400))
    .option('-f, --force', 'no grace period: running pods are killed at once (docker rm -f; --time still wins)')
    .option('-a, --all', 'every pod in the state dir')
    .action(async (given: string[], o: Global & { time?: number; force?: boolean; all?: boolean }) => {
      if (o.all && given.length) throw new InvalidArgumentError('--all', 'give pod names or --all, not both')
      if (!o.all && !given.length) throw new InvalidArgumentError('names', 'give pod names, or --all')
      const names = o.all ? (await storeOf(o)).list().map((p) => p.name) : given
      const grace = o.time ?? (o.force ? 0 : undefined)
      // every pod is stopped at once, as docker, podman and the kubelet do: N pods take one grace period, not N
      const results = await inParallel(o, names, (name) => ask(o, { op: 'rm', name, ...(grace !== undefined && { gracePeriodSeconds: grace }) }))
      const done = names.filter((_, i) => results[i]!.ok)
      if (o.json) printJson({ removed: done })
      else for (const n of done) process.stdout.write(`removed pod ${n}\n`)
      failWith(results)
    })

  registerPodNs(pod, helpers)

  common(pod.command('gc').description('clean up what no pod record accounts for: pins, /dev/shm mounts, cgroups, half-made pods'))
    .action(async (o: Global) => {
      const r = await ask<GcReport>(o, { op: 'gc' })
      if (o.json) printJson(r)
      else {
        const lines = Object.entries(r).filter(([k, v]) => k !== 'errors' && (v as string[]).length).map(([k, v]) => `${k}: ${(v as string[]).join(', ')}`)
        if (lines.length || !r.errors?.length) process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'nothing to collect\n')
        for (const e of r.errors ?? []) process.stderr.write(`podnet: pod gc: ${e}\n`)
      }
      if (r.errors?.length) process.exitCode = 1
    })

  registerPodSupervisor(pod, helpers)
}
