/**
 * Deployment and DaemonSet specs (apps/v1): validation with Kubernetes' field paths and
 * messages, defaults as the API server fills them, and IntOrString (2 or "25%") with Kubernetes'
 * rounding. validate.ts dispatches here.
 */
import { InvalidArgumentError } from '../errors.js'
import { bool, checkKeys, int, obj, oneOf, shown, type Obj } from './fields.js'
import { parseSelector } from './selector.js'
import { parseTemplate } from './template.js'
import type { DaemonSetSpec, DeploymentSpec, IntOrPercent, LabelSelector, PodTemplateSpec } from './types.js'

/** An IntOrString: an integer >= 0 or "N%" (Kubernetes: "a valid percent string must be a numeric string followed by an ending '%'"). */
export function intOrPercent(v: unknown, at: string): IntOrPercent {
  if (typeof v === 'number') return int(v, at)
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v)
    if (!m) throw new InvalidArgumentError(at, `must be an integer or percentage (e.g. 5 or "25%"), got ${JSON.stringify(v)}`)
    return `${Number(m[1])}%`
  }
  throw new InvalidArgumentError(at, `must be an integer or percentage (e.g. 5 or "25%"), got ${shown(v)}`)
}

const isZero = (v: IntOrPercent): boolean => (typeof v === 'number' ? v === 0 : v === '0%')
const percentOver100 = (v: IntOrPercent): boolean => typeof v === 'string' && Number(v.slice(0, -1)) > 100

/** Kubernetes' GetScaledValueFromIntOrPercent: a percentage of total, rounded up or down. */
export function scaled(v: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v
  const x = (Number(v.slice(0, -1)) * total) / 100
  return roundUp ? Math.ceil(x) : Math.floor(x)
}

/**
 * A Deployment's maxSurge and maxUnavailable for `replicas` (Kubernetes' ResolveFenceposts):
 * surge rounds up, unavailable down; both 0 makes unavailable 1 (a rollout must be able to move).
 */
export function fenceposts(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent, replicas: number): { surge: number; unavailable: number } {
  const surge = scaled(maxSurge, replicas, true)
  let unavailable = scaled(maxUnavailable, replicas, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable: Math.min(unavailable, replicas) }
}

function rollingParams(o: Obj, at: string, defaults: { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent }): { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent } {
  checkKeys(o, at, ['maxSurge', 'maxUnavailable'])
  const maxSurge = o.maxSurge === undefined ? defaults.maxSurge : intOrPercent(o.maxSurge, `${at}.maxSurge`)
  const maxUnavailable = o.maxUnavailable === undefined ? defaults.maxUnavailable : intOrPercent(o.maxUnavailable, `${at}.maxUnavailable`)
  if (percentOver100(maxUnavailable)) throw new InvalidArgumentError(`${at}.maxUnavailable`, `must not be greater than 100%, got ${JSON.stringify(maxUnavailable)}`)
  if (isZero(maxSurge) && isZero(maxUnavailable)) throw new InvalidArgumentError(`${at}.maxUnavailable`, 'may not be 0 when `maxSurge` is 0')
  return { maxSurge, maxUnavailable }
}

interface Common { selector: LabelSelector; template: PodTemplateSpec; warnings: string[] }

function selectorAndTemplate(s: Obj, samplePodName: string, baseDir: string, check: (sel: LabelSelector, labels: Record<string, string> | undefined) => void, withNodeSelector: boolean): Common {
  if (s.selector === undefined) throw new InvalidArgumentError('spec.selector', 'required')
  const selector = parseSelector(s.selector, 'spec.selector')
  if (s.template === undefined) throw new InvalidArgumentError('spec.template', 'required')
  // a DaemonSet's nodeSelector is the controller's (this node's labels): the pod parser does not see it
  let nodeSelector: Record<string, string> | undefined
  let tin = s.template
  const tspec = (tin as { spec?: unknown } | null)?.spec
  if (withNodeSelector && tspec && typeof tspec === 'object' && !Array.isArray(tspec)) {
    const { nodeSelector: ns, affinity, ...rest } = tspec as Obj
    if (affinity !== undefined) throw new InvalidArgumentError('spec.template.spec.affinity', 'not supported by podnet (one node: use nodeSelector)')
    if (ns !== undefined) {
      nodeSelector = {}
      for (const [k, v] of Object.entries(obj(ns, 'spec.template.spec.nodeSelector'))) {
        if (typeof v !== 'string') throw new InvalidArgumentError(`spec.template.spec.nodeSelector[${k}]`, `must be a string, got ${shown(v)}`)
        nodeSelector[k] = v
      }
    }
    tin = { ...(tin as Obj), spec: rest }
  }
  const { template, warnings } = parseTemplate(tin, { at: 'spec.template', samplePodName, baseDir, restartPolicies: ['Always'], defaultRestartPolicy: 'Always' })
  if (nodeSelector) template.spec = { ...template.spec, nodeSelector }
  check(selector, template.metadata.labels)
  return { selector, template, warnings }
}

