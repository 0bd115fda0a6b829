/**
 * A pod's rootfs must not write outside itself (issue 10, item 3): symlinks (absolute,
 * relative, through "..") at every path podnet creates or mounts on in a rootfs (/etc and its
 * three files, /proc, /dev, /tmp, /sys, the working directory) are resolved inside the root.
 * A watched host directory is listed before and after; the container still gets its files.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildRootfs, execIn, useRuntime } from '../runtime/support.js'

/** Every file under dir, with its content (directories end with /). */
function listing(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) { out.push(`${rel}${e.name}/`); walk(p, `${rel}${e.name}/`) } else out.push(`${rel}${e.name}=${readFileSync(p, 'utf8')}`)
    }
  }
  walk(dir, '')
  return out.sort()
}

describe('kernel: rootfs paths are resolved inside the root', function () {
  const t = useRuntime()
  let watched = ''
  const roots: string[] = []

  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    // on /run (the sandbox's tmpfs), not under /tmp: links to it must not loop through the rootfs's own tmp
    watched = mkdtempSync('/run/podnet-watched-')
    for (const d of ['etc', 'proc', 'dev', 'tmp', 'sys', 'wd']) mkdirSync(join(watched, d))
    writeFileSync(join(watched, 'etc', 'sentinel'), 'host file\n')
  })
  afterEach(() => {
    rmSync(watched, { recursive: true, force: true })
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
  })

  const rootfs = (): string => {
    const r = buildRootfs()
    roots.push(r)
    return r
  }

  it('directories that are absolute, relative and ".." symlinks to a host directory: nothing is created there, the container gets /etc, /proc, /dev, /tmp, /sys and its working directory', async () => {
    const { rt, spec } = t()
    const r = rootfs()
    for (const d of ['etc', 'proc', 'dev', 'tmp', 'sys']) rmSync(join(r, d), { recursive: true, force: true })
    symlinkSync(join(watched, 'etc'), join(r, 'etc')) // absolute
    symlinkSync(`../../../../../../../..${watched}/proc`, join(r, 'proc')) // relative, climbing past the root
    symlinkSync(`/../../..${watched}/dev`, join(r, 'dev')) // absolute with ".."
    symlinkSync(`${watched}/tmp`, join(r, 'tmp'))
    symlinkSync(`${watched}/sys`, join(r, 'sys'))
    symlinkSync(`${watched}/wd/../wd/deeper`, join(r, 'work'))
    const before = listing(watched)
    const rec = await rt.run(spec({
      name: 'links-dirs', annotations: { 'podnet.io/rootfs': r },
      spec: { hostname: 'linked', containers: [{ name: 'c', command: ['sleep', '60'], workingDir: '/work/here' }] },
    }))
    assert.deepEqual(listing(watched), before, 'the host directory is unchanged')
    assert.match(execIn(rec, 'c', ['cat', '/etc/hosts']).stdout, /podnet-managed/)
    assert.equal(execIn(rec, 'c', ['cat', '/etc/hostname']).stdout, 'linked\n')
    assert.match(execIn(rec, 'c', ['cat', '/etc/resolv.conf']).stdout, /nameserver/)
    assert.equal(execIn(rec, 'c', ['sh', '-c', 'echo x > /dev/null && echo ok']).stdout, 'ok\n')
    assert.match(execIn(rec, 'c', ['cat', '/proc/1/status']).stdout, /^Name:\s+sleep/m)
    assert.equal(execIn(rec, 'c', ['sh', '-c', 'touch /tmp/f && echo ok']).stdout, 'ok\n')
    assert.equal(execIn(rec, 'c', ['ls', '/sys/class/net']).stdout.trim(), 'lo')
    const pid = (rec.containers[0]!.state as { pid: number }).pid
    assert.ok(readdirSync(`/proc/${pid}/cwd/..`).includes('here'), 'the container runs in its working directory')
    // the working directory was made inside the rootfs, where the link points when read from inside
    assert.ok(readdirSync(join(r, watched, 'wd', 'deeper')).includes('here'))
    assert.deepEqual(listing(watched), before)
  })

  it('/etc files that are symlinks (absolute, relative with "..", absolute with "..") to host files: no host file is created or covered', async () => {
    const { rt, spec } = t()
    const r = rootfs()
    symlinkSync(`${watched}/etc/hosts`, join(r, 'etc', 'hosts'))
    symlinkSync(`../../../../../../../../..${watched}/etc/resolv.conf`, join(r, 'etc', 'resolv.conf'))
    symlinkSync(`/..${watched}/etc/sentinel`, join(r, 'etc', 'hostname')) // an existing host file
    const before = listing(watched)
    const rec = await rt.run(spec({
      name: 'links-files', annotations: { 'podnet.io/rootfs': r },
      spec: { hostname: 'files', containers: [{ name: 'c', command: ['sleep', '60'] }] },
    }))
    assert.deepEqual(listing(watched), before, 'the host directory is unchanged')
    assert.match(execIn(rec, 'c', ['cat', '/etc/hosts']).stdout, /podnet-managed/)
    assert.match(execIn(rec, 'c', ['cat', '/etc/resolv.conf']).stdout, /nameserver/)
    assert.equal(execIn(rec, 'c', ['cat', '/etc/hostname']).stdout, 'files\n')
    // the supervisor's view of the host file is untouched (no bind mount covers it)
    assert.equal(readFileSync(join(watched, 'etc', 'sentinel'), 'utf8'), 'host file\n')
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(watched), 'no mount on the watched directory')
  })

  it('a symlink loop in the rootfs fails the container with a clear reason (ELOOP), and still writes nothing outside', async () => {
    const { rt, spec } = t()
    const r = rootfs()
    rmSync(join(r, 'tmp'), { recursive: true })
    symlinkSync('/tmp', join(r, 'tmp'))
    const before = listing(watched)
    const rec = await rt.run(spec({ name: 'links-loop', annotations: { 'podnet.io/rootfs': r }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', command: ['true'] }] } }))
    const cs = await new Promise<typeof rec.containers[0]>((res) => {
      const poll = (): void => {
        const c = rt.store.read('links-loop')?.containers[0]
        if (c?.state.status === 'terminated') res(c)
        else setTimeout(poll, 20)
      }
      poll()
    })
    assert.equal(cs.state.status === 'terminated' && cs.state.reason, 'StartError')
    assert.match(cs.state.status === 'terminated' ? cs.state.message ?? '' : '', /\/tmp in the rootfs: (Too many levels of symbolic links|Symbolic link loop)/)
    assert.deepEqual(listing(watched), before)
  })
})
