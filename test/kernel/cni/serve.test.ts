/**
 * `podnet cni serve` and the installed forwarder: requests served by the resident process, the
 * Node plugin when no daemon answers or the daemon is in another namespace, a daemon killed
 * in the middle of a request (the request is re-run, nothing is left half-done), a crashed ADD's
 * veth removed by the DEL that follows it, the socket's mode and owner checks, and SIGTERM
 * finishing the requests under way. The wire format's unit test is test/unit/cni/server.test.ts.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import { mkdtempSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExistsError } from '../../../src/errors.js'
import { NetworkManager, hostVethName } from '../../../src/bridge/index.js'
import { CniServer, installCni, type InstallReport } from '../../../src/cni/index.js'
import { encodeRequest } from '../../../src/cni/server.js'
import { createTopology, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniExec, podAddrs, type CniCall } from './helpers.js'

const PODNET_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
const NETWORK = 'servenet'

describe('kernel: podnet cni serve and the forwarder', function () {
  this.timeout(120000)
  let dir: string
  let inst: InstallReport
  let topo: Topology
  let mgr: NetworkManager | undefined
  const daemons: ChildProcess[] = []

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'podnet-cni-serve-'))
    inst = await installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), network: NETWORK, subnet: '10.214.0.0/24', stateDir: join(dir, 'state'), socket: join(dir, 'cni.sock') })
    assert.equal(inst.forwarder, true, inst.forwarderError)
  })
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }) })
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
  })
  afterEach(async () => {
    for (const d of daemons.splice(0)) {
      if (d.exitCode === null && d.signalCode === null) {
        const gone = new Promise((r) => d.once('exit', r))
        d.kill('SIGKILL')
        await gone
      }
    }
    mgr?.close()
    mgr = undefined
    topo?.close()
    rmSync(join(dir, 'state'), { recursive: true, force: true })
  })

  const manager = (): NetworkManager => (mgr ??= new NetworkManager({ hostNetns: topo.host.name, stateDir: join(dir, 'state'), runDir: join(dir, 'state', 'run') }))
  const conf = (): Record<string, unknown> => {
    const c = { ...JSON.parse(JSON.stringify(conflist())), ...conflist().plugins[0] }
    delete c.plugins
    delete c.cniVersions
    return c
  }
  const conflist = (): any => ({ cniVersion: '1.0.0', name: NETWORK, plugins: [{ type: 'podnet-cni', bridge: 'pn-serve', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.214.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] }, podnet: { stateDir: join(dir, 'state') } }] })

  /** Starts `podnet cni serve` in a namespace (the same mount namespace as this process); resolves when it listens. */
  async function startDaemon(ns: TempNetns | undefined, socket = inst.socket): Promise<ChildProcess> {
    const args = [PODNET_BIN, 'cni', 'serve', '--socket', socket]
    const d = ns ? ns.ns.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    daemons.push(d)
    let err = ''
    d.stderr!.on('data', (b: Buffer) => { err += b })
    await new Promise<void>((resolve, reject) => {
      d.stdout!.once('data', () => resolve())
      d.once('exit', (c) => reject(new Error(`podnet cni serve exited with ${c}: ${err}`)))
    })
    return d
  }

  const call = (cmd: string, pod: TempNetns | undefined, id: string, extra: Record<string, unknown> = {}, exe = inst.executable): CniCall =>
    cniExec(topo.host, cniEnv(cmd, { id, netns: pod ? pod.ns.path : '', ifname: 'eth0' }), { ...conf(), ...extra }, exe)

  /** Runs the forwarder with the Node plugin out of the way: only the daemon can answer. */
  function withoutFallback<T>(fn: () => T): T {
    const moved = `${inst.nodeExecutable}.away`
    rmSync(moved, { force: true })
    renameSync(inst.nodeExecutable, moved)
    try {
      return fn()
    } finally {
      renameSync(moved, inst.nodeExecutable)
    }
  }

  it('the daemon serves ADD, CHECK, DEL and VERSION (the Node plugin moved away proves it); the socket is 0600', async () => {
    await startDaemon(topo.host)
    assert.equal(statSync(inst.socket).mode & 0o777, 0o600)
    const pod = topo.pod()
    withoutFallback(() => {
      const v = call('VERSION', undefined, 'x')
      assert.equal(v.status, 0, v.stdout)
      assert.deepEqual(v.json.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
      const add = call('ADD', pod, 'c1')
      assert.equal(add.status, 0, add.stdout + add.stderr)
      assert.deepEqual(podAddrs(pod), ['10.214.0.2/24'])
      assert.deepEqual(add.json.ips.map((i: any) => i.address), ['10.214.0.2/24'])
      const check = call('CHECK', pod, 'c1', { prevResult: add.json })
      assert.equal(check.status, 0, check.stdout)
      const bad = call('ADD', pod, 'c1')
      assert.equal(bad.status, 1)
      assert.equal(bad.json.code, 100, 'errors come back with their code and exit status')
      const del = call('DEL', pod, 'c1', { prevResult: add.json })
      assert.equal(del.status, 0, del.stdout)
      assert.equal(pod.link('eth0'), undefined)
    })
    assert.deepEqual(manager().attachments(NETWORK), [])
  })

  it('no daemon, or a daemon in another network namespace: the Node plugin answers, same results', async () => {
    const pod = topo.pod()
    const a1 = call('ADD', pod, 'c1')
    assert.equal(a1.status, 0, a1.stdout + a1.stderr)
    assert.deepEqual(podAddrs(pod), ['10.214.0.2/24'])
    // a daemon in the sandbox's own namespace: the request comes from the topology's host
    await startDaemon(undefined)
    const pod2 = topo.pod()
    const a2 = call('ADD', pod2, 'c2')
    assert.equal(a2.status, 0, a2.stdout + a2.stderr)
    assert.deepEqual(podAddrs(pod2), ['10.214.0.3/24'])
    assert.throws(() => withoutFallback(() => { const r = call('DEL', pod2, 'c2'); if (r.status !== 0) throw new Error(r.stdout) }), /cannot run/, 'the daemon did not serve another namespace')
    for (const [p, id] of [[pod, 'c1'], [pod2, 'c2']] as const) assert.equal(call('DEL', p, id).status, 0)
    assert.deepEqual(manager().attachments(NETWORK), [])
  })

  it('a daemon killed in the middle of a request: the forwarder re-runs it through the Node plugin, nothing half-done', async () => {
    const d = await startDaemon(topo.host)
    const pod = topo.pod()
    // stop the daemon, let the forwarder connect and send, then kill it before it answers
    d.kill('SIGSTOP')
    const child = topo.host.ns.spawn(inst.executable, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...cniEnv('ADD', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }) }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (b: Buffer) => { out += b })
    const done = new Promise<number>((r) => child.once('exit', (c) => r(c ?? 128)))
    child.stdin!.end(JSON.stringify(conf()))
    await new Promise((r) => setTimeout(r, 300))
    d.kill('SIGKILL')
    assert.equal(await done, 0, out)
    assert.deepEqual(JSON.parse(out).ips.map((i: any) => i.address), ['10.214.0.2/24'])
    assert.deepEqual(podAddrs(pod), ['10.214.0.2/24'])
    assert.deepEqual(manager().attachments(NETWORK).map((a) => a.id), ['c1'])
    // a stale socket file is replaced by the next daemon
    await startDaemon(topo.host)
    const del = withoutFallback(() => call('DEL', pod, 'c1'))
    assert.equal(del.status, 0, del.stdout)
    assert.deepEqual(manager().attachments(NETWORK), [])
  })

  it('the veth a crashed ADD left (no record yet): a DEL removes it, and a retried ADD replaces it', () => {
    const pod = topo.pod()
    const first = call('ADD', pod, 'warm')
    assert.equal(first.status, 0, first.stdout)
    assert.equal(call('DEL', pod, 'warm').status, 0)
    // what an ADD killed after creating the veth and before writing its record leaves
    const veth = hostVethName(manager().owner, NETWORK, 'c1', 'eth0')
    const leftover = (): void => { topo.host.rt.link.addSync({ kind: 'veth', name: veth, peer: { name: 'eth0', netns: pod.ns } }) }
    leftover()
    assert.equal(call('DEL', pod, 'c1').status, 0)
    assert.equal(topo.host.link(veth), undefined, 'the DEL removed the leftover veth')
    assert.equal(pod.link('eth0'), undefined)
    leftover()
    const oldIndex = topo.host.link(veth)!.ifindex
    const add = call('ADD', pod, 'c1')
    assert.equal(add.status, 0, add.stdout)
    assert.notEqual(topo.host.link(veth)!.ifindex, oldIndex, 'the ADD made its own veth')
    assert.equal(topo.host.link(veth)!.master, 'pn-serve')
    assert.equal(call('DEL', pod, 'c1').status, 0)
  })

  it('refuses a socket another daemon listens on; on SIGTERM it answers the request under way, then removes the socket and exits', async () => {
    const d = await startDaemon(topo.host)
    await assert.rejects(CniServer.listen({ socket: inst.socket }), ExistsError)
    const pod = topo.pod()
    // a client in the daemon's namespaces that sends half its request, then the rest after SIGTERM
    const id = (kind: string): string => { const st = statSync(`/proc/${d.pid}/ns/${kind}`); return `${st.dev}:${st.ino}` }
    const req = encodeRequest({ net: id('net'), mnt: id('mnt'), env: { ...cniEnv('ADD', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }) }, stdin: Buffer.from(JSON.stringify(conf())) })
    const conn = createConnection(inst.socket)
    const chunks: Buffer[] = []
    conn.on('data', (b: Buffer) => chunks.push(b))
    const ended = new Promise<void>((r) => conn.once('close', () => r()))
    await new Promise<void>((r) => conn.once('connect', () => r()))
    conn.write(req.subarray(0, 20))
    await new Promise((r) => setTimeout(r, 200))
    const exited = new Promise<number | null>((r) => d.once('exit', (c) => r(c)))
    d.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    assert.throws(() => statSync(inst.socket), /ENOENT/, 'the socket file is gone at once: new requests take the Node plugin')
    conn.write(req.subarray(20))
    await ended
    assert.equal(await exited, 0)
    const res = Buffer.concat(chunks)
    assert.equal(res.subarray(0, 4).toString(), 'PNC1')
    assert.equal(res.readUInt32LE(4), 0, 'ADD succeeded')
    const out = JSON.parse(res.subarray(12, 12 + res.readUInt32LE(8)).toString())
    assert.deepEqual(out.ips.map((i: any) => i.address), ['10.214.0.2/24'])
    assert.deepEqual(manager().attachments(NETWORK).map((a) => a.id), ['c1'])
    assert.equal(call('DEL', pod, 'c1').status, 0)
  })

})