/** The longest pod-template-hash (a uint32 in decimal, one character a digit). */
export const HASH_LEN = 10

export function deploymentSpec(s: Obj, name: string, baseDir: string, check: (sel: LabelSelector, labels: Record<string, string> | undefined) => void): { spec: DeploymentSpec; warnings: string[] } {
  checkKeys(s, 'spec', ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'paused'])
  if (s.paused !== undefined && bool(s.paused, 'spec.paused')) throw new InvalidArgumentError('spec.paused', 'not supported by podnet (a Deployment rolls out every change)')
  const replicas = s.replicas === undefined ? 1 : int(s.replicas, 'spec.replicas')
  const minReadySeconds = s.minReadySeconds === undefined ? 0 : int(s.minReadySeconds, 'spec.minReadySeconds')
  const revisionHistoryLimit = s.revisionHistoryLimit === undefined ? 10 : int(s.revisionHistoryLimit, 'spec.revisionHistoryLimit')
  const progressDeadlineSeconds = s.progressDeadlineSeconds === undefined ? 600 : int(s.progressDeadlineSeconds, 'spec.progressDeadlineSeconds')
  if (progressDeadlineSeconds <= minReadySeconds) {
    throw new InvalidArgumentError('spec.progressDeadlineSeconds', `must be greater than minReadySeconds (${minReadySeconds}), got ${progressDeadlineSeconds}`)
  }
  let strategy: DeploymentSpec['strategy'] = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }
  if (s.strategy !== undefined) {
    const st = obj(s.strategy, 'spec.strategy')
    checkKeys(st, 'spec.strategy', ['type', 'rollingUpdate'])
    const type = st.type === undefined ? 'RollingUpdate' : oneOf(st.type, 'spec.strategy.type', ['RollingUpdate', 'Recreate'] as const)
    if (type === 'Recreate') {
      if (st.rollingUpdate !== undefined) throw new InvalidArgumentError('spec.strategy.rollingUpdate', 'may not be specified when strategy `type` is \'Recreate\'')
      strategy = { type }
    } else {
      strategy = { type, rollingUpdate: rollingParams(obj(st.rollingUpdate ?? {}, 'spec.strategy.rollingUpdate'), 'spec.strategy.rollingUpdate', { maxSurge: '25%', maxUnavailable: '25%' }) }
    }
  }
  const c = selectorAndTemplate(s, `${name}-${'x'.repeat(HASH_LEN)}-xxxxx`, baseDir, check, false)
  return { spec: { replicas, selector: c.selector, template: c.template, strategy, minReadySeconds, revisionHistoryLimit, progressDeadlineSeconds }, warnings: c.warnings }
}

export function daemonSetSpec(s: Obj, name: string, baseDir: string, check: (sel: LabelSelector, labels: Record<string, string> | undefined) => void): { spec: DaemonSetSpec; warnings: string[] } {
  checkKeys(s, 'spec', ['selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'])
  const minReadySeconds = s.minReadySeconds === undefined ? 0 : int(s.minReadySeconds, 'spec.minReadySeconds')
  const revisionHistoryLimit = s.revisionHistoryLimit === undefined ? 10 : int(s.revisionHistoryLimit, 'spec.revisionHistoryLimit')
  let updateStrategy: DaemonSetSpec['updateStrategy'] = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
  if (s.updateStrategy !== undefined) {
    const st = obj(s.updateStrategy, 'spec.updateStrategy')
    checkKeys(st, 'spec.updateStrategy', ['type', 'rollingUpdate'])
    const type = st.type === undefined ? 'RollingUpdate' : oneOf(st.type, 'spec.updateStrategy.type', ['RollingUpdate', 'OnDelete'] as const)
    if (type === 'OnDelete') {
      if (st.rollingUpdate !== undefined) throw new InvalidArgumentError('spec.updateStrategy.rollingUpdate', 'may not be specified when strategy `type` is \'OnDelete\'')
      updateStrategy = { type }
    } else {
      const ru = rollingParams(obj(st.rollingUpdate ?? {}, 'spec.updateStrategy.rollingUpdate'), 'spec.updateStrategy.rollingUpdate', { maxUnavailable: 1, maxSurge: 0 })
      if (percentOver100(ru.maxSurge)) throw new InvalidArgumentError('spec.updateStrategy.rollingUpdate.maxSurge', `must not be greater than 100%, got ${JSON.stringify(ru.maxSurge)}`)
      updateStrategy = { type, rollingUpdate: ru }
    }
  }
  const c = selectorAndTemplate(s, `${name}-xxxxx`, baseDir, check, true)
  return { spec: { selector: c.selector, template: c.template, updateStrategy, minReadySeconds, revisionHistoryLimit }, warnings: c.warnings }
}
