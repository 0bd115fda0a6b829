/**
 * Throwaway named network namespaces for tests, with an rtnetlink handle opened inside.
 *
 * What it creates: /run/netns/<prefix>-<8 hex> (iproute2-compatible), loopback brought up.
 * Depends on: root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and a sandboxed process (see guard.ts):
 *   creating namespaces refuses to run in the machine's own network namespace.
 * Cleanup: close() closes the handle and deletes the namespace; every link inside dies with it.
 */
import { randomBytes } from 'node:crypto'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { assertSandboxed } from './guard.js'
import { ipJson, ipLink } from './oracle.js'

export interface TempNetns {
  readonly name: string
  readonly ns: Netns
  readonly rt: Rtnl
  /** `ip -n NAME -j -d ARGS...` parsed (the oracle). */
  ip(...args: string[]): any
  /** The `ip -j -d link show` object for one link, or undefined. */
  link(name: string): any
  close(): void
}

/** Creates a fresh named namespace with loopback up and a handle in it. */
export function createTempNetns(prefix = 'pn-test'): TempNetns {
  assertSandboxed()
  const name = `${prefix}-${randomBytes(4).toString('hex')}`
  const ns = Netns.create(name)
  let rt: Rtnl
  try {
    rt = Rtnl.open({ netns: ns })
    rt.link.setSync('lo', { up: true })
  } catch (err) {
    ns.close()
    Netns.remove(name)
    throw err
  }
  let closed = false
  return {
    name,
    ns,
    rt,
    ip: (...args: string[]) => ipJson(name, ...args),
    link: (ifname: string) => ipLink(name, ifname),
    close() {
      if (closed) return
      closed = true
      rt.close()
      ns.close()
      try { Netns.remove(name) } catch { /* removed by the test itself */ }
    },
  }
}

/**
 * mocha helper: a fresh namespace for every test (beforeEach / afterEach).
 * Skips the test when not root.
 *
 * ```ts
 * const t = useTempNetns()
 * it('creates a bridge', async () => { await t().rt.link.add({ kind: 'bridge', name: 'br0' }) })
 * ```
 */
export function useTempNetns(prefix?: string): () => TempNetns {
  let current: TempNetns | undefined
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    current = createTempNetns(prefix)
  })
  afterEach(function () {
    current?.close()
    current = undefined
  })
  return () => {
    if (!current) throw new Error('useTempNetns(): used outside a test')
    return current
  }
}
