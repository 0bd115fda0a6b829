/**
 * Throwaway named network namespaces for tests, with an rtnetlink handle opened inside.
 *
 * What it creates: /run/netns/<prefix>-<8 hex> (iproute2-compatible), loopback brought up; the
 * sockets and servers made through it (connect, listen, udp, and podnet/testing's listen()).
 * Depends on: a sandboxed process (guard.ts) with CAP_SYS_ADMIN + CAP_NET_ADMIN: root, or root
 * of a user namespace (scripts/sandbox.sh --rootless). Without them it throws SandboxError: a
 * test never turns silently pending.
 * Cleanup: close() closes the sockets it made, the handle, and deletes the namespace; every link,
 * address, route and nf_tables rule inside dies with it. A namespace still open at process exit
 * is closed then (hooks.ts).
 */
import { randomBytes } from 'node:crypto'
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import { PermissionError, SandboxError } from '../errors.js'
import { Netns } from '../netns/index.js'
import { connectTcpInNetns, listenInNetns, udpSocketInNetns, type ListenInNetnsOptions, type UdpInNetnsOptions } from '../netns/sockets.js'
import { Rtnl } from '../netlink/route/index.js'
import { assertSandboxed } from './guard.js'
import { perTest, trackFixture, type Runner } from './hooks.js'
import { ipLink, ipOracle, type IpOracle } from './oracle.js'
import type { IpLink } from './oracle-types.js'

export interface TempNetns {
  readonly name: string
  readonly ns: Netns
  readonly rt: Rtnl
  /** `ip -n NAME -j -d ARGS...` parsed and typed (the oracle): ip('link', 'show') is IpLink[]. */
  readonly ip: IpOracle
  /** The `ip -j -d link show` object for one link, or undefined. */
  link(name: string): IpLink | undefined
  /** A TCP connection from this namespace (the socket is made here; closed with the namespace). */
  connect(host: string, port: number): Socket
  /** A TCP server in this namespace, listening once resolved (closed with the namespace). */
  listen(opts?: ListenInNetnsOptions, onConnection?: (s: Socket) => void): Promise<Server>
  /** A UDP socket in this namespace (bound when opts.port is given; closed with the namespace). */
  udp(opts?: UdpInNetnsOptions): Promise<UdpSocket>
  /** Closes `c` together with this namespace (before it is deleted). */
  adopt(c: { closeSync(): void } | { close(): unknown }): void
  close(): void
  /** The same as close() (every step is synchronous). */
  closeSync(): void
}

export interface TempNetnsOptions {
  /** Name prefix (default 'pn-test'): the namespace is <prefix>-<8 hex>. */
  prefix?: string
  /** The test runner (default: detected, hooks.ts). Only for useTempNetns. */
  runner?: Runner
}

const optsOf = (x: string | TempNetnsOptions | undefined): TempNetnsOptions => (typeof x === 'string' ? { prefix: x } : x ?? {})

function noPrivilege(err: unknown): never {
  if (err instanceof PermissionError) {
    throw new SandboxError(
      `cannot create a network namespace (uid ${process.getuid?.() ?? '?'}): run the tests as root inside scripts/sandbox.sh, ` +
        'or without root inside scripts/sandbox.sh --rootless (a user namespace)',
      'no-privilege',
      { cause: err },
    )
  }
  throw err
}

/** Creates a fresh named namespace with loopback up and a handle in it (synchronous). */
export function createTempNetns(prefixOrOpts?: string | TempNetnsOptions): TempNetns {
  assertSandboxed()
  const prefix = optsOf(prefixOrOpts).prefix ?? 'pn-test'
  const name = `${prefix}-${randomBytes(4).toString('hex')}`
  let ns: Netns
  try {
    ns = Netns.create(name)
  } catch (err) {
    noPrivilege(err)
  }
  let rt: Rtnl
  try {
    rt = Rtnl.open({ netns: ns })
    rt.link.setSync('lo', { up: true })
  } catch (err) {
    ns.close()
    Netns.remove(name)
    noPrivilege(err)
  }
  return wrap(name, ns, rt)
}

/**
 * A TempNetns on a named namespace that already exists (made by the test some other way, or made
 * again after a simulated reboot): close() deletes it like one createTempNetns made.
 */
export function openTempNetns(name: string): TempNetns {
  assertSandboxed()
  const ns = Netns.open(name)
  let rt: Rtnl
  try {
    rt = Rtnl.open({ netns: ns })
  } catch (err) {
    ns.close()
    throw err
  }
  return wrap(name, ns, rt)
}

function wrap(name: string, ns: Netns, rt: Rtnl): TempNetns {
  const owned: Array<{ closeSync(): void } | { close(): unknown }> = []
  let closed = false
  const own = <T extends { close(): unknown }>(x: T): T => {
    owned.push(x)
    return x
  }
  const t: TempNetns = {
    name,
    ns,
    rt,
    ip: ipOracle(name),
    link: (ifname: string) => ipLink(name, ifname),
    connect: (host, port) => own(connectTcpInNetns(ns.fd, host, port) as Socket & { close(): unknown }),
    listen: async (opts, onConnection) => own(await listenInNetns(ns.fd, opts, onConnection)),
    udp: async (opts) => own(await udpSocketInNetns(ns.fd, opts)),
    adopt(c) {
      if (closed) throw new Error(`netns '${name}' is closed`)
      owned.push(c)
    },
    close() {
      if (closed) return
      closed = true
      untrack()
      const errors: unknown[] = []
      for (const c of owned.splice(0).reverse()) {
        try {
          if ('closeSync' in c) c.closeSync()
          else if ('destroy' in c && typeof c.destroy === 'function') c.destroy()
          else void Promise.resolve(c.close()).catch(() => {})
        } catch (err) {
          errors.push(err)
        }
      }
      rt.close()
      ns.close()
      try {
        Netns.remove(name)
      } catch {
        /* removed by the test itself */
      }
      if (errors.length) throw new AggregateError(errors, `closing netns '${name}': ${errors.length} socket(s) failed to close`)
    },
    closeSync() {
      t.close()
    },
  }
  const untrack = trackFixture(t)
  return t
}

/**
 * A fresh namespace for every test (beforeEach / afterEach of mocha, node:test, jest or vitest:
 * hooks.ts). The namespace is deleted after the test, also when it failed or timed out.
 * Throws SandboxError (the hook fails, loudly) outside a sandbox or without the privilege.
 *
 * ```ts
 * const t = useTempNetns()
 * it('creates a bridge', async () => { await t().rt.link.add({ kind: 'bridge', name: 'br0' }) })
 * ```
 */
export function useTempNetns(prefixOrOpts?: string | TempNetnsOptions): () => TempNetns {
  const opts = optsOf(prefixOrOpts)
  return perTest('useTempNetns', () => createTempNetns(opts), (t) => t.close(), opts.runner)
}
