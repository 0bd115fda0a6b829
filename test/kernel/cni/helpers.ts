/**
 * Drivers for podnet-cni in tests: in-process through runPlugin's injected I/O, or through the
 * executable with the environment and stdin a runtime passes. Plus the host-state oracle.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runPlugin, type CniFuncs } from '../../../src/cni/index.js'
import { ipJson, nftRuleset, type TempNetns } from '../../../src/testing/index.js'

/** bin/podnet-cni.js of this checkout. */
export const PLUGIN_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet-cni.js')

export interface CniCall {
  status: number
  stdout: string
  stderr: string
  /** stdout parsed (undefined when empty). */
  json: any
}

export type CniEnv = Record<string, string>

/** The environment of one request, as podman / libcni set it. */
export function cniEnv(command: string, opts: { id?: string; netns?: string; ifname?: string; args?: string } = {}): CniEnv {
  const env: CniEnv = { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' }
  if (opts.id !== undefined) env.CNI_CONTAINERID = opts.id
  if (opts.netns !== undefined) env.CNI_NETNS = opts.netns
  if (opts.ifname !== undefined) env.CNI_IFNAME = opts.ifname
  env.CNI_ARGS = opts.args ?? 'IgnoreUnknown=1'
  return env
}

const parse = (text: string): any => (text.trim() ? JSON.parse(text) : undefined)

/** One request in-process. */
export async function cniInProcess(funcs: CniFuncs, env: CniEnv, conf: unknown): Promise<CniCall> {
  let stdout = ''
  let stderr = ''
  const status = await runPlugin(funcs, {
    env, stdin: typeof conf === 'string' ? conf : JSON.stringify(conf),
    stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } },
  })
  return { status, stdout, stderr, json: parse(stdout) }
}

/**
 * One request through the executable, started inside `host` (the plugin's host is the
 * namespace it runs in), with only the CNI variables and PATH in its environment.
 */
export function cniExec(host: TempNetns, env: CniEnv, conf: unknown, bin = PLUGIN_BIN): CniCall {
  const r = host.ns.spawnSync(bin, [], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    input: typeof conf === 'string' ? conf : JSON.stringify(conf),
    encoding: 'utf8', timeout: 30000,
  })
  if (r.error) throw r.error
  return { status: r.status ?? 128, stdout: String(r.stdout), stderr: String(r.stderr), json: parse(String(r.stdout)) }
}

/** Runs a reference plugin from containernetworking-plugins (/usr/lib/cni) the same way. */
export function referencePlugin(host: TempNetns, type: string, env: CniEnv, conf: unknown): CniCall {
  return cniExec(host, { ...env, CNI_PATH: '/usr/lib/cni' }, conf, `/usr/lib/cni/${type}`)
}

/** What podnet's actions change in a host namespace: links, global addresses, the nf_tables ruleset (counters zeroed). */
export function hostState(host: TempNetns): string {
  return JSON.stringify({
    links: (ipJson(host.name, 'link', 'show') as any[]).map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind, master: l.master, mtu: l.mtu })),
    addrs: (ipJson(host.name, 'addr', 'show') as any[]).flatMap((l) => l.addr_info.filter((a: any) => a.scope !== 'link').map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen}`)),
    nft: JSON.stringify(nftRuleset(host.name)).replace(/\{"counter":\{"packets":\d+,"bytes":\d+\}\}/g, 'counter'),
  })
}

/** The pod's IPv4 addresses on an interface, as `ip -j addr` shows them. */
export function podAddrs(pod: TempNetns, ifname = 'eth0'): string[] {
  const [l] = pod.ip('addr', 'show', 'dev', ifname) as any[]
  return (l?.addr_info ?? []).filter((a: any) => a.scope !== 'link').map((a: any) => `${a.local}/${a.prefixlen}`)
}

/** nf_tables rule comments in podnet's table. */
export function podnetRuleComments(host: TempNetns): string[] {
  return nftRuleset(host.name).filter((o) => o.rule && o.rule.table === 'podnet').map((o) => String(o.rule!.comment ?? ''))
}

/** Published ports in podnet's maps, as nft -j shows them: "tcp 8080" or "10.209.0.1 udp 5353" (key fields joined). */
export function podnetPublishedPorts(host: TempNetns): string[] {
  return nftRuleset(host.name).filter((o) => o.map && o.map.table === 'podnet')
    .flatMap((o) => (o.map!.elem ?? []).map(([k]: any) => (k.elem.val.concat as unknown[]).join(' ')))
}
