/**
 * The runtime's view of pod networking: attach a pinned network namespace to a named network
 * with published ports, detach it. BridgePodNetwork serves it with podnet's bridge networks.
 */
import { AddressInUseError, InvalidArgumentError, NotFoundError } from '../errors.js'
import { NetworkManager, type BandwidthLimits, type PortMapping } from '../bridge/index.js'
import { podDnsConfig, type PodDnsConfig } from '../dns/config.js'
import { ensureDnsResponder } from '../dns/service.js'

export interface PodAttachRequest {
  network: string
  /** Path of the pinned network namespace. */
  netns: string
  /** Owner id of the attachment (the pod name). */
  id: string
  portMappings: PortMapping[]
  /** The named namespace that plays the host (default: the caller's). */
  hostNetns?: string
  /** The pod's names in the network's DNS (runtime/dns-names.ts). */
  dnsNames?: string[]
  /** Addresses (without prefix) to take again when they are free (a pod restored after a reboot); others are chosen when not. */
  ips?: string[]
  /** Take the addresses reserved under this key (PodSpec.addressReservation); none reserved: as without it, `ips` included. */
  reservation?: string
  /** Rate limits into and out of the pod. */
  bandwidth?: BandwidthLimits
  /** Traffic priority 0-7. */
  priority?: number
}

export interface PodDetachRequest {
  network: string
  id: string
  hostNetns?: string
  /** Keep the addresses reserved under this key (PodSpec.addressReservation) instead of freeing them. */
  reserveAs?: string
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
  /** Detaches; succeeds when already detached. `reserveAs`: the addresses are kept under this key instead of freed. */
  detach(req: PodDetachRequest): Promise<void>
  /** Frees the addresses reserved under keys starting with `keyPrefix`, on every network; returns how many. */
  releaseReservations?(keyPrefix: string): Promise<number>
  /** The nameserver and search domain pods of the network use; undefined: the host's (no DNS on the network). */
  dns?(req: { network: string; hostNetns?: string }): PodDnsConfig | undefined
  /** Changes an attached pod's bandwidth limits and priority in place (pod update). */
  setLimits?(req: PodLimitsRequest): Promise<void>
  close(): void
}

/** How often a runtime with pods on DNS networks checks that the responder runs (and restarts it). */
export const DNS_WATCHDOG_MS = 2000

/** PodNetwork over bridge networks (one NetworkManager per host namespace). */
export class BridgePodNetwork implements PodNetwork {
  private readonly dirs: { stateDir?: string; runDir?: string; bootId?: string }
  private readonly managers = new Map<string, NetworkManager>()
  /** Networks with DNS this runtime attached pods to, by host namespace key: the watchdog keeps their responder up. */
  private readonly dnsNetworks = new Map<string, { network: string; hostNetns: string | undefined }>()
  private watchdog: NodeJS.Timeout | undefined
  private checking = false

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
      ...(req.dnsNames?.length && { dnsNames: req.dnsNames }), ...(req.reservation !== undefined && { reservation: req.reservation }),
    }
    let a: Awaited<ReturnType<NetworkManager['attach']>> | undefined
    if (req.ips?.length) {
      try {
        a = await m.attach({ ...spec, ips: req.ips })
      } catch (err) {
        // taken by another pod (or reservation) meanwhile, or no longer in the network's subnets: any free address
        if (!(err instanceof AddressInUseError) && !(err instanceof InvalidArgumentError && err.field === 'ip')) throw err
      }
    }
    a ??= await m.attach(spec)
    if (m.get(req.network).dns) {
      this.dnsNetworks.set(`${req.hostNetns ?? ''}\0${req.network}`, { network: req.network, hostNetns: req.hostNetns })
      // the pod's first question may come at once: wait until the responder serves the network
      await ensureDnsResponder(this.dirsOf(m), { network: req.network, timeoutMs: 5000, bootId: m.state.boot() }).catch(() => undefined)
      this.watchdog ??= setInterval(() => this.keepDnsUp(), DNS_WATCHDOG_MS).unref()
    }
    return a.addresses.map((x) => x.address)
  }

  dns(req: { network: string; hostNetns?: string }): PodDnsConfig | undefined {
    try {
      return podDnsConfig(this.manager(req.hostNetns).get(req.network))
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
  }

  private dirsOf(m: NetworkManager): { stateDir: string; runDir: string } {
    return { stateDir: m.state.root, runDir: m.state.run }
  }

  /**
   * The watchdog: while pods of this runtime sit on a network with DNS, its responder must run.
   * A responder that died (kill -9, a crash) is started again here within DNS_WATCHDOG_MS; it
   * rebuilds everything from the records. Networks whose pods are all gone are dropped.
   */
  private keepDnsUp(): void {
    if (this.checking) return
    const checks: Array<Promise<unknown>> = []
    for (const [key, n] of this.dnsNetworks) {
      const m = this.manager(n.hostNetns)
      let config
      try {
        config = m.get(n.network)
      } catch {
        this.dnsNetworks.delete(key)
        continue
      }
      if (!config.dns || !m.attachments(n.network).length) {
        this.dnsNetworks.delete(key)
        continue
      }
      checks.push(ensureDnsResponder(this.dirsOf(m), { network: n.network, timeoutMs: 5000, bootId: m.state.boot() }).catch(() => undefined))
    }
    if (checks.length) {
      this.checking = true
      void Promise.all(checks).finally(() => { this.checking = false })
    }
    if (!this.dnsNetworks.size && this.watchdog) {
      clearInterval(this.watchdog)
      this.watchdog = undefined
    }
  }

  async detach(req: PodDetachRequest): Promise<void> {
    try {
      await this.manager(req.hostNetns).detach({ network: req.network, id: req.id, ifname: 'eth0', ...(req.reserveAs !== undefined && { reserveAs: req.reserveAs }) })
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err // the network itself is gone: nothing to detach
    }
  }

  async releaseReservations(keyPrefix: string): Promise<number> {
    // IPAM lives in the run dir, whatever namespace plays the host: one manager sees every network
    return (await this.manager(undefined).releaseReservations(keyPrefix)).length
  }

  async setLimits(req: PodLimitsRequest): Promise<void> {
    const m = this.manager(req.hostNetns)
    await m.setBandwidth(req.network, req.id, 'eth0', req.bandwidth)
    await m.setPriority(req.network, req.id, 'eth0', req.priority)
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog)
    this.watchdog = undefined
    for (const m of this.managers.values()) m.close()
    this.managers.clear()
  }
}

