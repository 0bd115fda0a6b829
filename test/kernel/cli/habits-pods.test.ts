/**
 * The pod habits of docker, podman and kubectl (issue 13): a deliberate stop is not a failure,
 * `pod logs --tail/--since` (also with -f), `pod supervisor stop --with-pods`, `pod exec -i/-t`.
 * Real pods on a busybox rootfs, read back with podnet and with /proc.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import type { ProcessRef } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { eventually, podProcesses, podnetBin, useCliWorld } from '../runtime/support.js'

/** Mount points under the given directories (/proc/self/mountinfo: this sandbox's mount namespace). */
function mountsUnder(...dirs: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => dirs.some((d) => mp === d || mp.startsWith(`${d}/`)))
}

/** Processes (not this one) whose environment names the state dir: the supervisor and the launchers it started. */
function processesOf(stateDir: string): string[] {
  const out: string[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PODNET_STATE_DIR=${stateDir}`)) {
        out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`)
      }
    } catch {
      // gone meanwhile, or a zombie
    }
  }
  return out
}

describe('kernel: cli pod habits of docker, podman and kubectl', function () {
  this.timeout(60_000)
  const w = useCliWorld()
  const pod = (name: string, containers: string, extra = ''): string => w().manifest(name, `
metadata: { name: ${name}, annotations: { podnet.io/rootfs: ${w().rootfs} } }
spec:
  terminationGracePeriodSeconds: 1
${extra}  containers:
${containers}`)
  const logs = (name: string, ...args: string[]): string => w().ok('pod', 'logs', name, ...args)

  it('pod stop is not a failure: Succeeded (Stopped), Exited (CODE) in pod ls, each run the stop ended Stopped with its code', async () => {
    const { ok, inspect } = w()
    ok('pod', 'run', '-d', '-f', pod('web', `
  - { name: app, command: [sleep, '600'] }
  - { name: side, command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 0.1; done'] }
`))
    // app is PID 1 of its PID namespace without a handler: SIGTERM is ignored, SIGKILL after 1 s
    assert.equal(ok('pod', 'stop', 'web'), 'pod web stopped: app exit 137, side exit 0\n')
    const rec = inspect('web')
    assert.deepEqual([rec.phase, rec.reason, rec.sandbox.state], ['Succeeded', 'Stopped', 'stopped'])
    assert.deepEqual(rec.containers.map((c) => [c.name, c.state.status, c.state.status === 'terminated' && c.state.exitCode, c.state.status === 'terminated' && c.state.reason]),
      [['app', 'terminated', 137, 'Stopped'], ['side', 'terminated', 0, 'Completed']])
    assert.match(ok('pod', 'ls'), /^web\s+0\/2\s+Exited \(137\)\s+0\s/m)
    const text = ok('pod', 'inspect', 'web')
    assert.match(text, /^Status:\s+Exited \(137\)$/m)
    assert.match(text, /^Phase:\s+Succeeded \(Stopped\)$/m)
    assert.match(text, /^app\s+terminated \(Stopped\)\s+137\s/m)
    assert.doesNotMatch(text, /Failed|Error/)
    assert.equal(ok('pod', 'stop', 'web'), 'pod web stopped: app exit 137, side exit 0\n', 'stopping an ended pod changes nothing')

    // a container that failed on its own before the stop still fails the pod
    ok('pod', 'run', '-d', '-f', pod('broken', `
  - { name: bad, command: [sh, -c, 'exit 3'] }
  - { name: app, command: [sleep, '600'] }
`, '  restartPolicy: Never\n'))
    await eventually(() => (inspect('broken').containers[0]!.state.status === 'terminated' ? true : undefined))
    assert.equal(ok('pod', 'stop', 'broken', '-t', '0'), 'pod broken stopped, failed: bad exit 3, app exit 137\n')
    const b = inspect('broken')
    assert.deepEqual([b.phase, b.reason], ['Failed', 'Stopped'])
    assert.match(ok('pod', 'ls'), /^broken\s+0\/2\s+Failed \(Stopped\)\s/m)
  })

  it('pod logs --tail N and --since DURATION|TIME (docker\'s), also with -f', async () => {
    const { ok, podnet } = w()
    ok('pod', 'run', '-d', '-f', pod('talk', `
  - { name: app, command: [sh, -c, 'trap "echo bye; exit 0" TERM; echo early1; echo early2; sleep 4; echo late1; printf late2; while :; do sleep 0.1; done'] }
`))
    await eventually(() => (logs('talk').includes('early2') ? true : undefined), 10_000, 'early output')
    await new Promise((r) => setTimeout(r, 1500)) // a mark (once a second) has noted the early lines
    const between = new Date()
    await eventually(() => (logs('talk').endsWith('late2') ? true : undefined), 10_000, 'late output')
    assert.equal(logs('talk'), 'early1\nearly2\nlate1\nlate2')
    assert.equal(logs('talk', '--tail', '1'), 'late2', 'a last line without its newline is a line')
    assert.equal(logs('talk', '--tail', '3'), 'early2\nlate1\nlate2')
    assert.equal(logs('talk', '--tail', '0'), '')
    assert.equal(logs('talk', '--tail', '99'), 'early1\nearly2\nlate1\nlate2')
    assert.equal(logs('talk', '--tail', 'all'), 'early1\nearly2\nlate1\nlate2')
    assert.equal(logs('talk', '--since', between.toISOString()), 'late1\nlate2')
    assert.equal(logs('talk', '--since', String(between.getTime() / 1000)), 'late1\nlate2', 'Unix seconds')
    assert.equal(logs('talk', '--since', '10m'), 'early1\nearly2\nlate1\nlate2')
    assert.equal(logs('talk', '--since', new Date(Date.now() + 60_000).toISOString()), '', 'nothing written since a later time')
    assert.equal(logs('talk', '--since', between.toISOString(), '--tail', '1'), 'late2')
    for (const [flag, value] of [['--since', 'yesterday'], ['--tail', '-1'], ['--since', '5x']]) {
      const r = podnet(['pod', 'logs', 'talk', flag!, value!])
      assert.equal(r.status, 2, `${flag} ${value}`)
      assert.match(r.stderr, new RegExp(`${flag}`))
    }
    // -f with --tail: the last line, then what comes, until the pod ends
    const child = spawn(process.execPath, [podnetBin, 'pod', 'logs', 'talk', '-f', '--tail', '1'], { env: w().env })
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    await eventually(() => (out === 'late2' ? true : undefined), 10_000, 'the tail before following')
    ok('pod', 'stop', 'talk')
    assert.equal(await exited, 0)
    assert.equal(out, 'late2bye\n')
  })

  it('pod supervisor stop --with-pods stops every pod, then the supervisor; after pod rm --all no process and no mount is left', () => {
    const { ok, podnet, inspect, supervisorPid, topo } = w()
    for (const n of ['one', 'two']) ok('pod', 'run', '-d', '-f', pod(n, "  - { name: app, command: [sleep, '600'] }\n"))
    const procs: ProcessRef[] = ['one', 'two'].flatMap((n) => podProcesses(inspect(n)))
    assert.ok(procs.length >= 6, 'pause, launcher and container of each pod')
    assert.ok(mountsUnder(topo.runDir).length > 0, 'the pods\' pins and /dev/shm')
    const sup = supervisorPid()
    assert.ok(sup !== undefined)
    assert.ok(processesOf(topo.stateDir).some((p) => p.startsWith(`${sup} `)), 'the oracle sees the supervisor')
    assert.equal(podnet(['pod', 'supervisor', 'stop', '-t', '0']).status, 2, '--time only with --with-pods')
    const out = ok('pod', 'supervisor', 'stop', '--with-pods', '-t', '0')
    assert.equal(out.split('\n').sort().join('\n'), '\npod one stopped: app exit 137\npod two stopped: app exit 137\nsupervisor stopped')
    assert.equal(supervisorPid(), undefined)
    assert.deepEqual(procs.filter(isAlive), [], 'every pod process has ended')
    for (const n of ['one', 'two']) assert.deepEqual([inspect(n).phase, inspect(n).reason], ['Succeeded', 'Stopped'])
    assert.deepEqual(mountsUnder(topo.stateDir, topo.runDir), [])
    // rm --all (which starts a supervisor again), then stop it with its pods: nothing left
    assert.equal(ok('pod', 'rm', '--all').split('\n').filter(Boolean).sort().join(','), 'removed pod one,removed pod two')
    assert.equal(ok('pod', 'supervisor', 'stop', '--with-pods'), 'supervisor stopped\n')
    // the network's DNS responder (docs/dns.md) is the network's, not a pod's: it goes with network rm
    assert.deepEqual(processesOf(topo.stateDir).filter((p) => !p.includes('/dns/main.js')), [])
    assert.deepEqual(mountsUnder(topo.stateDir, topo.runDir), [])
    assert.deepEqual(readdirSync(`${topo.stateDir}/pods`), [])
    assert.equal(ok('pod', 'supervisor', 'stop', '--with-pods'), 'not running\n')
  })

  it('pod exec -i passes piped stdin; pod exec -t gives the command a terminal of the container\'s devpts (tty prints /dev/pts/N)', () => {
    const { ok, podnet, env } = w()
    ok('pod', 'run', '-d', '-f', pod('shell', "  - { name: app, command: [sleep, '600'] }\n"))
    const exec = (args: string[], input: string): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [podnetBin, 'pod', 'exec', ...args], { env, input, encoding: 'utf8', timeout: 20_000 })
    const piped = exec(['-i', 'shell', '--', 'sh', '-c', 'cat; echo " $$"'], 'hello')
    assert.equal(piped.status, 0, piped.stderr)
    assert.match(piped.stdout, /^hello \d+\n$/)
    const plain = podnet(['pod', 'exec', 'shell', '--', 'busybox', 'tty'])
    assert.deepEqual([plain.status, plain.stdout], [1, 'not a tty\n'], 'no terminal without -t')
    const t = exec(['-t', 'shell', '--', 'sh', '-c', 'busybox tty; test -t 0 && test -t 1 && echo both; echo "$TERM"; exit 7'], '')
    assert.equal(t.status, 7, `the command's status: ${t.stderr}`)
    const lines = t.stdout.split('\r\n')
    assert.match(lines[0]!, /^\/dev\/pts\/\d+$/, `the terminal's output (\\r\\n): ${JSON.stringify(t.stdout)}`)
    assert.equal(lines[1], 'both')
    assert.ok(lines[2] && lines[2].length > 0, 'TERM is set')
    // -it with piped stdin: it reaches the shell through the terminal (echoed), end of input ends it
    const it = exec(['-it', 'shell', '--', 'sh', '-c', 'read x; echo "got $x"'], 'abc\n')
    assert.equal(it.status, 0, it.stderr)
    assert.match(it.stdout, /got abc\r\n/)
  })

  it('podnet completion bash sources in bash and completes groups, commands, networks, pods and netns from state (__complete)', () => {
    const { ok, podnet, network, topo, env } = w()
    ok('pod', 'run', '-d', '-f', pod('done1', "  - { name: app, command: [sleep, '600'] }\n"))
    assert.equal(ok('__complete', 'networks', '--state-dir', topo.stateDir), `${network}\n`)
    assert.equal(ok('__complete', 'pods'), 'done1\n')
    assert.ok(ok('__complete', 'netns').split('\n').includes(topo.host.name))
    assert.equal(podnet(['__complete', 'volumes']).status, 2)
    assert.doesNotMatch(ok('--help'), /__complete/, 'hidden')
    const script = ok('completion', 'bash')
    const complete = (...words: string[]): string[] => {
      const r = spawnSync('bash', ['-c', `podnet() { ${JSON.stringify(process.execPath)} ${JSON.stringify(podnetBin)} "$@"; }
source /dev/stdin <<'PODNET_EOF'
${script}
PODNET_EOF
COMP_WORDS=(${words.map((x) => JSON.stringify(x)).join(' ')}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _podnet; printf '%s\\n' "\${COMPREPLY[@]}"`], { env, encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stderr, '')
      return r.stdout.split('\n').filter(Boolean)
    }
    assert.deepEqual(complete('podnet', 'ne'), ['netns', 'network'])
    assert.deepEqual(complete('podnet', 'pod', 'l'), ['ls', 'list', 'logs'])
    assert.deepEqual(complete('podnet', 'pod', 'logs', ''), ['done1'])
    assert.deepEqual(complete('podnet', 'network', 'inspect', 'p'), [network])
    assert.ok(complete('podnet', 'link', 'ls', '-n', '').includes(topo.host.name))
    const zsh = ok('completion', 'zsh')
    assert.match(zsh, /bashcompinit/)
    assert.equal(podnet(['completion', 'fish']).status, 2)
  })
})
