/** docker's --since (src/cli/time-arg.ts): durations back from now, RFC 3339 times, Unix seconds. */
import assert from 'node:assert/strict'
import { parseSince } from '../../../src/cli/time-arg.js'

describe('cli/time-arg parseSince', () => {
  const now = Date.parse('2026-12-02T10:00:00.000Z')
  it('durations in Go syntax, back from now', () => {
    assert.equal(parseSince('10s', '--since', now), now - 10_000)
    assert.equal(parseSince('1h30m', '--since', now), now - 5_400_000)
    assert.equal(parseSince('1.5h', '--since', now), now - 5_400_000)
    assert.equal(parseSince('250ms', '--since', now), now - 250)
  })
  it('times: RFC 3339 with a zone, zone-less as UTC, a date, Unix seconds', () => {
    assert.equal(parseSince('2026-12-02T09:00:00Z'), Date.parse('2026-12-02T09:00:00Z'))
    assert.equal(parseSince('2026-12-02T11:00:00+02:00'), Date.parse('2026-12-02T09:00:00Z'))
    assert.equal(parseSince('2026-12-02T09:00:00'), Date.parse('2026-12-02T09:00:00Z'))
    assert.equal(parseSince('2026-12-02'), Date.parse('2026-12-02T00:00:00Z'))
    assert.equal(parseSince('1764669600.5'), 1764669600500)
  })
  it('anything else: a usage error naming the flag', () => {
    for (const bad of ['yesterday', '5x', '-1s', '', '2026-13-45T99:00:00Z']) {
      assert.throws(() => parseSince(bad, '--since', now), (e: Error & { code?: string }) => e.code === 'ERR_PODNET_INVALID' && e.message.startsWith('--since: '), bad)
    }
  })
})
