/**
 * The supervisor program: `node dist/src/runtime/supervisor-main.js --state-dir DIR`.
 * Started by the CLI (ensureSupervisor); configured by PODNET_* variables (runtimeOptionsFromEnv).
 * SIGTERM/SIGINT end it; pods keep running and the next supervisor adopts them.
 */
import { Supervisor, logLine as log, runtimeOptionsFromEnv } from './supervisor.js'

// stderr is supervisor.log: a write that fails there (a full disk) must not end the supervisor
process.stderr.on('error', () => { /* the line is lost */ })

const argv = process.argv.slice(2)
const i = argv.indexOf('--state-dir')
const stateDir = i >= 0 ? argv[i + 1] : process.env.PODNET_STATE_DIR

// the workload controllers (src/workloads) run in every supervisor: this entry point is an edge,
// the one place the runtime's supervisor meets the layer above it
const { workloadOptionsFromEnv, workloadsExtension } = await import('../workloads/extension.js')
// a start that fails says why in one line, the last of the log (the CLI shows it: client.ts)
const sup = await (async () => Supervisor.start({
  ...runtimeOptionsFromEnv(), ...(stateDir !== undefined && { stateDir }),
  extensions: [workloadsExtension({ ...workloadOptionsFromEnv(), log })],
}))().catch((err: unknown) => {
  log(`cannot start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
if (!sup) {
  log('another supervisor holds the lock; exiting')
  process.exit(0)
}
log(`listening on ${sup.store.socketPath()}`)
sup.onClosed = () => {
  log('exiting (pods keep running)')
  process.exit(0)
}
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => { void sup.close() })
process.on('SIGHUP', () => { /* detached: ignore */ })
