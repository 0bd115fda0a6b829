import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, BPF_MAXINSNS, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SYSCALLS_AARCH64, SYSCALLS_X86_64,
  capMask, capabilityName, compileSeccomp, parseSeccompProfile, podSysctls, resolveCapabilities, resolveSecurity,
  runSeccomp, runtimeDefaultProfile, sockFilterBytes, DEFAULT_CAPABILITIES, CLONE_NEWUSER, CLONE_NEWNET,
  processSecurityArgs, mountSecurityArgs, type SeccompProfile,
} from '../../../src/runtime/security/index.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import { allocateIdRange, releaseIdRange, userNamespacePool } from '../../../src/runtime/userns.js'

const EPERM = SECCOMP_RET_ERRNO | 1
const ENOSYS = SECCOMP_RET_ERRNO | 38

describe('runtime/security: seccomp BPF', () => {
  for (const [arch, table, audit] of [['x86_64', SYSCALLS_X86_64, AUDIT_ARCH_X86_64], ['aarch64', SYSCALLS_AARCH64, AUDIT_ARCH_AARCH64]] as const) {
    describe(arch, () => {
      const prog = compileSeccomp(runtimeDefaultProfile(new Set(DEFAULT_CAPABILITIES)), arch)
      const run = (name: string, args: bigint[] = [], a = audit): number => {
        const nr = table[name]
        assert.ok(nr !== undefined, `${name} on ${arch}`)
        return runSeccomp(prog, { nr, arch: a, args })
      }
      it('fits the kernel limit and serializes to 8 bytes per instruction', () => {
        assert.ok(prog.length < BPF_MAXINSNS, String(prog.length))
        assert.equal(sockFilterBytes(prog).length, prog.length * 8)
      })
      it('RuntimeDefault allows what programs do and refuses with EPERM what containers should not', () => {
        for (const n of ['read', 'write', 'openat', 'execve', 'exit_group', 'rt_sigreturn', 'futex', 'socket', 'setuid', 'capset', 'prctl']) assert.equal(run(n), SECCOMP_RET_ALLOW, n)
        for (const n of ['mount', 'umount2', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'ptrace', 'userfaultfd', 'open_by_handle_at', 'io_uring_setup', 'pivot_root', 'sethostname', 'fsopen', 'move_mount']) {
          assert.equal(run(n), EPERM, n)
        }
      })
      it('clone: threads and fork pass, namespace flags do not; clone3 gets ENOSYS so libcs fall back', () => {
        assert.equal(run('clone', [0x11n]), SECCOMP_RET_ALLOW) // SIGCHLD
        assert.equal(run('clone', [0x3d0f00n]), SECCOMP_RET_ALLOW) // glibc's pthread_create flags
        assert.equal(run('clone', [BigInt(CLONE_NEWUSER) | 0x11n]), EPERM)
        assert.equal(run('clone', [BigInt(CLONE_NEWNET)]), EPERM)
        assert.equal(run('clone3'), ENOSYS)
      })
      it('personality: only the harmless values', () => {
        assert.equal(run('personality', [0n]), SECCOMP_RET_ALLOW)
        assert.equal(run('personality', [0xffffffffn]), SECCOMP_RET_ALLOW)
        assert.equal(run('personality', [0x0040000n]), EPERM) // ADDR_NO_RANDOMIZE
        assert.equal(run('personality', [1n << 32n]), EPERM) // upper word garbage is not 0
      })
      it('another ABI (i386, arm32) and unknown syscall numbers get the default action', () => {
        assert.equal(runSeccomp(prog, { nr: table.read!, arch: 0x40000003 }), EPERM)
        assert.equal(runSeccomp(prog, { nr: 999, arch: audit }), EPERM)
        if (arch === 'x86_64') assert.equal(runSeccomp(prog, { nr: 0x40000000 + table.read!, arch: audit }), EPERM) // x32
      })
      it('CAP_SYS_ADMIN in the bounding set opens mount, unshare, setns and any clone', () => {
        const admin = compileSeccomp(runtimeDefaultProfile(new Set([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'])), arch)
        for (const n of ['mount', 'unshare', 'setns', 'clone3']) assert.equal(runSeccomp(admin, { nr: table[n]!, arch: audit }), SECCOMP_RET_ALLOW, n)
        assert.equal(runSeccomp(admin, { nr: table.clone!, arch: audit, args: [BigInt(CLONE_NEWUSER)] }), SECCOMP_RET_ALLOW)
        assert.equal(runSeccomp(admin, { nr: table.keyctl!, arch: audit }), EPERM)
      })
    })
  }

  it('argument operators compare 64-bit values (a naive reference decides)', () => {
    const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const
    const values = [0n, 1n, 5n, 0xffffffffn, 0x100000000n, 0x100000005n, 0xffffffff00000000n, 0xffffffffffffffffn]
    const ref = (op: typeof ops[number], x: bigint, v: bigint, v2: bigint): boolean => ({
      SCMP_CMP_EQ: x === v, SCMP_CMP_NE: x !== v, SCMP_CMP_LT: x < v, SCMP_CMP_LE: x <= v, SCMP_CMP_GE: x >= v, SCMP_CMP_GT: x > v,
      SCMP_CMP_MASKED_EQ: (x & v) === v2,
    })[op]
    for (const op of ops) {
      for (const v of values) {
        const v2 = v & 0x100000001n
        const p: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: v, valueTwo: v2, op }] }] }
        const prog = compileSeccomp(p, 'x86_64')
        for (const x of values) {
          const got = runSeccomp(prog, { nr: 0, arch: AUDIT_ARCH_X86_64, args: [0n, 0n, x] }) === SECCOMP_RET_ALLOW
          assert.equal(got, ref(op, x, v, v2), `${op} ${x} vs ${v}`)
        }
      }
    }
  })

  it('Localhost profiles: OCI format parsed, rules in order, errnoRet, Docker includes.caps; bad input names the field', () => {
    const p = parseSeccompProfile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
      ],
    }, 'p')
    const prog = compileSeccomp(p, 'x86_64')
    assert.equal(runSeccomp(prog, { nr: SYSCALLS_X86_64.mkdir!, arch: AUDIT_ARCH_X86_64 }), SECCOMP_RET_ERRNO | 13)
    assert.equal(runSeccomp(prog, { nr: SYSCALLS_X86_64.chmod!, arch: AUDIT_ARCH_X86_64 }), SECCOMP_RET_ALLOW)
    assert.throws(() => parseSeccompProfile({ defaultAction: 'SCMP_ACT_NOTIFY' }, 'x'), /x\.defaultAction: unsupported action/)
    assert.throws(() => parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 7, value: 0, op: 'SCMP_CMP_EQ' }] }] }, 'x'), /x\.syscalls\[0\]\.args\[0\]\.index/)
    assert.throws(() => parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', listenerPath: '/x' }, 'x'), /x\.listenerPath: not supported/)
  })
})

