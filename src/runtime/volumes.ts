/**
 * Pod volumes: `spec.volumes` and each container's `volumeMounts`, validated with the field
 * path, made with the sandbox and mounted by the launcher (`--volume SRC SUB DST ro|rw`, in the
 * container's mount namespace before pivot_root).
 *
 * - emptyDir: a directory the pod's containers share, made when the sandbox is made, kept
 *   across container restarts, removed with the pod (`pod rm`). Default medium: a directory
 *   under the pod's state (<state>/pods/<pod>/volumes/<name>); a sizeLimit is then not enforced
 *   (a warning). medium Memory: a tmpfs (<run>/pods/<pod>/volumes/<name>) of sizeLimit (default
 *   the kernel's, half the memory), unmounted when the pod ends.
 * - hostPath: a host directory or file, only with ParseOptions.allowHostPath (`pod run
 *   --allow-host-path`) and a warning: the seed's advice is not to mount host directories.
 *   type "", Directory, DirectoryOrCreate, File, FileOrCreate.
 * - persistentVolumeClaim: a claim a StatefulSet made from its volumeClaimTemplates (a directory
 *   under <state>/workloads/volumes/, src/workloads/statefulset-state.ts), only where the parser
 *   is given the claims (ParseOptions.claimDirs: the StatefulSet controller's pods); it outlives
 *   the pod. readOnly: true is refused (a volumeMount's readOnly does that).
 * - Every other volume type is refused, naming the field (spec.volumes[0].configMap).
 * - volumeMounts: name (a volume), mountPath (absolute), readOnly, subPath (relative, no ".."
 *   component; the launcher resolves it with the volume as its root, so a symlink inside the
 *   volume never leads out of it, and makes it as a directory when missing).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize } from 'node:path'
import { InvalidArgumentError, isErrno } from '../errors.js'
import { MNT_DETACH, MS_NODEV, MS_NOSUID } from '../sys/constants.js'
import { mount, umount2 } from '../sys/syscall.js'
import { parseMemoryBytes } from './quantity.js'
import { describeValue, obj, str } from './spec-fields.js'

export interface EmptyDirSource { medium: '' | 'Memory'; sizeLimitBytes?: number }
export type HostPathType = '' | 'Directory' | 'DirectoryOrCreate' | 'File' | 'FileOrCreate'
export interface HostPathSource { path: string; type: HostPathType }
/** A claim: its name and the directory it is on the host. */
export interface ClaimSource { claimName: string; path: string }

export interface VolumeSpec {
  name: string
  emptyDir?: EmptyDirSource
  hostPath?: HostPathSource
  persistentVolumeClaim?: ClaimSource
}

export interface VolumeMount {
  name: string
  mountPath: string
  readOnly: boolean
  subPath?: string
}

