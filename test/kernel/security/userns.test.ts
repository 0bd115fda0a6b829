/**
 * hostUsers: false (issue 11): a user namespace per pod with a host ID range no other pod has,
 * the pod's namespaces owned by it, idmapped rootfs mounts; read back from the host
 * (/proc/PID/status, uid_map, file ownership) and from inside (id, ls -ln).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import type { PodRecord } from '../../../src/runtime/index.js'
import { buildRootfs, compileStatic, eventually, execIn, useRuntime } from '../runtime/support.js'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const ESCAPE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/kernel/security/escape.c')

const pidOf = (rec: PodRecord, c: string): number => {
  const st = rec.containers.find((x) => x.name === c)!.state
  if (st.status !== 'running') throw new Error(`${c} is ${st.status}: ${JSON.stringify(st)}`)
  return st.pid
}
const field = (pid: number, k: string): string => (new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '').replace(/\s+/g, ' ')
const nsIno = (pid: number | string, kind: string): number => statSync(`/proc/${pid}/ns/${kind}`).ino

describe('kernel: user-namespace pods (hostUsers: false)', function () {
  const t = useRuntime()
  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    compileStatic(readFileSync(ESCAPE_SOURCE, 'utf8'), join(t().rootfs, 'bin'), 'escape')
    if (!existsSync(join(t().rootfs, 'bin', 'ip'))) symlinkSync('busybox', join(t().rootfs, 'bin', 'ip'))
  })

  const run = (name: string, extra: Record<string, unknown> = {}, containers?: object[]): Promise<PodRecord> => t().rt.run(t().spec({
    name, spec: { hostUsers: false, containers: containers ?? [{ name: 'c', command: ['sleep', '60'] }], ...extra },
  }))

  it('root in the pod is an unprivileged host uid: uid_map, /proc/PID/status, id -u; the pod\'s namespaces belong to its user namespace', async () => {
    const rec = await run('uns-basic', { shareProcessNamespace: true })
    const range = rec.sandbox.userns!
    assert.ok(range.hostId >= 2 ** 31 && range.size === 65536, JSON.stringify(range))
    const pid = pidOf(rec, 'c')
    assert.equal(field(pid, 'Uid'), `${range.hostId} ${range.hostId} ${range.hostId} ${range.hostId}`)
    assert.equal(field(pid, 'Gid'), `${range.hostId} ${range.hostId} ${range.hostId} ${range.hostId}`)
    assert.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${range.hostId} 65536`)
    assert.equal(readFileSync(`/proc/${pid}/gid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${range.hostId} 65536`)
    assert.equal(execIn(rec, 'c', ['id', '-u']).stdout, '0\n')
    assert.equal(execIn(rec, 'c', ['cat', '/proc/self/uid_map']).stdout.trim().split(/\s+/).join(' '), `0 ${range.hostId} 65536`)
    // one user namespace for the pause and the container, pinned, not the host's
    const pause = rec.sandbox.pause!.pid
    assert.equal(nsIno(pid, 'user'), nsIno(pause, 'user'))
    assert.equal(statSync(rec.sandbox.pins!.user!).ino, nsIno(pause, 'user'))
    assert.notEqual(nsIno(pid, 'user'), nsIno('self', 'user'))
    // the pause too runs as the pod's root, not as the host's
    assert.equal(field(pause, 'Uid').split(' ')[0], String(range.hostId))
  })

  it('idmapped rootfs: host root\'s files are root\'s inside, files the pod\'s root writes there are host root\'s; on /dev/shm (not idmapped) they are the mapped uid\'s', async () => {
    const rec = await run('uns-files')
    const range = rec.sandbox.userns!
    assert.match(execIn(rec, 'c', ['ls', '-ln', '/bin/busybox']).stdout, /^\S+\s+\d+\s+0\s+0\s/)
    assert.equal(execIn(rec, 'c', ['touch', '/srv/by-pod-root']).status, 0)
    const onHost = statSync(join(t().rootfs, 'srv', 'by-pod-root'))
    assert.deepEqual([onHost.uid, onHost.gid], [0, 0])
    rmSync(join(t().rootfs, 'srv', 'by-pod-root'))
    assert.equal(execIn(rec, 'c', ['touch', '/dev/shm/by-pod-root']).status, 0)
    const shm = statSync(join(rec.sandbox.shm!, 'by-pod-root'))
    assert.deepEqual([shm.uid, shm.gid], [range.hostId, range.hostId])
  })

  it('two pods get disjoint ranges; a removed pod\'s range is released and given to the next pod', async () => {
    const { rt } = t()
    const a = await run('uns-a')
    const b = await run('uns-b')
    const ra = a.sandbox.userns!
    const rb = b.sandbox.userns!
    assert.ok(ra.hostId + ra.size <= rb.hostId || rb.hostId + rb.size <= ra.hostId, `${JSON.stringify(ra)} ${JSON.stringify(rb)}`)
    assert.notEqual(field(pidOf(a, 'c'), 'Uid'), field(pidOf(b, 'c'), 'Uid'))
    const files = (): string[] => readdirSync(join(t().stateDir, 'userns')).sort()
    assert.deepEqual(files(), [String(ra.hostId), String(rb.hostId)].sort())
    await rt.remove('uns-a', { gracePeriodSeconds: 0 })
    assert.deepEqual(files(), [String(rb.hostId)])
    const c = await run('uns-c')
    assert.equal(c.sandbox.userns!.hostId, ra.hostId, 'the released range is reused')
  })

  it('an added NET_ADMIN manages the pod\'s own network (its user namespace owns it) and nothing of the host\'s; the escape matrix stays blocked', async () => {
    const hostLinks = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    const corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8')
    const rec = await run('uns-netadmin', {}, [
      { name: 'admin', command: ['sleep', '60'], securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
      { name: 'plain', command: ['sleep', '60'] },
    ])
    const m = (c: string): Record<string, string> => Object.fromEntries(execIn(rec, c, ['escape']).stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]))
    const admin = m('admin')
    const plain = m('plain')
    assert.equal(admin.net_admin, 'ok', 'NET_ADMIN in the pod\'s user namespace works on the pod\'s network')
    assert.equal(plain.net_admin, 'EPERM')
    for (const r of [admin, plain]) {
      for (const a of ['mount_proc', 'mknod_disk', 'unshare_user', 'setns_pid1', 'write_core_pattern', 'write_sys', 'raw_socket', 'keyctl', 'bpf']) assert.notEqual(r[a], 'ok', a)
    }
    assert.equal(execIn(rec, 'admin', ['ip', 'link', 'set', 'lo', 'mtu', '1400']).status, 0)
    assert.match(execFileSync('nsenter', [`--net=${rec.sandbox.pins!.net}`, 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' }), /mtu 1400/)
    assert.equal(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }), hostLinks)
    assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), corePattern)
  })

  it('a rootfs on a filesystem that cannot be idmapped (ramfs): one line naming it, nothing created (no record, pins, range, process)', async () => {
    const { rt, spec, stateDir, runDir } = t()
    const mnt = mkdtempSync('/run/podnet-ramfs-')
    execFileSync('mount', ['-t', 'ramfs', 'none', mnt])
    try {
      const root = join(mnt, 'root')
      mkdirSync(root)
      execFileSync('cp', ['-a', `${t().rootfs}/.`, root])
      const before = execFileSync('ps', ['-e', '-o', 'pid='], { encoding: 'utf8' }).split('\n').length
      await assert.rejects(rt.run(spec({ name: 'uns-ramfs', annotations: { 'podnet.io/rootfs': root }, spec: { hostUsers: false, containers: [{ name: 'c', command: ['sleep', '60'] }] } })), (e: Error) => {
        assert.ok(e instanceof InvalidArgumentError, e.message)
        assert.match(e.message, /^spec\.containers\[0\] rootfs: hostUsers: false needs an idmapped rootfs: rootfs \/run\/podnet-ramfs-\w+\/root \(filesystem magic 0x858458f6\) cannot be idmapped/)
        assert.ok(!e.message.includes('\n'))
        return true
      })
      assert.equal(rt.store.read('uns-ramfs'), undefined)
      assert.ok(!existsSync(join(runDir, 'pods', 'uns-ramfs')) || readdirSync(join(runDir, 'pods', 'uns-ramfs')).length === 0)
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('/pods/uns-ramfs/'), 'no pin left mounted')
      const ranges = existsSync(join(stateDir, 'userns')) ? readdirSync(join(stateDir, 'userns')).map((f) => readFileSync(join(stateDir, 'userns', f), 'utf8').trim()) : []
      assert.ok(!ranges.includes('uns-ramfs'), 'the range went back to the pool')
      await eventually(() => execFileSync('ps', ['-e', '-o', 'pid='], { encoding: 'utf8' }).split('\n').length <= before ? true : undefined, 3000, 'the sandbox launcher to end')
    } finally {
      execFileSync('umount', [mnt])
      rmSync(mnt, { recursive: true, force: true })
    }
  })

  it('a user-namespace pod runs the demo\'s kind of workload: a server on port 80 (NET_BIND_SERVICE in its namespace) answers on the pod network\'s loopback', async () => {
    const root = buildRootfs()
    symlinkSync('busybox', join(root, 'bin', 'httpd'))
    try {
      const rec = await t().rt.run(t().spec({
        name: 'uns-web', annotations: { 'podnet.io/rootfs': root },
        spec: { hostUsers: false, containers: [{ name: 'web', command: ['sh', '-c', 'mkdir -p /srv/www && echo hello > /srv/www/index.html && exec httpd -f -p 80 -h /srv/www'] }] },
      }))
      await eventually(() => /:0050 0+:0000 0A /.test(execIn(rec, 'web', ['cat', '/proc/net/tcp', '/proc/net/tcp6']).stdout) ? true : undefined, 5000, 'httpd to listen')
    } finally {
      for (const n of t().rt.store.names()) if (n === 'uns-web') await t().rt.remove(n, { gracePeriodSeconds: 0 })
      rmSync(root, { recursive: true, force: true })
    }
  })
})
