/**
 * Published ports: parsing and validating mappings, the families they apply to, and the host
 * port claims that make a port publishable only once (files created with O_EXCL under
 * <run>/ports/<proto>-<port>/<hostip or *>, so a conflict check reads one small directory).
 */
import { ExistsError, InvalidArgumentError } from '../errors.js'
import { parseIp } from '../net/ip.js'
import type { AllocatedAddress } from './ipam/index.js'
import type { StateDir } from './state.js'
import type { NetworkConfig, PortMapping } from './types.js'

/** Parses [HOSTIP:]HOSTPORT:PORT[/tcp|udp] (IPv6 host addresses in brackets: [fd00::1]:8080:80; TCP/UDP as manifests spell them too). */
export function parsePortMapping(text: string): PortMapping {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):(\d+)(?:\/(tcp|udp|TCP|UDP))?$/.exec(text)
  if (!m) throw new InvalidArgumentError('port mapping', `'${text}' is not [HOSTIP:]HOSTPORT:PORT[/tcp|udp]`)
  const mapping: PortMapping = { hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: (m[4]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' }
  if (m[1]) mapping.hostIp = m[1].replace(/^\[|\]$/g, '')
  validatePortMapping(mapping)
  return normalizePortMapping(mapping)
}

/**
 * The mapping as podnet keeps it: a host address of 0.0.0.0 or :: (what Kubernetes, Docker and
 * CNI runtimes write for "every address") becomes no host address, which publishes the port on
 * every address of the host.
 */
export function normalizePortMapping(m: PortMapping): PortMapping {
  if (m.hostIp === undefined || parseIp(m.hostIp, 'port mapping host address').value !== 0n) return m
  const { hostIp: _any, ...rest } = m
  return rest
}

export function validatePortMapping(m: PortMapping): void {
  for (const [k, v] of [['host port', m.hostPort], ['container port', m.containerPort]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new InvalidArgumentError('port mapping', `${k} ${v} is out of range (1-65535)`)
  }
  if (m.protocol !== 'tcp' && m.protocol !== 'udp') throw new InvalidArgumentError('port mapping', `protocol '${String(m.protocol)}' is not tcp or udp`)
  if (m.hostIp !== undefined) parseIp(m.hostIp, 'port mapping host address')
}

/** The family of a mapping's host address, or undefined for a mapping on every address. */
export const mappingFamily = (m: PortMapping): 4 | 6 | undefined => (m.hostIp === undefined ? undefined : m.hostIp.includes(':') ? 6 : 4)

/** Refuses mappings a network cannot publish: any on an internal network, a host address of a family it lacks, a port given twice. */
export function checkMappingsFit(config: NetworkConfig, mappings: readonly PortMapping[]): void {
  if (config.internal && mappings.length) {
    throw new InvalidArgumentError('port mapping', `network '${config.name}' is internal (no way in or out): it cannot publish ports`)
  }
  for (const m of mappings) {
    const fam = mappingFamily(m)
    if (fam !== undefined && !config.subnets.some((s) => s.family === fam)) {
      throw new InvalidArgumentError('port mapping', `host address ${m.hostIp} is IPv${fam} but network '${config.name}' has no IPv${fam} subnet`)
    }
  }
  const seen = new Set<string>()
  for (const m of mappings) {
    const k = `${m.protocol}/${m.hostPort}/${m.hostIp ?? '*'}`
    if (seen.has(k)) throw new InvalidArgumentError('port mapping', `host port ${m.hostPort}/${m.protocol} is given twice`)
    seen.add(k)
  }
}

/** Pod addresses a mapping forwards to: the one of the host address's family, or every family. */
export function mappingTargets(m: PortMapping, addrs: readonly AllocatedAddress[]): AllocatedAddress[] {
  const fam = mappingFamily(m)
  return fam === undefined ? [...addrs] : addrs.filter((a) => a.family === fam)
}

/** Who holds a host port claim. */
export interface PortClaimOwner {
  network: string
  id: string
  ifname: string
  mapping: PortMapping
}

const portDir = (m: PortMapping): string => `${m.protocol}-${m.hostPort}`
/** A claim's path under the ports directory: '<proto>-<port>/<hostip or *>'. */
export const portClaimFile = (m: PortMapping): string => `${portDir(m)}/${m.hostIp ?? '*'}`

/** Host port claims of one run directory. Callers hold the state lock. */
export class PortClaims {
  private readonly state: StateDir

  constructor(state: StateDir) {
    this.state = state
  }

  /**
   * Claims a host port for an owner, atomically: a wildcard claim conflicts with every address
   * of the port, a specific one with itself and the wildcard. ExistsError names the holder.
   */
  claim(owner: PortClaimOwner): void {
    const m = owner.mapping
    const dir = `${this.state.portsDir()}/${portDir(m)}`
    this.state.removeTempFiles(dir)
    const conflicts = this.state.list(dir).filter((host) => host === '*' || m.hostIp === undefined || host === m.hostIp)
    if (conflicts.length || !this.state.createExclusive(`${this.state.portsDir()}/${portClaimFile(m)}`, owner)) {
      const holder = this.state.readJson<PortClaimOwner>(`${dir}/${conflicts[0] ?? (m.hostIp ?? '*')}`)
      throw new ExistsError('host port', `${m.hostIp ? `${m.hostIp}:` : ''}${m.hostPort}/${m.protocol}`,
        holder ? `(published by ${holder.id}/${holder.ifname} on network '${holder.network}')` : '')
    }
  }

  /** True when the claim of this mapping's port is held by exactly this owner (network, id, ifname). */
  heldBy(m: PortMapping, owner: { network: string; id: string; ifname: string }): boolean {
    let holder: PortClaimOwner | undefined
    try {
      holder = this.state.readJson<PortClaimOwner>(`${this.state.portsDir()}/${portClaimFile(m)}`)
    } catch {
      return false
    }
    return holder !== undefined && holder.network === owner.network && holder.id === owner.id && holder.ifname === owner.ifname
  }

  release(m: PortMapping): void {
    this.state.remove(`${this.state.portsDir()}/${portClaimFile(m)}`)
    this.state.removeTempFiles(`${this.state.portsDir()}/${portDir(m)}`)
  }

  /** Every claim: its file ('<proto>-<port>/<host>') and owner (undefined when unreadable). */
  list(): Array<{ file: string; owner: PortClaimOwner | undefined }> {
    const out: Array<{ file: string; owner: PortClaimOwner | undefined }> = []
    for (const d of this.state.list(this.state.portsDir())) {
      for (const f of this.state.list(`${this.state.portsDir()}/${d}`)) {
        let owner: PortClaimOwner | undefined
        try {
          owner = this.state.readJson<PortClaimOwner>(`${this.state.portsDir()}/${d}/${f}`)
        } catch {
          owner = undefined
        }
        out.push({ file: `${d}/${f}`, owner })
      }
    }
    return out
  }

  removeFile(file: string): void {
    this.state.remove(`${this.state.portsDir()}/${file}`)
  }
}
