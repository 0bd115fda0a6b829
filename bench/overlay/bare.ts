/**
 * The overlay bench's peer for the data plane: the same two-node path built by hand with
 * iproute2 and nothing else (no nf_tables rules, no NAT, no podnet): two node namespaces joined
 * by an underlay switch shaped like createCluster()'s (a bridge in its own namespace, one veth pair
 * per node), on each node a bridge with a pod namespace behind a veth pair, and
 * the pods' subnets routed either over a point-to-point VXLAN device (MTU 1450, as podnet's) or
 * directly over the underlay. What the kernel's path costs without podnet, in the same run.
 */
import { execFileSync } from 'node:child_process'
import { createTempNetns, type TempNetns } from '../../src/testing/index.js'

export interface BarePath { client: string; server: string; addr: string }

export interface BareTopology {
  underlay: BarePath
  vxlan: BarePath
  direct: BarePath
  close(): void
}

const ip = (ns: string, ...a: string[]): void => { execFileSync('ip', ['-n', ns, ...a]) }
const sysctl = (ns: string, key: string, value: string): void => { execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`]) }

export function buildBare(): BareTopology {
  const made: TempNetns[] = []
  const ns = (p: string): string => { const n = createTempNetns(p); made.push(n); return n.name }
  try {
    const n = { 1: ns('bare-n1'), 3: ns('bare-n3') }
    const sw = ns('bare-sw')
    ip(sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')
    ip(sw, 'link', 'set', 'br0', 'up')
    for (const i of [1, 3] as const) {
      ip(sw, 'link', 'add', `p-n${i}`, 'type', 'veth', 'peer', 'name', 'u0', 'netns', n[i])
      ip(sw, 'link', 'set', `p-n${i}`, 'master', 'br0', 'up')
    }
    for (const i of [1, 3] as const) {
      ip(n[i], 'addr', 'add', `192.168.200.${i}/24`, 'dev', 'u0')
      ip(n[i], 'link', 'set', 'u0', 'up')
      ip(n[i], 'link', 'set', 'lo', 'up')
      sysctl(n[i], 'net.ipv4.ip_forward', '1')
      const other = i === 1 ? 3 : 1
      // VXLAN point to point (the other node as its one remote), an address to route through
      ip(n[i], 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', `192.168.200.${i}`, 'remote', `192.168.200.${other}`, 'dev', 'u0')
      ip(n[i], 'addr', 'add', `10.62.0.${i}/24`, 'dev', 'vx0')
      ip(n[i], 'link', 'set', 'vx0', 'up')
    }
    const pods: Record<string, string> = {}
    for (const [mode, net, mtu] of [['v', 60, '1450'], ['d', 61, '1500']] as const) {
      for (const i of [1, 3] as const) {
        const pod = ns(`bare-p${mode}${i}`)
        pods[`${mode}${i}`] = pod
        ip(n[i], 'link', 'add', `b${mode}0`, 'type', 'bridge')
        ip(n[i], 'addr', 'add', `10.${net}.${i}.1/24`, 'dev', `b${mode}0`)
        ip(n[i], 'link', 'set', `b${mode}0`, 'mtu', mtu, 'up')
        ip(n[i], 'link', 'add', `h${mode}`, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', mtu, 'netns', pod)
        ip(n[i], 'link', 'set', `h${mode}`, 'master', `b${mode}0`, 'up')
        ip(pod, 'addr', 'add', `10.${net}.${i}.2/24`, 'dev', 'eth0')
        ip(pod, 'link', 'set', 'eth0', 'up')
        ip(pod, 'link', 'set', 'lo', 'up')
        ip(pod, 'route', 'add', 'default', 'via', `10.${net}.${i}.1`)
        const other = i === 1 ? 3 : 1
        if (mode === 'v') ip(n[i], 'route', 'add', `10.60.${other}.0/24`, 'via', `10.62.0.${other}`, 'dev', 'vx0')
        else ip(n[i], 'route', 'add', `10.61.${other}.0/24`, 'via', `192.168.200.${other}`, 'dev', 'u0')
      }
    }
    return {
      underlay: { client: n[1], server: n[3], addr: '192.168.200.3' },
      vxlan: { client: pods.v1!, server: pods.v3!, addr: '10.60.3.2' },
      direct: { client: pods.d1!, server: pods.d3!, addr: '10.61.3.2' },
      close: () => { for (const m of made.reverse()) m.close() },
    }
  } catch (err) {
    for (const m of made.reverse()) m.close()
    throw err
  }
}
