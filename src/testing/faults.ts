/**
 * Fault injection between namespaces, over podnet's own nf_tables and rtnetlink code (no `nft`
 * or `tc` process):
 *
 *   partition(a, b, { oneWay })   a stops talking to b's addresses (both ways, or only a -> b)
 *   isolate(a)                    a talks to nothing but its loopback
 *   impair(link, { loss })        each IP packet out of the link is dropped with probability loss
 *                                 (nf_tables `numgen random mod 10000 < loss*10000 counter drop`)
 *   impair(link, { rate })        the link's egress is shaped by a tbf qdisc
 *   impair(link, { delay })       needs sch_netem; without it UnsupportedError('sch_netem') says why
 *   heal()                        undoes every fault (each Fault also has its own heal())
 *
 * What it creates: in each namespace a fault touches, an `inet podnet-faults` table with input,
 * output, forward and postrouting filter chains, rebuilt atomically (one batch) at every change;
 * for `rate`, a tbf root qdisc on the link. Cleanup: heal(), and with the namespace: a fault on a
 * TempNetns is healed when it closes; faults still active at process exit are healed then.
 * Depends on: a sandboxed process, CAP_NET_ADMIN in the namespaces.
 */
import { readFileSync, existsSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { ConflictError, InvalidArgumentError, UnsupportedError } from '../errors.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import {
  Nft, counter, drop, matchDaddr, matchIifname, matchOifname, matchSaddr, type Expr,
} from '../netlink/nftables/index.js'
import {
  NFTA_BYTEORDER_DREG, NFTA_BYTEORDER_LEN, NFTA_BYTEORDER_OP, NFTA_BYTEORDER_SIZE, NFTA_BYTEORDER_SREG, NFTA_NG_DREG, NFTA_NG_MODULUS,
  NFTA_NG_OFFSET, NFTA_NG_TYPE, NFT_BYTEORDER_HTON, NFT_NG_RANDOM, NFT_REG_1,
} from '../netlink/nftables/constants.js'
import { assertSandboxed } from './guard.js'
import { trackFixture } from './hooks.js'

/** A namespace: a Netns, a fixture holding one (TempNetns, a cluster node), or a name under /run/netns. */
export type FaultTarget = Netns | { ns: Netns; name?: string } | string

/** One side of a link: the namespace and the interface name in it. */
export interface LinkEnd {
  ns: FaultTarget
  ifname: string
}

export interface PartitionOptions {
  /** Only packets from a to b are dropped; b's packets still reach a. */
  oneWay?: boolean
}

export interface ImpairOptions {
  /** Probability (0..1) that an IP packet leaving the link is dropped (steps of 0.0001). */
  loss?: number
  /** Egress rate limit in bits per second (a tbf qdisc on the link). */
  rateBitsPerSec?: number
  /** Added delay in ms: needs the sch_netem qdisc (netemSupport()). */
  delayMs?: number
}

/** An active fault. */
export interface Fault {
  readonly description: string
  /** Undoes this fault alone (idempotent). */
  heal(): void
}

/** The nf_tables table every fault lives in (family inet), one per namespace. */
export const FAULT_TABLE = 'podnet-faults'

const u32Attr = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeUInt16LE(8, 0)
  b.writeUInt16LE(type, 2)
  b.writeUInt32BE(v, 4)
  return b
}

/** The random number generator rule part: reg1 = random % modulus (NFT_NG_RANDOM), in host byte order. */
export function numgenRandom(modulus: number): Expr {
  return {
    kind: 'raw',
    name: 'numgen',
    data: Buffer.concat([u32Attr(NFTA_NG_DREG, NFT_REG_1), u32Attr(NFTA_NG_MODULUS, modulus), u32Attr(NFTA_NG_TYPE, NFT_NG_RANDOM), u32Attr(NFTA_NG_OFFSET, 0)]),
  }
}

/**
 * `numgen random mod 10000 < n` (n in 0..10000): true for n/10000 of the packets. cmp's lt is a
 * memcmp, so the host-order number goes through `byteorder hton` first, as nft compiles it.
 */
export function matchRandomBelow(n: number, modulus = 10000): Expr[] {
  const data = Buffer.alloc(4)
  data.writeUInt32BE(n, 0)
  const hton: Expr = {
    kind: 'raw',
    name: 'byteorder',
    data: Buffer.concat([
      u32Attr(NFTA_BYTEORDER_SREG, NFT_REG_1), u32Attr(NFTA_BYTEORDER_DREG, NFT_REG_1), u32Attr(NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON),
      u32Attr(NFTA_BYTEORDER_LEN, 4), u32Attr(NFTA_BYTEORDER_SIZE, 4),
    ]),
  }
  return [numgenRandom(modulus), hton, { kind: 'cmp', op: 'lt', sreg: NFT_REG_1, data }]
}

