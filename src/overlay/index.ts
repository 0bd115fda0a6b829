/** Overlay networks across machines (docs/overlay.md). Re-exports only. */
export { OverlayAgent, type AgentOptions, type AgentEvents, type AgentStatus, type NetworkStatus, type PeerStatus } from './agent.js'
export { createOverlayNetwork, getOverlayNetwork, listNodes, listOverlayNetworks, listSubnets, removeOverlayNetwork, type CreateResult, type NodeInfo } from './admin.js'
export { overlayLocal, nodeAgentHint, type OverlayLocal } from './local.js'
export { VxlanDataPlane, resolveUnderlay, vxlanDeviceName, vtepMac, natTableName, type Underlay, type PeerMode } from './dataplane.js'
export {
  KEY_PREFIX, VXLAN_OVERHEAD, networkConfigKey, nodeKey, subnetKey, subnetsPrefix, overlayConfigFromSpec,
  type NodeRecord, type OverlayConfig, type OverlaySpec, type SubnetRecord,
} from './model.js'
export { CompactedError, type Compare, type KeyValue, type Lease, type RangeResult, type Store, type TxnOp, type TxnResult, type WatchEvent, type WatchHandle, type WatchListener } from './store/store.js'
export { EtcdStore, parseEtcdUrl, type EtcdStoreOptions } from './store/etcd.js'
export { MemoryStore } from './store/memory.js'
