/**
 * The process sandbox: runs a command in its own network namespace and a private mount
 * namespace with an empty tmpfs on /run (so /run/netns belongs to the sandbox alone) and a
 * temporary podnet state dir. Whatever the command creates dies with it.
 *
 * Uses util-linux `unshare` (a multi-threaded Node process cannot unshare its own mount
 * namespace) — a test harness convenience, not product code.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { readlinkSync } from 'node:fs'

const INNER = [
  'set -e',
  'mount -t tmpfs -o mode=0755 podnet-run /run',
  'mkdir -p /run/netns',
  'state=$(mktemp -d /tmp/podnet-state.XXXXXX)',
  'trap \'rm -rf "$state"\' EXIT',
  'export PODNET_STATE_DIR="$state" PODNET_IN_SANDBOX=1',
  'ip link set lo up 2>/dev/null || true',
  '"$@"',
].join('\n')

/** argv for running `cmd args...` in a fresh sandbox. */
export function sandboxArgv(cmd: string, args: string[] = []): [string, string[]] {
  return ['unshare', ['--net', '--mount', '--propagation', 'private', '--fork', '--', 'bash', '-c', INNER, 'podnet-sandbox', cmd, ...args]]
}

/**
 * Starts `cmd args...` in a fresh sandbox. With `processGroup`, the sandbox gets a process group
 * of its own: signal everything in it with `process.kill(-child.pid, sig)` (unshare itself
 * ignores SIGINT and SIGTERM while it waits, so signalling only the child reaches nothing).
 */
export function spawnInSandbox(cmd: string, args: string[] = [], stdio: StdioOptions = 'inherit', opts: { processGroup?: boolean } = {}): ChildProcess {
  const [c, a] = sandboxArgv(cmd, args)
  return spawn(c, a, { stdio, detached: opts.processGroup === true, env: { ...process.env, PODNET_OUTER_NETNS: readlinkSync('/proc/self/ns/net') } })
}

/** Runs `cmd args...` in a fresh sandbox; resolves with its exit code. */
export function runInSandbox(cmd: string, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawnInSandbox(cmd, args)
    child.on('error', reject)
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)))
  })
}
