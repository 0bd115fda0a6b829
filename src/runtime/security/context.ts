/**
 * Kubernetes' securityContext (pod and container level): parsed from a manifest with every
 * error naming the field path, and resolved with Kubernetes' precedence (a container's field
 * wins over the pod's) into what the launcher applies (ContainerSecurity).
 *
 * Fields podnet does not implement are refused, never ignored: a security setting must not be
 * dropped quietly.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { InvalidArgumentError } from '../../errors.js'
import { DEFAULT_CAPABILITIES, capMask, capNames, capabilityName, resolveCapabilities } from './capabilities.js'
import { MASKED_PATHS, READONLY_PATHS } from './paths.js'
import { runtimeDefaultProfile } from './seccomp-default.js'
import { parseSeccompProfile, type SeccompProfile } from './seccomp-profile.js'

export type SeccompProfileSpec =
  | { type: 'RuntimeDefault' }
  | { type: 'Unconfined' }
  /** localhostProfile as written; profileText read when the manifest was parsed (the pod keeps the profile it started with). */
  | { type: 'Localhost'; localhostProfile: string; profileText: string }

/** Fields both levels have. */
interface CommonSecurity {
  runAsUser?: number
  runAsGroup?: number
  runAsNonRoot?: boolean
  seccompProfile?: SeccompProfileSpec
}

/** spec.securityContext */
export interface PodSecurityContext extends CommonSecurity {
  supplementalGroups?: number[]
  fsGroup?: number
  sysctls?: Array<{ name: string; value: string }>
}

/** spec.containers[].securityContext */
export interface SecurityContext extends CommonSecurity {
  privileged?: boolean
  allowPrivilegeEscalation?: boolean
  readOnlyRootFilesystem?: boolean
  capabilities?: { add: string[]; drop: string[] }
}

/**
 * The namespaced sysctls Kubernetes allows without the kubelet's --allowed-unsafe-sysctls
 * (pkg/kubelet/sysctl/safe_sysctls.go): the network ones apply to the pod's network namespace,
 * kernel.shm_rmid_forced to its IPC namespace.
 */
export const SAFE_SYSCTLS: readonly string[] = [
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]

/**
 * The pod's own ping_group_range: every group may open ICMP echo sockets (SOCK_DGRAM,
 * IPPROTO_ICMP), so ping works without CAP_NET_RAW (Docker's value; podman's is "0 0").
 */
export const DEFAULT_PING_GROUP_RANGE = '0 2147483647'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const describe = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? JSON.stringify(v) : typeof v

function id(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2147483647) throw new InvalidArgumentError(field, `must be an integer from 0 to 2147483647, got ${describe(v)}`)
  return v
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(field, `must be true or false, got ${describe(v)}`)
  return v
}

const REFUSED: Record<string, string> = {
  seLinuxOptions: 'SELinux is not supported by podnet',
  seLinuxChangePolicy: 'SELinux is not supported by podnet',
  appArmorProfile: 'AppArmor is not supported by podnet',
  windowsOptions: 'podnet runs Linux containers only',
  fsGroupChangePolicy: 'podnet has no volumes to change the ownership of',
}

function refuseUnknown(o: Obj, known: readonly string[], at: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue
    throw new InvalidArgumentError(`${at}.${k}`, REFUSED[k] ? `not supported: ${REFUSED[k]}` : 'unknown or unsupported field (podnet refuses security settings it does not implement)')
  }
}

export interface SecurityParseOptions {
  /** Directory a relative localhostProfile is resolved against (the manifest's). */
  baseDir?: string
}

