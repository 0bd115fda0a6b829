/**
 * `podnet demo`: builds a small world inside namespaces of its own and proves what podnet does.
 *
 *   internet ns   eth0 10.209.0.2 (plays the internet)
 *       | veth
 *   host ns       up0 10.209.0.1, bridge network "demo" 10.88.0.0/24 + fd88::/64 with NAT
 *       | veths on the bridge
 *   pod "web"     two containers in one sandbox (pause = catatonit): an httpd on :80 published as
 *                 host port 8080, and a sidecar that reaches it on 127.0.0.1 and the internet through NAT
 *   pod-b ns      eth0, another pod's namespace on the same network
 *
 * It runs inside a sandbox (its own network and mount namespaces: see cli/commands/demo.ts), so
 * the machine's own network is never touched, and everything dies with it even on Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { NetworkManager } from '../bridge/index.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { serve, stopServers } from '../testing/probe.js'
import { TestResolver, dnsAddresses, dnsQuery } from '../testing/dns.js'
import { ensureDnsResponder, stopDnsResponder } from '../dns/service.js'
import { collectTopology, podNamespacesDot, renderSvg, renderText, topologyDot } from '../topology/index.js'
import { PodRuntime, namespaceTable, validateManifest, type PodRecord } from '../runtime/index.js'
import { Cgroup } from '../runtime/cgroups/cgroup.js'
import { ANNOTATION_CGROUPS } from '../runtime/cgroups/access.js'
import { UnsupportedError } from '../errors.js'
import { DEFAULT_CAPABILITIES, capMask } from '../runtime/security/capabilities.js'

export interface DemoOptions {
  out?: NodeJS.WritableStream
  /** Where the pictures go (default: the current directory). */
  outDir?: string
  /** false: the pods run without cgroups (`podnet demo --no-cgroups`), for machines whose cgroups podnet cannot write. */
  cgroups?: false
}

const UP = { host: '10.209.0.1', internet: '10.209.0.2' }
const APPLETS = ['sh', 'sleep', 'httpd', 'wget', 'nc', 'cat', 'echo', 'hostname', 'ps']

/** A container root: busybox-static (a Debian package installed by the setup) and its applets. */
function buildRootfs(dir: string): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (npm run demo installs it)')
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'srv']) mkdirSync(join(dir, d), { recursive: true })
  copyFileSync(busybox, join(dir, 'bin', 'busybox'))
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a))
  writeFileSync(join(dir, 'srv', 'index.html'), 'hello from the web container\n')
  return dir
}

