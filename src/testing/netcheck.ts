/**
 * A tiny network probe run as a child process inside a namespace (a process, because sockets
 * take the namespace of the thread that creates them, and Node creates them off the caller's
 * stack). Usage:
 *   netcheck serve tcp|udp PORT        answers each TCP connection / UDP datagram with "from <peer address>"
 *   netcheck connect tcp|udp HOST PORT [TIMEOUT_MS]
 *                                      prints the answer; exit 1 on error or after TIMEOUT_MS (default 2000)
 * "ready" is printed once the server listens.
 */
import { createServer, connect } from 'node:net'
import { createSocket } from 'node:dgram'

const [mode, proto, a, b, t] = process.argv.slice(2)
const timeoutMs = t ? Number(t) : 2000
const strip = (ip: string | undefined): string => (ip ?? '').replace(/^::ffff:/, '')

if (mode === 'serve' && proto === 'tcp') {
  const server = createServer((s) => s.end(`from ${strip(s.remoteAddress)}\n`))
  server.listen({ port: Number(a), host: '::', ipv6Only: false }, () => console.log('ready'))
} else if (mode === 'serve' && proto === 'udp') {
  const sock = createSocket({ type: 'udp6', ipv6Only: false })
  sock.on('message', (_m, r) => sock.send(`from ${strip(r.address)}\n`, r.port, r.address))
  sock.bind(Number(a), '::', () => console.log('ready'))
} else if (mode === 'connect' && proto === 'tcp') {
  const timer = setTimeout(() => { console.error(`timeout after ${timeoutMs} ms`); process.exit(1) }, timeoutMs)
  const s = connect({ host: a, port: Number(b) })
  let out = ''
  s.on('data', (d) => { out += d })
  s.on('end', () => { clearTimeout(timer); process.stdout.write(out); process.exit(0) })
  s.on('error', (e) => { console.error(e.message); process.exit(1) })
} else if (mode === 'connect' && proto === 'udp') {
  const sock = createSocket(a?.includes(':') ? 'udp6' : 'udp4')
  const timer = setTimeout(() => { console.error(`timeout after ${timeoutMs} ms`); process.exit(1) }, timeoutMs)
  sock.on('message', (m) => { clearTimeout(timer); process.stdout.write(m.toString()); process.exit(0) })
  sock.send('hi', Number(b), a)
} else {
  console.error('usage: netcheck serve|connect tcp|udp ...')
  process.exit(2)
}
