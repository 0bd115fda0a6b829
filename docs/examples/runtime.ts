// podnet/runtime: run a pod in-process (no supervisor) on a busybox root, wait for it, read its logs.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PodRuntime, detectCgroupLayout, validateManifest } from 'podnet/runtime'

const dir = mkdtempSync(join(tmpdir(), 'podnet-example-'))
const rootfs = join(dir, 'rootfs')                          // a one-binary root: busybox and its applets
mkdirSync(join(rootfs, 'bin'), { recursive: true })
copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'))
for (const applet of ['sh', 'echo', 'hostname']) symlinkSync('busybox', join(rootfs, 'bin', applet))

const cgroupParent = `podnet-example-${process.pid}`
const rt = new PodRuntime({ stateDir: join(dir, 'state'), cgroupParent })
try {
  const { spec } = validateManifest({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello', annotations: { 'podnet.io/rootfs': rootfs } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', command: ['sh', '-c', 'echo hello from $(hostname)'] }] },
  })
  await rt.run(spec)
  const done = await rt.waitFor('hello', (p) => p.phase === 'Succeeded' || p.phase === 'Failed')
  console.log('phase', done.phase, 'exit', done.containers[0]?.state.status === 'terminated' ? done.containers[0].state.exitCode : '?')
  console.log('log', readFileSync(done.containers[0]!.logPath, 'utf8').trim())
  await rt.remove('hello')
} finally {
  rt.close()
  for (const h of detectCgroupLayout().hierarchies) {       // the runtime's cgroup parent, empty now
    try { rmdirSync(join(h.mount, cgroupParent)) } catch { /* never made */ }
  }
  rmSync(dir, { recursive: true, force: true })
}
