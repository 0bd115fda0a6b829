/**
 * This machine as a Kubernetes Node: its name and labels, which DaemonSets' nodeSelectors match.
 * Kept in <state dir>/workloads/node.json (written by the supervisor only, atomically); until
 * the first `podnet label node`, the node has Kubernetes' well-known labels:
 * kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch.
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, NotFoundError } from '../errors.js'
import { validateLabelKey, validateLabelValue } from '../runtime/labels.js'
import { readJson, writeJsonAtomic } from '../state/index.js'

export interface NodeInfo {
  name: string
  labels: Record<string, string>
  creationTimestamp?: string
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

export const nodePath = (workloadsRoot: string): string => join(workloadsRoot, 'node.json')

/** The node's name: the host name, lower case (a Node's name is a DNS subdomain). */
export const defaultNodeName = (): string => hostname().toLowerCase()

export function readNode(workloadsRoot: string): NodeInfo {
  const stored = readJson<NodeInfo>(nodePath(workloadsRoot))
  if (stored) return stored
  const name = defaultNodeName()
  return { name, labels: { 'kubernetes.io/arch': ARCH[process.arch] ?? process.arch, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } }
}

/** `KEY=VALUE` sets, `KEY-` removes (kubectl label's arguments). */
export function parseLabelArgs(args: readonly string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {}
  const remove: string[] = []
  for (const a of args) {
    if (a.endsWith('-') && !a.includes('=')) {
      validateLabelKey(a.slice(0, -1), 'KEY-')
      remove.push(a.slice(0, -1))
      continue
    }
    const i = a.indexOf('=')
    if (i <= 0) throw new InvalidArgumentError('KEY=VALUE', `${JSON.stringify(a)}: labels are KEY=VALUE, or KEY- to remove one`)
    const [k, v] = [a.slice(0, i), a.slice(i + 1)]
    validateLabelKey(k, `${k}`)
    validateLabelValue(v, `${k}`)
    set[k] = v
  }
  if (!Object.keys(set).length && !remove.length) throw new InvalidArgumentError('KEY=VALUE', 'at least one label update is required')
  return { set, remove }
}

/** Changes the node's labels as `kubectl label node` does; returns whether anything changed. */
export function labelNode(workloadsRoot: string, name: string, args: readonly string[], overwrite: boolean): boolean {
  const node = readNode(workloadsRoot)
  if (name !== node.name) throw new NotFoundError('node', name, `(this node is "${node.name}"; podnet knows one node)`)
  const { set, remove } = parseLabelArgs(args)
  const labels = { ...node.labels }
  for (const [k, v] of Object.entries(set)) {
    if (labels[k] !== undefined && labels[k] !== v && !overwrite) throw new InvalidArgumentError(k, `'${k}' already has a value (${labels[k]}), and --overwrite is false`)
    labels[k] = v
  }
  for (const k of remove) delete labels[k]
  const changed = JSON.stringify(labels) !== JSON.stringify(node.labels)
  if (changed || !readJson(nodePath(workloadsRoot))) writeJsonAtomic(nodePath(workloadsRoot), { ...node, labels, creationTimestamp: node.creationTimestamp ?? new Date().toISOString() })
  return changed
}
