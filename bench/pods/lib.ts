/**
 * Child processes for the pod bench: like bench/network/lib.ts's run(), but with stdin from
 * /dev/null, so a child that exits before reading it cannot fail the bench with EPIPE.
 */
import { spawn } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { nowMs, type ChildResult } from '../network/lib.js'

export type { ChildResult }

export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs()
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env && { env: opts.env }) })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code, sig) => {
      resolve({ status: code ?? (sig ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs: nowMs() - t0 })
    })
  })
}

export async function mustRun(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const r = await run(cmd, args, opts)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-3000)}`)
  return r
}

/** A rootfs of busybox with sh and sleep, under `dir` (readable by everyone: podman's user namespace too). */
export function buildRootfs(dir: string): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (scripts/setup.sh)')
  const root = join(dir, 'rootfs')
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'sys']) mkdirSync(join(root, d), { recursive: true })
  chmodSync(root, 0o755)
  copyFileSync(busybox, join(root, 'bin/busybox'))
  chmodSync(join(root, 'bin/busybox'), 0o755)
  for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(root, 'bin', a))
  return root
}

/**
 * The state dir the sandbox set (PODNET_STATE_DIR) and the run dir: the live records, pins and
 * /dev/shm go on the sandbox's private tmpfs /run, as on a real machine (the sandbox only sets the
 * state dir, whose default run dir is on disk). `how`: the command to run the bench with.
 */
export function benchDirs(how: string): { stateDir: string; runDir: string } {
  const stateDir = process.env.PODNET_STATE_DIR
  if (!stateDir) throw new Error(`PODNET_STATE_DIR is not set: run through scripts/sandbox.sh (${how})`)
  process.env.PODNET_RUN_DIR ||= '/run/podnet'
  const runDir = process.env.PODNET_RUN_DIR
  mkdirSync(runDir, { recursive: true })
  return { stateDir, runDir }
}
