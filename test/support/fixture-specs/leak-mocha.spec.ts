/**
 * Run by test/kernel/testing/fixtures.test.ts as a child mocha: one test fails and one times out
 * while holding fixtures and servers; the hooks must still tear everything down and mocha must exit.
 */
import { listen, serve, useTempNetns, useTopology } from '../../../src/testing/index.js'

describe('fixtures under failure (mocha)', function () {
  const t = useTempNetns({ prefix: 'pn-leak' })
  const topo = useTopology()

  it('fails while holding a namespace and a server', async () => {
    await listen(t(), 'tcp', 7, { reply: 'echo' })
    await serve(topo().host, 'udp', 53)
    throw new Error('boom')
  })

  it('times out while holding a topology and a server', async function () {
    this.timeout(300)
    await listen(topo().host, 'udp', 9, { reply: 'echo' })
    await new Promise(() => {})
  })
})
