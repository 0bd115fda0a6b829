import assert from 'node:assert/strict'
import { UnavailableError } from '../../../src/errors.js'
import { MemoryStore } from '../../../src/overlay/store/memory.js'
import { storeConformance } from '../../support/store-conformance.js'

describe('overlay/store: MemoryStore', () => {
  let s: MemoryStore
  beforeEach(() => { s = new MemoryStore() })
  afterEach(() => s.close())
  storeConformance({ store: () => s, compact: async (rev) => s.compact(rev) })

  it('fails every call and ends every watch while unavailable', async () => {
    const errors: Error[] = []
    s.watch('/', 1, { events: () => {}, error: (e) => errors.push(e) })
    await new Promise((r) => setTimeout(r, 5))
    s.unavailable = true
    assert.ok(errors[0] instanceof UnavailableError)
    await assert.rejects(s.get('/a'), UnavailableError)
    s.unavailable = false
    await s.put('/a', '1')
  })
})
