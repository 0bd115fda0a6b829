/**
 * The responder process of a state directory: who runs it, how it is found, started, restarted
 * and stopped. This file loads no DNS code (no dns-packet), so `network create`, attach, the
 * CNI plugin and the supervisor can ensure a responder cheaply.
 *
 * One responder per state directory (per host), serving every network with DNS on, as
 * aardvark-dns does for podman; docs/dns.md says why. Its files, in the run directory:
 *   dns/lock          flock held by the running responder (one per state dir; the truth about "running")
 *   dns/status.json   what it serves, where, its counters (rewritten at every sync, every 2 s)
 *   dns/responder.log its log lines
 *
 * ensureDnsResponder() starts one when none holds the lock (a start race is settled by the
 * lock: the loser exits at once) and, given a network, waits until the responder has taken it
 * up (a SIGHUP makes a running one sync at once). It is called by `network create`, `network
 * attach`, the pod runtime at attach and every 2 s while it has pods on DNS networks, and the
 * CNI plugin's ADD: a responder that died is back within seconds, and it rebuilds everything
 * from the records.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PodnetError } from '../errors.js'
import { claimRunDir, currentBootId, readJson, resolveDirs, withLock, type DirOptions } from '../state/index.js'
import { LOCK_EX, O_CLOEXEC, O_RDWR } from '../sys/constants.js'
import { close, open, tryFlock } from '../sys/syscall.js'
import type { DnsStatus } from './server.js'

export interface DnsPaths {
  dir: string
  lock: string
  status: string
  log: string
}

/** The responder's files for a state directory (in its run directory). */
export function dnsPaths(dirs: DirOptions = {}): DnsPaths {
  const dir = join(resolveDirs(dirs).runDir, 'dns')
  return { dir, lock: join(dir, 'lock'), status: join(dir, 'status.json'), log: join(dir, 'responder.log') }
}

/** The responder program (dist/src/dns/main.js). */
export const responderMain = (): string => join(dirname(fileURLToPath(import.meta.url)), 'main.js')

