/** iproute2's names for route tables, protocols, scopes and types (rt_names.c), for JSON and tables. */
import * as R from './constants/rtnetlink.js'

export const RT_TABLE_NAMES: Record<number, string> = { [R.RT_TABLE_MAIN]: 'main', [R.RT_TABLE_LOCAL]: 'local', [R.RT_TABLE_DEFAULT]: 'default' }
export const RTPROT_NAMES: Record<number, string> = {
  [R.RTPROT_UNSPEC]: 'unspec', [R.RTPROT_REDIRECT]: 'redirect', [R.RTPROT_KERNEL]: 'kernel', [R.RTPROT_BOOT]: 'boot',
  [R.RTPROT_STATIC]: 'static', [R.RTPROT_RA]: 'ra', [R.RTPROT_DHCP]: 'dhcp',
}
export const RT_SCOPE_NAMES: Record<number, string> = {
  [R.RT_SCOPE_UNIVERSE]: 'global', [R.RT_SCOPE_SITE]: 'site', [R.RT_SCOPE_LINK]: 'link', [R.RT_SCOPE_HOST]: 'host', [R.RT_SCOPE_NOWHERE]: 'nowhere',
}
export const RTN_NAMES: Record<number, string> = {
  [R.RTN_UNICAST]: 'unicast', [R.RTN_LOCAL]: 'local', [R.RTN_BROADCAST]: 'broadcast', [R.RTN_ANYCAST]: 'anycast',
  [R.RTN_MULTICAST]: 'multicast', [R.RTN_BLACKHOLE]: 'blackhole', [R.RTN_UNREACHABLE]: 'unreachable', [R.RTN_PROHIBIT]: 'prohibit',
}
