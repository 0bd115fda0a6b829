/** Addresses, routes and neighbours, differential against iproute2. */
import assert from 'node:assert/strict'
import { ExistsError, NotFoundError, InvalidArgumentError } from '../../../src/errors.js'
import { ip, useTempNetns } from '../../../src/testing/index.js'

describe('kernel: route/addr (differential with iproute2)', () => {
  const t = useTempNetns()
  beforeEach(async () => {
    await t().rt.link.add({ kind: 'veth', name: 'v0', up: true, peer: { name: 'v1', up: true } })
  })

  it('adds, lists, replaces and deletes IPv4 and IPv6 addresses', async () => {
    const rt = t().rt
    await rt.addr.add({ cidr: '10.7.0.1/24', dev: 'v0', broadcast: 'auto' })
    await rt.addr.add({ cidr: '10.7.1.1/16', dev: 'v0' })
    await rt.addr.add({ cidr: 'fd07::1/64', dev: 'v0', nodad: true })
    const [o] = t().ip('addr', 'show', 'dev', 'v0')
    const theirs = o!.addr_info.map((a: any) => `${a.family} ${a.local}/${a.prefixlen} ${a.scope}`).sort()
    const v0 = await rt.link.get('v0')
    const ours = (await rt.addr.list({ dev: 'v0' })).map((a) => `${a.family === 4 ? 'inet' : 'inet6'} ${a.local}/${a.prefixlen} ${['global'][a.scope] ?? (a.scope === 253 ? 'link' : a.scope)}`).sort()
    assert.deepEqual(ours, theirs)
    assert.ok(ours.includes('inet 10.7.0.1/24 global'))
    assert.ok(ours.includes('inet6 fd07::1/64 global'))
    assert.equal(o!.addr_info.find((a: any) => a.local === '10.7.0.1')!.broadcast, '10.7.0.255')
    assert.ok((await rt.addr.list()).every((a) => a.index === v0.index || a.index !== 0))
    await rt.addr.replace({ cidr: '10.7.0.1/24', dev: 'v0' })
    await rt.addr.del({ cidr: '10.7.1.1/16', dev: 'v0' })
    const after = t().ip('addr', 'show', 'dev', 'v0')[0]!.addr_info.map((a: any) => a.local)
    assert.ok(!after.includes('10.7.1.1'))
    assert.ok(after.includes('10.7.0.1'))
  })

  it('reads addresses made by ip(8), per family', async () => {
    ip(t().name, 'addr', 'add', '192.0.2.9/28', 'dev', 'v1')
    ip(t().name, '-6', 'addr', 'add', '2001:db8::9/64', 'dev', 'v1', 'nodad')
    const v4 = await t().rt.addr.list({ dev: 'v1', family: 4 })
    assert.deepEqual(v4.map((a) => `${a.local}/${a.prefixlen}`), ['192.0.2.9/28'])
    const v6 = (await t().rt.addr.list({ dev: 'v1', family: 6 })).map((a) => a.local)
    assert.ok(v6.includes('2001:db8::9'))
  })

  it('decodes every field as ip(8) shows it, and as the full attribute decode does', async () => {
    ip(t().name, 'addr', 'add', '192.0.2.9/28', 'brd', '+', 'label', 'v1:web', 'dev', 'v1')
    ip(t().name, 'addr', 'add', '10.9.0.1', 'peer', '10.9.0.2/32', 'dev', 'v1')
    ip(t().name, '-6', 'addr', 'add', '2001:db8::9/64', 'dev', 'v1', 'nodad', 'valid_lft', '3000', 'preferred_lft', '2000')
    const theirs = t().ip('addr', 'show', 'dev', 'v1')[0]!.addr_info as any[]
    const ours = await t().rt.addr.list({ dev: 'v1' })
    for (const o of theirs) {
      const a = ours.find((x) => x.local === o.local && x.prefixlen === o.prefixlen)
      assert.ok(a, `${o.local}/${o.prefixlen} missing from podnet's list`)
      assert.equal(a.family, o.family === 'inet' ? 4 : 6)
      assert.equal(a.broadcast, o.broadcast)
      assert.equal(a.label, o.label)
      assert.equal(a.peer, o.address)
      if (o.valid_life_time !== 4294967295) assert.ok(Math.abs((a.validLft ?? 0) - o.valid_life_time) <= 2, `${o.local} valid_lft`)
      if (o.preferred_life_time !== 4294967295) assert.ok(Math.abs((a.preferredLft ?? 0) - o.preferred_life_time) <= 2)
      assert.equal((a.flags & 2) !== 0, o.nodad === true, `${o.local} nodad`) // IFA_F_NODAD
      // the one-pass fields agree with the lazily decoded attributes
      assert.equal(a.local, String(a.attrs.local ?? a.attrs.address))
      assert.equal(a.flags, Number(a.attrs.flags))
      assert.equal(a.validLft, (a.attrs.cacheinfo as any)?.valid)
    }
    assert.equal(ours.length, theirs.length)
    assert.equal(ours.find((a) => a.local === '10.9.0.1')?.peer, '10.9.0.2')
    assert.equal(ours.find((a) => a.local === '192.0.2.9')?.label, 'v1:web')
  })

  it('refuses duplicates and deleting what is not there, plainly', async () => {
    await t().rt.addr.add({ cidr: '10.7.0.1/24', dev: 'v0' })
    await assert.rejects(t().rt.addr.add({ cidr: '10.7.0.1/24', dev: 'v0' }), ExistsError)
    await assert.rejects(t().rt.addr.del({ cidr: '10.9.9.9/24', dev: 'v0' }), NotFoundError)
    await assert.rejects(t().rt.addr.add({ cidr: '10.7.0.999/24', dev: 'v0' }), InvalidArgumentError)
    await assert.rejects(t().rt.addr.add({ cidr: '10.7.0.1/33', dev: 'v0' }), /invalid prefix length/)
    await assert.rejects(t().rt.addr.add({ cidr: '10.7.0.2/24', dev: 'nope0' }), NotFoundError)
  })
})

