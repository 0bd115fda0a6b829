/**
 * LinkSpec and LinkChange -> RTM_NEWLINK bodies. Pure and validated up front; attribute order
 * follows iproute2, so the bytes match `ip link add/set` (test/fixtures/netlink).
 */
import { InvalidArgumentError } from '../../errors.js'
import { validateMac } from '../../net/mac.js'
import { validateIfname } from '../../net/names.js'
import { AF_UNSPEC } from '../../sys/constants.js'
import type { AttrValues, StructValues } from '../core/schema.js'
import { Writer } from '../core/writer.js'
import * as IF from './constants/if.js'
import * as IPV4 from './constants/ip.js'
import { MACVLAN_MODES } from './link-decode.js'
import type { LinkChange, LinkSpec } from './link-types.js'
import { validateMtu } from './validate.js'

const ADDR_GEN_MODES = { eui64: 0, none: 1, stable_secret: 2, random: 3 } as const

/** IFLA_INET_CONF payload: one u32 attribute per setting, typed by its IPV4_DEVCONF_* index. */
export function ipv4ConfBytes(conf: Record<string, number>): Buffer {
  const w = new Writer(64)
  for (const [name, value] of Object.entries(conf)) {
    const id = (IPV4 as Record<string, number>)[`IPV4_DEVCONF_${name.toUpperCase()}`]
    if (id === undefined) throw new InvalidArgumentError('ipv4Conf', `'${name}' is not a per-device IPv4 setting (see IPV4_DEVCONF_* in linux/ip.h)`)
    const s = w.beginAttr(id)
    w.u32(value)
    w.endAttr(s)
  }
  return w.toBuffer()
}

function validateSpec(spec: LinkSpec): void {
  validateIfname(spec.name, 'name')
  if (spec.mtu !== undefined) validateMtu(spec.mtu)
  if (spec.address !== undefined) validateMac(spec.address)
  if (spec.alias !== undefined && Buffer.byteLength(spec.alias) > 255) throw new InvalidArgumentError('alias', 'is longer than 255 bytes (IFALIASZ - 1)')
  if (spec.alias !== undefined && spec.netns !== undefined) throw new InvalidArgumentError('alias', 'cannot be given with netns: set it on the link in its namespace')
  if (spec.kind === 'veth') {
    validateIfname(spec.peer.name, 'peer name')
    if (spec.peer.mtu !== undefined) validateMtu(spec.peer.mtu, 'peer mtu')
    if (spec.peer.address !== undefined) validateMac(spec.peer.address, 'peer address')
    if (spec.peer.name === spec.name && !spec.peer.netns && !spec.netns) {
      throw new InvalidArgumentError('peer name', `'${spec.name}' is the name of the other end too; both ends would collide in one namespace`)
    }
  }
  if (spec.kind === 'vxlan' && (!Number.isInteger(spec.vxlan.id) || spec.vxlan.id < 0 || spec.vxlan.id >= 1 << 24)) {
    throw new InvalidArgumentError('vxlan id', `'${spec.vxlan.id}' is not a VNI (0-16777215)`)
  }
}

/**
 * The RTM_NEWLINK request (family header and attributes) that creates `spec`. Pure: attribute
 * order follows iproute2's (options, then IFLA_IFNAME, then IFLA_LINKINFO), so the bytes match
 * `ip link add` (see test/fixtures/netlink). `parentIndex` is the macvlan parent's ifindex.
 */
