/**
 * A whole "host" inside namespaces, for tests of bridge networks and pods:
 *
 *   upstream ns  eth0 10.209.0.2/24, fd09::2/64   (plays the internet: no other address, no default route)
 *        |  veth
 *   host ns      up0  10.209.0.1/24, fd09::1/64   (holds the bridges; podnet's --host-netns)
 *        |  bridges made by the test
 *   pod namespaces, made with pod()
 *
 * Depends on: root (or a --rootless sandbox), a sandboxed process. Cleanup: close() closes its
 * managers, deletes every namespace it made (links, rules, addresses and the servers started in
 * them die with them) and the temporary directories; useTopology() calls it after every test,
 * failed and timed-out ones too, and whatever is still open at process exit is closed then.
 * The directories live on the sandbox's private /run tmpfs (scripts/sandbox.sh), so even a
 * kill -9 leaves nothing on the machine's disk.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkManager } from '../bridge/index.js'
import { stopDnsResponderSync } from '../dns/service.js'
import { perSuite, perTest, trackFixture, type Runner } from './hooks.js'
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
  /** The same as close() (every step is synchronous). */
  closeSync(): void
}

/** Where fixtures keep temporary directories: the sandbox's private /run tmpfs when there is one, else TMPDIR. */
export function fixtureTmpBase(): string {
  return process.env.PODNET_IN_SANDBOX === '1' && existsSync('/run/netns') ? '/run' : tmpdir()
}

export const UPSTREAM = { hostV4: '10.209.0.1', upstreamV4: '10.209.0.2', hostV6: 'fd09::1', upstreamV6: 'fd09::2' } as const

export function createTopology(): Topology {
  const host = createTempNetns('pn-host')
  const made: TempNetns[] = [host]
  const managers: NetworkManager[] = []
  const base = fixtureTmpBase()
  const stateDir = mkdtempSync(join(base, 'podnet-topo-'))
  // volatile state on tmpfs when there is one (the sandbox mounts a private tmpfs on /run)
  const runDir = base === '/run' ? mkdtempSync('/run/podnet-topo-run-') : join(stateDir, 'run')
  try {
    const upstream = createTempNetns('pn-up')
    made.push(upstream)
    host.rt.link.addSync({ kind: 'veth', name: 'up0', up: true, peer: { name: 'eth0', netns: upstream.ns, up: true } })
    host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV4}/24`, dev: 'up0' })
    host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV6}/64`, dev: 'up0', nodad: true })
    upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV4}/24`, dev: 'eth0' })
    upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV6}/64`, dev: 'eth0', nodad: true })
    let untrack = (): void => {}
    const topo: Topology = {
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
        untrack()
        const errors: unknown[] = []
        const step = (f: () => void): void => {
          try {
            f()
          } catch (err) {
            errors.push(err)
          }
        }
        for (const m of managers.splice(0)) step(() => m.close())
        for (const t of made.splice(0).reverse()) step(() => t.close())
        // a DNS responder that podnet commands started for these directories would still write
        // its status file into the run directory while it is being removed (ENOTEMPTY)
        step(() => stopDnsResponderSync({ stateDir, runDir }))
        step(() => rmSync(stateDir, { recursive: true, force: true }))
        step(() => rmSync(runDir, { recursive: true, force: true }))
        if (errors.length) throw new AggregateError(errors, `closing the topology: ${errors.length} step(s) failed: ${errors.map((e) => (e as Error).message).join('; ')}`)
      },
      closeSync() {
        topo.close()
      },
    }
    untrack = trackFixture(topo)
    return topo
  } catch (err) {
    for (const t of made.reverse()) t.close()
    rmSync(stateDir, { recursive: true, force: true })
    rmSync(runDir, { recursive: true, force: true })
    throw err
  }
}

export interface UseTopologyOptions {
  /** 'each' (default): a fresh topology per test; 'all': one per describe block. */
  scope?: 'each' | 'all'
  /** The test runner (default: detected, hooks.ts). */
  runner?: Runner
}

/**
 * createTopology() in hooks: built before each test (or once, with scope 'all') and closed after
 * it, also when the test failed or timed out. Throws SandboxError (the hook fails) when the
 * namespaces cannot be made here.
 */
export function useTopology(opts: UseTopologyOptions = {}): () => Topology {
  return (opts.scope === 'all' ? perSuite : perTest)('useTopology', () => createTopology(), (t) => t.close(), opts.runner)
}
