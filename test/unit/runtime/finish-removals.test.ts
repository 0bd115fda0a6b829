/** Which removals a new supervisor finishes, and with what grace period (src/runtime/finish-removals.ts). */
import assert from 'node:assert/strict'
import { remainingGraceSeconds, removalsToFinish } from '../../../src/runtime/finish-removals.js'
import type { PodRecord } from '../../../src/runtime/index.js'

const rec = (name: string, phase: PodRecord['phase'], extra: Partial<PodRecord> = {}): PodRecord =>
  ({ name, phase, spec: { terminationGracePeriodSeconds: 30 }, createdAt: '', sandbox: {}, containers: [], ...extra }) as unknown as PodRecord

describe('runtime/finish-removals', () => {
  it('gives what is left of the recorded grace period, counted from the deletionTimestamp', () => {
    const t = Date.parse('2026-12-03T08:00:00.000Z')
    const at = { deletionTimestamp: '2026-12-03T08:00:00.000Z' }
    assert.equal(remainingGraceSeconds(rec('a', 'Running', { ...at, deletionGracePeriodSeconds: 0 }), t + 5000), 0, 'pod rm -t 0 stays 0')
    assert.equal(remainingGraceSeconds(rec('a', 'Running', { ...at, deletionGracePeriodSeconds: 10 }), t + 4500), 6)
    assert.equal(remainingGraceSeconds(rec('a', 'Running', at), t + 40_000), 0, 'the spec\'s 30 s have passed')
    assert.equal(remainingGraceSeconds(rec('a', 'Running', at), t), 30, 'none recorded: the spec\'s')
  })

  it('takes adopted, live and ended pods with a deletionTimestamp; leaves the lost active ones to restoreLost', () => {
    const del = { deletionTimestamp: '2026-12-03T08:00:00.000Z' }
    const records: Record<string, PodRecord> = {
      adopted: rec('adopted', 'Running', del), live: rec('live', 'Running', del), ended: rec('ended', 'Succeeded', del),
      lost: rec('lost', 'Failed', { ...del, reason: 'Lost' }), plain: rec('plain', 'Running'),
    }
    const persistent: Record<string, PodRecord> = { ...records, lost: rec('lost', 'Running', del) }
    const store = {
      names: () => Object.keys(records),
      read: (n: string) => records[n],
      readPersistent: (n: string) => persistent[n],
      hasLive: (n: string) => n === 'live',
    }
    assert.deepEqual(removalsToFinish(store, (n) => n === 'adopted').map((r) => r.name), ['adopted', 'live', 'ended'])
  })
})
