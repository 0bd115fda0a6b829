/**
 * The CNI reference chain driven the way a container runtime's libcni drives it: Debian's
 * containernetworking-plugins (bridge + host-local, then portmap), one plugin process per step,
 * the network configuration on stdin and CNI_* in the environment, the bridge's result passed
 * to portmap as prevResult, runtimeConfig.portMappings for the portMappings capability, and on
 * DEL the plugins in reverse order with the cached ADD result as prevResult.
 *
 * Must be started inside the bench's host namespace (nsenter --net=...): the plugins act in
 * the namespace they start in, and their iptables (iptables-nft) rules land in that namespace's
 * nf_tables, never in the machine's own. Pod namespaces are made in-process with podnet's
 * Netns.create (what containerd does too: a pinned namespace, no `ip netns add` process).
 * Prints one PodRun JSON line.
 *
 *   node dist/bench/network/cni.js '{"n":200,"prefix":"c","dataDir":"/tmp/x","subnet":"10.201.0.0/16","gateway":"10.201.0.1","hostPortBase":20000}'
 */
import { spawn, spawnSync } from 'node:child_process'
import { Netns, netnsRunDir } from '../../src/netns/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { cpuMsWithChildren, nowMs, type PodRun } from './lib.js'

export interface CniArgs {
  n: number
  prefix: string
  dataDir: string
  subnet: string
  gateway: string
  hostPortBase: number
  cniPath?: string
}

const NAME = 'net1'
const VERSION = '1.0.0'

interface CniResult {
  cniVersion: string
  ips?: Array<{ address: string }>
  [k: string]: unknown
}

/** One plugin invocation: env + stdin as the CNI spec says; resolves with its parsed stdout. */
function invoke(plugin: string, cniPath: string, command: 'ADD' | 'DEL', containerId: string, netns: string, conf: object): Promise<CniResult | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${cniPath}/${plugin}`, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: cniPath,
      },
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8')
      if (code !== 0) {
        reject(new Error(`${plugin} ${command} ${containerId} exited ${code}: ${text} ${Buffer.concat(err).toString('utf8')}`))
        return
      }
      resolve(text.trim() ? (JSON.parse(text) as CniResult) : undefined)
    })
    child.stdin.end(JSON.stringify(conf))
  })
}

async function main(): Promise<void> {
  assertSandboxed()
  const a = JSON.parse(process.argv[2] ?? '{}') as CniArgs
  const cniPath = a.cniPath ?? '/usr/lib/cni'
  // the conflist, as the runtime would read it from /etc/cni/net.d
  const bridgeConf = {
    type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: a.subnet, gateway: a.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: a.dataDir },
  }
  const portmapConf = { type: 'portmap', capabilities: { portMappings: true }, snat: true }
  const names = Array.from({ length: a.n }, (_, i) => `${a.prefix}${i + 1}`)
  const cached = new Map<string, CniResult>()
  const res: PodRun = { tool: 'cni', n: a.n, add: [], del: [], teardown: 'del' }

  let cpu = cpuMsWithChildren()
  for (let i = 0; i < a.n; i++) {
    const id = names[i]!
    const path = `${netnsRunDir()}/${id}`
    const mappings = [{ hostPort: a.hostPortBase + i, containerPort: 80, protocol: 'tcp' }]
    const t0 = nowMs()
    Netns.create(id).close()
    const r1 = await invoke('bridge', cniPath, 'ADD', id, path, { cniVersion: VERSION, name: NAME, ...bridgeConf })
    if (!r1) throw new Error('bridge ADD printed no result')
    const r2 = await invoke('portmap', cniPath, 'ADD', id, path, { cniVersion: VERSION, name: NAME, ...portmapConf, runtimeConfig: { portMappings: mappings }, prevResult: r1 })
    res.add.push(nowMs() - t0)
    cached.set(id, r2 ?? r1)
  }
  res.addCpuMs = cpuMsWithChildren() - cpu
  // what the chain left in this namespace's NAT table (not timed)
  const nat = spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })
  const rules = nat.stdout.split('\n').filter((l) => l.startsWith('-A ')).length
  res.notes = [`iptables nat rules after ${a.n} ADDs: ${rules} (${((rules - 5) / a.n).toFixed(1)} per pod + 5 shared)`]

  cpu = cpuMsWithChildren()
  for (let i = 0; i < a.n; i++) {
    const id = names[i]!
    const path = `${netnsRunDir()}/${id}`
    const mappings = [{ hostPort: a.hostPortBase + i, containerPort: 80, protocol: 'tcp' }]
    const prev = cached.get(id)
    const t0 = nowMs()
    await invoke('portmap', cniPath, 'DEL', id, path, { cniVersion: VERSION, name: NAME, ...portmapConf, runtimeConfig: { portMappings: mappings }, prevResult: prev })
    await invoke('bridge', cniPath, 'DEL', id, path, { cniVersion: VERSION, name: NAME, ...bridgeConf, prevResult: prev })
    Netns.remove(id)
    res.del.push(nowMs() - t0)
  }
  res.delCpuMs = cpuMsWithChildren() - cpu
  process.stdout.write(`${JSON.stringify(res)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`cni bench driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
