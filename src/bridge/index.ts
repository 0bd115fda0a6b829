/** Bridge networks: create/remove, attach/detach, check, gc. Re-exports only. */
export * from './network.js'
export { hostVethName, defaultBridgeName, bridgeMac, NFT_TABLE, ifbNameForVeth, isIfbName } from './names.js'
export * from './bandwidth.js'
export { StateDir, defaultStateDir } from './state.js'
export { UndoStack } from './undo.js'
export { writeSysctlSync, readSysctlSync } from './sysctl.js'
export * from './priority.js'
export * from './stats.js'
