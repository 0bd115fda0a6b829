/**
 * One run of one container: what the launcher is told (the pod's namespaces by their pins, the
 * rootfs, the /etc files and /dev/shm of the sandbox, the cgroup, the environment) and how it is
 * started (detached, its output appended to the container's log, its status on fd 3).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { PodnetError } from '../errors.js'
import { containerEnv, runArgs, type LaunchSpec } from './launcher.js'
import type { ContainerSecurity } from './security/index.js'
import type { ContainerSpec } from './manifest.js'
import type { PodRecord } from './types.js'
import { volumeLaunchArgs } from './volumes.js'

/** The launch of container `c` of the pod `rec`, whose sandbox is ready. */
export function containerLaunchSpec(rec: PodRecord, c: ContainerSpec, run: { cgroupProcs: string[]; exitFile: string; security: ContainerSecurity }): LaunchSpec {
  const sb = rec.sandbox
  const spec = rec.spec
  if (!sb.pins || sb.hostsFile === undefined || sb.resolvFile === undefined || sb.hostnameFile === undefined) {
    throw new PodnetError(`pod '${rec.name}': the sandbox is not ready`)
  }
  return {
    ns: { net: sb.pins.net, ipc: sb.pins.ipc, ...(spec.shareUts && { uts: sb.pins.uts }), ...(sb.pins.pid !== undefined && { pid: sb.pins.pid }), ...(sb.pins.user !== undefined && { user: sb.pins.user }) },
    ...(sb.pins.user !== undefined && { idmapRootfs: true }),
    newPid: !spec.shareProcessNamespace,
    ...(!spec.shareUts && { newUts: spec.hostname }),
    rootfs: c.rootfs,
    binds: [
      { src: sb.hostsFile, dst: '/etc/hosts' },
      { src: sb.resolvFile, dst: '/etc/resolv.conf' },
      { src: sb.hostnameFile, dst: '/etc/hostname' },
    ],
    ...(sb.shm !== undefined && { shm: sb.shm }),
    ...(c.volumeMounts?.length && { volumes: volumeLaunchArgs(sb.volumes ?? [], c.volumeMounts) }),
    cgroupProcs: run.cgroupProcs,
    ...(c.workingDir !== undefined && { cwd: c.workingDir }),
    env: containerEnv(spec.hostname, c.env),
    exitFile: run.exitFile,
    argv: c.argv,
    security: run.security,
  }
}

/** O_TMPFILE | O_RDWR (the generic Linux values, x86_64 and aarch64 alike): an unnamed file in a directory. */
const O_TMPFILE_RDWR = 0o20200000 | 0o2

/**
 * The filter in an unnamed file (O_TMPFILE in `dir`), and a descriptor reading it from its
 * start (a second open through /proc/self/fd: its own offset): the bytes exist before the
 * launcher does, so a supervisor killed (kill -9) right after the spawn cannot leave the
 * launcher reading an empty pipe ("bad seccomp filter", the run failing). Undefined when the
 * file cannot be made or written (a filesystem without O_TMPFILE, a full disk): the caller
 * falls back to the pipe.
 */
function filterFile(dir: string, filter: Buffer): number | undefined {
  let w: number
  try {
    w = openSync(dir, O_TMPFILE_RDWR, 0o600)
  } catch {
    return undefined
  }
  try {
    if (writeSync(w, filter) !== filter.length) return undefined
    return openSync(`/proc/self/fd/${w}`, 'r')
  } catch {
    return undefined
  } finally {
    closeSync(w)
  }
}

/**
 * Starts the launcher for one run: detached (its own session, so it outlives this process),
 * stdout and stderr appended to the container's log, the status pipe on fd 3, and the seccomp
 * filter (when the container has one) on fd 4: an unnamed file written before the spawn in
 * `filterDir` (the pod's run directory: tmpfs, no disk write per start; filterFile), else a pipe
 * written right after it.
 */
export function spawnLauncher(bin: string, launch: LaunchSpec, logPath: string, filter: Buffer | undefined, filterDir: string): ChildProcess {
  const filterFd = filter ? filterFile(filterDir, filter) : undefined
  let child: ChildProcess
  try {
    const log = openSync(logPath, 'a', 0o640)
    try {
      child = spawn(bin, runArgs(launch), { detached: true, stdio: ['ignore', log, log, 'pipe', ...(filter ? [filterFd ?? ('pipe' as const)] : [])] })
    } finally {
      closeSync(log)
    }
  } finally {
    if (filterFd !== undefined) closeSync(filterFd)
  }
  const filterPipe = filterFd === undefined ? child.stdio[4] as Writable | null | undefined : undefined
  if (filter && filterPipe) { filterPipe.on('error', () => { /* the launcher's status says why */ }); filterPipe.end(filter) }
  return child
}
