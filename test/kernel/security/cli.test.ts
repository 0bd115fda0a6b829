/**
 * Container isolation through the CLI and its supervisor, on a bridge network:
 * - the demo's workload (busybox httpd on port 80 and a sidecar) works under the default
 *   securityContext, reached from the host through a published port and from another pod,
 *   with the defaults read from /proc/PID/status on the host; and `podnet demo` itself passes;
 * - `pod exec` joins the container's cgroups and gets its security (/proc/PID/cgroup and
 *   /proc/PID/status of the exec'd process, read from the host);
 * - `privileged: true` is warned about on stderr (run -d through the supervisor, and the
 *   foreground run) and shown as a pod condition; hostNetwork/hostPID/hostIPC: true refused.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { Cgroup, detectCgroupLayout } from '../../../src/runtime/cgroups/index.js'
import type { PodRecord } from '../../../src/runtime/index.js'
import { UPSTREAM } from '../../../src/testing/index.js'
import { eventually, podnetBin, useCliWorld } from '../runtime/support.js'

/** podman 4's 11 default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP. */
const DEFAULT_CAPS = [0n, 1n, 3n, 4n, 5n, 6n, 7n, 8n, 10n, 18n, 31n].reduce((m, b) => m | (1n << b), 0n).toString(16).padStart(16, '0')

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
  if (st.status !== 'running') throw new Error(`${c} is ${st.status}: ${JSON.stringify(st)}`)
  return st.pid
}

/** The host's busybox wget run in a namespace (outside any container). */
function wgetIn(ns: { spawnSync: (cmd: string, args: string[], o: object) => { status: number | null; stdout: string | Buffer; stderr: string | Buffer } }, url: string): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))!
  const r = ns.spawnSync(busybox, ['wget', '-q', '-O', '-', url], { encoding: 'utf8', timeout: 8000 })
  if (r.status !== 0) throw new Error(`wget ${url}: ${String(r.stderr).trim() || `exit ${r.status}`}`)
  return String(r.stdout)
}

/** The host pid of the process whose argv is exactly argv (unique in the test). */
function findProcess(argv: string[]): number | undefined {
  const want = `${argv.join('\0')}\0`
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8') === want) return Number(p)
    } catch { /* gone */ }
  }
  return undefined
}

