/** Helpers for the overlay's kernel tests. */
import { spawn } from 'node:child_process'
import { ipJson, type Cluster } from '../../src/testing/index.js'

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await cond()) return Date.now() - t0
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}

/** Routes into the overlay subnets (10.244-10.255) on node i, as `ip -j route` shows them: "SUBNET via GW dev DEV [onlink]". */
export function overlayRoutes(c: Cluster, i: number): string[] {
  return (ipJson(c.node(i).ns.name, 'route', 'show') as any[]).filter((r) => /^10\.2(4[4-9]|5\d)\./.test(r.dst) && r.gateway)
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}${r.flags?.includes('onlink') ? ' onlink' : ''}`).sort()
}

/**
 * Captures packets matching a tcpdump filter on `dev` in namespace `ns` while `during` runs:
 * the one-line summaries tcpdump prints (-nn). tcpdump runs until `during` is done (plus a
 * moment for the last packets), then gets SIGTERM; at most 10 s in all.
 */
export async function capture(ns: string, dev: string, filter: string, during: () => unknown): Promise<string[]> {
  const p = spawn('ip', ['netns', 'exec', ns, 'timeout', '10', 'tcpdump', '-i', dev, '-nn', '-l', '-p', filter], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<void>((r) => p.once('exit', () => r()))
  try {
    await waitFor('tcpdump to listen', () => {
      if (p.exitCode !== null) throw new Error(`tcpdump exited: ${err}`)
      return /listening on/.test(err)
    }, 5000)
    await during()
    await new Promise((r) => setTimeout(r, 300))
  } finally {
    p.kill('SIGTERM')
    await exited
  }
  return out.split('\n').filter((l) => l.trim() !== '')
}

export interface RunResult { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * A command run without blocking the event loop. The overlay tests run their agents in this
 * process (OverlayAgent objects): a spawnSync that lasts longer than the lease TTL (3 s) stops
 * every keep-alive at once, so the leases expire under the test's feet on a loaded machine.
 */
export function runAsync(cmd: string, args: string[], timeoutMs = 30_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env && { env }) })
    let stdout = ''
    let stderr = ''
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.once('error', (e) => { clearTimeout(t); reject(e) })
    p.once('close', (status, signal) => { clearTimeout(t); resolve({ status, signal, stdout, stderr }) })
  })
}
