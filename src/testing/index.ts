/** podnet/testing: sandboxes, throwaway namespaces, topologies, traffic, faults, captures and typed oracles for networked tests (mocha, node:test, jest, vitest). Re-exports only. */
export { NET_NS_INIT_INO, assertSandboxed, inPrivateNetns, sandboxProof, type SandboxProof } from './guard.js'
export { perSuite, perTest, testHooks, trackFixture, type Runner, type SyncClosable, type TestHooks } from './hooks.js'
export { bridgeJson, ip, ipJson, ipLink, ipOracle, nftApply, nftRuleset, tcJson, tcText, type IpOracle } from './oracle.js'
export {
  nftRules,
  type BridgeFdb, type BridgeLink, type BridgeVlanPort, type IpAddr, type IpAddrInfo, type IpLink, type IpLinkCounters, type IpLinkInfo,
  type IpNeigh, type IpRoute, type IpRule, type NftJsonChain, type NftJsonObject, type NftJsonRule, type NftJsonSet, type NftJsonTable,
  type TcClass, type TcFilter, type TcQdisc, type TcQdiscOptions,
} from './oracle-types.js'
export { createTempNetns, openTempNetns, useTempNetns, type TempNetns, type TempNetnsOptions } from './temp-netns.js'
export { runInSandbox, sandboxArgv, sandboxScript, sandboxSupport, spawnInSandbox, type SandboxOptions, type SandboxSupport } from './sandbox.js'
export { createLab, planLab, useLab, type Lab, type LabInterface, type LabLinkSpec, type LabNodeSpec, type LabSpec, type LabSwitchSpec } from './lab.js'
export { computeRoutes, type LabRoute, type RouteGraph } from './lab-routes.js'
export { UPSTREAM, createTopology, fixtureTmpBase, useTopology, type Topology, type UseTopologyOptions } from './topology.js'
export { probe, serve, stopServers, unreachable } from './probe.js'
export {
  listen, plainAddress, probeAsync, reachable, request,
  type InNetns, type ListenOptions, type NetServer, type Proto, type Reply, type RequestOptions,
} from './traffic.js'
export {
  FAULT_TABLE, activeFaults, heal, impair, isolate, matchRandomBelow, netemSupport, numgenRandom, partition,
  type Fault, type FaultTarget, type ImpairOptions, type LinkEnd, type PartitionOptions,
} from './faults.js'
export { capture, type Capture, type CaptureOptions, type CaptureResult } from './capture.js'
export { EtcdMember, startEtcdCluster, type EtcdMemberSpec } from './etcd.js'
export { CLUSTER_NET, createCluster, useCluster, type Cluster, type ClusterNode, type ClusterOptions, type ClusterPod } from './cluster.js'
export { TestResolver, dnsAddresses, dnsExchange, dnsQuery, dnsQueryBytes, type DnsQueryOptions, type DnsReply, type TestRecord, type TestResolverOptions } from './dns.js'
export { iperfRate, iperfRun, iperfServer, stopIperfServers, type IperfOptions } from './iperf.js'