function parseSeccompSpec(v: unknown, at: string, opts: SecurityParseOptions): SeccompProfileSpec {
  if (!isObj(v)) throw new InvalidArgumentError(at, `must be an object, got ${describe(v)}`)
  refuseUnknown(v, ['type', 'localhostProfile'], at)
  const t = v.type
  if (t === 'RuntimeDefault' || t === 'Unconfined') {
    if (v.localhostProfile !== undefined) throw new InvalidArgumentError(`${at}.localhostProfile`, `must not be set with type ${t}`)
    return { type: t }
  }
  if (t !== 'Localhost') throw new InvalidArgumentError(`${at}.type`, `unsupported value ${describe(t)}: supported values: "RuntimeDefault", "Unconfined", "Localhost"`)
  const p = v.localhostProfile
  if (typeof p !== 'string' || p === '') throw new InvalidArgumentError(`${at}.localhostProfile`, 'required with type Localhost')
  const path = isAbsolute(p) ? p : resolve(opts.baseDir ?? process.cwd(), p)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`${at}.localhostProfile`, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgumentError(`${at}.localhostProfile`, `${path} is not JSON: ${(err as Error).message}`)
  }
  parseSeccompProfile(doc, `${at}.localhostProfile(${p})`)
  return { type: 'Localhost', localhostProfile: p, profileText: text }
}

function parseCommon(o: Obj, at: string, out: CommonSecurity, opts: SecurityParseOptions): void {
  if (o.runAsUser !== undefined) out.runAsUser = id(o.runAsUser, `${at}.runAsUser`)
  if (o.runAsGroup !== undefined) out.runAsGroup = id(o.runAsGroup, `${at}.runAsGroup`)
  if (o.runAsNonRoot !== undefined) out.runAsNonRoot = bool(o.runAsNonRoot, `${at}.runAsNonRoot`)
  if (o.seccompProfile !== undefined) out.seccompProfile = parseSeccompSpec(o.seccompProfile, `${at}.seccompProfile`, opts)
}

