/** Log size marks (src/runtime/log-marks.ts): where --since and --tail start, on files in a temp dir. */
import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogMarker, marksPath, offsetOfTail, offsetSince } from '../../../src/runtime/log-marks.js'

describe('runtime/log-marks', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-marks-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('the marker notes a size only when it changed; --since starts at the last mark at or before the time', () => {
    const log = join(dir, 'app.log')
    writeFileSync(log, '')
    let t = 1000
    const m = new LogMarker(() => [log, join(dir, 'gone.log')], 1000, () => t)
    m.tick()
    appendFileSync(log, 'a\n'); t = 2000; m.tick()
    t = 3000; m.tick()
    appendFileSync(log, 'b\n'); t = 4000; m.tick()
    assert.equal(readFileSync(marksPath(log), 'utf8'), '2000 2\n4000 4\n')
    utimesSync(log, 5, 5) // mtime 5 s
    assert.equal(offsetSince(log, 1500), 0, 'before the first mark: the whole log')
    assert.equal(offsetSince(log, 2500), 2, 'after the mark of a: b only')
    assert.equal(offsetSince(log, 4500), 4)
    assert.equal(offsetSince(log, 6000), 4, 'after the last write (mtime): nothing')
  })

  it('--tail: the last N lines; a last line without its newline counts; never before `from`', () => {
    const log = join(dir, 'app.log')
    writeFileSync(log, 'one\ntwo\nthree')
    assert.equal(offsetOfTail(log, 1), 8)
    assert.equal(offsetOfTail(log, 2), 4)
    assert.equal(offsetOfTail(log, 9), 0)
    assert.equal(offsetOfTail(log, 0), 13)
    assert.equal(offsetOfTail(log, 9, 4), 4)
    writeFileSync(log, 'x\n'.repeat(70_000)) // more than one 64 KiB block
    assert.equal(offsetOfTail(log, 40_000), 60_000)
    assert.equal(offsetOfTail(join(dir, 'none.log'), 3), 0)
  })
})
