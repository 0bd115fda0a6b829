/**
 * Taking over pods (the PodRuntime's layer between its API, pod-runtime.ts, and its state
 * machine, pod-machine.ts):
 *
 * adopt:       after a supervisor restart, the pods its predecessor left: live launchers are
 *              watched by polling, the exit records of those that ended are read, launches that
 *              never reported are adopted or ended, back-offs are re-armed, half-made sandboxes
 *              are torn down.
 * restoreLost: after a reboot (or a cleared run dir), the pods whose live state is gone come
 *              back as their restartPolicy asks (restore.ts makes the kubelet's choices).
 */
import { mkdirSync } from 'node:fs'
import { UndoStack } from '../bridge/undo.js'
import { Cgroup } from './cgroups/index.js'
import { cleanupPodMounts, removeCgroupTree } from './gc.js'
import { pauseCommand } from './pause.js'
import { childPids, isAlive } from './proc.js'
import { abandonSandbox, createSandbox, killCgroupProcesses, podDetachRequest, signalRef } from './sandbox.js'
import type { StopOptions } from './options.js'
import { planRestore, type RestorePlan } from './restore.js'
import { lostRecord } from './state-store.js'
import { PodMachine } from './pod-machine.js'
import { now, type PodRt } from './pod-state.js'
import { isActive, type ContainerStatus, type PodRecord } from './types.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The pods a dead supervisor or a reboot left, taken over; PodRuntime is its face. */
export abstract class PodRecovery extends PodMachine {
  /** Stops a pod if it runs, then removes everything of it (PodRuntime.remove). */
  abstract remove(name: string, opts?: StopOptions): Promise<void>

  // -------------------------------------------------------------------------------------------
  // restore after a reboot (restore.ts)

  /**
   * Brings back the pods whose live state is gone (a reboot, a cleared run dir) as their
   * restartPolicy asks (restore.ts): a new sandbox with the same name and, when free, the same
   * addresses; the others end Failed (Lost). Every such pod is registered at once (a stop or rm
   * waits for its turn, and ends it), then they are restored one by one. Emits 'restored' and
   * 'lost' per pod. Returns the names of the pods that run again.
   */
  async restoreLost(): Promise<string[]> {
    const todo: Array<{ pod: PodRt; old: PodRecord; plan: RestorePlan }> = []
    for (const name of this.store.names()) {
      if (this.closed || this.pods.has(name) || this.store.hasLive(name)) continue
      const old = this.store.readPersistent(name)
      if (!old || !isActive(old)) continue
      const plan = planRestore(old, now(), this.bootId)
      const pod: PodRt = {
        rec: plan.restore ?? plan.final ?? lostRecord(old, this.store.run), containers: new Map(old.spec.containers.map((c) => [c.name, { runId: 0 }])),
        stopping: false, tearingDown: false, queue: Promise.resolve(),
      }
      this.pods.set(name, pod)
      todo.push({ pod, old, plan })
    }
    const restored: string[] = []
    for (const { pod, old, plan } of todo) {
      try {
        if (await this.serial(pod, () => this.restorePod(pod, old, plan))) restored.push(old.name)
      } catch (err) {
        this.emit('error', err)
      }
    }
    return restored
  }

  /** One lost pod: its leftovers ended, then a new sandbox and its containers, or its final record. */
  private async restorePod(pod: PodRt, old: PodRecord, plan: RestorePlan): Promise<boolean> {
    const name = old.name
    if (this.closed || pod.stopping || this.pods.get(name) !== pod) return false
    // what the lost sandbox may have left: its processes (a cleared run dir: they run on), mounts, its attachment
    cleanupPodMounts(this.store, name)
    await removeCgroupTree(this.layout, `${this.cgroupParent}/${name}`)
    if (old.spec.network !== undefined) {
      try {
        await this.network.detach(podDetachRequest(old, old.spec.network))
      } catch {
        // its records went with the run dir
      }
    }
    if (plan.remove) {
      this.pods.delete(name)
      await this.remove(name)
      return false
    }
    if (plan.final) {
      this.persist(plan.final)
      this.pods.delete(name)
      this.emit('change', plan.final)
      this.emit('lost', name, plan.final.message)
      return false
    }
    const rec = pod.rec
    try {
      // the new boot is recorded before anything is made
      this.store.writePersistent(rec)
      mkdirSync(this.store.logDir(name), { recursive: true })
      mkdirSync(this.store.exitDir(name), { recursive: true })
      await UndoStack.run(async (undo) => {
        pod.pause = await createSandbox(this.sb, rec, this.opts.pause ?? pauseCommand(), undo, plan.ips)
      })
    } catch (err) {
      // everything made was undone: the pod ends, saying why
      rec.phase = 'Failed'
      rec.reason = 'RestoreFailed'
      rec.message = `${rec.restored?.message ?? 'its live state was lost'}; no new sandbox: ${(err as Error).message}`
      rec.finishedAt = now()
      rec.sandbox = { state: 'stopped', ips: [], ...(rec.sandbox.hostNetns !== undefined && { hostNetns: rec.sandbox.hostNetns }) }
      for (const cs of rec.containers) {
        if (cs.state.status === 'waiting') {
          cs.state = cs.lastState ?? { status: 'terminated', exitCode: 0, reason: 'NotStarted', startedAt: rec.finishedAt, finishedAt: rec.finishedAt }
          if (cs.lastState === cs.state) delete cs.lastState
        }
      }
      this.persist(rec)
      this.pods.delete(name)
      this.emit('change', rec)
      this.emit('lost', name, rec.message)
      return false
    }
    this.watchPause(pod)
    for (const c of rec.spec.containers) if (plan.containers.includes(c.name)) await this.startContainer(pod, c)
    this.save(pod, true)
    this.emit('restored', name, rec.restored)
    return true
  }

