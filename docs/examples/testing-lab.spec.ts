// podnet/testing: a lab described in one call, a partition, loss and a capture, in a mocha spec
// (run inside a sandbox: scripts/sandbox.sh node_modules/.bin/mocha this-file.js).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { capture, impair, listen, partition, probeAsync, reachable, request, useLab } from 'podnet/testing'

describe('a client, a router with NAT to the internet, a server', () => {
  // one lab for the whole describe block; every namespace goes when it ends, pass or fail
  const lab = useLab({
    nodes: { client: {}, r1: { router: true }, server: {} },
    links: [['client', 'r1'], ['r1', 'server']],
    internet: 'r1',
  }, { scope: 'all' })

  before(async () => {
    await listen(lab().node('server'), 'tcp', 80)          // answers "from <the address it saw>"
    await listen(lab().node('server'), 'udp', 7, { reply: 'echo' })
    await listen(lab().node('internet'), 'tcp', 80)
  })

  it('routes through r1 and masquerades to the internet', async () => {
    const l = lab()
    assert.equal(await probeAsync(l.node('client'), 'tcp', l.address('server'), 80), l.address('client'))
    assert.equal(await probeAsync(l.node('client'), 'tcp', l.internetHost!, 80), l.address('r1', 'internet'))
  })

  it('a partition cuts the client off until heal()', async () => {
    const l = lab()
    const cut = partition(l.node('client'), l.node('server'))
    assert.equal(await reachable(l.node('client'), 'tcp', l.address('server'), 80, { timeoutMs: 300 }), false)
    cut.heal()
    assert.equal(await reachable(l.node('client'), 'tcp', l.address('server'), 80), true)
  })

  it('with all of r1\'s packets towards the server lost, nothing arrives; a capture on the server shows it', async () => {
    const l = lab()
    const r1ToServer = l.interfaces('r1').find((i) => i.segment === 'r1-server')!.ifname
    const cap = capture(l.node('server'), 'eth0')        // every packet on the server's eth0, into a pcap file
    const loss = impair({ ns: l.node('r1').ns, ifname: r1ToServer }, { loss: 1 })
    await assert.rejects(request(l.node('client'), 'udp', l.address('server'), 7, 'lost', { timeoutMs: 300 }))
    loss.heal()
    assert.equal((await request(l.node('client'), 'udp', l.address('server'), 7, 'kept')).toString(), 'kept')
    const { file } = await cap.stop()
    const pcap = readFileSync(file)
    assert.ok(pcap.includes('kept') && !pcap.includes('lost'), 'the pcap holds the datagram that got through, not the lost one')
  })

  it('draws itself', async () => {
    const text = await lab().picture()                    // the real namespaces, links, addresses, routes
    assert.match(text, /10\.0\.1\.1\/24/)
  })
})