/** Whether `delay` can work here, and if not, why. */
export function netemSupport(): { ok: boolean; reason: string } {
  if (existsSync('/sys/module/sch_netem')) return { ok: true, reason: 'sch_netem is loaded' }
  let config: string | undefined
  try {
    config = gunzipSync(readFileSync('/proc/config.gz')).toString()
  } catch {
    /* no config */
  }
  if (config?.includes('CONFIG_NET_SCH_NETEM=y')) return { ok: true, reason: 'sch_netem is built into this kernel' }
  if (config?.includes('CONFIG_NET_SCH_NETEM=m')) return { ok: false, reason: 'sch_netem is a module this kernel has not loaded (podnet/testing never loads kernel modules: modprobe sch_netem first)' }
  if (config !== undefined) return { ok: false, reason: 'this kernel is built without sch_netem (CONFIG_NET_SCH_NETEM is not set): no delay, loss and rate work' }
  return { ok: false, reason: 'cannot tell whether this kernel has sch_netem (no /sys/module/sch_netem, no /proc/config.gz)' }
}

interface NsState {
  name: string
  nft: Nft
  faults: Map<number, (chains: ChainRules) => void>
}
interface ChainRules {
  input: Expr[][]
  output: Expr[][]
  forward: Expr[][]
  postrouting: Expr[][]
}

/** Namespace name -> its fault table's state. */
const states = new Map<string, NsState>()
const active = new Set<Fault>()
let seq = 0

/** What Nft.open / Rtnl.open take: the name, or the Netns itself. */
const argOf = (t: FaultTarget): Netns | string => (typeof t === 'string' ? t : 'fd' in t ? t : t.ns)

function stateOf(t: FaultTarget): NsState {
  const name = nameOf(t)
  let s = states.get(name)
  if (!s) {
    s = { name, nft: Nft.open({ netns: argOf(t) }), faults: new Map() }
    states.set(name, s)
  }
  return s
}

/** Rebuilds the namespace's fault table from its active faults, in one batch. */
function apply(s: NsState): void {
  const rules: ChainRules = { input: [], output: [], forward: [], postrouting: [] }
  for (const add of s.faults.values()) add(rules)
  const tx = s.nft.transaction()
  tx.destroyTable({ family: 'inet', name: FAULT_TABLE })
  if (s.faults.size) {
    const t = { family: 'inet' as const, table: FAULT_TABLE }
    tx.addTable({ family: 'inet', name: FAULT_TABLE })
    for (const hook of ['input', 'output', 'forward', 'postrouting'] as const) {
      tx.addChain({ ...t, name: hook, type: 'filter', hook, priority: -300, policy: 'accept' })
      for (const exprs of rules[hook]) tx.addRule({ ...t, chain: hook, exprs })
    }
  }
  tx.commitSync()
  if (!s.faults.size) {
    s.nft.close()
    states.delete(s.name)
  }
}

function adopt(t: FaultTarget, f: Fault): void {
  const a = typeof t === 'object' && !('fd' in t) ? (t as Partial<{ adopt(c: { closeSync(): void }): void }>) : undefined
  if (a && typeof a.adopt === 'function') a.adopt({ closeSync: () => f.heal() })
}

function ruleFault(target: FaultTarget, description: string, add: (r: ChainRules) => void): Fault {
  assertSandboxed()
  const s = stateOf(target)
  const id = ++seq
  s.faults.set(id, add)
  try {
    apply(s)
  } catch (err) {
    s.faults.delete(id)
    try { apply(s) } catch { /* the table was not changed: the batch is atomic */ }
    throw err
  }
  let healed = false
  let untrack = (): void => {}
  const f: Fault = {
    description,
    heal() {
      if (healed) return
      healed = true
      untrack()
      active.delete(f)
      s.faults.delete(id)
      try {
        apply(s)
      } catch {
        /* the namespace is gone, and the table with it */
      }
    },
  }
  active.add(f)
  untrack = trackFixture({ closeSync: () => f.heal() })
  adopt(target, f)
  return f
}

/** Every global address of a namespace (what "talking to b" means). */
function addressesOf(t: FaultTarget): string[] {
  const rt = Rtnl.open({ netns: argOf(t) })
  try {
    return rt.addr.listSync().filter((a) => !(a.family === 4 && a.local.startsWith('127.')) && a.local !== '::1').map((a) => a.local)
  } finally {
    rt.close()
  }
}

const nameOf = (t: FaultTarget): string => (typeof t === 'string' ? t : 'fd' in t ? t.name : t.name ?? t.ns.name)
const inet = { tableFamily: 'inet' as const }
const host = (a: string): string => (a.includes(':') ? `${a}/128` : `${a}/32`)

/**
 * Cuts a off from b: packets from a to b's addresses are dropped in a (and, unless oneWay,
 * packets from b's addresses into a). b's addresses are read when the partition is made.
 */
