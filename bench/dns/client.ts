/**
 * The load generator of the DNS bench, run inside a pod's namespace:
 *   node client.js SERVER NAME TYPE COUNT CONCURRENCY
 * CONCURRENCY workers share one UDP socket, each with one question in flight (ids tell answers
 * apart); a question unanswered after 1 s counts as lost. Prints one JSON line: questions per
 * second, latency percentiles (ms), answered, lost, rcodes.
 */
import { createSocket } from 'node:dgram'
import * as dnsPacket from 'dns-packet'

const [server = '', name = '', type = 'A', countText = '1000', concText = '8'] = process.argv.slice(2)
const count = Number(countText)
const conc = Number(concText)
const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4')
const pending = new Map<number, (msg: Buffer | undefined) => void>()
sock.on('message', (m) => {
  const id = m.readUInt16BE(0)
  const done = pending.get(id)
  if (done) {
    pending.delete(id)
    done(m)
  }
})

let nextId = 1
const lat: number[] = []
let lost = 0
const rcodes: Record<string, number> = {}
let sent = 0

async function worker(): Promise<void> {
  while (sent < count) {
    sent++
    let id = nextId
    do id = (id % 65535) + 1
    while (pending.has(id))
    nextId = id
    const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] })
    const t0 = process.hrtime.bigint()
    const reply = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => { pending.delete(id); resolve(undefined) }, 1000)
      pending.set(id, (m) => { clearTimeout(timer); resolve(m) })
      sock.send(q, 53, server)
    })
    if (!reply) {
      lost++
      continue
    }
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6)
    const rc = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][reply.readUInt16BE(2) & 0xf] ?? 'OTHER'
    rcodes[rc] = (rcodes[rc] ?? 0) + 1
  }
}

const start = process.hrtime.bigint()
await Promise.all(Array.from({ length: conc }, () => worker()))
const secs = Number(process.hrtime.bigint() - start) / 1e9
sock.close()
lat.sort((a, b) => a - b)
const pct = (p: number): number => lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! : NaN
process.stdout.write(`${JSON.stringify({ qps: Math.round(lat.length / secs), p50: pct(50), p90: pct(90), p99: pct(99), max: lat[lat.length - 1] ?? NaN, answered: lat.length, lost, rcodes, seconds: secs })}\n`)
