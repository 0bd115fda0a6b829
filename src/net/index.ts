/** Addresses and prefixes (IPv4, IPv6, MAC): parse, format, contain, convert to wire bytes. Re-exports only. */
export {
  type Cidr, type IpAddress, type IpFamily, type PrefixedAddress,
  bytesToIp, cidrContains, cidrSize, familyBits, familyName, formatIp, hostMask, ipFamily, ipToBytes, ipValueToBytes,
  lastAddress, makeCidr, overlaps, parseCidr, parsePrefixedAddress, parseIp, reservedRangeOverlap, tryParseIp,
} from './ip.js'
export { formatMac, parseMac, validateMac } from './mac.js'
export { CONTAINER_ID_MAX_BYTES, IFNAME_MAX_BYTES, NETNS_NAME_MAX_BYTES, NETWORK_NAME_MAX_BYTES, validateContainerId, validateIfname, validateNetnsName, validateNetworkName } from './names.js'
export { DNS_LABEL_MAX, DNS_NAME_MAX, isDnsName, normalizeDnsName } from './dns-name.js'
