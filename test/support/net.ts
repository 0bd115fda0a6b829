/** Real packets between namespaces for tests: servers and probes as child processes. */
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TempNetns } from '../../src/testing/index.js'

const netcheck = join(dirname(fileURLToPath(import.meta.url)), 'netcheck.js')
const servers: ChildProcess[] = []

/** Starts a server in the namespace that answers "from <peer>"; resolves once it listens. */
export async function serve(ns: TempNetns, proto: 'tcp' | 'udp', port: number): Promise<ChildProcess> {
  const child = ns.ns.spawn(process.execPath, [netcheck, 'serve', proto, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  servers.push(child)
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)))
  })
  return child
}

/** Connects from the namespace; returns the peer address the server saw, or throws. */
export function probe(ns: TempNetns, proto: 'tcp' | 'udp', host: string, port: number): string {
  const r = ns.ns.spawnSync(process.execPath, [netcheck, 'connect', proto, host, String(port)], { encoding: 'utf8', timeout: 5000 })
  if (r.status !== 0) throw new Error(`${proto} ${host}:${port} from ${ns.name} failed: ${String(r.stderr).trim()}`)
  return String(r.stdout).trim().replace(/^from /, '')
}

/** True when the connection fails. */
export function unreachable(ns: TempNetns, proto: 'tcp' | 'udp', host: string, port: number): boolean {
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
