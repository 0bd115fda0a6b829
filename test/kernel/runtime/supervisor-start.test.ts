/**
 * A supervisor that cannot start: the command that needed it says why in one line (the cause,
 * the log's last line, where the log is) at once, not after the 15 s start deadline.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureSupervisor } from '../../../src/runtime/client.js'

describe('kernel: runtime: a supervisor that cannot start', function () {
  this.timeout(30_000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(process.env.PODNET_IN_SANDBOX === '1' ? '/run' : tmpdir(), 'podnet-sup-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('a bad setting: one line with the status, the reason from the log and the log path', async () => {
    const env = { ...process.env, PODNET_TEST_HALT_AT: 'nowhere' }
    const err = await ensureSupervisor(join(dir, 'state'), join(dir, 'run'), env).then(() => undefined, (e: Error) => e)
    assert.ok(err, 'it did not start')
    assert.equal(err.message.split('\n').length, 1, err.message)
    assert.match(err.message, /^the supervisor did not start \(exited with 1\): cannot start: PODNET_TEST_HALT_AT: unknown stage 'nowhere' .*; see .*supervisor\.log$/)
  })
})
