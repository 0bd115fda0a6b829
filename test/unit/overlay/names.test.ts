/** OverlayNames over a MemoryStore: publishing differences on the lease, mirroring the other nodes, store loss. */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RemoteNamesFile } from '../../../src/bridge/types.js'
import { NAMES_PREFIX, OverlayNames, namesKey } from '../../../src/overlay/names.js'
import { MemoryStore } from '../../../src/overlay/store/memory.js'

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> => {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('overlay/names: pod names across nodes', () => {
  let dir: string
  let store: MemoryStore
  const made: OverlayNames[] = []
  const warnings: string[] = []
  const att = (node: string): string => join(dir, node, 'attachments')
  const mirror = (node: string): string => join(dir, node, 'names.json')
  const names = (node: string, lease: () => string): OverlayNames => {
    const n = new OverlayNames({ store, node, lease, attachmentsDir: () => att(node), remoteNamesPath: () => mirror(node), warn: (m) => warnings.push(m), intervalMs: 20 })
    made.push(n)
    return n
  }
  const attach = (node: string, id: string, dnsNames: string[] | undefined, address: string): void => {
    mkdirSync(att(node), { recursive: true })
    writeFileSync(join(att(node), `${id}@eth0.json`), JSON.stringify({ id, ifname: 'eth0', addresses: [{ address }], ...(dnsNames && { dnsNames }) }))
  }
  const keys = async (): Promise<string[]> => (await store.list(NAMES_PREFIX)).kvs.map((kv) => kv.key.slice(NAMES_PREFIX.length)).sort()
  const readMirror = (node: string): RemoteNamesFile | undefined => { try { return JSON.parse(readFileSync(mirror(node), 'utf8')) } catch { return undefined } }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'podnet-names-'))
    store = new MemoryStore()
    warnings.length = 0
  })
  afterEach(() => {
    for (const n of made.splice(0)) n.close()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('publishes named attachments on the lease, only differences, and removes detached ones', async () => {
    const lease = (await store.grantLease(30)).id
    attach('n1', 'web', ['web', 'api'], '10.244.0.2/24')
    attach('n1', 'anon', undefined, '10.244.0.3/24')
    names('n1', () => lease).add('ov', '10.244.0.0/16')
    await until('web published', async () => (await keys()).length === 1)
    assert.deepEqual(await keys(), ['ov/n1/web@eth0'])
    const kv = await store.get(namesKey('ov', 'n1', 'web@eth0'))
    assert.deepEqual(JSON.parse(kv!.value), { names: ['web', 'api'], addresses: ['10.244.0.2/24'] })
    assert.equal(kv!.lease, lease)
    const rev = kv!.modRevision
    await new Promise((r) => setTimeout(r, 100)) // several ticks: nothing rewritten
    assert.equal((await store.get(namesKey('ov', 'n1', 'web@eth0')))!.modRevision, rev)
    unlinkSync(join(att('n1'), 'web@eth0.json'))
    await until('web unpublished', async () => (await keys()).length === 0)
  })

  it('reads a record again when it is replaced (detach and attach under the same id between two reads)', async () => {
    const lease = (await store.grantLease(30)).id
    attach('n1', 'web', ['web'], '10.244.0.2/24')
    names('n1', () => lease).add('ov', '10.244.0.0/16')
    await until('published', async () => (await keys()).length === 1)
    unlinkSync(join(att('n1'), 'web@eth0.json'))
    attach('n1', 'web', ['web'], '10.244.0.9/24')
    await until('the new address published', async () => JSON.parse((await store.get(namesKey('ov', 'n1', 'web@eth0')))?.value ?? '{}').addresses?.[0] === '10.244.0.9/24')
  })

  it('a network that left the store: its keys are deleted at once (the lease lives on) and its mirror file goes', async () => {
    const lease = (await store.grantLease(30)).id
    attach('n1', 'web', ['web'], '10.244.0.2/24')
    const n = names('n1', () => lease)
    n.add('ov', '10.244.0.0/16')
    await until('published and mirrored', async () => (await keys()).length === 1 && readMirror('n1') !== undefined)
    await n.remove('ov', true)
    assert.deepEqual(await keys(), [])
    assert.equal(readMirror('n1'), undefined)
  })

  it('republishes everything on a new lease (the old one expired with its keys)', async () => {
    let lease = (await store.grantLease(30)).id
    attach('n1', 'web', ['web'], '10.244.0.2/24')
    names('n1', () => lease).add('ov', '10.244.0.0/16')
    await until('published', async () => (await keys()).length === 1)
    store.expireLease(lease)
    assert.deepEqual(await keys(), [])
    lease = (await store.grantLease(30)).id
    await until('published again', async () => (await keys()).length === 1)
    assert.equal((await store.get(namesKey('ov', 'n1', 'web@eth0')))!.lease, lease)
  })

  it("mirrors the other nodes' names (not its own) with the cluster subnet; a bad record is skipped with a warning", async () => {
    const l1 = (await store.grantLease(30)).id
    const l2 = (await store.grantLease(30)).id
    attach('n1', 'web', ['web'], '10.244.0.2/24')
    attach('n2', 'db', ['db'], '10.244.1.2/24')
    names('n1', () => l1).add('ov', '10.244.0.0/16')
    names('n2', () => l2).add('ov', '10.244.0.0/16')
    await until('both mirrors', () => readMirror('n1')?.records.length === 1 && readMirror('n2')?.records.length === 1)
    assert.deepEqual(readMirror('n1'), { cluster: '10.244.0.0/16', records: [{ node: 'n2', names: ['db'], addresses: ['10.244.1.2/24'] }] })
    assert.deepEqual(readMirror('n2')!.records, [{ node: 'n1', names: ['web'], addresses: ['10.244.0.2/24'] }])
    await store.put(namesKey('ov', 'n3', 'x@eth0'), 'not json')
    await until('the warning', () => warnings.some((w) => w.includes('/n3/x@eth0') && w.includes('not a name record')))
    // n2's lease ends: its names leave n1's mirror
    store.expireLease(l2)
    await until('n2 gone from n1', () => readMirror('n1')?.records.length === 0)
  })

  it('keeps the last mirror while the store is away, and retries writes until it is back', async () => {
    const l1 = (await store.grantLease(30)).id
    names('n1', () => l1).add('ov', '10.244.0.0/16')
    await until('an empty mirror', () => readMirror('n1') !== undefined)
    store.unavailable = true
    attach('n1', 'web', ['web'], '10.244.0.2/24')
    await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(readMirror('n1'), { cluster: '10.244.0.0/16', records: [] })
    store.unavailable = false
    await until('published after the store came back', async () => (await keys()).length === 1)
  })
})
