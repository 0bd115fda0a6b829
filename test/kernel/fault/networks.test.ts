/**
 * Bridge networks and podnet-cni under the faults a node meets (docs/reliability.md): a reboot
 * (the "machine" is a pair of named namespaces that are deleted and made again, empty, with the
 * state directory kept and a new boot id), kill -9 at any point of attach, detach, create and rm,
 * two state directories side by side, a full disk, damaged records and bad input. Kernel state is
 * read back with ip and nft as well as with podnet.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetworkManager } from '../../../src/bridge/index.js'
import { createPlugin } from '../../../src/cni/index.js'
import { DamagedRecordError, ExistsError, InvalidArgumentError } from '../../../src/errors.js'
import { Netns } from '../../../src/netns/index.js'
import { Rtnl } from '../../../src/netlink/route/index.js'
import { createTempNetns, ipJson, nftRuleset, probe, serve, stopServers, type TempNetns } from '../../../src/testing/index.js'
import { cniEnv, cniInProcess } from '../cni/helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(here, '../../../../bin/podnet.js')
const worker = join(here, '../../support/fault-worker.js')
const HOST = '10.219.0.1'
const UP = '10.219.0.2'

/** A "machine": a host namespace (with an uplink to an "upstream" one) whose names survive a reboot. */
interface Machine {
  host: string
  upstream: string
  stateDir: string
  runDir: string
  bootId: string
  manager(opts?: { stateDir?: string; runDir?: string }): NetworkManager
  pod(): TempNetns
  /** Everything in the kernel goes (both namespaces are made again, empty but for the uplink); state stays; a new boot id. */
  reboot(): void
  /** The CLI acting on this machine, with this boot's id. */
  podnet(args: string[], opts?: { stateDir?: string }): { status: number; stdout: string; stderr: string }
  close(): void
}

