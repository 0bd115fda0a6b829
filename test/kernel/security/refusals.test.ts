/**
 * securityContext refusals that can only happen at run time (the manifest parsed, the kernel or
 * the compiler says no): through the CLI and its supervisor, on a bridge network, each fails
 * with one line naming the field, and nothing of the pod is left: no record, no pod directory,
 * no pinned namespace, no cgroup, no process, no veth, no address, port claim or rule (the
 * world's leftovers()), no user-namespace range. And through the library, a PodSpec that never
 * went through the manifest parser is refused before anything is made.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import type { PodSpec } from '../../../src/runtime/index.js'
import { SYSCALLS_X86_64 } from '../../../src/runtime/security/index.js'
import { cgroupExists, eventually, useCliWorld, useRuntime } from '../runtime/support.js'

/** pids of the processes a pod is made of (pause, launchers): what a half-made pod would leave. */
function podProcesses(): string[] {
  const out: string[] = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')
      if (/catatonit|podnet-launch|\bpause\b/.test(cmd)) out.push(`${p} ${cmd.trim()}`)
    } catch { /* gone */ }
  }
  return out.sort()
}

describe('kernel: securityContext refusals at run time leave nothing', function () {
  this.timeout(60_000)
  const w = useCliWorld()

  async function refused(name: string, yaml: string, field: RegExp, extra: () => void = () => undefined): Promise<void> {
    const { topo } = w()
    const before = podProcesses()
    const r = w().podnet(['pod', 'run', '-d', '--host-netns', topo.host.name, '-f', w().manifest(name, yaml)])
    assert.equal(r.status, 2, `exit 2 (bad input): ${r.stdout}${r.stderr}`)
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('podnet: warning:'))
    assert.equal(lines.length, 1, `one line: ${r.stderr}`)
    assert.match(lines[0]!, field)
    assert.deepEqual(JSON.parse(w().ok('pod', 'ls', '--json')), [], 'no record')
    for (const d of [topo.stateDir, topo.runDir]) {
      const dir = join(d, 'pods', name)
      assert.ok(!existsSync(dir) || readdirSync(dir).length === 0, `nothing under ${dir}: ${existsSync(dir) ? readdirSync(dir).join(' ') : ''}`)
    }
    assert.deepEqual(w().leftovers(name, []), [], 'no pin, cgroup, veth, address, port or rule')
    extra()
    const left = (): string[] => podProcesses().filter((p) => !before.includes(p))
    await eventually(() => (left().length ? undefined : true), 5000, 'no process left').catch(() => assert.fail(`processes left: ${left().join('; ')}`))
  }

  const manifest = (name: string, spec: string, annotations = ''): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations:
    podnet.io/rootfs: ${w().rootfs}
    podnet.io/network: ${w().network}
${annotations}spec:
  terminationGracePeriodSeconds: 0
${spec}`

  const sysctlSpec = (hostUsers: boolean): string => `
  hostUsers: ${hostUsers}
  securityContext:
    sysctls:
      - { name: net.ipv4.tcp_syncookies, value: "1" }
      - { name: net.ipv4.ip_local_port_range, value: "50000 40000" }
  containers:
    - name: web
      command: [sleep, "60"]
      ports: [{ containerPort: 80, hostPort: 18080 }]
`
  const sysctlRefused = /^podnet: spec\.securityContext\.sysctls\[1\]\.value: the kernel refused net\.ipv4\.ip_local_port_range="50000 40000": (EINVAL|Invalid argument)$/

  it('a sysctl value the kernel refuses: exit 2 naming spec.securityContext.sysctls[i], the pod undone', async () => {
    await refused('bad-sysctl', manifest('bad-sysctl', sysctlSpec(true)), sysctlRefused)
  })

  it('the same with hostUsers: false (the launcher sets it, in the pod\'s user namespace)', async () => {
    await refused('bad-sysctl-uns', manifest('bad-sysctl-uns', sysctlSpec(false)), sysctlRefused)
  })

  it('a Localhost profile that compiles to more than the kernel\'s 4,096 BPF instructions: exit 2 naming the profile, the pod undone', async () => {
    const dir = mkdtempSync('/tmp/podnet-bigprofile-')
    try {
      // one rule with three argument tests for each of 300 syscalls: ~20 instructions each
      const names = Object.keys(SYSCALLS_X86_64).filter((n) => !/^(exit|exit_group|rt_sigreturn|execve)$/.test(n)).slice(0, 300)
      const profile = join(dir, 'big.json')
      writeFileSync(profile, JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names, action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }, { index: 2, value: 3, op: 'SCMP_CMP_EQ' }] }],
      }))
      await refused('big-profile', manifest('big-profile', `
  containers:
    - name: web
      command: [sleep, "60"]
      securityContext:
        seccompProfile: { type: Localhost, localhostProfile: ${profile} }
`), /^podnet: spec\.containers\[0\]\.securityContext\.seccompProfile\.localhostProfile: .*compiles to \d+ instructions, more than the kernel's 4096$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('hostUsers: false with a rootfs on a filesystem that cannot be idmapped (ramfs): exit 2 naming the container, no range kept', async () => {
    const mnt = mkdtempSync('/run/podnet-ramfs-')
    execFileSync('mount', ['-t', 'ramfs', 'none', mnt])
    try {
      const root = join(mnt, 'root')
      mkdirSync(root)
      execFileSync('cp', ['-a', `${w().rootfs}/.`, root])
      await refused('uns-ramfs', manifest('uns-ramfs', `
  hostUsers: false
  containers:
    - name: web
      command: [sleep, "60"]
      ports: [{ containerPort: 80, hostPort: 18081 }]
`, `    podnet.io/rootfs.web: ${root}\n`), /^podnet: spec\.containers\[0\] rootfs: hostUsers: false needs an idmapped rootfs: .*cannot be idmapped/, () => {
        const dir = join(w().topo.stateDir, 'userns')
        const held = existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').trim()) : []
        assert.ok(!held.includes('uns-ramfs'), 'the user-namespace range went back to the pool')
      })
    } finally {
      execFileSync('umount', [mnt])
      rmSync(mnt, { recursive: true, force: true })
    }
  })
})

describe('kernel: the library refuses an unvalidated PodSpec\'s securityContext before making anything', function () {
  const t = useRuntime()

  it('runAsNonRoot with uid 0 and a Localhost profile that does not parse, in a PodSpec built by hand: InvalidArgumentError naming the field, no record, no cgroup', async () => {
    const { rt, rootfs, cgroupParent, runDir } = t()
    const base = (name: string, sc: NonNullable<PodSpec['containers'][number]['securityContext']>): PodSpec => ({
      name, hostname: name, restartPolicy: 'Never', shareProcessNamespace: false, shareUts: true, terminationGracePeriodSeconds: 0, annotations: {},
      containers: [{ name: 'c', rootfs, argv: ['sleep', '60'], env: [], ports: [], limits: {}, securityContext: sc }],
    })
    const cases: Array<[PodSpec, RegExp]> = [
      [base('lib-nonroot', { runAsNonRoot: true }), /^spec\.containers\[0\]\.securityContext\.runAsNonRoot: container has runAsNonRoot and image will run as root/],
      [base('lib-profile', { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json', profileText: '{"defaultAction":"SCMP_ACT_NOTIFY"}' } }), /^spec\.containers\[0\]\.securityContext\.seccompProfile\.localhostProfile.*defaultAction: unsupported action "SCMP_ACT_NOTIFY"/],
    ]
    for (const [spec, re] of cases) {
      await assert.rejects(rt.run(spec), (e: Error) => {
        assert.ok(e instanceof InvalidArgumentError, `${e.constructor.name}: ${e.message}`)
        assert.match(e.message, re)
        return true
      })
      assert.equal(rt.store.read(spec.name), undefined, 'no record')
      assert.ok(!existsSync(join(runDir, 'pods', spec.name)), 'no run dir (pins)')
      assert.ok(!cgroupExists(`${cgroupParent}/${spec.name}`), 'no cgroup')
    }
  })
})
