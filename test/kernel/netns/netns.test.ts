/** Named namespaces are interchangeable with `ip netns`. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { ExistsError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js'
import { Netns } from '../../../src/netns/index.js'
import { Rtnl } from '../../../src/netlink/route/index.js'
import { ip } from '../../../src/testing/index.js'

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' })

describe('kernel: netns (interchangeable with ip netns)', () => {
  afterEach(() => {
    for (const n of Netns.list()) if (n.startsWith('pn-ns-')) Netns.remove(n)
  })

  it('creates namespaces that ip netns lists and execs in', async () => {
    const ns = Netns.create('pn-ns-a')
    try {
      assert.ok(run('ip', 'netns', 'list').includes('pn-ns-a'))
      const rt = Rtnl.open({ netns: ns })
      await rt.link.add({ kind: 'bridge', name: 'brx' })
      rt.close()
      assert.match(run('ip', 'netns', 'exec', 'pn-ns-a', 'ip', '-br', 'link'), /brx/)
      assert.doesNotMatch(run('ip', '-br', 'link'), /brx/, 'not in the sandbox namespace')
    } finally {
      ns.close()
    }
  })

  it('opens and deletes namespaces made by ip netns add, and ip sees podnet deletions', async () => {
    run('ip', 'netns', 'add', 'pn-ns-b')
    assert.ok(Netns.list().includes('pn-ns-b'))
    assert.ok(Netns.exists('pn-ns-b'))
    const ns = Netns.open('pn-ns-b')
    const rt = Rtnl.open({ netns: ns })
    ip('pn-ns-b', 'link', 'add', 'iv0', 'type', 'veth', 'peer', 'name', 'iv1')
    assert.deepEqual((await rt.link.list({ kind: 'veth' })).map((l) => l.name).sort(), ['iv0', 'iv1'])
    rt.close()
    ns.close()
    Netns.remove('pn-ns-b')
    assert.doesNotMatch(run('ip', 'netns', 'list'), /pn-ns-b/)
    assert.ok(!existsSync('/run/netns/pn-ns-b'))
  })

  it('ip netns delete removes a podnet namespace', () => {
    Netns.create('pn-ns-c').close()
    run('ip', 'netns', 'delete', 'pn-ns-c')
    assert.ok(!Netns.list().includes('pn-ns-c'))
  })

  it('runs processes inside a namespace and leaves this thread where it was', () => {
    const before = run('readlink', '/proc/self/ns/net')
    const ns = Netns.create('pn-ns-d')
    try {
      const inside = ns.spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout
      assert.notEqual(inside, before)
      assert.equal(run('readlink', '/proc/self/ns/net'), before)
      assert.equal(ns.runSync(() => 7), 7)
    } finally {
      ns.close()
    }
  })

  it('refuses bad names and duplicates, and says when a namespace is missing', () => {
    for (const bad of ['', 'a/b', '.', '..', 'a\0b', 'x'.repeat(256)]) assert.throws(() => Netns.create(bad), InvalidArgumentError, JSON.stringify(bad))
    Netns.create('pn-ns-e').close()
    assert.throws(() => Netns.create('pn-ns-e'), ExistsError)
    assert.throws(() => Netns.open('pn-ns-missing'), NotFoundError)
    assert.throws(() => Netns.remove('pn-ns-missing'), /netns 'pn-ns-missing' does not exist/)
  })
})
