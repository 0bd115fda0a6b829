/**
 * Traffic counters of a network's attachments (`podnet network inspect NAME --stats`): the
 * host end of each veth read with one RTM_GETLINK (no dump; its rx is what the pod sent), the
 * shapers' drops from their tbf qdiscs, and the packet and byte counters of each published
 * port's map element. Numbers are from the pod's point of view: tx = sent by the pod.
 */
import type { NetworkManager } from './network.js'
import type { Attachment } from './types.js'
import { ifbNameForVeth } from './names.js'
import { describePortElement } from './nat.js'

export interface ShaperStats {
  rateBitsPerSec: number
  /** Packets the token bucket dropped (queue full). */
  drops: number
  /** Times a packet had to wait for tokens. */
  overlimits: number
  /** Bytes waiting now. */
  backlogBytes: number
}

export interface PortStats {
  /** "tcp *:8080 -> 10.88.0.2:80". */
  port: string
  packets: number
  bytes: number
}

export interface AttachmentStats {
  id: string
  ifname: string
  hostVeth: string
  /** false when the host veth is gone (run network check). */
  present: boolean
  rxBytes: number
  txBytes: number
  rxPackets: number
  txPackets: number
  rxDropped: number
  txDropped: number
  /** Traffic into the pod (the host veth's tbf) and out of it (the ifb's tbf). */
  shaping?: { ingress?: ShaperStats; egress?: ShaperStats }
  priority?: number
  ports: PortStats[]
}

/** The counters of every attachment of a network. */
export async function networkStats(m: NetworkManager, network: string): Promise<AttachmentStats[]> {
  m.get(network)
  const atts = m.attachments(network)
  const elements = atts.some((a) => a.portElements?.length) ? await m.portMapEntries() : []
  return atts.map((a) => attachmentStats(m, a, elements))
}

function attachmentStats(m: NetworkManager, a: Attachment, elements: Awaited<ReturnType<NetworkManager['portMapEntries']>>): AttachmentStats {
  const c = m.rt.stats.findSync(a.hostVeth)
  const s = c?.stats
  const out: AttachmentStats = {
    id: a.id, ifname: a.ifname, hostVeth: a.hostVeth, present: c !== undefined,
    // the host end receives what the pod sends
    rxBytes: s?.txBytes ?? 0, txBytes: s?.rxBytes ?? 0, rxPackets: s?.txPackets ?? 0, txPackets: s?.rxPackets ?? 0,
    rxDropped: s?.txDropped ?? 0, txDropped: s?.rxDropped ?? 0,
    ports: [],
  }
  if (a.priority !== undefined) out.priority = a.priority
  if (a.bandwidth && c) {
    const shaper = (dev: string): ShaperStats | undefined => {
      const q = m.rt.qdisc.findSync({ dev })
      if (q?.kind !== 'tbf' || !q.tbf) return undefined
      return { rateBitsPerSec: q.tbf.rateBytesPerSec * 8, drops: q.stats?.drops ?? 0, overlimits: q.stats?.overlimits ?? 0, backlogBytes: q.stats?.backlog ?? 0 }
    }
    const shaping: NonNullable<AttachmentStats['shaping']> = {}
    const ingress = a.bandwidth.ingress ? shaper(a.hostVeth) : undefined
    const egress = a.bandwidth.egress && m.rt.link.findSync(ifbNameForVeth(a.hostVeth)) ? shaper(ifbNameForVeth(a.hostVeth)) : undefined
    if (ingress) shaping.ingress = ingress
    if (egress) shaping.egress = egress
    out.shaping = shaping
  }
  for (const e of a.portElements ?? []) {
    const k = JSON.stringify(e.key)
    const el = elements.find((x) => x.map === e.map && JSON.stringify(x.key) === k)
    out.ports.push({ port: el?.text ?? describePortElement(e), packets: Number(el?.packets ?? 0), bytes: Number(el?.bytes ?? 0) })
  }
  return out
}
