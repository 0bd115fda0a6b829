/**
 * What podnet says about a pod's security when it accepts it: `privileged: true` is an explicit
 * opt-in out of every default (docs/security.md), so it is accepted but never silently. The
 * manifest parser puts one warning per privileged container in `warnings` (stderr for the CLI,
 * `warnings` of the supervisor's run-manifest answer), and the pod record carries a
 * `Privileged` condition (`pod inspect`), for pods made through the library too.
 *
 * And the host namespaces: `hostNetwork`, `hostPID` and `hostIPC` set to true are refused, not
 * ignored (a workload written for the node's network would silently get a pod's).
 */
import { InvalidArgumentError } from '../../errors.js'
import type { PodCondition } from '../types.js'

/** What privileged opens, in one clause (the warning and the condition say it). */
export const PRIVILEGED_OPENS = 'every capability podnet has, no seccomp filter, no no_new_privs, /proc and /sys writable and unmasked: it can take over the node'

/** The warning for spec.containers[index] when it is privileged. */
export function privilegedWarning(container: string, index: number): string {
  return `spec.containers[${index}].securityContext.privileged: container ${JSON.stringify(container)} runs privileged: ${PRIVILEGED_OPENS}`
}

interface SpecLike {
  containers: ReadonlyArray<{ name: string; securityContext?: { privileged?: boolean } }>
}

/** The names of a pod's privileged containers (manifest order). */
export function privilegedContainers(spec: SpecLike): string[] {
  return spec.containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name)
}

/** The condition a pod with privileged containers carries (undefined: none is). */
export function privilegedCondition(spec: SpecLike, at: string): PodCondition | undefined {
  const names = privilegedContainers(spec)
  if (!names.length) return undefined
  return {
    type: 'Privileged', status: 'True', reason: 'PrivilegedContainers',
    message: `container${names.length > 1 ? 's' : ''} ${names.join(', ')} run${names.length > 1 ? '' : 's'} privileged: ${PRIVILEGED_OPENS}`,
    lastTransitionTime: at,
  }
}

/** Pod fields that would put the pod in the node's own namespaces. */
export const HOST_NAMESPACE_FIELDS: Readonly<Record<string, string>> = {
  hostNetwork: "the node's network namespace",
  hostPID: "the node's PID namespace",
  hostIPC: "the node's IPC namespace",
}

/**
 * spec.hostNetwork / hostPID / hostIPC: false (Kubernetes' default) is accepted, true is
 * refused naming the field. podnet has no opt-in for them: a pod in the node's namespaces sees
 * and can reach everything of the node's (its interfaces and nf_tables, every process, the
 * node's shared memory), which on a shared node must not happen by a manifest's say-so.
 */
export function checkHostNamespaces(spec: Record<string, unknown>): void {
  for (const [k, what] of Object.entries(HOST_NAMESPACE_FIELDS)) {
    const v = spec[k]
    if (v === undefined || v === false) continue
    if (v !== true) throw new InvalidArgumentError(`spec.${k}`, `must be true or false, got ${v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : typeof v}`)
    throw new InvalidArgumentError(`spec.${k}`, `true is not supported: podnet runs every pod in namespaces of its own and never in ${what} (see docs/security.md)`)
  }
}
