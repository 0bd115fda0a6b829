/**
 * podnet-cni end to end through the executable, with the environment and stdin a runtime
 * passes (libcni's VERSION probe first, CNI_ARGS with K8S_POD_NAME, CNI_PATH), in the
 * sandbox's topology: real packets between two pods and out through NAT, ADD/CHECK/DEL/GC
 * cycles, a chain with the reference tuning plugin, and a plugin killed in the middle of ADD.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { ipFromRecordFileName } from '../../../src/bridge/ipam/index.js'
import { join } from 'node:path'
import { NetworkManager } from '../../../src/bridge/index.js'
import { createTopology, probe, serve, stopServers, unreachable, UPSTREAM, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { PLUGIN_BIN, cniEnv, cniExec, hostState, podAddrs, podnetPublishedPorts, podnetRuleComments, referencePlugin, type CniCall } from './helpers.js'

const addr = (cidr: string): string => cidr.split('/')[0]!

describe('kernel: podnet-cni through the executable', function () {
  this.timeout(120000)
  let topo: Topology
  let stateDir: string
  let mgr: NetworkManager | undefined
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    stateDir = join(topo.stateDir, 'cni')
  })
  afterEach(() => {
    stopServers()
    mgr?.close()
    mgr = undefined
    topo?.close()
  })
  const manager = (): NetworkManager => (mgr ??= new NetworkManager({ hostNetns: topo.host.name, stateDir, runDir: join(stateDir, 'run') }))

  /** The plugin entry of a conflist, as the runtime hands it over (name and cniVersion from the list). */
  const entry = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0', name: 'e2enet', type: 'podnet-cni', bridge: 'cni-e2e', isGateway: true, ipMasq: true, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.201.0.0/24', gateway: '10.201.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
    capabilities: { portMappings: true, ips: true, mac: true },
    podnet: { stateDir },
    ...extra,
  })

  /** What libcni does for one command: VERSION (netns and ifname "dummy"), then the command. */
  function runtime(cmd: string, pod: TempNetns | undefined, id: string, conf: Record<string, unknown>): CniCall {
    const v = cniExec(topo.host, cniEnv('VERSION', { id, netns: 'dummy', ifname: 'dummy' }), { cniVersion: conf.cniVersion })
    assert.equal(v.status, 0, v.stdout)
    assert.ok(v.json.supportedVersions.includes(conf.cniVersion))
    return cniExec(topo.host, cniEnv(cmd, { id, netns: pod ? pod.ns.path : '', ifname: 'eth0', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id}` }), conf)
  }

  it('ADD/CHECK/DEL/GC cycles with real packets between two pods and out through NAT', async () => {
    await serve(topo.upstream, 'tcp', 9000)
    await serve(topo.host, 'tcp', 7000)
    for (let cycle = 0; cycle < 2; cycle++) {
      const p1 = topo.pod()
      const p2 = topo.pod()
      const a1 = runtime('ADD', p1, `web-${cycle}`, entry({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] } }))
      assert.equal(a1.status, 0, a1.stdout)
      assert.equal(a1.stderr, '')
      const a2 = runtime('ADD', p2, `db-${cycle}`, entry())
      assert.equal(a2.status, 0, a2.stdout)
      const ip1 = addr(a1.json.ips[0].address)
      const ip2 = addr(a2.json.ips[0].address)
      assert.deepEqual(podAddrs(p1), [a1.json.ips[0].address])
      await serve(p1, 'tcp', 80)
      await serve(p2, 'tcp', 5432)
      assert.equal(probe(p1, 'tcp', '10.201.0.1', 7000), ip1, 'pod -> gateway')
      assert.equal(probe(p1, 'tcp', ip2, 5432), ip1, 'pod -> pod')
      assert.equal(probe(p2, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, 'pod -> upstream, masqueraded')
      assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4, 'upstream -> hostPort -> pod, client address kept')
      assert.equal(probe(p1, 'tcp', UPSTREAM.hostV4, 8080), '10.201.0.1', 'pod -> its own published port (hairpin)')
      for (const [pod, id, res] of [[p1, `web-${cycle}`, a1], [p2, `db-${cycle}`, a2]] as const) {
        const c = runtime('CHECK', pod, id, entry({ prevResult: res.json }))
        assert.equal(c.status, 0, c.stdout)
      }
      // DEL of the second pod (with prevResult, as from conmon's exit command): the first keeps working
      const d2 = runtime('DEL', p2, `db-${cycle}`, entry({ prevResult: a2.json }))
      assert.equal(d2.status, 0, d2.stdout)
      assert.equal(d2.stdout, '')
      assert.ok(unreachable(p1, 'tcp', ip2, 5432), 'the deleted pod is gone')
      assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4)
      // GC keeping only the first: nothing to remove; then the first goes by DEL and a GC with no one
      assert.equal(runtime('GC', undefined, 'x', entry({ 'cni.dev/valid-attachments': [{ containerID: `web-${cycle}`, ifname: 'eth0' }] })).status, 0)
      assert.equal(probe(p1, 'tcp', '10.201.0.1', 7000), ip1)
      assert.equal(runtime('DEL', p1, `web-${cycle}`, entry()).status, 0)
      assert.ok(unreachable(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), 'the published port went with the pod')
      assert.equal(runtime('GC', undefined, 'x', entry({ 'cni.dev/valid-attachments': [] })).status, 0)
      assert.deepEqual(manager().attachments('e2enet'), [])
      assert.deepEqual(await manager().check('e2enet'), [])
      stopServers()
      await serve(topo.upstream, 'tcp', 9000)
      await serve(topo.host, 'tcp', 7000)
    }
  })

  it('works as the first plugin of a chain: the reference tuning plugin gets its result as prevResult', () => {
    const pod = topo.pod()
    const conf = entry({ cniVersion: '1.0.0' })
    const a = runtime('ADD', pod, 'chained', conf)
    assert.equal(a.status, 0, a.stdout)
    const tuning = { cniVersion: '1.0.0', name: 'e2enet', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_local': '1' }, prevResult: a.json }
    const env = cniEnv('ADD', { id: 'chained', netns: pod.ns.path, ifname: 'eth0' })
    const t = referencePlugin(topo.host, 'tuning', env, tuning)
    assert.equal(t.status, 0, t.stdout)
    assert.deepEqual(t.json.ips, a.json.ips, 'tuning understood and passed on podnet\'s result')
    assert.deepEqual(t.json.interfaces.map((i: any) => i.name), a.json.interfaces.map((i: any) => i.name))
    assert.equal(String(pod.ns.spawnSync('cat', ['/proc/sys/net/ipv4/conf/eth0/accept_local'], { encoding: 'utf8' }).stdout).trim(), '1')
    // DEL runs the chain backwards, each with the final result as prevResult
    assert.equal(referencePlugin(topo.host, 'tuning', { ...env, CNI_COMMAND: 'DEL' }, { ...tuning, prevResult: t.json }).status, 0)
    assert.equal(runtime('DEL', pod, 'chained', entry({ cniVersion: '1.0.0', prevResult: t.json })).status, 0)
    assert.equal(pod.link('eth0'), undefined)
  })

  it('answers bad input with error JSON on stdout, exit 1 and an empty stderr', () => {
    const pod = topo.pod()
    const bad = cniExec(topo.host, cniEnv('ADD', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }), '{"cniVersion": "1.1.0", "name": "x"')
    assert.equal(bad.status, 1)
    assert.equal(bad.json.code, 6)
    assert.equal(bad.stderr, '')
    const noId = cniExec(topo.host, cniEnv('ADD', { netns: pod.ns.path, ifname: 'eth0' }), entry())
    assert.deepEqual(noId.json, { cniVersion: '1.1.0', code: 4, msg: 'required env variables [CNI_CONTAINERID] missing' })
  })

  it('a plugin killed during ADD, then GC with an empty valid list, leaves nothing', async () => {
    const first = topo.pod()
    assert.equal(runtime('ADD', first, 'first', entry()).status, 0, 'the network exists')
    assert.equal(runtime('DEL', first, 'first', entry()).status, 0)
    const settled = hostState(topo.host)
    const ipam = join(stateDir, 'run', 'networks', 'e2enet', 'ipam')
    const records = (): string[] => (existsSync(ipam) ? readdirSync(ipam).filter((f) => ipFromRecordFileName(f) !== undefined) : [])
    // Kill when ADD has reached a stage (watched from here while it runs), or after a delay.
    const stages: Array<[string, (pod: TempNetns) => boolean]> = [
      ['an address is allocated', () => records().length > 0],
      ['the veth exists', (pod) => pod.rt.link.findSync('eth0') !== undefined],
      ['eth0 has its address', (pod) => pod.rt.addr.listSync({ family: 4 }).some((a) => a.local.startsWith('10.201.'))],
      ['after 80 ms', () => false],
      ['after 150 ms', () => false],
    ]
    const pods: TempNetns[] = []
    const hits: string[] = []
    for (const [i, [stage, reached]] of [...stages, ...stages].entries()) {
      const pod = topo.pod()
      pods.push(pod)
      const child = topo.host.ns.spawn(PLUGIN_BIN, [], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...cniEnv('ADD', { id: `crash-${i}`, netns: pod.ns.path, ifname: 'eth0' }) },
        stdio: ['pipe', 'ignore', 'ignore'],
      })
      // let the event loop hand stdin over before watching synchronously
      await new Promise<void>((resolve) => child.stdin!.end(JSON.stringify(entry({ runtimeConfig: { portMappings: [{ hostPort: 20000 + i, containerPort: 80 }] } })), () => resolve()))
      const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      const delay = /after (\d+) ms/.exec(stage)
      if (delay) await new Promise((r) => setTimeout(r, Number(delay[1])))
      else {
        const until = Date.now() + 10000
        while (child.exitCode === null && Date.now() < until && !reached(pod)) { /* watch closely: the stages last milliseconds */ }
      }
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        hits.push(stage)
      }
      await ended
    }
    const leftovers = records().length + (topo.host.rt.link.listSync({ kind: 'veth' }).filter((l) => l.name.startsWith('pn')).length)
    if (process.env.PODNET_TEST_DEBUG) console.log({ hits, leftovers })
    assert.ok(hits.length > 0, 'ADDs were killed before they finished')
    assert.ok(leftovers > 0, `the killed ADDs left something for GC to remove (killed at: ${hits.join(', ')})`)
    const gc = runtime('GC', undefined, 'x', entry({ 'cni.dev/valid-attachments': [] }))
    assert.equal(gc.status, 0, gc.stdout)
    assert.equal(hostState(topo.host), settled, 'no veth, address or rule left on the host')
    for (const p of pods) assert.equal(p.link('eth0'), undefined, `${p.name}: no interface left in the pod`)
    assert.deepEqual(manager().attachments('e2enet'), [])
    assert.deepEqual(records(), [], 'no address allocated')
    assert.ok(!podnetRuleComments(topo.host).some((c) => c.includes('id=')), 'no port mapping rule')
    assert.deepEqual(podnetPublishedPorts(topo.host), [], 'no published port')
    const ports = join(stateDir, 'run', 'ports')
    assert.deepEqual(existsSync(ports) ? readdirSync(ports).flatMap((d) => readdirSync(join(ports, d))) : [], [], 'no host port claimed')
  })
})
