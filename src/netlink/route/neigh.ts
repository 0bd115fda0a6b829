/** Neighbours (ARP / NDP entries). */
import { AF_INET, AF_INET6, AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, MessageSchema } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import * as N from './constants/neighbour.js'
import { RTM_GETNEIGH, RTM_NEWNEIGH } from './constants/rtnetlink.js'
import type { LinkApi } from './link.js'
import { ndmsg, neighAttrs } from './schema/neigh.js'

export interface Neighbour {
  family: number
  index: number
  dst?: string
  lladdr?: string
  /** NUD_* state bits. */
  state: number
  flags: number
  attrs: AttrValues
}

const GETNEIGH: MessageSchema = { name: 'RTM_GETNEIGH', header: ndmsg, attrs: neighAttrs }

export const NUD_NAMES: Array<[number, string]> = [
  [N.NUD_INCOMPLETE, 'INCOMPLETE'], [N.NUD_REACHABLE, 'REACHABLE'], [N.NUD_STALE, 'STALE'], [N.NUD_DELAY, 'DELAY'],
  [N.NUD_PROBE, 'PROBE'], [N.NUD_FAILED, 'FAILED'], [N.NUD_NOARP, 'NOARP'], [N.NUD_PERMANENT, 'PERMANENT'],
]

export function decodeNeighbour(m: NlMessage): Neighbour {
  const { header, attrs } = decodeMessageBody(GETNEIGH, m.buf, m.off, m.end)
  const n: Neighbour = { family: Number(header.family), index: Number(header.ifindex), state: Number(header.state), flags: Number(header.flags), attrs }
  if (attrs.dst !== undefined) n.dst = String(attrs.dst)
  if (attrs.lladdr !== undefined) n.lladdr = String(attrs.lladdr)
  return n
}

export class NeighApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  /** Equivalent to: `ip neigh show [dev DEV]` (`-4`/`-6` with family); the device filter runs in the kernel. */
  async list(filter: { dev?: string | number; family?: 4 | 6 } = {}): Promise<Neighbour[]> {
    const index = filter.dev === undefined ? undefined : this.links.resolveSync(filter.dev)
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC
    const attrs: AttrValues = index !== undefined && this.sock.strictCheck ? { ifindex: index } : {}
    const out = this.sock.dumpSync(
      { type: RTM_GETNEIGH, flags: 0, body: (w) => encodeMessageBody(GETNEIGH, { family }, attrs, w), schema: GETNEIGH, object: 'neighbours' },
      (m) => (m.type === RTM_NEWNEIGH ? decodeNeighbour(m) : undefined),
    )
    return out.filter((n) => (index === undefined || n.index === index) && (family === AF_UNSPEC ? n.family === AF_INET || n.family === AF_INET6 : true))
  }
}
