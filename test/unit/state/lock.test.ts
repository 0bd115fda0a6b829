/**
 * The state lock (src/state/lock.ts): holders in one process queue by path (two managers of one
 * run dir in one process never deadlock), and waiting for a lock another process holds never
 * blocks the event loop.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withLock } from '../../../src/state/lock.js'
import { StateDir } from '../../../src/bridge/state.js'

describe('state/lock', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-lock-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('two StateDirs of one run dir in one process take turns (no self-deadlock on two flocks of one file)', async function () {
    this.timeout(10_000)
    const a = new StateDir({ stateDir: join(dir, 's'), runDir: join(dir, 'run') })
    const b = new StateDir({ stateDir: join(dir, 's'), runDir: join(dir, 'run') })
    const order: string[] = []
    let inside = 0
    const hold = (who: string, s: StateDir): Promise<void> => s.locked(async () => {
      inside++
      assert.equal(inside, 1, 'two holders at once')
      order.push(`${who}+`)
      await new Promise((r) => setTimeout(r, 50))
      order.push(`${who}-`)
      inside--
    })
    await Promise.all([hold('a', a), hold('b', b), hold('a2', a)])
    assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-', 'a2+', 'a2-'])
  })

  it('a lock held by another process is waited for off the event loop: timers keep firing', async function () {
    this.timeout(20_000)
    const path = join(dir, 'lock')
    // another process takes the flock and holds it for 600 ms
    const holder = spawn('flock', [path, 'sh', '-c', 'echo held; sleep 0.6'], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 20)
    const t0 = Date.now()
    try {
      await withLock(path, () => undefined)
    } finally {
      clearInterval(timer)
    }
    const waited = Date.now() - t0
    assert.ok(waited >= 300, `the lock was taken after ${waited} ms, while the other process held it`)
    assert.ok(ticks >= Math.floor(waited / 20) / 3, `only ${ticks} timer ticks in ${waited} ms: the event loop was blocked`)
  })

  it('the lock is released when the holder throws', async () => {
    const path = join(dir, 'lock')
    await assert.rejects(withLock(path, () => { throw new Error('boom') }), /boom/)
    assert.equal(await withLock(path, () => 'again'), 'again')
  })
})