/** True when a responder holds the lock (never blocks). */
export function responderRunning(dirs: DirOptions = {}): boolean {
  const p = dnsPaths(dirs)
  let fd: number
  try {
    fd = open(p.lock, O_RDWR | O_CLOEXEC)
  } catch {
    return false // no lock file: none ever ran here
  }
  try {
    return !tryFlock(fd, LOCK_EX, p.lock)
  } finally {
    close(fd) // closing also drops the lock this probe may have taken
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The running responder's status, or undefined when none runs. */
export function dnsResponderStatus(dirs: DirOptions = {}): DnsStatus | undefined {
  if (!responderRunning(dirs)) return undefined
  let st: DnsStatus | undefined
  try {
    st = readJson<DnsStatus>(dnsPaths(dirs).status)
  } catch {
    st = undefined
  }
  return st && alive(st.pid) ? st : undefined
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * The running responder's status as of now: it is asked to sync (SIGHUP), which rewrites the
 * status file with current counters; waits up to `timeoutMs` for that, else returns the last one.
 */
export async function freshDnsStatus(dirs: DirOptions = {}, timeoutMs = 2000): Promise<DnsStatus | undefined> {
  const st = dnsResponderStatus(dirs)
  if (!st) return undefined
  const t0 = Date.now()
  try { process.kill(st.pid, 'SIGHUP') } catch { return dnsResponderStatus(dirs) }
  let cur: DnsStatus | undefined = st
  while (Date.now() - t0 < timeoutMs) {
    await sleep(10)
    cur = dnsResponderStatus(dirs)
    if (!cur || Date.parse(cur.updatedAt) >= t0) return cur
  }
  return cur
}

export interface EnsureOptions {
  /** Wait until the responder has taken up this network (serving it, or failing to, with the reason). */
  network?: string
  /** The responder's environment (PODNET_RESOLV_CONF, PODNET_DNS_IDLE_MS); default this process's. */
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** The boot this runs in (default the kernel's; tests that simulate a reboot pass theirs). */
  bootId?: string
}

/**
 * Makes sure a responder runs for this state directory (and has taken up `network`); returns
 * its status. Throws PodnetError, with the end of its log, when none comes up in time.
 */
export async function ensureDnsResponder(dirs: DirOptions = {}, opts: EnsureOptions = {}): Promise<DnsStatus> {
  const d = resolveDirs(dirs)
  const p = dnsPaths(d)
  const since = Date.now()
  const hasNetwork = (st: DnsStatus): boolean => opts.network === undefined || st.networks.some((n) => n.name === opts.network)
  let st = dnsResponderStatus(d)
  if (st && hasNetwork(st)) return st
  let exited: string | undefined
  if (st) {
    try { process.kill(st.pid, 'SIGHUP') } catch { /* it just ended: waited for below */ }
  } else if (!responderRunning(d)) {
    // a run dir of an earlier boot (on disk) is emptied first, under its lock, as every locked
    // operation does: the responder must not serve the old boot's names, nor lose its own files
    // (dns/lock, dns/status.json) to a later claim while it runs
    const bootId = opts.bootId ?? currentBootId()
    await withLock(join(d.runDir, 'lock'), () => { claimRunDir(d.runDir, bootId) })
    mkdirSync(p.dir, { recursive: true, mode: 0o755 })
    closeSync(openSync(p.lock, 'a', 0o600))
    const log = openSync(p.log, 'a', 0o600)
    try {
      const child = spawn(process.execPath, ['--max-semi-space-size=1', responderMain(), '--state-dir', d.stateDir, '--run-dir', d.runDir, '--boot-id', bootId], {
        detached: true, stdio: ['ignore', log, log], env: opts.env ?? process.env,
      })
      child.on('exit', (code, sig) => { exited = `exited with ${code ?? sig}` })
      child.on('error', (err) => { exited = err.message })
      child.unref()
    } finally {
      closeSync(log)
    }
  }
  const deadline = since + (opts.timeoutMs ?? 15_000)
  for (;;) {
    st = dnsResponderStatus(d)
    if (st && Date.parse(st.updatedAt) >= since - 5 && hasNetwork(st)) return st
    if (Date.now() > deadline) break
    // a loser of the start race exits 0 while the winner starts: keep looking, and start again if none holds the lock
    if (exited && !responderRunning(d)) {
      if (exited !== 'exited with 0') break
      return ensureDnsResponder(d, { ...opts, timeoutMs: Math.max(0, deadline - Date.now()) })
    }
    await sleep(20)
  }
  throw new PodnetError(`the DNS responder did not ${st ? `take up network '${opts.network}'` : 'start'}${exited ? ` (${exited})` : ''}: see ${p.log}`)
}

/** Asks the responder to look at the records now (network created, removed, DNS turned off). No-op when none runs. */
export function pokeDnsResponder(dirs: DirOptions = {}): void {
  const st = dnsResponderStatus(dirs)
  if (st) {
    try { process.kill(st.pid, 'SIGHUP') } catch { /* gone */ }
  }
}

/** Stops the responder (SIGTERM, then SIGKILL after `timeoutMs`). False when none was running. */
export async function stopDnsResponder(dirs: DirOptions = {}, timeoutMs = 5000): Promise<boolean> {
  const st = dnsResponderStatus(dirs)
  if (!st) return false
  try { process.kill(st.pid, 'SIGTERM') } catch { return true }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!responderRunning(dirs)) return true
    await sleep(20)
  }
  try { process.kill(st.pid, 'SIGKILL') } catch { /* gone */ }
  return true
}

/**
 * stopDnsResponder for teardown code that cannot await (test fixtures removing their run
 * directory): blocks the thread while it waits until the responder's lock is free, which
 * happens when its process ends (also after SIGKILL, also as a zombie), so nothing writes into the
 * directory afterwards.
 */
export function stopDnsResponderSync(dirs: DirOptions = {}, timeoutMs = 5000): boolean {
  const st = dnsResponderStatus(dirs)
  if (!st) return false
  const pause = new Int32Array(new SharedArrayBuffer(4))
  const waitGone = (ms: number): boolean => {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if (!responderRunning(dirs)) return true
      Atomics.wait(pause, 0, 0, 20)
    }
    return false
  }
  try { process.kill(st.pid, 'SIGTERM') } catch { return true }
  if (waitGone(timeoutMs)) return true
  try { process.kill(st.pid, 'SIGKILL') } catch { return true }
  waitGone(2000)
  return true
}
