// podnet/cni: the plugin in-process: ADD a namespace to a network exactly as a runtime would, then DEL.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netns } from 'podnet'
import { createPlugin, runPlugin, type CniIo } from 'podnet/cni'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const host = Netns.create('example-cni-host')   // plays the node: the bridge and NAT go there
const pod = Netns.create('example-cni-pod')
const conf = {
  cniVersion: '1.1.0', name: 'example', type: 'podnet-cni', bridge: 'ex-cni0', isGateway: true, ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.97.0.0/24' }]] },
  podnet: { stateDir: join(dir, 'state'), runDir: join(dir, 'run') },
}
const call = async (command: string): Promise<{ status: number; out: string }> => {
  let out = ''
  const io: CniIo = {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' },
    stdin: JSON.stringify(conf), stdout: { write: (t: string) => { out += t } }, stderr: process.stderr,
  }
  return { status: await runPlugin(createPlugin({ hostNetns: 'example-cni-host' }), io), out }
}
try {
  const add = await call('ADD')
  console.log('ADD', add.status, JSON.parse(add.out).ips?.[0]?.address)
  const del = await call('DEL')
  console.log('DEL', del.status)
} finally {
  pod.close()
  host.close()
  Netns.remove('example-cni-pod')
  Netns.remove('example-cni-host')
  rmSync(dir, { recursive: true, force: true })
}
