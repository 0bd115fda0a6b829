// podnet/workloads: a ReplicaSet applied from manifest text, run by the controllers over an in-process PodRuntime.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PodRuntime, detectCgroupLayout } from 'podnet/runtime'
import { WorkloadManager, type ReplicaSet } from 'podnet/workloads'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const rootfs = join(dir, 'rootfs')                          // a one-binary root: busybox and its applets
mkdirSync(join(rootfs, 'bin'), { recursive: true })
copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'))
for (const applet of ['sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', applet))

const manifest = `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {podnet.io/rootfs: ${rootfs}}
    spec:
      containers: [{name: main, command: [sleep, '1000']}]
`
const cgroupParent = `podnet-example-${process.pid}`
const rt = new PodRuntime({ stateDir: join(dir, 'state'), cgroupParent })
const mgr = new WorkloadManager(rt)                         // its objects live in the runtime's state dir
try {
  await mgr.start()                                         // (in the supervisor: after the pods are adopted)
  const applied = await mgr.handle({ action: 'apply', sources: [{ text: manifest, baseDir: dir, source: 'web.yaml' }] })
  console.log(applied.lines.join('\n'))                     // replicaset.apps/web created
  for (let i = 0; (mgr.get('ReplicaSet', 'web') as ReplicaSet).status?.readyReplicas !== 2; i++) {
    if (i === 200) throw new Error('the ReplicaSet did not get 2 ready pods in 10 s')
    await new Promise((r) => setTimeout(r, 50))
  }
  console.log('ready', rt.list().map((p) => `${p.name} ${p.phase}`).sort().join(', '))
  const deleted = await mgr.handle({ action: 'delete', kind: 'rs', name: 'web', gracePeriodSeconds: 0 })
  console.log(deleted.lines.join('\n'))                     // replicaset.apps "web" deleted: once its pods are gone
  console.log('pods left', rt.list().length)
} finally {
  mgr.close()
  for (const p of rt.list()) await rt.remove(p.name, { gracePeriodSeconds: 0 })
  rt.close()
  for (const h of detectCgroupLayout().hierarchies) {       // the runtime's cgroup parent, empty now
    try { rmdirSync(join(h.mount, cgroupParent)) } catch { /* never made */ }
  }
  rmSync(dir, { recursive: true, force: true })
}
