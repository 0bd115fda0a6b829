/**
 * In-process sockets in a namespace and podnet/testing's async traffic helpers: a socket made by
 * the fixture acts in its namespace (the peer sees its address), runSync refuses a net.connect it
 * cannot place, a plain TCP/UDP echo, and deadlines that end in TimeoutError.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { connect, createServer } from 'node:net'
import { SocketNamespaceError, TimeoutError } from '../../../src/errors.js'
import { createTempNetns, listen, probeAsync, reachable, request, type TempNetns } from '../../../src/testing/index.js'

describe('kernel: podnet/testing traffic in process', function () {
  let a: TempNetns
  let b: TempNetns
  beforeEach(() => {
    a = createTempNetns('pn-ta')
    b = createTempNetns('pn-tb')
    a.rt.link.addSync({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth0', netns: b.ns, up: true } })
    a.rt.addr.addSync({ cidr: '10.230.0.1/24', dev: 'eth0' })
    b.rt.addr.addSync({ cidr: '10.230.0.2/24', dev: 'eth0' })
    b.rt.link.setSync('eth0', { up: true })
  })
  afterEach(() => {
    a.close()
    b.close()
  })

  it('a TCP and a UDP echo in one namespace answer a client in another, which the server sees by its address', async () => {
    const tcp = await listen(b, 'tcp', 7, { reply: 'echo' })
    const udp = await listen(b, 'udp', 7, { reply: 'echo' })
    const from = await listen(b, 'tcp', 80)
    assert.equal((await request(a, 'tcp', '10.230.0.2', 7, 'hello')).toString(), 'hello')
    assert.equal((await request(a, 'udp', '10.230.0.2', 7, 'dgram')).toString(), 'dgram')
    assert.equal(await probeAsync(a, 'tcp', '10.230.0.2', 80), '10.230.0.1')
    assert.deepEqual([tcp.served, udp.served, from.served], [1, 1, 1])
    // the same port from the test's own namespace reaches nothing: the sockets are b's
    assert.equal(await reachable(b, 'tcp', '10.230.0.1', 7, { timeoutMs: 500 }), false)
  })

  it('TempNetns.connect and listen make the socket in the namespace; node sockets work on them', async () => {
    const server = await b.listen({ port: 9000 }, (s) => s.end(`hi ${s.remoteAddress?.replace(/^::ffff:/, '')}`))
    assert.equal((server.address() as { port: number }).port, 9000)
    const c = a.connect('10.230.0.2', 9000)
    const got = await new Promise<string>((resolve, reject) => {
      let out = ''
      c.on('data', (d: Buffer) => (out += d.toString()))
      c.on('end', () => resolve(out))
      c.on('error', reject)
    })
    assert.equal(got, 'hi 10.230.0.1')
  })

  it('runSync refuses a net.connect or a dgram socket it cannot place (SocketNamespaceError); a listening server passes', () => {
    assert.throws(() => a.ns.runSync(() => connect(9, '10.230.0.2')), (e: unknown) => e instanceof SocketNamespaceError && /net\.connect\(\) inside runSync would connect from the caller's namespace/.test(e.message))
    // node looks up any host given to listen(), even a literal: the socket would come later
    assert.throws(() => a.ns.runSync(() => createServer().listen(0, '127.0.0.1')), SocketNamespaceError)
    assert.throws(() => a.ns.runSync(() => createSocket('udp4')), SocketNamespaceError)
    // a port alone: node makes the socket during the call, in the namespace
    const s = a.ns.runSync(() => createServer().listen(0))
    assert.equal(s.listening, true)
    s.close()
  })

  it('deadlines: a silent peer ends in TimeoutError after timeoutMs, a refused port fails at once', async () => {
    const t0 = Date.now()
    // 10.230.0.9 does not exist: the SYN goes out, nothing answers
    await assert.rejects(request(a, 'tcp', '10.230.0.9', 7, 'x', { timeoutMs: 300 }), (e: unknown) => e instanceof TimeoutError && e.timeoutMs === 300)
    assert.ok(Date.now() - t0 < 5000)
    await assert.rejects(request(a, 'tcp', '10.230.0.2', 1, 'x', { timeoutMs: 5000 }), /ECONNREFUSED/)
    assert.equal(await reachable(a, 'udp', '10.230.0.9', 7, { timeoutMs: 200 }), false)
  })
})
