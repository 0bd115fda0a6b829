/**
 * Links: veth, bridge, vxlan, macvlan, ifb. LinkSpec → RTM_NEWLINK, RTM_NEWLINK → Link.
 * Every method names the equivalent iproute2 command.
 */
import { ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, PodnetError, isErrno } from '../../errors.js'
import type { NetnsRef } from '../../netns/netns.js'
import { validateIfname } from '../../net/names.js'
import { AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, StructValues } from '../core/schema.js'
import { encodeMessageBody } from '../core/schema.js'
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../core/header.js'
import type { NetlinkSocket } from '../core/socket.js'
import * as IF from './constants/if.js'
import { RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK } from './constants/rtnetlink.js'
import { DELLINK, GETLINK, NEWLINK, decodeLink } from './link-decode.js'
import { linkAddRequest, linkSetRequests } from './link-request.js'
import { linkJson, namesOf, withJson } from './json.js'
import type { Link, LinkChange, LinkListFilter, LinkSpec, VethPeerSpec } from './link-types.js'

export type * from './link-types.js'
export { decodeLink, linkFlagNames, linkFromValues } from './link-decode.js'
export { ipv4ConfBytes, linkAddRequest, linkSetRequests } from './link-request.js'

/** EXFULL from enslaving: the bridge has all the ports the kernel allows (BR_MAX_PORTS - 1 = 1023). */
function bridgeFull(master: string | number, cause: unknown): PodnetError {
  return new PodnetError(`bridge '${master}' already has 1023 ports, the kernel's limit (BR_MAX_PORTS): ${(cause as Error).message}`, { cause })
}

const nsName = (ns?: NetnsRef): string => (ns ? (ns.name ? `in netns '${ns.name}'` : 'in the target netns') : '')

export class LinkApi {
  private readonly sock: NetlinkSocket
  /** Opens a socket in another namespace, for reading back the peer side of a veth. */
  private readonly openPeerSocket: (ns: NetnsRef) => NetlinkSocket
  readonly where: string

  constructor(sock: NetlinkSocket, where: string, openPeerSocket: (ns: NetnsRef) => NetlinkSocket) {
    this.sock = sock
    this.where = where
    this.openPeerSocket = openPeerSocket
  }

  /**
   * Creates a link. Returns it as the kernel reports it (NLM_F_ECHO), or undefined when it was
   * created in another namespace.
   *
   * Equivalent to: `ip link add NAME [mtu N] [address MAC] [netns NS] type veth peer name PEER [netns NS2]`
   * (or `type bridge`, `type vxlan id N`, `link PARENT type macvlan mode M`, `type ifb`).
   */
  async add(spec: LinkSpec): Promise<Link | undefined> {
    return this.addSync(spec)
  }

