/**
 * The DNS responder across a reboot (test/support/reboot.ts: every process of the machine killed,
 * the responder included, its run dir and host namespace fresh, its state dir kept, a new boot
 * id), through the CLI and the supervisor started at boot (docs/dns.md, "Reboot"):
 * `network restore` brings the responder back on the gateway with no names of the old boot; the
 * pods the supervisor restores get nameserver/search in their resolv.conf and their names again;
 * a responder killed after that is brought back by the supervisor's watchdog. With the run dir on
 * disk, a responder started first (`dns start`) empties the old boot's records before it serves,
 * and keeps its lock when the supervisor comes (one responder, not two).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { Netns } from '../../../src/netns/index.js'
import type { PodRecord } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { dnsAddresses, dnsQuery, type DnsReply } from '../../../src/testing/index.js'
import { rebootTopology } from '../../support/reboot.js'
import { eventually, podProcesses, useCliWorld } from '../runtime/support.js'

const GW = '10.79.0.1'

interface DnsStatusJson { running: boolean; pid?: number; networks?: Array<{ name: string; addresses: string[]; error?: string }> }

describe('kernel: the DNS responder across a reboot (CLI, supervisor at boot)', function () {
  this.timeout(120_000)
  const w = useCliWorld()

  const manifest = (name: string, policy: string, aliases = ''): string => w().manifest(name, `
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network}${aliases ? `, podnet.io/aliases: '${aliases}'` : ''} }
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 0
  containers:
    - { name: app, command: [sleep, '600'] }
`)
  const status = (): DnsStatusJson => JSON.parse(w().ok('dns', 'status', '--json')) as DnsStatusJson
  // a bare name the network does not know is forwarded (SERVFAIL here: no upstream); NAME.pods is the network's own, NXDOMAIN
  /** Asks the gateway from a namespace (a pod's pin, or the host's name). */
  const ask = async (where: { path?: string; name?: string }, name: string): Promise<DnsReply> => {
    const ns = where.path !== undefined ? Netns.openPath(where.path) : Netns.open(where.name!)
    try {
      return await dnsQuery(ns, GW, name, 'A', { timeoutMs: 2000 })
    } finally {
      ns.close()
    }
  }
  const ip = (rec: PodRecord): string => rec.sandbox.ips[0]!.split('/')[0]!
  /** A plain namespace attached to the network (`network attach`): a client on it, as pods are (the host's own questions are REFUSED). */
  const onNetwork = (name: string): { name: string; close(): void } => {
    const { ok, topo } = w()
    Netns.create(name).close()
    ok('network', 'attach', 'pods', '--netns', name, '--host-netns', topo.host.name)
    return {
      name,
      close() {
        ok('network', 'detach', 'pods', '--netns', name, '--host-netns', topo.host.name)
        Netns.remove(name)
      },
    }
  }

  it('network restore brings the responder back on the gateway with no names of the old boot; restored pods get nameserver and search and their names again; a responder killed then is back by the supervisor\'s watchdog', async () => {
    const { ok, inspect, topo, leftovers, cgroupParent, rootfs } = w()
    if (!existsSync(join(rootfs, 'bin', 'nslookup'))) symlinkSync('busybox', join(rootfs, 'bin', 'nslookup'))
    ok('pod', 'run', '-d', '-f', manifest('db', 'Always', 'primary'), '--host-netns', topo.host.name)
    ok('pod', 'run', '-d', '-f', manifest('client', 'Always'), '--host-netns', topo.host.name)
    ok('pod', 'run', '-d', '-f', manifest('never', 'Never'), '--host-netns', topo.host.name)
    const before = Object.fromEntries(['db', 'client', 'never'].map((n) => [n, inspect(n)])) as Record<string, PodRecord>
    assert.deepEqual(dnsAddresses(await ask({ path: before.client!.sandbox.pins!.net }, 'primary')), [ip(before.db!)], 'before the reboot')
    assert.deepEqual(dnsAddresses(await ask({ path: before.client!.sandbox.pins!.net }, 'never')), [ip(before.never!)])
    const oldPid = status().pid!
    const oldProcs = Object.values(before).flatMap(podProcesses)

    const { bootId, killed } = await rebootTopology(topo, { cgroupParents: [cgroupParent] })
    w().env.PODNET_TEST_BOOT_ID = bootId
    assert.ok(killed.includes(oldPid), 'the responder died with the machine')
    assert.equal(status().running, false)

    // the boot units: podnet-networks.service (network restore), then podnet-supervisor.service
    assert.match(ok('network', 'restore', '--host-netns', topo.host.name), new RegExp(`^pods: .*; DNS on ${GW.replace(/\./g, '\\.')}`, 'm'))
    const st = status()
    assert.ok(st.running && st.pid !== oldPid, 'a new responder')
    assert.deepEqual(st.networks!.find((n) => n.name === 'pods')?.addresses, [`${GW}:53`])
    assert.deepEqual(udp53(topo.host.name), [`${GW}:53`], 'listening on the gateway (ss oracle)')
    // nothing of the old boot: its attachment records went with the run dir
    assert.deepEqual((JSON.parse(ok('dns', 'records', 'pods', '--json')) as { records: unknown[] }).records, [])
    const probe = onNetwork('pn-dnsprobe')
    try {
      assert.equal(dnsAddresses(await ask({ name: probe.name }, 'pn-dnsprobe')).length, 1, 'the gateway answers for this boot\'s names')
      for (const n of ['db', 'primary', 'never']) assert.equal((await ask({ name: probe.name }, `${n}.pods`)).rcode, 'NXDOMAIN', `${n} before the pods are back`)
    } finally {
      probe.close()
    }

    ok('pod', 'supervisor', 'start')
    const after = await eventually(() => {
      const recs = Object.fromEntries(['db', 'client', 'never'].map((n) => [n, inspect(n)])) as Record<string, PodRecord>
      return recs.db!.phase === 'Running' && recs.client!.phase === 'Running' && recs.never!.phase === 'Failed' ? recs : undefined
    }, 30_000, 'the pods restored')
    assert.equal(after.db!.restored?.cause, 'NodeRestart')
    // the restored pod's resolv.conf: the responder and the network's domain
    const conf = ok('pod', 'exec', 'client', '--', 'cat', '/etc/resolv.conf')
    assert.match(conf, new RegExp(`^nameserver ${GW.replace(/\./g, '\\.')}$`, 'm'))
    assert.match(conf, /^search pods\b/m)
    assert.equal(conf.match(/^nameserver /gm)?.length, 1, conf)
    // names of the new boot, from inside the restored pod (raw query and busybox nslookup)
    const pin = { path: after.client!.sandbox.pins!.net }
    assert.deepEqual(dnsAddresses(await ask(pin, 'db')), [ip(after.db!)])
    assert.deepEqual(dnsAddresses(await ask(pin, 'primary.pods')), [ip(after.db!)])
    assert.deepEqual(dnsAddresses(await ask(pin, 'client')), [ip(after.client!)])
    assert.equal((await ask(pin, 'never.pods')).rcode, 'NXDOMAIN', 'a pod that was not restored has no name')
    assert.match(ok('pod', 'exec', 'client', '--', 'nslookup', 'primary'), new RegExp(`Address:\\s*${ip(after.db!).replace(/\./g, '\\.')}\\b`))

    // kill -9 after the reboot: the supervisor (pods on a DNS network) starts another within its watchdog period
    const pid = status().pid!
    process.kill(pid, 'SIGKILL')
    const back = await eventually(() => {
      const s = status()
      return s.running && s.pid !== pid && s.networks?.some((n) => n.name === 'pods' && !n.error) ? s : undefined
    }, 15_000, 'the watchdog restarts the responder')
    assert.notEqual(back.pid, pid)
    assert.deepEqual(dnsAddresses(await ask(pin, 'db')), [ip(after.db!)])

    const newProcs = ['db', 'client'].flatMap((n) => podProcesses(inspect(n)))
    ok('pod', 'rm', 'db', 'client', 'never')
    for (const n of ['db', 'client', 'never']) assert.deepEqual(leftovers(n, [...oldProcs, ...newProcs]), [], n)
    assert.deepEqual(oldProcs.filter((p) => isAlive(p)), [])
    assert.equal(ok('network', 'check', '--host-netns', topo.host.name).trim(), 'no drift')
  })

  it('with the run dir on disk: dns records show nothing of the old boot; a responder started first (dns start) empties the old records before it serves, and keeps its lock when the supervisor restores the pods', async () => {
    const { ok, inspect, topo, leftovers, cgroupParent } = w()
    ok('pod', 'run', '-d', '-f', manifest('disk', 'Always', 'stale'), '--host-netns', topo.host.name)
    const before = inspect('disk')
    const oldProcs = podProcesses(before)
    const { bootId } = await rebootTopology(topo, { cgroupParents: [cgroupParent], runDirsOnDisk: true })
    w().env.PODNET_TEST_BOOT_ID = bootId
    const attachments = join(topo.runDir, 'networks', 'pods', 'attachments')
    assert.ok(existsSync(join(attachments, 'disk@eth0.json')), 'the old boot\'s attachment record is still on disk')
    assert.deepEqual((JSON.parse(ok('dns', 'records', 'pods', '--json')) as { records: unknown[] }).records, [], 'records of another boot name nobody')

    ok('dns', 'start')
    assert.equal(readFileSync(join(topo.runDir, 'boot_id'), 'utf8').trim(), bootId, 'the responder claimed the run dir for this boot')
    assert.equal(existsSync(join(attachments, 'disk@eth0.json')), false, 'the old boot\'s records are gone')
    const first = await eventually(() => {
      const s = status()
      return s.running && s.networks?.some((n) => n.name === 'pods') ? s : undefined
    }, 10_000, 'the responder took up the network')
    // no gateway yet (the host namespace is fresh): said, not hidden
    assert.match(first.networks!.find((n) => n.name === 'pods')!.error ?? '', /./)

    ok('pod', 'supervisor', 'start') // no network restore: the attach makes the network again
    const back = await eventually(() => {
      const r = inspect('disk')
      return r.phase === 'Running' && r.containers[0]!.state.status === 'running' ? r : undefined
    }, 30_000, 'the pod restored')
    const served = await eventually(() => {
      const s = status()
      return s.networks?.some((n) => n.name === 'pods' && !n.error) ? s : undefined
    }, 10_000, 'the gateway served once the network is back')
    assert.equal(served.pid, first.pid, 'the same responder: the supervisor\'s claim of the run dir (same boot) left its lock alone')
    assert.deepEqual(udp53(topo.host.name), [`${GW}:53`], 'one listener on the gateway (ss oracle)')
    const pin = { path: back.sandbox.pins!.net }
    assert.deepEqual(dnsAddresses(await ask(pin, 'stale')), [ip(back)])
    assert.deepEqual(dnsAddresses(await ask(pin, 'disk')), [ip(back)])

    const newProcs = podProcesses(back)
    ok('pod', 'rm', 'disk')
    assert.deepEqual(leftovers('disk', [...oldProcs, ...newProcs]), [])
    const probe = onNetwork('pn-dnsprobe')
    try {
      assert.equal((await ask({ name: probe.name }, 'disk.pods')).rcode, 'NXDOMAIN', 'removed: gone at once')
    } finally {
      probe.close()
    }
  })
})

/** The UDP sockets on port 53 in a named namespace, as ss sees them (ADDR:53): the oracle. */
function udp53(host: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', host, 'ss', '-Hnu', 'state', 'unconnected'], { encoding: 'utf8' })
  return out.split('\n').filter(Boolean).flatMap((l) => l.trim().split(/\s+/).filter((a) => a.endsWith(':53')).slice(0, 1)).sort()
}
