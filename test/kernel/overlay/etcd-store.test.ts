/** EtcdStore against a real etcd member (in a namespace of the test's own), through the v3 JSON gateway. */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { UnavailableError } from '../../../src/errors.js'
import { connectInNetns } from '../../../src/netns/index.js'
import { EtcdStore, parseEtcdUrl } from '../../../src/overlay/store/etcd.js'
import { EtcdMember, createTempNetns, type TempNetns } from '../../../src/testing/index.js'
import { storeConformance } from '../../support/store-conformance.js'

describe('kernel: overlay/store: EtcdStore on a real etcd', function () {
  this.timeout(30000)
  let ns: TempNetns
  let member: EtcdMember
  let store: EtcdStore
  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    ns = createTempNetns('pn-etcd')
    ns.rt.addr.addSync({ cidr: '10.231.0.1/32', dev: 'lo' })
    member = new EtcdMember({ name: 'm1', host: '10.231.0.1', netns: ns.ns })
    await member.start()
    store = new EtcdStore('etcd://10.231.0.1:2379', { netns: ns.ns })
  })
  after(async () => {
    store?.close()
    await member?.destroy()
    ns?.close()
  })

  storeConformance({
    store: () => store,
    compact: (revision) => new Promise((resolve, reject) => {
      const body = JSON.stringify({ revision: String(revision), physical: true })
      const req = request('http://10.231.0.1:2379/v3/kv/compaction', { method: 'POST', createConnection: () => connectInNetns(ns.ns.fd, '10.231.0.1', 2379) }, (res) => { res.resume(); res.on('end', () => resolve()) })
      req.on('error', reject)
      req.end(body)
    }),
  })

  it('parses store URLs and refuses bad ones with the flag named', () => {
    assert.deepEqual(parseEtcdUrl('etcd://10.0.0.1:2379,10.0.0.2:2379'), ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'])
    assert.throws(() => parseEtcdUrl('etcd://10.0.0.1'), /store: .*no port/)
    assert.throws(() => parseEtcdUrl('etcd://'), /store:/)
  })

  it('fails over to the next endpoint, and reports an unreachable cluster within the bound', async () => {
    const s = new EtcdStore('etcd://10.231.0.9:2379,10.231.0.1:2379', { netns: ns.ns, timeoutMs: 500 })
    try {
      await s.put('/f/x', '1')
      assert.equal((await s.get('/f/x'))?.value, '1')
    } finally {
      s.close()
    }
    // 10.231.0.9 is routed (lo holds a /32, the namespace has no route for it): EHOSTUNREACH/ENETUNREACH or a timeout
    ns.rt.route.addSync({ dst: '10.231.1.0/24', dev: 'lo' })
    const dead = new EtcdStore('etcd://10.231.1.7:2379,10.231.1.8:2379', { netns: ns.ns, timeoutMs: 300 })
    const t0 = Date.now()
    try {
      await assert.rejects(dead.get('/x'), (err: Error) => err instanceof UnavailableError && /10\.231\.1\.7:2379.*10\.231\.1\.8:2379/.test(err.message))
    } finally {
      dead.close()
    }
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
  })
})