  // -------------------------------------------------------------------------------------------
  // adoption (after a supervisor restart)

  /**
   * Takes over the pods a previous runtime left (after a supervisor restart): watches live
   * launchers, processes the exits it missed, re-arms back-offs, tears down half-made sandboxes.
   * Returns the names of the pods it adopted.
   */
  async adopt(): Promise<string[]> {
    await this.claimRunDir()
    const adopted: PodRt[] = []
    for (const rec of this.store.list()) {
      if (this.pods.has(rec.name)) continue
      if (rec.sandbox.state === 'creating') {
        try {
          try {
            await abandonSandbox(this.sb, rec)
          } finally {
            this.emit('change', rec)
          }
        } catch (err) {
          this.emit('error', err)
        }
        continue
      }
      if (!isActive(rec)) continue
      const pod: PodRt = {
        rec, containers: new Map(rec.spec.containers.map((c) => [c.name, { runId: 0 }])), stopping: false, tearingDown: false, queue: Promise.resolve(),
        ...(rec.sandbox.pause && { pauseAdopted: rec.sandbox.pause }),
      }
      for (const cs of rec.containers) {
        const crt = pod.containers.get(cs.name)!
        if (cs.state.status === 'running') this.watchAdopted(crt, cs.state.launcher)
      }
      this.pods.set(rec.name, pod)
      adopted.push(pod)
    }
    this.updatePolling()
    for (const pod of adopted) {
      try {
        await this.adoptPod(pod)
      } catch (err) {
        this.emit('error', err)
      }
    }
    return adopted.map((p) => p.rec.name)
  }

  /** Takes over one active pod: runs its supervisor's predecessor started or left to start. */
  private async adoptPod(pod: PodRt): Promise<void> {
    const rec = pod.rec
    await this.serial(pod, async () => {
      // launches that never reported: adopt them (or their exit) before anything else
      for (const cs of rec.containers) if (cs.launching) await this.adoptLaunch(pod, cs)
    })
    if (!isAlive(rec.sandbox.pause)) {
      delete pod.pauseAdopted
      this.sandboxDied(pod, 'the pause process exited while no supervisor was running')
      await pod.ending
      return
    }
    await this.serial(pod, async () => {
      for (const cs of rec.containers) {
        const crt = pod.containers.get(cs.name)!
        const spec = rec.spec.containers.find((c) => c.name === cs.name)!
        const st = cs.state
        if (st.status === 'running') {
          if (!isAlive(st.launcher)) this.onContainerExit(pod, cs.name, crt.runId, null, null)
        } else if (st.status === 'waiting' && !crt.adopted && !crt.exitHandled) {
          // a launch the record never saw may have left processes in the container's cgroup
          if (rec.sandbox.cgroup !== undefined) await killCgroupProcesses(new Cgroup(this.layout, `${rec.sandbox.cgroup}/ctr-${cs.name}`))
          if (st.reason === 'CrashLoopBackOff' && st.restartAt) this.armRestart(pod, spec, Date.parse(st.restartAt) - Date.now())
          else {
            await this.startContainer(pod, spec)
            this.save(pod)
          }
        }
      }
    })
  }

  /**
   * A launcher started by a dead supervisor before it reported: alive, it is adopted as the
   * running container (its child is the container's process; if the exec failed, its exit
   * record says so); ended, its exit record is processed like any exit.
   */
  private async adoptLaunch(pod: PodRt, cs: ContainerStatus): Promise<void> {
    const l = cs.launching!
    const crt = pod.containers.get(cs.name)!
    cs.runToken = l.runToken
    if (isAlive(l.launcher)) {
      let pid: number | undefined
      for (let i = 0; i < 100 && pid === undefined && isAlive(l.launcher); i++) {
        pid = childPids(l.launcher.pid)[0]
        if (pid === undefined) await sleep(10)
      }
      if (pid !== undefined) {
        cs.state = { status: 'running', startedAt: l.at, pid, launcher: l.launcher }
        delete cs.launching
        this.watchAdopted(crt, l.launcher)
        this.save(pod)
        this.updatePolling()
        return
      }
      // a launcher without a container after a second: end it, its run failed
      signalRef(l.launcher, 'SIGKILL')
      for (let i = 0; i < 100 && isAlive(l.launcher); i++) await sleep(10)
    }
    this.watchAdopted(crt, l.launcher)
    this.onContainerExit(pod, cs.name, crt.runId, null, null)
  }
}
