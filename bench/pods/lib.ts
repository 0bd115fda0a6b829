/**
 * Child processes for the pod bench: like bench/network/lib.ts's run(), but with stdin from
 * /dev/null, so a child that exits before reading it cannot fail the bench with EPIPE.
 */
import { spawn } from 'node:child_process'
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
