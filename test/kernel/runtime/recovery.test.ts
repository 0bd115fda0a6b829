/**
 * Failures around a running pod, through the CLI and the supervisor it starts, with the pod on
 * a podnet network in a host namespace of its own: the pause killed (with and without a
 * supervisor running). Every test checks the real state afterwards: processes in /proc, bind
 * mounts in mountinfo, veths and addresses with `ip -j`, the bridge layer's attachment, IPAM
 * and port records, nft rules and cgroups.
 *
 * A supervisor killed in the middle of creating a pod: the test hook PODNET_TEST_HALT_AT makes
 * it stop itself (SIGSTOP) at a named stage; the test SIGKILLs it there, by pid, and checks
 * what the next supervisor does: a sandbox not yet complete is undone (SetupInterrupted), a
 * complete one is finished (every container running exactly once).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { detectCgroupLayout, type PodRecord, type ProcessRef } from '../../../src/runtime/index.js'
import { isAlive, processStartTime } from '../../../src/runtime/proc.js'
import { eventually, killHaltedSupervisor, podProcesses, useCliWorld } from './support.js'

describe('kernel: pod failures (CLI, supervisor, network)', function () {
  this.timeout(60_000)
  const w = useCliWorld()

  const twoContainers = (name: string, hostPort: number, extra = ''): string => w().manifest(name, `
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network} }
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 5
${extra}
  containers:
  - { name: app, command: [sleep, '60'], ports: [{ containerPort: 80, hostPort: ${hostPort} }] }
  - { name: side, command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 0.1; done'] }
`)
  const podAddr = (rec: PodRecord): string[] => {
    const out = execFileSync('nsenter', [`--net=${rec.sandbox.pins!.net}`, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })
    return (JSON.parse(out) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>)[0]!.addr_info
      .filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)
  }

  it('a killed pause: the supervisor fails the pod (SandboxDied in inspect and ls), ends its containers and tears the sandbox down; pod rm leaves nothing', async () => {
    const { ok, inspect, leftovers, topo } = w()
    ok('pod', 'run', '-d', '-f', twoContainers('victim', 8090), '--host-netns', topo.host.name)
    const rec = inspect('victim')
    assert.equal(rec.phase, 'Running')
    assert.deepEqual(podAddr(rec), rec.sandbox.ips)
    const procs = podProcesses(rec)
    assert.equal(procs.length, 5, 'pause + 2 launchers + 2 containers')
    assert.deepEqual(leftovers('victim', []).filter((l) => !l.startsWith('mount')).length > 0, true, 'the checks see a live pod')

    process.kill(rec.sandbox.pause!.pid, 'SIGKILL')
    const failed = await eventually(() => {
      const r = inspect('victim')
      return r.phase === 'Failed' ? r : undefined
    }, 10_000, 'the pod failed')
    assert.equal(failed.reason, 'SandboxDied')
    assert.match(failed.message ?? '', /pause/)
    assert.equal(failed.sandbox.state, 'stopped')
    assert.deepEqual(failed.containers.map((c) => c.state.status), ['terminated', 'terminated'])
    assert.deepEqual(failed.containers.map((c) => c.restartCount), [0, 0], 'no restart in a dead sandbox')
    assert.match(ok('pod', 'ls'), /\nvictim\s+0\/2\s+Failed \(SandboxDied\)\s/)
    assert.equal((JSON.parse(ok('pod', 'ls', '--json')) as PodRecord[])[0]!.reason, 'SandboxDied')
    // the sandbox is gone already: only the record and the logs stay until pod rm
    assert.deepEqual(leftovers('victim', procs), [])
    assert.ok(!existsSync(failed.sandbox.pins!.net))
    ok('pod', 'rm', 'victim')
    assert.ok(!existsSync(join(topo.stateDir, 'pods', 'victim')))
    assert.deepEqual(leftovers('victim', procs), [])
  })

  it('a pause killed while no supervisor runs: the containers keep running until the next supervisor (started by pod gc) fails the pod and cleans everything up', async () => {
    const { ok, inspect, leftovers, topo, supervisorPid } = w()
    ok('pod', 'run', '-d', '-f', twoContainers('orphan', 8091), '--host-netns', topo.host.name)
    const rec = inspect('orphan')
    const procs = podProcesses(rec)
    const sup = supervisorPid()!
    process.kill(sup, 'SIGKILL')
    await eventually(() => (processStartTime(sup) === undefined ? true : undefined), 5000, 'the supervisor gone')
    process.kill(rec.sandbox.pause!.pid, 'SIGKILL')
    await eventually(() => (isAlive(rec.sandbox.pause) ? undefined : true), 5000, 'the pause gone')
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(procs.filter((p) => isAlive(p)).length, 4, 'nobody noticed: launchers and containers still run')
    assert.equal(inspect('orphan').phase, 'Running')

    const report = JSON.parse(ok('pod', 'gc', '--json')) as Record<string, string[]>
    assert.deepEqual(report.removedPods, [])
    const failed = inspect('orphan')
    assert.equal(failed.phase, 'Failed')
    assert.equal(failed.reason, 'SandboxDied')
    assert.match(failed.message ?? '', /no supervisor/)
    assert.deepEqual(leftovers('orphan', procs), [])
    ok('pod', 'rm', 'orphan')
    assert.deepEqual(leftovers('orphan', procs), [])
  })

  it('a killed pause with shareProcessNamespace: the kernel ends the containers with it; no restart is attempted, the pod fails SandboxDied', async () => {
    const { ok, inspect, leftovers, topo } = w()
    ok('pod', 'run', '-d', '-f', twoContainers('shared', 8092, '  shareProcessNamespace: true'), '--host-netns', topo.host.name)
    const rec = inspect('shared')
    const procs = podProcesses(rec)
    process.kill(rec.sandbox.pause!.pid, 'SIGKILL')
    const failed = await eventually(() => {
      const r = inspect('shared')
      return r.phase === 'Failed' ? r : undefined
    }, 10_000, 'the pod failed')
    assert.equal(failed.reason, 'SandboxDied')
    assert.deepEqual(failed.containers.map((c) => [c.state.status, c.restartCount]), [['terminated', 0], ['terminated', 0]])
    await new Promise((r) => setTimeout(r, 500)) // past the 200 ms back-off: still nothing restarted
    assert.deepEqual(inspect('shared').containers.map((c) => c.restartCount), [0, 0])
    assert.deepEqual(leftovers('shared', procs), [])
  })

  it('a pod whose live state is gone (the run dir cleared under it, same boot): reads as Failed (Lost) until a supervisor starts, which ends its old processes and brings it back on the same address; nothing leaks', async () => {
    const { ok, inspect, leftovers, topo, cgroupParent } = w()
    ok('pod', 'run', '-d', '-f', twoContainers('lost', 8093), '--host-netns', topo.host.name)
    const rec = inspect('lost')
    const procs = podProcesses(rec)
    ok('pod', 'supervisor', 'stop')
    // what clearing the run dir does to a running pod: its mounts go (lazily), its files go
    const dir = join(topo.runDir, 'pods', 'lost')
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => m !== undefined && m.startsWith(`${dir}/`))
    assert.equal(mounts.length, 4, 'net, ipc, uts pins and /dev/shm')
    for (const m of mounts) execFileSync('umount', ['-l', m])
    rmSync(dir, { recursive: true })
    const lost = inspect('lost')
    assert.deepEqual([lost.phase, lost.reason], ['Failed', 'Lost'])
    assert.deepEqual(lost.containers.map((c) => c.state.status === 'terminated' && [c.state.exitCode, c.state.reason]), [[137, 'ContainerStatusUnknown'], [137, 'ContainerStatusUnknown']])
    assert.match(ok('pod', 'ls'), /\nlost\s+0\/2\s+Failed \(Lost\)\s/)
    assert.equal(procs.filter((p) => isAlive(p)).length, 5, 'its processes run on, unsupervised')
    // pod gc starts a supervisor: it restores the pod (restartPolicy Always), ending the old processes by its cgroup first
    const report = JSON.parse(ok('pod', 'gc', '--json')) as { removedCgroups: string[]; errors: string[] }
    assert.deepEqual(report.errors, [])
    const back = await eventually(() => {
      const r = inspect('lost')
      return r.phase === 'Running' && r.containers.every((c) => c.state.status === 'running') ? r : undefined
    }, 15_000, 'the pod restored')
    assert.deepEqual(procs.filter((p) => isAlive(p)), [], 'the old processes ended')
    assert.deepEqual([back.restored?.cause, back.sandbox.ips], ['RunDirLost', rec.sandbox.ips])
    assert.match(back.restored!.message, /run directory was cleared; same boot/)
    assert.deepEqual(back.containers.map((c) => [c.restartCount, c.lastState?.reason]), [[1, 'ContainerStatusUnknown'], [1, 'ContainerStatusUnknown']])
    assert.deepEqual(podAddr(back), rec.sandbox.ips)
    assert.ok(!report.removedCgroups.includes(`${cgroupParent}/lost`), 'gc leaves the restored pod alone')
    const newProcs = podProcesses(back)
    ok('pod', 'rm', 'lost', '-t', '0')
    assert.deepEqual(leftovers('lost', [...procs, ...newProcs]), [])
  })

  /**
   * Runs `pod run -d` under a supervisor that halts at `stage`, SIGKILLs that supervisor there
   * and starts the next one (which adopts before it answers). Returns the processes the killed
   * supervisor had started (the pause, launchers).
   */
  const killDuringCreation = async (stage: string, file: string): Promise<ProcessRef[]> => {
    const { podnet, ok, topo, env } = w()
    ok('pod', 'supervisor', 'stop')
    const { started, status, stderr } = await killHaltedSupervisor(w(), ['pod', 'run', '-d', '-f', file, '--host-netns', topo.host.name], stage,
      { env: { ...env, PODNET_TEST_HALT_AT: stage }, haltTimeoutMs: 20_000 })
    assert.equal(status, 1)
    assert.match(stderr, /^podnet: the supervisor closed the connection during 'run-manifest'( \(E[A-Z]+\))?; see .*supervisor\.log\n$/, 'one line, no stack trace')
    assert.equal(podnet(['pod', 'supervisor', 'start']).status, 0)
    return started
  }
  const pod = (name: string, hostPort: number): string => w().manifest(name, `
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network} }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - { name: one, command: [sleep, '60'], ports: [{ containerPort: 80, hostPort: ${hostPort} }] }
  - { name: two, command: [sleep, '60'] }
`)
  const cgroupProcs = (name: string, c: string): number[] => {
    const h = detectCgroupLayout().hierarchies[0]!
    return readFileSync(join(h.mount, w().cgroupParent, name, `ctr-${c}`, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
  }

  for (const [i, stage] of ['namespaces', 'cgroups', 'network'].entries()) {
    it(`a supervisor killed at stage '${stage}' of creating a pod: the next one undoes it all (Failed, SetupInterrupted); nothing leaks`, async () => {
      const name = `half-${stage}`
      const { inspect, leftovers, ok } = w()
      const started = await killDuringCreation(stage, pod(name, 8100 + i))
      assert.ok(started.length >= 1, 'the pause was started')
      const rec = inspect(name)
      assert.deepEqual([rec.phase, rec.reason, rec.sandbox.state], ['Failed', 'SetupInterrupted', 'stopped'])
      assert.deepEqual(rec.containers.map((c) => c.state.status), ['terminated', 'terminated'])
      assert.deepEqual(leftovers(name, started), [])
      assert.match(ok('pod', 'ls'), new RegExp(`\\n${name}\\s+0/2\\s+Failed \\(SetupInterrupted\\)`))
      ok('pod', 'rm', name)
      assert.deepEqual(leftovers(name, started), [])
      // the name, the address and the port are free again
      ok('pod', 'run', '-d', '-f', pod(name, 8100 + i), '--host-netns', w().topo.host.name)
      assert.equal(inspect(name).phase, 'Running')
    })
  }

  for (const [i, stage] of ['ready', 'launch', 'launched'].entries()) {
    it(`a supervisor killed at stage '${stage}' of creating a pod: the next one finishes it, every container running exactly once`, async () => {
      const name = `late-${stage}`
      const { inspect, leftovers, ok } = w()
      const started = await killDuringCreation(stage, pod(name, 8110 + i))
      const rec = inspect(name)
      assert.deepEqual([rec.phase, rec.sandbox.state], ['Running', 'ready'])
      assert.deepEqual(rec.containers.map((c) => [c.name, c.state.status, c.restartCount]), [['one', 'running', 0], ['two', 'running', 0]])
      for (const c of rec.containers) {
        const pid = (c.state as { pid: number }).pid
        assert.deepEqual(cgroupProcs(name, c.name), [pid], `container ${c.name}: one process, the recorded one`)
        assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x0060\x00')
      }
      const launchers = started.filter((r) => !isAlive(rec.sandbox.pause) || r.pid !== rec.sandbox.pause!.pid)
      if (stage === 'launched') {
        // the recorded launcher was adopted: its container kept running
        assert.equal(launchers.length, 1)
        assert.deepEqual((rec.containers[0]!.state as { launcher: ProcessRef }).launcher, launchers[0])
      } else if (stage === 'launch') {
        // the launcher nobody recorded was ended with its container, and a new run started
        assert.equal(launchers.length, 1)
        await eventually(() => (isAlive(launchers[0]) ? undefined : true), 5000, 'the unrecorded launcher gone')
      }
      assert.deepEqual(podAddr(rec), rec.sandbox.ips)
      const procs = [...started, ...podProcesses(rec)]
      ok('pod', 'rm', name, '-t', '0')
      assert.deepEqual(leftovers(name, procs), [])
    })
  }
})
