/** Exclusive records: all or nothing at the path, whatever the writer's fate; temporary leftovers swept. */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TMP_MARK, createJsonExclusive, listDir, removeTempFiles } from '../../../src/state/index.js'

describe('state/files', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-files-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('createJsonExclusive: the first writer wins with its whole record, the second gets false; no temporary file stays', () => {
    const p = join(dir, 'ports', 'tcp-80', '*')
    assert.equal(createJsonExclusive(p, { owner: 'a' }), true)
    assert.equal(createJsonExclusive(p, { owner: 'b' }), false)
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { owner: 'a' })
    assert.deepEqual(readdirSync(join(dir, 'ports', 'tcp-80')), ['*'])
  })

  it('what a writer killed mid-write leaves is a temporary file, never the record: listings skip it, removeTempFiles sweeps it', () => {
    const d = join(dir, 'tcp-81')
    assert.equal(createJsonExclusive(join(d, '*'), { owner: 'a' }), true)
    rmSync(join(d, '*'))
    writeFileSync(join(d, `*${TMP_MARK}12345-1`), '') // killed after its create, before link(2)
    assert.deepEqual(listDir(d), [])
    assert.equal(createJsonExclusive(join(d, '*'), { owner: 'b' }), true, 'the leftover does not block the next claim')
    assert.equal(removeTempFiles(d), 1)
    assert.deepEqual(readdirSync(d), ['*'])
    assert.equal(removeTempFiles(join(dir, 'missing')), 0)
  })
})
