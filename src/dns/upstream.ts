/**
 * The resolvers podnet forwards other names to: the host's, from its resolv.conf. Loopback
 * servers (systemd-resolved's 127.0.0.53, a local dnsmasq) are skipped, as in the pods' own
 * resolv.conf; when that leaves none, systemd-resolved's list of real upstreams
 * (/run/systemd/resolve/resolv.conf) is read instead, as Docker and podman do. No public
 * resolver is ever made up: with no upstream, forwarded questions get SERVFAIL.
 */
import { readFileSync } from 'node:fs'
import { formatIp, tryParseIp } from '../net/ip.js'

export const HOST_RESOLV_CONF = '/etc/resolv.conf'
export const SYSTEMD_RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf'

/** A resolver to forward to. */
export interface Upstream {
  host: string
  port: number
  family: 4 | 6
}

const isLoopback = (ip: string): boolean => /^127\./.test(ip) || ip === '::1'

/**
 * The non-loopback nameservers of a resolv.conf text. An entry may carry a port as
 * `ADDR#PORT` (the dnsmasq/aardvark convention; resolv.conf itself has no port).
 */
export function parseUpstreams(text: string): Upstream[] {
  const out: Upstream[] = []
  for (const raw of text.split('\n')) {
    const [key, value] = raw.trim().split(/\s+/)
    if (key !== 'nameserver' || !value) continue
    const [host, portText] = value.split('#')
    const ip = host ? tryParseIp(host.replace(/%.*$/, '')) : undefined
    if (!ip || isLoopback(host!)) continue
    const port = portText === undefined ? 53 : Number(portText)
    if (!Number.isInteger(port) || port < 1 || port > 65535) continue
    out.push({ host: formatIp(ip.family, ip.value), port, family: ip.family })
  }
  return out
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** The host's upstreams: `path`'s non-loopback servers, else systemd-resolved's (only for the default path). */
export function hostUpstreams(path = HOST_RESOLV_CONF): Upstream[] {
  const found = parseUpstreams(readText(path) ?? '')
  if (found.length || path !== HOST_RESOLV_CONF) return found
  return parseUpstreams(readText(SYSTEMD_RESOLVED_UPSTREAMS) ?? '')
}
