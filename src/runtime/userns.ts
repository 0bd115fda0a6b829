/**
 * User-namespace pods (`spec.hostUsers: false`): every pod gets a user namespace of its own,
 * owned by podnet and shared by all its containers (Kubernetes' model), mapping the pod's IDs
 * 0-65535 onto a host range no other pod has.
 *
 * ID ranges: 65,536 IDs per pod from a pool, `<state>/userns/<first host ID>` naming the pod
 * that holds it (created with O_EXCL: two pods never share one). The pool is the `containers`
 * entry of /etc/subuid and /etc/subgid when present (podman's convention), else host IDs from
 * 2^31 up (Kubernetes' default), or PODNET_USERNS_POOL=START:COUNT. A range is released by
 * `pod rm` (and a pod that no longer exists loses its range to the next allocation).
 *
 * Namespaces: a multi-threaded process (Node) cannot unshare or join a user namespace, so the
 * launcher's `sandbox` mode does it: it unshares the user namespace and waits; the supervisor
 * writes uid_map and gid_map, pins the namespace and checks that every rootfs can be idmapped
 * onto it; then the launcher unshares the pod's net, ipc, uts (and pid) namespaces, which the
 * pod's user namespace therefore owns, sets the hostname and sysctls, and becomes (or forks)
 * the pause. Owning the network namespace is what lets a pod's added NET_ADMIN manage its own
 * interfaces, and what lets its containers mount a sysfs; podnet, root on the host, attaches it
 * to networks as any other.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { InvalidArgumentError, PodnetError } from '../errors.js'
import { MS_BIND } from '../sys/constants.js'
import { mount } from '../sys/syscall.js'
import { pinPaths, unpin, type NamespacePins } from './namespaces.js'
import { sysctlRefused } from './security/context.js'

/** IDs per pod, as Kubernetes allocates. */
export const USERNS_SIZE = 65536
/** Kubernetes' default: host IDs from 2^31 up. */
export const DEFAULT_USERNS_POOL = { start: 2 ** 31, count: 2 ** 31 - USERNS_SIZE }

export interface IdRange {
  /** The host uid (and gid) the pod's 0 maps to. */
  hostId: number
  size: number
}

/**
 * The pool: PODNET_USERNS_POOL of `env`, else /etc/subuid's `containers` entry, else 2^31 up.
 * Library code passes no environment; the supervisor passes its own (runtimeOptionsFromEnv).
 */
export function userNamespacePool(env: NodeJS.ProcessEnv = {}, subuidPath = '/etc/subuid'): { start: number; count: number } {
  const parse = (text: string, what: string): { start: number; count: number } => {
    const [a, b] = text.split(':').map(Number)
    if (!Number.isInteger(a) || !Number.isInteger(b) || a! < 1 || b! < USERNS_SIZE || a! + b! > 2 ** 32 - 1) {
      throw new InvalidArgumentError(what, `must be START:COUNT with COUNT >= ${USERNS_SIZE}, got ${JSON.stringify(text)}`)
    }
    return { start: a!, count: b! }
  }
  if (env.PODNET_USERNS_POOL) return parse(env.PODNET_USERNS_POOL, 'PODNET_USERNS_POOL')
  try {
    for (const line of readFileSync(subuidPath, 'utf8').split('\n')) {
      const [user, start, count] = line.trim().split(':')
      if (user === 'containers' && start && count) return parse(`${start}:${count}`, `${subuidPath} (containers)`)
    }
  } catch {
    // no /etc/subuid
  }
  return DEFAULT_USERNS_POOL
}

const rangesDir = (stateDir: string): string => join(stateDir, 'userns')

/**
 * Claims a free range for a pod (the first free slot of the pool). A slot held by a pod that
 * no longer exists (`exists` says no) is taken over.
 */
export function allocateIdRange(stateDir: string, pod: string, exists: (pod: string) => boolean, pool = userNamespacePool()): IdRange {
  const dir = rangesDir(stateDir)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const slots = Math.floor(pool.count / USERNS_SIZE)
  for (let i = 0; i < slots; i++) {
    const hostId = pool.start + i * USERNS_SIZE
    const file = join(dir, String(hostId))
    try {
      closeSync(openSync(file, 'wx', 0o600))
      writeFileSync(file, `${pod}\n`)
      return { hostId, size: USERNS_SIZE }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let holder = ''
      try { holder = readFileSync(file, 'utf8').trim() } catch { continue }
      if (holder === pod) return { hostId, size: USERNS_SIZE }
      if (holder && !exists(holder)) {
        writeFileSync(file, `${pod}\n`) // a leftover of a pod that is gone
        return { hostId, size: USERNS_SIZE }
      }
    }
  }
  throw new PodnetError(`no free user-namespace range: the pool ${pool.start}:${pool.count} has ${slots} ranges of ${USERNS_SIZE}, all in use`)
}

/** Releases every range a pod holds. */
export function releaseIdRange(stateDir: string, pod: string): void {
  const dir = rangesDir(stateDir)
  let names: string[] = []
  try { names = readdirSync(dir) } catch { return }
  for (const n of names) {
    try {
      if (readFileSync(join(dir, n), 'utf8').trim() === pod) rmSync(join(dir, n), { force: true })
    } catch {
      // gone
    }
  }
}

