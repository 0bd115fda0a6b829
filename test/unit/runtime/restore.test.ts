/** What becomes of a pod whose live state is gone (restore.ts): the kubelet's choices after a node restart. */
import assert from 'node:assert/strict'
import { describeLoss, lostCause, planRestore } from '../../../src/runtime/restore.js'
import type { ContainerStatus, PodRecord } from '../../../src/runtime/types.js'
import type { PodSpec, RestartPolicy } from '../../../src/runtime/manifest.js'

const running = (name: string, restartCount = 2): ContainerStatus => ({
  name, restartCount, backoffStep: 1, logPath: `/s/pods/p/logs/${name}.log`, cgroup: `podnet/p/ctr-${name}`, runToken: 'abcd',
  state: { status: 'running', startedAt: '2024-01-01T00:00:01.000Z', pid: 42, launcher: { pid: 41, startTime: 7 } },
})
const completed = (name: string): ContainerStatus => ({
  name, restartCount: 0, backoffStep: 0, logPath: `/s/pods/p/logs/${name}.log`,
  state: { status: 'terminated', exitCode: 0, reason: 'Completed', startedAt: '2024-01-01T00:00:01.000Z', finishedAt: '2024-01-01T00:00:02.000Z' },
})

function record(policy: RestartPolicy, containers: ContainerStatus[]): PodRecord {
  const spec = { name: 'p', restartPolicy: policy, containers: containers.map((c) => ({ name: c.name })), hostname: 'p', network: 'net' } as unknown as PodSpec
  return {
    name: 'p', spec, phase: 'Running', createdAt: '2024-01-01T00:00:00.000Z', startedAt: '2024-01-01T00:00:01.000Z', bootId: 'boot-1',
    sandbox: { state: 'ready', ips: ['10.79.0.3/24', 'fd79::3/64'], hostNetns: 'host', attached: true, network: 'net', pause: { pid: 40, startTime: 6 }, cgroup: 'podnet/p' },
    containers,
  }
}

describe('runtime/restore', () => {
  it('a reboot is told by the boot id; the same boot (or none recorded) is a lost run dir', () => {
    const rec = record('Always', [running('a')])
    assert.equal(lostCause(rec, 'boot-2'), 'NodeRestart')
    assert.equal(lostCause(rec, 'boot-1'), 'RunDirLost')
    const { bootId: _b, ...noBoot } = rec
    assert.equal(lostCause(noBoot, 'boot-2'), 'RunDirLost')
    assert.equal(describeLoss(rec, 'boot-2'), 'the node rebooted (boot boot-1 -> boot-2)')
    assert.match(describeLoss(rec, 'boot-1'), /run directory was cleared; same boot/)
  })

  it('Always: a new sandbox (same addresses asked for, host netns kept), every container again with restartCount + 1 and the lost run as lastState', () => {
    const plan = planRestore(record('Always', [running('a'), completed('b')]), '2024-01-02T00:00:00.000Z', 'boot-2')
    assert.equal(plan.final, undefined)
    assert.deepEqual(plan.containers, ['a', 'b'])
    assert.deepEqual(plan.ips, ['10.79.0.3', 'fd79::3'])
    const r = plan.restore!
    assert.deepEqual([r.phase, r.bootId, r.startedAt, r.reason], ['Pending', 'boot-2', undefined, undefined])
    assert.deepEqual(r.restored, { count: 1, at: '2024-01-02T00:00:00.000Z', cause: 'NodeRestart', message: 'the node rebooted (boot boot-1 -> boot-2)' })
    assert.deepEqual(r.sandbox, { state: 'creating', ips: [], hostNetns: 'host' })
    const [a, b] = r.containers
    assert.deepEqual(a, {
      name: 'a', state: { status: 'waiting', reason: 'ContainerCreating' }, restartCount: 3, backoffStep: 0, logPath: '/s/pods/p/logs/a.log',
      lastState: { status: 'terminated', exitCode: 137, reason: 'ContainerStatusUnknown', message: 'the container state was lost', startedAt: '2024-01-01T00:00:01.000Z', finishedAt: '2024-01-01T00:00:01.000Z' },
    })
    assert.equal(b!.lastState?.reason, 'Completed', 'a completed container runs again under Always')
    const again = planRestore({ ...r, phase: 'Running' }, '2024-01-03T00:00:00.000Z', 'boot-3')
    assert.equal(again.restore!.restored!.count, 2)
  })

  it('OnFailure: the reboot counts as a failure of what ran; a completed container is not run again', () => {
    const plan = planRestore(record('OnFailure', [completed('init'), running('app')]), '2024-01-02T00:00:00.000Z', 'boot-2')
    assert.deepEqual(plan.containers, ['app'])
    assert.deepEqual(plan.restore!.containers[0], completed('init'))
    assert.equal(plan.restore!.containers[1]!.restartCount, 3)
  })

  it('Never: no new sandbox; Failed, reason Lost, saying why; what ran is ContainerStatusUnknown, what completed stays', () => {
    const plan = planRestore(record('Never', [completed('init'), running('app')]), '2024-01-02T00:00:00.000Z', 'boot-2')
    assert.equal(plan.restore, undefined)
    const f = plan.final!
    assert.deepEqual([f.phase, f.reason, f.finishedAt, f.sandbox.state], ['Failed', 'Lost', '2024-01-02T00:00:00.000Z', 'stopped'])
    assert.equal(f.message, 'the node rebooted (boot boot-1 -> boot-2); restartPolicy Never: not restarted')
    assert.deepEqual(f.containers.map((c) => c.state.status === 'terminated' && [c.state.exitCode, c.state.reason]), [[0, 'Completed'], [137, 'ContainerStatusUnknown']])
  })

  it('a pod whose removal was under way at the reboot (deletionTimestamp) is removed, whatever its policy', () => {
    const plan = planRestore({ ...record('Always', [running('a')]), deletionTimestamp: '2024-01-01T00:00:05.000Z' }, '2024-01-02T00:00:00.000Z', 'boot-2')
    assert.deepEqual([plan.remove, plan.restore, plan.final], [true, undefined, undefined])
  })
})
