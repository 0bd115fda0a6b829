/** A pod's names in its network's DNS, from its spec (the responder reads them from the attachment record). */
import { isDnsName } from '../net/dns-name.js'
import type { PodSpec } from './manifest.js'

/**
 * The pod's own name first (reverse lookups give it), then its hostname, HOSTNAME.SUBDOMAIN
 * (spec.subdomain), every container's name and the podnet.io/aliases names; duplicates once.
 * A pod name that is not a DNS name (it always is: manifest.ts validates DNS-1123) is skipped.
 */
export function podDnsNames(spec: Pick<PodSpec, 'name' | 'hostname' | 'subdomain' | 'aliases' | 'containers'>): string[] {
  const names = [spec.name, spec.hostname]
  if (spec.subdomain !== undefined) names.push(`${spec.hostname}.${spec.subdomain}`)
  for (const c of spec.containers) names.push(c.name)
  names.push(...(spec.aliases ?? []))
  return [...new Set(names.map((n) => n.toLowerCase()).filter(isDnsName))]
}
