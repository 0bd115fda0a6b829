import assert from 'node:assert/strict'
import { UndoStack, rollbackErrorsOf } from '../../../src/bridge/undo.js'

describe('bridge/undo', () => {
  it('a failure runs the inverses in reverse order and rethrows the original error unchanged', async () => {
    const done: string[] = []
    const boom = new TypeError('step 3 failed')
    await assert.rejects(UndoStack.run(async (u) => {
      u.push('one', () => { done.push('undo 1') })
      u.push('two', async () => { done.push('undo 2') })
      throw boom
    }), (err: unknown) => err === boom)
    assert.deepEqual(done, ['undo 2', 'undo 1'])
    assert.deepEqual(rollbackErrorsOf(boom), [])
  })

  it('inverses that fail are all tried and attached to the error, which keeps its class', async () => {
    const done: string[] = []
    const boom = new RangeError('attach failed')
    await assert.rejects(UndoStack.run(async (u) => {
      u.push('release addresses', () => { done.push('release'); throw new Error('disk full') })
      u.push('delete veth', () => { done.push('veth') })
      throw boom
    }), RangeError)
    assert.deepEqual(done, ['veth', 'release'])
    const errs = rollbackErrorsOf(boom)
    assert.equal(errs.length, 1)
    assert.match(errs[0]!.message, /^undo "release addresses" failed: disk full$/)
    assert.ok(!Object.keys(boom).includes('rollbackErrors'), 'not enumerable: it does not show in JSON')
  })

  it('success forgets the inverses', async () => {
    let undone = false
    assert.equal(await UndoStack.run(async (u) => { u.push('x', () => { undone = true }); return 7 }), 7)
    assert.equal(undone, false)
    assert.deepEqual(rollbackErrorsOf('not an error'), [])
  })
})
