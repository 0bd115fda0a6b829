/**
 * Pod manifests: the Kubernetes Pod subset podnet runs, from YAML or JSON, validated into a
 * PodSpec. Every error names the field path as Kubernetes does:
 *   spec.containers[1].name: duplicate "web"
 *
 * Supported: metadata.name, annotations, labels, ownerReferences; spec.hostname, subdomain, restartPolicy,
 * shareProcessNamespace, terminationGracePeriodSeconds; containers[] name, command, args,
 * env (name/value), workingDir, ports[] (containerPort, hostPort, hostIP, protocol),
 * resources.limits (cpu, memory), livenessProbe/readinessProbe/startupProbe (probe-spec.ts); securityContext at pod and container level (see
 * security/context.ts: fields podnet does not implement are refused, not ignored).
 * Other fields are ignored with a warning; hostNetwork, hostPID and hostIPC: true are refused
 * (security/warnings.ts), and a privileged container is accepted with a warning.
 *
 * podnet's extensions are annotations, so the manifest stays a valid Pod:
 *   podnet.io/rootfs               the root directory of every container (no image registry)
 *   podnet.io/rootfs.<container>   the root directory of one container (wins over the above)
 *   podnet.io/network              the podnet network the pod joins (none: loopback only)
 *   podnet.io/share-uts            "true" (default, as Kubernetes) or "false": each container
 *                                  gets its own UTS namespace (with the pod's hostname)
 *   podnet.io/aliases              more names for the pod in its network's DNS, comma-separated
 *                                  ("db,primary.db"); spec.subdomain adds HOSTNAME.SUBDOMAIN
 *   podnet.io/cgroups              "on" (default) or "off": no cgroups (no limits, no stats),
 *                                  for machines whose cgroups podnet cannot write
 * and the network limits (pod-network-limits.ts): kubernetes.io/ingress-bandwidth and
 * egress-bandwidth, podnet.io/ingress-burst and egress-burst, podnet.io/network-priority.
 * Relative rootfs paths are resolved against the manifest's directory.
 *
 * Text (YAML/JSON) is parsed in manifest-yaml.ts, so the supervisor, which gets validated
 * specs, never loads the YAML library (about 9 MB of RSS).
 */
import { statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { tryParseIp } from '../net/ip.js'
import { validateNetworkName } from '../net/names.js'
import { normalizeDnsName } from '../net/dns-name.js'
import { containerEnv } from './launcher.js'
import { ANNOTATION_CGROUPS } from './cgroups/access.js'
import { checkArgString, checkExecArgs } from './limits.js'
import { parseCpuMillis, parseMemoryBytes } from './quantity.js'
import { parsePodSecurityContext, parseSecurityContext, resolveSecurity, type PodSecurityContext, type SecurityContext } from './security/context.js'
import { HOST_NAMESPACE_FIELDS, checkHostNamespaces, privilegedWarning } from './security/warnings.js'
import { parseNetworkLimits, type PodNetworkLimits } from './pod-network-limits.js'
import { parseLabels, parseOwnerReferences, type OwnerReference } from './labels.js'
import { parseContainerProbes, type ContainerProbes } from './probe-spec.js'
import { hostPathWarning, parseVolumeMounts, parseVolumes, type VolumeMount, type VolumeSpec } from './volumes.js'
import { describeValue, obj, str, type Obj } from './spec-fields.js'

export const ANNOTATION_ROOTFS = 'podnet.io/rootfs'
export const ANNOTATION_NETWORK = 'podnet.io/network'
export const ANNOTATION_SHARE_UTS = 'podnet.io/share-uts'
export const ANNOTATION_ALIASES = 'podnet.io/aliases'

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never'
export const RESTART_POLICIES: readonly RestartPolicy[] = ['Always', 'OnFailure', 'Never']

export interface ContainerPort {
  containerPort: number
  hostPort?: number
  hostIp?: string
  protocol: 'tcp' | 'udp'
  name?: string
}

export interface EnvVar {
  name: string
  value: string
}

export interface ContainerSpec extends ContainerProbes {
  name: string
  /** Absolute path of the container's root directory. */
  rootfs: string
  /** command + args: the argv the container execs (PATH is searched inside the rootfs). */
  argv: string[]
  env: EnvVar[]
  workingDir?: string
  ports: ContainerPort[]
  limits: { cpuMillis?: number; memoryBytes?: number }
  securityContext?: SecurityContext
  /** Where the pod's volumes are mounted (volumes.ts). */
  volumeMounts?: VolumeMount[]
}

/** A validated pod: what the runtime runs. */
export interface PodSpec {
  name: string
  hostname: string
  restartPolicy: RestartPolicy
  shareProcessNamespace: boolean
  /** Whether containers share the pod's UTS namespace (Kubernetes: always). */
  shareUts: boolean
  terminationGracePeriodSeconds: number
  /** The podnet network the pod is attached to. */
  network?: string
  /** spec.subdomain: the pod is also HOSTNAME.SUBDOMAIN in its network's DNS (a StatefulSet's headless service). */
  subdomain?: string
  /** podnet.io/aliases: more names in its network's DNS (canonical DNS names). */
  aliases?: string[]
  /** Rate limits from the bandwidth annotations (bits). */
  bandwidth?: NonNullable<PodNetworkLimits['bandwidth']>
  /** Traffic priority 0-7 from podnet.io/network-priority (absent: normal). */
  networkPriority?: number
  /** false (podnet.io/cgroups: "off"): no cgroups for this pod, so no limits and no pod stats, where podnet cannot write them. */
  cgroups?: false
  annotations: Record<string, string>
  /** metadata.labels (what workload controllers select pods by). */
  labels?: Record<string, string>
  /** metadata.ownerReferences: the workload that owns the pod (src/workloads). */
  ownerReferences?: OwnerReference[]
  containers: ContainerSpec[]
  securityContext?: PodSecurityContext
  /** false: the pod gets a user namespace of its own (userns.ts); absent: the host's. */
  hostUsers?: false
  /** spec.volumes: emptyDir, hostPath (volumes.ts). */
  volumes?: VolumeSpec[]
  /**
   * podnet's, never read from a manifest: the key under which the pod's network addresses are
   * kept while it has no sandbox (set by the StatefulSet controller, `statefulset/NAME/ORDINAL`).
   * Every attach of the pod takes the reservation back, every detach keeps the addresses as it
   * (network.ts, docs/workloads.md). Recorded with the spec, so adoption, a finished removal and
   * a restore use it too.
   */
  addressReservation?: string
}

export interface ParsedManifest {
  spec: PodSpec
  /** Fields podnet does not implement and ignored. */
  warnings: string[]
}

export interface ParseOptions {
  /** Directory relative rootfs paths are resolved against (default: the current directory). */
  baseDir?: string
  /** Check that every rootfs is an existing directory (default true). */
  checkRootfs?: boolean
  /** false: the pod runs without cgroups (`pod run --no-cgroups`), as with the annotation podnet.io/cgroups: "off". */
  cgroups?: false
  /** hostPath volumes are allowed (`pod run --allow-host-path`); without it they are refused. */
  allowHostPath?: boolean
  /** persistentVolumeClaim volumes: the claims that exist, name -> directory (a StatefulSet's pods); without it they are refused. */
  claimDirs?: Readonly<Record<string, string>>
}

/** DNS-1123 label: container names, hostnames. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
/** DNS-1123 subdomain: pod names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** podnet uses the pod name in file names, cgroup names and attachment ids. */
export const POD_NAME_MAX = 128

const describe = describeValue

function strList(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, `must be a list of strings, got ${describe(v)}`)
  return v.map((x, i) => {
    if (typeof x === 'number' || typeof x === 'boolean') return String(x)
    return str(x, `${field}[${i}]`)
  })
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(field, `must be true or false, got ${describe(v)}`)
  return v
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidArgumentError(field, `must be an integer, got ${describe(v)}`)
  if (v < min || v > max) throw new InvalidArgumentError(field, `must be from ${min} to ${max}, got ${v}`)
  return v
}

/** Validates a pod name (DNS-1123 subdomain, at most 128 characters). */
export function validatePodName(name: unknown, field = 'metadata.name'): string {
  if (name === undefined || name === null || name === '') throw new InvalidArgumentError(field, 'required')
  const s = str(name, field)
  if (s.length > POD_NAME_MAX || !DNS_SUBDOMAIN.test(s)) {
    throw new InvalidArgumentError(field, `${JSON.stringify(s)} is not valid: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${POD_NAME_MAX} characters`)
  }
  return s
}

