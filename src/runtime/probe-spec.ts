/**
 * Container probes in a Pod manifest (livenessProbe, readinessProbe, startupProbe), validated
 * with Kubernetes' defaults and rules; every error names the field path:
 *   spec.containers[0].readinessProbe.periodSeconds: must be >= 0 (0 or absent: the default, 10), got -1
 *
 * Handlers: exec (command), tcpSocket (port, host), httpGet (path, port, host, scheme,
 * httpHeaders). Exactly one per probe. A named port is resolved against the container's ports
 * here, so the runtime only sees numbers. grpc is refused (podnet has no gRPC client).
 *
 * Kubernetes defaults a 0 (or absent) timeoutSeconds to 1, periodSeconds to 10, successThreshold
 * to 1 and failureThreshold to 3, then refuses negative values; successThreshold must be 1 for
 * liveness and startup probes, and terminationGracePeriodSeconds is refused on readiness probes.
 * The probes themselves run in probes.ts.
 */
import { isIP } from 'node:net'
import { InvalidArgumentError } from '../errors.js'
import { describeValue, obj, str, type Obj } from './spec-fields.js'

export type ProbeKind = 'startup' | 'readiness' | 'liveness'
export const PROBE_FIELDS: Readonly<Record<ProbeKind, 'startupProbe' | 'readinessProbe' | 'livenessProbe'>> = {
  startup: 'startupProbe', readiness: 'readinessProbe', liveness: 'livenessProbe',
}
/** How Kubernetes names them in messages: "Liveness probe failed: ...". */
export const PROBE_TITLES: Readonly<Record<ProbeKind, string>> = { startup: 'Startup', readiness: 'Readiness', liveness: 'Liveness' }

export interface ExecAction { command: string[] }
export interface TcpSocketAction { port: number; host?: string }
export interface HttpGetAction {
  path: string
  port: number
  host?: string
  scheme: 'HTTP' | 'HTTPS'
  httpHeaders: Array<{ name: string; value: string }>
}

/** A validated probe (Kubernetes' v1.Probe with its defaults filled in and ports resolved). */
export interface ProbeSpec {
  exec?: ExecAction
  tcpSocket?: TcpSocketAction
  httpGet?: HttpGetAction
  initialDelaySeconds: number
  periodSeconds: number
  timeoutSeconds: number
  successThreshold: number
  failureThreshold: number
  /** Grace period of a kill this probe causes (liveness, startup); default the pod's. */
  terminationGracePeriodSeconds?: number
}

export type ContainerProbes = Partial<Record<'livenessProbe' | 'readinessProbe' | 'startupProbe', ProbeSpec>>

/** Kubernetes' int32 fields. */
const INT32_MAX = 2 ** 31 - 1
/** RFC 7230 token: a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** IANA_SVC_NAME: a named port. */
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/

const what = describeValue

/** A non-negative int32, 0 or absent meaning `dflt` (Kubernetes' SetDefaults_Probe then ValidateNonnegativeField). */
function seconds(v: unknown, at: string, dflt: number): number {
  if (v === undefined || v === null) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidArgumentError(at, `must be an integer, got ${what(v)}`)
  if (v < 0) throw new InvalidArgumentError(at, `must be >= 0${dflt ? ` (0 or absent: the default, ${dflt})` : ''}, got ${v}`)
  if (v > INT32_MAX) throw new InvalidArgumentError(at, `must be <= ${INT32_MAX}, got ${v}`)
  return v === 0 ? dflt : v
}