function createMachine(): Machine {
  const tag = randomBytes(3).toString('hex')
  const host = `pn-fh-${tag}`
  const upstream = `pn-fu-${tag}`
  const stateDir = mkdtempSync(join(tmpdir(), 'podnet-fault-'))
  const managers: NetworkManager[] = []
  const pods: TempNetns[] = []
  const up = (): void => {
    for (const n of [host, upstream]) {
      Netns.create(n).close()
      const rt = Rtnl.open({ netns: n })
      rt.link.setSync('lo', { up: true })
      rt.close()
    }
    const rt = Rtnl.open({ netns: host })
    const peer = Netns.open(upstream)
    rt.link.addSync({ kind: 'veth', name: 'up0', up: true, peer: { name: 'eth0', netns: peer, up: true } })
    peer.close()
    rt.addr.addSync({ cidr: `${HOST}/24`, dev: 'up0' })
    rt.close()
    const u = Rtnl.open({ netns: upstream })
    u.addr.addSync({ cidr: `${UP}/24`, dev: 'eth0' })
    u.close()
  }
  const down = (): void => {
    stopServers()
    for (const m of managers.splice(0)) m.close()
    for (const p of pods.splice(0)) p.close()
    for (const n of [host, upstream]) if (existsSync(`/run/netns/${n}`)) Netns.remove(n)
  }
  up()
  const machine: Machine = {
    host, upstream, stateDir, runDir: join(stateDir, 'run'), bootId: randomUUID(),
    manager(o = {}) {
      const m = new NetworkManager({ hostNetns: host, stateDir: o.stateDir ?? stateDir, ...(o.runDir !== undefined && { runDir: o.runDir }), bootId: machine.bootId })
      managers.push(m)
      return m
    },
    pod() {
      const p = createTempNetns('pn-fp')
      pods.push(p)
      return p
    },
    reboot() {
      down()
      up()
      machine.bootId = randomUUID()
    },
    podnet(args, o = {}) {
      const r = spawnSync(process.execPath, [bin, ...args, '--host-netns', host, '--state-dir', o.stateDir ?? stateDir], {
        encoding: 'utf8', env: { ...process.env, PODNET_TEST_BOOT_ID: machine.bootId },
      })
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
    },
    close() {
      down()
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
  return machine
}

const links = (ns: string): any[] => ipJson(ns, '-d', 'link', 'show')
const hostVeths = (ns: string): string[] => links(ns).filter((l) => l.linkinfo?.info_kind === 'veth' && l.ifname !== 'up0').map((l) => l.ifname)
const comments = (ns: string): string[] => nftRuleset(ns).filter((o) => o.rule).map((o) => String(o.rule!.comment ?? ''))
const elementComments = (ns: string): string[] => nftRuleset(ns).filter((o) => o.map?.table === 'podnet').flatMap((o) => (o.map!.elem ?? []).map(([k]: any) => String(k.elem?.comment ?? '')))
const podnetTable = (ns: string): boolean => nftRuleset(ns).some((o) => o.table?.family === 'inet' && o.table.name === 'podnet')

describe('kernel: fault: networks and podnet-cni', function () {
  this.timeout(180000)
  let mc: Machine
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    mc = createMachine()
  })
  afterEach(() => mc?.close())

  it('after a reboot: attachments, addresses and port claims of the old boot are void; restore remakes bridge, gateways, sysctls and rules; traffic flows', async () => {
    const m1 = mc.manager()
    const c = await m1.create({ name: 'web', subnets: ['10.91.0.0/24'] })
    const a1 = await m1.attach({ network: 'web', netns: mc.pod().name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    mc.reboot()
    assert.equal(links(mc.host).some((l) => l.ifname === c.bridge), false, 'the reboot took the bridge')
    const m2 = mc.manager()
    assert.deepEqual(m2.attachments('web'), [], 'attachments of the old boot are void')
    assert.ok((await m2.check()).some((d) => d.object === `bridge ${c.bridge}` && d.problem === 'missing'))
    // the CLI, as a boot-time unit runs it
    const r = mc.podnet(['network', 'restore', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const [restored] = JSON.parse(r.stdout)
    assert.equal(restored.network, 'web')
    assert.ok(restored.repaired.includes(`bridge ${c.bridge}`), r.stdout)
    // read back: the bridge with podnet's alias and MAC, the gateway, forwarding, the rules with this state dir's owner
    const [br] = ipJson(mc.host, '-d', 'link', 'show', c.bridge)
    assert.equal(br!.linkinfo!.info_kind, 'bridge')
    assert.equal(br!.ifalias, `podnet o=${m2.owner} net=web`)
    assert.equal(br!.address, c.bridgeMac)
    assert.ok(ipJson(mc.host, 'addr', 'show', 'dev', c.bridge)[0]!.addr_info.some((x: any) => x.local === '10.91.0.1'))
    assert.equal(Netns.open(mc.host).runSync(() => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()), '1')
    assert.ok(comments(mc.host).includes(`podnet o=${m2.owner} net=web masquerade`))
    assert.deepEqual(await m2.check(), [])
    assert.equal(mc.podnet(['network', 'check']).status, 0)
    // a second restore has nothing to do
    assert.deepEqual(await m2.restore(), [{ network: 'web', repaired: [] }])
    // the old boot's address and host port are free again: a new pod gets both
    const pod = mc.pod()
    const a2 = await m2.attach({ network: 'web', netns: pod.name, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    assert.equal(a2.addresses[0]!.address, a1.addresses[0]!.address)
    assert.equal(readFileSync(join(mc.runDir, 'boot_id'), 'utf8').trim(), mc.bootId)
    await serve(pod, 'tcp', 80)
    const upstream = Netns.open(mc.upstream)
    try {
      assert.equal(probe(upstream, 'tcp', HOST, 8080), UP, 'published port after the reboot')
    } finally {
      upstream.close()
    }
  })

  it('after a reboot, an attach (or a CNI ADD) without restore makes the kernel side itself; DEL of a container of the old boot succeeds', async () => {
    const m1 = mc.manager()
    await m1.create({ name: 'web', subnets: ['10.91.0.0/24'] })
    await m1.attach({ network: 'web', netns: mc.pod().name, id: 'old' })
    const cniState = join(mc.stateDir, 'cni')
    const conf = {
      cniVersion: '1.0.0', name: 'cninet', type: 'podnet-cni', bridge: 'cni-f0', isGateway: true, ipMasq: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.92.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] }, podnet: { stateDir: cniState },
    }
    const cni = (): ReturnType<typeof createPlugin> => createPlugin({ hostNetns: mc.host, bootId: mc.bootId })
    const before = mc.pod()
    // podnet.stateDir alone: the run dir is <stateDir>/run, on disk, so only its boot id voids it
    const withPort = { ...conf, runtimeConfig: { portMappings: [{ hostPort: 7070, containerPort: 80, protocol: 'tcp' }] } }
    const first = await cniInProcess(cni(), cniEnv('ADD', { id: 'sandbox-old', netns: before.ns.path, ifname: 'eth0' }), withPort)
    assert.equal(first.status, 0, first.stdout)
    mc.reboot()
    const m2 = mc.manager()
    const a = await m2.attach({ network: 'web', netns: mc.pod().name, id: 'new' })
    assert.equal(a.addresses[0]!.address, '10.91.0.2/24')
    assert.deepEqual(await m2.check(), [])
    // the kubelet's DEL for a sandbox of the old boot: nothing there, success
    const del = await cniInProcess(cni(), cniEnv('DEL', { id: 'sandbox-old', netns: '', ifname: 'eth0' }), conf)
    assert.equal(del.status, 0, del.stdout)
    const pod = mc.pod()
    const add = await cniInProcess(cni(), cniEnv('ADD', { id: 'sandbox-new', netns: pod.ns.path, ifname: 'eth0' }), withPort)
    assert.equal(add.status, 0, add.stdout)
    assert.ok(existsSync(join(cniState, 'run', 'boot_id')))
    assert.equal(add.json.ips[0].address, '10.92.0.2/24')
    assert.ok(links(mc.host).some((l) => l.ifname === 'cni-f0' && l.linkinfo.info_kind === 'bridge'))
  })

  /** Starts the fault worker; resolves once its imports are done. */
  const startWorker = async (args: string[], env: Record<string, string> = {}): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [worker, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PODNET_STATE_DIR: mc.stateDir, PODNET_RUN_DIR: mc.runDir, HOST_NETNS: mc.host, PODNET_TEST_BOOT_ID: mc.bootId, ...env },
    })
    let err = ''
    child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve())
      child.once('exit', (code) => reject(new Error(`fault worker exited with ${code}: ${err}`)))
    })
    return child
  }
  const killAfter = async (child: ChildProcess, ms: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, ms))
    const gone = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await gone
  }

  it('kill -9 at random points of attach and detach, 50 rounds: the next attach and detach work, and nothing leaks', async () => {
    const m = mc.manager()
    const c = await m.create({ name: 'web', subnets: ['10.91.0.0/24'] })
    const pod = mc.pod()
    for (let round = 0; round < 50; round++) {
      const w = await startWorker(['attach', 'web', pod.name, 'k', '8080'])
      await killAfter(w, Math.floor(Math.random() * 120))
      // the next commands, by another process's manager, just work: a detach when the killed one
      // got as far as the record (as a runtime sends DEL before it retries), else the attach at once
      if (m.attachment('web', 'k')) assert.equal((await m.detach({ network: 'web', id: 'k' })).detached, true)
      const a = await m.attach({ network: 'web', netns: pod.name, id: 'k', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
      assert.deepEqual(await m.check(), [], `round ${round}`)
      assert.equal((await m.detach({ network: 'web', id: a.id })).detached, true)
    }
    // nothing of it is left: veths, addresses, port claims, map elements, the pod's eth0
    assert.deepEqual(hostVeths(mc.host), [])
    assert.deepEqual(ipJson(mc.host, 'link', 'show', 'master', c.bridge), [])
    assert.deepEqual(elementComments(mc.host).filter((x) => x.includes('net=web')), [])
    assert.deepEqual(readdirSync(m.state.ipamDir('web')).filter((f) => /^\d/.test(f)), [], 'no address held')
    assert.deepEqual(existsSync(m.state.portsDir()) ? readdirSync(m.state.portsDir(), { recursive: true }).filter((f) => String(f).includes('/')) : [], [])
    assert.equal(pod.rt.link.findSync('eth0'), undefined)
    assert.deepEqual(await m.gc(), { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [], removedIfbs: [] })
  })

  it('kill -9 at random points of network create and rm, 50 rounds: the next create and rm work, and nothing leaks', async () => {
    const m = mc.manager()
    for (let round = 0; round < 50; round++) {
      const w = await startWorker(['create', 'kn', '10.94.0.0/24'])
      await killAfter(w, Math.floor(Math.random() * 150))
      // a network with a record (the killed create got that far, or its rm did not) is removed
      // first, as a user would; a bridge without a record is adopted by the next create
      if (m.list().some((n) => n.name === 'kn')) await m.remove('kn')
      await m.create({ name: 'kn', subnets: ['10.94.0.0/24'] })
      assert.deepEqual(await m.check('kn'), [], `round ${round}`)
      await m.remove('kn')
    }
    assert.equal(links(mc.host).some((l) => l.linkinfo?.info_kind === 'bridge'), false, 'no bridge left')
    assert.deepEqual(comments(mc.host).filter((x) => x.includes('net=kn')), [])
    assert.equal(podnetTable(mc.host), false, 'the table went with the last network')
    assert.equal(existsSync(m.state.networkDir('kn')), false)
  })

  it('network rm --force racing six attaches with published ports: every attach either lands before the rm (and is undone by it) or fails; nothing is left', async () => {
    const m = mc.manager()
    for (let round = 0; round < 5; round++) {
      const c = await m.create({ name: 'race', subnets: ['10.103.0.0/24'] })
      const pods = Array.from({ length: 6 }, () => mc.pod())
      const others = pods.map(() => mc.manager()) // as many processes would: separate handles, one lock
      const attaches = pods.map((p, i) => others[i]!.attach({ network: 'race', netns: p.name, portMappings: [{ hostPort: 9100 + i, containerPort: 80, protocol: 'tcp' }] }))
      await new Promise((r) => setTimeout(r, round * 7))
      const removed = await m.remove('race', { force: true })
      const results = await Promise.allSettled(attaches)
      for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /network 'race' does not exist/)
      assert.equal(removed.detached, results.filter((r) => r.status === 'fulfilled').length, `round ${round}`)
      assert.deepEqual(hostVeths(mc.host), [])
      assert.equal(links(mc.host).some((l) => l.ifname === c.bridge), false)
      for (const p of pods) assert.equal(p.rt.link.findSync('eth0'), undefined)
      assert.deepEqual(elementComments(mc.host), [])
      assert.deepEqual(existsSync(m.state.portsDir()) ? readdirSync(m.state.portsDir(), { recursive: true }).filter((f) => String(f).includes('/')) : [], [])
    }
  })

  it('two state directories side by side: separate owners in one table; neither gc, rm nor a port clash touches the other', async () => {
    const other = join(mc.stateDir, 'other')
    const a = mc.manager()
    const b = mc.manager({ stateDir: other })
    assert.notEqual(a.owner, b.owner)
    await a.create({ name: 'na', subnets: ['10.95.0.0/24'] })
    await b.create({ name: 'nb', subnets: ['10.96.0.0/24'] })
    await a.attach({ network: 'na', netns: mc.pod().name, id: 'pa', portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] })
    await b.attach({ network: 'nb', netns: mc.pod().name, id: 'pb', portMappings: [{ hostPort: 8082, containerPort: 80, protocol: 'tcp' }] })
    // the same host port from the other state dir: refused, naming the owner; nothing left behind
    const clash = mc.pod()
    await assert.rejects(b.attach({ network: 'nb', netns: clash.name, id: 'pc', portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] }),
      (e: unknown) => e instanceof ExistsError && /host port '8081\/tcp' already exists \(published by another podnet state directory: podnet o=[0-9a-f]{8} net=na id=pa/.test(e.message))
    assert.equal(clash.rt.link.findSync('eth0'), undefined)
    assert.deepEqual(b.attachments('nb').map((x) => x.id), ['pb'])
    // each gc leaves the other's rules and elements alone
    const before = JSON.stringify([comments(mc.host).sort(), elementComments(mc.host).sort()])
    await a.gc()
    await b.gc()
    assert.equal(JSON.stringify([comments(mc.host).sort(), elementComments(mc.host).sort()]), before)
    assert.deepEqual(await a.check(), [])
    assert.deepEqual(await b.check(), [])
    // the table stays while the other has rules in it, and goes with the last
    await a.remove('na', { force: true })
    assert.ok(podnetTable(mc.host))
    assert.ok(comments(mc.host).includes(`podnet o=${b.owner} net=nb masquerade`))
    assert.deepEqual(await b.check(), [])
    await b.remove('nb', { force: true })
    assert.equal(podnetTable(mc.host), false)
  })

  it('a full disk: create and attach fail with ENOSPC and leave nothing; the CLI says so in one line; freed, both work', async () => {
    const small = mkdtempSync(join(tmpdir(), 'podnet-full-'))
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    try {
      const stateDir = join(small, 'state')
      const m = mc.manager({ stateDir })
      await m.create({ name: 'first', subnets: ['10.97.0.0/24'] }) // the run dir and its boot id exist
      const fill = (): void => {
        const chunk = Buffer.alloc(4096)
        mkdirSync(join(small, 'fill'), { recursive: true })
        for (let i = 0; ; i++) {
          try {
            writeFileSync(join(small, 'fill', String(i)), chunk)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return
            throw err
          }
        }
      }
      const hostState = (): string => JSON.stringify([links(mc.host).map((l) => l.ifname).sort(), comments(mc.host).sort(), elementComments(mc.host).sort()])
      fill()
      const clean = hostState()
      await assert.rejects(m.create({ name: 'full', subnets: ['10.98.0.0/24'] }), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOSPC' || /ENOSPC/.test(String(e)))
      assert.equal(hostState(), clean, 'create left nothing in the kernel')
      assert.equal(existsSync(join(stateDir, 'networks', 'full')), false)
      const cli = mc.podnet(['network', 'create', 'full', '--subnet', '10.98.0.0/24'], { stateDir })
      assert.equal(cli.status, 1)
      assert.match(cli.stderr, /^podnet: ENOSPC: no space left on device, .* — the file system is full: free space, then run the command again\n$/)
      assert.equal(hostState(), clean)
      const pod = mc.pod()
      await assert.rejects(m.attach({ network: 'first', netns: pod.name, portMappings: [{ hostPort: 8083, containerPort: 80, protocol: 'tcp' }] }))
      assert.equal(hostState(), clean, 'attach left nothing in the kernel')
      assert.equal(pod.rt.link.findSync('eth0'), undefined)
      // freed: both work, and the state is consistent
      rmSync(join(small, 'fill'), { recursive: true, force: true })
      await m.create({ name: 'full', subnets: ['10.98.0.0/24'] })
      await m.attach({ network: 'first', netns: pod.name, portMappings: [{ hostPort: 8083, containerPort: 80, protocol: 'tcp' }] })
      assert.deepEqual(await m.check(), [])
      await m.remove('first', { force: true })
      await m.remove('full')
    } finally {
      spawnSync('umount', [small])
      rmSync(small, { recursive: true, force: true })
    }
  })

  it('a damaged network.json: ls warns and goes on, use is refused, gc spares it, rm --force removes it by its tags; a damaged attachment record detaches', async () => {
    const m = mc.manager()
    const c = await m.create({ name: 'dmg', subnets: ['10.99.0.0/24'] })
    const pod = mc.pod()
    const a = await m.attach({ network: 'dmg', netns: pod.name, id: 'p1', portMappings: [{ hostPort: 8084, containerPort: 80, protocol: 'tcp' }] })
    await m.create({ name: 'ok', subnets: ['10.100.0.0/24'] })
    const pod2 = mc.pod()
    const b = await m.attach({ network: 'ok', netns: pod2.name, id: 'p2', portMappings: [{ hostPort: 8085, containerPort: 80, protocol: 'tcp' }] })
    writeFileSync(m.state.configPath('dmg'), '{"name": "dm')
    const ls = mc.podnet(['network', 'ls'])
    assert.equal(ls.status, 0)
    assert.match(ls.stderr, /^podnet: warning: network 'dmg': .*network\.json is damaged \(.*\); remove it with `podnet network rm --force dmg`\n$/)
    assert.match(ls.stdout, /\nok /)
    const inspect = mc.podnet(['network', 'inspect', 'dmg'])
    assert.equal(inspect.status, 1)
    assert.match(inspect.stderr, /^podnet: .*network\.json is damaged \(.*network 'dmg' cannot be used: remove it with force.*\)\n$/)
    await assert.rejects(m.attach({ network: 'dmg', netns: mc.pod().name }), DamagedRecordError)
    const tagged = (): string[] => [...comments(mc.host), ...elementComments(mc.host)].filter((x) => x.includes('net=dmg'))
    const before = tagged()
    assert.ok(before.length >= 3, JSON.stringify(before))
    await m.gc()
    assert.deepEqual(tagged(), before, 'gc spares what carries a damaged network\'s name')
    const rm = mc.podnet(['network', 'rm', '--force', 'dmg'])
    assert.equal(rm.status, 0, rm.stderr)
    assert.deepEqual(tagged(), [])
    assert.equal(links(mc.host).some((l) => l.ifname === c.bridge || l.ifname === a.hostVeth), false)
    assert.equal(existsSync(m.state.networkDir('dmg')), false)
    // the other network is untouched
    assert.deepEqual(await m.check(), [])
    // a damaged attachment record: detach removes what it described, found by name and tag
    writeFileSync(m.state.attachmentPath('ok', 'p2', 'eth0'), '')
    assert.deepEqual(m.attachments('ok'), [])
    const d = await m.detach({ network: 'ok', id: 'p2' })
    assert.equal(d.detached, false)
    assert.equal(links(mc.host).some((l) => l.ifname === b.hostVeth), false)
    assert.deepEqual(elementComments(mc.host), [])
    assert.equal(pod2.rt.link.findSync('eth0'), undefined)
    assert.deepEqual(await m.check(), [])
  })

  it('bad input is refused with one line, exit 2, and nothing made: reserved subnets, IPv6 under 1280 MTU', async () => {
    const m = mc.manager()
    for (const [subnet, re] of [['127.0.0.0/24', /loopback/], ['224.0.0.0/24', /multicast/], ['169.254.0.0/16', /link-local/], ['fe80::/64', /link-local/],
      ['255.255.255.0/24', /class E/], ['0.0.0.0/0', /"this network"/], ['::ffff:10.0.0.0/120', /IPv4-mapped/]] as const) {
      await assert.rejects(m.create({ name: 'bad', subnets: [subnet] }), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message), subnet)
    }
    await assert.rejects(m.create({ name: 'bad', subnets: ['fd77::/64'], mtu: 1200 }), /mtu: 1200 is below 1280/)
    // the host's own namespace as a pod's
    await m.create({ name: 'good', subnets: ['10.101.0.0/24'] })
    await assert.rejects(m.attach({ network: 'good', netns: `/run/netns/${mc.host}`, id: 'h' }), /is the host's own network namespace/)
    // a zero MAC through podnet-cni: the configuration error (7), not a crash (999)
    const zero = await cniInProcess(createPlugin({ hostNetns: mc.host, bootId: mc.bootId }), cniEnv('ADD', { id: 'z', netns: mc.pod().ns.path, ifname: 'eth0' }), {
      cniVersion: '1.0.0', name: 'zn', type: 'podnet-cni', bridge: 'cni-z0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.102.0.0/24' }]] },
      podnet: { stateDir: join(mc.stateDir, 'cni') }, runtimeConfig: { mac: '00:00:00:00:00:00' },
    })
    assert.equal(zero.json.code, 7, zero.stdout)
    assert.match(zero.json.msg + zero.json.details, /zero address/)
    await m.remove('good')
    const cli = mc.podnet(['network', 'create', 'bad', '--subnet', '127.0.0.0/24'])
    assert.equal(cli.status, 2)
    assert.match(cli.stderr, /^podnet: --subnet: 127\.0\.0\.0\/24 overlaps 127\.0\.0\.0\/8 \(loopback\): pods cannot use those addresses\n$/)
    assert.equal(existsSync(m.state.networkDir('bad')), false)
    assert.equal(links(mc.host).some((l) => l.linkinfo?.info_kind === 'bridge'), false)
    assert.equal(podnetTable(mc.host), false)
  })
})
