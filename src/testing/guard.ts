/**
 * The sandbox guard: kernel-facing tests and fixtures refuse to run in the machine's own
 * network namespace. "Own" means the network namespace of PID 1 (we never create a PID
 * namespace for the test process, so PID 1 is the machine's init).
 */
import { readlinkSync } from 'node:fs'

/** True when this process runs in a network namespace other than init's. */
export function inPrivateNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') !== readlinkSync('/proc/1/ns/net')
  } catch {
    return false
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
