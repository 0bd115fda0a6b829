/**
 * One probe attempt: exec, tcpSocket or httpGet, with its timeout; never throws, resolves to
 * { ok, detail } (detail: what Kubernetes puts after "Liveness probe failed: ").
 *
 * - exec runs through the same path as `podnet pod exec`: the launcher's `exec` mode joins every
 *   namespace of the container's process (a pidfd), its cgroups, its user, capabilities,
 *   no_new_privs and seccomp filter, with the container's environment and working directory.
 *   Exit 0 is success; the output (stdout and stderr, at most 10 KiB, as the kubelet keeps) is
 *   the detail. On timeout the command and the launcher are killed.
 * - tcpSocket and httpGet connect from the pod's network namespace: the socket is created
 *   synchronously with this thread inside the namespace (netns/sockets.ts, connectTcpInNetns),
 *   then used from the event loop, so nothing netns-sensitive spans an await. The host is the
 *   probe's, else the pod's first address, else 127.0.0.1 (a pod without a network).
 *   httpGet succeeds on a status from 200 to 399 (a redirect is not followed: podnet counts a
 *   3xx as success, as Kubernetes does for a redirect to another host); HTTPS does not verify
 *   the certificate, as the kubelet.
 */
import { spawn } from 'node:child_process'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { connectTcpInNetns } from '../netns/sockets.js'
import type { ProbeSpec } from './probe-spec.js'
import { childPids } from './proc.js'

/** The most output an exec probe keeps (the kubelet's limit). */
export const PROBE_OUTPUT_MAX = 10 * 1024

export interface ProbeResult { ok: boolean; detail: string }

/** What an exec probe needs: the launcher and its `exec` argv (launcher.ts execArgs), and the seccomp filter to pass. */
export interface ExecTarget {
  launcher: string
  args: string[]
  filter?: Buffer
}

/** What a network probe needs: an open fd of the pod's network namespace and its default host. */
export interface NetTarget {
  netnsFd: number
  host: string
}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/** Runs one probe attempt. */
export function runProbe(p: ProbeSpec, exec: () => ExecTarget, net: () => NetTarget): Promise<ProbeResult> {
  const timeoutMs = p.timeoutSeconds * 1000
  try {
    if (p.exec) return execProbe(exec(), timeoutMs)
    if (p.tcpSocket) {
      const t = net()
      return tcpProbe(t.netnsFd, p.tcpSocket.host ?? t.host, p.tcpSocket.port, timeoutMs)
    }
    if (p.httpGet) {
      const t = net()
      return httpProbe(t.netnsFd, { ...p.httpGet, host: p.httpGet.host ?? t.host }, timeoutMs)
    }
  } catch (err) {
    return Promise.resolve({ ok: false, detail: (err as Error).message })
  }
  return Promise.resolve({ ok: false, detail: 'the probe has no handler' })
}

/** An exec probe through the launcher (`podnet-launch exec`). */
export function execProbe(t: ExecTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let out = ''
    let done = false
    const child = spawn(t.launcher, t.args, { stdio: ['ignore', 'pipe', 'pipe', ...(t.filter ? ['pipe' as const] : [])] })
    const add = (d: Buffer): void => { if (out.length < PROBE_OUTPUT_MAX) out += d.toString('utf8').slice(0, PROBE_OUTPUT_MAX - out.length) }
    child.stdout?.on('data', add)
    child.stderr?.on('data', add)
    const pipe = child.stdio[3] as NodeJS.WritableStream & { on(e: 'error', f: () => void): unknown } | null | undefined
    if (t.filter && pipe) { pipe.on('error', () => { /* the launcher reports */ }); pipe.end(t.filter) }
    const finish = (r: ProbeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(r)
    }
    const timer = setTimeout(() => {
      // the command first (it lives in the container's PID namespace), then the launcher
      if (child.pid !== undefined) for (const pid of childPids(child.pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
      child.kill('SIGKILL')
      finish({ ok: false, detail: `command ${JSON.stringify(t.args.slice(t.args.indexOf('--') + 1).join(' '))} timed out after ${timeoutMs / 1000}s` })
    }, timeoutMs)
    child.on('error', (err) => finish({ ok: false, detail: `cannot start the launcher: ${err.message}` }))
    child.on('close', (code, signal) => {
      const text = out.trim()
      if (code === 0) finish({ ok: true, detail: text })
      else finish({ ok: false, detail: text || (signal ? `command killed by ${signal}` : `command exited with ${code ?? 1}`) })
    })
  })
}

