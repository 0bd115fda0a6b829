/** podnet/testing: throwaway namespaces, sandboxes, topologies, probes and oracles for networked tests (mocha first). Re-exports only. */
export { assertSandboxed, inPrivateNetns } from './guard.js'
export { bridgeJson, ip, ipJson, ipLink, nftApply, nftRuleset } from './oracle.js'
export { createTempNetns, useTempNetns, type TempNetns } from './temp-netns.js'
export { runInSandbox, sandboxArgv, spawnInSandbox } from './sandbox.js'
export { UPSTREAM, createTopology, type Topology } from './topology.js'
export { probe, serve, stopServers, unreachable, type InNetns } from './probe.js'
export { EtcdMember, startEtcdCluster, type EtcdMemberSpec } from './etcd.js'
export { CLUSTER_NET, createCluster, useCluster, type Cluster, type ClusterNode, type ClusterOptions, type ClusterPod } from './cluster.js'
