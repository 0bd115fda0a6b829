/**
 * kill -9 of the supervisor in the middle of `pod rm` of a pod nobody owns (docs/reliability.md):
 * the test hook PODNET_TEST_HALT_AT stops the supervisor (SIGSTOP) at a removal stage, the test
 * SIGKILLs it there, and the next supervisor must finish the removal by itself, without another
 * `pod rm` (as a restarted kubelet finishes the deletion of a pod with a deletionTimestamp):
 * no process, mount, cgroup, veth, address or record of the pod is left.
 *
 *   removing          deletionTimestamp recorded, nothing stopped (the containers run on)
 *   removing-stopped  the pod stopped, its record, mounts and cgroups not removed yet
 *
 * The pod's containers ignore SIGTERM and its terminationGracePeriodSeconds is 600, while the
 * `pod rm` asked for -t 0: the next supervisor must use the recorded grace period
 * (deletionGracePeriodSeconds), or the removal would take 10 minutes.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PodStore, type PodRecord, type ProcessRef } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { eventually, killHaltedSupervisor, podProcesses, useCliWorld } from '../runtime/support.js'

describe('kernel: kill -9 of the supervisor during pod rm (a pod no workload owns)', function () {
  this.timeout(90_000)
  const w = useCliWorld()

  const manifest = (name: string): string => w().manifest(name, `
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network} }
spec:
  terminationGracePeriodSeconds: 600
  containers:
  - { name: one, command: [sh, -c, 'trap "" TERM; while :; do sleep 1; done'] }
  - { name: two, command: [sleep, '600'] }
`)

  for (const stage of ['removing', 'removing-stopped'] as const) {
    it(`killed at '${stage}': the next supervisor finishes the removal without another pod rm; nothing is left`, async () => {
      const { ok, podnet, inspect, leftovers, topo } = w()
      const name = `rmkill-${stage}`
      // a supervisor with the hook: pod run -d starts it (no creation stage is named)
      ok('pod', 'supervisor', 'stop')
      assert.equal(podnet(['pod', 'supervisor', 'start'], { PODNET_TEST_HALT_AT: stage }).status, 0)
      ok('pod', 'run', '-d', '-f', manifest(name), '--host-netns', topo.host.name)
      const rec = inspect(name)
      assert.equal(rec.phase, 'Running')
      assert.equal(rec.spec.ownerReferences, undefined, 'nobody owns the pod')
      const processes: ProcessRef[] = podProcesses(rec)
      assert.ok(processes.length >= 3 && processes.every(isAlive), 'the pause and the containers run')
      // pod rm -t 0, halted at the stage, then SIGKILLed
      const { status, stderr } = await killHaltedSupervisor(w(), ['pod', 'rm', name, '-t', '0'], stage)
      assert.equal(status, 1, stderr)
      assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`)
      // what the killed supervisor left, read from the state and run dirs (no supervisor runs)
      const store = new PodStore({ stateDir: topo.stateDir, runDir: topo.runDir })
      const left = store.read(name) as PodRecord
      assert.ok(left, 'the record is still there')
      assert.ok(left.deletionTimestamp !== undefined, 'the removal was recorded first')
      assert.equal(left.deletionGracePeriodSeconds, 0, 'with the grace period pod rm gave')
      if (stage === 'removing') {
        assert.equal(left.phase, 'Running')
        assert.ok(processes.every(isAlive), 'nothing stopped yet')
      } else {
        assert.notEqual(left.phase, 'Running')
        const pause = rec.sandbox.pause!
        assert.deepEqual(processes.filter((p) => p.pid !== pause.pid).filter(isAlive), [], 'its containers were stopped')
      }
      // the next supervisor (no hook) finishes it: no pod rm
      assert.equal(podnet(['pod', 'supervisor', 'start']).status, 0)
      await eventually(() => (store.read(name) === undefined && !store.names().includes(name) ? true : undefined), 30_000, 'the record removed')
      await eventually(() => (leftovers(name, processes).length === 0 ? true : undefined), 10_000, `nothing left: ${leftovers(name, processes).join(', ')}`)
      assert.deepEqual((JSON.parse(ok('pod', 'ls', '--json')) as PodRecord[]).map((p) => p.name).filter((n) => n === name), [])
      const log = readFileSync(join(topo.stateDir, 'supervisor.log'), 'utf8')
      assert.doesNotMatch(log.slice(log.lastIndexOf('listening on')), /error/, 'the next supervisor logged no error')
    })
  }
})