/** A socket connected from the namespace, with a deadline; resolves the connected socket or a failure text. */
function connectWithin(netnsFd: number, host: string, port: number, timeoutMs: number): Promise<{ sock: Socket } | { error: string }> {
  return new Promise((resolve) => {
    let sock: Socket
    try {
      sock = connectTcpInNetns(netnsFd, host, port)
    } catch (err) {
      resolve({ error: `dial tcp ${hostPort(host, port)}: ${(err as Error).message}` })
      return
    }
    const timer = setTimeout(() => {
      sock.destroy()
      resolve({ error: `dial tcp ${hostPort(host, port)}: i/o timeout` })
    }, timeoutMs)
    sock.once('connect', () => {
      clearTimeout(timer)
      resolve({ sock })
    })
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      sock.destroy()
      const why = err.code === 'ECONNREFUSED' ? 'connect: connection refused' : err.code === 'EHOSTUNREACH' ? 'connect: no route to host' : err.code === 'ENETUNREACH' ? 'connect: network is unreachable' : err.message
      resolve({ error: `dial tcp ${hostPort(host, port)}: ${why}` })
    })
  })
}

/** A tcpSocket probe: success when the connection is established (then closed). */
export async function tcpProbe(netnsFd: number, host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const r = await connectWithin(netnsFd, host, port, timeoutMs)
  if ('error' in r) return { ok: false, detail: r.error }
  r.sock.destroy()
  return { ok: true, detail: '' }
}

/** An httpGet probe: GET over a connection made in the namespace; 200-399 is success. */
export async function httpProbe(netnsFd: number, g: { path: string; port: number; host: string; scheme: 'HTTP' | 'HTTPS'; httpHeaders: ReadonlyArray<{ name: string; value: string }> }, timeoutMs: number): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs
  const url = `${g.scheme.toLowerCase()}://${hostPort(g.host, g.port)}${g.path}`
  const c = await connectWithin(netnsFd, g.host, g.port, timeoutMs)
  if ('error' in c) return { ok: false, detail: `Get "${url}": ${c.error}` }
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/podnet', Accept: '*/*', Connection: 'close' }
  for (const h of g.httpHeaders) headers[h.name] = h.value
  return new Promise<ProbeResult>((resolve) => {
    let done = false
    const finish = (r: ProbeResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      c.sock.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish({ ok: false, detail: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` }), Math.max(1, deadline - Date.now()))
    const opts = {
      // no agent: with createConnection and no agent, node's ClientRequest uses the socket made in the namespace
      // (agent: false would make a fresh Agent, which connects from this process's namespace)
      method: 'GET', host: g.host, port: g.port, path: g.path, headers,
      createConnection: () => (g.scheme === 'HTTPS' ? tlsConnect({ socket: c.sock, rejectUnauthorized: false }) : c.sock),
    }
    const req = (g.scheme === 'HTTPS' ? httpsRequest : httpRequest)(opts, (res: IncomingMessage) => {
      const code = res.statusCode ?? 0
      res.resume()
      if (code >= 200 && code < 400) finish({ ok: true, detail: `HTTP ${code}` })
      else finish({ ok: false, detail: `HTTP probe failed with statuscode: ${code}` })
    })
    req.on('error', (err) => finish({ ok: false, detail: `Get "${url}": ${err.message}` }))
    req.end()
  })
}
