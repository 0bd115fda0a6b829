/**
 * StatefulSet specs (apps/v1): validation with Kubernetes' field paths and messages, defaults
 * as the API server fills them (replicas 1, podManagementPolicy OrderedReady, updateStrategy
 * RollingUpdate with partition 0, retention Retain/Retain, revisionHistoryLimit 10). The template
 * is checked as each pod will be made: hostname = the pod's name, subdomain = serviceName, and
 * the claims as persistentVolumeClaim volumes (so a volumeMount may name a claim template).
 * validate.ts dispatches here.
 */
import { InvalidArgumentError } from '../errors.js'
import { parseQuantity } from '../runtime/quantity.js'
import { parseLabels } from '../runtime/labels.js'
import { checkKeys, int, obj, oneOf, str, type Obj } from './fields.js'
import { parseSelector } from './selector.js'
import { parseTemplate } from './template.js'
import type { LabelSelector, PersistentVolumeClaimTemplate, StatefulSetSpec } from './types.js'

/** Longest StatefulSet name: NAME-<hash> (controller-revision-hash, a label value) fits in 63 characters. */
export const STS_NAME_MAX = 52

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const

function dnsLabel(v: unknown, at: string): string {
  const s = str(v, at)
  if (s.length > 63 || !DNS_LABEL.test(s)) throw new InvalidArgumentError(at, `${JSON.stringify(s)} is not a valid DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`)
  return s
}

function claimTemplate(v: unknown, at: string, warnings: string[]): PersistentVolumeClaimTemplate {
  const o = obj(v, at)
  checkKeys(o, at, ['apiVersion', 'kind', 'metadata', 'spec', 'status'])
  const meta = obj(o.metadata ?? {}, `${at}.metadata`)
  checkKeys(meta, `${at}.metadata`, ['name', 'labels', 'annotations', 'namespace', 'creationTimestamp'])
  if (meta.name === undefined || meta.name === '') throw new InvalidArgumentError(`${at}.metadata.name`, 'required')
  const name = dnsLabel(meta.name, `${at}.metadata.name`)
  const metadata: PersistentVolumeClaimTemplate['metadata'] = { name }
  if (meta.labels !== undefined) metadata.labels = parseLabels(meta.labels, `${at}.metadata.labels`)
  if (meta.annotations !== undefined) {
    metadata.annotations = {}
    for (const [k, x] of Object.entries(obj(meta.annotations, `${at}.metadata.annotations`))) metadata.annotations[k] = str(x, `${at}.metadata.annotations[${k}]`)
  }
  if (o.spec === undefined) throw new InvalidArgumentError(`${at}.spec`, 'required')
  const s = obj(o.spec, `${at}.spec`)
  checkKeys(s, `${at}.spec`, ['accessModes', 'resources', 'storageClassName', 'volumeMode'], {
    selector: 'claims are directories made for them, not bound to volumes', volumeName: '', dataSource: 'a claim starts empty', dataSourceRef: 'a claim starts empty', volumeAttributesClassName: '',
  })
  if (!Array.isArray(s.accessModes) || s.accessModes.length === 0) throw new InvalidArgumentError(`${at}.spec.accessModes`, 'at least 1 access mode is required')
  const accessModes = s.accessModes.map((m, i) => oneOf(m, `${at}.spec.accessModes[${i}]`, ACCESS_MODES))
  if (s.resources === undefined) throw new InvalidArgumentError(`${at}.spec.resources[storage]`, 'required')
  const res = obj(s.resources, `${at}.spec.resources`)
  checkKeys(res, `${at}.spec.resources`, ['requests'], { limits: 'a claim is a directory: its size is not enforced' })
  const req = obj(res.requests ?? {}, `${at}.spec.resources.requests`)
  checkKeys(req, `${at}.spec.resources.requests`, ['storage'])
  if (req.storage === undefined) throw new InvalidArgumentError(`${at}.spec.resources[storage]`, 'required')
  const storage = typeof req.storage === 'number' ? String(req.storage) : str(req.storage, `${at}.spec.resources.requests.storage`)
  if (parseQuantity(storage, `${at}.spec.resources.requests.storage`) <= 0) throw new InvalidArgumentError(`${at}.spec.resources.requests.storage`, `must be greater than zero, got ${JSON.stringify(storage)}`)
  const volumeMode = s.volumeMode === undefined ? 'Filesystem' : oneOf(s.volumeMode, `${at}.spec.volumeMode`, ['Filesystem', 'Block'] as const)
  if (volumeMode === 'Block') throw new InvalidArgumentError(`${at}.spec.volumeMode`, 'not supported by podnet ("Block": a claim is a directory)')
  const spec: PersistentVolumeClaimTemplate['spec'] = { accessModes, resources: { requests: { storage } }, volumeMode }
  if (s.storageClassName !== undefined && s.storageClassName !== null) {
    spec.storageClassName = str(s.storageClassName, `${at}.spec.storageClassName`)
    if (spec.storageClassName !== '') warnings.push(`${at}.spec.storageClassName: recorded, not used: every podnet claim is a directory in the state dir`)
  }
  return { metadata, spec }
}

