/**
 * Many processes on one disk store at once (no root, no network): the flock must make every
 * allocation see the others. Workers are compiled from fixtures/ipam-worker.ts.
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Allocator, DiskStore, ipFromRecordFileName, ownerHash, parseRangeSets, parseRecord } from '../../../../src/bridge/ipam/index.js'

const WORKER = fileURLToPath(new URL('./fixtures/ipam-worker.js', import.meta.url))

interface WorkerResult {
  held: Array<[string, string[]]>
  errors: string[]
}

/** Starts a worker and resolves once it printed `marker`; `done` settles with its JSON line. */
function startWorker(args: string[], marker = 'ready'): Promise<{ child: ChildProcessWithoutNullStreams; done: Promise<WorkerResult> }> {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const done = new Promise<WorkerResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker ${args.join(' ')} exited ${code}: ${err}`))
      const last = out.trim().split('\n').pop() ?? ''
      resolve(JSON.parse(last) as WorkerResult)
    })
  })
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.split('\n').includes(marker)) resolve({ child, done })
    })
    done.catch(reject)
  })
}

/** Starts n workers, releases them together, returns their results. */
async function runTogether(n: number, args: (i: number) => string[]): Promise<WorkerResult[]> {
  const workers = await Promise.all(Array.from({ length: n }, (_, i) => startWorker(args(i))))
  for (const w of workers) w.child.stdin.end('go\n')
  return Promise.all(workers.map((w) => w.done))
}

/**
 * Reads the store directory independently of the store code's list(), and checks that every
 * record has exactly one owner-index entry (a hard link named after its owner) and no more.
 */
function recordsOnDisk(dir: string): Map<string, string> {
  const owners = new Map<string, string>()
  const entries = new Set<string>()
  for (const h of readdirSync(join(dir, 'owners'))) {
    if (h === 'complete') continue
    for (const r of readdirSync(join(dir, 'owners', h))) entries.add(join(h, r))
  }
  for (const name of readdirSync(dir)) {
    assert.ok(!name.startsWith('.tmp-'), `temporary file left behind: ${name}`)
    const ip = ipFromRecordFileName(name)
    if (ip === undefined) {
      assert.ok(['lock', 'owners', 'last_reserved.0', 'last_reserved.1'].includes(name), `unexpected file ${name}`)
      continue
    }
    const rec = parseRecord(readFileSync(join(dir, name), 'utf8'))
    assert.equal(rec.ifname, 'eth0')
    assert.match(rec.allocatedAt, /^\d{4}-\d\d-\d\dT/)
    owners.set(ip, rec.containerId)
    const entry = join(ownerHash(rec), name)
    assert.ok(entries.delete(entry), `no index entry for ${ip}`)
    assert.equal(statSync(join(dir, 'owners', entry)).ino, statSync(join(dir, name)).ino)
  }
  assert.deepEqual([...entries], [], 'index entries without a record')
  return owners
}

describe('bridge/ipam concurrency (8 processes, one disk store)', function () {
  this.timeout(60000)
  let dir = ''
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-ipam-conc-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('8 x 25 allocations at once end with 200 distinct addresses per family and a consistent store', async () => {
    const results = await runTogether(8, (i) => ['dynamic', dir, String(i), '25'])
    const held = results.flatMap((r) => r.held)
    assert.deepEqual(results.flatMap((r) => r.errors), [])
    assert.equal(held.length, 200)
    const v4 = held.map(([, ips]) => ips[0] as string)
    const v6 = held.map(([, ips]) => ips[1] as string)
    assert.equal(new Set(v4).size, 200)
    assert.equal(new Set(v6).size, 200)
    // Round robin with nothing released: exactly the first 200 addresses of each range.
    assert.deepEqual(new Set(v4), new Set(Array.from({ length: 200 }, (_, i) => `10.77.0.${i + 2}`)))

    const onDisk = recordsOnDisk(dir)
    assert.equal(onDisk.size, 400)
    for (const [owner, ips] of held) for (const ip of ips) assert.equal(onDisk.get(ip), owner, ip)
    const lastV4 = readFileSync(join(dir, 'last_reserved.0'), 'utf8')
    assert.equal(lastV4, '10.77.0.201')

    // The store agrees with the files, and goes on from where the workers stopped.
    const alloc = new Allocator(new DiskStore(dir))
    assert.equal((await alloc.list()).length, 400)
    assert.deepEqual((await alloc.allocate({ containerId: 'after', ifname: 'eth0' }, parseRangeSets([{ subnet: '10.77.0.0/24' }]))).map((a) => a.ip), ['10.77.0.202'])
  })

  it('allocations and releases interleaved across processes never share an address', async () => {
    const results = await runTogether(8, (i) => ['churn', dir, String(i), '20'])
    assert.deepEqual(results.flatMap((r) => r.errors), [])
    const held = results.flatMap((r) => r.held)
    assert.equal(held.length, 8 * 20)
    const onDisk = recordsOnDisk(dir)
    assert.equal(onDisk.size, held.length * 2)
    for (const [owner, ips] of held) for (const ip of ips) assert.equal(onDisk.get(ip), owner, ip)
  })

  it('one static address requested by 8 processes at once goes to exactly one', async () => {
    const results = await runTogether(8, (i) => ['static', dir, String(i), '1'])
    const winners = results.flatMap((r) => r.held)
    assert.equal(winners.length, 1)
    assert.deepEqual(winners[0]?.[1][0], '10.77.0.100')
    assert.deepEqual(results.flatMap((r) => r.errors).sort(), Array(7).fill('AddressInUseError'))
    assert.equal(recordsOnDisk(dir).get('10.77.0.100'), winners[0]?.[0])
  })

  it('a transaction waits for the lock another process holds', async () => {
    const holder = await startWorker(['hold', dir, '0', '400'])
    holder.child.stdin.end('go\n')
    await new Promise<void>((resolve) => {
      const check = (d: Buffer): void => { if (d.toString().includes('locked')) resolve() }
      holder.child.stdout.on('data', check)
    })
    const t0 = performance.now()
    new DiskStore(dir).transaction((tx) => tx.ips())
    const waited = performance.now() - t0
    await holder.done
    assert.ok(waited > 200, `took the lock after ${waited.toFixed(0)} ms while another process held it for 400 ms`)
  })
})
