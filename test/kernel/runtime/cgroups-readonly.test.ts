/**
 * A machine whose cgroups podnet cannot write (a read-only cgroup file system, as in a container
 * started without --privileged): pod run says so in one line and names the opt-out, makes
 * nothing; with --no-cgroups (annotation podnet.io/cgroups: "off") the pod runs without them.
 * The commands, and the supervisor they start, run in a private mount namespace where every
 * cgroup hierarchy is bind-remounted read-only (the machine's own mounts are not touched).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { PodRecord } from '../../../src/runtime/index.js'
import { podProcesses, podnetBin, useCliWorld, type CliResult } from './support.js'

/** Remounts every cgroup hierarchy read-only in a new private mount namespace, then runs podnet. */
const READONLY_CGROUPS = [
  'set -e',
  "for m in $(awk '{ split($0, p, \" - \"); split(p[2], t, \" \"); if (t[1] == \"cgroup\" || t[1] == \"cgroup2\") print $5 }' /proc/self/mountinfo); do",
  '  mount -o remount,bind,ro "$m"',
  'done',
  'exec "$@"',
].join('\n')

describe('kernel: pods where cgroups are not writable', function () {
  this.timeout(90_000)
  const world = useCliWorld()
  const roPodnet = (...args: string[]): CliResult => {
    const w = world()
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', READONLY_CGROUPS, 'sh', process.execPath, podnetBin, ...args],
      { encoding: 'utf8', env: w.env, timeout: 30_000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const manifest = (name: string, limits: boolean, annotation?: string): string => world().manifest(name, [
    'metadata:', `  name: ${name}`, '  annotations:', `    podnet.io/rootfs: ${world().rootfs}`, `    podnet.io/network: ${world().network}`,
    ...(annotation !== undefined ? [`    podnet.io/cgroups: "${annotation}"`] : []),
    'spec:', '  terminationGracePeriodSeconds: 0', '  containers:', '  - name: c', '    command: [sleep, "3600"]',
    ...(limits ? ['    resources:', '      limits: {memory: 32Mi, cpu: 250m}'] : []), '',
  ].join('\n'))

  it('the mount namespace of these commands really has read-only cgroups (else this file proves nothing)', () => {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', READONLY_CGROUPS, 'sh', 'sh', '-c',
      `awk '{ split($0, p, " - "); split(p[2], t, " "); if (t[1] ~ /^cgroup2?$/) print $5, $6 }' /proc/self/mountinfo`], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    const mounts = r.stdout.trim().split('\n').filter(Boolean)
    assert.ok(mounts.length > 0, 'no cgroup mount')
    for (const m of mounts) assert.match(m, /\bro\b/, m)
    // and ours still are writable
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2? /.test(l))) assert.match(line.split(' ')[5]!, /^rw/, line)
  })

  for (const limits of [true, false]) {
    it(`pod run${limits ? ' with limits' : ''}: one line naming the reason and --no-cgroups, exit 1, nothing made`, () => {
      const w = world()
      const r = roPodnet('pod', 'run', '-d', '-f', manifest('ro', limits))
      assert.equal(r.status, 1, r.stderr)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0]!, /cgroups are not writable here \(mkdir \/\S+: a read-only file system\)/)
      assert.match(lines[0]!, limits ? /spec\.containers\[0\]\.resources\.limits cannot be enforced/ : /podnet puts every pod in one/)
      assert.match(lines[0]!, /--no-cgroups \(annotation podnet\.io\/cgroups: "off"\)/)
      assert.deepEqual(JSON.parse(w.ok('pod', 'ls', '--json')), [])
      assert.deepEqual(w.leftovers('ro', []), [])
    })
  }

  for (const how of ['--no-cgroups', 'the annotation']) {
    it(`with ${how}: the pod runs outside any podnet cgroup, limits are reported as not enforced, pod rm leaves nothing`, () => {
      const w = world()
      const r = how === '--no-cgroups'
        ? roPodnet('pod', 'run', '-d', '--no-cgroups', '-f', manifest('free', true))
        : roPodnet('pod', 'run', '-d', '-f', manifest('free', true, 'off'))
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stderr, /warning: spec\.containers\[0\]\.resources\.limits: not enforced, the pod runs without cgroups/)
      const rec = w.inspect('free')
      assert.equal(rec.spec.cgroups, false)
      assert.equal(rec.sandbox.cgroup, undefined)
      assert.equal(rec.spec.annotations['podnet.io/cgroups'], 'off')
      const c = rec.containers[0]!.state
      assert.equal(c.status, 'running')
      const cg = readFileSync(`/proc/${c.status === 'running' ? c.pid : 0}/cgroup`, 'utf8')
      assert.ok(!cg.includes(w.cgroupParent), cg)
      assert.equal(w.podnet(['pod', 'exec', 'free', '--', 'true']).status, 0)
      const procs = podProcesses(rec)
      w.ok('pod', 'rm', 'free', '-t', '0')
      assert.deepEqual(w.leftovers('free', procs), [])
    })
  }

  it('a podnet.io/cgroups value other than "on" or "off": exit 2 naming the annotation', () => {
    const r = world().podnet(['pod', 'run', '-d', '-f', manifest('bad', false, 'no')])
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /metadata\.annotations\[podnet\.io\/cgroups\]: must be "on" or "off", got "no"/)
    assert.deepEqual(JSON.parse(world().ok('pod', 'ls', '--json')) as PodRecord[], [])
  })
})
