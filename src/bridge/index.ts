/** Bridge networks: create/remove, attach/detach, check, gc. Re-exports only. */
export { NetworkManager } from './network.js'
export type {
  AttachSpec, Attachment, AttachmentAddress, DetachResult, DetachSpec, Drift, GcReport, ManagerOptions, NetnsArg, NetworkConfig,
  NetworkSpec, PodRoute, PortElementRecord, PortMapEntry, PortMapping, RuleRecord, SubnetConfig,
} from './types.js'
export { parsePortMapping, validatePortMapping } from './port-mapping.js'
export { hostVethName, defaultBridgeName, bridgeMac, NFT_TABLE } from './names.js'
export { UndoStack, rollbackErrorsOf } from './undo.js'
