/** What a container's end means (runtime/exit-classifier.ts): exit record, launcher status and OOM count to Kubernetes' terminated state. */
import assert from 'node:assert/strict'
import { classifyExit } from '../../../src/runtime/exit-classifier.js'

const now = '2026-12-02T10:00:10.000Z'
const record = (o: Partial<{ exitCode: number; signal: number; startError: string }> = {}) => ({
  exitCode: 0, signal: 0, pid: 42, startedAtMs: Date.parse('2026-12-02T10:00:00.000Z'), finishedAtMs: Date.parse('2026-12-02T10:00:05.000Z'), ...o,
})

describe('runtime/exit-classifier', () => {
  it('an exit record: its code, times and Completed or Error', () => {
    assert.deepEqual(classifyExit({ exit: record(), code: 0, signal: null, now }), {
      status: 'terminated', exitCode: 0, reason: 'Completed', startedAt: '2026-12-02T10:00:00.000Z', finishedAt: '2026-12-02T10:00:05.000Z',
    })
    const err = classifyExit({ exit: record({ exitCode: 3 }), code: 3, signal: null, now, startedAt: '2026-12-02T09:59:59.000Z' })
    assert.deepEqual([err.exitCode, err.reason, err.startedAt], [3, 'Error', '2026-12-02T09:59:59.000Z'])
  })

  it('a signal in the record is kept; a start error is StartError with its message', () => {
    const killed = classifyExit({ exit: record({ exitCode: 143, signal: 15 }), code: 143, signal: null, now })
    assert.deepEqual([killed.exitCode, killed.signal, killed.reason], [143, 15, 'Error'])
    const notFound = classifyExit({ exit: record({ exitCode: 127, startError: 'exec "nope": No such file or directory' }), code: 127, signal: null, now })
    assert.deepEqual([notFound.reason, notFound.message], ['StartError', 'exec "nope": No such file or directory'])
  })

  it('no record: the launcher was killed (128 + signal, SIGKILL when unknown), or reported an error before the container ran', () => {
    const killed = classifyExit({ code: null, signal: 'SIGKILL', now })
    assert.deepEqual([killed.exitCode, killed.signal, killed.reason, killed.startedAt, killed.finishedAt], [137, 9, 'Error', now, now])
    assert.match(killed.message ?? '', /without an exit record/)
    const unknown = classifyExit({ code: null, signal: null, now })
    assert.equal(unknown.exitCode, 137)
    const failed = classifyExit({ code: 1, signal: null, status: { ok: false, error: 'cannot join cgroup' }, now })
    assert.deepEqual([failed.exitCode, failed.reason, failed.message], [1, 'StartError', 'cannot join cgroup'])
  })

  it('a run a deliberate stop ended: Stopped with its code (143, 137), Completed when it exited 0; OOMKilled and StartError still win', () => {
    const termed = classifyExit({ exit: record({ exitCode: 143, signal: 15 }), code: 143, signal: null, now, stopped: true })
    assert.deepEqual([termed.exitCode, termed.signal, termed.reason], [143, 15, 'Stopped'])
    assert.equal(classifyExit({ code: 137, signal: null, now, stopped: true }).reason, 'Stopped')
    assert.equal(classifyExit({ exit: record(), code: 0, signal: null, now, stopped: true }).reason, 'Completed')
    assert.equal(classifyExit({ exit: record({ exitCode: 137, signal: 9 }), code: 137, signal: null, now, stopped: true, oomKillsAtStart: 0, oomKillsNow: 1 }).reason, 'OOMKilled')
    assert.equal(classifyExit({ exit: record({ exitCode: 127, startError: 'x' }), code: 127, signal: null, now, stopped: true }).reason, 'StartError')
  })

  it('OOMKilled when the cgroup counted a kill during the run (not one from an earlier run)', () => {
    assert.equal(classifyExit({ exit: record({ exitCode: 137, signal: 9 }), code: 137, signal: null, now, oomKillsAtStart: 2, oomKillsNow: 3 }).reason, 'OOMKilled')
    assert.equal(classifyExit({ exit: record({ exitCode: 137, signal: 9 }), code: 137, signal: null, now, oomKillsAtStart: 3, oomKillsNow: 3 }).reason, 'Error')
    assert.equal(classifyExit({ exit: record({ exitCode: 127, startError: 'x' }), code: 127, signal: null, now, oomKillsAtStart: 0, oomKillsNow: 1 }).reason, 'StartError', 'a start error wins')
  })
})
