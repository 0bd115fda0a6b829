/**
 * Volumes on real pods (busybox rootfs): an emptyDir shared by two containers and kept across a
 * restart, removed with the pod; a readOnly mount that refuses writes; a Memory emptyDir whose
 * sizeLimit the tmpfs enforces; subPath resolved inside its volume (symlinks never lead out);
 * hostPath refused without the opt-in, with nothing created.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import { validateManifest, type PodRecord } from '../../../src/runtime/index.js'
import { eventually, execIn, useRuntime } from './support.js'

const ctr = (rec: PodRecord, name: string) => rec.containers.find((c) => c.name === name)!
const pidOf = (rec: PodRecord, name: string): number => (ctr(rec, name).state as { pid: number }).pid
/** The container's mounts: mount point -> { fstype, options } (from /proc/PID/mountinfo). */
const mountsOf = (pid: number): Map<string, { fstype: string; opts: string; super: string }> => {
  const m = new Map<string, { fstype: string; opts: string; super: string }>()
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').trim().split('\n')) {
    const [a, b] = line.split(' - ')
    const f = a!.split(' ')
    const g = b!.split(' ')
    m.set(f[4]!, { fstype: g[0]!, opts: f[5]!, super: g[2] ?? '' })
  }
  return m
}
const hostMounted = (path: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path)

