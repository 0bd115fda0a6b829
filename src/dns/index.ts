/**
 * podnet/dns: the DNS responder of bridge networks (docs/dns.md). Pods resolve each other by
 * name; other names are forwarded to the host's resolvers. Re-exports only.
 */
export { CLASSIC_UDP_SIZE, EDNS_UDP_SIZE, LOCAL_TTL, MAX_UDP_SIZE, RCODE, answerQuery, errorReply, maxAnswerSize, questionLength, type Decision, type RcodeName, type Transport } from './answer.js'
export { podDnsConfig, type PodDnsConfig } from './config.js'
export { Forwarder, type ForwarderOptions } from './forwarder.js'
export { NetworkRecords } from './records.js'
export { DNS_PORT, DnsServer, type DnsCounters, type DnsEvent, type DnsServerOptions, type DnsStatus, type NetworkDnsStatus } from './server.js'
export { dnsPaths, dnsResponderStatus, ensureDnsResponder, freshDnsStatus, pokeDnsResponder, responderMain, responderRunning, stopDnsResponder, type DnsPaths, type EnsureOptions } from './service.js'
export { HOST_RESOLV_CONF, SYSTEMD_RESOLVED_UPSTREAMS, hostUpstreams, parseUpstreams, type Upstream } from './upstream.js'
export { Zone, ipToReverseName, reverseNameToIp, type QueryType, type ZoneAnswer, type ZoneRecord } from './zone.js'
