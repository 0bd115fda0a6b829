/**
 * A pod's sandbox: the shared namespaces held by the pause, loopback, the pod cgroup, /dev/shm,
 * the network attachment and the /etc files; made step by step and taken down in reverse.
 *
 * Each creation step is named in the pod record before it is taken, so whoever finds a half-made
 * sandbox (a supervisor that adopts after a crash) can undo it: teardown skips what is not there.
 * A `checkpoint` callback is called right after each step, before the record names its result
 * (the worst moment to die): tests stop the process there (see HALT_STAGES).
 */
import type { ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExistsError, InvalidArgumentError, PodnetError, isErrno } from '../errors.js'
import { Rtnl } from '../netlink/route/index.js'
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID } from '../sys/constants.js'
import { mount, umount2 } from '../sys/syscall.js'
import type { UndoStack } from '../bridge/undo.js'
import type { PortMapping } from '../bridge/types.js'
import { Cgroup, type CgroupLayout } from './cgroups/index.js'
import { podDnsNames } from './dns-names.js'
import { hostsFile, readHostResolvConf, resolvConf } from './etc-files.js'
import type { PodSpec } from './manifest.js'
import { createPodNamespaces, pinPaths, pinnedInode, unpinAll, type NamespacePins } from './namespaces.js'
import type { PodDetachRequest, PodNetwork } from './network.js'
import { isAlive, processRef, processesInNamespace, type ProcessRef } from './proc.js'
import { podSysctls } from './security/index.js'
import type { PodStore } from './state-store.js'
import { allocateIdRange, createUserPodNamespaces, releaseIdRange, userNamespacePool } from './userns.js'
import type { PodRecord } from './types.js'
import { makeVolumes, unmountVolumes, volumeRecords } from './volumes.js'

/**
 * The points of pod creation (and removal) where a checkpoint is reported. Each one is right
 * after a step and before the record names its result, the worst moment to die:
 *   namespaces  pins mounted and the pause running; the record does not name the pause yet
 *   cgroups     the pod cgroup made and the pause moved into it
 *   network     attached (veth, address, port mappings); the record has no address yet
 *   ready       the sandbox is complete (recorded); no container started
 *   launch      the first container's launcher started; the record does not name it yet
 *   launched    its launcher recorded; it has not reported yet
 *   removing    `pod rm`: the deletionTimestamp recorded; nothing stopped yet (pod-runtime.ts remove)
 *   removing-stopped  `pod rm`: the pod stopped; its record, mounts and cgroups not removed yet
 */
export const HALT_STAGES = ['namespaces', 'cgroups', 'network', 'ready', 'launch', 'launched', 'removing', 'removing-stopped'] as const
export type HaltStage = (typeof HALT_STAGES)[number]