  addSync(spec: LinkSpec): Link | undefined {
    const { header, attrs } = linkAddRequest(
      spec,
      spec.kind === 'macvlan' ? this.resolveSync(spec.parent) : undefined,
      // a name is looked up and must be a bridge; an ifindex is the caller's (the kernel refuses a non-master)
      spec.master === undefined ? undefined : typeof spec.master === 'number' ? spec.master : this.bridgeIndexSync(spec.master),
    )
    const echo = !spec.netns
    try {
      const replies = this.sock.requestSync(
        {
          type: RTM_NEWLINK,
          flags: NLM_F_CREATE | NLM_F_EXCL | (echo ? NLM_F_ECHO : 0),
          body: (w) => encodeMessageBody(NEWLINK, header, attrs, w),
          schema: NEWLINK,
          object: `${spec.kind} '${spec.name}'`,
        },
        (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
      )
      if (spec.kind === 'veth' && spec.peer.up) this.peerUp(spec.peer)
      const link = replies[0] ?? (echo ? this.getSync(spec.name) : undefined)
      // the kernel ignores IFLA_IFALIAS in a create (only do_setlink reads it): a second request
      if (spec.alias !== undefined && link) {
        this.setSync(link.index, { alias: spec.alias })
        link.alias = spec.alias
      }
      return link
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw this.whichSideExists(spec, err)
      if (isErrno(err, 'EXFULL') && spec.master !== undefined) throw bridgeFull(spec.master, err)
      if (isErrno(err, 'EOPNOTSUPP') && err instanceof NetlinkError && /Unknown device type/i.test(err.extAck.message ?? '')) {
        throw new InvalidArgumentError('type', `this kernel has no '${spec.kind}' link type`)
      }
      throw err
    }
  }

  private peerUp(peer: VethPeerSpec): void {
    if (!peer.netns) {
      this.setSync(peer.name, { up: true })
      return
    }
    const s = this.openPeerSocket(peer.netns)
    try {
      const l = getByName(s, peer.name)
      if (!l) throw new NotFoundError('link', peer.name, nsName(peer.netns))
      s.requestSync({
        type: RTM_NEWLINK, flags: 0,
        body: (w) => encodeMessageBody(NEWLINK, { family: AF_UNSPEC, index: l.index, flags: IF.IFF_UP, change: IF.IFF_UP }, {}, w),
        schema: NEWLINK, object: `link '${peer.name}' ${nsName(peer.netns)}`,
      })
    } finally {
      s.close()
    }
  }

  /** The ifindex of a bridge; InvalidArgumentError when the link is not a bridge. */
  bridgeIndexSync(nameOrIndex: string | number): number {
    const br = this.getSync(nameOrIndex)
    if (br.kind !== 'bridge') throw new InvalidArgumentError('master', `'${br.name}' is ${br.kind ? `a ${br.kind}` : 'not a bridge'}; a master must be a bridge`)
    return br.index
  }

  /** After EEXIST on create, say which name collided (for a veth: this end or the peer, and where). */
  private whichSideExists(spec: LinkSpec, cause: unknown): Error {
    const here = spec.netns ? undefined : this.findSync(spec.name)
    if (spec.kind === 'veth') {
      if (here) return new ExistsError('link', spec.name, `${this.where} (the first end of the veth pair)`, { cause })
      const peerNs = spec.peer.netns
      let peerExists = false
      if (peerNs) {
        const s = this.openPeerSocket(peerNs)
        try { peerExists = getByName(s, spec.peer.name) !== undefined } finally { s.close() }
      } else {
        peerExists = this.findSync(spec.peer.name) !== undefined
      }
      if (peerExists) return new ExistsError('link', spec.peer.name, `${peerNs ? nsName(peerNs) : this.where} (the peer end of the veth pair)`, { cause })
      return new ExistsError('link', spec.name, `${nsName(spec.netns) || this.where}`, { cause })
    }
    return new ExistsError('link', spec.name, nsName(spec.netns) || this.where, { cause })
  }

  /** Equivalent to: `ip link show NAME` (one RTM_GETLINK, no dump). Throws NotFoundError. */
  async get(nameOrIndex: string | number): Promise<Link> {
    return this.getSync(nameOrIndex)
  }

  getSync(nameOrIndex: string | number): Link {
    const l = this.findSync(nameOrIndex)
    if (!l) throw new NotFoundError('link', String(nameOrIndex), this.where)
    return l
  }

  /** Like get() but returns undefined when the link does not exist. */
  findSync(nameOrIndex: string | number): Link | undefined {
    return typeof nameOrIndex === 'number' ? getByIndex(this.sock, nameOrIndex) : getByName(this.sock, nameOrIndex)
  }

  async find(nameOrIndex: string | number): Promise<Link | undefined> {
    return this.findSync(nameOrIndex)
  }

  /** Resolves a name to an ifindex (numbers pass through). */
  resolveSync(nameOrIndex: string | number): number {
    return typeof nameOrIndex === 'number' ? nameOrIndex : this.getSync(nameOrIndex).index
  }

  /** Equivalent to: `ip link show [master BR] [type KIND]` (filtered in the kernel). */
  async list(filter: LinkListFilter = {}): Promise<Link[]> {
    return this.listSync(filter)
  }

  listSync(filter: LinkListFilter = {}): Link[] {
    const attrs: AttrValues = { extMask: RTEXT_FILTER_SKIP_STATS }
    if (filter.master !== undefined) attrs.master = this.resolveSync(filter.master)
    if (filter.kind !== undefined) attrs.linkinfo = { kind: filter.kind }
    const links = this.sock.dumpSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, {}, attrs, w), schema: GETLINK, object: 'links' },
      (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
    )
    // kernels without strict checking ignore the filters: apply them here too
    const out = links.filter((l) => (attrs.master === undefined || l.master === attrs.master) && (filter.kind === undefined || l.kind === filter.kind))
    return withJson(out, linkJson, namesOf(links))
  }

  /**
   * Changes a link in one RTM_NEWLINK. Equivalent to:
   * `ip link set NAME [up|down] [mtu N] [address MAC] [master BR|nomaster] [netns NS] [name NEW] [txqueuelen N]`
   * and, for bridge ports, `ip link set NAME type bridge_slave hairpin on learning off flood on isolated on`.
   */
  async set(nameOrIndex: string | number, change: LinkChange): Promise<void> {
    this.setSync(nameOrIndex, change)
  }

  setSync(nameOrIndex: string | number, change: LinkChange): void {
    linkSetRequests(0, change) // validate before any lookup
    if (typeof nameOrIndex === 'string') validateIfname(nameOrIndex)
    // a rename needs the index (IFLA_IFNAME then carries the new name); otherwise the kernel looks the name up
    const byName = typeof nameOrIndex === 'string' && change.name === undefined ? nameOrIndex : undefined
    const index = byName !== undefined ? 0 : this.resolveSync(nameOrIndex)
    const masterIndex = change.master === null ? 0 : change.master === undefined ? undefined : this.bridgeIndexSync(change.master)
    const object = `link '${typeof nameOrIndex === 'string' ? nameOrIndex : `#${index}`}'`
    const hasPortFlags = [change.hairpin, change.learning, change.flood, change.isolated].some((v) => v !== undefined)
    try {
      for (const { header, attrs } of linkSetRequests(index, change, masterIndex, byName)) {
        this.sock.requestSync({ type: RTM_NEWLINK, flags: 0, body: (w) => encodeMessageBody(NEWLINK, header, attrs, w), schema: NEWLINK, object })
      }
    } catch (err) {
      if (isErrno(err, 'EEXIST') && change.name) throw new ExistsError('link', change.name, this.where, { cause: err })
      if (isErrno(err, 'ENODEV') && byName !== undefined) throw new NotFoundError('link', byName, this.where, { cause: err })
      if (isErrno(err, 'EXFULL') && change.master) throw bridgeFull(change.master, err)
      if (isErrno(err, 'EOPNOTSUPP') && hasPortFlags) {
        throw new InvalidArgumentError('bridge port', `${object} is not a bridge port; hairpin/learning/flood/isolated need a master bridge`)
      }
      throw err
    }
  }

  /**
   * Deletes a link (for a veth, both ends go). Deleting a veth waits for an RCU grace period in the
   * kernel (10-25 ms), so the request runs off the event loop. Throws NotFoundError when absent.
   * Equivalent to: `ip link del NAME`.
   */
  async del(nameOrIndex: string | number): Promise<void> {
    const attrs: AttrValues = typeof nameOrIndex === 'string' ? { ifname: nameOrIndex } : {}
    const header = typeof nameOrIndex === 'number' ? { index: nameOrIndex } : {}
    if (typeof nameOrIndex === 'string') validateIfname(nameOrIndex)
    try {
      await this.sock.request(
        { type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, header, attrs, w), schema: DELLINK, object: `link '${nameOrIndex}'` },
        undefined,
        { offload: true },
      )
    } catch (err) {
      if (isErrno(err, 'ENODEV')) throw new NotFoundError('link', String(nameOrIndex), this.where, { cause: err })
      throw err
    }
  }

  /** Synchronous delete: blocks the thread for the kernel's RCU wait (10-30 ms for a veth); for code between setns and setns back. */
  delSync(nameOrIndex: string | number): void {
    const attrs: AttrValues = typeof nameOrIndex === 'string' ? { ifname: nameOrIndex } : {}
    const header = typeof nameOrIndex === 'number' ? { index: nameOrIndex } : {}
    try {
      this.sock.requestSync({ type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, header, attrs, w), schema: DELLINK, object: `link '${nameOrIndex}'` })
    } catch (err) {
      if (isErrno(err, 'ENODEV')) throw new NotFoundError('link', String(nameOrIndex), this.where, { cause: err })
      throw err
    }
  }

  /**
   * Deletes every link of a device group with one request: the kernel unregisters them together
   * and pays its RCU grace period once, not once per link. Equivalent to: `ip link del group N`.
   */
  async delGroup(group: number): Promise<void> {
    if (!Number.isInteger(group) || group <= 0) throw new InvalidArgumentError('group', 'must be a positive integer (group 0 is every ungrouped link)')
    await this.sock.request(
      { type: RTM_DELLINK, flags: 0, body: (w) => encodeMessageBody(DELLINK, {}, { group }, w), schema: DELLINK, object: `link group ${group}` },
      undefined,
      { offload: true },
    )
  }

}

function getBy(sock: NetlinkSocket, header: StructValues, attrs: AttrValues, what: string): Link | undefined {
  try {
    const r = sock.requestSync(
      { type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, header, attrs, w), schema: GETLINK, object: what },
      (m) => (m.type === RTM_NEWLINK ? decodeLink(m) : undefined),
    )
    return r[0] && withJson([r[0]], linkJson)[0]
  } catch (err) {
    if (isErrno(err, 'ENODEV')) return undefined
    throw err
  }
}

/** One RTM_GETLINK by name (IFLA_IFNAME); undefined when absent. */
export function getByName(sock: NetlinkSocket, name: string): Link | undefined {
  validateIfname(name)
  return getBy(sock, {}, { ifname: name, extMask: RTEXT_FILTER_SKIP_STATS }, `link '${name}'`)
}

/** One RTM_GETLINK by ifindex; undefined when absent. */
export function getByIndex(sock: NetlinkSocket, index: number): Link | undefined {
  return getBy(sock, { index }, { extMask: RTEXT_FILTER_SKIP_STATS }, `link #${index}`)
}