describe('kernel: route/route (differential with iproute2)', () => {
  const t = useTempNetns()
  beforeEach(async () => {
    const rt = t().rt
    await rt.link.add({ kind: 'veth', name: 'v0', up: true, peer: { name: 'v1', up: true } })
    await rt.addr.add({ cidr: '10.7.0.2/24', dev: 'v0' })
    await rt.addr.add({ cidr: 'fd07::2/64', dev: 'v0', nodad: true })
  })

  const strip = (r: any): any => { const { flags: _f, ...rest } = r; return rest }

  it('adds default and prefix routes that ip(8) lists identically', async () => {
    const rt = t().rt
    await rt.route.add({ dst: 'default', via: '10.7.0.1' })
    await rt.route.add({ dst: '10.8.0.0/16', via: '10.7.0.1', dev: 'v0', metric: 50 })
    await rt.route.add({ dst: '10.9.0.0/16', dev: 'v0' })
    await rt.route.add({ dst: 'default', via: 'fd07::1' })
    await rt.route.add({ dst: '10.10.0.0/16', via: '10.7.0.1', table: 100 })
    const { routeToJson } = await import('../../../src/cli/output.js')
    const links = await rt.link.list()
    const nameOf = (i: number): string | undefined => links.find((l) => l.index === i)?.name
    const v4ours = (await rt.route.list({ family: 4 })).map((r) => strip(routeToJson(r, nameOf)))
    const v4theirs = (JSON.parse(ip(t().name, '-j', '-4', 'route', 'show')) as any[]).map(strip) // plain -j, as `podnet route ls --json` mirrors
    assert.deepEqual(v4ours.map((r) => JSON.stringify(r)).sort(), v4theirs.map((r) => JSON.stringify(r)).sort())
    const t100 = await rt.route.list({ family: 4, table: 100 })
    assert.deepEqual(t100.map((r) => `${r.dst} ${r.gateway}`), ['10.10.0.0/16 10.7.0.1'])
    const v6 = await rt.route.list({ family: 6 })
    const def6 = v6.find((r) => r.dst === 'default')
    assert.equal(def6?.gateway, 'fd07::1')
    assert.ok((t().ip('-6', 'route', 'show') as any[]).some((r) => r.dst === 'default' && r.gateway === 'fd07::1'))
  })

  it('replaces and deletes routes', async () => {
    const rt = t().rt
    await rt.route.add({ dst: '10.8.0.0/16', via: '10.7.0.1' })
    await rt.route.replace({ dst: '10.8.0.0/16', via: '10.7.0.3' })
    assert.equal((t().ip('route', 'show', '10.8.0.0/16') as any[])[0].gateway, '10.7.0.3')
    await rt.route.del({ dst: '10.8.0.0/16' })
    assert.deepEqual(t().ip('route', 'show', '10.8.0.0/16'), [])
    await assert.rejects(rt.route.del({ dst: '10.8.0.0/16' }), NotFoundError)
    await assert.rejects(rt.route.add({ dst: '10.11.0.0/16' }), /needs a gateway/)
    await assert.rejects(rt.route.add({ dst: '10.11.0.0/16', via: 'fd07::1' }), /is IPv6 but/)
  })

  it('carries the kernel message for an unreachable gateway', async () => {
    await assert.rejects(t().rt.route.add({ dst: '10.12.0.0/16', via: '10.99.0.1' }),
      (e: any) => e.errnoName === 'ENETUNREACH' && /Nexthop has invalid gateway/.test(e.message))
  })

  it('lists neighbours, filtered by device', async () => {
    ip(t().name, 'neigh', 'add', '10.7.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'v0', 'nud', 'permanent')
    const ns = await t().rt.neigh.list({ dev: 'v0', family: 4 })
    const n = ns.find((x) => x.dst === '10.7.0.9')
    assert.equal(n?.lladdr, '02:00:00:00:00:09')
    assert.equal((t().ip('neigh', 'show', 'dev', 'v0') as any[]).find((x) => x.dst === '10.7.0.9').lladdr, '02:00:00:00:00:09')
    assert.deepEqual(await t().rt.neigh.list({ dev: 'v1', family: 4 }), [])
  })
})