function label(v: unknown, field: string): string {
  const s = str(v, field)
  if (s.length > 63 || !DNS_LABEL.test(s)) {
    throw new InvalidArgumentError(field, `${JSON.stringify(s)} is not valid: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`)
  }
  return s
}

/** Validates an already-parsed manifest object. */
export function validateManifest(doc: unknown, opts: ParseOptions = {}): ParsedManifest {
  const warnings: string[] = []
  const root = obj(doc, 'manifest')
  if (root.apiVersion !== undefined && root.apiVersion !== 'v1') throw new InvalidArgumentError('apiVersion', `must be "v1", got ${describe(root.apiVersion)}`)
  if (root.kind !== undefined && root.kind !== 'Pod') throw new InvalidArgumentError('kind', `must be "Pod", got ${describe(root.kind)}`)
  for (const k of Object.keys(root)) if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) warnings.push(`${k}: unknown field, ignored`)

  const meta = obj(root.metadata ?? {}, 'metadata')
  const name = validatePodName(meta.name)
  const annotations: Record<string, string> = {}
  if (meta.annotations !== undefined) {
    for (const [k, v] of Object.entries(obj(meta.annotations, 'metadata.annotations'))) annotations[k] = str(v, `metadata.annotations[${k}]`)
  }
  const labels = meta.labels === undefined ? undefined : parseLabels(meta.labels, 'metadata.labels')
  const ownerReferences = meta.ownerReferences === undefined ? undefined : parseOwnerReferences(meta.ownerReferences, 'metadata.ownerReferences')
  for (const k of Object.keys(meta)) if (!['name', 'annotations', 'labels', 'ownerReferences', 'namespace', 'uid'].includes(k)) warnings.push(`metadata.${k}: not supported, ignored`)

  if (root.spec === undefined) throw new InvalidArgumentError('spec', 'required')
  const spec = obj(root.spec, 'spec')
  const known = ['containers', 'volumes', 'hostname', 'subdomain', 'restartPolicy', 'shareProcessNamespace', 'terminationGracePeriodSeconds', 'securityContext', 'hostUsers', ...Object.keys(HOST_NAMESPACE_FIELDS)]
  for (const k of Object.keys(spec)) if (!known.includes(k)) warnings.push(`spec.${k}: not supported, ignored`)
  checkHostNamespaces(spec)

  const restartPolicy = spec.restartPolicy === undefined ? 'Always' : str(spec.restartPolicy, 'spec.restartPolicy')
  if (!(RESTART_POLICIES as readonly string[]).includes(restartPolicy)) {
    throw new InvalidArgumentError('spec.restartPolicy', `unsupported value ${JSON.stringify(restartPolicy)}: supported values: ${RESTART_POLICIES.map((p) => `"${p}"`).join(', ')}`)
  }
  const hostname = spec.hostname === undefined ? defaultHostname(name) : label(spec.hostname, 'spec.hostname')
  const subdomain = spec.subdomain === undefined || spec.subdomain === '' ? undefined : label(spec.subdomain, 'spec.subdomain')
  const aliasText = annotations[ANNOTATION_ALIASES]
  const aliases = aliasText === undefined ? undefined : aliasText.split(',').map((a) => a.trim()).filter(Boolean)
    .map((a) => normalizeDnsName(a, `metadata.annotations[${ANNOTATION_ALIASES}]`))
  const shareProcessNamespace = spec.shareProcessNamespace === undefined ? false : bool(spec.shareProcessNamespace, 'spec.shareProcessNamespace')
  const terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds === undefined
    ? 30 : int(spec.terminationGracePeriodSeconds, 'spec.terminationGracePeriodSeconds', 0, 86400)

  const podSecurity = spec.securityContext === undefined ? undefined : parsePodSecurityContext(spec.securityContext, 'spec.securityContext', opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {})
  const hostUsers = spec.hostUsers === undefined ? true : bool(spec.hostUsers, 'spec.hostUsers')

  const shareUtsText = annotations[ANNOTATION_SHARE_UTS]
  if (shareUtsText !== undefined && shareUtsText !== 'true' && shareUtsText !== 'false') {
    throw new InvalidArgumentError(`metadata.annotations[${ANNOTATION_SHARE_UTS}]`, `must be "true" or "false", got ${JSON.stringify(shareUtsText)}`)
  }
  if (opts.cgroups === false) annotations[ANNOTATION_CGROUPS] = 'off'
  const cgroupsText = annotations[ANNOTATION_CGROUPS]
  if (cgroupsText !== undefined && cgroupsText !== 'on' && cgroupsText !== 'off') {
    throw new InvalidArgumentError(`metadata.annotations[${ANNOTATION_CGROUPS}]`, `must be "on" or "off", got ${JSON.stringify(cgroupsText)}`)
  }
  const network = annotations[ANNOTATION_NETWORK]
  if (network !== undefined) {
    try {
      validateNetworkName(network)
    } catch (err) {
      throw new InvalidArgumentError(`metadata.annotations[${ANNOTATION_NETWORK}]`, `${JSON.stringify(network)} is not a network name (${(err as InvalidArgumentError).reason})`)
    }
  }

  if (spec.containers === undefined) throw new InvalidArgumentError('spec.containers', 'required')
  if (!Array.isArray(spec.containers)) throw new InvalidArgumentError('spec.containers', `must be a list, got ${describe(spec.containers)}`)
  if (spec.containers.length === 0) throw new InvalidArgumentError('spec.containers', 'must have at least one container')
  const volumes = parseVolumes(spec.volumes, { ...(opts.allowHostPath && { allowHostPath: true }), ...(opts.claimDirs && { claimDirs: opts.claimDirs }) }, warnings)
  const seen = new Set<string>()
  const hostPorts = new Map<string, string>()
  const containers = spec.containers.map((c, i) => {
    const cs = parseContainer(c, `spec.containers[${i}]`, annotations, opts, warnings)
    const mounts = parseVolumeMounts((c as Obj).volumeMounts, `spec.containers[${i}]`, volumes, warnings)
    if (mounts.length) cs.volumeMounts = mounts
    // runAsNonRoot and the Localhost profile are checked now, before anything is created
    resolveSecurity(podSecurity, cs.securityContext, { at: `spec.containers[${i}].securityContext`, podAt: 'spec.securityContext', pod: name, container: cs.name })
    if (cs.securityContext?.privileged === true) warnings.push(privilegedWarning(cs.name, i))
    if (seen.has(cs.name)) throw new InvalidArgumentError(`spec.containers[${i}].name`, `duplicate ${JSON.stringify(cs.name)}`)
    seen.add(cs.name)
    cs.ports.forEach((p, j) => {
      if (p.hostPort === undefined) return
      const key = `${p.protocol}/${p.hostIp ?? '*'}/${p.hostPort}`
      const prev = hostPorts.get(key)
      if (prev) throw new InvalidArgumentError(`spec.containers[${i}].ports[${j}].hostPort`, `duplicate ${p.hostPort}/${p.protocol.toUpperCase()} (also ${prev})`)
      hostPorts.set(key, `spec.containers[${i}].ports[${j}]`)
    })
    // what execve(2) takes: checked now, not as a spawn E2BIG with the sandbox made
    checkExecArgs(containerEnv(hostname, cs.env), cs.argv, `spec.containers[${i}]`)
    return cs
  })
  for (const k of Object.keys(annotations)) {
    if (k.startsWith(`${ANNOTATION_ROOTFS}.`) && !seen.has(k.slice(ANNOTATION_ROOTFS.length + 1))) {
      throw new InvalidArgumentError(`metadata.annotations[${k}]`, `no container named ${JSON.stringify(k.slice(ANNOTATION_ROOTFS.length + 1))}`)
    }
  }

  const out: PodSpec = {
    name, hostname, restartPolicy: restartPolicy as RestartPolicy, shareProcessNamespace,
    shareUts: shareUtsText !== 'false', terminationGracePeriodSeconds, annotations, containers,
  }
  if (network !== undefined) out.network = network
  if (subdomain !== undefined) out.subdomain = subdomain
  if (aliases?.length) out.aliases = aliases
  if (labels !== undefined && Object.keys(labels).length) out.labels = labels
  if (ownerReferences !== undefined && ownerReferences.length) out.ownerReferences = ownerReferences
  if (podSecurity !== undefined) out.securityContext = podSecurity
  if (volumes.length) out.volumes = volumes
  volumes.forEach((v, i) => {
    if (!v.hostPath) return
    const ro = containers.every((c) => (c.volumeMounts ?? []).every((m) => m.name !== v.name || m.readOnly))
    warnings.push(hostPathWarning(`spec.volumes[${i}].hostPath`, v.hostPath.path, ro))
  })
  if (!hostUsers) out.hostUsers = false
  if (cgroupsText === 'off') {
    out.cgroups = false
    containers.forEach((c, i) => {
      if (c.limits.cpuMillis !== undefined || c.limits.memoryBytes !== undefined) warnings.push(`spec.containers[${i}].resources.limits: not enforced, the pod runs without cgroups (${ANNOTATION_CGROUPS}: "off")`)
    })
  }
  const limits = parseNetworkLimits(annotations, network)
  if (limits.bandwidth) out.bandwidth = limits.bandwidth
  if (limits.priority !== undefined) out.networkPriority = limits.priority
  return { spec: out, warnings }
}