export function statefulSetSpec(s: Obj, name: string, baseDir: string, check: (sel: LabelSelector, labels: Record<string, string> | undefined) => void): { spec: StatefulSetSpec; warnings: string[] } {
  if (name.length > STS_NAME_MAX) throw new InvalidArgumentError('metadata.name', `must be no more than ${STS_NAME_MAX} characters (its pods' controller-revision-hash label, NAME-<hash>, is at most 63)`)
  checkKeys(s, 'spec', [
    'replicas', 'selector', 'template', 'serviceName', 'podManagementPolicy', 'updateStrategy', 'volumeClaimTemplates',
    'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit',
  ], { ordinals: 'pods are numbered from 0' })
  const warnings: string[] = []
  const replicas = s.replicas === undefined ? 1 : int(s.replicas, 'spec.replicas')
  const minReadySeconds = s.minReadySeconds === undefined ? 0 : int(s.minReadySeconds, 'spec.minReadySeconds')
  const revisionHistoryLimit = s.revisionHistoryLimit === undefined ? 10 : int(s.revisionHistoryLimit, 'spec.revisionHistoryLimit')
  const serviceName = s.serviceName === undefined || s.serviceName === null || s.serviceName === '' ? undefined : dnsLabel(s.serviceName, 'spec.serviceName')
  const podManagementPolicy = s.podManagementPolicy === undefined ? 'OrderedReady' : oneOf(s.podManagementPolicy, 'spec.podManagementPolicy', ['OrderedReady', 'Parallel'] as const)

  let updateStrategy: StatefulSetSpec['updateStrategy'] = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }
  if (s.updateStrategy !== undefined) {
    const st = obj(s.updateStrategy, 'spec.updateStrategy')
    checkKeys(st, 'spec.updateStrategy', ['type', 'rollingUpdate'])
    const type = st.type === undefined ? 'RollingUpdate' : oneOf(st.type, 'spec.updateStrategy.type', ['RollingUpdate', 'OnDelete'] as const)
    if (type === 'OnDelete') {
      if (st.rollingUpdate !== undefined) throw new InvalidArgumentError('spec.updateStrategy.rollingUpdate', "only allowed for updateStrategy 'RollingUpdate'")
      updateStrategy = { type }
    } else {
      const ru = obj(st.rollingUpdate ?? {}, 'spec.updateStrategy.rollingUpdate')
      checkKeys(ru, 'spec.updateStrategy.rollingUpdate', ['partition'], { maxUnavailable: 'an alpha feature of Kubernetes: one pod is updated at a time' })
      updateStrategy = { type, rollingUpdate: { partition: ru.partition === undefined ? 0 : int(ru.partition, 'spec.updateStrategy.rollingUpdate.partition') } }
    }
  }

  let persistentVolumeClaimRetentionPolicy: StatefulSetSpec['persistentVolumeClaimRetentionPolicy'] = { whenDeleted: 'Retain', whenScaled: 'Retain' }
  if (s.persistentVolumeClaimRetentionPolicy !== undefined) {
    const at = 'spec.persistentVolumeClaimRetentionPolicy'
    const p = obj(s.persistentVolumeClaimRetentionPolicy, at)
    checkKeys(p, at, ['whenDeleted', 'whenScaled'])
    persistentVolumeClaimRetentionPolicy = {
      whenDeleted: p.whenDeleted === undefined ? 'Retain' : oneOf(p.whenDeleted, `${at}.whenDeleted`, ['Retain', 'Delete'] as const),
      whenScaled: p.whenScaled === undefined ? 'Retain' : oneOf(p.whenScaled, `${at}.whenScaled`, ['Retain', 'Delete'] as const),
    }
  }

  let volumeClaimTemplates: PersistentVolumeClaimTemplate[] = []
  if (s.volumeClaimTemplates !== undefined && s.volumeClaimTemplates !== null) {
    if (!Array.isArray(s.volumeClaimTemplates)) throw new InvalidArgumentError('spec.volumeClaimTemplates', 'must be a list')
    volumeClaimTemplates = s.volumeClaimTemplates.map((v, i) => claimTemplate(v, `spec.volumeClaimTemplates[${i}]`, warnings))
    const seen = new Set<string>()
    volumeClaimTemplates.forEach((c, i) => {
      if (seen.has(c.metadata.name)) throw new InvalidArgumentError(`spec.volumeClaimTemplates[${i}].metadata.name`, `duplicate ${JSON.stringify(c.metadata.name)}`)
      seen.add(c.metadata.name)
    })
  }

  if (s.selector === undefined) throw new InvalidArgumentError('spec.selector', 'required')
  const selector = parseSelector(s.selector, 'spec.selector')
  if (s.template === undefined) throw new InvalidArgumentError('spec.template', 'required')
  // the template as the last pod will be made: its identity and its claims
  const sample = `${name}-${Math.max(0, replicas - 1)}`
  const tin = obj(s.template, 'spec.template')
  const tspecIn = tin.spec === undefined ? undefined : obj(tin.spec, 'spec.template.spec')
  let checked: Obj | undefined
  const claimDirs: Record<string, string> = {}
  if (tspecIn) {
    for (const f of ['hostname', 'subdomain'] as const) {
      if (tspecIn[f] !== undefined && tspecIn[f] !== '') warnings.push(`spec.template.spec.${f}: replaced by each pod's ${f === 'hostname' ? 'name (NAME-i)' : 'spec.serviceName'}, as Kubernetes does`)
    }
    const claims = volumeClaimTemplates.map((c) => ({ name: c.metadata.name, persistentVolumeClaim: { claimName: `${c.metadata.name}-${sample}` } }))
    for (const c of claims) claimDirs[c.persistentVolumeClaim.claimName] = `/nonexistent/${c.persistentVolumeClaim.claimName}`
    const own = Array.isArray(tspecIn.volumes) ? (tspecIn.volumes as unknown[]).filter((v) => !claims.some((c) => c.name === (v as { name?: unknown } | null)?.name)) : tspecIn.volumes
    checked = { ...tspecIn, hostname: sample, ...(claims.length && { volumes: [...((own as unknown[] | undefined) ?? []), ...claims] }) }
    if (serviceName !== undefined) checked.subdomain = serviceName
    else delete checked.subdomain
  }
  const parsed = parseTemplate(checked ? { ...tin, spec: checked } : tin, {
    at: 'spec.template', samplePodName: sample, baseDir, restartPolicies: ['Always'], defaultRestartPolicy: 'Always', claimDirs,
  })
  // stored as written (the identity and the claims are each pod's), with the defaults filled in
  const template = { ...parsed.template, spec: { ...tspecIn, restartPolicy: parsed.template.spec.restartPolicy } }
  check(selector, template.metadata.labels)
  const spec: StatefulSetSpec = {
    replicas, selector, template, podManagementPolicy, updateStrategy, volumeClaimTemplates, persistentVolumeClaimRetentionPolicy, minReadySeconds, revisionHistoryLimit,
    ...(serviceName !== undefined && { serviceName }),
  }
  return { spec, warnings: [...warnings, ...parsed.warnings] }
}
