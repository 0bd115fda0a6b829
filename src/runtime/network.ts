/**
 * The runtime's view of pod networking: attach a pinned network namespace to a named network
 * with published ports, detach it. BridgePodNetwork serves it with podnet's bridge networks.
 */
import { AddressInUseError, InvalidArgumentError, NotFoundError } from '../errors.js'
import { NetworkManager, type BandwidthLimits, type PortMapping } from '../bridge/index.js'

export interface PodAttachRequest {
  network: string
  /** Path of the pinned network namespace. */
  netns: string
  /** Owner id of the attachment (the pod name). */
  id: string
  portMappings: PortMapping[]
  /** The named namespace that plays the host (default: the caller's). */
  hostNetns?: string
  /** Addresses (without prefix) to take again when they are free (a pod restored after a reboot); others are chosen when not. */
  ips?: string[]
  /** Rate limits into and out of the pod. */
  bandwidth?: BandwidthLimits
  /** Traffic priority 0-7. */
  priority?: number
}

/** New network limits for an attached pod (absent fields: none). */
export interface PodLimitsRequest {
  network: string
  id: string
  hostNetns?: string
  bandwidth?: BandwidthLimits
  priority?: number
}

export interface PodNetwork {
  /** Attaches; returns the pod's addresses (CIDR). */
  attach(req: PodAttachRequest): Promise<string[]>
  /** Detaches; succeeds when already detached. */
  detach(req: { network: string; id: string; hostNetns?: string }): Promise<void>
  /** Changes an attached pod's bandwidth limits and priority in place (pod update). */
  setLimits?(req: PodLimitsRequest): Promise<void>
  close(): void
}

/** PodNetwork over bridge networks (one NetworkManager per host namespace). */
export class BridgePodNetwork implements PodNetwork {
  private readonly dirs: { stateDir?: string; runDir?: string; bootId?: string }
  private readonly managers = new Map<string, NetworkManager>()

  /** The directories as NetworkManager takes them (undefined: its defaults, as `podnet network` uses), and the boot (default the kernel's). */
  constructor(dirs: { stateDir?: string; runDir?: string; bootId?: string } = {}) {
    this.dirs = dirs
  }

  private manager(hostNetns: string | undefined): NetworkManager {
    const key = hostNetns ?? ''
    let m = this.managers.get(key)
    if (!m) {
      m = new NetworkManager({ ...this.dirs, ...(hostNetns !== undefined && { hostNetns }) })
      this.managers.set(key, m)
    }
    return m
  }

  async attach(req: PodAttachRequest): Promise<string[]> {
    const m = this.manager(req.hostNetns)
    try {
      m.getForAttach(req.network)
    } catch (err) {
      // the bridge layer's message says how to make it (or, for an overlay, why it is not here)
      if (err instanceof NotFoundError) throw new InvalidArgumentError('metadata.annotations[podnet.io/network]', err.message)
      throw err
    }
    const spec = {
      network: req.network, netns: req.netns, id: req.id, ifname: 'eth0', portMappings: req.portMappings,
      ...(req.bandwidth && { bandwidth: req.bandwidth }), ...(req.priority !== undefined && { priority: req.priority }),
    }
    if (req.ips?.length) {
      try {
        return (await m.attach({ ...spec, ips: req.ips })).addresses.map((x) => x.address)
      } catch (err) {
        // taken by another pod meanwhile, or no longer in the network's subnets: any free address
        if (!(err instanceof AddressInUseError) && !(err instanceof InvalidArgumentError && err.field === 'ip')) throw err
      }
    }
    return (await m.attach(spec)).addresses.map((x) => x.address)
  }

  async detach(req: { network: string; id: string; hostNetns?: string }): Promise<void> {
    try {
      await this.manager(req.hostNetns).detach({ network: req.network, id: req.id, ifname: 'eth0' })
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err // the network itself is gone: nothing to detach
    }
  }

  async setLimits(req: PodLimitsRequest): Promise<void> {
    const m = this.manager(req.hostNetns)
    await m.setBandwidth(req.network, req.id, 'eth0', req.bandwidth)
    await m.setPriority(req.network, req.id, 'eth0', req.priority)
  }

  close(): void {
    for (const m of this.managers.values()) m.close()
    this.managers.clear()
  }
}