/** Kubernetes' default hostname: the pod name, cut to 63 characters (and to a valid label). */
export function defaultHostname(podName: string): string {
  return podName.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '') || 'pod'
}

function parseContainer(v: unknown, at: string, annotations: Record<string, string>, opts: ParseOptions, warnings: string[]): ContainerSpec {
  const c = obj(v, at)
  const known = ['name', 'image', 'command', 'args', 'env', 'workingDir', 'ports', 'resources', 'securityContext', 'livenessProbe', 'readinessProbe', 'startupProbe', 'volumeMounts']
  for (const k of Object.keys(c)) if (!known.includes(k)) warnings.push(`${at}.${k}: not supported, ignored`)
  if (c.name === undefined || c.name === '') throw new InvalidArgumentError(`${at}.name`, 'required')
  const name = label(c.name, `${at}.name`)

  const perContainer = `${ANNOTATION_ROOTFS}.${name}`
  const rootfsKey = annotations[perContainer] !== undefined ? perContainer : annotations[ANNOTATION_ROOTFS] !== undefined ? ANNOTATION_ROOTFS : undefined
  if (rootfsKey === undefined) {
    throw new InvalidArgumentError(`${at}`, `no rootfs: podnet runs no images; set the annotation ${perContainer} (or ${ANNOTATION_ROOTFS} for every container) to a directory`)
  }
  if (c.image !== undefined) warnings.push(`${at}.image: ignored (the rootfs comes from ${rootfsKey})`)
  const rootfsField = `metadata.annotations[${rootfsKey}]`
  const rootfsText = annotations[rootfsKey]!
  if (rootfsText === '') throw new InvalidArgumentError(rootfsField, 'must not be empty')
  const rootfs = isAbsolute(rootfsText) ? rootfsText : resolve(opts.baseDir ?? process.cwd(), rootfsText)
  if (opts.checkRootfs !== false) checkRootfs(rootfs, rootfsField)

  const command = c.command === undefined ? [] : strList(c.command, `${at}.command`)
  const args = c.args === undefined ? [] : strList(c.args, `${at}.args`)
  command.forEach((x, j) => checkArgString(x, `${at}.command[${j}]`, 'the string'))
  args.forEach((x, j) => checkArgString(x, `${at}.args[${j}]`, 'the string'))
  const argv = [...command, ...args]
  if (argv.length === 0) throw new InvalidArgumentError(`${at}.command`, 'required: podnet has no image to take a default command from')
  if (argv[0] === '') throw new InvalidArgumentError(`${at}.command[0]`, 'must not be empty')

  const env: EnvVar[] = []
  if (c.env !== undefined) {
    if (!Array.isArray(c.env)) throw new InvalidArgumentError(`${at}.env`, `must be a list, got ${describe(c.env)}`)
    const names = new Set<string>()
    c.env.forEach((e, j) => {
      const f = `${at}.env[${j}]`
      const eo = obj(e, f)
      if (eo.valueFrom !== undefined) throw new InvalidArgumentError(`${f}.valueFrom`, 'not supported by podnet (give a value)')
      const n = str(eo.name, `${f}.name`)
      if (n === '' || n.includes('=') || n.includes('\0')) throw new InvalidArgumentError(`${f}.name`, `${JSON.stringify(n)} is not a valid variable name`)
      if (names.has(n)) warnings.push(`${f}.name: duplicate ${JSON.stringify(n)}, the last one wins`)
      names.add(n)
      const val = eo.value === undefined ? '' : typeof eo.value === 'number' || typeof eo.value === 'boolean' ? String(eo.value) : str(eo.value, `${f}.value`)
      if (val.includes('\0')) throw new InvalidArgumentError(`${f}.value`, 'contains a NUL byte')
      checkArgString(`${n}=${val}`, `${f}.value`, 'NAME=VALUE')
      env.push({ name: n, value: val })
    })
  }

  const out: ContainerSpec = { name, rootfs, argv, env, ports: [], limits: {} }
  if (c.workingDir !== undefined) {
    const wd = str(c.workingDir, `${at}.workingDir`)
    if (!wd.startsWith('/')) throw new InvalidArgumentError(`${at}.workingDir`, `must be an absolute path, got ${JSON.stringify(wd)}`)
    out.workingDir = wd
  }

  if (c.securityContext !== undefined) out.securityContext = parseSecurityContext(c.securityContext, `${at}.securityContext`, opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {})

  if (c.ports !== undefined) {
    if (!Array.isArray(c.ports)) throw new InvalidArgumentError(`${at}.ports`, `must be a list, got ${describe(c.ports)}`)
    out.ports = c.ports.map((p, j) => parsePort(p, `${at}.ports[${j}]`))
  }
  Object.assign(out, parseContainerProbes(c, at, out.ports, warnings))

  if (c.resources !== undefined) {
    const r = obj(c.resources, `${at}.resources`)
    for (const k of Object.keys(r)) if (k !== 'limits' && k !== 'requests') warnings.push(`${at}.resources.${k}: not supported, ignored`)
    if (r.requests !== undefined) warnings.push(`${at}.resources.requests: not enforced (podnet applies limits only)`)
    if (r.limits !== undefined) {
      const l = obj(r.limits, `${at}.resources.limits`)
      for (const k of Object.keys(l)) if (k !== 'cpu' && k !== 'memory') warnings.push(`${at}.resources.limits.${k}: not supported, ignored`)
      if (l.cpu !== undefined) out.limits.cpuMillis = parseCpuMillis(l.cpu, `${at}.resources.limits.cpu`)
      if (l.memory !== undefined) out.limits.memoryBytes = parseMemoryBytes(l.memory, `${at}.resources.limits.memory`)
    }
  }
  return out
}

