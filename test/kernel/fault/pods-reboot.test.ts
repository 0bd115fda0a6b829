/**
 * Pods across a reboot (test/support/reboot.ts: every process of the machine killed, its run dir
 * and host network namespace fresh, its state dir kept, a new boot id), through the CLI and the
 * supervisor started at boot: Always and OnFailure pods come back in a new sandbox with the same
 * name and address; Never pods end Failed (Lost); nothing of the old boot leaks.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PodRecord, ProcessRef } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { probe, UPSTREAM } from '../../../src/testing/index.js'
import { rebootTopology } from '../../support/reboot.js'
import { eventually, podProcesses, useCliWorld } from '../runtime/support.js'

describe('kernel: pods across a reboot (CLI, supervisor at boot)', function () {
  this.timeout(120_000)
  const w = useCliWorld()

  const manifest = (name: string, policy: string, containers: string, network = true): string => w().manifest(name, `
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${w().rootfs}${network ? `, podnet.io/network: ${w().network}` : ''} }
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 0
  containers:
${containers}
`)
  const podAddr = (rec: PodRecord): string[] => {
    const out = execFileSync('nsenter', [`--net=${rec.sandbox.pins!.net}`, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })
    return (JSON.parse(out) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>)[0]!.addr_info
      .filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)
  }


  it('after a reboot the supervisor brings back Always and OnFailure pods (new sandbox, same name and address, restartCount + 1) and fails Never pods (Lost); a completed OnFailure container stays completed; nothing of the old boot leaks', async () => {
    const { ok, inspect, topo, leftovers, cgroupParent } = w()
    // a pod removed before the reboot: without asking for their addresses again, the restored pods would get others
    ok('pod', 'run', '-d', '-f', manifest('first', 'Always', `    - { name: app, command: [sleep, '600'] }`), '--host-netns', topo.host.name)
    const web = `    - { name: web, command: [sh, -c, 'exec nc -ll -p 80 -e echo hello-again'], ports: [{ containerPort: 80, hostPort: 8150 }] }`
    ok('pod', 'run', '-d', '-f', manifest('always', 'Always', web), '--host-netns', topo.host.name)
    ok('pod', 'run', '-d', '-f', manifest('onfail', 'OnFailure', `    - { name: done, command: ['true'] }\n    - { name: app, command: [sleep, '600'] }`), '--host-netns', topo.host.name)
    ok('pod', 'run', '-d', '-f', manifest('never', 'Never', `    - { name: app, command: [sleep, '600'] }`), '--host-netns', topo.host.name)
    ok('pod', 'run', '-d', '-f', manifest('local', 'Always', `    - { name: app, command: [sleep, '600'] }`, false))
    await eventually(() => (inspect('onfail').containers[0]!.state.status === 'terminated' ? true : undefined), 10_000, 'the done container completed')
    assert.deepEqual(inspect('first').sandbox.ips, ['10.79.0.2/24'])
    ok('pod', 'rm', 'first')
    const before = Object.fromEntries(['always', 'onfail', 'never', 'local'].map((n) => [n, inspect(n)])) as Record<string, PodRecord>
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8150), 'hello-again')
    const oldProcs: ProcessRef[] = Object.values(before).flatMap(podProcesses)

    const { bootId, killed } = await rebootTopology(topo, { cgroupParents: [cgroupParent] })
    // every command from now on is of the new boot
    w().env.PODNET_TEST_BOOT_ID = bootId
    assert.ok(killed.length >= oldProcs.length, 'the pods and the supervisor died')
    assert.deepEqual(oldProcs.filter((p) => isAlive(p)), [])
    // before the supervisor runs, the records say what is known: the live state is gone
    assert.match(ok('pod', 'ls'), /\nalways\s+0\/1\s+Failed \(Lost\)/)

    // the boot units: podnet-networks.service, then podnet-supervisor.service (docs/reliability.md)
    ok('network', 'restore', '--host-netns', topo.host.name)
    ok('pod', 'supervisor', 'start')
    const after = await eventually(() => {
      const recs = Object.fromEntries(['always', 'onfail', 'never', 'local'].map((n) => [n, inspect(n)])) as Record<string, PodRecord>
      return recs.always!.phase === 'Running' && recs.onfail!.phase === 'Running' && recs.local!.phase === 'Running' && recs.never!.phase === 'Failed'
        && recs.always!.containers[0]!.state.status === 'running' ? recs : undefined
    }, 30_000, 'the pods restored')

    for (const n of ['always', 'onfail', 'local']) {
      const r = after[n]!
      assert.equal(r.restored?.cause, 'NodeRestart', n)
      assert.match(r.restored!.message, /rebooted/)
      assert.equal(r.bootId, bootId)
      assert.deepEqual(r.sandbox.ips, before[n]!.sandbox.ips, `${n}: the same address`)
      assert.ok(isAlive(r.sandbox.pause), `${n}: a new pause`)
      assert.notEqual(r.sandbox.pause!.pid, before[n]!.sandbox.pause!.pid)
    }
    assert.deepEqual(podAddr(after.always!), before.always!.sandbox.ips, 'the address on eth0 (ip -j)')
    const web0 = after.always!.containers[0]!
    assert.deepEqual([web0.state.status, web0.restartCount, web0.lastState?.reason, web0.lastState?.exitCode], ['running', 1, 'ContainerStatusUnknown', 137])
    assert.equal(await eventually(() => { try { return probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8150) } catch { return undefined } }, 5000, 'the published port'), 'hello-again')
    // OnFailure: the reboot is a failure of the running container; the completed one stays completed
    const [done, app] = after.onfail!.containers
    assert.deepEqual([done!.state.status, done!.state.status === 'terminated' && done!.state.reason, done!.restartCount], ['terminated', 'Completed', 0])
    assert.deepEqual([app!.state.status, app!.restartCount], ['running', 1])
    // Never: not restarted, said why
    const never = after.never!
    assert.deepEqual([never.phase, never.reason, never.sandbox.state], ['Failed', 'Lost', 'stopped'])
    assert.match(never.message ?? '', /rebooted .*restartPolicy Never: not restarted/)
    assert.deepEqual(never.containers.map((c) => c.state.status === 'terminated' && c.state.reason), ['ContainerStatusUnknown'])
    assert.match(ok('pod', 'ls'), /\nnever\s+0\/1\s+Failed \(Lost\)/)
    assert.match(ok('pod', 'inspect', 'always'), /Restored:\s+.*NodeRestart/)

    assert.deepEqual(before.always!.sandbox.ips, ['10.79.0.3/24'])
    // the boot goes on as usual: a new pod gets a free address
    ok('pod', 'rm', 'never')
    ok('pod', 'run', '-d', '-f', manifest('newcomer', 'Always', `    - { name: app, command: [sleep, '600'] }`), '--host-netns', topo.host.name)
    const taken = [after.always!, after.onfail!].flatMap((r) => r.sandbox.ips)
    assert.equal(inspect('newcomer').sandbox.ips.filter((ip) => taken.includes(ip)).length, 0)
    const newProcs = ['always', 'onfail', 'local', 'newcomer'].flatMap((n) => podProcesses(inspect(n)))
    ok('pod', 'rm', 'always', 'onfail', 'local', 'newcomer')
    for (const n of ['first', 'always', 'onfail', 'never', 'local', 'newcomer']) assert.deepEqual(leftovers(n, [...oldProcs, ...newProcs]), [], n)
    assert.equal(ok('network', 'check', '--host-netns', topo.host.name).trim(), 'no drift')
  })

  it('with the run dir on disk (its files outlive the reboot): its live records name the old boot, so they read as lost; the supervisor empties it and restores the pods, the network made again by the first attach', async () => {
    const { ok, inspect, topo, leftovers, cgroupParent } = w()
    ok('pod', 'run', '-d', '-f', manifest('disk', 'Always', `    - { name: app, command: [sleep, '600'], ports: [{ containerPort: 80, hostPort: 8151 }] }`), '--host-netns', topo.host.name)
    const before = inspect('disk')
    const oldProcs = podProcesses(before)
    const { bootId } = await rebootTopology(topo, { cgroupParents: [cgroupParent], runDirsOnDisk: true })
    w().env.PODNET_TEST_BOOT_ID = bootId
    assert.ok(existsSync(join(topo.runDir, 'pods', 'disk', 'status.json')), 'the old boot\'s live record is still on disk')
    // read as what it is: the live state of another boot
    assert.match(ok('pod', 'ls'), /\ndisk\s+0\/1\s+Failed \(Lost\)/)
    ok('pod', 'supervisor', 'start') // no network restore: the attach makes the network again
    const back = await eventually(() => {
      const r = inspect('disk')
      return r.phase === 'Running' && r.containers[0]!.state.status === 'running' ? r : undefined
    }, 30_000, 'the pod restored')
    assert.deepEqual([back.restored?.cause, back.sandbox.ips, back.bootId], ['NodeRestart', before.sandbox.ips, bootId])
    assert.equal(readFileSync(join(topo.runDir, 'boot_id'), 'utf8').trim(), bootId, 'the run dir is this boot\'s')
    assert.deepEqual(oldProcs.filter((p) => isAlive(p)), [])
    const newProcs = podProcesses(back)
    ok('pod', 'rm', 'disk')
    assert.deepEqual(leftovers('disk', [...oldProcs, ...newProcs]), [])
    assert.equal(ok('network', 'check', '--host-netns', topo.host.name).trim(), 'no drift')
  })
})
