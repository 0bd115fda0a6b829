/** Shared plumbing for CLI commands: namespace and handle opening, number parsing, JSON switch. */
import { InvalidArgumentError as CommanderArgError } from 'commander'
import type { Netns } from '../netns/index.js'
import type { Rtnl } from '../netlink/route/index.js'

// Modules that load koffi are imported on first use, so `podnet --help` and commands that do not
// need netlink start faster.

/** Runs fn with an rtnetlink handle in the named namespace (or the current one), then closes both. */
export async function withRtnl<T>(netns: string | undefined, fn: (rt: Rtnl, ns: Netns | undefined) => Promise<T>): Promise<T> {
  const [{ Netns }, { Rtnl }] = await Promise.all([import('../netns/index.js'), import('../netlink/route/rtnl.js')])
  const ns = netns === undefined ? undefined : Netns.open(netns)
  try {
    const rt = Rtnl.open(ns ? { netns: ns } : {})
    try {
      return await fn(rt, ns)
    } finally {
      rt.close()
    }
  } finally {
    ns?.close()
  }
}

/** commander option parser for integers (usage error, exit 2, when not one). */
export function intArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new CommanderArgError(`${name} must be an integer, got '${v}'`)
    const n = Number(v)
    if (n < min || n > max) throw new CommanderArgError(`${name} must be from ${min} to ${max}, got ${n}`)
    return n
  }
}

/** An index → name lookup over a list of links. */
export function namer(links: Array<{ index: number; name: string }>): (index: number) => string | undefined {
  const m = new Map(links.map((l) => [l.index, l.name]))
  return (i) => m.get(i)
}
