/** What a pod of a network with DNS is told: its nameserver and search domain (resolv.conf, a CNI result's `dns`). Pure. */
import type { NetworkConfig } from '../bridge/types.js'

export interface PodDnsConfig {
  /** The network's gateway addresses (IPv4 first): where the responder listens. */
  nameservers: string[]
  /** The network's name first: `web` finds `web.NETWORK`. */
  search: string[]
}

/** The DNS settings for pods of `config`; undefined when the network has DNS off. */
export function podDnsConfig(config: Pick<NetworkConfig, 'name' | 'dns' | 'subnets'>): PodDnsConfig | undefined {
  if (!config.dns) return undefined
  const gws = [...config.subnets].sort((a, b) => a.family - b.family).map((s) => s.gateway)
  return { nameservers: gws, search: [config.name.toLowerCase()] }
}
