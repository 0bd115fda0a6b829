/**
 * Throughput between namespaces with iperf3 (Debian's iperf3, installed by scripts/setup.sh):
 * a one-off server in one namespace, a client in another, the rate the receiver measured.
 *
 * What it creates: one `iperf3 -s -1` process per iperfServer() (it exits after one test;
 * stopIperfServers() ends those still running, by PID). Depends on: iperf3 in PATH, a
 * sandboxed process. Timings belong in bench/: tests use these only to check a shaper's rate
 * within a tolerance, never to assert speed.
 */
import type { ChildProcess } from 'node:child_process'
import type { InNetns } from './probe.js'

const nsOf = (t: InNetns): import('../netns/index.js').Netns => ('fd' in t ? t : t.ns)
const servers: ChildProcess[] = []

/** Starts `iperf3 -s -1 -p PORT` in the namespace; resolves once it listens. */
export async function iperfServer(target: InNetns, port = 5201): Promise<ChildProcess> {
  const child = nsOf(target).spawn('iperf3', ['-s', '-1', '--forceflush', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  servers.push(child)
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Server listening')) resolve()
    })
    child.once('error', reject)
    child.once('exit', (c) => reject(new Error(`iperf3 server exited with ${c}: ${out}`)))
  })
  return child
}

export interface IperfOptions {
  port?: number
  /** -R: the server sends, the client receives. */
  reverse?: boolean
  /** Test length in seconds (default 5). */
  seconds?: number
  /** Seconds left out at the start (TCP slow start, a token bucket's first burst; default 1). */
  omit?: number
  /** Parallel streams (default 1). */
  parallel?: number
}

/** Runs an iperf3 TCP client from the namespace; returns the bits/s the receiving side measured. */
export function iperfRate(target: InNetns, host: string, opts: IperfOptions = {}): number {
  const seconds = opts.seconds ?? 5
  const args = ['-c', host, '-p', String(opts.port ?? 5201), '-t', String(seconds), '-O', String(opts.omit ?? 1), '-J']
  if (opts.reverse) args.push('-R')
  if (opts.parallel) args.push('-P', String(opts.parallel))
  const r = nsOf(target).spawnSync('iperf3', args, { encoding: 'utf8', timeout: (seconds + 20) * 1000 })
  let j: any
  try {
    j = JSON.parse(String(r.stdout))
  } catch {
    throw new Error(`iperf3 ${args.join(' ')}: exit ${r.status}: ${String(r.stderr).trim() || String(r.stdout).slice(0, 300)}`)
  }
  if (j.error) throw new Error(`iperf3 ${args.join(' ')}: ${j.error}`)
  return Number(j.end.sum_received.bits_per_second)
}

/** Like iperfRate, without blocking: several clients can run at once (flows that compete). */
export function iperfRun(target: InNetns, host: string, opts: IperfOptions = {}): Promise<number> {
  const seconds = opts.seconds ?? 5
  const args = ['-c', host, '-p', String(opts.port ?? 5201), '-t', String(seconds), '-O', String(opts.omit ?? 1), '-J']
  if (opts.reverse) args.push('-R')
  if (opts.parallel) args.push('-P', String(opts.parallel))
  const child = nsOf(target).spawn('iperf3', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  servers.push(child)
  return new Promise<number>((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    child.once('error', reject)
    child.once('close', (code) => {
      try {
        const j = JSON.parse(out)
        if (j.error) throw new Error(j.error)
        resolve(Number(j.end.sum_received.bits_per_second))
      } catch (e) {
        reject(new Error(`iperf3 ${args.join(' ')}: exit ${code}: ${(e as Error).message} ${err.trim()}`))
      }
    })
  })
}

/** Ends the iperf3 servers still running (by PID, only ours). */
export function stopIperfServers(): void {
  for (const s of servers.splice(0)) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL')
}
