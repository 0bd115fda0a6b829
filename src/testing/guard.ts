/**
 * The sandbox guard: kernel-facing tests and fixtures refuse to run unless they can prove they
 * are not in the machine's own network namespace. The proofs, in order:
 *
 *   1. this process's namespace is the kernel's initial one (inode 0xEFFFFFF9, NET_NS_INIT_INO,
 *      which kernels since 6.18 give init_net): refused, whatever else is declared;
 *   2. PID 1's namespace (/proc/1/ns/net) can be read and differs from this one: proven;
 *   3. the sandbox launcher declared the namespace it started from (PODNET_OUTER_NETNS, as
 *      `readlink /proc/self/ns/net` prints it, e.g. "net:[4026531833]") and this one differs: proven.
 *      scripts/sandbox.sh and runInSandbox() set it; a hand-made sandbox declares it itself.
 *
 * Anything else is "cannot prove": /proc/1/ns/net cannot be read from every process (EACCES under
 * some supervisors) and, in a sandbox with its own PID namespace, PID 1 is the sandbox's own init.
 */
import { readlinkSync } from 'node:fs'
import { SandboxError } from '../errors.js'

/** The inode the kernel gives the initial network namespace (uapi nsfs.h NET_NS_INIT_INO, kernel 6.18+). */
export const NET_NS_INIT_INO = 0xeffffff9

/** Why this process counts as sandboxed, or why it cannot be proven. */
export interface SandboxProof {
  readonly sandboxed: boolean
  /** This process's network namespace ("net:[4026532249]"), when readable. */
  readonly self?: string
  /** One sentence: how it was proven, or why not. */
  readonly reason: string
}

const tryReadlink = (p: string): string | undefined => {
  try {
    return readlinkSync(p)
  } catch {
    return undefined
  }
}

/** Works out whether this process is outside the machine's own network namespace, and says why. */
export function sandboxProof(env: NodeJS.ProcessEnv = process.env): SandboxProof {
  const self = tryReadlink('/proc/self/ns/net')
  if (self === undefined) return { sandboxed: false, reason: 'cannot read /proc/self/ns/net' }
  if (self === `net:[${NET_NS_INIT_INO}]`) {
    return { sandboxed: false, self, reason: `this process is in the kernel's initial network namespace (${self})` }
  }
  const init = tryReadlink('/proc/1/ns/net')
  if (init !== undefined && init !== self) return { sandboxed: true, self, reason: `PID 1 is in ${init}, this process in ${self}` }
  const outer = env.PODNET_OUTER_NETNS
  if (outer !== undefined && outer !== '') {
    if (outer !== self) return { sandboxed: true, self, reason: `the sandbox was started from ${outer} (PODNET_OUTER_NETNS), this process is in ${self}` }
    return { sandboxed: false, self, reason: `PODNET_OUTER_NETNS names this process's own namespace (${self}): the sandbox did not unshare it` }
  }
  const pid1 = init === undefined ? '/proc/1/ns/net cannot be read' : `PID 1 shares it (${self})`
  return { sandboxed: false, self, reason: `${pid1} and PODNET_OUTER_NETNS is not set` }
}

/** True when this process provably runs in a network namespace other than the machine's own. */
export function inPrivateNetns(): boolean {
  return sandboxProof().sandboxed
}

/** Throws SandboxError unless the process is provably sandboxed (see scripts/sandbox.sh and docs/testing.md). */
export function assertSandboxed(): void {
  const p = sandboxProof()
  if (p.sandboxed) return
  throw new SandboxError(
    `refusing to run: cannot prove this process is outside the machine's own network namespace (${p.reason}). ` +
      'Run it inside a sandbox (scripts/sandbox.sh, or runInSandbox() from podnet/testing), or declare yours: ' +
      'PODNET_OUTER_NETNS=$(readlink /proc/self/ns/net) exported before `unshare --net --mount ...`',
    'not-sandboxed',
  )
}