export function partition(a: FaultTarget, b: FaultTarget, opts: PartitionOptions = {}): Fault {
  const addrs = addressesOf(b)
  if (!addrs.length) throw new InvalidArgumentError('b', `namespace '${nameOf(b)}' has no address to partition from`)
  return ruleFault(a, `partition ${nameOf(a)} ${opts.oneWay ? '->' : '<->'} ${nameOf(b)}`, (r) => {
    for (const x of addrs) {
      r.output.push([...matchDaddr(host(x), inet), ...counter(), ...drop()])
      if (!opts.oneWay) r.input.push([...matchSaddr(host(x), inet), ...counter(), ...drop()])
    }
  })
}

/** Cuts a off from everything but its own loopback (in, out and forwarded). */
export function isolate(a: FaultTarget): Fault {
  return ruleFault(a, `isolate ${nameOf(a)}`, (r) => {
    r.input.push([...matchIifname('lo', { neq: true }), ...counter(), ...drop()])
    r.output.push([...matchOifname('lo', { neq: true }), ...counter(), ...drop()])
    r.forward.push([...counter(), ...drop()])
  })
}

/** Degrades the egress of one link end: random loss, a rate limit, a delay (where sch_netem exists). */
export function impair(link: LinkEnd, opts: ImpairOptions): Fault {
  assertSandboxed()
  const parts: Fault[] = []
  if (opts.delayMs !== undefined) {
    const n = netemSupport()
    if (!n.ok) throw new UnsupportedError('sch_netem', `impair delayMs: ${n.reason}`)
    throw new UnsupportedError('sch_netem', 'impair delayMs: podnet does not encode netem qdiscs yet')
  }
  if (opts.loss !== undefined) {
    if (!(opts.loss >= 0 && opts.loss <= 1)) throw new InvalidArgumentError('loss', `${String(opts.loss)} is not a probability (0..1)`)
    const below = Math.round(opts.loss * 10000)
    parts.push(ruleFault(link.ns, `loss ${opts.loss} on ${nameOf(link.ns)}/${link.ifname}`, (r) => {
      r.postrouting.push([...matchOifname(link.ifname), ...matchRandomBelow(below), ...counter(), ...drop()])
    }))
  }
  if (opts.rateBitsPerSec !== undefined) {
    try {
      parts.push(shape(link, opts.rateBitsPerSec))
    } catch (err) {
      for (const p of parts) p.heal()
      throw err
    }
  }
  if (!parts.length) throw new InvalidArgumentError('opts', 'impair needs loss, rateBitsPerSec or delayMs')
  return {
    description: parts.map((p) => p.description).join(', '),
    heal() {
      for (const p of parts) p.heal()
    },
  }
}

function shape(link: LinkEnd, bps: number): Fault {
  if (!(Number.isFinite(bps) && bps >= 8000)) throw new InvalidArgumentError('rateBitsPerSec', `${String(bps)} is not a rate (at least 8000 bits per second)`)
  const ns = argOf(link.ns)
  const rt = Rtnl.open({ netns: ns })
  try {
    const root = rt.qdisc.listSync({ dev: link.ifname }).find((q) => q.parentText === 'root')
    if (root && (root.kind === 'tbf' || root.kind === 'htb')) {
      throw new ConflictError(`${link.ifname} in '${nameOf(link.ns)}' is already shaped (${root.kind} root qdisc): impair would replace it`)
    }
    const rate = Math.round(bps / 8)
    // a bucket of 10 ms at the rate (at least two full frames), a queue of 100 ms
    rt.qdisc.replaceSync({ dev: link.ifname, kind: 'tbf', tbf: { rateBytesPerSec: rate, burstBytes: Math.max(2 * 1514, Math.round(rate / 100)), latencyMs: 100 } })
  } finally {
    rt.close()
  }
  let healed = false
  let untrack = (): void => {}
  const f: Fault = {
    description: `rate ${bps} bit/s on ${nameOf(link.ns)}/${link.ifname}`,
    heal() {
      if (healed) return
      healed = true
      untrack()
      active.delete(f)
      try {
        const r = Rtnl.open({ netns: ns })
        try {
          r.qdisc.delSync({ dev: link.ifname, parent: 'root', kind: 'tbf' })
        } finally {
          r.close()
        }
      } catch {
        /* the link or the namespace is gone, the qdisc with it */
      }
    },
  }
  active.add(f)
  untrack = trackFixture({ closeSync: () => f.heal() })
  adopt(link.ns, f)
  return f
}

/** Undoes every active fault (partitions, isolations, impairments) this process made. */
export function heal(): void {
  for (const f of [...active].reverse()) f.heal()
}

/** The faults active now (their descriptions). */
export function activeFaults(): string[] {
  return [...active].map((f) => f.description)
}