/** A port: a number 1-65535 or the name of one of the container's ports. */
function port(v: unknown, at: string, ports: ReadonlyArray<{ name?: string; containerPort: number }>, portsAt: string): number {
  if (v === undefined || v === null || v === '') throw new InvalidArgumentError(at, 'required')
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new InvalidArgumentError(at, `must be from 1 to 65535, got ${v}`)
    return v
  }
  const s = str(v, at)
  if (/^[0-9]+$/.test(s)) throw new InvalidArgumentError(at, `must be a number or a port name, got the string ${JSON.stringify(s)}`)
  if (s.length > 15 || !PORT_NAME.test(s) || !/[a-z]/.test(s)) throw new InvalidArgumentError(at, `${JSON.stringify(s)} is not a valid port name (IANA_SVC_NAME)`)
  const p = ports.find((x) => x.name === s)
  if (!p) throw new InvalidArgumentError(at, `no port named ${JSON.stringify(s)} in ${portsAt}`)
  return p.containerPort
}

function host(v: unknown, at: string): string | undefined {
  if (v === undefined || v === '') return undefined
  const h = str(v, at)
  if (!isIP(h)) throw new InvalidArgumentError(at, `${JSON.stringify(h)} is not an IP address (podnet probes resolve no names; absent: the pod's IP)`)
  return h
}

/**
 * Validates one probe. `kind` decides the successThreshold and terminationGracePeriodSeconds
 * rules; `ports` resolves named ports. Unknown fields are reported in `warnings`.
 */
