/**
 * Manifest documents -> validated objects. Every error is one line naming the field path, as
 * Kubernetes' API server does (spec.replicas: must be greater than or equal to 0, got -1), and
 * a document with an error makes apply create nothing (manager.ts validates every document
 * first). Defaults are filled in as the API server fills them.
 */
import { InvalidArgumentError } from '../errors.js'
import { POD_NAME_MAX, validateManifest, validatePodName, type PodSpec } from '../runtime/manifest.js'
import { parseLabels } from '../runtime/labels.js'
import { bool, checkKeys, int, obj, oneOf, shown, str, type Obj } from './fields.js'
import { matches, parseSelector, selectorString } from './selector.js'
import { parseTemplate } from './template.js'
import { HASH_LEN, daemonSetSpec, deploymentSpec } from './validate-apps.js'
import { statefulSetSpec } from './validate-sts.js'
import { IMPLEMENTED_KINDS, KINDS, type JobSpec, type ReplicaSetSpec, type WorkloadKind } from './types.js'

/** A validated document: a Pod (run as `podnet pod run` would) or a workload object without its uid yet. */
export type ValidDocument =
  | { kind: 'Pod'; name: string; spec: PodSpec; warnings: string[] }
  | { kind: WorkloadKind; name: string; apiVersion: string; labels?: Record<string, string>; annotations?: Record<string, string>; spec: unknown; warnings: string[] }

export const SUPPORTED_KINDS = ['Pod', ...Object.keys(KINDS)] as const

/** The length of the random suffix of generated pod names (Kubernetes': 5). */
export const POD_SUFFIX_LEN = 5

