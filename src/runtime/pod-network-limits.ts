/**
 * A pod's network limits, from its annotations (validated with the field path, as the rest of
 * the manifest):
 *
 *   kubernetes.io/ingress-bandwidth   traffic into the pod, a quantity of bit/s ("10M", "1G"),
 *   kubernetes.io/egress-bandwidth    traffic out of it; both as Kubernetes takes them (1k..1P)
 *   podnet.io/ingress-burst           the token buckets, a quantity of bits ("2M"); default:
 *   podnet.io/egress-burst            10 ms at the rate, at least 64 KiB (src/bridge/bandwidth.ts)
 *   podnet.io/network-priority        high | normal | low | 0-7 (src/bridge/priority.ts)
 *
 * All of them need the pod to be on a network (podnet.io/network). They are the annotations a
 * running pod may change (`podnet pod update`): changedLimits() tells a manifest that changes
 * only these from one that changes anything else.
 */
import { InvalidArgumentError } from '../errors.js'
import { validateRateLimit, type BandwidthLimits } from '../bridge/bandwidth.js'
import { parsePriority } from '../bridge/priority-levels.js'
import { parseBitRate, parseBits } from './quantity.js'

export const ANNOTATION_INGRESS_BANDWIDTH = 'kubernetes.io/ingress-bandwidth'
export const ANNOTATION_EGRESS_BANDWIDTH = 'kubernetes.io/egress-bandwidth'
export const ANNOTATION_INGRESS_BURST = 'podnet.io/ingress-burst'
export const ANNOTATION_EGRESS_BURST = 'podnet.io/egress-burst'
export const ANNOTATION_NETWORK_PRIORITY = 'podnet.io/network-priority'

/** The annotations `pod update` may change on a running pod. */
export const UPDATABLE_ANNOTATIONS: readonly string[] = [
  ANNOTATION_INGRESS_BANDWIDTH, ANNOTATION_EGRESS_BANDWIDTH, ANNOTATION_INGRESS_BURST, ANNOTATION_EGRESS_BURST, ANNOTATION_NETWORK_PRIORITY,
]

export interface PodNetworkLimits {
  bandwidth?: BandwidthLimits
  /** 0-7; absent: normal. */
  priority?: number
}

const at = (k: string): string => `metadata.annotations[${k}]`

/** The limits the annotations ask for; InvalidArgumentError naming the annotation when one is bad. */
export function parseNetworkLimits(annotations: Readonly<Record<string, string>>, network: string | undefined): PodNetworkLimits {
  const out: PodNetworkLimits = {}
  const bw: BandwidthLimits = {}
  const dirs = [
    ['ingress', ANNOTATION_INGRESS_BANDWIDTH, ANNOTATION_INGRESS_BURST],
    ['egress', ANNOTATION_EGRESS_BANDWIDTH, ANNOTATION_EGRESS_BURST],
  ] as const
  for (const [dir, rateKey, burstKey] of dirs) {
    const rate = annotations[rateKey]
    const burst = annotations[burstKey]
    if (rate === undefined) {
      if (burst !== undefined) throw new InvalidArgumentError(at(burstKey), `needs ${rateKey}`)
      continue
    }
    const limit = { rateBitsPerSec: parseBitRate(rate, at(rateKey)), ...(burst !== undefined && { burstBits: parseBits(burst, at(burstKey)) }) }
    validateRateLimit(limit, at(rateKey), 65535, at(burstKey)) // the pod's MTU is the network's: checked again at attach
    bw[dir] = limit
  }
  if (bw.ingress || bw.egress) out.bandwidth = bw
  const prio = annotations[ANNOTATION_NETWORK_PRIORITY]
  if (prio !== undefined) {
    const level = parsePriority(prio.trim(), at(ANNOTATION_NETWORK_PRIORITY))
    out.priority = level
  }
  if ((out.bandwidth || out.priority !== undefined) && network === undefined) {
    const k = UPDATABLE_ANNOTATIONS.find((x) => annotations[x] !== undefined)!
    throw new InvalidArgumentError(at(k), 'needs the pod on a network (podnet.io/network): a pod without one has only loopback')
  }
  return out
}

/**
 * The annotation changes from `current` to `next` when nothing else differs; throws
 * InvalidArgumentError naming the first other difference (those need a new pod).
 */
export function changedLimits(current: { annotations: Record<string, string> } & Record<string, unknown>, next: { annotations: Record<string, string> } & Record<string, unknown>): Record<string, string | null> {
  const strip = (s: Record<string, unknown>): unknown => {
    const { annotations, bandwidth: _b, networkPriority: _p, ...rest } = s as Record<string, unknown> & { annotations: Record<string, string> }
    // annotations first: fields derived from one (shareUts, network) then report the annotation
    return { annotations: Object.fromEntries(Object.entries(annotations).filter(([k]) => !UPDATABLE_ANNOTATIONS.includes(k)).sort()), ...rest }
  }
  const a = strip(current)
  const b = strip(next)
  const diff = firstDifference(a, b, '')
  if (diff !== undefined) throw new InvalidArgumentError(manifestPath(diff), 'differs from the running pod: only the network limit annotations can change in place (pod rm, then pod run)')
  const changes: Record<string, string | null> = {}
  for (const k of UPDATABLE_ANNOTATIONS) {
    const was = current.annotations[k]
    const now = next.annotations[k]
    if (was !== now) changes[k] = now ?? null
  }
  return changes
}

/** A PodSpec path as the manifest spells it: name -> metadata.name, containers[0].argv -> spec.containers[0].argv. */
const manifestPath = (p: string): string => (p === '' ? 'manifest' : p.startsWith('metadata.') ? p : p === 'name' ? 'metadata.name' : `spec.${p}`)

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (a === b) return undefined
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const k of keys) {
    const p = Array.isArray(a) ? `${path}[${k}]` : path ? (path === 'annotations' ? `metadata.annotations[${k}]` : `${path}.${k}`) : k
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p)
    if (d !== undefined) return d
  }
  return undefined
}

/**
 * A pod spec with annotation changes applied (`null` removes one) and its limits re-parsed.
 * Throws InvalidArgumentError for an annotation that cannot change in place, or a bad value.
 */
export function applyLimitChanges<S extends { annotations: Record<string, string>; network?: string; bandwidth?: BandwidthLimits; networkPriority?: number }>(
  spec: S, changes: Readonly<Record<string, string | null>>,
): S {
  const annotations = { ...spec.annotations }
  for (const [k, v] of Object.entries(changes)) {
    if (!UPDATABLE_ANNOTATIONS.includes(k)) throw new InvalidArgumentError(at(k), `cannot change on a running pod (these can: ${UPDATABLE_ANNOTATIONS.join(', ')})`)
    if (v === null) delete annotations[k]
    else if (typeof v !== 'string') throw new InvalidArgumentError(at(k), `must be a string, got ${JSON.stringify(v)}`)
    else annotations[k] = v
  }
  const limits = parseNetworkLimits(annotations, spec.network)
  const { bandwidth: _b, networkPriority: _p, ...rest } = spec
  const next = { ...rest, annotations } as S
  if (limits.bandwidth) next.bandwidth = limits.bandwidth
  if (limits.priority !== undefined) next.networkPriority = limits.priority
  return next
}