/** busybox wget run in a namespace (the host's busybox, outside any container). */
function httpGet(ns: Netns, url: string): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? 'busybox'
  // no -T: busybox 1.35's wget segfaults with it; the spawn timeout bounds the wait
  const r = ns.spawnSync(busybox, ['wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 8000 })
  if (r.status !== 0) throw new Error(`wget ${url}: ${String(r.stderr).trim() || `exit ${r.status}`}`)
  return String(r.stdout).trim()
}

export async function runDemo(opts: DemoOptions = {}): Promise<boolean> {
  const out = opts.out ?? process.stdout
  const t0 = performance.now()
  let step = 0
  let ok = true
  const say = (s: string): void => { out.write(`${s}\n`) }
  let interrupted = false
  const head = (s: string): void => {
    if (interrupted) throw new Error('interrupted')
    say(`\n[${++step}] ${s}`)
  }
  const check = (what: string, fn: () => string, expect?: (v: string) => boolean, explain?: (v: string) => string): void => {
    try {
      const v = fn()
      const good = expect ? expect(v) : true
      if (!good) ok = false
      say(`    ${good ? 'ok  ' : 'FAIL'} ${what}${explain ? `: ${explain(v)}` : ''}`)
    } catch (err) {
      ok = false
      say(`    FAIL ${what}: ${(err as Error).message}`)
    }
  }

  const names: string[] = []
  const stateDir = mkdtempSync(join(tmpdir(), 'podnet-demo-'))
  const runDir = mkdtempSync(join('/run', 'podnet-demo-'))
  const made: Netns[] = []
  let manager: NetworkManager | undefined
  let runtime: PodRuntime | undefined
  const cgroupParent = `podnet-demo-${randomBytes(4).toString('hex')}`
  const servers: ChildProcess[] = []
  let resolver: TestResolver | undefined
  let cleaning: Promise<void> | undefined
  const cleanup = (): Promise<void> => (cleaning ??= doCleanup())
  const doCleanup = async (): Promise<void> => {
    if (runtime) {
      // pods first: their processes and cgroups are not in the sandbox's namespaces
      for (const name of runtime.store.names()) {
        try { await runtime.remove(name, { gracePeriodSeconds: 1 }) } catch { /* gc below */ }
      }
      try { await runtime.gc() } catch { /* best effort */ }
      runtime.close()
      Cgroup.removeIfEmpty(runtime.layout, cgroupParent)
    }
    stopServers()
    for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL')
    resolver?.close()
    await stopDnsResponder({ stateDir, runDir }).catch(() => undefined)
    if (manager) {
      try {
        if (manager.list().some((n) => n.name === 'demo')) await manager.remove('demo', { force: true })
      } catch { /* the namespaces go anyway */ }
      manager.close()
    }
    for (const ns of made) ns.close()
    for (const n of names) if (Netns.exists(n)) Netns.remove(n)
    rmSync(stateDir, { recursive: true, force: true })
    rmSync(runDir, { recursive: true, force: true })
  }
  const onSignal = (): void => {
    interrupted = true
    say('\ninterrupted: cleaning up')
    void cleanup().then(() => {
      say('interrupted: cleaned up, nothing left behind')
      process.exit(130)
    })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    head('namespaces: a host, an "internet", and a second pod\'s namespace (like `ip netns add`)')
    const mk = (n: string): Netns => {
      const ns = Netns.create(n)
      names.push(n)
      made.push(ns)
      return ns
    }
    const host = mk('demo-host')
    const internet = mk('demo-internet')
    const podB = mk('demo-pod-b')
    say(`    ${Netns.list().filter((n) => n.startsWith('demo-')).join(', ')}`)

    head('uplink: veth up0 <-> eth0, created with the peer directly in the internet namespace')
    const hostRt = Rtnl.open({ netns: host })
    const netRt = Rtnl.open({ netns: internet })
    try {
      hostRt.link.setSync('lo', { up: true })
      netRt.link.setSync('lo', { up: true })
      await hostRt.link.add({ kind: 'veth', name: 'up0', up: true, peer: { name: 'eth0', netns: internet, up: true } })
      await hostRt.addr.add({ cidr: `${UP.host}/24`, dev: 'up0' })
      await netRt.addr.add({ cidr: `${UP.internet}/24`, dev: 'eth0' })
    } finally {
      hostRt.close()
      netRt.close()
    }
    say(`    host up0 ${UP.host}/24  <->  internet eth0 ${UP.internet}/24 (the internet has no route to pods)`)

    head('network "demo": bridge, gateway, NAT, isolation (podnet network create demo --subnet 10.88.0.0/24 --subnet fd88::/64)')
    manager = new NetworkManager({ hostNetns: host.name, stateDir, runDir })
    let t = performance.now()
    const net = await manager.create({ name: 'demo', subnets: ['10.88.0.0/24', 'fd88::/64'], dns: true })
    say(`    bridge ${net.bridge} (${net.bridgeMac}), ${net.subnets.map((s) => `${s.subnet} gw ${s.gateway}`).join(', ')}, ${net.rules.length} nf_tables rules  [${(performance.now() - t).toFixed(1)} ms]`)

    head('a listener in the internet on :9000 (it answers with the source address it saw), and the internet\'s DNS')
    servers.push(await serve(internet, 'tcp', 9000))
    resolver = await TestResolver.start(internet, UP.internet, { records: { 'www.example.test': [{ type: 'A', data: '192.0.2.10', ttl: 300 }] } })
    writeFileSync(join(stateDir, 'resolv.conf'), `nameserver ${UP.internet}\n`)
    process.env.PODNET_RESOLV_CONF = join(stateDir, 'resolv.conf')
    t = performance.now()
    const dns = await ensureDnsResponder({ stateDir, runDir }, { network: 'demo', env: { ...process.env, PODNET_DNS_IDLE_MS: '3000' } })
    say(`    DNS responder pid ${dns.pid}: ${dns.networks.map((n) => `${n.name} on ${n.addresses.join(', ')}`).join('; ')}, forwarding to ${dns.upstreams.join(', ')}  [${(performance.now() - t).toFixed(0)} ms]`)

    head('pod "web": an httpd and a sidecar in one sandbox, host port 8080 -> 80 (podnet pod run -f web.yaml)')
    const rootfs = buildRootfs(join(stateDir, 'rootfs'))
    runtime = new PodRuntime({ stateDir, runDir, cgroupParent, backoff: { baseMs: 500 } })
    const { spec, warnings: manifestWarnings } = validateManifest({
      metadata: { name: 'web', annotations: { 'podnet.io/rootfs': rootfs, 'podnet.io/network': 'demo', ...(opts.cgroups === false && { [ANNOTATION_CGROUPS]: 'off' }) } },
      spec: {
        restartPolicy: 'Always', terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'server', command: ['httpd', '-f', '-p', '80', '-h', '/srv'], ports: [{ containerPort: 80, hostPort: 8080 }], resources: { limits: { memory: '32Mi', cpu: '500m' } } },
          {
            name: 'sidecar', command: ['sh', '-c',
              'until wget -q -O /tmp/page http://127.0.0.1/; do sleep 0.1; done; echo "localhost: $(cat /tmp/page)"; ' +
              `echo "internet: $(nc ${UP.internet} 9000)"; exec sleep 3600`],
          },
        ],
      },
    })
    for (const w of manifestWarnings) say(`    warning: ${w}`)
    t = performance.now()
    let rec: PodRecord = await runtime.run(spec, { hostNetns: host.name })
    rec = await runtime.waitFor('web', (r) => r.containers.every((c) => c.state.status === 'running'), 15_000)
    say(`    pod web running: ${rec.sandbox.ips.join(' ') || '(no address)'}, containers ${rec.containers.map((c) => `${c.name} (pid ${c.state.status === 'running' ? c.state.pid : '-'})`).join(', ')}  [${(performance.now() - t).toFixed(0)} ms]`)
    const ipWeb = (rec.sandbox.ips[0] ?? '').split('/')[0]!
    const serverState = rec.containers.find((c) => c.name === 'server')?.state
    const isolation = `CapEff ${capMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0')}, NoNewPrivs 1, Seccomp 2`
    check('server runs with the default isolation: 11 capabilities (no NET_RAW, NET_ADMIN, SYS_ADMIN), no_new_privs, seccomp filter', () => {
      const st = readFileSync(`/proc/${serverState?.status === 'running' ? serverState.pid : 0}/status`, 'utf8')
      return ['CapEff', 'NoNewPrivs', 'Seccomp'].map((k) => `${k} ${new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(st)?.[1]}`).join(', ')
    }, (v) => v === isolation, (v) => `${v} (/proc/PID/status)`)

    head('namespaces of the pod (podnet pod ns web): net, ipc, uts shared through the pause; mnt, pid private')
    const rows = namespaceTable(rec)
    const cols = rows[0]?.members.map((m) => `${m.name ?? m.role}`) ?? []
    say(`    ${'NS'.padEnd(7)} ${'SHARING'.padEnd(8)} ${cols.map((c) => c.toUpperCase().padEnd(12)).join(' ')}`)
    for (const r of rows) say(`    ${r.kind.padEnd(7)} ${r.sharing.padEnd(8)} ${r.members.map((m) => String(m.inode ?? '-').padEnd(12)).join(' ')}`)

    head('pod-b on the same network (podnet network attach demo --netns demo-pod-b)')
    t = performance.now()
    const b = await manager.attach({ network: 'demo', netns: podB.name, id: 'pod-b', dnsNames: ['pod-b'] })
    say(`    pod-b eth0 ${b.addresses.map((x) => x.address).join(' ')}, host side ${b.hostVeth}  [${(performance.now() - t).toFixed(1)} ms]`)

    head('connectivity, with real packets')
    const sidecarLog = (): string => {
      try { return readFileSync(runtime!.store.logPath('web', 'sidecar'), 'utf8') } catch { return '' }
    }
    const waitLog = async (re: RegExp): Promise<string> => {
      const deadline = Date.now() + 8000
      for (;;) {
        const m = re.exec(sidecarLog())
        if (m) return m[1]!.trim()
        if (Date.now() > deadline) throw new Error(`the sidecar did not report it (log: ${JSON.stringify(sidecarLog().slice(-200))})`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const local = await waitLog(/localhost: (.*)/).catch((e: Error) => `ERROR ${e.message}`)
    check('sidecar -> 127.0.0.1:80 (containers of a pod share localhost)', () => local, (v) => v.startsWith('hello'), (v) => `"${v}"`)
    const nat = await waitLog(/internet: (.*)/).catch((e: Error) => `ERROR ${e.message}`)
    check('sidecar -> internet:9000 (NAT: masquerade)', () => nat.replace(/^from /, ''), (v) => v === UP.host, (v) => `the internet saw ${v}, the host's address, not ${ipWeb}`)
    check('pod-b -> web:80 (pod to pod over the bridge)', () => httpGet(podB, `http://${ipWeb}/`), (v) => v.startsWith('hello'), (v) => `"${v}"`)
    check('internet -> host:8080 -> web:80 (published port, DNAT)', () => httpGet(internet, `http://${UP.host}:8080/`), (v) => v.startsWith('hello'), (v) => `"${v}"`)
    check('host -> 127.0.0.1:8080 (published port from the host itself)', () => httpGet(host, 'http://127.0.0.1:8080/'), (v) => v.startsWith('hello'), (v) => `"${v}"`)
    check('pod-b -> host:8080 (another pod through the published port: hairpin NAT)', () => httpGet(podB, `http://${UP.host}:8080/`), (v) => v.startsWith('hello'), (v) => `"${v}"`)

    head('names (the network\'s DNS responder on its gateway; podnet dns records demo)')
    const gw = net.subnets.find((x) => x.family === 4)!.gateway
    const byName = await dnsQuery(podB, gw, 'web').then((r) => dnsAddresses(r).join(' ') || r.rcode, (e: Error) => `ERROR ${e.message}`)
    check('pod-b asks for "web" (search domain demo: web.demo)', () => byName, (v) => v === ipWeb, (v) => v)
    const server = await dnsQuery(podB, gw, 'server.demo').then((r) => dnsAddresses(r).join(' ') || r.rcode, (e: Error) => `ERROR ${e.message}`)
    check('pod-b asks for "server.demo" (a container\'s name)', () => server, (v) => v === ipWeb, (v) => v)
    const ext = await dnsQuery(podB, gw, 'www.example.test').then((r) => dnsAddresses(r).join(' ') || r.rcode, (e: Error) => `ERROR ${e.message}`)
    check('pod-b asks for www.example.test (forwarded to the internet\'s resolver)', () => ext, (v) => v === '192.0.2.10', (v) => v)
    check("web's resolv.conf", () => readFileSync(rec.sandbox.resolvFile!, 'utf8').trim().split('\n').filter((l) => !l.startsWith('options')).join('; '), (v) => v.includes(`nameserver ${gw}`) && v.includes('search demo'), (v) => v)

    head('pictures (podnet topology --format svg; podnet pod ns web --format svg)')
    const outDir = resolve(opts.outDir ?? process.cwd())
    mkdirSync(outDir, { recursive: true })
    const graph = await collectTopology({ stateDir, runDir, hostNetns: host.name })
    const files = {
      topology: join(outDir, 'podnet-demo-topology.svg'),
      tree: join(outDir, 'podnet-demo-topology.txt'),
      pod: join(outDir, 'podnet-demo-pod-web.svg'),
    }
    writeFileSync(files.topology, await renderSvg(topologyDot(graph, 'podnet demo: namespaces, links, networks, pods')))
    writeFileSync(files.tree, renderText(graph))
    writeFileSync(files.pod, await renderSvg(podNamespacesDot(rec, namespaceTable(rec))))
    for (const line of renderText(graph).trimEnd().split('\n')) say(`    ${line}`)
    say(`    wrote ${files.topology}\n          ${files.tree}\n          ${files.pod}`)

    head("podnet's rules (podnet nat ls: table inet podnet, nothing else touched)")
    for (const r of await manager.podnetRules()) say(`    ${r.chain.padEnd(12)} #${String(r.handle).padEnd(3)} ${r.comment ?? ''}`)
    say('    published ports (podnet nat ports: elements of the port maps, one lookup per new connection)')
    for (const p of await manager.portMapEntries()) {
      say(`    ${p.text.padEnd(34)} ${(p.comment ?? '').replace(/^podnet /, '').padEnd(34)} ${p.packets ?? 0n} connections`)
    }

    head('teardown: remove the pod (SIGTERM, grace period, SIGKILL), detach, remove the network, delete the namespaces')
    t = performance.now()
    await runtime.remove('web', { gracePeriodSeconds: 1 })
    await manager.detach({ network: 'demo', id: 'pod-b', netnsGoing: true })
    await manager.remove('demo')
    say(`    done  [${(performance.now() - t).toFixed(1)} ms]`)
  } catch (err) {
    ok = false
    const hint = err instanceof UnsupportedError && err.feature === 'cgroups' ? '\n(for the demo: podnet demo --no-cgroups, or npm run demo -- --no-cgroups)' : ''
    if (!interrupted) say(`\nFAILED: ${(err as Error).message}${hint}`)
  } finally {
    await cleanup()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  if (interrupted) await new Promise(() => undefined) // the signal handler finishes and exits 130
  say(`\n${ok ? 'demo passed' : 'demo FAILED'}: nothing left behind  [${((performance.now() - t0) / 1000).toFixed(1)} s]`)
  return ok
}
