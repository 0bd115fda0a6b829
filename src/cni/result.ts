/**
 * ADD results in the shape of each spec version, and prevResult as a chained plugin passes it
 * on. 0.3.0 to 0.4.0 tag every IP with "version"; 1.0.0 drops it; 1.1.0 adds interface `mtu`.
 */
import { CniRequestError } from '../errors.js'
import {
  interfacesHaveMtu, ipsHaveVersion,
  type CniDns, type CniInterface, type CniIpConfig, type CniResult, type CniRoute,
} from './types.js'

/** A result without version-specific fields (what the plugin builds; formatResult shapes it). */
export interface ResultParts {
  interfaces: CniInterface[]
  ips: Array<Omit<CniIpConfig, 'version'>>
  routes: CniRoute[]
  dns: CniDns
}

const familyOf = (cidr: string): '4' | '6' => (cidr.includes(':') ? '6' : '4')

/** Shapes result parts for `cniVersion` (key order as the reference plugins print them). */
export function formatResult(cniVersion: string, parts: ResultParts): CniResult {
  const withMtu = interfacesHaveMtu(cniVersion)
  const interfaces = parts.interfaces.map((i): CniInterface => {
    const out: CniInterface = { name: i.name }
    if (i.mac !== undefined) out.mac = i.mac
    if (withMtu && i.mtu !== undefined) out.mtu = i.mtu
    if (i.sandbox !== undefined) out.sandbox = i.sandbox
    if (withMtu && i.socketPath !== undefined) out.socketPath = i.socketPath
    if (withMtu && i.pciID !== undefined) out.pciID = i.pciID
    return out
  })
  const ips = parts.ips.map((ip): CniIpConfig => {
    const out: CniIpConfig = ipsHaveVersion(cniVersion) ? { version: familyOf(ip.address), address: ip.address } : { address: ip.address }
    if (ip.gateway !== undefined) out.gateway = ip.gateway
    if (ip.interface !== undefined) out.interface = ip.interface
    return out
  })
  return { cniVersion, interfaces, ips, routes: parts.routes, dns: parts.dns }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads a prevResult (any supported version) into parts. Unknown fields are dropped, and a
 * malformed prevResult is a configuration error (7).
 */
export function parsePrevResult(prev: unknown): ResultParts {
  if (!isObject(prev)) throw new CniRequestError('config', 'invalid network configuration: prevResult must be an object')
  const list = (k: string): unknown[] => {
    const v = prev[k]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) throw new CniRequestError('config', `invalid network configuration: prevResult.${k} must be a list`)
    return v
  }
  const interfaces = list('interfaces').map((x, i) => {
    if (!isObject(x) || typeof x.name !== 'string') throw new CniRequestError('config', `invalid network configuration: prevResult.interfaces[${i}] needs a name`)
    const out: CniInterface = { name: x.name }
    if (typeof x.mac === 'string') out.mac = x.mac
    if (typeof x.mtu === 'number') out.mtu = x.mtu
    if (typeof x.sandbox === 'string') out.sandbox = x.sandbox
    if (typeof x.socketPath === 'string') out.socketPath = x.socketPath
    if (typeof x.pciID === 'string') out.pciID = x.pciID
    return out
  })
  const ips = list('ips').map((x, i) => {
    if (!isObject(x) || typeof x.address !== 'string') throw new CniRequestError('config', `invalid network configuration: prevResult.ips[${i}] needs an address`)
    const out: Omit<CniIpConfig, 'version'> = { address: x.address }
    if (typeof x.gateway === 'string') out.gateway = x.gateway
    if (typeof x.interface === 'number') out.interface = x.interface
    return out
  })
  const routes = list('routes').map((x, i) => {
    if (!isObject(x) || typeof x.dst !== 'string') throw new CniRequestError('config', `invalid network configuration: prevResult.routes[${i}] needs a dst`)
    const out: CniRoute = { dst: x.dst }
    if (typeof x.gw === 'string') out.gw = x.gw
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof x[k] === 'number') out[k] = x[k] as number
    return out
  })
  const dns = isObject(prev.dns) ? (prev.dns as CniDns) : {}
  return { interfaces, ips, routes, dns }
}

/** Appends this plugin's parts to a previous plugin's (interface indexes shifted). */
export function mergeParts(prev: ResultParts, mine: ResultParts): ResultParts {
  const shift = prev.interfaces.length
  return {
    interfaces: [...prev.interfaces, ...mine.interfaces],
    ips: [...prev.ips, ...mine.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + shift }))],
    routes: [...prev.routes, ...mine.routes],
    dns: Object.keys(mine.dns).length ? mine.dns : prev.dns,
  }
}