export interface UserPodNamespacesOptions {
  /** The launcher binary (its `sandbox` and `idmap-check` modes). */
  launcher: string
  dir: string
  hostname: string
  sharePid: boolean
  pause: string[]
  range: IdRange
  sysctls: ReadonlyArray<{ name: string; value: string; field?: string }>
  /** Each container's rootfs with the manifest field naming it: checked for idmapped mounts. */
  rootfs: ReadonlyArray<{ path: string; field: string }>
}

export interface UserPodNamespaces {
  pins: NamespacePins & { user: string }
  /** The launcher that became the pause (or, with a PID namespace, forked it and waits for it). */
  pause: ChildProcess
  /** The pause's own pid. */
  pausePid: number
}

function lines(stream: Readable): AsyncIterator<string> {
  let buf = ''
  const queue: string[] = []
  const waiters: Array<(r: IteratorResult<string>) => void> = []
  let ended = false
  stream.setEncoding('utf8')
  stream.on('data', (d: string) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i)
      buf = buf.slice(i + 1)
      const w = waiters.shift()
      if (w) w({ value: l, done: false })
      else queue.push(l)
    }
  })
  const end = (): void => { ended = true; for (const w of waiters.splice(0)) w({ value: undefined, done: true }) }
  stream.on('end', end)
  stream.on('close', end)
  stream.on('error', end)
  return {
    next: () => new Promise((res) => {
      const l = queue.shift()
      if (l !== undefined) res({ value: l, done: false })
      else if (ended) res({ value: undefined, done: true })
      else waiters.push(res)
    }),
  }
}

/**
 * Creates a pod's user namespace (mapped to range) and its net, ipc, uts (and pid) namespaces
 * owned by it, pins them all under opts.dir and leaves the pause running in them. On failure
 * nothing is left: no pin, no process.
 */
export async function createUserPodNamespaces(opts: UserPodNamespacesOptions): Promise<UserPodNamespaces> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const planned = pinPaths(opts.dir, opts.sharePid)
  const pins: NamespacePins & { user: string } = { net: planned.net, ipc: planned.ipc, uts: planned.uts, user: join(opts.dir, 'user') }
  const made: string[] = []
  const args = ['sandbox', '--status-fd', '3', '--hostname', opts.hostname]
  if (opts.sharePid) args.push('--new-pid')
  for (const s of opts.sysctls) args.push('--sysctl', `${s.name}=${s.value}`)
  args.push('--', ...opts.pause)
  const child = spawn(opts.launcher, args, { detached: true, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] })
  child.on('error', () => { /* reported through the status pipe's end */ })
  let stderr = ''
  ;(child.stderr as Readable).setEncoding('utf8')
  ;(child.stderr as Readable).on('data', (d: string) => { stderr += d })
  const status = lines(child.stdio[3] as Readable)
  const gate = child.stdin as Writable
  gate.on('error', () => { /* it died: the status says */ })
  const next = async (want: string): Promise<string> => {
    const r = await status.next()
    if (r.done) throw new PodnetError(`cannot create the pod's user namespace: ${stderr.trim() || 'the launcher ended'}`)
    const bad = /^error sysctl (.*): ([^:]+)$/.exec(r.value)
    const s = bad ? opts.sysctls.find((x) => `${x.name}=${x.value}` === bad[1]) : undefined
    if (s) throw sysctlRefused(s, bad![2]!)
    if (r.value.startsWith('error ')) throw new PodnetError(`cannot create the pod's namespaces: ${r.value.slice(6)}`)
    if (!r.value.startsWith(`${want} `)) throw new PodnetError(`the sandbox launcher said ${JSON.stringify(r.value)}, expected ${want}`)
    return r.value.slice(want.length + 1)
  }
  try {
    const helper = Number(await next('userns'))
    const map = `0 ${opts.range.hostId} ${opts.range.size}\n`
    writeFileSync(`/proc/${helper}/uid_map`, map)
    writeFileSync(`/proc/${helper}/gid_map`, map)
    pinAt(`/proc/${helper}/ns/user`, pins.user)
    made.push(pins.user)
    // every rootfs must take an idmapped mount onto this namespace (before anything else exists)
    try {
      execFileSync(opts.launcher, ['idmap-check', '--userns', pins.user, '--', ...opts.rootfs.map((r) => r.path)], { stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (err) {
      const msg = String((err as { stderr?: Buffer }).stderr ?? '').trim().replace(/^podnet-launch: /, '')
      const bad = opts.rootfs.find((r) => msg.includes(r.path))
      throw new InvalidArgumentError(bad?.field ?? 'spec.hostUsers', `hostUsers: false needs an idmapped rootfs: ${msg || String(err)}`)
    }
    gate.write('go\n')
    const pausePid = Number(await next('pid'))
    for (const k of ['net', 'ipc', 'uts'] as const) {
      pinAt(`/proc/${pausePid}/ns/${k}`, pins[k])
      made.push(pins[k])
    }
    if (planned.pid !== undefined) {
      pins.pid = planned.pid
      pinAt(`/proc/${pausePid}/ns/pid`, pins.pid)
      made.push(pins.pid)
    }
    gate.end()
    ;(child.stderr as Readable).destroy() // the pause's stderr is /dev/null (the launcher saw to it)
    return { pins, pause: child, pausePid }
  } catch (err) {
    try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
    for (const p of made) {
      try { unpin(p) } catch { /* best effort */ }
    }
    throw err
  }
}

function pinAt(source: string, target: string): void {
  closeSync(openSync(target, 'wx', 0o444))
  try {
    mount(source, target, 'none', MS_BIND)
  } catch (err) {
    try { rmSync(target, { force: true }) } catch { /* gone */ }
    throw err
  }
}
