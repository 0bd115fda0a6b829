/** Label selectors (Kubernetes' LabelSelector): validation and matching. */
import { InvalidArgumentError } from '../errors.js'
import { parseLabels, validateLabelKey, validateLabelValue } from '../runtime/labels.js'
import { checkKeys, obj, oneOf, str } from './fields.js'
import type { LabelSelector, LabelSelectorRequirement } from './types.js'

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const

/** A validated selector; `required`: an empty one is refused (apps/v1 needs one that selects something). */
export function parseSelector(v: unknown, at: string): LabelSelector {
  const o = obj(v, at)
  checkKeys(o, at, ['matchLabels', 'matchExpressions'])
  const out: LabelSelector = {}
  if (o.matchLabels !== undefined) out.matchLabels = parseLabels(o.matchLabels, `${at}.matchLabels`)
  if (o.matchExpressions !== undefined) {
    if (!Array.isArray(o.matchExpressions)) throw new InvalidArgumentError(`${at}.matchExpressions`, 'must be a list')
    out.matchExpressions = o.matchExpressions.map((e, i) => {
      const f = `${at}.matchExpressions[${i}]`
      const eo = obj(e, f)
      checkKeys(eo, f, ['key', 'operator', 'values'])
      const key = str(eo.key, `${f}.key`)
      validateLabelKey(key, `${f}.key`)
      const operator = oneOf(eo.operator, `${f}.operator`, OPERATORS)
      const r: LabelSelectorRequirement = { key, operator }
      if (operator === 'In' || operator === 'NotIn') {
        if (!Array.isArray(eo.values) || eo.values.length === 0) throw new InvalidArgumentError(`${f}.values`, `must be specified when operator is "${operator}"`)
        r.values = eo.values.map((x, j) => {
          const s = str(x, `${f}.values[${j}]`)
          validateLabelValue(s, `${f}.values[${j}]`)
          return s
        })
      } else if (eo.values !== undefined && (!Array.isArray(eo.values) || eo.values.length > 0)) {
        throw new InvalidArgumentError(`${f}.values`, `may not be specified when operator is "${operator}"`)
      }
      return r
    })
  }
  if (!out.matchLabels && !out.matchExpressions) throw new InvalidArgumentError(at, 'empty selector is invalid for deployment, replicaset, statefulset and daemonset')
  if (Object.keys(out.matchLabels ?? {}).length === 0 && (out.matchExpressions ?? []).length === 0) {
    throw new InvalidArgumentError(at, 'empty selector is invalid for deployment, replicaset, statefulset and daemonset')
  }
  return out
}

/** Whether labels satisfy the selector (every matchLabels pair and every expression). */
export function matches(sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {}
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key)
    switch (e.operator) {
      case 'In': if (!has || !e.values!.includes(l[e.key]!)) return false; break
      case 'NotIn': if (has && e.values!.includes(l[e.key]!)) return false; break
      case 'Exists': if (!has) return false; break
      case 'DoesNotExist': if (has) return false; break
    }
  }
  return true
}

/** kubectl's selector text: app=web,tier in (a,b). */
export function selectorString(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`)
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key)
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`)
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${e.values!.join(',')})`)
  }
  return parts.join(',')
}
