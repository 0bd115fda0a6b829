/**
 * Container isolation (issue 11): an escape matrix run as root inside a default container, by
 * the container itself and through pod exec, then the same with privileged: true (so the test
 * proves that the defaults are what blocks each attack); capability sets, NoNewPrivs and
 * Seccomp read from /proc/PID/status on the host; /dev, /sys, /proc as the container sees them.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PodRecord } from '../../../src/runtime/index.js'
import { compileStatic, eventually, execIn, useRuntime } from '../runtime/support.js'

const ESCAPE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/kernel/security/escape.c')

/** Every attack escape.c tries (ping_socket is not an attack: it must work everywhere). */
const ATTACKS = [
  'mount_proc', 'mknod_disk', 'load_module', 'unshare_user', 'unshare_mnt', 'unshare_net', 'clone_newuser', 'setns_pid1',
  'write_core_pattern', 'write_sysrq_trigger', 'write_proc_sys_net', 'write_sys', 'write_proc_irq', 'read_kcore',
  'read_proc_keys', 'raw_socket', 'sethostname', 'keyctl', 'bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at',
  'io_uring_setup', 'reboot', 'swapon', 'net_admin', 'ptrace_pause',
]

/** What privileged: true opens on any kernel (kcore, keys, io_uring and perf depend on the kernel's configuration). */
const OPEN_WHEN_PRIVILEGED = [
  'mount_proc', 'mknod_disk', ...(existsSync('/proc/modules') ? ['load_module'] : []), 'unshare_user', 'unshare_mnt', 'unshare_net', 'clone_newuser', 'setns_pid1',
  'write_core_pattern', 'write_proc_sys_net', 'write_sys', 'raw_socket', 'sethostname', 'keyctl',
  'bpf', 'userfaultfd', 'open_by_handle_at', 'reboot', 'swapon', 'net_admin', 'ptrace_pause',
  ...(existsSync('/proc/sysrq-trigger') ? ['write_sysrq_trigger'] : []),
]

function matrix(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(' ')
    if (k && v) out[k] = v
  }
  return out
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim()
  }
  return out
}

const pidOf = (rec: PodRecord, c: string): number => {
  const st = rec.containers.find((x) => x.name === c)!.state
  if (st.status !== 'running') throw new Error(`${c} is ${st.status}`)
  return st.pid
}

/** What the attacks aim at on the host, read from the test's own (host) side (mounts: those outside podnet's dirs). */
function hostState(podnetDirs: string[]): Record<string, string> {
  return {
    corePattern: readFileSync('/proc/sys/kernel/core_pattern', 'utf8'),
    hostname: hostname(),
    links: execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).replace(/\s+/g, ' '),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => !podnetDirs.some((d) => m.startsWith(d))).join(' '),
  }
}