describe('runtime/security: capabilities and securityContext', () => {
  it('capability names with or without CAP_, any case; ALL; unknown names refused naming the field', () => {
    assert.equal(capabilityName('net_admin', 'f'), 'CAP_NET_ADMIN')
    assert.equal(capabilityName('CAP_SYS_ADMIN', 'f'), 'CAP_SYS_ADMIN')
    assert.equal(capabilityName('all', 'f'), 'ALL')
    assert.throws(() => capabilityName('NET_FLY', 'spec.containers[0].securityContext.capabilities.add[0]'), /spec\.containers\[0\]\.securityContext\.capabilities\.add\[0\]: unknown capability "NET_FLY"/)
  })

  it('add/drop with containerd\'s order: add ALL, drop ALL, add, drop', () => {
    const base = capMask(DEFAULT_CAPABILITIES)
    assert.equal(resolveCapabilities(base, ['ALL'], ['CAP_SYS_ADMIN']) & capMask(['CAP_SYS_ADMIN']), 0n)
    assert.equal(resolveCapabilities(base, ['CAP_NET_RAW'], ['ALL']), capMask(['CAP_NET_RAW']))
    assert.equal(resolveCapabilities(base, ['CAP_KILL'], ['CAP_KILL']) & capMask(['CAP_KILL']), 0n)
  })

  it('resolution: container fields win over the pod\'s; non-root users keep only added capabilities (ambient); privileged', () => {
    const s = resolveSecurity({ runAsUser: 1000, runAsGroup: 2000, supplementalGroups: [5, 6], fsGroup: 7 }, { runAsUser: 1001, capabilities: { add: ['CAP_NET_BIND_SERVICE'], drop: [] } })
    assert.deepEqual([s.uid, s.gid, s.groups], [1001, 2000, [5, 6, 7]])
    assert.equal(s.caps.effective, capMask(['CAP_NET_BIND_SERVICE']))
    assert.equal(s.caps.ambient, capMask(['CAP_NET_BIND_SERVICE']))
    assert.equal(s.noNewPrivs, true)
    assert.equal(s.seccompType, 'RuntimeDefault')
    const p = resolveSecurity(undefined, { privileged: true })
    assert.equal(p.seccompType, 'Unconfined')
    assert.deepEqual([p.noNewPrivs, p.maskedPaths.length, p.sysfsReadOnly], [false, 0, false])
    assert.ok(processSecurityArgs(s).includes('--no-new-privs'))
    assert.deepEqual(mountSecurityArgs(p), ['--sysfs', 'rw'])
  })

  it('sysctls: ping_group_range by default, the pod\'s own override it', () => {
    assert.deepEqual(podSysctls(undefined), [{ name: 'net.ipv4.ping_group_range', value: '0 2147483647' }])
    assert.deepEqual(podSysctls({ sysctls: [{ name: 'net.ipv4.ping_group_range', value: '0 0' }, { name: 'kernel.shm_rmid_forced', value: '1' }] }),
      [
        { name: 'net.ipv4.ping_group_range', value: '0 0', field: 'spec.securityContext.sysctls[0].value' },
        { name: 'kernel.shm_rmid_forced', value: '1', field: 'spec.securityContext.sysctls[1].value' },
      ], 'the pod\'s own carry their field path (a value the kernel refuses is reported naming it)')
  })

  describe('manifests: bad input is refused naming the field', () => {
    const root = mkdtempSync(join(tmpdir(), 'podnet-sec-unit-'))
    after(() => rmSync(root, { recursive: true, force: true }))
    const parse = (spec: Record<string, unknown>, container: Record<string, unknown> = {}): unknown => validateManifest({
      metadata: { name: 'p', annotations: { 'podnet.io/rootfs': root } },
      spec: { containers: [{ name: 'c', command: ['true'], ...container }], ...spec },
    }, { baseDir: root })
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
      ['unknown capability', {}, { securityContext: { capabilities: { add: ['NET_FLY'] } } }, /^spec\.containers\[0\]\.securityContext\.capabilities\.add\[0\]: unknown capability/],
      ['unsafe sysctl', { securityContext: { sysctls: [{ name: 'kernel.core_pattern', value: 'x' }] } }, {}, /^spec\.securityContext\.sysctls\[0\]\.name: sysctl "kernel\.core_pattern" is not allowed/],
      ['runAsNonRoot with uid 0', {}, { securityContext: { runAsNonRoot: true } }, /^spec\.containers\[0\]\.securityContext\.runAsNonRoot: container has runAsNonRoot and image will run as root \(pod: "p", container: c\)/],
      ['pod runAsNonRoot with runAsUser 0', { securityContext: { runAsNonRoot: true, runAsUser: 0 } }, {}, /^spec\.securityContext\.runAsNonRoot: container has runAsNonRoot/],
      ['Localhost profile that does not parse', {}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'bad.json' } } }, /^spec\.containers\[0\]\.securityContext\.seccompProfile\.localhostProfile: .*bad\.json is not JSON/],
      ['Localhost profile missing', {}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'none.json' } } }, /localhostProfile: cannot read .*none\.json: ENOENT/],
      ['seLinuxOptions', {}, { securityContext: { seLinuxOptions: { level: 's0' } } }, /^spec\.containers\[0\]\.securityContext\.seLinuxOptions: not supported: SELinux/],
      ['unknown field', { securityContext: { runAsUsr: 1 } }, {}, /^spec\.securityContext\.runAsUsr: unknown or unsupported field/],
      ['procMount Unmasked', {}, { securityContext: { procMount: 'Unmasked' } }, /procMount: unsupported value "Unmasked"/],
      ['no escalation but privileged', {}, { securityContext: { privileged: true, allowPrivilegeEscalation: false } }, /allowPrivilegeEscalation: cannot set `allowPrivilegeEscalation` to false and `privileged` to true/],
      ['negative uid', {}, { securityContext: { runAsUser: -1 } }, /runAsUser: must be an integer from 0/],
    ]
    before(() => writeFileSync(join(root, 'bad.json'), '{ "defaultAction": '))
    for (const [what, spec, container, re] of cases) {
      it(what, () => assert.throws(() => parse(spec, container), (e: Error) => re.test(e.message) || assert.fail(e.message)))
    }
    it('a valid Localhost profile is kept with the spec (the pod keeps the profile it started with)', () => {
      writeFileSync(join(root, 'ok.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }))
      const m = parse({}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'ok.json' } } }) as { spec: { containers: Array<{ securityContext: { seccompProfile: { profileText: string } } }> } }
      assert.match(m.spec.containers[0]!.securityContext.seccompProfile.profileText, /mkdir/)
    })
  })
})

