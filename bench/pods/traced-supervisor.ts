/**
 * The podnet supervisor with a span tracer around the calls a `pod run` goes through, for the
 * pod-start breakdown (bench/pods/main.ts starts it instead of letting the CLI start one).
 * It is src/runtime/supervisor-main.ts plus wrappers on prototypes, libc entry points, builtins
 * and (through trace-loader.ts) parseManifest and validateManifest; src/ is not changed and the
 * code that runs is the supervisor's own.
 *
 *   BENCH_TRACE_FILE=F node dist/bench/pods/traced-supervisor.js --state-dir DIR
 *
 * Appends one TraceLine (who: 'supervisor') per request to F, spans nested by the tracer.
 */
import childProcess from 'node:child_process'
import fs from 'node:fs'
import { register, syncBuiltinESMExports } from 'node:module'
import { basename } from 'node:path'
import { Tracer, epochMs, writeTrace } from './trace.js'

// parseManifest and validateManifest are called by name inside src/ (the supervisor's
// 'run-manifest' case calls parseManifest, which calls validateManifest): trace-loader.ts
// rebinds them to wrappers as their modules load, so src/ is imported only after it is registered.
register('./trace-loader.js', import.meta.url)

const file = process.env.BENCH_TRACE_FILE
const t = new Tracer()
// only what happens inside a request is recorded (not the launchers' exit handling, polling, ...)
t.rootFilter = (label) => label.startsWith('supervisor: request')
t.onRootEnd = (spans) => {
  writeTrace(file, { who: 'supervisor', pid: process.pid, origin: performance.timeOrigin, marks: { flushed: epochMs() }, spans })
  t.reset()
}
const LABELS: Record<string, string> = {
  parseManifest: 'parse the manifest (yaml, then validateManifest)',
  validateManifest: 'validateManifest (fields, defaults, rootfs check)',
}
;(globalThis as { __podnetBenchWrap?: unknown }).__podnetBenchWrap = (name: string, fn: (...a: unknown[]) => unknown): unknown => {
  const holder = { [name]: fn }
  t.wrap(holder, name, LABELS[name] ?? name)
  return holder[name]
}

const { DiskStore } = await import('../../src/bridge/ipam/index.js')
const { StateDir } = await import('../../src/bridge/state.js')
const { NetlinkSocket } = await import('../../src/netlink/core/index.js')
const { Nft } = await import('../../src/netlink/nftables/index.js')
const { Netns } = await import('../../src/netns/index.js')
const { BridgePodNetwork, PodRuntime, PodStore, Supervisor, runtimeOptionsFromEnv } = await import('../../src/runtime/index.js')
const { Cgroup } = await import('../../src/runtime/cgroups/index.js')
const { raw } = await import('../../src/sys/libc.js')

// outermost first; every label names one kind of work
t.wrap(Supervisor.prototype, 'handle', (a) => `supervisor: request '${(a[0] as { op: string }).op}'`)
t.wrap(PodRuntime.prototype, 'run', 'PodRuntime.run')
t.wrap(PodRuntime.prototype, 'startContainer', 'start a container (podnet-launch: spawn, then its fork/setns/mounts/pivot_root/exec until "ok")')
t.wrap(PodRuntime.prototype, 'launcher', 'find the launcher binary')
t.wrap(BridgePodNetwork.prototype, 'attach', 'network attach (bridge layer: IPAM, veth, addresses, routes, nf_tables)')
t.wrap(PodStore.prototype, 'create', 'record create (status.json in the run dir + pod.json in the state dir)')
t.wrap(PodStore.prototype, 'write', 'record write (status.json in the run dir, atomic)')
t.wrap(PodStore.prototype, 'claim', 'claim the pod name')
for (const m of ['create', 'addProcess', 'oomKills']) t.wrap(Cgroup.prototype, m, `cgroup ${m}`)
t.wrap(Cgroup, 'checkLimits', 'cgroup checkLimits')
t.wrap(Netns, 'openPath', 'open the pinned netns')
t.wrap(NetlinkSocket, 'open', 'netlink socket open')
for (const m of ['requestSync', 'dumpSync']) t.wrap(NetlinkSocket.prototype, m, 'netlink request')
t.wrap(Nft.prototype, 'runBatch', 'nf_tables batch')
t.wrap(DiskStore.prototype, 'transaction', 'IPAM transaction')
for (const m of ['readJson', 'writeJson', 'createExclusive', 'list', 'exists', 'remove']) t.wrap(StateDir.prototype, m, 'network state files')
t.wrap(raw, 'unshare', 'unshare(net|ipc|uts)')
t.wrap(raw, 'sethostname', 'sethostname')
t.wrap(raw, 'mount', 'mount (namespace pins, /dev/shm)')
t.wrap(raw, 'setns', 'setns')
t.wrap(raw, 'open', 'open (libc)')
t.wrap(childProcess, 'spawn', (a) => `spawn ${basename(String(a[0])).replace(/-[0-9a-f]{12}$/, '')} (fork + exec, synchronous part)`)
for (const m of ['writeFileSync', 'mkdirSync', 'openSync', 'closeSync', 'renameSync', 'rmSync', 'readFileSync', 'existsSync', 'accessSync']) {
  t.wrap(fs, m, 'file system calls (fs)')
}
syncBuiltinESMExports()

// from here on: src/runtime/supervisor-main.ts
const argv = process.argv.slice(2)
const i = argv.indexOf('--state-dir')
const stateDir = i >= 0 ? argv[i + 1] : process.env.PODNET_STATE_DIR
const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} traced supervisor[${process.pid}]: ${msg}\n`) }
const sup = await Supervisor.start({ ...runtimeOptionsFromEnv(), ...(stateDir !== undefined && { stateDir }) })
if (!sup) {
  log('another supervisor holds the lock; exiting')
  process.exit(0)
}
t.reset() // the start itself (adoption) is not a request
log(`listening on ${sup.store.socketPath()}`)
sup.runtime.on('error', (err: Error) => log(`error: ${err.stack ?? err.message}`))
sup.onClosed = () => process.exit(0)
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => { void sup.close() })
process.on('SIGHUP', () => { /* detached */ })
