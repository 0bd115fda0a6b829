/**
 * podnet/workloads: Kubernetes' workload resources on one machine (docs/workloads.md): the
 * object store, validation, the controllers (ReplicaSet, Job, Deployment, DaemonSet, StatefulSet) and their manager, which runs
 * inside the pod supervisor. Re-exports only.
 */
export { WorkloadManager, type WorkloadManagerOptions } from './manager.js'
export { canonical } from './fields.js'
export { ANNOTATION_HOST_NETNS, type WorkloadRequest, type WorkloadResponse } from './requests.js'
export { WorkloadStore, EVENTS_KEPT } from './store.js'
export { WORKLOADS_EXTENSION, workloadOptionsFromEnv, workloadsExtension } from './extension.js'
export { validateDocument, SUPPORTED_KINDS, type ValidDocument } from './validate.js'
export { splitDocuments, type ManifestSource, type SourceDocument } from './documents.js'
export { isClaimKind, resolveKind, type ResourceKind } from './kinds.js'
export { matches, parseSelector, selectorString } from './selector.js'
export { JOB_BACKOFF, JOB_INDEX_ANNOTATION, JOB_INDEX_ENV, JOB_INDEX_LABEL, JOB_NAME_LABEL, JOB_UID_LABEL, formatIndexes } from './job.js'
export { deletionOrder, generateName, isActivePod, isPodAvailable, isPodReady } from './pods.js'
export {
  CHANGE_CAUSE_ANNOTATION, HASH_LABEL, REVISION_ANNOTATION, deploymentDone, planDeployment, rsView, sameTemplate, templateHash, withoutHash,
  type DeploymentAction, type DeploymentPlan, type RsView,
} from './deployment.js'
export { REVISION_HASH_LABEL, nodeSelectorMatches, planDaemonSet, type DaemonSetAction, type DsPodView } from './daemonset.js'
export { fenceposts, intOrPercent, scaled } from './validate-apps.js'
export {
  POD_INDEX_LABEL, STS_POD_NAME_LABEL, identityTemplate, nextRevisions, ordinalOf, planStatefulSet, statefulSetDone,
  type StatefulSetAction, type StatefulSetPlan, type StsPodView,
} from './statefulset.js'
export { DaemonSetFiles, recordDaemonSetRevision, type DsState } from './daemonset-state.js'
export { StatefulSetFiles, claimName, type ClaimRecord, type StsRevision, type StsState } from './statefulset-state.js'
export { STS_NAME_MAX } from './validate-sts.js'
export { RESTARTED_AT_ANNOTATION, revisionOf, undoRevisionTemplate, undoTemplate } from './rollout.js'
export { labelNode, parseLabelArgs, readNode, type NodeInfo } from './node.js'
export {
  IMPLEMENTED_KINDS, KINDS, objectRef,
  type Condition, type DaemonSet, type DaemonSetSpec, type DaemonSetStatus, type Deployment, type DeploymentSpec, type DeploymentStatus, type IntOrPercent, type Job, type JobSpec, type JobStatus, type LabelSelector, type LabelSelectorRequirement, type ObjectMeta, type PodTemplateSpec,
  type PersistentVolumeClaimTemplate, type ReplicaSet, type ReplicaSetSpec, type ReplicaSetStatus, type StatefulSet, type StatefulSetSpec, type StatefulSetStatus, type WorkloadEvent, type WorkloadKind, type WorkloadObject,
} from './types.js'