describe('runtime/userns: ID ranges', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-userns-unit-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the pool: PODNET_USERNS_POOL, else /etc/subuid\'s containers entry, else 2^31 up; bad values name their source', () => {
    const subuid = join(dir, 'subuid')
    writeFileSync(subuid, 'alice:100000:65536\ncontainers:1000000:655360\n')
    assert.deepEqual(userNamespacePool({}, subuid), { start: 1000000, count: 655360 })
    assert.deepEqual(userNamespacePool({}, join(dir, 'none')), { start: 2 ** 31, count: 2 ** 31 - 65536 })
    assert.deepEqual(userNamespacePool({ PODNET_USERNS_POOL: '200000:131072' }, subuid), { start: 200000, count: 131072 })
    assert.throws(() => userNamespacePool({ PODNET_USERNS_POOL: '5:10' }), /PODNET_USERNS_POOL: must be START:COUNT/)
  })

  it('ranges are disjoint, idempotent per pod, released, and a dead holder\'s range is taken over; a full pool says so', () => {
    const state = mkdtempSync(join(dir, 'state-'))
    const pool = { start: 100000, count: 3 * 65536 }
    const live = new Set(['a', 'b'])
    const a = allocateIdRange(state, 'a', (p) => live.has(p), pool)
    const b = allocateIdRange(state, 'b', (p) => live.has(p), pool)
    assert.deepEqual([a.hostId, b.hostId], [100000, 165536])
    assert.equal(allocateIdRange(state, 'a', (p) => live.has(p), pool).hostId, 100000)
    releaseIdRange(state, 'a')
    assert.equal(allocateIdRange(state, 'c', (p) => live.has(p) || p === 'c', pool).hostId, 100000)
    allocateIdRange(state, 'd', () => true, pool)
    assert.throws(() => allocateIdRange(state, 'e', () => true, pool), /no free user-namespace range: the pool 100000:196608 has 3 ranges of 65536, all in use/)
    live.delete('b')
    assert.equal(allocateIdRange(state, 'e', (p) => live.has(p) || p === 'c' || p === 'd', pool).hostId, 165536, 'b is gone: its range is reused')
  })
})
