/**
 * securityContext with Kubernetes semantics, read back from the kernel: users and groups from
 * /proc/PID/status and file ownership, readOnlyRootFilesystem, a setuid binary with and without
 * allowPrivilegeEscalation, pod sysctls in the pod's namespaces, a Localhost seccomp profile.
 */
import assert from 'node:assert/strict'
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PodRecord } from '../../../src/runtime/index.js'
import { compileStatic, execIn, useRuntime } from '../runtime/support.js'

const EUID = `#include <stdio.h>
#include <unistd.h>
int main(void) { printf("%d %d\\n", (int)getuid(), (int)geteuid()); return 0; }
`

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim().replace(/\s+/g, ' ')
  }
  return out
}
const pidOf = (rec: PodRecord, c: string): number => {
  const st = rec.containers.find((x) => x.name === c)!.state
  if (st.status !== 'running') throw new Error(`${c} is ${st.status}: ${JSON.stringify(st)}`)
  return st.pid
}

describe('kernel: securityContext', function () {
  const t = useRuntime()
  let dir = ''
  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'podnet-sc-'))
    const bin = compileStatic(EUID, join(t().rootfs, 'bin'), 'euid')
    chownSync(bin, 0, 0)
    chmodSync(bin, 0o4755) // setuid root
  })
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }) })

  it('runAsUser, runAsGroup, supplementalGroups, fsGroup: /proc/PID/status, files written, /dev/shm ownership; the container\'s fields win over the pod\'s', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'users', spec: {
        securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000, 4001], fsGroup: 2000 },
        containers: [
          { name: 'pod-level', command: ['sh', '-c', 'touch /tmp/f /dev/shm/g; exec sleep 60'] },
          { name: 'own', command: ['sleep', '60'], securityContext: { runAsUser: 1001, runAsGroup: 3001 } },
        ],
      },
    }))
    const a = status(pidOf(rec, 'pod-level'))
    assert.equal(a.Uid, '1000 1000 1000 1000')
    assert.equal(a.Gid, '3000 3000 3000 3000')
    assert.deepEqual(a.Groups!.split(' ').map(Number).sort(), [2000, 4000, 4001])
    assert.equal(a.CapEff, '0000000000000000', 'a non-root user has no effective capabilities by default')
    const b = status(pidOf(rec, 'own'))
    assert.equal(b.Uid, '1001 1001 1001 1001')
    assert.equal(b.Gid, '3001 3001 3001 3001')
    assert.equal(execIn(rec, 'own', ['id', '-u']).stdout, '1001\n', 'pod exec runs as the container\'s user')
    // files: the container's user and group; /dev/shm (what podnet makes writable) belongs to fsGroup, setgid
    const shm = rec.sandbox.shm!
    await new Promise((r) => setTimeout(r, 200))
    const g = statSync(join(shm, 'g'))
    assert.deepEqual([g.uid, g.gid], [1000, 2000], 'the setgid /dev/shm gives new files the fsGroup')
    const st = statSync(shm)
    assert.equal(st.gid, 2000)
    assert.equal(st.mode & 0o2000, 0o2000)
    assert.equal(execIn(rec, 'pod-level', ['sh', '-c', 'stat -c %u:%g /tmp/f 2>/dev/null || ls -n /tmp/f']).stdout.includes('1000'), true)
  })

  it('capabilities.add for a non-root user: the added capability is effective and ambient (it can bind port 80), nothing else', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'nonroot-bind', spec: {
        containers: [
          { name: 'c', command: ['nc', '-l', '-p', '80'], securityContext: { runAsUser: 1000, runAsNonRoot: true, capabilities: { add: ['NET_BIND_SERVICE'] } } },
          { name: 'plain', command: ['sleep', '60'], securityContext: { runAsUser: 1000 } },
        ],
      },
    }))
    const s = status(pidOf(rec, 'c'))
    assert.equal(s.CapEff, (1 << 10).toString(16).padStart(16, '0'))
    assert.equal(s.CapAmb, (1 << 10).toString(16).padStart(16, '0'))
    const listening = (): boolean => /:0050 0+:0000 0A /.test(execIn(rec, 'c', ['cat', '/proc/net/tcp', '/proc/net/tcp6']).stdout)
    for (let i = 0; i < 50 && !listening(); i++) await new Promise((r) => setTimeout(r, 20))
    assert.ok(listening(), 'nc listens on port 80 as uid 1000')
    // without the added capability the same user cannot bind it
    const r = execIn(rec, 'plain', ['nc', '-l', '-p', '81'])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /Permission denied/)
  })

  it('a setuid-root binary: euid 0 with allowPrivilegeEscalation, the caller\'s uid without it (no_new_privs)', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'setuid', spec: {
        securityContext: { runAsUser: 1000 },
        containers: [
          { name: 'nnp', command: ['sleep', '60'] },
          { name: 'escalate', command: ['sleep', '60'], securityContext: { allowPrivilegeEscalation: true } },
        ],
      },
    }))
    assert.equal(execIn(rec, 'nnp', ['euid']).stdout, '1000 1000\n')
    assert.equal(execIn(rec, 'escalate', ['euid']).stdout, '1000 0\n')
    assert.equal(status(pidOf(rec, 'nnp')).NoNewPrivs, '1')
    assert.equal(status(pidOf(rec, 'escalate')).NoNewPrivs, '0')
  })

  it('readOnlyRootFilesystem: the root is read-only, /tmp, /run and /dev/shm stay writable', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({ name: 'ro', spec: { containers: [{ name: 'c', command: ['sleep', '60'], securityContext: { readOnlyRootFilesystem: true } }] } }))
    const r = execIn(rec, 'c', ['touch', '/srv/x'])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /Read-only file system/)
    for (const d of ['/tmp', '/run', '/dev/shm']) assert.equal(execIn(rec, 'c', ['touch', `${d}/x`]).status, 0, d)
  })

  it('pod sysctls are set in the pod\'s network and IPC namespaces only', async () => {
    const { rt, spec } = t()
    const hostRange = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    const hostShm = readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8')
    const rec = await rt.run(spec({
      name: 'sysctls', spec: {
        securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '40000 40100' }, { name: 'kernel.shm_rmid_forced', value: '1' }] },
        containers: [{ name: 'c', command: ['sleep', '60'] }],
      },
    }))
    assert.equal(execIn(rec, 'c', ['cat', '/proc/sys/net/ipv4/ip_local_port_range']).stdout.replace(/\s+/g, ' ').trim(), '40000 40100')
    assert.equal(execIn(rec, 'c', ['cat', '/proc/sys/kernel/shm_rmid_forced']).stdout.trim(), '1')
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), hostRange)
    assert.equal(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8'), hostShm)
  })

  it('seccompProfile Localhost: the profile\'s rules apply (mkdir refused with its errno), for pod exec too', async () => {
    const { rt, spec } = t()
    const profile = join(dir, 'no-mkdir.json')
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }))
    const rec = await rt.run(spec({ name: 'localhost', spec: { containers: [{ name: 'c', command: ['sleep', '60'], securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: profile } } }] } }))
    const r = execIn(rec, 'c', ['mkdir', '/tmp/d'])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /Permission denied/)
    assert.equal(status(pidOf(rec, 'c')).Seccomp, '2')
  })
})
