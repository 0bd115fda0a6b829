/** The files every container of a pod sees in /etc: hosts, resolv.conf, hostname (Kubernetes-managed style). */
import { readFileSync } from 'node:fs'

/** /etc/hosts: loopback names, then the pod's addresses with its hostname. */
export function hostsFile(hostname: string, ips: readonly string[]): string {
  const lines = [
    '# podnet-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ]
  if (ips.length) for (const ip of ips) lines.push(`${ip.split('/')[0]}\t${hostname}`)
  else lines.push(`127.0.1.1\t${hostname}`)
  return `${lines.join('\n')}\n`
}

/** Fallback name servers when the host has only loopback ones (Docker's choice). */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4']

/**
 * /etc/resolv.conf from the host's: nameservers on loopback (systemd-resolved's 127.0.0.53,
 * a local dnsmasq) cannot be reached from the pod's network namespace and are dropped; when
 * none remain, the fallback servers are used. search and options lines are kept.
 *
 * On a network with DNS (`dns`: its responder on the gateway), the responder is the only
 * nameserver (it forwards what is not the network's) and the network's name is searched first.
 */
export function resolvConf(hostText: string | undefined, dns?: { nameservers: string[]; search: string[] }): string {
  const text = hostText ?? ''
  const keep: string[] = []
  let servers = 0
  let search: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const [key, value] = line.split(/\s+/)
    if (key === 'nameserver') {
      if (!value || /^127\./.test(value) || value === '::1' || dns) continue
      servers++
      keep.push(`nameserver ${value}`)
    } else if (key === 'search' || key === 'domain') {
      if (dns) search = line.split(/\s+/).slice(1)
      else keep.push(line)
    } else if (key === 'options') keep.push(line)
  }
  if (dns) {
    const domains = [...new Set([...dns.search, ...search])]
    keep.unshift(...dns.nameservers.map((s) => `nameserver ${s}`), ...(domains.length ? [`search ${domains.join(' ')}`] : []))
  } else if (!servers) keep.unshift(...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`))
  return `${keep.join('\n')}\n`
}

export function readHostResolvConf(path = '/etc/resolv.conf'): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
