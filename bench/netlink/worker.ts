/**
 * The podnet side of the netlink bench. Each measurement runs in a fresh `node` process (this
 * file), started by main.ts inside the sandbox and under `nsenter --net=NS`, so that its peak RSS
 * (process.resourceUsage().maxRSS) belongs to that measurement alone. It prints one JSON line.
 *
 *   worker.js '{"op":"dump","what":"links"|"addrs"|"links-raw"|"addrs-raw","iters":N}'
 *   worker.js '{"op":"churn","pods":"NAME","pairs":N,"delete":M,"bridge":"br0","by":"name"|"index"}'
 *
 * The -raw dumps send the same requests as link.list()/addr.list() through the same NetlinkSocket
 * but decode nothing: the floor that the kernel and the socket loop leave to decoding.
 */
import { Netns, Rtnl } from '../../src/index.js'
import { type NetlinkSocket, type NlMessage } from '../../src/netlink/core/socket.js'
import { addrAttrs, ifaddrmsg } from '../../src/netlink/route/schema/addr.js'
import { addrRequest } from '../../src/netlink/route/addr.js'
import { ifinfomsg, linkAttrs } from '../../src/netlink/route/schema/link.js'
import { linkAddRequest, linkSetRequests } from '../../src/netlink/route/link-request.js'
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../../src/netlink/core/header.js'
import { type MessageSchema, type StructValues, type AttrValues, encodeMessageBody } from '../../src/netlink/core/schema.js'
import { IFLA_LINK } from '../../src/netlink/route/constants/if-link.js'
import { RTEXT_FILTER_SKIP_STATS, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK } from '../../src/netlink/route/constants/rtnetlink.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { hostName, nowMs, pairAddr, peerName } from './lib.js'

export type DumpWhat = 'links' | 'addrs' | 'links-raw' | 'addrs-raw'
export interface DumpArgs { op: 'dump'; what: DumpWhat; iters: number }
/**
 * by 'name': every call names its link (what a caller writes first; podnet resolves the names).
 * by 'index': the ifindexes from the creation echo (the host end's index and IFLA_LINK, the
 * peer's index in the pods namespace) and the bridge's index, so podnet resolves nothing.
 * by 'raw': the same four requests built with podnet's pure request builders and sent with
 * NetlinkSocket.requestSync; the echo is read for its two ifindexes only. No lookup, no decode:
 * the floor of podnet's socket path, what ip -batch does per pair.
 */
export interface ChurnArgs { op: 'churn'; pods: string; pairs: number; delete: number; bridge: string; by: 'name' | 'index' | 'raw' }

const NEWLINK: MessageSchema = { name: 'RTM_NEWLINK', header: ifinfomsg, attrs: linkAttrs }
const NEWADDR: MessageSchema = { name: 'RTM_NEWADDR', header: ifaddrmsg, attrs: addrAttrs }

/** The ifindex (ifinfomsg) and IFLA_LINK of an RTM_NEWLINK echo, read without decoding the rest. */
function echoIndexes(m: NlMessage): [number, number] | undefined {
  if (m.type !== RTM_NEWLINK) return undefined
  const index = m.buf.readInt32LE(m.off + 4)
  for (let p = m.off + 16; p + 4 <= m.end;) {
    const len = m.buf.readUInt16LE(p)
    if (len < 4) break
    if ((m.buf.readUInt16LE(p + 2) & 0x3fff) === IFLA_LINK) return [index, m.buf.readUInt32LE(p + 4)]
    p += (len + 3) & ~3
  }
  return [index, -1]
}

function send(sock: NetlinkSocket, type: number, flags: number, schema: MessageSchema, req: { header: StructValues; attrs: AttrValues }): void {
  sock.requestSync({ type, flags, body: (w) => encodeMessageBody(schema, req.header, req.attrs, w), schema })
}
export type WorkerArgs = DumpArgs | ChurnArgs

export interface DumpResult {
  cold: number
  /** Wall ms of each warm call. */
  samples: number[]
  /** CPU ms (user + system) of each warm call: less sensitive than wall time to a busy machine. */
  cpuSamples: number[]
  count: number
  openMs: number
  baselineRssKb: number
  maxRssKb: number
  cpuMs: number
}

export interface ChurnResult {
  createMs: number
  /** Completion time of each pair, ms since the first request. */
  marks: number[]
  deleteMs: number
  deleted: number
  baselineRssKb: number
  maxRssKb: number
  /** CPU of the create loop: user (podnet's own work) and system (the kernel's, inside the syscalls). */
  userMs: number
  sysMs: number
}

const cpuMs = (): number => {
  const u = process.resourceUsage()
  return (u.userCPUTime + u.systemCPUTime) / 1000
}

