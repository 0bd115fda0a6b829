/** Bridge networks: create/remove, attach/detach, check, gc. Re-exports only. */
export { NetworkManager } from './network.js'
export type {
  AttachSpec, Attachment, AttachmentAddress, DetachResult, DetachSpec, Drift, GcReport, ManagerOptions, NetnsArg, NetworkConfig,
  NetworkSpec, PodRoute, PortElementRecord, PortMapEntry, PortMapping, Reservation, RuleRecord, SubnetConfig,
} from './types.js'
export { normalizePortMapping, parsePortMapping, validatePortMapping } from './port-mapping.js'
export { hostVethName, defaultBridgeName, bridgeMac, NFT_TABLE, ifbNameForVeth, isIfbName } from './names.js'
export { UndoStack, rollbackErrorsOf } from './undo.js'
export {
  DEFAULT_PRIORITY, MAX_PRIORITY, PRIORITY_LEVELS, addUplink, deleteUplink, formatPriority, parsePriority, readUplinks,
  type PriorityName, type UplinkSpec, type UplinkState,
} from './priority.js'
export { defaultBurstBits, validateBandwidth, validateRateLimit, type BandwidthLimits, type RateLimit } from './bandwidth.js'
export { networkStats, type AttachmentStats, type PortStats, type ShaperStats } from './stats.js'
