/**
 * Pod templates (spec.template): validated at apply by the runtime's own Pod manifest parser
 * (so a template is refused exactly as the same Pod given to `podnet pod run` would be, with the
 * path under spec.template), and turned into the PodSpec of each pod a controller creates.
 */
import { isAbsolute, resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { parseLabels } from '../runtime/labels.js'
import { ANNOTATION_ROOTFS, validateManifest, type ParseOptions, type PodSpec } from '../runtime/manifest.js'
import type { OwnerReference } from '../runtime/labels.js'
import { checkKeys, obj, str } from './fields.js'
import type { PodTemplateSpec } from './types.js'

export interface TemplateCheck {
  /** Path of the template in the manifest (spec.template). */
  at: string
  /** A pod name of the length this workload's pods get (errors about names and hostnames are then true). */
  samplePodName: string
  /** Directory relative rootfs paths are resolved against. */
  baseDir: string
  /** restartPolicy values this kind allows, and its default when absent (undefined: required). */
  restartPolicies: readonly string[]
  defaultRestartPolicy?: string
  /** The claims the template's pods get (a StatefulSet's volumeClaimTemplates: claim name -> directory). */
  claimDirs?: ParseOptions['claimDirs']
}

/** Re-roots an error or warning of the Pod parser under the template's path. */
function reroot(field: string, at: string): string {
  if (field === 'manifest') return at
  return `${at}.${field}`
}

/**
 * Validates a template; returns it with relative rootfs paths made absolute (pods are created
 * later, by the supervisor, from no particular directory) and the parser's warnings.
 */
export function parseTemplate(v: unknown, c: TemplateCheck): { template: PodTemplateSpec; warnings: string[] } {
  const t = obj(v, c.at)
  checkKeys(t, c.at, ['metadata', 'spec'])
  const meta = obj(t.metadata ?? {}, `${c.at}.metadata`)
  checkKeys(meta, `${c.at}.metadata`, ['labels', 'annotations', 'name', 'namespace', 'creationTimestamp'])
  const template: PodTemplateSpec = { metadata: {}, spec: {} }
  if (meta.labels !== undefined) template.metadata.labels = parseLabels(meta.labels, `${c.at}.metadata.labels`)
  if (meta.annotations !== undefined) {
    const a = obj(meta.annotations, `${c.at}.metadata.annotations`)
    const out: Record<string, string> = {}
    for (const [k, val] of Object.entries(a)) {
      let s = str(val, `${c.at}.metadata.annotations[${k}]`)
      if ((k === ANNOTATION_ROOTFS || k.startsWith(`${ANNOTATION_ROOTFS}.`)) && s !== '' && !isAbsolute(s)) s = resolve(c.baseDir, s)
      out[k] = s
    }
    template.metadata.annotations = out
  }
  if (t.spec === undefined) throw new InvalidArgumentError(`${c.at}.spec`, 'required')
  const spec = { ...obj(t.spec, `${c.at}.spec`) }
  const rp = spec.restartPolicy
  if (rp === undefined) {
    if (c.defaultRestartPolicy === undefined) {
      throw new InvalidArgumentError(`${c.at}.spec.restartPolicy`, `required: supported values: ${c.restartPolicies.map((x) => `"${x}"`).join(', ')}`)
    }
    spec.restartPolicy = c.defaultRestartPolicy
  } else if (!c.restartPolicies.includes(str(rp, `${c.at}.spec.restartPolicy`))) {
    throw new InvalidArgumentError(`${c.at}.spec.restartPolicy`, `unsupported value ${JSON.stringify(rp)}: supported values: ${c.restartPolicies.map((x) => `"${x}"`).join(', ')}`)
  }
  template.spec = spec
  let warnings: string[]
  try {
    warnings = validateManifest(podDocument(template, c.samplePodName, {}), { baseDir: c.baseDir, ...(c.claimDirs && { claimDirs: c.claimDirs }) }).warnings
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(reroot(err.field, c.at), err.reason, { cause: err })
    throw err
  }
  return { template, warnings: warnings.map((w) => `${c.at}.${w}`) }
}

export interface PodExtras {
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
  /** Variables added to every container (JOB_COMPLETION_INDEX). */
  env?: Array<{ name: string; value: string }>
  hostname?: string
}

/** The Pod manifest a template makes for one pod. */
function podDocument(t: PodTemplateSpec, name: string, x: PodExtras): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...t.spec }
  if (x.hostname !== undefined && spec.hostname === undefined) spec.hostname = x.hostname
  if (x.env?.length && Array.isArray(spec.containers)) {
    spec.containers = spec.containers.map((c: unknown) => {
      if (typeof c !== 'object' || c === null) return c
      const co = c as Record<string, unknown>
      const env = Array.isArray(co.env) ? co.env : []
      return { ...co, env: [...env, ...x.env!] }
    })
  }
  const labels = { ...t.metadata.labels, ...x.labels }
  const annotations = { ...t.metadata.annotations, ...x.annotations }
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, ...(Object.keys(labels).length && { labels }), ...(Object.keys(annotations).length && { annotations }),
      ...(x.ownerReferences?.length && { ownerReferences: x.ownerReferences }),
    },
    spec,
  }
}

/** The PodSpec of one pod of a workload (the template was validated at apply); `claimDirs`: its claims' directories (StatefulSets). */
export function podSpecFromTemplate(t: PodTemplateSpec, name: string, x: PodExtras = {}, opts: Pick<ParseOptions, 'claimDirs'> = {}): PodSpec {
  return validateManifest(podDocument(t, name, x), { baseDir: '/', ...(opts.claimDirs && { claimDirs: opts.claimDirs }) }).spec
}
