/**
 * The responder program: `node dist/src/dns/main.js --state-dir DIR [--run-dir DIR]`. Started
 * by ensureDnsResponder (service.ts), detached, its output in <run>/dns/responder.log.
 *
 *   lock      takes <run>/dns/lock (flock) or exits 0: one per state directory
 *   SIGHUP    sync now (the networks changed)
 *   SIGTERM   close every socket, remove the status file, exit 0 (SIGINT too)
 *   idle      exits when no network has had DNS on for PODNET_DNS_IDLE_MS (default 10 s), or at
 *             once when its state directory is gone; the next `network create`, attach or
 *             supervisor check starts another
 *
 * --boot-id (default PODNET_TEST_BOOT_ID, else the kernel's): the boot it serves; a run dir of
 * an earlier boot (on disk) is emptied first, under the run dir's lock, as every locked
 * operation of podnet does, so the old boot's names are never served.
 *
 * PODNET_RESOLV_CONF names the resolv.conf whose servers get forwarded questions (default
 * /etc/resolv.conf); tests point it at a resolver of their own.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LOCK_EX, LOCK_NB, O_CLOEXEC, O_CREAT, O_RDWR } from '../sys/constants.js'
import { flock, open } from '../sys/syscall.js'
import { isErrno } from '../errors.js'
import { bootIdFromEnv, claimRunDir, currentBootId, resolveDirs, withLock } from '../state/index.js'
import { DnsServer } from './server.js'
import { dnsPaths } from './service.js'

const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} dns[${process.pid}]: ${msg}\n`) }

const argv = process.argv.slice(2)
const arg = (flag: string): string | undefined => {
  const i = argv.indexOf(flag)
  return i >= 0 ? argv[i + 1] : undefined
}
const stateDir = arg('--state-dir') ?? process.env.PODNET_STATE_DIR
const runDir = arg('--run-dir') ?? process.env.PODNET_RUN_DIR
const dirs = { ...(stateDir !== undefined && { stateDir }), ...(runDir !== undefined && { runDir }) }
const paths = dnsPaths(dirs)
const bootId = arg('--boot-id') ?? bootIdFromEnv() ?? currentBootId()
const { runDir: run } = resolveDirs(dirs)
await withLock(join(run, 'lock'), () => { claimRunDir(run, bootId) })

mkdirSync(paths.dir, { recursive: true, mode: 0o755 })
const lockFd = open(paths.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
try {
  flock(lockFd, LOCK_EX | LOCK_NB, paths.lock)
} catch (err) {
  if (isErrno(err, 'EWOULDBLOCK') || isErrno(err, 'EAGAIN')) {
    log('another responder holds the lock; exiting')
    process.exit(0)
  }
  throw err
}

const resolvConf = process.env.PODNET_RESOLV_CONF || undefined
const server = await DnsServer.start({
  ...dirs, statusFile: paths.status, ...(resolvConf !== undefined && { resolvConf }),
  onEvent: (e) => log(`${e.network ? `${e.network}: ` : ''}${e.message}`),
})
log(`started (state ${server.state.root}, run ${server.state.run}); upstreams: ${server.status().upstreams.join(', ') || 'none'}`)

let stopping = false
async function stop(why: string): Promise<void> {
  if (stopping) return
  stopping = true
  log(`exiting: ${why}`)
  await server.close()
  try {
    if ((JSON.parse(readFileSync(paths.status, 'utf8')) as { pid?: number }).pid === process.pid) rmSync(paths.status, { force: true })
  } catch {
    // no status file
  }
  process.exit(0)
}

for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => { void stop(s) })
process.on('SIGHUP', () => { void server.sync() })

const idleMs = Number(process.env.PODNET_DNS_IDLE_MS || 10_000)
let idleSince = Date.now()
setInterval(() => {
  if (!existsSync(server.state.root)) {
    void stop(`the state directory ${server.state.root} is gone`)
    return
  }
  if (server.dnsNetworks().length) idleSince = Date.now()
  else if (Date.now() - idleSince > idleMs) void stop(`no network with DNS for ${idleMs} ms`)
}, 1000)