describe('kernel: container isolation', function () {
  const t = useRuntime()
  let tools = ''

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    tools = mkdtempSync(join(tmpdir(), 'podnet-escape-'))
    compileStatic(readFileSync(ESCAPE_SOURCE, 'utf8'), join(t().rootfs, 'bin'), 'escape')
    for (const a of ['ping', 'ls', 'cat']) {
      try { execFileSync('ln', ['-sf', 'busybox', join(t().rootfs, 'bin', a)]) } catch { /* there */ }
    }
  })
  after(() => { if (tools) rmSync(tools, { recursive: true, force: true }) })

  async function runMatrix(name: string, securityContext?: object): Promise<{ self: Record<string, string>; exec: Record<string, string>; rec: PodRecord }> {
    const { rt, spec } = t()
    const sc = securityContext ? { securityContext } : {}
    const rec = await rt.run(spec({
      name, spec: {
        shareProcessNamespace: true, restartPolicy: 'Never',
        containers: [
          { name: 'sleeper', command: ['sleep', '60'], ...sc },
          { name: 'attacker', command: ['escape', '1'], ...sc },
        ],
      },
    }))
    const ended = await eventually(() => {
      const r = rt.store.read(name)
      return r?.containers.find((c) => c.name === 'attacker')?.state.status === 'terminated' ? r : undefined
    }, 10_000, 'the attacker to end')
    const log = readFileSync(ended.containers.find((c) => c.name === 'attacker')!.logPath, 'utf8')
    const r = execIn(rec, 'sleeper', ['escape', '1'])
    assert.equal(r.status, 0, r.stderr)
    return { self: matrix(log), exec: matrix(r.stdout), rec }
  }

  it('defaults: every attack is blocked, by the container itself and through pod exec, and the host state each aims at is unchanged', async () => {
    const dirs = [t().stateDir, t().runDir]
    const before = hostState(dirs)
    const { self, exec } = await runMatrix('escape-default')
    for (const [who, m] of [['container', self], ['pod exec', exec]] as const) {
      for (const a of ATTACKS) {
        assert.ok(m[a] !== undefined, `${who}: ${a} did not run: ${JSON.stringify(m)}`)
        assert.notEqual(m[a], 'ok', `${who}: ${a} was allowed`)
      }
      assert.equal(m.ping_socket, 'ok', `${who}: ping (ICMP datagram socket) must work without CAP_NET_RAW`)
      // what blocks it: seccomp (EPERM before the kernel looks), a read-only mount, a mask
      for (const a of ['unshare_user', 'clone_newuser', 'keyctl', 'bpf', 'userfaultfd', 'io_uring_setup', 'ptrace_pause', 'mount_proc']) assert.equal(m[a], 'EPERM', `${who}: ${a}`)
      for (const a of ['write_core_pattern', 'write_proc_sys_net', 'write_sys', 'write_proc_irq']) assert.equal(m[a], 'EROFS', `${who}: ${a}`)
      // a kernel without CONFIG_MAGIC_SYSRQ (this one) has no /proc/sysrq-trigger at all
      assert.equal(m.write_sysrq_trigger, existsSync('/proc/sysrq-trigger') ? 'EROFS' : 'ENOENT', `${who}: write_sysrq_trigger`)
      assert.notEqual(m.read_proc_keys, 'ok', `${who}: /proc/keys is masked`)
    }
    assert.deepEqual(hostState(dirs), before)
  })

  it('privileged: true opens the same attacks (so the defaults are what blocks them)', async () => {
    const dirs = [t().stateDir, t().runDir]
    const before = hostState(dirs)
    const { self, exec } = await runMatrix('escape-privileged', { privileged: true })
    for (const [who, m] of [['container', self], ['pod exec', exec]] as const) {
      const opened = ATTACKS.filter((a) => m[a] === 'ok')
      for (const a of OPEN_WHEN_PRIVILEGED) assert.ok(opened.includes(a), `${who}: ${a} stayed blocked when privileged: ${m[a]}`)
    }
    assert.equal(hostState(dirs).corePattern, before.corePattern)
    assert.equal(hostState(dirs).hostname, before.hostname)
  })

  it('/proc/PID/status from the host: capability sets, NoNewPrivs and Seccomp for the defaults, add/drop, and privileged', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({
      name: 'caps', spec: {
        containers: [
          { name: 'default', command: ['sleep', '60'] },
          { name: 'adddrop', command: ['sleep', '60'], securityContext: { capabilities: { add: ['NET_ADMIN', 'cap_net_raw'], drop: ['CHOWN', 'KILL'] } } },
          { name: 'dropall', command: ['sleep', '60'], securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } },
          { name: 'escalate', command: ['sleep', '60'], securityContext: { allowPrivilegeEscalation: true, seccompProfile: { type: 'Unconfined' } } },
          { name: 'privileged', command: ['sleep', '60'], securityContext: { privileged: true } },
        ],
      },
    }))
    // podman 4's 11: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
    const DEFAULT = (1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 4n) | (1n << 5n) | (1n << 6n) | (1n << 7n) | (1n << 8n) | (1n << 10n) | (1n << 18n) | (1n << 31n)
    const hex = (m: bigint): string => m.toString(16).padStart(16, '0')
    // privileged: every capability podnet itself has (this machine's root lacks CAP_SYS_RESOURCE)
    const own = BigInt(`0x${status(process.pid).CapBnd}`)
    const expect: Record<string, { caps: bigint; nnp: string; seccomp: string }> = {
      default: { caps: DEFAULT, nnp: '1', seccomp: '2' },
      adddrop: { caps: (DEFAULT | (1n << 12n) | (1n << 13n)) & ~((1n << 0n) | (1n << 5n)), nnp: '1', seccomp: '2' },
      dropall: { caps: 1n << 10n, nnp: '1', seccomp: '2' },
      escalate: { caps: DEFAULT, nnp: '0', seccomp: '0' },
      privileged: { caps: own, nnp: '0', seccomp: '0' },
    }
    for (const [c, e] of Object.entries(expect)) {
      const s = status(pidOf(rec, c))
      for (const k of ['CapEff', 'CapPrm', 'CapBnd']) assert.equal(s[k], hex(e.caps), `${c} ${k}`)
      assert.equal(s.CapInh, hex(0n), `${c} CapInh`)
      assert.equal(s.CapAmb, hex(0n), `${c} CapAmb`)
      assert.equal(s.NoNewPrivs, e.nnp, `${c} NoNewPrivs`)
      assert.equal(s.Seccomp, e.seccomp, `${c} Seccomp`)
    }
    // pod exec gets exactly the container's sets
    for (const c of ['default', 'adddrop', 'privileged']) {
      const inside = Object.fromEntries(execIn(rec, c, ['cat', '/proc/self/status']).stdout.split('\n').map((l) => l.split(':\t')).filter((p) => p.length === 2)) as Record<string, string>
      const outside = status(pidOf(rec, c))
      for (const k of ['CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Uid', 'Gid']) assert.equal(inside[k]?.trim(), outside[k], `exec in ${c}: ${k}`)
    }
  })

  it('/dev holds only the standard nodes, /sys is read-only and shows the pod\'s own interfaces, /proc/sys is read-only, ping works without NET_RAW', async () => {
    const { rt, spec } = t()
    const rec = await rt.run(spec({ name: 'view', spec: { containers: [{ name: 'c', command: ['sleep', '60'] }] } }))
    const dev = execIn(rec, 'c', ['ls', '/dev']).stdout.split(/\s+/).filter(Boolean).sort()
    assert.deepEqual(dev, ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'])
    const nets = execIn(rec, 'c', ['ls', '/sys/class/net']).stdout.split(/\s+/).filter(Boolean)
    assert.deepEqual(nets, ['lo'], 'the pod has only loopback: /sys is the pod network namespace\'s')
    assert.notDeepEqual(nets, readdirSync('/sys/class/net').sort())
    const mounts = execIn(rec, 'c', ['cat', '/proc/self/mountinfo']).stdout.split('\n')
    const opts = (mp: string): string[] => (mounts.find((l) => l.split(' ')[4] === mp) ?? '').split(' ')[5]?.split(',') ?? []
    assert.ok(opts('/sys').includes('ro'), '/sys read-only')
    assert.ok(opts('/proc/sys').includes('ro'), '/proc/sys read-only')
    assert.ok(!mounts.some((l) => / - cgroup2? /.test(l)), 'no cgroupfs in the container')
    const ping = execIn(rec, 'c', ['escape', 'ping', '127.0.0.1'])
    assert.equal(ping.status, 0, `ping: ${ping.stdout}${ping.stderr}`)
    // the pod's ping_group_range, set in its network namespace only
    assert.equal(execIn(rec, 'c', ['cat', '/proc/sys/net/ipv4/ping_group_range']).stdout.trim().split(/\s+/).join(' '), '0 2147483647')
  })
})
