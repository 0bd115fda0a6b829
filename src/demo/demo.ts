/**
 * `podnet demo`: builds a small world inside namespaces of its own and proves what podnet does.
 *
 *   internet ns   eth0 10.209.0.2 (plays the internet)
 *       | veth
 *   host ns       up0 10.209.0.1, bridge network "demo" 10.88.0.0/24 + fd88::/64 with NAT
 *       | veths on the bridge
 *   pod-a ns      eth0, a web server on :80, published as host port 8080
 *   pod-b ns      eth0, a client
 *
 * It runs inside a sandbox (its own network and mount namespaces: see cli/commands/demo.ts), so
 * the machine's own network is never touched, and everything dies with it even on Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetworkManager } from '../bridge/index.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { probe, serve, stopServers } from '../testing/probe.js'

export interface DemoOptions {
  out?: NodeJS.WritableStream
}

const UP = { host: '10.209.0.1', internet: '10.209.0.2' }

export async function runDemo(opts: DemoOptions = {}): Promise<boolean> {
  const out = opts.out ?? process.stdout
  const t0 = performance.now()
  let step = 0
  let ok = true
  const say = (s: string): void => { out.write(`${s}\n`) }
  const head = (s: string): void => say(`\n[${++step}] ${s}`)
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
  const servers: ChildProcess[] = []
  const cleanup = async (): Promise<void> => {
    stopServers()
    for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL')
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
    say('\ninterrupted: cleaning up')
    void cleanup().then(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    head('namespaces: a host, an "internet", two pods (like `ip netns add`)')
    const mk = (n: string): Netns => {
      const ns = Netns.create(n)
      names.push(n)
      made.push(ns)
      return ns
    }
    const host = mk('demo-host')
    const internet = mk('demo-internet')
    const podA = mk('demo-pod-a')
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
    const net = await manager.create({ name: 'demo', subnets: ['10.88.0.0/24', 'fd88::/64'] })
    say(`    bridge ${net.bridge} (${net.bridgeMac}), ${net.subnets.map((s) => `${s.subnet} gw ${s.gateway}`).join(', ')}, ${net.rules.length} nf_tables rules  [${(performance.now() - t).toFixed(1)} ms]`)

    head('attach the pods (podnet network attach demo --netns demo-pod-a -p 8080:80)')
    t = performance.now()
    const a = await manager.attach({ network: 'demo', netns: podA.name, id: 'pod-a', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
    const ta = performance.now() - t
    t = performance.now()
    const b = await manager.attach({ network: 'demo', netns: podB.name, id: 'pod-b' })
    const tb = performance.now() - t
    const ipA = a.addresses[0]!.address.split('/')[0]!
    const ipB = b.addresses[0]!.address.split('/')[0]!
    say(`    pod-a eth0 ${a.addresses.map((x) => x.address).join(' ')} mac ${a.mac}, host side ${a.hostVeth}, port 8080->80/tcp  [${ta.toFixed(1)} ms]`)
    say(`    pod-b eth0 ${b.addresses.map((x) => x.address).join(' ')} mac ${b.mac}, host side ${b.hostVeth}  [${tb.toFixed(1)} ms]`)

    head('servers: a web server in pod-a on :80, a listener in the internet on :9000')
    servers.push(await serve(podA, 'tcp', 80), await serve(internet, 'tcp', 9000))
    say('    each server answers with the source address it saw')

    head('connectivity, with real packets')
    check('pod-b -> pod-a:80 (pod to pod over the bridge)', () => probe(podB, 'tcp', ipA, 80), (v) => v === ipB, (v) => `pod-a saw ${v}`)
    check('pod-b -> pod-a [IPv6]', () => probe(podB, 'tcp', a.addresses[1]!.address.split('/')[0]!, 80), (v) => v === b.addresses[1]!.address.split('/')[0], (v) => `pod-a saw ${v}`)
    check('pod-a -> internet:9000 (NAT: masquerade)', () => probe(podA, 'tcp', UP.internet, 9000), (v) => v === UP.host, (v) => `the internet saw ${v}, the host's address, not ${ipA}`)
    check('internet -> host:8080 -> pod-a:80 (published port, DNAT)', () => probe(internet, 'tcp', UP.host, 8080), (v) => v === UP.internet, (v) => `pod-a saw the client ${v}`)
    check('host -> 127.0.0.1:8080 (published port from the host itself)', () => probe(host, 'tcp', '127.0.0.1', 8080), (v) => v === net.subnets[0]!.gateway, (v) => `pod-a saw ${v}`)
    check('pod-a -> host:8080 (its own published port: hairpin)', () => probe(podA, 'tcp', UP.host, 8080), (v) => v === net.subnets[0]!.gateway, (v) => `pod-a saw ${v}`)

    head("podnet's rules (podnet nat ls: table inet podnet, nothing else touched)")
    for (const r of await manager.podnetRules()) say(`    ${r.chain.padEnd(12)} #${String(r.handle).padEnd(3)} ${r.comment ?? ''}`)

    head('teardown: detach, remove the network, delete the namespaces')
    t = performance.now()
    await manager.detach({ network: 'demo', id: 'pod-a' })
    await manager.detach({ network: 'demo', id: 'pod-b' })
    await manager.remove('demo')
    say(`    detached and removed  [${(performance.now() - t).toFixed(1)} ms]`)
  } catch (err) {
    ok = false
    say(`\nFAILED: ${(err as Error).message}`)
  } finally {
    await cleanup()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  say(`\n${ok ? 'demo passed' : 'demo FAILED'}: nothing left behind  [${((performance.now() - t0) / 1000).toFixed(1)} s]`)
  return ok
}