describe('runtime/volumes', function () {
  this.timeout(60_000)
  const fx = useRuntime()

  it('emptyDir: two containers share it, it survives a container restart, it goes with the pod', async () => {
    const { rt, stateDir } = fx()
    await fx().run(fx().spec({
      name: 'shared',
      spec: {
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          { name: 'writer', command: ['sh', '-c', 'echo run >> /data/log; exec sleep 1000'], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
          { name: 'reader', command: ['sleep', '1000'], volumeMounts: [{ name: 'data', mountPath: '/shared' }] },
        ],
      },
    }))
    let rec = await rt.waitFor('shared', (r) => r.containers.every((c) => c.state.status === 'running'))
    const host = join(stateDir, 'pods', 'shared', 'volumes', 'data')
    await eventually(() => (existsSync(join(host, 'log')) ? true : undefined), 5000, 'the log written')
    assert.equal(execIn(rec, 'reader', ['cat', '/shared/log']).stdout, 'run\n')
    assert.equal(execIn(rec, 'reader', ['sh', '-c', 'echo from-reader > /shared/r']).status, 0)
    assert.equal(readFileSync(join(host, 'r'), 'utf8'), 'from-reader\n') // the oracle: the host directory
    // the writer is killed and restarted: the volume keeps both runs' lines
    process.kill(pidOf(rec, 'writer'), 'SIGKILL')
    rec = await rt.waitFor('shared', (r) => ctr(r, 'writer').restartCount === 1 && ctr(r, 'writer').state.status === 'running', 20_000)
    await eventually(() => (readFileSync(join(host, 'log'), 'utf8') === 'run\nrun\n' ? true : undefined), 5000, 'the second run\'s line')
    assert.equal(execIn(rec, 'writer', ['cat', '/data/r']).stdout, 'from-reader\n')
    await rt.remove('shared', { gracePeriodSeconds: 0 })
    assert.equal(existsSync(join(stateDir, 'pods', 'shared')), false)
  })

  it('readOnly: the mount is read-only in the container (writes refused), read-write in another', async () => {
    const { rt } = fx()
    await fx().run(fx().spec({
      name: 'ro',
      spec: {
        volumes: [{ name: 'v', emptyDir: {} }],
        containers: [
          { name: 'rw', command: ['sleep', '1000'], volumeMounts: [{ name: 'v', mountPath: '/v' }] },
          { name: 'ro', command: ['sleep', '1000'], volumeMounts: [{ name: 'v', mountPath: '/v', readOnly: true }] },
        ],
      },
    }))
    const rec = await rt.waitFor('ro', (r) => r.containers.every((c) => c.state.status === 'running'))
    assert.match(mountsOf(pidOf(rec, 'ro')).get('/v')!.opts, /^ro,/)
    assert.match(mountsOf(pidOf(rec, 'rw')).get('/v')!.opts, /^rw,/)
    const w = execIn(rec, 'ro', ['touch', '/v/x'])
    assert.notEqual(w.status, 0)
    assert.match(w.stderr, /Read-only file system/)
    assert.equal(execIn(rec, 'rw', ['touch', '/v/x']).status, 0)
    assert.equal(execIn(rec, 'ro', ['test', '-f', '/v/x']).status, 0) // it sees the other's writes
  })

  it('emptyDir medium Memory: a tmpfs of sizeLimit (writes beyond it fail), unmounted when the pod goes', async () => {
    const { rt, runDir } = fx()
    await fx().run(fx().spec({
      name: 'mem',
      spec: { volumes: [{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }], containers: [{ name: 'app', command: ['sleep', '1000'], volumeMounts: [{ name: 'm', mountPath: '/tmp/m' }] }] },
    }))
    const rec = await rt.waitFor('mem', (r) => ctr(r, 'app').state.status === 'running')
    const host = join(runDir, 'pods', 'mem', 'volumes', 'm')
    assert.equal(hostMounted(host), true)
    const m = mountsOf(pidOf(rec, 'app')).get('/tmp/m')!
    assert.equal(m.fstype, 'tmpfs') // on /tmp: the volume covers the container's own /tmp tmpfs there
    const small = execIn(rec, 'app', ['dd', 'if=/dev/zero', 'of=/tmp/m/a', 'bs=1024', 'count=512'])
    assert.equal(small.status, 0, small.stderr)
    const big = execIn(rec, 'app', ['dd', 'if=/dev/zero', 'of=/tmp/m/b', 'bs=1024', 'count=1024'])
    assert.notEqual(big.status, 0)
    assert.match(big.stderr, /No space left on device/)
    await rt.remove('mem', { gracePeriodSeconds: 0 })
    assert.equal(hostMounted(host), false)
  })

  it('subPath: a directory of the volume (made when missing); symlinks in the volume never lead out of it', async () => {
    const { rt } = fx()
    const vol = mkdtempSync(join(tmpdir(), 'podnet-hostpath-'))
    const tag = randomBytes(3).toString('hex')
    try {
      mkdirSync(join(vol, 'sub'))
      writeFileSync(join(vol, 'sub', 'in.txt'), 'inside\n')
      writeFileSync(join(vol, 'root.txt'), 'volume root\n')
      symlinkSync('/', join(vol, 'abs'))          // an absolute link: the volume's root, not the host's
      symlinkSync('../../../..', join(vol, 'up')) // ".." stops at the volume's root
      const { spec } = validateManifest({
        metadata: { name: 'sub', annotations: { 'podnet.io/rootfs': fx().rootfs } },
        spec: {
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: 'h', hostPath: { path: vol, type: 'Directory' } }],
          containers: [{
            name: 'app', command: ['sleep', '1000'], volumeMounts: [
              { name: 'h', mountPath: '/s', subPath: 'sub' },
              { name: 'h', mountPath: '/abs', subPath: 'abs' },
              { name: 'h', mountPath: '/up', subPath: `up/etc-${tag}` },
              { name: 'h', mountPath: '/new', subPath: `made-${tag}/x` },
            ],
          }],
        },
      }, { allowHostPath: true })
      await fx().run(spec)
      const rec = await rt.waitFor('sub', (r) => ctr(r, 'app').state.status === 'running')
      assert.equal(execIn(rec, 'app', ['cat', '/s/in.txt']).stdout, 'inside\n')
      assert.equal(execIn(rec, 'app', ['cat', '/abs/root.txt']).stdout, 'volume root\n')
      assert.notEqual(execIn(rec, 'app', ['test', '-e', '/abs/proc']).status, 0) // not the host's root
      // the missing directories were made inside the volume, nowhere else
      assert.equal(existsSync(join(vol, `etc-${tag}`)), true)
      assert.equal(existsSync(`/etc-${tag}`), false)
      assert.equal(existsSync(join(vol, `made-${tag}`, 'x')), true)
    } finally {
      for (const n of rt.store.names()) await rt.remove(n, { gracePeriodSeconds: 0 })
      rmSync(vol, { recursive: true, force: true })
    }
  })

  it('bad input: hostPath without --allow-host-path, subPath with ".." or absolute, an unknown volume type: refused with the field, nothing created', () => {
    const { rt, rootfs } = fx()
    const missing = join(tmpdir(), `podnet-never-${randomBytes(4).toString('hex')}`)
    const doc = (spec: Record<string, unknown>) => ({ metadata: { name: 'bad', annotations: { 'podnet.io/rootfs': rootfs } }, spec })
    const refused = (d: unknown, field: string, re: RegExp, opts = {}): void => {
      assert.throws(() => validateManifest(d, opts), (e: unknown) => e instanceof InvalidArgumentError && e.field === field && re.test(e.message))
    }
    const c = (mount: Record<string, unknown>) => [{ name: 'app', command: ['true'], volumeMounts: [{ name: 'v', mountPath: '/v', ...mount }] }]
    refused(doc({ volumes: [{ name: 'v', hostPath: { path: missing, type: 'DirectoryOrCreate' } }], containers: c({}) }), 'spec.volumes[0].hostPath', /--allow-host-path/)
    refused(doc({ volumes: [{ name: 'v', emptyDir: {} }], containers: c({ subPath: '../x' }) }), 'spec.containers[0].volumeMounts[0].subPath', /must not contain '\.\.'/)
    refused(doc({ volumes: [{ name: 'v', emptyDir: {} }], containers: c({ subPath: 'a/../../x' }) }), 'spec.containers[0].volumeMounts[0].subPath', /must not contain '\.\.'/)
    refused(doc({ volumes: [{ name: 'v', emptyDir: {} }], containers: c({ subPath: '/etc' }) }), 'spec.containers[0].volumeMounts[0].subPath', /must be a relative path/)
    refused(doc({ volumes: [{ name: 'v', configMap: { name: 'x' } }], containers: c({}) }), 'spec.volumes[0].configMap', /volume type not supported/)
    refused(doc({ volumes: [{ name: 'v', emptyDir: {} }], containers: c({ name: 'w' }) }), 'spec.containers[0].volumeMounts[0].name', /no volume named "w"/)
    assert.equal(existsSync(missing), false)
    assert.deepEqual(rt.store.names(), [])
    // with the opt-in: accepted, with the warning
    const ok = validateManifest(doc({ volumes: [{ name: 'v', hostPath: { path: tmpdir(), type: 'Directory' } }], containers: c({ readOnly: true }) }), { allowHostPath: true })
    assert.match(ok.warnings.join('\n'), /spec\.volumes\[0\]\.hostPath: mounts the host's .* into the pod \(--allow-host-path\): its containers can read it; podnet's advice is not to mount host directories/)
  })
})
