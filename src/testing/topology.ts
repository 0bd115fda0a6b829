/**
 * A whole "host" inside namespaces, for tests of bridge networks and pods:
 *
 *   upstream ns  eth0 10.209.0.2/24, fd09::2/64   (plays the internet: no other address, no default route)
 *        |  veth
 *   host ns      up0  10.209.0.1/24, fd09::1/64   (holds the bridges; podnet's --host-netns)
 *        |  bridges made by the test
 *   pod namespaces, made with pod()
 *
 * Depends on: root, a sandboxed process. Cleanup: close() deletes every namespace it made
 * (links, rules and addresses die with them) and the temporary state directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkManager } from '../bridge/index.js'
import { createTempNetns, type TempNetns } from './temp-netns.js'

export interface Topology {
  host: TempNetns
  upstream: TempNetns
  /** A fresh pod namespace (closed with the topology). */
  pod(prefix?: string): TempNetns
  /** A NetworkManager acting in the host namespace with this topology's state directory. */
  manager(): NetworkManager
  readonly stateDir: string
  readonly runDir: string
  close(): void
}

export const UPSTREAM = { hostV4: '10.209.0.1', upstreamV4: '10.209.0.2', hostV6: 'fd09::1', upstreamV6: 'fd09::2' } as const

export function createTopology(): Topology {
  const host = createTempNetns('pn-host')
  const made: TempNetns[] = [host]
  const managers: NetworkManager[] = []
  const stateDir = mkdtempSync(join(tmpdir(), 'podnet-topo-'))
  // volatile state on tmpfs when there is one (the sandbox mounts a private tmpfs on /run)
  const runDir = existsSync('/run') ? mkdtempSync('/run/podnet-topo-') : join(stateDir, 'run')
  try {
    const upstream = createTempNetns('pn-up')
    made.push(upstream)
    host.rt.link.addSync({ kind: 'veth', name: 'up0', up: true, peer: { name: 'eth0', netns: upstream.ns, up: true } })
    host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV4}/24`, dev: 'up0' })
    host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV6}/64`, dev: 'up0', nodad: true })
    upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV4}/24`, dev: 'eth0' })
    upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV6}/64`, dev: 'eth0', nodad: true })
    return {
      host, upstream, stateDir, runDir,
      pod(prefix = 'pn-pod') {
        const p = createTempNetns(prefix)
        made.push(p)
        return p
      },
      manager() {
        const m = new NetworkManager({ hostNetns: host.name, stateDir, runDir })
        managers.push(m)
        return m
      },
      close() {
        for (const m of managers.splice(0)) m.close()
        for (const t of made.splice(0).reverse()) t.close()
        rmSync(stateDir, { recursive: true, force: true })
        rmSync(runDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    for (const t of made.reverse()) t.close()
    rmSync(stateDir, { recursive: true, force: true })
    rmSync(runDir, { recursive: true, force: true })
    throw err
  }
}