export function parseProbe(v: unknown, at: string, kind: ProbeKind, ports: ReadonlyArray<{ name?: string; containerPort: number }>, portsAt: string, warnings: string[]): ProbeSpec {
  const p = obj(v, at)
  const known = ['exec', 'tcpSocket', 'httpGet', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds']
  for (const k of Object.keys(p)) if (!known.includes(k)) warnings.push(`${at}.${k}: not supported, ignored`)
  const handlers = ['exec', 'tcpSocket', 'httpGet', 'grpc'].filter((k) => p[k] !== undefined && p[k] !== null)
  if (handlers.length === 0) throw new InvalidArgumentError(at, 'must specify a handler type (exec, tcpSocket or httpGet)')
  if (handlers.length > 1) throw new InvalidArgumentError(`${at}.${handlers[1]}`, `may not specify more than 1 handler type (also ${handlers[0]})`)
  if (handlers[0] === 'grpc') throw new InvalidArgumentError(`${at}.grpc`, 'not supported by podnet (use exec, tcpSocket or httpGet)')

  const out: ProbeSpec = {
    initialDelaySeconds: seconds(p.initialDelaySeconds, `${at}.initialDelaySeconds`, 0),
    periodSeconds: seconds(p.periodSeconds, `${at}.periodSeconds`, 10),
    timeoutSeconds: seconds(p.timeoutSeconds, `${at}.timeoutSeconds`, 1),
    successThreshold: seconds(p.successThreshold, `${at}.successThreshold`, 1),
    failureThreshold: seconds(p.failureThreshold, `${at}.failureThreshold`, 3),
  }
  if (kind !== 'readiness' && out.successThreshold !== 1) throw new InvalidArgumentError(`${at}.successThreshold`, `must be 1 for ${PROBE_FIELDS[kind]}, got ${out.successThreshold}`)
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds !== null) {
    if (kind === 'readiness') throw new InvalidArgumentError(`${at}.terminationGracePeriodSeconds`, 'must not be set for readinessProbes')
    const g = p.terminationGracePeriodSeconds
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 1 || g > 86400) throw new InvalidArgumentError(`${at}.terminationGracePeriodSeconds`, `must be an integer from 1 to 86400, got ${what(g)}`)
    out.terminationGracePeriodSeconds = g
  }

  if (p.exec !== undefined && p.exec !== null) {
    const e = obj(p.exec, `${at}.exec`)
    for (const k of Object.keys(e)) if (k !== 'command') warnings.push(`${at}.exec.${k}: not supported, ignored`)
    if (!Array.isArray(e.command) || e.command.length === 0) throw new InvalidArgumentError(`${at}.exec.command`, e.command === undefined ? 'required' : 'must be a non-empty list of strings')
    const command = e.command.map((x, i) => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : str(x, `${at}.exec.command[${i}]`)))
    command.forEach((x, i) => { if (x.includes('\0')) throw new InvalidArgumentError(`${at}.exec.command[${i}]`, 'contains a NUL byte') })
    if (command[0] === '') throw new InvalidArgumentError(`${at}.exec.command[0]`, 'must not be empty')
    out.exec = { command }
  } else if (p.tcpSocket !== undefined && p.tcpSocket !== null) {
    const t = obj(p.tcpSocket, `${at}.tcpSocket`)
    for (const k of Object.keys(t)) if (k !== 'port' && k !== 'host') warnings.push(`${at}.tcpSocket.${k}: not supported, ignored`)
    const h = host(t.host, `${at}.tcpSocket.host`)
    out.tcpSocket = { port: port(t.port, `${at}.tcpSocket.port`, ports, portsAt), ...(h !== undefined && { host: h }) }
  } else {
    const g = obj(p.httpGet, `${at}.httpGet`)
    for (const k of Object.keys(g)) if (!['path', 'port', 'host', 'scheme', 'httpHeaders'].includes(k)) warnings.push(`${at}.httpGet.${k}: not supported, ignored`)
    const path = g.path === undefined || g.path === '' ? '/' : str(g.path, `${at}.httpGet.path`)
    if (!path.startsWith('/')) throw new InvalidArgumentError(`${at}.httpGet.path`, `must start with "/", got ${JSON.stringify(path)}`)
    if (/[\s\0]/.test(path)) throw new InvalidArgumentError(`${at}.httpGet.path`, 'must not contain white space or NUL')
    const scheme = g.scheme === undefined ? 'HTTP' : str(g.scheme, `${at}.httpGet.scheme`)
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new InvalidArgumentError(`${at}.httpGet.scheme`, `unsupported value ${JSON.stringify(scheme)}: supported values: "HTTP", "HTTPS"`)
    const httpHeaders: Array<{ name: string; value: string }> = []
    if (g.httpHeaders !== undefined) {
      if (!Array.isArray(g.httpHeaders)) throw new InvalidArgumentError(`${at}.httpGet.httpHeaders`, `must be a list, got ${what(g.httpHeaders)}`)
      g.httpHeaders.forEach((hv, i) => {
        const f = `${at}.httpGet.httpHeaders[${i}]`
        const ho = obj(hv, f)
        const name = str(ho.name, `${f}.name`)
        if (!HEADER_NAME.test(name)) throw new InvalidArgumentError(`${f}.name`, `${JSON.stringify(name)} is not a valid HTTP header name`)
        const value = ho.value === undefined ? '' : str(ho.value, `${f}.value`)
        if (/[\r\n\0]/.test(value)) throw new InvalidArgumentError(`${f}.value`, 'must not contain CR, LF or NUL')
        httpHeaders.push({ name, value })
      })
    }
    const h = host(g.host, `${at}.httpGet.host`)
    out.httpGet = { path, port: port(g.port, `${at}.httpGet.port`, ports, portsAt), scheme, httpHeaders, ...(h !== undefined && { host: h }) }
  }
  return out
}

/** The probes of a container object (`c` as in the manifest); `at` is its field path. */
export function parseContainerProbes(c: Obj, at: string, ports: ReadonlyArray<{ name?: string; containerPort: number }>, warnings: string[]): ContainerProbes {
  const out: ContainerProbes = {}
  for (const kind of ['liveness', 'readiness', 'startup'] as const) {
    const field = PROBE_FIELDS[kind]
    if (c[field] === undefined || c[field] === null) continue
    out[field] = parseProbe(c[field], `${at}.${field}`, kind, ports, `${at}.ports`, warnings)
  }
  return out
}

/** Whether a container has any probe. */
export const hasProbes = (c: ContainerProbes): boolean => c.livenessProbe !== undefined || c.readinessProbe !== undefined || c.startupProbe !== undefined
