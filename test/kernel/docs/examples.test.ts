/**
 * The examples of docs/library.md, run as a user would run them (node on the compiled file,
 * importing 'podnet' by its package name), inside the sandbox. Each must exit 0 and print what
 * its comments promise, and leave no namespace behind.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { Netns } from '../../../src/netns/index.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const examples = join(root, 'dist', 'docs', 'examples')

function run(file: string, args: string[] = []): string {
  const r = spawnSync(process.execPath, [...args, join(examples, file)], { encoding: 'utf8', timeout: 60_000, cwd: root })
  assert.equal(r.status, 0, `${file} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

describe('kernel: the examples of docs/library.md', function () {
  this.timeout(120_000)
  let before: string[]
  beforeEach(() => { before = Netns.list() })
  afterEach(() => assert.deepEqual(Netns.list(), before, 'an example left a namespace behind'))

  it('podnet: namespaces, a veth pair, addresses, routes, iproute2 JSON, EEXIST', () => {
    const out = run('netns-rtnl.js').split('\n')
    const eth0 = JSON.parse(out[0]!) as { ifname: string; flags: string[]; address: string }
    assert.equal(eth0.ifname, 'eth0')
    assert.ok(eth0.flags.includes('UP'))
    const routes = JSON.parse(out[1]!) as Array<{ dst: string; gateway?: string }>
    assert.deepEqual(routes.find((r) => r.dst === 'default')?.gateway, '10.99.0.1')
    assert.equal(out[2], 'second add: EEXIST')
  })

  it('podnet/bridge', () => {
    assert.match(run('bridge.js'), /^network web bridge pn-web gateway 10\.98\.0\.1\nattached example-pod1 10\.98\.0\.2\/24 via pn[0-9a-f]{10}\ndrift \[\]\npublished tcp \*:8080 -> 10\.98\.0\.2:80\n$/)
  })

  it('podnet/runtime', () => {
    assert.equal(run('runtime.js'), 'phase Succeeded exit 0\nlog hello from hello\n')
  })

  it('podnet/workloads', () => {
    assert.match(run('workloads.js'), /^replicaset\.apps\/web created\nready web-[bcdfghjklmnpqrstvwxz2456789]{5} Running, web-[bcdfghjklmnpqrstvwxz2456789]{5} Running\nreplicaset\.apps "web" deleted\npods left 0\n$/)
  })

  it('podnet/cni', () => {
    assert.equal(run('cni.js'), 'ADD 0 10.97.0.2/24\nDEL 0\n')
  })

  it('podnet/overlay', () => {
    assert.equal(run('overlay.js'), 'node node1 underlay 192.168.77.1\nnode node2 underlay 192.168.77.2\nnode1 subnet 10.244.0.0/24 peers node2\nnode2 subnet 10.244.1.0/24 peers node1\n')
  })

  it('podnet/dns', () => {
    assert.equal(run('dns.js'), [
      'www.net1 {"kind":"answer","type":"A","data":["10.96.0.2"]}',
      'nope.net1 {"kind":"nxdomain"}',
      'example.com {"kind":"forward"}',
      '2.0.96.10.in-addr.arpa {"kind":"answer","type":"PTR","data":["web.net1"]}',
      'answerQuery reply NOERROR',
      'serving net1 10.96.0.1:53',
      'www.net1 NOERROR 10.96.0.2',
      'nope.net1 NXDOMAIN',
      '',
    ].join('\n'))
  })

  it('podnet/topology', () => {
    // inodes and ifindexes vary; the link-local address comes when the kernel's linkwatch runs
    const lines = [
      'veth pair ns:example-topo-a/veth-a ns:example-topo-b/eth0',
      'gateways of example-topo-b \\[\\{"dst":"default","via":"10\\.95\\.0\\.1","dev":"eth0"\\}\\]',
      'example-topo-a  netns \\d+',
      '\\|- lo  loopback  down  #1',
      '`- veth-a  veth  up  #\\d+  02:00:00:00:00:0a  mtu 1500  10\\.95\\.0\\.1/24(  fe80::ff:fe00:a/64)?  <-> example-topo-b/eth0',
      'example-topo-b  netns \\d+',
      '\\|- lo  loopback  down  #1',
      '\\|- eth0  veth  up  #\\d+  02:00:00:00:00:0b  mtu 1500  10\\.95\\.0\\.2/24(  fe80::ff:fe00:b/64)?  <-> example-topo-a/veth-a',
      '`- gateways: default via 10\\.95\\.0\\.1 dev eth0',
    ]
    assert.match(run('topology.js'), new RegExp(`^${lines.join('\\n')}\\n$`))
  })

  it('podnet/nftables', () => {
    assert.match(run('nftables.js'), /^rule handle \d+n comment pods out\nrules \[ 'postrouting #\d+ pods out' \]\n$/)
  })

  it('podnet/conntrack', () => {
    assert.equal(run('conntrack.js'), 'udp flows 0\ndeleted 0\n')
  })

  it('podnet/netlink', () => {
    assert.match(run('netlink.js'), /^1 lo 65536\n/)
  })

  it('podnet/errors', () => {
    assert.equal(run('errors.js'), 'true ERR_PODNET_EXISTS true\ntrue netns name ERR_PODNET_INVALID\n')
  })

  it('podnet/testing (a mocha spec)', () => {
    const r = spawnSync(join(root, 'node_modules', '.bin', 'mocha'), [join(examples, 'testing.spec.js')], { encoding: 'utf8', timeout: 60_000, cwd: root })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /1 passing/)
  })

  it('podnet/testing (a lab, faults and a capture, in a mocha spec)', () => {
    const r = spawnSync(join(root, 'node_modules', '.bin', 'mocha'), [join(examples, 'testing-lab.spec.js')], { encoding: 'utf8', timeout: 60_000, cwd: root })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /4 passing/)
  })

  it('podnet/testing (node:test)', () => {
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(examples, 'testing-node-test.js')], { encoding: 'utf8', timeout: 60_000, cwd: root })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /# pass 2\n# fail 0\n/)
  })
})
