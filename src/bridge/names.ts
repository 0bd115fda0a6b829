/**
 * Names podnet owns in the kernel, in one place:
 * - host-side veths: `pn` + 10 hex of sha256(owner, network, containerId, ifname) (12 bytes): two
 *   state directories (the CLI's and podnet-cni's) with a network of the same name never make
 *   (or delete, as a killed attach's leftover) each other's veths;
 * - ifb devices of bandwidth limits: `pnifb` + the same 10 hex as the attachment's host veth (15 bytes);
 * - default bridge: `pn-<network>` when that fits in 15 bytes, else `pn-` + 12 hex;
 * - bridge MAC: 02:xx:xx:xx:xx:xx from sha256(network) (locally administered, stable, so it
 *   does not follow port MACs and cause ARP churn);
 * - the nf_tables table `inet podnet`; rule and element comments `podnet o=<owner> net=<name> ...` (owner: the state directory's id).
 */
import { createHash } from 'node:crypto'

const hex = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex')

export const HOST_VETH_PREFIX = 'pn'
export const NFT_TABLE = 'podnet'

/** Deterministic host-side veth name for one attachment of the state directory `owner` (StateDir.owner). */
export function hostVethName(owner: string, network: string, containerId: string, ifname: string): string {
  return `${HOST_VETH_PREFIX}${hex(owner, network, containerId, ifname).slice(0, 10)}`
}

/** True for names podnet gives host-side veths. */
export const isHostVethName = (name: string): boolean => /^pn[0-9a-f]{10}$/.test(name)

export function defaultBridgeName(network: string): string {
  const plain = `pn-${network}`
  return Buffer.byteLength(plain) <= 15 ? plain : `pn-${hex(network).slice(0, 12)}`
}

export function bridgeMac(network: string): string {
  const h = hex('bridge-mac', network)
  return `02:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`
}

/** A stable MAC for a pod interface, derived from its owner (so restarts keep neighbours' ARP valid). */
export function podMac(network: string, containerId: string, ifname: string): string {
  const h = hex('pod-mac', network, containerId, ifname)
  return `02:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`
}

/** The ifb that shapes a pod's egress, named after the attachment's host veth (pn0123456789 -> pnifb0123456789). */
export function ifbNameForVeth(hostVeth: string): string {
  return `pnifb${isHostVethName(hostVeth) ? hostVeth.slice(2) : hex('ifb', hostVeth).slice(0, 10)}`
}

/** True for names podnet gives ifb devices. */
export const isIfbName = (name: string): boolean => /^pnifb[0-9a-f]{10}$/.test(name)
