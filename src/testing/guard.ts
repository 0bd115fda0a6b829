/**
 * The sandbox guard: kernel-facing tests and fixtures refuse to run in the machine's own
 * network namespace. "Own" means the network namespace of PID 1 when /proc/1/ns/net can be
 * read (it cannot from every process here: EACCES), else the namespace the sandbox launcher
 * recorded in PODNET_OUTER_NETNS before it unshared.
 */
import { readlinkSync } from 'node:fs'

/** True when this process runs in a network namespace other than init's. */
export function inPrivateNetns(): boolean {
  let self: string
  try {
    self = readlinkSync('/proc/self/ns/net')
  } catch {
    return false
  }
  try {
    return self !== readlinkSync('/proc/1/ns/net')
  } catch {
    const outer = process.env.PODNET_OUTER_NETNS
    return outer !== undefined && outer !== '' && self !== outer
  }
}

/** Throws unless the process is sandboxed (see scripts/sandbox.sh and docs/testing.md). */
export function assertSandboxed(): void {
  if (!inPrivateNetns()) {
    throw new Error(
      "refusing to run: this process is in the machine's own network namespace. " +
        'Run it inside a sandbox, e.g. scripts/sandbox.sh (unshare --net --mount) or podnet/testing runInSandbox().',
    )
  }
}
