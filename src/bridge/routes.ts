/** Routes inside a pod: validated against the network, defaulting to one default route per address family. */
import { InvalidArgumentError } from '../errors.js'
import { parseCidr, parseIp } from '../net/ip.js'
import type { AllocatedAddress } from './ipam/index.js'
import type { NetworkConfig, PodRoute } from './types.js'

/** A pod route's destination must be a CIDR of a family the network has; its gateway an address of that family. */
export function validatePodRoute(config: NetworkConfig, r: PodRoute): void {
  const dst = parseCidr(r.dst, 'route destination')
  if (!config.subnets.some((s) => s.family === dst.family)) {
    throw new InvalidArgumentError('route', `${r.dst} is IPv${dst.family} but network '${config.name}' has no IPv${dst.family} subnet`)
  }
  if (r.gw !== undefined && parseIp(r.gw, 'route gateway').family !== dst.family) {
    throw new InvalidArgumentError('route', `gateway ${r.gw} is not of the family of ${r.dst}`)
  }
}

/** The routes to add in the pod: the requested ones (gw defaulting to the family's gateway), or a default route per address. */
export function podRoutes(requested: readonly PodRoute[] | undefined, addrs: readonly AllocatedAddress[]): PodRoute[] {
  if (requested === undefined) return addrs.map((a) => ({ dst: a.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }))
  return requested.map((r) => {
    if (r.gw !== undefined) return { dst: r.dst, gw: r.gw }
    const a = addrs.find((x) => x.family === (r.dst.includes(':') ? 6 : 4))
    return a ? { dst: r.dst, gw: a.gateway } : { dst: r.dst }
  })
}
