/**
 * Workload objects as podnet stores them: Kubernetes' shapes and field names (apps/v1 and
 * batch/v1), with the defaults filled in at apply, as the API server does. Only the fields podnet
 * implements exist here; validate.ts refuses the others with their path.
 */
import type { OwnerReference } from '../runtime/labels.js'

export type WorkloadKind = 'ReplicaSet' | 'Job' | 'Deployment' | 'StatefulSet' | 'DaemonSet'

export interface ObjectMeta {
  name: string
  namespace: 'default'
  uid: string
  /** Bumped on every change of spec (status changes do not count), as Kubernetes does. */
  generation: number
  creationTimestamp: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
  /** Set when a delete was asked for; the object goes once its dependents have gone. */
  deletionTimestamp?: string
  /** The pods' grace period for this delete (`delete --grace-period`), when not their own. */
  deletionGracePeriodSeconds?: number
  /** podnet: what a delete keeps: 'Orphan' keeps the dependents (kubectl --cascade=orphan). */
  deletionPropagation?: 'Background' | 'Orphan'
}

export interface LabelSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
  values?: string[]
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: LabelSelectorRequirement[]
}

/** spec.template: metadata and a Pod spec as written (validated by the runtime's manifest parser). */
export interface PodTemplateSpec {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }
  spec: Record<string, unknown>
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastTransitionTime: string
  lastUpdateTime?: string
  lastProbeTime?: string
}

export interface ReplicaSetSpec {
  replicas: number
  minReadySeconds: number
  selector: LabelSelector
  template: PodTemplateSpec
}

export interface ReplicaSetStatus {
  replicas: number
  fullyLabeledReplicas: number
  readyReplicas: number
  availableReplicas: number
  observedGeneration: number
  conditions?: Condition[]
}

export interface JobSpec {
  /** Absent: any one success completes the Job (a work queue), as Kubernetes. */
  completions?: number
  parallelism: number
  backoffLimit: number
  activeDeadlineSeconds?: number
  ttlSecondsAfterFinished?: number
  completionMode: 'NonIndexed' | 'Indexed'
  suspend: boolean
  selector: LabelSelector
  template: PodTemplateSpec
}

export interface JobStatus {
  active: number
  ready: number
  succeeded: number
  failed: number
  startTime?: string
  completionTime?: string
  /** Indexed: the indexes that succeeded, as "1,3-5". */
  completedIndexes?: string
  conditions?: Condition[]
}

/** Kubernetes' IntOrString: a count (2) or a percentage of the replicas ("25%"). */
export type IntOrPercent = number | string

export interface DeploymentSpec {
  replicas: number
  selector: LabelSelector
  template: PodTemplateSpec
  strategy: { type: 'RollingUpdate'; rollingUpdate: { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent } } | { type: 'Recreate' }
  minReadySeconds: number
  revisionHistoryLimit: number
  progressDeadlineSeconds: number
}

export interface DeploymentStatus {
  observedGeneration: number
  replicas: number
  updatedReplicas: number
  readyReplicas: number
  availableReplicas: number
  unavailableReplicas: number
  collisionCount?: number
  conditions?: Condition[]
}

export interface DaemonSetSpec {
  selector: LabelSelector
  template: PodTemplateSpec
  updateStrategy: { type: 'RollingUpdate'; rollingUpdate: { maxUnavailable: IntOrPercent; maxSurge: IntOrPercent } } | { type: 'OnDelete' }
  minReadySeconds: number
  revisionHistoryLimit: number
}

export interface DaemonSetStatus {
  observedGeneration: number
  desiredNumberScheduled: number
  currentNumberScheduled: number
  numberMisscheduled: number
  numberReady: number
  updatedNumberScheduled: number
  numberAvailable: number
  numberUnavailable: number
}

/** A StatefulSet's spec.volumeClaimTemplates[i] (a PersistentVolumeClaim's metadata and spec; podnet's claims are directories). */
export interface PersistentVolumeClaimTemplate {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  spec: {
    accessModes: string[]
    /** resources.requests.storage as written ("1Gi"): recorded with the claim, not enforced. */
    resources: { requests: { storage: string } }
    storageClassName?: string
    volumeMode: 'Filesystem'
  }
}

export interface StatefulSetSpec {
  replicas: number
  selector: LabelSelector
  template: PodTemplateSpec
  /** The headless service governing the set: each pod's spec.subdomain (POD.SERVICE in DNS). Optional. */
  serviceName?: string
  podManagementPolicy: 'OrderedReady' | 'Parallel'
  updateStrategy: { type: 'RollingUpdate'; rollingUpdate: { partition: number } } | { type: 'OnDelete' }
  volumeClaimTemplates: PersistentVolumeClaimTemplate[]
  persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain' | 'Delete'; whenScaled: 'Retain' | 'Delete' }
  minReadySeconds: number
  revisionHistoryLimit: number
}

export interface StatefulSetStatus {
  observedGeneration: number
  replicas: number
  readyReplicas: number
  currentReplicas: number
  updatedReplicas: number
  availableReplicas: number
  currentRevision: string
  updateRevision: string
  collisionCount: number
  conditions?: Condition[]
}

export interface WorkloadObject<S = unknown, St = unknown> {
  apiVersion: string
  kind: WorkloadKind
  metadata: ObjectMeta
  spec: S
  status?: St
}

export type ReplicaSet = WorkloadObject<ReplicaSetSpec, ReplicaSetStatus>
export type Job = WorkloadObject<JobSpec, JobStatus>
export type Deployment = WorkloadObject<DeploymentSpec, DeploymentStatus>
export type DaemonSet = WorkloadObject<DaemonSetSpec, DaemonSetStatus>
export type StatefulSet = WorkloadObject<StatefulSetSpec, StatefulSetStatus>

/** An event (Kubernetes' core/v1 Event, aggregated by reason and message as kubectl shows them). */
export interface WorkloadEvent {
  type: 'Normal' | 'Warning'
  reason: string
  message: string
  involvedObject: { kind: string; name: string; uid?: string }
  count: number
  firstTimestamp: string
  lastTimestamp: string
}

/** Each kind: its API group version, plural (file names, `get`), short names. */
export const KINDS: Readonly<Record<WorkloadKind, { apiVersion: string; plural: string; short: string[]; group: string }>> = {
  ReplicaSet: { apiVersion: 'apps/v1', plural: 'replicasets', short: ['rs', 'replicaset'], group: 'apps' },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments', short: ['deploy', 'deployment'], group: 'apps' },
  StatefulSet: { apiVersion: 'apps/v1', plural: 'statefulsets', short: ['sts', 'statefulset'], group: 'apps' },
  DaemonSet: { apiVersion: 'apps/v1', plural: 'daemonsets', short: ['ds', 'daemonset'], group: 'apps' },
  Job: { apiVersion: 'batch/v1', plural: 'jobs', short: ['job'], group: 'batch' },
}

/** The kinds whose controllers podnet runs (the others are refused at apply until they land). */
export const IMPLEMENTED_KINDS: readonly WorkloadKind[] = ['ReplicaSet', 'Job', 'Deployment', 'DaemonSet', 'StatefulSet']

/** kubectl's name for an object: deployment.apps/web, job.batch/pi, pod/x. */
export const objectRef = (kind: string, name: string): string => {
  const k = KINDS[kind as WorkloadKind]
  return k ? `${kind.toLowerCase()}.${k.group}/${name}` : `${kind.toLowerCase()}/${name}`
}
