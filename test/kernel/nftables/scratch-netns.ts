/**
 * A throwaway network namespace per test, with an Nft handle inside it and `nft` as the oracle.
 *
 * What it creates: a child process `unshare --net -- sh -c 'echo ready; exec sleep 1000'`; its
 *   network namespace (held open by an fd to /proc/<pid>/ns/net) is the test's. Nothing is
 *   named or mounted, so nothing can outlive the test process.
 * Depends on: root (CAP_SYS_ADMIN for unshare, CAP_NET_ADMIN for nf_tables), the `nft` and
 *   `nsenter` binaries, and a sandboxed test process (test/support/root-hooks.ts).
 * Cleanup: close() closes the Nft handle and the fd and kills the child by its PID; the
 *   namespace and its whole ruleset die with them.
 */
import { spawn, execFileSync } from 'node:child_process'
import { closeSync, openSync, readlinkSync } from 'node:fs'
import { Nft } from '../../../src/netlink/nftables/index.js'

export interface ScratchNetns {
  readonly pid: number
  /** fd of the namespace (pass as netnsFd). */
  readonly fd: number
  /** An Nft handle opened inside the namespace. */
  readonly nft: Nft
  /** Runs `nft ARGS...` inside the namespace; returns stdout (throws with stderr on failure). */
  run(...args: string[]): string
  /** Applies an nft script (`nft -f -`) inside the namespace. */
  apply(script: string): void
  /** `nft -j list ruleset` inside the namespace: the `nftables` array without metainfo. */
  ruleset(): any[]
  close(): void
}

export async function createScratchNetns(): Promise<ScratchNetns> {
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo ready; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const pid = child.pid
  if (pid === undefined) throw new Error('could not start unshare')
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`unshare exited early (${String(code)})`)))
    child.stdout.once('data', () => resolve())
  })
  child.removeAllListeners('exit')
  child.unref()
  child.stdout.destroy()
  if (readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) {
    process.kill(pid, 'SIGKILL')
    throw new Error('the child did not get its own network namespace')
  }
  const fd = openSync(`/proc/${pid}/ns/net`, 'r')
  let nft: Nft
  try {
    nft = Nft.open({ netns: { fd }, timeoutMs: 5000 })
  } catch (err) {
    closeSync(fd)
    process.kill(pid, 'SIGKILL')
    throw err
  }
  const nsenter = (args: string[], input?: string): string =>
    execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'nft', ...args], {
      encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}),
    })
  let closed = false
  return {
    pid,
    fd,
    nft,
    run: (...args) => nsenter(args),
    apply: (script) => { nsenter(['-f', '-'], script) },
    ruleset: () => {
      const out = JSON.parse(nsenter(['-j', 'list', 'ruleset'])) as { nftables: any[] }
      return out.nftables.filter((o) => !('metainfo' in o))
    },
    close() {
      if (closed) return
      closed = true
      nft.close()
      closeSync(fd)
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    },
  }
}

/** mocha helper: a fresh scratch namespace for every test; skips when not root. */
export function useScratchNetns(): () => ScratchNetns {
  let current: ScratchNetns | undefined
  beforeEach(async function () {
    if (process.getuid?.() !== 0) this.skip()
    current = await createScratchNetns()
  })
  afterEach(() => {
    current?.close()
    current = undefined
  })
  return () => {
    if (!current) throw new Error('useScratchNetns(): used outside a test')
    return current
  }
}
