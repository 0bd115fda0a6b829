/**
 * Input the CLI refuses before anything is made (manifests over the size limit, an environment
 * the kernel's execve cannot take) and several pods at once (pod rm and pod stop stop them in
 * parallel, as docker, podman and the kubelet do).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { MANIFEST_MAX_BYTES } from '../../../src/runtime/limits.js'
import { podnetBin, useCliWorld } from './support.js'

describe('kernel: podnet pod input limits and parallel stops (CLI)', function () {
  this.timeout(60_000)
  const w = useCliWorld()

  it('a manifest over 1.5 MiB is refused with exit 2 and one line before it is read (file and stdin); an environment value execve cannot take names its field; nothing is made', () => {
    const { podnet, manifest, env, topo } = w()
    const big = manifest('huge', `metadata: { name: huge }\n# ${'x'.repeat(MANIFEST_MAX_BYTES)}\n`)
    const r = podnet(['pod', 'run', '-d', '-f', big])
    assert.equal(r.status, 2)
    assert.equal(r.stderr, `podnet: --file ${big}: is ${statSync(big).size} bytes, over the limit of ${MANIFEST_MAX_BYTES} bytes (1.5 MiB, as Kubernetes' API server)\n`)
    const piped = spawnSync(process.execPath, [podnetBin, 'pod', 'run', '-d', '-f', '-'], { input: `# ${'y'.repeat(2 * MANIFEST_MAX_BYTES)}`, encoding: 'utf8', env, timeout: 30_000 })
    assert.equal(piped.status, 2)
    assert.match(piped.stderr, /^podnet: --file -: is \d+ bytes, over the limit of 1572864 bytes/)
    assert.equal(piped.stderr.split('\n').filter(Boolean).length, 1)

    const env200k = manifest('bigenv', `
metadata: { name: bigenv, annotations: { podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network} } }
spec:
  containers:
  - { name: app, command: [sleep, '60'], env: [{ name: BIG, value: ${'z'.repeat(200 * 1024)} }] }
`)
    const e = podnet(['pod', 'run', '-d', '-f', env200k, '--host-netns', topo.host.name])
    assert.equal(e.status, 2, e.stderr)
    assert.equal(e.stderr, 'podnet: spec.containers[0].env[0].value: NAME=VALUE is 204804 bytes; at most 131071 bytes fit in one execve(2) string (the kernel\'s MAX_ARG_STRLEN)\n')
    assert.ok(!existsSync(join(topo.stateDir, 'pods', 'bigenv')))
    assert.deepEqual(w().leftovers('bigenv', []), [])
  })

  it('pod rm and pod stop with several pods stop them in parallel: each pod got its SIGTERM at the same time (not one grace period after the other)', () => {
    const { ok, podnet, manifest, rootfs } = w()
    const names = ['s1', 's2', 's3', 's4']
    // each container notes when SIGTERM came (a file in the shared rootfs: its mtime) and ignores it, so each pod takes its 2 s grace period
    const mk = (n: string): string => manifest(n, `
metadata: { name: ${n}, annotations: { podnet.io/rootfs: ${rootfs} } }
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - { name: app, command: [sh, -c, 'trap "touch /srv/term-${n}" TERM; while :; do sleep 0.1; done'] }
`)
    const termTimes = (): number[] => names.map((n) => statSync(join(rootfs, 'srv', `term-${n}`)).mtimeMs)
    for (const n of names) ok('pod', 'run', '-d', '-f', mk(n))
    const stop = podnet(['pod', 'stop', ...names])
    assert.equal(stop.status, 0, stop.stderr)
    assert.deepEqual(stop.stdout.trim().split('\n'), names.map((n) => `pod ${n} stopped: app exit 137`))
    let t = termTimes()
    assert.ok(Math.max(...t) - Math.min(...t) < 1500, `SIGTERM times spread over ${Math.max(...t) - Math.min(...t)} ms (one after the other: >= 6000)`)
    for (const n of names) ok('pod', 'rm', n)
    for (const n of names) ok('pod', 'run', '-d', '-f', mk(n))
    const rm = podnet(['pod', 'rm', ...names, 'nosuch'])
    assert.equal(rm.status, 1)
    assert.deepEqual(rm.stdout.trim().split('\n'), names.map((n) => `removed pod ${n}`))
    assert.equal(rm.stderr, "podnet: pod 'nosuch' does not exist\n")
    t = termTimes()
    assert.ok(Math.max(...t) - Math.min(...t) < 1500, `SIGTERM times spread over ${Math.max(...t) - Math.min(...t)} ms (one after the other: >= 6000)`)
    for (const n of names) assert.ok(!existsSync(join(w().topo.stateDir, 'pods', n)))
  })
})
