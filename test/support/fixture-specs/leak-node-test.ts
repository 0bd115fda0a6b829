/** The node:test twin of leak-mocha.spec.ts (run with `node --test`). */
import { describe, it } from 'node:test'
import { listen, serve, useTempNetns, useTopology } from '../../../src/testing/index.js'

describe('fixtures under failure (node:test)', () => {
  const t = useTempNetns({ prefix: 'pn-leak' })
  const topo = useTopology()

  it('fails while holding a namespace and a server', async () => {
    await listen(t(), 'tcp', 7, { reply: 'echo' })
    await serve(topo().host, 'udp', 53)
    throw new Error('boom')
  })

  it('times out while holding a topology and a server', { timeout: 300 }, async () => {
    await listen(topo().host, 'udp', 9, { reply: 'echo' })
    await new Promise(() => {})
  })
})
