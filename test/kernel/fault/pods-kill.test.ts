/**
 * kill -9 loops on pod commands (issue 10, section 4): `pod run -d` and `pod rm` with the
 * supervisor SIGKILLed at a random point of its work, round after round, each followed by the
 * normal commands, which must work without a manual step (no pod gc, no network gc). After every
 * round nothing of the pod is left (processes, mounts, cgroups, veths, IPAM, attachments, port
 * claims, nft rules), and at the end `network check` finds nothing.
 *
 * PODNET_KILL_ROUNDS sets the number of rounds (default 50; 200 were run on the development machine).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { responderMain } from '../../../src/dns/service.js'
import { processStartTime } from '../../../src/runtime/proc.js'
import { machineProcesses } from '../../support/reboot.js'
import { eventually, podnetBin, useCliWorld } from '../runtime/support.js'

const ROUNDS = Number(process.env.PODNET_KILL_ROUNDS ?? 50)

describe('kernel: kill -9 loops on pod run and pod rm (CLI, supervisor)', function () {
  this.timeout(60_000 + ROUNDS * 30_000)
  const w = useCliWorld()

  /** Runs `podnet ARGS` in the background; resolves with its status and stderr. */
  const start = (args: string[]): Promise<{ status: number | null; stderr: string }> => {
    const child = spawn(process.execPath, [podnetBin, ...args], { env: w().env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    return new Promise((resolve) => child.once('close', (status) => resolve({ status, stderr })))
  }
  /** SIGKILLs the supervisor that runs now (by its pid file), if one does. */
  const killSupervisor = async (): Promise<boolean> => {
    let pid: number
    try {
      pid = Number(readFileSync(join(w().topo.stateDir, 'supervisor.pid'), 'utf8').trim())
    } catch {
      return false
    }
    if (processStartTime(pid) === undefined) return false
    try { process.kill(pid, 'SIGKILL') } catch { return false }
    await eventually(() => (processStartTime(pid) === undefined ? true : undefined), 5000, 'the supervisor gone')
    return true
  }
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
  /** The network's DNS responder (docs/dns.md) lives as long as the network: not a pod's process. */
  const notDns = (pid: number): boolean => {
    try {
      return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(responderMain())
    } catch {
      return false // gone
    }
  }
  /** One line of stderr at most, and never a stack trace. */
  const oneLine = (what: string, stderr: string): void => {
    assert.ok(stderr.trim().split('\n').length <= 1 && !/\n\s+at /.test(stderr), `${what}: ${stderr}`)
  }

  /**
   * The loop: each round `pod run -d`, the supervisor killed at a random point of it; `pod rm`,
   * killed likewise; then a plain `pod rm`, which must work (or say the pod does not exist), and
   * nothing of the pod may be left. At the end the normal commands work and the network is clean.
   */
  const killLoop = async (withNetwork: boolean): Promise<void> => {
    const { ok, podnet, topo, manifest, rootfs, network, leftovers, cgroupParent } = w()
    const file = manifest('victim', `
metadata: { name: victim, annotations: { podnet.io/rootfs: ${rootfs}${withNetwork ? `, podnet.io/network: ${network}` : ''} } }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - { name: one, command: [sleep, '600']${withNetwork ? ", ports: [{ containerPort: 80, hostPort: 8170 }]" : ''} }
  - { name: two, command: [sleep, '600'] }
`)
    const run = ['pod', 'run', '-d', '-f', file, '--host-netns', topo.host.name]
    const rm = ['pod', 'rm', 'victim', '-t', '0']
    // how long each takes undisturbed (with a supervisor running): the window the kills are drawn from
    ok('pod', 'supervisor', 'start')
    let t0 = Date.now()
    ok(...run)
    const runMs = Math.max(50, Date.now() - t0)
    t0 = Date.now()
    ok(...rm)
    const rmMs = Math.max(50, Date.now() - t0)
    const machine = { stateDirs: [], runDirs: [topo.runDir], cgroupParents: [cgroupParent], hostNetns: [] }
    const kills = { run: 0, rm: 0 }
    for (let i = 0; i < ROUNDS; i++) {
      // pod run -d, the supervisor killed somewhere in it (a supervisor runs: the last pod rm started it)
      const running = start(run)
      await sleep(Math.random() * runMs)
      if (await killSupervisor()) kills.run++
      oneLine(`round ${i}: pod run`, (await running).stderr)
      // pod rm, killed likewise (it may start a supervisor, which adopts what the dead one left)
      const removing = start(rm)
      await sleep(Math.random() * (rmMs + 300))
      if (await killSupervisor()) kills.rm++
      oneLine(`round ${i}: pod rm`, (await removing).stderr)
      // the next command just works: the pod is gone after it, whatever the kills left
      const again = podnet(rm)
      assert.ok(again.status === 0 || (again.status === 1 && again.stderr === "podnet: pod 'victim' does not exist\n"), `round ${i}: pod rm: ${again.stderr}`)
      assert.deepEqual(leftovers('victim', []), [], `round ${i}`)
      assert.deepEqual(machineProcesses(machine).filter(notDns), [], `round ${i}: no launcher, pause or container left`)
    }
    assert.ok(kills.run >= ROUNDS / 6 && kills.rm >= ROUNDS / 6, `the kills landed: ${JSON.stringify(kills)}`)
    // and the normal commands work: run, rm, a clean network
    ok(...run)
    assert.equal(w().inspect('victim').phase, 'Running')
    ok(...rm)
    assert.deepEqual(leftovers('victim', []), [])
    assert.equal(ok('network', 'check', '--host-netns', topo.host.name).trim(), 'no drift')
  }

  it(`pod run -d and pod rm, the supervisor SIGKILLed at random points (${ROUNDS} rounds each): the next pod rm and pod run work, no process, mount, cgroup or record is left`, async () => {
    await killLoop(false)
  })

  it(`the same on a network with a published port: no veth, address, attachment, port claim or nft element is left either`, async () => {
    // A supervisor killed inside the bridge layer's attach leaves what that attach made before
    // its record (a port claim, a veth, map elements): the next detach finds them by name and by
    // owner tag and removes them (docs/reliability.md, kill -9 of attach).
    await killLoop(true)
  })
})
