// podnet/testing: a mocha test with a throwaway namespace per test (run inside a sandbox: scripts/sandbox.sh).
import assert from 'node:assert/strict'
import { useTempNetns } from 'podnet/testing'

describe('my networked code', () => {
  const t = useTempNetns()
  it('sees only loopback in a fresh namespace', async () => {
    const links = await t().rt.link.list()
    assert.deepEqual(links.map((l) => l.name), ['lo'])
  })
})
