/** Resource names as kubectl takes them: kinds, plurals and short names, case-insensitive. */
import { InvalidArgumentError } from '../errors.js'
import { KINDS, type WorkloadKind } from './types.js'

export type ResourceKind = WorkloadKind | 'Pod'

const NAMES: Record<string, ResourceKind> = { pod: 'Pod', pods: 'Pod', po: 'Pod' }
for (const [k, v] of Object.entries(KINDS) as Array<[WorkloadKind, (typeof KINDS)[WorkloadKind]]>) {
  NAMES[k.toLowerCase()] = k
  NAMES[v.plural] = k
  for (const s of v.short) NAMES[s] = k
  NAMES[`${v.plural}.${v.group}`] = k
  NAMES[`${k.toLowerCase()}.${v.group}`] = k
}

/** The kind a resource name means (deploy, deployments, Deployment, rs, po...). */
export function resolveKind(word: string, field = 'KIND'): ResourceKind {
  const k = NAMES[word.toLowerCase()]
  if (!k) throw new InvalidArgumentError(field, `the server doesn't have a resource type ${JSON.stringify(word)} (podnet knows: pods, ${Object.values(KINDS).map((x) => x.plural).join(', ')})`)
  return k
}

/** kubectl's words for PersistentVolumeClaims (podnet's claims are a StatefulSet's: get and delete take them). */
export const isClaimKind = (word: string): boolean => ['pvc', 'pvcs', 'persistentvolumeclaim', 'persistentvolumeclaims'].includes(word.toLowerCase())