/** What the sandbox steps need from the runtime. */
export interface SandboxDeps {
  store: PodStore
  layout: CgroupLayout
  /** cgroup directory under each hierarchy's root that holds the pods. */
  cgroupParent: string
  network: PodNetwork
  /** Size of each pod's /dev/shm tmpfs. */
  shmSize: string
  /** Called right after each creation step (tests halt there). */
  checkpoint: (stage: HaltStage) => void
  /** The launcher binary (user-namespace pods are created by it). */
  launcher: () => string
  /** Host IDs user-namespace pods get their ranges from (default: userNamespacePool()). */
  usernsPool?: { start: number; count: number }
  /**
   * Records the pod after a teardown step. Unlike the creation steps' store.write (a creation
   * that cannot record its steps is undone), it never throws: a failed write is retried by the
   * runtime (a full disk must not leave a teardown half done).
   */
  record: (rec: PodRecord) => void
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Creates the sandbox of `rec` (its spec, its hostNetns) and records it as ready: namespaces and
 * the pause, loopback up, the pod cgroup with the pause in it, /dev/shm, the network attachment
 * (asking for `ips` again when given: a restore), the /etc files. Every step pushes its inverse
 * on `undo`. Returns the pause's ChildProcess.
 */
export async function createSandbox(deps: SandboxDeps, rec: PodRecord, pause: string[], undo: UndoStack, ips?: string[]): Promise<ChildProcess> {
  const { store } = deps
  const spec = rec.spec
  const name = rec.name
  const sb = rec.sandbox

  // namespaces and the pause (an unrecorded pause is found through the pinned namespaces)
  sb.pins = pinPaths(store.nsDir(name), spec.shareProcessNamespace)
  store.write(rec)
  let made: { pins: NamespacePins; pause: ChildProcess; pausePid?: number }
  if (spec.hostUsers === false) {
    // a user namespace of its own, mapped to a range no other pod holds (userns.ts)
    const range = allocateIdRange(store.root, name, (p) => p !== name && store.names().includes(p), deps.usernsPool ?? userNamespacePool())
    undo.push('release the user-namespace range', () => releaseIdRange(store.root, name))
    sb.userns = range
    sb.pins = { ...sb.pins, user: join(store.nsDir(name), 'user') }
    store.write(rec)
    made = await createUserPodNamespaces({
      launcher: deps.launcher(), dir: store.nsDir(name), hostname: spec.hostname, sharePid: spec.shareProcessNamespace, pause, range,
      sysctls: podSysctls(spec.securityContext, { userNamespace: true }),
      rootfs: spec.containers.map((c, i) => ({ path: c.rootfs, field: `spec.containers[${i}] rootfs` })),
    })
  } else {
    made = createPodNamespaces({ dir: store.nsDir(name), hostname: spec.hostname, sharePid: spec.shareProcessNamespace, pause, sysctls: podSysctls(spec.securityContext) })
  }
  deps.checkpoint('namespaces')
  sb.pins = made.pins
  const pauseRef = processRef(made.pausePid ?? made.pause.pid!)
  if (pauseRef) sb.pause = pauseRef
  undo.push('stop the pause and unpin the namespaces', async () => {
    await killPause(sb.pause)
    unpinAll(made.pins)
  })
  store.write(rec)

  // loopback up (attach does it too, but a pod without a network needs it)
  const rt = Rtnl.open({ netns: made.pins.net })
  try { rt.link.setSync('lo', { up: true }) } finally { rt.close() }

  // cgroups: the pod's, with the pause in pod/pause
  const podCg = `${deps.cgroupParent}/${name}`
  if (deps.layout.hierarchies.length && rec.spec.cgroups !== false) {
    sb.cgroup = podCg
    const pauseCg = new Cgroup(deps.layout, `${podCg}/pause`)
    undo.push('remove the pod cgroups', async () => {
      for (const c of containerCgroups(deps.layout, rec)) { c.kill(); await c.remove() }
      pauseCg.kill()
      await pauseCg.remove()
      Cgroup.removeIfEmpty(deps.layout, podCg)
    })
    store.write(rec)
    pauseCg.create()
    for (const pid of new Set([made.pausePid, made.pause.pid])) {
      if (pid !== undefined) try { pauseCg.addProcess(pid) } catch { /* it died: noticed below */ }
    }
    deps.checkpoint('cgroups')
  }

  // /dev/shm shared by the pod's containers
  const shm = store.shmDir(name)
  mkdirSync(shm, { recursive: true })
  sb.shm = shm
  store.write(rec)
  mount('shm', shm, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${deps.shmSize}`)
  undo.push('unmount /dev/shm', () => unmountShm(shm))
  const fsGroup = spec.securityContext?.fsGroup
  if (fsGroup !== undefined) { chownSync(shm, 0, fsGroup); chmodSync(shm, 0o3777) } // fsGroup owns what podnet makes writable

  // volumes (volumes.ts): named in the record first, so an interrupted creation unmounts the tmpfs ones
  if (spec.volumes?.length) {
    sb.volumes = volumeRecords(spec.volumes, store.volumeDirs(name))
    store.write(rec)
    undo.push('unmount the Memory volumes', () => unmountVolumes(sb.volumes!.filter((v) => v.tmpfs).map((v) => v.path)))
    makeVolumes(spec.volumes, store.volumeDirs(name), fsGroup)
  }

  // network ("attached" from before the attach on: detaching what is not attached is a no-op)
  if (spec.network !== undefined) {
    const network = spec.network
    const mappings = podPortMappings(spec)
    const host = sb.hostNetns !== undefined ? { hostNetns: sb.hostNetns } : {}
    const reservation = spec.addressReservation
    sb.network = network
    sb.attached = true
    store.write(rec)
    try {
      sb.ips = await deps.network.attach({
        network, netns: made.pins.net, id: name, portMappings: mappings.map((m) => m.mapping), dnsNames: podDnsNames(spec), ...host, ...(ips?.length && { ips }),
        ...(reservation !== undefined && { reservation }),
        ...(spec.bandwidth && { bandwidth: spec.bandwidth }), ...(spec.networkPriority !== undefined && { priority: spec.networkPriority }),
      })
    } catch (err) {
      throw mapAttachError(err, mappings)
    }
    deps.checkpoint('network')
    undo.push('detach from the network', () => deps.network.detach({ network, id: name, ...host, ...(reservation !== undefined && { reserveAs: reservation }) }))
  }

  // /etc files
  const etc = store.etcDir(name)
  mkdirSync(etc, { recursive: true })
  sb.hostsFile = join(etc, 'hosts')
  sb.resolvFile = join(etc, 'resolv.conf')
  sb.hostnameFile = join(etc, 'hostname')
  writeFileSync(sb.hostsFile, hostsFile(spec.hostname, sb.ips))
  const dns = spec.network !== undefined ? deps.network.dns?.({ network: spec.network, ...(sb.hostNetns !== undefined && { hostNetns: sb.hostNetns }) }) : undefined
  writeFileSync(sb.resolvFile, resolvConf(readHostResolvConf(), dns))
  writeFileSync(sb.hostnameFile, `${spec.hostname}\n`)

  if (!isAlive(sb.pause)) throw new PodnetError(`pod '${name}': the pause process (${pause.join(' ')}) exited at once`)
  sb.state = 'ready'
  rec.phase = 'Running'
  rec.startedAt = new Date().toISOString()
  store.write(rec)
  deps.checkpoint('ready')
  return made.pause
}

/**
 * Takes the sandbox down: pause, leftover processes, cgroups, network, /dev/shm, pins. Every
 * step is tried; an incomplete teardown is recorded (teardownError, state not 'stopped', so pod
 * rm and pod gc try again) and thrown.
 */
export async function teardownSandbox(deps: SandboxDeps, rec: PodRecord): Promise<void> {
  const sb = rec.sandbox
  if (sb.state === 'stopped') return
  const errors: Error[] = []
  const step = async (fn: () => unknown): Promise<void> => {
    try { await fn() } catch (err) { errors.push(err as Error) }
  }
  await step(() => killPause(sb.pause))
  // a pod still being created may have a pause the record does not name: whatever is in its
  // pinned network namespace is ended (nothing else can be there yet)
  if (sb.state === 'creating' && sb.pins) await step(() => killNamespaceMembers(sb.pins!.net))
  if (sb.cgroup !== undefined) {
    const pauseCg = new Cgroup(deps.layout, `${sb.cgroup}/pause`)
    for (const cg of [...containerCgroups(deps.layout, rec), pauseCg]) {
      await step(async () => {
        cg.kill('SIGKILL')
        await cg.remove(3000)
      })
    }
    Cgroup.removeIfEmpty(deps.layout, sb.cgroup)
  }
  if (sb.attached && sb.network !== undefined) {
    await step(async () => {
      await deps.network.detach(podDetachRequest(rec, sb.network!))
      sb.attached = false
    })
  }
  if (sb.shm) await step(() => unmountShm(sb.shm!))
  if (sb.volumes) await step(() => unmountVolumes(sb.volumes!.filter((v) => v.tmpfs).map((v) => v.path)))
  if (sb.pins) await step(() => unpinAll(sb.pins!))
  if (errors.length) {
    sb.teardownError = errors.map((e) => e.message).join('; ')
    deps.record(rec)
    throw new PodnetError(`pod '${rec.name}': teardown was incomplete: ${sb.teardownError}`, { cause: new AggregateError(errors) })
  }
  sb.state = 'stopped'
  delete sb.teardownError
  deps.record(rec)
}

/**
 * A pod that was still being created when its supervisor died: everything its record names is
 * undone (the record names each step before it is taken), whatever sits in its network
 * namespace is killed, and it ends as Failed, SetupInterrupted. The record stays until pod rm.
 * An incomplete teardown is recorded and thrown after the record is written.
 */
export async function abandonSandbox(deps: SandboxDeps, rec: PodRecord): Promise<void> {
  let failed: unknown
  try {
    await teardownSandbox(deps, rec)
  } catch (err) {
    failed = err
  }
  rec.phase = 'Failed'
  rec.reason = 'SetupInterrupted'
  rec.message = 'the supervisor ended while the pod was being created'
  rec.finishedAt = new Date().toISOString()
  for (const cs of rec.containers) {
    if (cs.state.status === 'waiting') cs.state = { status: 'terminated', exitCode: 0, reason: 'NotStarted', startedAt: rec.finishedAt, finishedAt: rec.finishedAt }
  }
  deps.record(rec)
  if (failed !== undefined) throw failed
}

/** SIGKILLs whatever is in a cgroup and waits (up to 3 s) until it is empty (a launch the record never saw). */
export async function killCgroupProcesses(cg: Cgroup): Promise<void> {
  for (let i = 0; i < 300 && cg.pids().length; i++) {
    cg.kill('SIGKILL')
    await sleep(10)
  }
}

/** Every container's cgroup, by the path it has or will have (a launch the record missed may have made it). */
export function containerCgroups(layout: CgroupLayout, rec: PodRecord): Cgroup[] {
  const sb = rec.sandbox.cgroup
  return rec.containers.flatMap((c) => {
    const path = c.cgroup ?? (sb !== undefined ? `${sb}/ctr-${c.name}` : undefined)
    return path === undefined ? [] : [new Cgroup(layout, path)]
  })
}

/** Unmounts a pod's /dev/shm; fine when it is not mounted or gone. */
export function unmountShm(shm: string): void {
  try {
    umount2(shm, MNT_DETACH)
  } catch (err) {
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err
  }
}

/** Sends a signal to a process if it is still the one `ref` names (pid reuse is ruled out by its start time). */
export function signalRef(ref: ProcessRef | undefined, sig: NodeJS.Signals): void {
  if (!isAlive(ref)) return
  try {
    process.kill(ref!.pid, sig)
  } catch {
    // gone
  }
}

/** SIGTERM to the pause, up to 1 s, then SIGKILL, up to 1 s more. */
export async function killPause(ref: ProcessRef | undefined): Promise<void> {
  if (!isAlive(ref)) return
  signalRef(ref, 'SIGTERM')
  for (let i = 0; i < 100 && isAlive(ref); i++) await sleep(10)
  if (isAlive(ref)) {
    signalRef(ref, 'SIGKILL')
    for (let i = 0; i < 100 && isAlive(ref); i++) await sleep(10)
  }
}

/** SIGKILLs every process in the network namespace pinned at `pin` and waits (up to 3 s) until they are gone. */
export async function killNamespaceMembers(pin: string): Promise<void> {
  const inode = pinnedInode(pin)
  if (inode === undefined) return
  const refs = processesInNamespace('net', inode).map((pid) => processRef(pid)).filter((r): r is ProcessRef => r !== undefined)
  for (const r of refs) signalRef(r, 'SIGKILL')
  for (let i = 0; i < 300 && refs.some((r) => isAlive(r)); i++) await sleep(10)
  const left = refs.filter((r) => isAlive(r))
  if (left.length) throw new PodnetError(`processes ${left.map((r) => r.pid).join(', ')} in ${pin} survived SIGKILL`)
}

/**
 * What detaches pod `rec` from `network`: its id, its host namespace, and its address reservation
 * (PodSpec.addressReservation: the addresses are kept for the next pod of its key, not freed).
 */
export function podDetachRequest(rec: PodRecord, network: string): PodDetachRequest {
  const key = rec.spec.addressReservation
  return { network, id: rec.name, ...(rec.sandbox.hostNetns !== undefined && { hostNetns: rec.sandbox.hostNetns }), ...(key !== undefined && { reserveAs: key }) }
}

/** A published port of the pod and the manifest field it came from. */
export interface FieldMapping {
  mapping: PortMapping
  field: string
}

/** The pod's published ports as bridge port mappings, with the manifest field of each. */
export function podPortMappings(spec: PodSpec): FieldMapping[] {
  const out: FieldMapping[] = []
  spec.containers.forEach((c, i) => c.ports.forEach((p, j) => {
    if (p.hostPort === undefined) return
    const mapping: PortMapping = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol }
    if (p.hostIp !== undefined) mapping.hostIp = p.hostIp
    out.push({ mapping, field: `spec.containers[${i}].ports[${j}].hostPort` })
  }))
  return out
}

/** A taken host port becomes an error naming the manifest field. */
function mapAttachError(err: unknown, mappings: FieldMapping[]): unknown {
  if (err instanceof ExistsError && err.kind === 'host port') {
    const m = /(\d+)\/(tcp|udp)$/.exec(err.objectName)
    const hit = m ? mappings.find((x) => x.mapping.hostPort === Number(m[1]) && x.mapping.protocol === m[2]) : undefined
    return new InvalidArgumentError(hit?.field ?? 'spec.containers[].ports[].hostPort', `${err.objectName.toUpperCase()} is already taken: ${err.message}`, { cause: err })
  }
  return err
}
