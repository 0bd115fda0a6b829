// podnet/testing under node:test (`node --test`): the same fixtures as with mocha, found without globals.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { listen, request, useTempNetns } from 'podnet/testing'

describe('my networked code (node:test)', () => {
  const t = useTempNetns()
  it('sees only loopback in a fresh namespace', async () => {
    const links = await t().rt.link.list()
    assert.deepEqual(links.map((l) => l.name), ['lo'])
  })
  it('talks to a TCP echo inside it', async () => {
    await listen(t(), 'tcp', 7, { reply: 'echo' })
    assert.equal((await request(t(), 'tcp', '127.0.0.1', 7, 'ping', { timeoutMs: 2000 })).toString(), 'ping')
  })
})