export function linkAddRequest(spec: LinkSpec, parentIndex?: number, masterIndex?: number): { header: StructValues; attrs: AttrValues } {
  validateSpec(spec)
  const attrs: AttrValues = {}
  if (spec.kind === 'macvlan') {
    if (parentIndex === undefined) throw new InvalidArgumentError('parent', 'a macvlan needs its parent device')
    attrs.link = parentIndex
  }
  if (spec.mtu !== undefined) attrs.mtu = spec.mtu
  if (spec.address !== undefined) attrs.address = spec.address
  if (spec.txqlen !== undefined) attrs.txqlen = spec.txqlen
  if (spec.netns) attrs.netNsFd = spec.netns.fd
  if (masterIndex !== undefined) attrs.master = masterIndex
  attrs.ifname = spec.name
  const info: AttrValues = { kind: spec.kind }
  switch (spec.kind) {
    case 'veth': {
      const p = spec.peer
      const peerAttrs: AttrValues = {}
      if (p.mtu !== undefined) peerAttrs.mtu = p.mtu
      if (p.address !== undefined) peerAttrs.address = p.address
      if (p.txqlen !== undefined) peerAttrs.txqlen = p.txqlen
      if (p.netns) peerAttrs.netNsFd = p.netns.fd
      peerAttrs.ifname = p.name
      // The peer is never created up: on this kernel (6.18) IFF_UP in the peer's ifinfomsg makes
      // RTM_NEWLINK fail with ENOTCONN (iproute2's `peer name X up` fails the same way), so
      // LinkApi brings it up with a second request.
      info.data = { peer: { header: {}, attrs: peerAttrs } }
      break
    }
    case 'bridge':
      if (spec.bridge && Object.keys(spec.bridge).length) info.data = { ...spec.bridge }
      break
    case 'vxlan': {
      const v = spec.vxlan
      // iproute2's order: IFLA_VXLAN_LINK, then the id, group, local, ... (bytes match `ip link add`)
      const data: AttrValues = {}
      if (v.link !== undefined) data.link = v.link
      data.id = v.id
      if (v.group !== undefined) data[v.group.includes(':') ? 'group6' : 'group'] = v.group
      if (v.local !== undefined) data[v.local.includes(':') ? 'local6' : 'local'] = v.local
      if (v.ttl !== undefined) data.ttl = v.ttl
      data.learning = v.learning === false ? 0 : 1
      if (v.port !== undefined) data.port = v.port
      info.data = data
      break
    }
    case 'macvlan':
      info.data = { mode: MACVLAN_MODES[spec.mode ?? 'bridge'] }
      break
    case 'ifb':
      break
  }
  attrs.linkinfo = info
  const header: StructValues = spec.up ? { family: AF_UNSPEC, flags: IF.IFF_UP, change: IF.IFF_UP } : { family: AF_UNSPEC }
  return { header, attrs }
}

/**
 * The RTM_NEWLINK requests that apply `change` to link `index` (one, or two when bridge-port
 * flags come with other changes: the port flags go second, once the master is set).
 * `masterIndex` is the resolved bridge (0 for nomaster). Pure.
 */
export function linkSetRequests(index: number, change: LinkChange, masterIndex?: number, byName?: string): Array<{ header: StructValues; attrs: AttrValues }> {
  if (change.mtu !== undefined) validateMtu(change.mtu)
  if (change.address !== undefined) validateMac(change.address)
  if (change.name !== undefined) validateIfname(change.name, 'new name')
  const header: StructValues = { family: AF_UNSPEC, index }
  if (change.up !== undefined) {
    header.flags = change.up ? IF.IFF_UP : 0
    header.change = IF.IFF_UP
  }
  const attrs: AttrValues = {}
  if (change.netns) attrs.netNsFd = change.netns.fd
  if (change.mtu !== undefined) attrs.mtu = change.mtu
  if (change.address !== undefined) attrs.address = change.address
  if (change.txqlen !== undefined) attrs.txqlen = change.txqlen
  if (change.alias !== undefined) attrs.ifalias = change.alias
  if (change.name !== undefined) attrs.ifname = change.name
  if (masterIndex !== undefined) attrs.master = masterIndex
  if (change.group !== undefined) attrs.group = change.group
  if (change.ipv4Conf || change.ipv6AddrGenMode) {
    const af: AttrValues = {}
    if (change.ipv4Conf) af.inet = { conf: ipv4ConfBytes(change.ipv4Conf) }
    if (change.ipv6AddrGenMode) af.inet6 = { addrGenMode: ADDR_GEN_MODES[change.ipv6AddrGenMode] }
    attrs.afSpec = af
  }
  const port: AttrValues = {}
  if (change.hairpin !== undefined) port.mode = change.hairpin ? 1 : 0
  if (change.learning !== undefined) port.learning = change.learning ? 1 : 0
  if (change.flood !== undefined) port.unicastFlood = change.flood ? 1 : 0
  if (change.isolated !== undefined) port.isolated = change.isolated ? 1 : 0
  const out: Array<{ header: StructValues; attrs: AttrValues }> = []
  // by name: ifindex 0 and IFLA_IFNAME, the kernel finds the link (one request instead of a GET first)
  const named = (a: AttrValues): AttrValues => (byName !== undefined && change.name === undefined ? { ifname: byName, ...a } : a)
  if (Object.keys(attrs).length || header.change !== undefined || !Object.keys(port).length) out.push({ header, attrs: named(attrs) })
  if (Object.keys(port).length) {
    if (change.netns) throw new InvalidArgumentError('link set', 'bridge-port flags cannot be set while moving the link to another namespace')
    out.push({ header: { family: AF_UNSPEC, index }, attrs: named({ linkinfo: { slaveKind: 'bridge', slaveData: port } }) })
  }
  return out
}