describe('kernel: container isolation through the CLI', function () {
  this.timeout(60_000)
  const w = useCliWorld()
  before(() => {
    for (const a of ['httpd', 'wget']) if (!existsSync(join(w().rootfs, 'bin', a))) symlinkSync('busybox', join(w().rootfs, 'bin', a))
  })

  const pod = (name: string, spec: string, annotations = ''): string => w().manifest(name, `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations:
    podnet.io/rootfs: ${w().rootfs}
    podnet.io/network: ${w().network}
${annotations}spec:
  terminationGracePeriodSeconds: 0
${spec}`)

  it('the demo\'s workload under the default securityContext: httpd on port 80 and a sidecar, reached from the host (published port) and from another pod; the defaults read from /proc/PID/status', async () => {
    const { ok, podnet, topo } = w()
    ok('pod', 'run', '-d', '--host-netns', topo.host.name, '-f', pod('web', `
  containers:
    - name: server
      command: [sh, -c, 'mkdir -p /tmp/www && echo hello-from-web > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www']
      ports: [{ containerPort: 80, hostPort: 18090 }]
    - name: sidecar
      command: [sh, -c, 'until wget -q -O /tmp/page http://127.0.0.1/; do sleep 0.1; done; echo "localhost: $(cat /tmp/page)"; exec sleep 3600']
`))
    ok('pod', 'run', '-d', '--host-netns', topo.host.name, '-f', pod('client', `
  containers:
    - name: c
      command: [sleep, "3600"]
`))
    const rec = w().inspect('web')
    const ip = rec.sandbox.ips[0]!.split('/')[0]!
    // the defaults, from the host: podman 4's 11 capabilities, no ambient or inheritable, no_new_privs, a seccomp filter
    for (const c of ['server', 'sidecar']) {
      const s = status(pidOf(rec, c))
      for (const k of ['CapEff', 'CapPrm', 'CapBnd']) assert.equal(s[k], DEFAULT_CAPS, `${c} ${k}`)
      assert.equal(s.CapInh, '0000000000000000', `${c} CapInh`)
      assert.equal(s.CapAmb, '0000000000000000', `${c} CapAmb`)
      assert.equal(s.NoNewPrivs, '1', `${c} NoNewPrivs`)
      assert.equal(s.Seccomp, '2', `${c} Seccomp (a filter)`)
      assert.equal(s.Uid!.split(/\s+/)[0], '0', `${c} runs as root in its namespaces`)
    }
    // port 80 is bound by root thanks to NET_BIND_SERVICE alone (NET_ADMIN, NET_RAW, SYS_ADMIN are absent)
    await eventually(() => /localhost: hello-from-web/.test(podnet(['pod', 'logs', 'web', '-c', 'sidecar']).stdout) ? true : undefined, 10_000, 'the sidecar to reach httpd on 127.0.0.1:80')
    // from the host: the published port on the host's own loopback and on its uplink address, and from upstream through DNAT
    assert.equal(wgetIn(topo.host.ns, 'http://127.0.0.1:18090/'), 'hello-from-web\n')
    assert.equal(wgetIn(topo.upstream.ns, `http://${UPSTREAM.hostV4}:18090/`), 'hello-from-web\n')
    // pod to pod over the bridge, from a process exec'd into the other pod (with the defaults too)
    assert.equal(ok('pod', 'exec', 'client', '--', 'wget', '-q', '-O', '-', `http://${ip}/`), 'hello-from-web\n')
    assert.equal(ok('pod', 'exec', 'client', '--', 'wget', '-q', '-O', '-', `http://${UPSTREAM.hostV4}:18090/`), 'hello-from-web\n', 'pod to the published port (hairpin)')
  })

  it('pod exec joins the container\'s cgroups and gets its security: /proc/PID/cgroup and /proc/PID/status of the exec\'d process, from the host', async () => {
    const { ok, env } = w()
    ok('pod', 'run', '-d', '--host-netns', w().topo.host.name, '-f', pod('exec-cg', `
  containers:
    - name: first
      command: [sleep, "3600"]
    - name: second
      command: [sleep, "3600"]
      securityContext: { runAsUser: 1000, capabilities: { add: [NET_BIND_SERVICE] } }
      resources: { limits: { memory: 64Mi } }
`))
    const rec = w().inspect('exec-cg')
    for (const [c, marker] of [['first', '1234.5'], ['second', '2345.6']] as const) {
      const argv = ['sleep', marker]
      const child = spawn(process.execPath, [podnetBin, 'pod', 'exec', 'exec-cg', '-c', c, '--', ...argv], { env, stdio: 'ignore' })
      try {
        const pid = await eventually(() => findProcess(argv), 10_000, `the exec'd ${argv.join(' ')}`)
        const cs = rec.containers.find((x) => x.name === c)!
        assert.ok(cs.cgroup, 'the container has a cgroup')
        const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        assert.equal(cgroups, readFileSync(`/proc/${pidOf(rec, c)}/cgroup`, 'utf8'), `${c}: the exec'd process is in the container's cgroups`)
        assert.notEqual(cgroups, readFileSync('/proc/self/cgroup', 'utf8'), 'not in the caller\'s')
        assert.ok(cgroups.split('\n').some((l) => l.endsWith(`:/${cs.cgroup}`)), `${c}: ${cgroups}`)
        // podnet's view: the container's cgroup.procs list it
        for (const f of new Cgroup(detectCgroupLayout(), cs.cgroup).procsFiles()) assert.ok(readFileSync(f, 'utf8').split('\n').includes(String(pid)), `${f} lists ${pid}`)
        const inside = status(pid)
        const main = status(pidOf(rec, c))
        for (const k of ['Uid', 'Gid', 'CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Seccomp']) assert.equal(inside[k], main[k], `${c}: exec'd ${k}`)
      } finally {
        child.kill('SIGKILL')
        const pid = findProcess(argv)
        if (pid !== undefined) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
      }
    }
  })

  it('privileged: true is warned about on stderr (run -d through the supervisor, and the foreground run) and shown as a pod condition', async () => {
    const { podnet, ok } = w()
    const warning = 'podnet: warning: spec.containers[1].securityContext.privileged: container "admin" runs privileged: every capability podnet has, no seccomp filter, no no_new_privs, /proc and /sys writable and unmasked: it can take over the node\n'
    const spec = (cmd: string): string => `
  restartPolicy: Never
  containers:
    - name: plain
      command: [${cmd}]
    - name: admin
      command: [${cmd}]
      securityContext: { privileged: true }
`
    const d = podnet(['pod', 'run', '-d', '--host-netns', w().topo.host.name, '-f', pod('priv', spec('sleep, "3600"'))])
    assert.equal(d.status, 0, d.stderr)
    assert.equal(d.stderr, warning, 'the supervisor parsed it; its warning reaches the user')
    const rec = w().inspect('priv')
    assert.deepEqual(rec.conditions?.map((c) => [c.type, c.status, c.reason]), [['Privileged', 'True', 'PrivilegedContainers']])
    assert.match(rec.conditions![0]!.message!, /^container admin runs privileged: every capability/)
    assert.match(ok('pod', 'inspect', 'priv'), /^Condition: +Privileged=True \(PrivilegedContainers\) since \S+: container admin runs privileged/m)
    assert.equal(status(pidOf(rec, 'admin')).Seccomp, '0', 'and it is privileged')
    const f = podnet(['pod', 'run', '--rm', '--host-netns', w().topo.host.name, '-f', pod('priv-fg', spec('"true"'))])
    assert.equal(f.status, 0, f.stderr)
    assert.ok(f.stderr.startsWith(warning), f.stderr)
    // a pod without a privileged container: no warning, no condition
    const plain = podnet(['pod', 'run', '-d', '--host-netns', w().topo.host.name, '-f', pod('unpriv', '  containers:\n    - { name: c, command: [sleep, "3600"] }\n')])
    assert.equal(plain.stderr, '')
    assert.equal(w().inspect('unpriv').conditions, undefined)
  })

  it('hostNetwork, hostPID, hostIPC: true are refused (exit 2, one line naming the field), nothing created; false is accepted', () => {
    const { podnet } = w()
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) {
      for (const detach of [true, false]) {
        const r = podnet(['pod', 'run', ...(detach ? ['-d'] : []), '--host-netns', w().topo.host.name, '-f', pod(`host-${k.toLowerCase()}`, `  ${k}: true\n  containers:\n    - { name: c, command: [sleep, "3600"] }\n`)])
        assert.equal(r.status, 2, r.stderr)
        assert.match(r.stderr, new RegExp(`^podnet: spec\\.${k}: true is not supported: podnet runs every pod in namespaces of its own and never in the node's \\w+ namespace \\(see docs/security\\.md\\)\\n$`))
      }
      assert.deepEqual(JSON.parse(w().ok('pod', 'ls', '--json')), [])
      assert.deepEqual(w().leftovers(`host-${k.toLowerCase()}`, []), [])
    }
    const r = podnet(['pod', 'run', '-d', '--host-netns', w().topo.host.name, '-f', pod('host-false', '  hostNetwork: false\n  hostPID: false\n  hostIPC: false\n  containers:\n    - { name: c, command: [sleep, "3600"] }\n')])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')
  })
})

describe('kernel: podnet demo under the default securityContext', function () {
  this.timeout(120_000)
  it('passes, and reports the server\'s defaults read from /proc/PID/status', function () {
    if (process.getuid?.() !== 0) this.skip()
    const r = spawnSync(process.execPath, [podnetBin, 'demo'], { encoding: 'utf8', timeout: 110_000 })
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
    assert.match(r.stdout, /demo passed: nothing left behind/)
    assert.doesNotMatch(r.stdout, /FAIL/)
    assert.match(r.stdout, /ok {3}server runs with the default isolation: 11 capabilities \(no NET_RAW, NET_ADMIN, SYS_ADMIN\), no_new_privs, seccomp filter/)
    assert.match(r.stdout, /ok {3}sidecar -> 127\.0\.0\.1:80/)
    assert.match(r.stdout, /ok {3}internet -> host:8080 -> web:80/)
  })
})
