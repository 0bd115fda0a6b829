/**
 * The install-time warm-up of podnet-cni's code cache: one ADD, CHECK, STATUS, GC and DEL, so
 * that V8's code cache holds the functions those commands run (a cache made after loading the
 * modules only holds their top-level code, and every command then compiles its functions
 * again in each process: ~15 ms of a ~130 ms ADD here).
 *
 * It must run in a throwaway network namespace and a mount namespace with a private /run
 * (`podnet cni install` starts it under `unshare --net --mount`); it refuses to run in a
 * namespace that has any interface but lo.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PodnetError } from '../errors.js'
import { Netns } from '../netns/index.js'
import { Rtnl } from '../netlink/route/index.js'
import { createPlugin } from './plugin.js'
import { runPlugin, type CniIo } from './skel.js'

/** Runs each command once on a throwaway pod. Throws when a command fails or the namespace is not fresh. */
export async function warmUp(): Promise<void> {
  const rt = Rtnl.open()
  try {
    const links = rt.link.listSync().map((l) => l.name)
    if (links.some((n) => n !== 'lo')) throw new PodnetError(`refusing to warm up in a namespace with interfaces (${links.join(', ')}): run it in a fresh one`)
  } finally {
    rt.close()
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'podnet-cni-warm-'))
  const pod = Netns.create('podnet-cni-warm')
  pod.close()
  try {
    const funcs = createPlugin()
    const conf = {
      cniVersion: '1.1.0', name: 'podnet-cni-warm', type: 'podnet-cni', bridge: 'pn-warm', isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.255.255.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
      runtimeConfig: { portMappings: [{ hostPort: 65000, containerPort: 80, protocol: 'tcp' }] },
      podnet: { stateDir },
    }
    let out = ''
    const call = async (command: string, extra: Record<string, unknown> = {}): Promise<string> => {
      out = ''
      const io: CniIo = {
        env: { CNI_COMMAND: command, CNI_CONTAINERID: 'podnet-cni-warm', CNI_NETNS: join('/run/netns', 'podnet-cni-warm'), CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1' },
        stdin: JSON.stringify({ ...conf, ...extra }),
        stdout: { write: (s: string) => { out += s } },
        stderr: { write: () => true },
      }
      if (await runPlugin(funcs, io) !== 0) throw new PodnetError(`warm-up ${command} failed: ${out.trim()}`)
      return out
    }
    const result = JSON.parse(await call('ADD')) as unknown
    await call('CHECK', { prevResult: result })
    await call('STATUS')
    await call('GC', { 'cni.dev/valid-attachments': [{ containerID: 'podnet-cni-warm', ifname: 'eth0' }] })
    await call('DEL', { prevResult: result })
  } finally {
    try { Netns.remove('podnet-cni-warm') } catch { /* the namespace goes with the process anyway */ }
    rmSync(stateDir, { recursive: true, force: true })
  }
}
