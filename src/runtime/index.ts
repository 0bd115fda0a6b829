/**
 * podnet/runtime: pods. A runtime author embeds PodRuntime (run, stop, remove, adopt, gc of pods
 * with their sandboxes) and plugs its own networking through PodNetwork (default: podnet's bridge
 * networks); a CLI-like client talks to a supervisor process. Re-exports only.
 */
export { PodRuntime, HALT_STAGES, type GcReport, type HaltStage, type RunOptions, type RuntimeOptions, type StopOptions } from './pod-runtime.js'
export { BridgePodNetwork, type PodAttachRequest, type PodDetachRequest, type PodNetwork } from './network.js'
export {
  ANNOTATION_NETWORK, ANNOTATION_ROOTFS, ANNOTATION_SHARE_UTS, RESTART_POLICIES, validateManifest, validatePodName,
  type ContainerPort, type ContainerSpec, type EnvVar, type ParsedManifest, type ParseOptions, type PodSpec, type RestartPolicy,
} from './manifest.js'
export { parseManifest } from './manifest-yaml.js'
export { controllerOf, parseLabels, parseOwnerReferences, validateLabelKey, validateLabelValue, type OwnerReference } from './labels.js'
export {
  isActive, podExitStatus,
  type ContainerState, type ContainerStatus, type PodPhase, type PodRecord, type RunningState, type SandboxRecord,
  type TerminatedState, type WaitingState,
} from './types.js'
export { PodStore } from './state-store.js'
export { KUBERNETES_BACKOFF, type BackoffOptions } from './restart-policy.js'
export { namespaceTable, type NsMember, type NsRow, type NsSharing } from './ns-table.js'
export type { ProcessRef } from './proc.js'
export type { NamespacePins } from './namespaces.js'
export { detectCgroupLayout, type CgroupLayout } from './cgroups/index.js'
export {
  Supervisor, ensureSupervisor, pingSupervisor, request, runtimeOptionsFromEnv, send, stopSupervisor,
  type PingResult, type RunManifestResult, type SupervisorExtension, type SupervisorOptions, type SupervisorRequest,
} from './supervisor.js'
export {
  DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, SAFE_SYSCTLS, checkPodSecurity, compileSeccomp, parseSeccompProfile, privilegedCondition,
  resolveSecurity, runSeccomp, runtimeDefaultProfile, sockFilterBytes, type SeccompArch,
  type ContainerSecurity, type PodSecurityContext, type SecurityContext, type SeccompProfile, type SeccompProfileSpec,
} from './security/index.js'
export { PodStatsReader, type ContainerStats, type InterfaceStats, type NetCounters, type PodStats, type StatsReaderOptions, type UsageStats } from './stats.js'
export {
  ANNOTATION_EGRESS_BANDWIDTH, ANNOTATION_EGRESS_BURST, ANNOTATION_INGRESS_BANDWIDTH, ANNOTATION_INGRESS_BURST, ANNOTATION_NETWORK_PRIORITY,
  type PodNetworkLimits,
} from './pod-network-limits.js'