/** Parses spec.securityContext. */
export function parsePodSecurityContext(v: unknown, at: string, opts: SecurityParseOptions = {}): PodSecurityContext {
  if (!isObj(v)) throw new InvalidArgumentError(at, `must be an object, got ${describe(v)}`)
  refuseUnknown(v, ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile', 'supplementalGroups', 'fsGroup', 'sysctls', 'supplementalGroupsPolicy'], at)
  const out: PodSecurityContext = {}
  parseCommon(v, at, out, opts)
  if (v.supplementalGroups !== undefined) {
    if (!Array.isArray(v.supplementalGroups)) throw new InvalidArgumentError(`${at}.supplementalGroups`, `must be a list, got ${describe(v.supplementalGroups)}`)
    if (v.supplementalGroups.length > 32) throw new InvalidArgumentError(`${at}.supplementalGroups`, 'at most 32 groups')
    out.supplementalGroups = v.supplementalGroups.map((g, i) => id(g, `${at}.supplementalGroups[${i}]`))
  }
  if (v.supplementalGroupsPolicy !== undefined && v.supplementalGroupsPolicy !== 'Strict') {
    throw new InvalidArgumentError(`${at}.supplementalGroupsPolicy`, `unsupported value ${describe(v.supplementalGroupsPolicy)}: podnet reads no /etc/group from the rootfs, so only "Strict" is supported`)
  }
  if (v.fsGroup !== undefined) out.fsGroup = id(v.fsGroup, `${at}.fsGroup`)
  if (v.sysctls !== undefined) {
    if (!Array.isArray(v.sysctls)) throw new InvalidArgumentError(`${at}.sysctls`, `must be a list, got ${describe(v.sysctls)}`)
    const seen = new Set<string>()
    out.sysctls = v.sysctls.map((s, i) => {
      const f = `${at}.sysctls[${i}]`
      if (!isObj(s)) throw new InvalidArgumentError(f, `must be an object, got ${describe(s)}`)
      refuseUnknown(s, ['name', 'value'], f)
      if (typeof s.name !== 'string') throw new InvalidArgumentError(`${f}.name`, `must be a string, got ${describe(s.name)}`)
      const name = s.name.replace(/\//g, '.')
      if (!SAFE_SYSCTLS.includes(name)) {
        throw new InvalidArgumentError(`${f}.name`, `sysctl ${JSON.stringify(s.name)} is not allowed: only Kubernetes' safe set is supported (${SAFE_SYSCTLS.join(', ')})`)
      }
      if (seen.has(name)) throw new InvalidArgumentError(`${f}.name`, `duplicate ${JSON.stringify(name)}`)
      seen.add(name)
      const value = typeof s.value === 'number' ? String(s.value) : s.value
      if (typeof value !== 'string' || value === '' || /[\n\0]/.test(value) || value.length > 256) throw new InvalidArgumentError(`${f}.value`, `must be a one-line string, got ${describe(s.value)}`)
      return { name, value }
    })
  }
  return out
}

/** Parses spec.containers[i].securityContext. */
export function parseSecurityContext(v: unknown, at: string, opts: SecurityParseOptions = {}): SecurityContext {
  if (!isObj(v)) throw new InvalidArgumentError(at, `must be an object, got ${describe(v)}`)
  refuseUnknown(v, ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile', 'privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities', 'procMount'], at)
  const out: SecurityContext = {}
  parseCommon(v, at, out, opts)
  if (v.privileged !== undefined) out.privileged = bool(v.privileged, `${at}.privileged`)
  if (v.allowPrivilegeEscalation !== undefined) out.allowPrivilegeEscalation = bool(v.allowPrivilegeEscalation, `${at}.allowPrivilegeEscalation`)
  if (v.readOnlyRootFilesystem !== undefined) out.readOnlyRootFilesystem = bool(v.readOnlyRootFilesystem, `${at}.readOnlyRootFilesystem`)
  if (v.procMount !== undefined && v.procMount !== 'Default') {
    throw new InvalidArgumentError(`${at}.procMount`, `unsupported value ${describe(v.procMount)}: podnet supports only "Default" (masked /proc)`)
  }
  if (v.capabilities !== undefined) {
    const c = v.capabilities
    if (!isObj(c)) throw new InvalidArgumentError(`${at}.capabilities`, `must be an object, got ${describe(c)}`)
    refuseUnknown(c, ['add', 'drop'], `${at}.capabilities`)
    const list = (x: unknown, f: string): string[] => {
      if (x === undefined) return []
      if (!Array.isArray(x)) throw new InvalidArgumentError(f, `must be a list, got ${describe(x)}`)
      return x.map((n, i) => capabilityName(n, `${f}[${i}]`))
    }
    out.capabilities = { add: list(c.add, `${at}.capabilities.add`), drop: list(c.drop, `${at}.capabilities.drop`) }
  }
  if (out.allowPrivilegeEscalation === false && out.privileged === true) {
    throw new InvalidArgumentError(`${at}.allowPrivilegeEscalation`, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true')
  }
  if (out.allowPrivilegeEscalation === false && out.capabilities?.add.some((a) => a === 'CAP_SYS_ADMIN' || a === 'ALL')) {
    throw new InvalidArgumentError(`${at}.allowPrivilegeEscalation`, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN')
  }
  return out
}

/** What the launcher applies to one container (and to `pod exec` in it). */
export interface ContainerSecurity {
  privileged: boolean
  uid: number
  gid: number
  /** Supplementary groups (supplementalGroups, then fsGroup). */
  groups: number[]
  /** Capability sets as masks (bit N = capability N). */
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint }
  noNewPrivs: boolean
  /** The seccomp profile, or undefined for Unconfined. */
  seccomp?: SeccompProfile
  /** Which profile: RuntimeDefault, Unconfined or Localhost. */
  seccompType: SeccompProfileSpec['type']
  maskedPaths: readonly string[]
  readonlyPaths: readonly string[]
  readOnlyRootFilesystem: boolean
  /** /sys mounted read-only (all but privileged containers). */
  sysfsReadOnly: boolean
}

/**
 * Resolves a container's security with Kubernetes' precedence and semantics. Throws (naming
 * `at`, the container's field path) when runAsNonRoot forbids the resulting user.
 */
export function resolveSecurity(
  pod: PodSecurityContext | undefined, c: SecurityContext | undefined,
  where: { at?: string; podAt?: string; pod?: string; container?: string } = {},
): ContainerSecurity {
  const at = where.at ?? 'securityContext'
  const p = pod ?? {}
  const s = c ?? {}
  const privileged = s.privileged === true
  const uid = s.runAsUser ?? p.runAsUser ?? 0
  const gid = s.runAsGroup ?? p.runAsGroup ?? 0
  const runAsNonRoot = s.runAsNonRoot ?? p.runAsNonRoot ?? false
  if (runAsNonRoot && uid === 0) {
    const field = s.runAsNonRoot !== undefined || where.podAt === undefined ? `${at}.runAsNonRoot` : `${where.podAt}.runAsNonRoot`
    const names = where.pod !== undefined ? ` (pod: ${JSON.stringify(where.pod)}, container: ${where.container ?? '?'})` : ''
    throw new InvalidArgumentError(field, `container has runAsNonRoot and image will run as root${names}`)
  }
  const groups = [...new Set([...(p.supplementalGroups ?? []), ...(p.fsGroup !== undefined ? [p.fsGroup] : [])])]
  const add = s.capabilities?.add ?? []
  const drop = s.capabilities?.drop ?? []
  const set = privileged ? resolveCapabilities(0n, ['ALL'], []) : resolveCapabilities(capMask(DEFAULT_CAPABILITIES), add, drop)
  // root gets the set; another user keeps only what was added by name (podman's rule), as ambient
  const granted = uid === 0 ? set : set & capMask(add.filter((a) => a !== 'ALL'))
  const caps = { bounding: set, effective: granted, permitted: granted, inheritable: uid === 0 ? 0n : granted, ambient: uid === 0 ? 0n : granted }
  const hasAdmin = (set & capMask(['CAP_SYS_ADMIN'])) !== 0n
  const noNewPrivs = !(s.allowPrivilegeEscalation === true || privileged || hasAdmin)
  const spec: SeccompProfileSpec = s.seccompProfile ?? p.seccompProfile ?? { type: 'RuntimeDefault' }
  const capSet = new Set(capNames(set))
  let seccomp: SeccompProfile | undefined
  let seccompType: SeccompProfileSpec['type'] = privileged ? 'Unconfined' : spec.type
  if (!privileged) {
    if (spec.type === 'RuntimeDefault') seccomp = runtimeDefaultProfile(capSet)
    else if (spec.type === 'Localhost') seccomp = parseSeccompProfile(JSON.parse(spec.profileText), `${at}.seccompProfile.localhostProfile`, capSet)
  }
  if (seccomp === undefined) seccompType = 'Unconfined'
  return {
    privileged, uid, gid, groups, caps, noNewPrivs, seccompType,
    ...(seccomp !== undefined && { seccomp }),
    maskedPaths: privileged ? [] : MASKED_PATHS,
    readonlyPaths: privileged ? [] : READONLY_PATHS,
    readOnlyRootFilesystem: s.readOnlyRootFilesystem === true,
    sysfsReadOnly: !privileged,
  }
}

/**
 * The sysctls a pod's namespaces get, in order: ping_group_range (podnet's default, so ping
 * needs no CAP_NET_RAW), then the pod's own (which may override it). The pod's own carry their
 * field path: a value the kernel refuses is reported naming it.
 */
export function podSysctls(pod: PodSecurityContext | undefined, opts: { userNamespace?: boolean } = {}): Array<{ name: string; value: string; field?: string }> {
  // in a pod's own user namespace only its 65,536 mapped groups are valid
  const out = new Map<string, { value: string; field?: string }>([['net.ipv4.ping_group_range', { value: opts.userNamespace ? '0 65535' : DEFAULT_PING_GROUP_RANGE }]])
  ;(pod?.sysctls ?? []).forEach((s, i) => out.set(s.name, { value: s.value, field: `spec.securityContext.sysctls[${i}].value` }))
  return [...out].map(([name, v]) => ({ name, ...v }))
}

/** The error for a sysctl value the kernel refused (errno code, e.g. EINVAL). */
export function sysctlRefused(s: { name: string; value: string; field?: string }, code: string): InvalidArgumentError {
  return new InvalidArgumentError(s.field ?? `sysctl ${s.name}`, `the kernel refused ${s.name}=${JSON.stringify(s.value)}: ${code}`)
}
