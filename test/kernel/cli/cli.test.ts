/** The podnet CLI: exit statuses, one-line errors, --json in iproute2's key names. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netns } from '../../../src/netns/index.js'
import { ipJson } from '../../../src/testing/index.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

function podnet(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

function ok(...args: string[]): string {
  const r = podnet(...args)
  assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

describe('cli: the single-file build', () => {
  const dist = join(dirname(bin), '..', 'dist')
  const traced = (env: Record<string, string>, ...args: string[]): { out: string; opened: string } => {
    const log = join(mkdtempSync(join(tmpdir(), 'podnet-strace-')), 'log')
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', log, bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
    assert.equal(r.status, 0, r.stderr)
    const opened = readFileSync(log, 'utf8')
    rmSync(dirname(log), { recursive: true })
    return { out: r.stdout, opened }
  }

  it('bin/podnet.js runs dist/cli/podnet.cjs when it is fresh, the modules otherwise, with the same answers', function () {
    const bundle = join(dist, 'cli', 'podnet.cjs')
    assert.ok(existsSync(bundle), `${bundle} is missing: scripts/setup.sh builds it`)
    if (statSync(bundle).mtimeMs < statSync(join(dist, 'src', 'cli', 'main.js')).mtimeMs) {
      this.skip() // stale after a bare tsc; scripts/setup.sh (npm test, .ci/run) rebuilds it
    }
    for (const args of [['--help'], ['network', '--help'], ['netns', 'ls', '--json'], ['pod', 'ls', '--json', '--state-dir', mkdtempSync(join(tmpdir(), 'podnet-st-'))]]) {
      const b = traced({}, ...args)
      const m = traced({ PODNET_NO_BUNDLE: '1' }, ...args)
      assert.equal(b.out, m.out, args.join(' '))
      assert.match(b.opened, /dist\/cli\/podnet\.cjs/)
      assert.match(b.opened, /dist\/cli\/podnet\.v8cache/)
      assert.doesNotMatch(b.opened, /dist\/src\/cli\/main\.js/, 'the bundle loads no ES module of podnet')
      assert.match(m.opened, /dist\/src\/cli\/main\.js/)
      assert.doesNotMatch(m.opened, /podnet\.cjs/)
    }
  })
})

describe('kernel: cli', () => {
  const A = 'pn-cli-a'
  const B = 'pn-cli-b'
  beforeEach(() => {
    ok('netns', 'add', A)
    ok('netns', 'add', B)
  })
  afterEach(() => {
    for (const n of [A, B]) if (Netns.exists(n)) Netns.remove(n)
  })

  it('netns add/ls/exec/del', () => {
    assert.deepEqual(JSON.parse(ok('netns', 'ls', '--json')).map((x: any) => x.name).filter((n: string) => n.startsWith('pn-cli')), [A, B])
    assert.match(ok('netns', 'ls'), /^NAME\n/)
    const r = podnet('netns', 'exec', A, '--', 'sh', '-c', 'readlink /proc/self/ns/net; exit 3')
    assert.equal(r.status, 3, 'exec passes the exit status through')
    assert.notEqual(r.stdout.trim(), spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim())
    ok('netns', 'del', A, B)
    assert.ok(!Netns.exists(A) && !Netns.exists(B))
  })

  it('link add/set/ls/show/del with --json matching ip -j', () => {
    ok('link', 'add', 'va', '-n', A, '--type', 'veth', '--peer', 'vb', '--peer-netns', B, '--mtu', '1400')
    ok('link', 'add', 'br0', '-n', A, '--type', 'bridge')
    ok('link', 'set', 'va', '-n', A, '--master', 'br0', '--up', '--hairpin', 'on')
    ok('link', 'set', 'br0', '-n', A, '--up')
    assert.equal(ipJson(B, 'link', 'show', 'vb')[0]!.mtu, 1400, '--mtu sets both ends')
    const ours = JSON.parse(ok('link', 'ls', '-n', A, '--json')) as any[]
    const theirs = ipJson(A, 'link', 'show') as any[]
    const pick = (o: any): unknown => ({ ifindex: o.ifindex, ifname: o.ifname, mtu: o.mtu, operstate: o.operstate, address: o.address, master: o.master, link_netnsid: o.link_netnsid, kind: o.linkinfo?.info_kind, flags: o.flags.filter((f: string) => f !== 'M-DOWN') })
    assert.deepEqual(ours.map(pick), theirs.map(pick))
    assert.equal(JSON.parse(ok('link', 'show', 'va', '-n', A, '--json'))[0].linkinfo.info_slave_data.mode, 1)
    const table = ok('link', 'ls', '-n', A)
    assert.match(table.split('\n')[0]!, /^INDEX\s+NAME\s+KIND\s+STATE\s+MTU\s+MASTER\s+ADDRESS\s+FLAGS$/)
    assert.match(table, /va\s+veth\s+\S+\s+1400\s+br0/)
    ok('link', 'set', 'vb', '-n', B, '--name', 'eth0', '--netns', A)
    assert.equal(ipJson(A, 'link', 'show', 'eth0')[0]!.ifname, 'eth0')
    ok('link', 'del', 'va', '-n', A)
    assert.equal((ipJson(A, 'link', 'show') as any[]).some((o) => o.ifname === 'va' || o.ifname === 'eth0'), false)
  })

  it('addr and route with --json matching ip -j', () => {
    ok('link', 'add', 'v0', '-n', A, '--type', 'veth', '--peer', 'v1', '--up')
    ok('addr', 'add', '10.5.0.2/24', '--dev', 'v0', '-n', A)
    ok('route', 'add', 'default', '--via', '10.5.0.1', '-n', A)
    ok('route', 'add', '10.6.0.0/16', '--dev', 'v0', '-n', A)
    const addrs = JSON.parse(ok('addr', 'ls', '--dev', 'v0', '-n', A, '--json'))
    assert.deepEqual(addrs[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => [a.local, a.prefixlen]), [['10.5.0.2', 24]])
    const ours = JSON.parse(ok('route', 'ls', '-4', '-n', A, '--json'))
    const theirs = JSON.parse(spawnSync('ip', ['-n', A, '-j', '-4', 'route'], { encoding: 'utf8' }).stdout)
    assert.deepEqual(ours, theirs)
    ok('route', 'replace', '10.6.0.0/16', '--via', '10.5.0.9', '-n', A)
    ok('route', 'del', '10.6.0.0/16', '-n', A)
    ok('addr', 'del', '10.5.0.2/24', '--dev', 'v0', '-n', A)
    assert.match(ok('route', 'ls', '-n', A), /^DST\s+GATEWAY\s+DEV/)
  })

  describe('bad input: exit 1 or 2, one line on stderr, nothing changed', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['netns', 'add', 'a/b'], 2, /netns name: 'a\/b' contains '\/'/],
      [['netns', 'add', '..'], 2, /'\.\.' is not allowed/],
      [['netns', 'add', 'x'.repeat(300)], 2, /the limit is 255/],
      [['link', 'add', 'sixteen-bytes-xx', '-n', A, '--type', 'bridge'], 2, /at most 15 bytes/],
      [['link', 'add', 'a:b', '-n', A, '--type', 'bridge'], 2, /contains '\/', ':'/],
      [['link', 'add', 'x0', '-n', 'pn-cli-nope', '--type', 'bridge'], 1, /netns 'pn-cli-nope' does not exist/],
      [['link', 'add', 'x0', '-n', A, '--type', 'veth'], 2, /needs --peer/],
      [['link', 'add', 'x0', '-n', A, '--type', 'dummy'], 2, /Allowed choices are veth, bridge/],
      [['link', 'set', 'lo', '-n', A, '--mtu', 'abc'], 2, /--mtu must be an integer/],
      [['link', 'set', 'lo', '-n', A, '--mtu', '10'], 2, /not a valid MTU/],
      [['link', 'set', 'lo', '-n', A, '--address', 'nope'], 2, /not a MAC address/],
      [['link', 'set', 'lo', '-n', A, '--master', 'lo'], 2, /a master must be a bridge/],
      [['link', 'del', 'ghost', '-n', A], 1, /link 'ghost' does not exist in netns 'pn-cli-a'/],
      [['addr', 'add', '10.0.0.300/24', '--dev', 'lo', '-n', A], 2, /not an IP address or CIDR/],
      [['addr', 'add', '10.0.0.1/24', '-n', A], 2, /required option '--dev/],
      [['route', 'add', 'default', '--via', '10.99.0.1', '-n', A], 1, /ENETUNREACH \(Network is unreachable\): Nexthop has invalid gateway/],
      [['frobnicate'], 2, /unknown command/],
    ]
    for (const [args, status, pattern] of cases) {
      it(`podnet ${args.join(' ').slice(0, 60)}`, () => {
        const before = JSON.stringify(ipJson(A, 'link', 'show')) + JSON.stringify(ipJson(A, 'addr', 'show'))
        const r = podnet(...args)
        assert.equal(r.status, status, r.stderr)
        assert.match(r.stderr, pattern)
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
        assert.equal(JSON.stringify(ipJson(A, 'link', 'show')) + JSON.stringify(ipJson(A, 'addr', 'show')), before)
      })
    }

    it('creating what exists names the colliding veth end', () => {
      ok('link', 'add', 'e0', '-n', A, '--type', 'veth', '--peer', 'e1', '--peer-netns', B)
      let r = podnet('link', 'add', 'new0', '-n', A, '--type', 'veth', '--peer', 'e1', '--peer-netns', B)
      assert.equal(r.status, 1)
      assert.match(r.stderr, /link 'e1' already exists in netns 'pn-cli-b' \(the peer end of the veth pair\)/)
      r = podnet('link', 'add', 'e0', '-n', A, '--type', 'veth', '--peer', 'zz', '--peer-netns', B)
      assert.match(r.stderr, /link 'e0' already exists in netns 'pn-cli-a' \(the first end/)
    })

    it('--json errors are one JSON object on stderr', () => {
      const r = podnet('link', 'ls', '-n', 'pn-cli-nope', '--json')
      assert.equal(r.status, 1)
      const e = JSON.parse(r.stderr)
      assert.equal(e.error.code, 'ERR_PODNET_NOT_FOUND')
    })

    it('without CAP_NET_ADMIN: says so, no stack', () => {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'link', 'add', 'x0', '--type', 'bridge'], { encoding: 'utf8' })
      assert.equal(r.status, 1)
      assert.match(r.stderr, /EPERM \(Operation not permitted\).*needs CAP_NET_ADMIN/)
      assert.doesNotMatch(r.stderr, /\n\s+at /)
    })
  })
})