/** Validates one parsed document. `baseDir`: where relative rootfs paths are resolved from. */
export function validateDocument(doc: unknown, baseDir: string): ValidDocument {
  const root = obj(doc, 'document')
  if (root.kind === undefined) throw new InvalidArgumentError('kind', 'required')
  const kind = str(root.kind, 'kind')
  if (root.apiVersion === undefined) throw new InvalidArgumentError('apiVersion', 'required')
  const apiVersion = str(root.apiVersion, 'apiVersion')
  if (kind === 'Pod') {
    if (apiVersion !== 'v1') throw new InvalidArgumentError('apiVersion', `${JSON.stringify(apiVersion)} does not serve kind "Pod": use "v1"`)
    const { spec, warnings } = validateManifest(root, { baseDir })
    return { kind: 'Pod', name: spec.name, spec, warnings }
  }
  if (!Object.hasOwn(KINDS, kind)) {
    throw new InvalidArgumentError('kind', `unsupported kind ${JSON.stringify(kind)}: supported kinds: ${SUPPORTED_KINDS.map((k) => `"${k}"`).join(', ')}`)
  }
  const k = kind as WorkloadKind
  if (apiVersion !== KINDS[k].apiVersion) {
    throw new InvalidArgumentError('apiVersion', `${JSON.stringify(apiVersion)} does not serve kind ${JSON.stringify(k)}: use ${JSON.stringify(KINDS[k].apiVersion)}`)
  }
  if (!IMPLEMENTED_KINDS.includes(k)) throw new InvalidArgumentError('kind', `${JSON.stringify(k)} is not implemented by podnet yet (implemented: Pod, ${IMPLEMENTED_KINDS.join(', ')})`)
  checkKeys(root, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status'])
  const meta = obj(root.metadata ?? {}, 'metadata')
  checkKeys(meta, 'metadata', ['name', 'namespace', 'labels', 'annotations', 'uid', 'creationTimestamp', 'generation', 'resourceVersion'], {
    generateName: 'give a name', ownerReferences: 'workloads have no owners on podnet', finalizers: '',
  })
  const maxName = k === 'Job' ? 63 : POD_NAME_MAX - 1 - POD_SUFFIX_LEN - (k === 'Deployment' ? HASH_LEN + 1 : 0)
  const name = validatePodName(meta.name)
  if (name.length > maxName) throw new InvalidArgumentError('metadata.name', `must be no more than ${maxName} characters (its pods are named ${name.slice(0, 8)}...-xxxxx)`)
  if (meta.namespace !== undefined && meta.namespace !== 'default') {
    throw new InvalidArgumentError('metadata.namespace', `podnet has one namespace, "default"; got ${shown(meta.namespace)}`)
  }
  const labels = meta.labels === undefined ? undefined : parseLabels(meta.labels, 'metadata.labels')
  let annotations: Record<string, string> | undefined
  if (meta.annotations !== undefined) {
    annotations = {}
    for (const [key, v] of Object.entries(obj(meta.annotations, 'metadata.annotations'))) annotations[key] = str(v, `metadata.annotations[${key}]`)
  }
  if (root.spec === undefined) throw new InvalidArgumentError('spec', 'required')
  const specIn = obj(root.spec, 'spec')
  const r = k === 'Job' ? jobSpec(specIn, name, baseDir)
    : k === 'Deployment' ? deploymentSpec(specIn, name, baseDir, checkSelectorMatches)
      : k === 'DaemonSet' ? daemonSetSpec(specIn, name, baseDir, checkSelectorMatches)
        : k === 'StatefulSet' ? statefulSetSpec(specIn, name, baseDir, checkSelectorMatches)
        : replicaSetSpec(specIn, name, baseDir)
  return {
    kind: k, name, apiVersion, ...(labels && Object.keys(labels).length && { labels }),
    ...(annotations && Object.keys(annotations).length && { annotations }), spec: r.spec, warnings: r.warnings,
  }
}

const samplePod = (name: string): string => `${name}-${'x'.repeat(POD_SUFFIX_LEN)}`

function replicaSetSpec(s: Obj, name: string, baseDir: string): { spec: ReplicaSetSpec; warnings: string[] } {
  checkKeys(s, 'spec', ['replicas', 'minReadySeconds', 'selector', 'template'])
  const replicas = s.replicas === undefined ? 1 : int(s.replicas, 'spec.replicas')
  const minReadySeconds = s.minReadySeconds === undefined ? 0 : int(s.minReadySeconds, 'spec.minReadySeconds')
  if (s.selector === undefined) throw new InvalidArgumentError('spec.selector', 'required')
  const selector = parseSelector(s.selector, 'spec.selector')
  if (s.template === undefined) throw new InvalidArgumentError('spec.template', 'required')
  const { template, warnings } = parseTemplate(s.template, {
    at: 'spec.template', samplePodName: samplePod(name), baseDir, restartPolicies: ['Always'], defaultRestartPolicy: 'Always',
  })
  checkSelectorMatches(selector, template.metadata.labels)
  return { spec: { replicas, minReadySeconds, selector, template }, warnings }
}

/** Kubernetes: "`selector` does not match template `labels`". */
export function checkSelectorMatches(selector: Parameters<typeof matches>[0], labels: Record<string, string> | undefined): void {
  if (!matches(selector, labels)) {
    throw new InvalidArgumentError('spec.template.metadata.labels', `${JSON.stringify(labels ?? {})} does not match spec.selector (${selectorString(selector)})`)
  }
}

/** Job fields Kubernetes has and podnet refuses, with why. */
const JOB_REFUSED: Record<string, string> = {
  podFailurePolicy: 'every pod failure counts towards backoffLimit', backoffLimitPerIndex: '', maxFailedIndexes: '',
  podReplacementPolicy: 'a failed pod is replaced once it has ended', successPolicy: '', managedBy: '',
  manualSelector: "the Job's selector is generated from its uid",
}

function jobSpec(s: Obj, name: string, baseDir: string): { spec: Omit<JobSpec, 'selector'> & { selector?: undefined }; warnings: string[] } {
  checkKeys(s, 'spec', ['completions', 'parallelism', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'template', 'selector'], JOB_REFUSED)
  if (s.selector !== undefined) throw new InvalidArgumentError('spec.selector', "not supported by podnet (the Job's selector is generated from its uid)")
  const parallelism = s.parallelism === undefined ? 1 : int(s.parallelism, 'spec.parallelism')
  let completions = s.completions === undefined || s.completions === null ? undefined : int(s.completions, 'spec.completions')
  if (completions === undefined && s.parallelism === undefined) completions = 1
  const backoffLimit = s.backoffLimit === undefined ? 6 : int(s.backoffLimit, 'spec.backoffLimit')
  const completionMode = s.completionMode === undefined ? 'NonIndexed' : oneOf(s.completionMode, 'spec.completionMode', ['NonIndexed', 'Indexed'] as const)
  if (completionMode === 'Indexed') {
    if (completions === undefined) throw new InvalidArgumentError('spec.completions', 'required when completionMode is "Indexed"')
    if (completions > 100_000) throw new InvalidArgumentError('spec.completions', `must be less than or equal to 100000 when completionMode is "Indexed", got ${completions}`)
  }
  const suspend = s.suspend === undefined ? false : bool(s.suspend, 'spec.suspend')
  if (s.template === undefined) throw new InvalidArgumentError('spec.template', 'required')
  const { template, warnings } = parseTemplate(s.template, {
    at: 'spec.template', samplePodName: completionMode === 'Indexed' ? `${name}-${completions! - 1}-xxxxx` : samplePod(name), baseDir,
    restartPolicies: ['OnFailure', 'Never'],
  })
  const spec: Omit<JobSpec, 'selector'> = { parallelism, backoffLimit, completionMode, suspend, template }
  if (completions !== undefined) spec.completions = completions
  if (s.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = int(s.activeDeadlineSeconds, 'spec.activeDeadlineSeconds', 1)
  if (s.ttlSecondsAfterFinished !== undefined) spec.ttlSecondsAfterFinished = int(s.ttlSecondsAfterFinished, 'spec.ttlSecondsAfterFinished')
  return { spec, warnings }
}