/** The volume sources podnet knows of (Kubernetes' v1.VolumeSource), for the refusal message. */
const KNOWN_TYPES = ['emptyDir', 'hostPath', 'persistentVolumeClaim']
const OTHER_TYPES = [
  'configMap', 'secret', 'projected', 'downwardAPI', 'nfs', 'iscsi', 'csi', 'ephemeral', 'gitRepo',
  'awsElasticBlockStore', 'gcePersistentDisk', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'fc', 'flexVolume', 'flocker',
  'glusterfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd', 'scaleIO', 'storageos', 'vsphereVolume', 'image',
]
const HOST_PATH_TYPES: readonly string[] = ['', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate']
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

const what = describeValue

/** The warning every hostPath volume gets. */
export const hostPathWarning = (at: string, path: string, readOnlyEverywhere: boolean): string =>
  `${at}: mounts the host's ${path} into the pod (--allow-host-path): its containers can read${readOnlyEverywhere ? '' : ' and change'} it; podnet's advice is not to mount host directories (an emptyDir shares files between containers)`

/** spec.volumes. `allowHostPath`: `pod run --allow-host-path`. */
export function parseVolumes(v: unknown, opts: { allowHostPath?: boolean; claimDirs?: Readonly<Record<string, string>> }, warnings: string[]): VolumeSpec[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new InvalidArgumentError('spec.volumes', `must be a list, got ${what(v)}`)
  const seen = new Set<string>()
  return v.map((x, i) => {
    const at = `spec.volumes[${i}]`
    const o = obj(x, at)
    if (o.name === undefined || o.name === '') throw new InvalidArgumentError(`${at}.name`, 'required')
    const name = str(o.name, `${at}.name`)
    if (name.length > 63 || !DNS_LABEL.test(name)) throw new InvalidArgumentError(`${at}.name`, `${JSON.stringify(name)} is not valid: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`)
    if (seen.has(name)) throw new InvalidArgumentError(`${at}.name`, `duplicate ${JSON.stringify(name)}`)
    seen.add(name)
    const types = Object.keys(o).filter((k) => k !== 'name' && o[k] !== undefined && o[k] !== null)
    const unknown = types.find((k) => !KNOWN_TYPES.includes(k))
    if (unknown !== undefined) {
      throw new InvalidArgumentError(`${at}.${unknown}`, `${OTHER_TYPES.includes(unknown) ? 'volume type not supported by podnet' : 'unknown volume type'}: podnet has emptyDir, and hostPath with --allow-host-path`)
    }
    if (types.length === 0) throw new InvalidArgumentError(at, 'must specify a volume type (emptyDir, or hostPath with --allow-host-path)')
    if (types.length > 1) throw new InvalidArgumentError(`${at}.${types[1]}`, `may not specify more than 1 volume type (also ${types[0]})`)
    if (o.emptyDir !== undefined && o.emptyDir !== null) {
      const e = obj(o.emptyDir, `${at}.emptyDir`)
      for (const k of Object.keys(e)) if (k !== 'medium' && k !== 'sizeLimit') warnings.push(`${at}.emptyDir.${k}: not supported, ignored`)
      const medium = e.medium === undefined ? '' : str(e.medium, `${at}.emptyDir.medium`)
      if (medium !== '' && medium !== 'Memory') throw new InvalidArgumentError(`${at}.emptyDir.medium`, `unsupported value ${JSON.stringify(medium)}: supported values: "", "Memory"`)
      const src: EmptyDirSource = { medium }
      if (e.sizeLimit !== undefined && e.sizeLimit !== null) {
        src.sizeLimitBytes = parseMemoryBytes(e.sizeLimit, `${at}.emptyDir.sizeLimit`)
        if (src.sizeLimitBytes <= 0) throw new InvalidArgumentError(`${at}.emptyDir.sizeLimit`, 'must be greater than 0')
        if (medium === '') warnings.push(`${at}.emptyDir.sizeLimit: not enforced for a disk-backed emptyDir (medium: Memory, a tmpfs of that size, enforces it)`)
      }
      return { name, emptyDir: src }
    }
    if (o.persistentVolumeClaim !== undefined && o.persistentVolumeClaim !== null) {
      const c = obj(o.persistentVolumeClaim, `${at}.persistentVolumeClaim`)
      for (const k of Object.keys(c)) if (k !== 'claimName' && k !== 'readOnly') throw new InvalidArgumentError(`${at}.persistentVolumeClaim.${k}`, 'unknown field')
      if (c.readOnly !== undefined && c.readOnly !== false) throw new InvalidArgumentError(`${at}.persistentVolumeClaim.readOnly`, 'not supported by podnet (mount it with volumeMounts[].readOnly)')
      if (c.claimName === undefined || c.claimName === '') throw new InvalidArgumentError(`${at}.persistentVolumeClaim.claimName`, 'required')
      const claimName = str(c.claimName, `${at}.persistentVolumeClaim.claimName`)
      const path = opts.claimDirs && Object.hasOwn(opts.claimDirs, claimName) ? opts.claimDirs[claimName] : undefined
      if (path === undefined) {
        throw new InvalidArgumentError(`${at}.persistentVolumeClaim.claimName`, `persistentvolumeclaim ${JSON.stringify(claimName)} not found: podnet's claims are made from a StatefulSet's volumeClaimTemplates, for its pods`)
      }
      return { name, persistentVolumeClaim: { claimName, path } }
    }
    const h = obj(o.hostPath, `${at}.hostPath`)
    if (!opts.allowHostPath) {
      throw new InvalidArgumentError(`${at}.hostPath`, 'refused: a hostPath volume mounts a host directory into the pod; run the pod with --allow-host-path to allow it (podnet\'s advice: use an emptyDir)')
    }
    for (const k of Object.keys(h)) if (k !== 'path' && k !== 'type') warnings.push(`${at}.hostPath.${k}: not supported, ignored`)
    const path = str(h.path, `${at}.hostPath.path`)
    if (!isAbsolute(path)) throw new InvalidArgumentError(`${at}.hostPath.path`, `must be an absolute path, got ${JSON.stringify(path)}`)
    if (path.split('/').includes('..')) throw new InvalidArgumentError(`${at}.hostPath.path`, 'must not contain ".."')
    const type = h.type === undefined ? '' : str(h.type, `${at}.hostPath.type`)
    if (!HOST_PATH_TYPES.includes(type)) throw new InvalidArgumentError(`${at}.hostPath.type`, `unsupported value ${JSON.stringify(type)}: supported values: ${HOST_PATH_TYPES.map((t) => JSON.stringify(t)).join(', ')}`)
    checkHostPath(path, type as HostPathType, `${at}.hostPath`)
    return { name, hostPath: { path: normalize(path), type: type as HostPathType } }
  })
}

/** Kubernetes' hostPath type checks (the *OrCreate types are made at sandbox time). */
function checkHostPath(path: string, type: HostPathType, at: string): void {
  if (type === '' || type === 'DirectoryOrCreate' || type === 'FileOrCreate') {
    if (type === '' && !existsSync(path)) throw new InvalidArgumentError(`${at}.path`, `${path} does not exist (type "DirectoryOrCreate" or "FileOrCreate" makes it)`)
    return
  }
  let st
  try { st = statSync(path) } catch { throw new InvalidArgumentError(`${at}.path`, `${path} does not exist (type ${type})`) }
  if (type === 'Directory' && !st.isDirectory()) throw new InvalidArgumentError(`${at}.path`, `${path} is not a directory (type Directory)`)
  if (type === 'File' && !st.isFile()) throw new InvalidArgumentError(`${at}.path`, `${path} is not a file (type File)`)
}

/** A container's volumeMounts, checked against the pod's volumes. */
export function parseVolumeMounts(v: unknown, at: string, volumes: readonly VolumeSpec[], warnings: string[]): VolumeMount[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${at}.volumeMounts`, `must be a list, got ${what(v)}`)
  const paths = new Set<string>()
  return v.map((x, j) => {
    const f = `${at}.volumeMounts[${j}]`
    const o = obj(x, f)
    for (const k of Object.keys(o)) {
      if (k === 'subPathExpr' || k === 'mountPropagation' || k === 'recursiveReadOnly') throw new InvalidArgumentError(`${f}.${k}`, 'not supported by podnet')
      if (!['name', 'mountPath', 'readOnly', 'subPath'].includes(k)) warnings.push(`${f}.${k}: not supported, ignored`)
    }
    const name = str(o.name, `${f}.name`)
    if (!volumes.some((vol) => vol.name === name)) throw new InvalidArgumentError(`${f}.name`, `not found: no volume named ${JSON.stringify(name)} in spec.volumes`)
    if (o.mountPath === undefined || o.mountPath === '') throw new InvalidArgumentError(`${f}.mountPath`, 'required')
    const mountPath = str(o.mountPath, `${f}.mountPath`)
    if (!mountPath.startsWith('/')) throw new InvalidArgumentError(`${f}.mountPath`, `must be an absolute path, got ${JSON.stringify(mountPath)}`)
    if (mountPath.includes('\0') || mountPath.split('/').includes('..')) throw new InvalidArgumentError(`${f}.mountPath`, 'must not contain ".." or NUL')
    const norm = normalize(mountPath).replace(/\/+$/, '') || '/'
    if (norm === '/') throw new InvalidArgumentError(`${f}.mountPath`, 'must not be "/"')
    if (paths.has(norm)) throw new InvalidArgumentError(`${f}.mountPath`, `must be unique: ${JSON.stringify(mountPath)} is mounted twice`)
    paths.add(norm)
    const readOnly = o.readOnly === undefined ? false : o.readOnly
    if (typeof readOnly !== 'boolean') throw new InvalidArgumentError(`${f}.readOnly`, `must be true or false, got ${what(readOnly)}`)
    const m: VolumeMount = { name, mountPath: norm, readOnly }
    if (o.subPath !== undefined && o.subPath !== '') {
      const sub = str(o.subPath, `${f}.subPath`)
      if (isAbsolute(sub)) throw new InvalidArgumentError(`${f}.subPath`, `must be a relative path, got ${JSON.stringify(sub)}`)
      if (sub.split('/').includes('..')) throw new InvalidArgumentError(`${f}.subPath`, `must not contain '..', got ${JSON.stringify(sub)}`)
      if (sub.includes('\0')) throw new InvalidArgumentError(`${f}.subPath`, 'contains a NUL byte')
      m.subPath = sub
    }
    return m
  })
}

/** Where a pod's volume lives on the host: emptyDir under the state (or run, for Memory) dir, hostPath where it is. */
export function volumeSource(vol: VolumeSpec, dirs: { stateVolumes: string; runVolumes: string }): string {
  if (vol.hostPath) return vol.hostPath.path
  if (vol.persistentVolumeClaim) return vol.persistentVolumeClaim.path
  return join(vol.emptyDir?.medium === 'Memory' ? dirs.runVolumes : dirs.stateVolumes, vol.name)
}

/** A volume as the sandbox record names it: where it is on the host; tmpfs: a Memory emptyDir (unmounted at teardown). */
export interface VolumeRecord { name: string; path: string; tmpfs?: true }

/** The record of every volume of a pod, made before anything is (so an interrupted creation can be undone). */
export function volumeRecords(volumes: readonly VolumeSpec[], dirs: { stateVolumes: string; runVolumes: string }): VolumeRecord[] {
  return volumes.map((v) => ({ name: v.name, path: volumeSource(v, dirs), ...(v.emptyDir?.medium === 'Memory' && { tmpfs: true as const }) }))
}

/**
 * Makes the pod's volumes (sandbox time): emptyDir directories (mode 0777, as Kubernetes'; group
 * fsGroup when set), Memory ones as a tmpfs of sizeLimit, the *OrCreate hostPaths. An existing
 * disk emptyDir (a pod restored after a reboot) keeps its files, as a claim always does (made
 * when missing, mode 0777 as Kubernetes' hostPath provisioner; fsGroup owns its top directory).
 */
export function makeVolumes(volumes: readonly VolumeSpec[], dirs: { stateVolumes: string; runVolumes: string }, fsGroup: number | undefined): void {
  for (const vol of volumes) {
    const path = volumeSource(vol, dirs)
    if (vol.hostPath) {
      if (vol.hostPath.type === 'DirectoryOrCreate' && !existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o755 })
      if (vol.hostPath.type === 'FileOrCreate' && !existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 })
        writeFileSync(path, '', { flag: 'wx', mode: 0o644 })
      }
      continue
    }
    if (vol.persistentVolumeClaim) {
      if (!existsSync(path)) {
        mkdirSync(path, { recursive: true, mode: 0o777 })
        chmodSync(path, 0o777)
      }
      if (fsGroup !== undefined) { chownSync(path, 0, fsGroup); chmodSync(path, 0o2777) }
      continue
    }
    mkdirSync(path, { recursive: true, mode: 0o777 })
    if (vol.emptyDir?.medium === 'Memory') {
      const size = vol.emptyDir.sizeLimitBytes !== undefined ? `,size=${vol.emptyDir.sizeLimitBytes}` : ''
      mount('tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV, `mode=0777${size}`)
    }
    chmodSync(path, fsGroup !== undefined ? 0o2777 : 0o777)
    if (fsGroup !== undefined) chownSync(path, 0, fsGroup)
  }
}

/** Unmounts a pod's Memory volumes (fine when not mounted or gone). */
export function unmountVolumes(paths: readonly string[]): void {
  for (const p of paths) {
    try {
      umount2(p, MNT_DETACH)
    } catch (err) {
      if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err
    }
  }
}

/** The launcher's --volume entries of one container, from the sandbox's volume records. */
export function volumeLaunchArgs(records: readonly VolumeRecord[], mounts: readonly VolumeMount[]): Array<{ src: string; sub: string; dst: string; ro: boolean }> {
  return mounts.map((m) => {
    const vol = records.find((v) => v.name === m.name)
    if (!vol) throw new Error(`volume ${m.name} is not in the sandbox`)
    return { src: vol.path, sub: m.subPath ?? '', dst: m.mountPath, ro: m.readOnly }
  })
}
