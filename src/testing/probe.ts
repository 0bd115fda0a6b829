/**
 * Real packets between namespaces: servers and probes run as child processes started inside a
 * namespace (a socket belongs to the namespace of the thread that creates it, and Node creates
 * sockets off the caller's stack, so in-process sockets cannot be placed reliably).
 * Servers answer every TCP connection or UDP datagram with "from <peer address>", so a probe
 * learns the source address the server saw (masquerade, DNAT checks).
 */
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Netns } from '../netns/index.js'

/** Anything holding a namespace: a Netns, or a fixture with one under `ns`. */
export type InNetns = Netns | { ns: Netns; name?: string }
const nsOf = (t: InNetns): Netns => ('fd' in t ? t : t.ns)

const netcheck = join(dirname(fileURLToPath(import.meta.url)), 'netcheck.js')
const servers: ChildProcess[] = []

/** Starts a server in the namespace that answers "from <peer>"; resolves once it listens. */
export async function serve(target: InNetns, proto: 'tcp' | 'udp', port: number): Promise<ChildProcess> {
  const child = nsOf(target).spawn(process.execPath, [netcheck, 'serve', proto, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  servers.push(child)
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)))
  })
  return child
}

/** Connects from the namespace; returns the peer address the server saw, or throws. */
export function probe(target: InNetns, proto: 'tcp' | 'udp', host: string, port: number): string {
  const ns = nsOf(target)
  const r = ns.spawnSync(process.execPath, [netcheck, 'connect', proto, host, String(port)], { encoding: 'utf8', timeout: 5000 })
  if (r.status !== 0) throw new Error(`${proto} ${host}:${port} from ${ns.name} failed: ${String(r.stderr).trim()}`)
  return String(r.stdout).trim().replace(/^from /, '')
}

/** True when the connection fails. */
export function unreachable(ns: InNetns, proto: 'tcp' | 'udp', host: string, port: number): boolean {
  try {
    probe(ns, proto, host, port)
    return false
  } catch {
    return true
  }
}

/** Ends every server started by serve() (by PID, only ours). */
export function stopServers(): void {
  for (const s of servers.splice(0)) if (s.exitCode === null) s.kill('SIGKILL')
}