function parsePort(v: unknown, at: string): ContainerPort {
  const p = obj(v, at)
  if (p.containerPort === undefined) throw new InvalidArgumentError(`${at}.containerPort`, 'required')
  const port: ContainerPort = { containerPort: int(p.containerPort, `${at}.containerPort`, 1, 65535), protocol: 'tcp' }
  if (p.hostPort !== undefined) port.hostPort = int(p.hostPort, `${at}.hostPort`, 1, 65535)
  if (p.protocol !== undefined) {
    const proto = str(p.protocol, `${at}.protocol`)
    if (proto !== 'TCP' && proto !== 'UDP') throw new InvalidArgumentError(`${at}.protocol`, `unsupported value ${JSON.stringify(proto)}: supported values: "TCP", "UDP"`)
    port.protocol = proto === 'TCP' ? 'tcp' : 'udp'
  }
  if (p.hostIP !== undefined) {
    const ip = str(p.hostIP, `${at}.hostIP`)
    const parsed = tryParseIp(ip)
    if (!parsed) throw new InvalidArgumentError(`${at}.hostIP`, `${JSON.stringify(ip)} is not an IP address`)
    if (port.hostPort === undefined) throw new InvalidArgumentError(`${at}.hostIP`, 'needs a hostPort')
    // 0.0.0.0 and :: mean every address (as docker, podman and the portmap plugin take them): no hostIp
    if (parsed.value !== 0n) port.hostIp = ip
  }
  if (p.name !== undefined) port.name = str(p.name, `${at}.name`)
  return port
}

/** Throws InvalidArgumentError(field) unless path is an existing directory. */
export function checkRootfs(path: string, field: string): void {
  let st
  try {
    st = statSync(path)
  } catch {
    throw new InvalidArgumentError(field, `rootfs ${path} does not exist`)
  }
  if (!st.isDirectory()) throw new InvalidArgumentError(field, `rootfs ${path} is not a directory`)
}