async function dump(a: DumpArgs): Promise<DumpResult> {
  const baselineRssKb = process.resourceUsage().maxRSS
  const t0 = nowMs()
  const rt = Rtnl.open()
  const openMs = nowMs() - t0
  const GETLINK = { name: 'RTM_GETLINK', header: ifinfomsg, attrs: linkAttrs }
  const GETADDR = { name: 'RTM_GETADDR', header: ifaddrmsg, attrs: addrAttrs }
  const count = (): { n: number; inc: () => undefined } => {
    const c = { n: 0, inc: (): undefined => { c.n++; return undefined } }
    return c
  }
  const calls: Record<DumpWhat, () => Promise<unknown[]>> = {
    links: () => rt.link.list(),
    addrs: () => rt.addr.list(),
    'links-raw': async () => {
      const c = count()
      rt.sock.dumpSync({ type: RTM_GETLINK, flags: 0, body: (w) => encodeMessageBody(GETLINK, {}, { extMask: RTEXT_FILTER_SKIP_STATS }, w) }, c.inc)
      return new Array<unknown>(c.n)
    },
    'addrs-raw': async () => {
      const c = count()
      rt.sock.dumpSync({ type: RTM_GETADDR, flags: 0, body: (w) => encodeMessageBody(GETADDR, { family: 0, index: 0 }, {}, w) }, c.inc)
      return new Array<unknown>(c.n)
    },
  }
  const call = calls[a.what]
  let cold = 0
  let n = 0
  const samples: number[] = []
  const cpuSamples: number[] = []
  for (let i = 0; i <= a.iters; i++) {
    const c = process.cpuUsage()
    const t = nowMs()
    const out = await call()
    const dt = nowMs() - t
    const dc = process.cpuUsage(c)
    n = out.length
    if (i === 0) cold = dt
    else {
      samples.push(dt)
      cpuSamples.push((dc.user + dc.system) / 1000)
    }
  }
  rt.close()
  return { cold, samples, cpuSamples, count: n, openMs, baselineRssKb, maxRssKb: process.resourceUsage().maxRSS, cpuMs: cpuMs() }
}

async function churn(a: ChurnArgs): Promise<ChurnResult> {
  const podsNs = Netns.open(a.pods)
  const host = Rtnl.open()
  const pods = Rtnl.open({ netns: podsNs })
  const baselineRssKb = process.resourceUsage().maxRSS
  const bridge = a.by === 'name' ? a.bridge : (await host.link.get(a.bridge)).index
  const marks: number[] = []
  const c0 = process.cpuUsage()
  const t0 = nowMs()
  for (let i = 1; i <= a.pairs; i++) {
    const h = hostName(i)
    const p = peerName(i)
    if (a.by === 'raw') {
      const req = linkAddRequest({ kind: 'veth', name: h, peer: { name: p, netns: podsNs } })
      const [ix] = host.sock.requestSync(
        { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, body: (w) => encodeMessageBody(NEWLINK, req.header, req.attrs, w), schema: NEWLINK },
        echoIndexes,
      )
      const [hIndex, pIndex] = ix ?? [-1, -1]
      if (hIndex < 0 || pIndex < 0) throw new Error(`no echo with both ifindexes for ${h}`)
      send(pods.sock, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, NEWADDR, addrRequest({ cidr: `${pairAddr(i)}/32`, dev: pIndex }, pIndex))
      for (const r of linkSetRequests(pIndex, { up: true })) send(pods.sock, RTM_NEWLINK, 0, NEWLINK, r)
      for (const r of linkSetRequests(hIndex, { up: true, master: bridge }, bridge as number)) send(host.sock, RTM_NEWLINK, 0, NEWLINK, r)
      marks.push(nowMs() - t0)
      continue
    }
    const link = await host.link.add({ kind: 'veth', name: h, peer: { name: p, netns: podsNs } })
    if (a.by === 'index') {
      if (link?.link === undefined) throw new Error(`no echo with the peer's ifindex for ${h}`)
      await pods.addr.add({ cidr: `${pairAddr(i)}/32`, dev: link.link })
      await pods.link.set(link.link, { up: true })
      await host.link.set(link.index, { master: bridge, up: true })
    } else {
      await pods.addr.add({ cidr: `${pairAddr(i)}/32`, dev: p })
      await pods.link.set(p, { up: true })
      await host.link.set(h, { master: bridge, up: true })
    }
    marks.push(nowMs() - t0)
  }
  const createMs = nowMs() - t0
  const cpu = process.cpuUsage(c0)
  const maxRssKb = process.resourceUsage().maxRSS
  const t1 = nowMs()
  for (let i = 1; i <= a.delete; i++) await host.link.del(hostName(i))
  const deleteMs = nowMs() - t1
  pods.close()
  host.close()
  podsNs.close()
  return { createMs, marks, deleteMs, deleted: a.delete, baselineRssKb, maxRssKb, userMs: cpu.user / 1000, sysMs: cpu.system / 1000 }
}

async function main(): Promise<void> {
  assertSandboxed()
  const a = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs
  const result = a.op === 'dump' ? await dump(a) : await churn(a)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

await main()
