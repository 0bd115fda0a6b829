/**
 * The habits of docker, podman and kubectl the CLI takes (issue 13): `network connect` /
 * `disconnect` for attach / detach, `-p 9090:80/TCP`, `pod ps` for ls, `pod rm -f` and
 * `pod rm --all`. Read back with the oracles (ip -j, nft -j) and with podnet.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PodRecord } from '../../../src/runtime/index.js'
import { ipJson, probeAsync, listen, nftRuleset, useTopology, UPSTREAM } from '../../../src/testing/index.js'
import { buildRootfs, removeCgroupTree, stopSupervisorOf } from '../runtime/support.js'

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
type Run = { status: number; stdout: string; stderr: string }

describe('kernel: cli habits of docker, podman and kubectl', function () {
  this.timeout(60_000)

  describe('network connect / disconnect, -p HOST:PORT/TCP', () => {
    const topo = useTopology()
    const podnet = (...args: string[]): Run => {
      const r = spawnSync(process.execPath, [bin, ...args, '--host-netns', topo().host.name, '--state-dir', topo().stateDir, '--run-dir', topo().runDir], { encoding: 'utf8' })
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
    }
    const ok = (...args: string[]): string => {
      const r = podnet(...args)
      assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }

    it('connect publishes 9090:80/TCP as tcp (nft -j, a real connection), disconnect removes it', async () => {
      ok('network', 'create', 'web', '--subnet', '10.88.0.0/24')
      const pod = topo().pod()
      const a = JSON.parse(ok('network', 'connect', 'web', '--netns', pod.name, '-p', '9090:80/TCP', '--json'))
      assert.deepEqual(a.portMappings, [{ hostPort: 9090, containerPort: 80, protocol: 'tcp' }])
      const elems = nftRuleset(topo().host.name).filter((o) => o.map?.name === 'hostports4').flatMap((o) => o.map!.elem ?? [])
      assert.equal(elems.length, 1)
      await listen(pod, 'tcp', 80)
      assert.equal(await probeAsync(topo().upstream, 'tcp', UPSTREAM.hostV4, 9090, { timeoutMs: 5000 }), UPSTREAM.upstreamV4)
      assert.match(ok('network', 'disconnect', 'web', '--netns', pod.name), /^detached /)
      assert.equal(pod.link('eth0'), undefined)
      assert.equal(nftRuleset(topo().host.name).filter((o) => o.map?.name === 'hostports4').flatMap((o) => o.map!.elem ?? []).length, 0)
      const bad = podnet('network', 'connect', 'web', '--netns', pod.name, '-p', '9090:80/Tcp')
      assert.equal(bad.status, 2)
      assert.match(bad.stderr, /port mapping.*'9090:80\/Tcp' is not \[HOSTIP:\]HOSTPORT:PORT\[\/tcp\|udp\]/)
    })
  })

  describe('-n/--netns acts in; --to-netns moves; --pod-netns names the pod\'s namespace (old spellings still work)', () => {
    const topo = useTopology()
    const run = (...args: string[]): Run => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, PODNET_STATE_DIR: topo().stateDir, PODNET_RUN_DIR: topo().runDir } })
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
    }
    const ok = (...args: string[]): string => {
      const r = run(...args)
      assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    const links = (ns: string): string[] => (ipJson(ns, 'link', 'show') as Array<{ ifname: string }>).map((l) => l.ifname)

    it('network attach/detach --pod-netns and -n (the host), and the hidden --netns; link set --to-netns and the hidden --netns', () => {
      const host = topo().host.name
      ok('network', 'create', 'web', '--subnet', '10.89.0.0/24', '-n', host)
      assert.deepEqual((JSON.parse(ok('network', 'ls', '-n', host, '--json')) as Array<{ name: string }>).map((n) => n.name), ['web'])
      const pod = topo().pod()
      for (const flag of ['--pod-netns', '--netns']) {
        assert.match(ok('network', 'attach', 'web', flag, pod.name, '-n', host), /^attached /, flag)
        assert.ok(links(pod.name).includes('eth0'), `${flag}: eth0 in the pod (ip -j)`)
        assert.match(ok('network', 'detach', 'web', flag, pod.name, '-n', host), /^detached /, flag)
        assert.ok(!links(pod.name).includes('eth0'), `${flag}: eth0 gone`)
      }
      const twice = run('network', 'attach', 'web', '--pod-netns', pod.name, '--netns', host, '-n', host)
      assert.equal(twice.status, 2)
      assert.match(twice.stderr, /--pod-netns: given twice/)
      const none = run('network', 'attach', 'web', '-n', host)
      assert.equal(none.status, 2)
      assert.match(none.stderr, /^podnet: --pod-netns: required/)
      // link set: -n acts in, --to-netns (or --netns) moves
      ok('link', 'add', 'mv0', '-n', host, '--type', 'veth', '--peer', 'mv1')
      ok('link', 'set', 'mv0', '-n', host, '--to-netns', pod.name)
      assert.deepEqual([links(host).includes('mv0'), links(pod.name).includes('mv0')], [false, true])
      ok('link', 'set', 'mv0', '-n', pod.name, '--netns', host)
      assert.deepEqual([links(host).includes('mv0'), links(pod.name).includes('mv0')], [true, false])
      ok('link', 'del', 'mv0', '--netns', host)
      assert.ok(!links(host).includes('mv0'), 'link del --netns acts in')
      // the help shows the new names only
      const attachHelp = ok('network', 'attach', '--help')
      assert.match(attachHelp, /--pod-netns <ns>/)
      assert.match(attachHelp, /-n, --host-netns <ns>/)
      assert.doesNotMatch(attachHelp, /\s--netns/)
      const setHelp = ok('link', 'set', '--help')
      assert.match(setHelp, /--to-netns <ns>/)
      assert.doesNotMatch(setHelp, /\s--netns/)
      ok('network', 'rm', 'web', '-n', host)
    })
  })

  describe('pod ps, pod rm -f, pod rm --all', () => {
    let stateDir: string
    let rootfs: string
    let dir: string
    let env: NodeJS.ProcessEnv
    const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
    const podnet = (...args: string[]): Run => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 30_000 })
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
    }
    const ok = (...args: string[]): string => {
      const r = podnet(...args)
      assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    before(() => {
      stateDir = mkdtempSync(join(tmpdir(), 'podnet-habits-'))
      dir = mkdtempSync(join(tmpdir(), 'podnet-habits-manifests-'))
      rootfs = buildRootfs()
      env = { ...process.env, PODNET_STATE_DIR: stateDir, PODNET_CGROUP_PARENT: cgroupParent, PODNET_SUPERVISOR_IDLE_MS: '0' }
    })
    after(() => {
      if (!stateDir) return
      for (const p of JSON.parse(podnet('pod', 'ls', '--json').stdout || '[]') as PodRecord[]) podnet('pod', 'rm', p.name, '-t', '0')
      stopSupervisorOf(stateDir, () => podnet('pod', 'supervisor', 'stop'))
      removeCgroupTree(cgroupParent)
      for (const d of [stateDir, dir, rootfs]) rmSync(d, { recursive: true, force: true })
    })

    it('ps lists what ls lists; rm -f --all removes every pod at once, even one that ignores SIGTERM', () => {
      for (const name of ['web', 'stubborn']) {
        const f = join(dir, `${name}.yaml`)
        writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: { podnet.io/rootfs: ${rootfs} }
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    command: [sh, -c, "trap '' TERM; while true; do sleep 1; done"]
`)
        assert.match(ok('pod', 'run', '-d', '-f', f), new RegExp(`^pod ${name} running\\n$`))
      }
      const noAge = (t: string): string => t.replace(/\s+\S+$/gm, '')
      assert.equal(noAge(ok('pod', 'ps')), noAge(ok('pod', 'ls')))
      assert.deepEqual((JSON.parse(ok('pod', 'ps', '--json')) as PodRecord[]).map((p) => p.name).sort(), ['stubborn', 'web'])
      for (const args of [['pod', 'rm'], ['pod', 'rm', 'web', '--all']]) {
        const r = podnet(...args)
        assert.equal(r.status, 2, args.join(' '))
        assert.match(r.stderr, /names|--all/)
      }
      const t0 = Date.now()
      assert.equal(ok('pod', 'rm', '-f', '--all').split('\n').filter(Boolean).sort().join('\n'), 'removed pod stubborn\nremoved pod web')
      assert.ok(Date.now() - t0 < 20_000, 'no 30 s grace period with -f')
      assert.deepEqual(JSON.parse(ok('pod', 'ls', '--json')), [])
      assert.equal(ok('pod', 'rm', '--all'), '', 'nothing to remove is not an error')
    })
  })
})
