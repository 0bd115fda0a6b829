/** Kubernetes' restart rules and CrashLoopBackOff as pure functions. */
import assert from 'node:assert/strict'
import { KUBERNETES_BACKOFF, finalPhase, nextBackoff, shouldRestart } from '../../../src/runtime/restart-policy.js'

describe('runtime/restart-policy', () => {
  it('restarts exactly as Kubernetes does', () => {
    assert.equal(shouldRestart('Always', 0), true)
    assert.equal(shouldRestart('Always', 1), true)
    assert.equal(shouldRestart('OnFailure', 0), false)
    assert.equal(shouldRestart('OnFailure', 1), true)
    assert.equal(shouldRestart('OnFailure', 137), true)
    assert.equal(shouldRestart('Never', 0), false)
    assert.equal(shouldRestart('Never', 1), false)
  })
  it('back-off: 10 s doubling to 5 min', () => {
    let state = { step: 0 }
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      const n = nextBackoff(state, 1000, KUBERNETES_BACKOFF)
      delays.push(n.delayMs / 1000)
      state = n.state
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 300, 300, 300])
  })
  it('back-off resets after a run of 10 minutes', () => {
    const n = nextBackoff({ step: 5 }, 600_000, KUBERNETES_BACKOFF)
    assert.equal(n.delayMs, 10_000)
    assert.deepEqual(n.state, { step: 1 })
    assert.equal(nextBackoff({ step: 5 }, 599_999, KUBERNETES_BACKOFF).delayMs, 300_000)
  })
  it('base is configurable (tests)', () => {
    const o = { baseMs: 100, maxMs: 1000, resetAfterMs: 5000 }
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((step) => nextBackoff({ step }, 0, o).delayMs), [100, 200, 400, 800, 1000, 1000])
  })
  it('final phase', () => {
    assert.equal(finalPhase([0, 0]), 'Succeeded')
    assert.equal(finalPhase([0, 1]), 'Failed')
  })
})
