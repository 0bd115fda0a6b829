/**
 * Real packets between namespaces through child processes started inside a namespace: serve()
 * answers every TCP connection or UDP datagram with "from <peer address>", so a probe learns
 * the source address the server saw (masquerade, DNAT checks). probe() blocks the event loop
 * (spawnSync) until the answer or its timeout: quick checks only. In-process, async twins with
 * deadlines and a plain echo are in traffic.ts (listen, request, probeAsync, reachable).
 *
 * Servers started on a TempNetns are killed (by PID) when it closes; all of them by
 * stopServers(), and at process exit. They never keep the test runner alive.
 */
import type { ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Netns } from '../netns/index.js'
import { trackFixture } from './hooks.js'
import type { InNetns } from './traffic.js'

export type { InNetns } from './traffic.js'
const nsOf = (t: InNetns): Netns => ('fd' in t ? t : t.ns)

const netcheck = join(dirname(fileURLToPath(import.meta.url)), 'netcheck.js')
const servers: ChildProcess[] = []

/** Starts a server in the namespace that answers "from <peer>"; resolves once it listens. */
export async function serve(target: InNetns, proto: 'tcp' | 'udp', port: number): Promise<ChildProcess> {
  const child = nsOf(target).spawn(process.execPath, [netcheck, 'serve', proto, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  servers.push(child)
  const kill = { closeSync: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') } }
  const adopter = target as Partial<{ adopt(c: { closeSync(): void }): void }>
  if (typeof adopter.adopt === 'function') adopter.adopt(kill)
  else {
    const untrack = trackFixture(kill)
    child.once('exit', untrack)
  }
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)))
  })
  // never keep the runner alive: the owner (or process exit) kills it
  child.unref()
  ;(child.stdout as Readable & { unref?: () => void }).unref?.()
  return child
}

/**
 * Connects from the namespace; returns the peer address the server saw, or throws after
 * `timeoutMs` (default 2000). Blocks the event loop meanwhile: prefer probeAsync (traffic.ts).
 */
export function probe(target: InNetns, proto: 'tcp' | 'udp', host: string, port: number, opts: { timeoutMs?: number } = {}): string {
  const ns = nsOf(target)
  const timeoutMs = opts.timeoutMs ?? 2000
  const r = ns.spawnSync(process.execPath, [netcheck, 'connect', proto, host, String(port), String(timeoutMs)], { encoding: 'utf8', timeout: timeoutMs + 3000 })
  if (r.status !== 0) throw new Error(`${proto} ${host}:${port} from ${ns.name} failed: ${String(r.stderr).trim()}`)
  return String(r.stdout).trim().replace(/^from /, '')
}

/** True when the connection fails (blocking, as probe()). */
export function unreachable(ns: InNetns, proto: 'tcp' | 'udp', host: string, port: number, opts: { timeoutMs?: number } = {}): boolean {
  try {
    probe(ns, proto, host, port, opts)
    return false
  } catch {
    return true
  }
}

/** Ends every server started by serve() (by PID, only ours). */
export function stopServers(): void {
  for (const s of servers.splice(0)) if (s.exitCode === null) s.kill('SIGKILL')
}
