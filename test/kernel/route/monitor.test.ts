/** rtnetlink events, delivered without blocking the event loop. */
import assert from 'node:assert/strict'
import type { RouteEvent } from '../../../src/netlink/route/index.js'
import { ip, useTempNetns } from '../../../src/testing/index.js'

describe('kernel: route/monitor', () => {
  const t = useTempNetns()

  it('reports links and addresses created by ip(8), while timers keep running', async () => {
    const mon = t().rt.monitor(['link', 'addr'])
    const seen: RouteEvent[] = []
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 5)
    const collecting = (async () => {
      for await (const e of mon) {
        seen.push(e)
        if (e.kind === 'addr' && e.action === 'new' && e.address.local === '192.0.2.7') break
      }
    })()
    await new Promise((r) => setTimeout(r, 50))
    ip(t().name, 'link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1')
    ip(t().name, 'addr', 'add', '192.0.2.7/24', 'dev', 'ev0')
    await collecting
    clearInterval(timer)
    mon.close()
    assert.ok(seen.some((e) => e.kind === 'link' && e.action === 'new' && e.link.name === 'ev0'))
    assert.ok(seen.some((e) => e.kind === 'addr' && e.action === 'new' && e.address.local === '192.0.2.7'))
    assert.ok(ticks > 3, 'the event loop kept running while a read was pending')
  })

  it('reports deletions', async () => {
    ip(t().name, 'link', 'add', 'ev2', 'type', 'veth', 'peer', 'name', 'ev3')
    const mon = t().rt.monitor(['link'])
    const got = (async () => {
      for await (const e of mon) if (e.kind === 'link' && e.action === 'del' && e.link.name === 'ev2') return e
      return undefined
    })()
    await new Promise((r) => setTimeout(r, 50))
    ip(t().name, 'link', 'del', 'ev2')
    assert.ok(await got)
    mon.close()
  })
})
