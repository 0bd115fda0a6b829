/**
 * Neighbours: ARP / NDP entries (AF_INET, AF_INET6) and bridge forwarding database entries
 * (AF_BRIDGE: `bridge fdb`), which a VXLAN device uses to map a MAC to a remote tunnel endpoint.
 */
import { InvalidArgumentError, NotFoundError, isErrno } from '../../errors.js'
import { AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, MessageSchema, StructValues } from '../core/schema.js'
import { decodeMessageBody, encodeMessageBody } from '../core/schema.js'
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../core/header.js'
import type { NetlinkSocket, NlMessage } from '../core/socket.js'
import * as N from './constants/neighbour.js'
import { RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from './constants/rtnetlink.js'
import type { LinkApi } from './link.js'
import { ndmsg, neighAttrs } from './schema/neigh.js'
import { formatIp, parseIp } from '../../net/ip.js'
import { validateMac } from '../../net/mac.js'

export interface Neighbour {
  family: number
  index: number
  dst?: string
  lladdr?: string
  /** NUD_* state bits. */
  state: number
  /** NTF_* flags (NTF_SELF: an entry of the device itself, NTF_MASTER: of its bridge). */
  flags: number
  attrs: AttrValues
}

export type NudState = 'permanent' | 'noarp' | 'reachable' | 'stale'

/**
 * A neighbour to add, replace or delete. Two kinds:
 *  - `family` 4/6 (or undefined with an IP `dst`): an ARP/NDP entry, IP `dst` -> MAC `lladdr`
 *    (`ip neigh`);
 *  - `family: 'bridge'`: an FDB entry, MAC `lladdr` -> (for a VXLAN device) the remote tunnel
 *    endpoint `dst` (`bridge fdb`). `self` puts it in the device's own table (a VXLAN FDB),
 *    `master` in its bridge's.
 */
export interface NeighSpec {
  dev: string | number
  dst?: string
  lladdr?: string
  family?: 4 | 6 | 'bridge'
  /** Default 'permanent'. */
  state?: NudState
  self?: boolean
  master?: boolean
}

const NUD: Record<NudState, number> = { permanent: N.NUD_PERMANENT, noarp: N.NUD_NOARP, reachable: N.NUD_REACHABLE, stale: N.NUD_STALE }

const NEWNEIGH: MessageSchema = { name: 'RTM_NEWNEIGH', header: ndmsg, attrs: neighAttrs }
const DELNEIGH: MessageSchema = { name: 'RTM_DELNEIGH', header: ndmsg, attrs: neighAttrs }
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

/**
 * The RTM_NEWNEIGH / RTM_DELNEIGH body for `spec` on link `ifindex`. Pure; header values and
 * attribute order follow iproute2 so the bytes match `ip neigh replace` / `bridge fdb append`
 * (test/fixtures/netlink): an FDB entry carries NDA_LLADDR then NDA_DST and the state
 * NUD_NOARP|NUD_PERMANENT (bridge(8) starts from NUD_NOARP), an IP neighbour NDA_DST then
 * NDA_LLADDR.
 */
export function neighRequest(spec: NeighSpec, ifindex: number, forDelete = false): { header: StructValues; attrs: AttrValues } {
  const attrs: AttrValues = {}
  if (spec.family === 'bridge') {
    if (spec.lladdr === undefined) throw new InvalidArgumentError('lladdr', 'an FDB entry needs a MAC address')
    validateMac(spec.lladdr, 'lladdr')
    let state = N.NUD_NOARP | NUD[spec.state ?? 'permanent']
    if (spec.state === 'noarp') state = N.NUD_NOARP
    let flags = 0
    if (spec.self) flags |= N.NTF_SELF
    if (spec.master) flags |= N.NTF_MASTER
    attrs.lladdr = spec.lladdr
    if (spec.dst !== undefined) attrs.dst = canonicalIp(spec.dst)
    return { header: { family: AF_BRIDGE, ifindex, state, flags }, attrs }
  }
  if (spec.dst === undefined) throw new InvalidArgumentError('dst', 'a neighbour needs an IP address')
  const dst = parseIp(spec.dst, 'dst')
  if (spec.family !== undefined && spec.family !== dst.family) throw new InvalidArgumentError('dst', `${spec.dst} is not IPv${spec.family}`)
  attrs.dst = formatIp(dst.family, dst.value)
  if (spec.lladdr !== undefined && !forDelete) {
    validateMac(spec.lladdr, 'lladdr')
    attrs.lladdr = spec.lladdr
  }
  return { header: { family: dst.family === 4 ? AF_INET : AF_INET6, ifindex, state: NUD[spec.state ?? 'permanent'], flags: 0 }, attrs }
}

const describe = (spec: NeighSpec): string =>
  spec.family === 'bridge' ? `fdb entry ${spec.lladdr ?? ''}${spec.dst ? ` dst ${spec.dst}` : ''} dev ${spec.dev}` : `neighbour ${spec.dst ?? ''} dev ${spec.dev}`

export class NeighApi {
  private readonly sock: NetlinkSocket
  private readonly links: LinkApi

  constructor(sock: NetlinkSocket, links: LinkApi) {
    this.sock = sock
    this.links = links
  }

  private send(type: number, flags: number, spec: NeighSpec, forDelete: boolean): void {
    neighRequest(spec, 0, forDelete) // validate before any lookup
    const { header, attrs } = neighRequest(spec, this.links.resolveSync(spec.dev), forDelete)
    const schema = type === RTM_DELNEIGH ? DELNEIGH : NEWNEIGH
    this.sock.requestSync({ type, flags, body: (w) => encodeMessageBody(schema, header, attrs, w), schema, object: describe(spec) })
  }

  /** Equivalent to: `ip neigh add ADDR lladdr MAC dev DEV nud permanent` / `bridge fdb add MAC dev DEV dst IP self permanent`. */
  async add(spec: NeighSpec): Promise<void> {
    this.send(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, spec, false)
  }

  /** Creates or replaces. Equivalent to: `ip neigh replace ADDR lladdr MAC dev DEV nud permanent` / `bridge fdb replace ...`. */
  async replace(spec: NeighSpec): Promise<void> {
    this.replaceSync(spec)
  }

  replaceSync(spec: NeighSpec): void {
    this.send(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec, false)
  }

  /**
   * Adds an FDB entry beside the existing ones for the same MAC (a VXLAN device may flood one
   * MAC to several endpoints; an entry that exists already is fine).
   * Equivalent to: `bridge fdb append MAC dev DEV dst IP self permanent`.
   */
  async append(spec: NeighSpec): Promise<void> {
    this.appendSync(spec)
  }

  appendSync(spec: NeighSpec): void {
    this.send(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, spec, false)
  }

  /**
   * Equivalent to: `ip neigh del ADDR dev DEV` / `bridge fdb del MAC dev DEV dst IP self`.
   * Throws NotFoundError when there is no such entry.
   */
  async del(spec: NeighSpec): Promise<void> {
    this.delSync(spec)
  }

  delSync(spec: NeighSpec): void {
    try {
      this.send(RTM_DELNEIGH, 0, spec, true)
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) throw new NotFoundError(spec.family === 'bridge' ? 'fdb entry' : 'neighbour', String(spec.family === 'bridge' ? spec.lladdr : spec.dst), `on ${spec.dev}`, { cause: err })
      throw err
    }
  }

  /**
   * Equivalent to: `ip neigh show [dev DEV]` (`-4`/`-6` with family) or, with family 'bridge',
   * `bridge fdb show [dev DEV]`; the device filter runs in the kernel.
   */
  async list(filter: { dev?: string | number; family?: 4 | 6 | 'bridge' } = {}): Promise<Neighbour[]> {
    return this.listSync(filter)
  }

  listSync(filter: { dev?: string | number; family?: 4 | 6 | 'bridge' } = {}): Neighbour[] {
    const index = filter.dev === undefined ? undefined : this.links.resolveSync(filter.dev)
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : filter.family === 'bridge' ? AF_BRIDGE : AF_UNSPEC
    const attrs: AttrValues = index !== undefined && this.sock.strictCheck && family !== AF_BRIDGE ? { ifindex: index } : {}
    const header: StructValues = family === AF_BRIDGE && index !== undefined && this.sock.strictCheck ? { family, ifindex: index } : { family }
    const out = this.sock.dumpSync(
      { type: RTM_GETNEIGH, flags: 0, body: (w) => encodeMessageBody(GETNEIGH, header, attrs, w), schema: GETNEIGH, object: filter.family === 'bridge' ? 'fdb entries' : 'neighbours' },
      (m) => (m.type === RTM_NEWNEIGH ? decodeNeighbour(m) : undefined),
    )
    return out.filter((n) => (index === undefined || n.index === index) && (family === AF_UNSPEC ? n.family === AF_INET || n.family === AF_INET6 : n.family === family))
  }
}

/** An address in its canonical text (validated), as the attribute encoder takes it. */
function canonicalIp(text: string): string {
  const ip = parseIp(text, 'dst')
  return formatIp(ip.family, ip.value)
}
