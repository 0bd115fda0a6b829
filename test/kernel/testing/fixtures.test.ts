/**
 * podnet/testing's fixtures never leak: failed and timed-out tests are torn down under mocha and
 * node:test, a runner killed with SIGKILL takes everything it started with it (the sandbox's PID
 * namespace), the guard says "cannot prove" in a hand-made sandbox and accepts a declared one,
 * and a fixture that cannot run fails loudly (no silent skip), while a --rootless sandbox works
 * without root.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnInSandbox } from '../../../src/testing/index.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const specs = join(root, 'dist', 'test', 'support', 'fixture-specs')
const mocha = join(root, 'node_modules', '.bin', 'mocha')
const nobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--']

/** What fixtures leave behind: named namespaces and podnet-topo-* dirs on the sandbox's /run. */
const leftovers = (): string[] => [...readdirSync('/run/netns').map((n) => `netns ${n}`), ...readdirSync('/run').filter((n) => n.startsWith('podnet-topo')).map((n) => `dir /run/${n}`)].sort()

/** Resolves once every holder of the child's stdout and stderr is gone (both pipes closed), or rejects after ms. */
function allClosed(child: ChildProcess, ms: number): Promise<void> {
  const closed = (s: NodeJS.ReadableStream | null): Promise<void> => new Promise((resolve) => {
    if (!s) return resolve()
    s.on('data', () => {})
    s.once('close', () => resolve())
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`something still holds the sandbox's output after ${ms} ms`)), ms)
    void Promise.all([closed(child.stdout), closed(child.stderr)]).then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

const readyLine = (child: ChildProcess): Promise<void> => new Promise((resolve, reject) => {
  let out = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    if (out.includes('ready\n')) resolve()
  })
  child.once('exit', (c) => reject(new Error(`exited ${c} before ready: ${out}`)))
})

describe('kernel: podnet/testing fixtures never leak', function () {
  this.timeout(120_000)

  it('mocha: a failed and a timed-out test are torn down (namespaces, topology dirs, servers) and mocha exits', () => {
    const before = leftovers()
    const r = spawnSync(mocha, [join(specs, 'leak-mocha.spec.js')], { encoding: 'utf8', timeout: 60_000, cwd: root })
    assert.equal(r.signal, null, `mocha hung: ${r.stdout}`)
    assert.equal(r.status, 2, r.stdout + r.stderr)
    assert.match(r.stdout, /0 passing[\s\S]*2 failing[\s\S]*boom[\s\S]*Timeout of 300ms exceeded/)
    assert.deepEqual(leftovers(), before)
  })

  it('node:test: the same spec under `node --test` is torn down the same way', () => {
    const before = leftovers()
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(specs, 'leak-node-test.js')], { encoding: 'utf8', timeout: 60_000, cwd: root })
    assert.equal(r.signal, null, `node --test hung: ${r.stdout}`)
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stdout, /not ok 1 - fails while holding[\s\S]*error: 'boom'[\s\S]*not ok 2 - times out while holding[\s\S]*test timed out after 300ms/)
    assert.match(r.stdout, /# pass 0\n/)
    assert.deepEqual(leftovers(), before)
  })

  it('a runner killed with SIGKILL mid-test takes its server process, in-process servers and a detached sleep with it', async () => {
    const before = leftovers()
    const child = spawnInSandbox(process.execPath, [join(specs, 'killed-runner.js')], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    await readyLine(child)
    await allClosed(child, 15_000)
    assert.equal(await exited, 128 + 9, 'the sandbox exits with the killed command\'s status')
    assert.deepEqual(leftovers(), before, 'its namespaces lived on its own /run')
  })

  it('SIGKILL of the sandbox (unshare) ends everything in it', async () => {
    const child = spawnInSandbox('sh', ['-c', 'sleep 1000 & sleep 1000 & echo ready; wait'], { stdio: ['ignore', 'pipe', 'pipe'] })
    await readyLine(child)
    process.kill(child.pid!, 'SIGKILL')
    await allClosed(child, 15_000)
  })

  it('SIGKILL of the process that started the sandbox ends the sandbox (PR_SET_PDEATHSIG)', async () => {
    const code = `import('${join(root, 'dist', 'src', 'testing', 'index.js')}').then((m) => m.spawnInSandbox('sh', ['-c', 'sleep 1000 & echo ready; wait']))`
    const caller = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
    await readyLine(caller)
    process.kill(caller.pid!, 'SIGKILL')
    await allClosed(caller, 15_000)
  })

  it('the guard: "cannot prove" in a hand-made sandbox, accepted once PODNET_OUTER_NETNS declares it', () => {
    const env = { ...process.env }
    delete env.PODNET_OUTER_NETNS
    const handMade = (e: NodeJS.ProcessEnv): string =>
      spawnSync('unshare', ['--net', '--pid', '--fork', '--mount-proc', process.execPath, join(specs, 'guard-probe.js')], { encoding: 'utf8', env: e }).stdout
    const refused = handMade(env)
    assert.match(refused, /^ERR_PODNET_SANDBOX refusing to run: cannot prove this process is outside the machine's own network namespace \(PID 1 shares it/)
    assert.match(refused, /PODNET_OUTER_NETNS=\$\(readlink \/proc\/self\/ns\/net\)/)
    assert.equal(handMade({ ...env, PODNET_OUTER_NETNS: readlinkSync('/proc/self/ns/net') }), 'ok\n')
    // declaring the namespace the process is in proves nothing
    const same = spawnSync(process.execPath, [join(specs, 'guard-probe.js')], { encoding: 'utf8', env: { ...env, PODNET_OUTER_NETNS: readlinkSync('/proc/self/ns/net') } }).stdout
    assert.match(same, /^ERR_PODNET_SANDBOX .*PODNET_OUTER_NETNS names this process's own namespace/)
  })

  it('without root a fixture throws SandboxError (no-privilege), never a silent skip', () => {
    const r = spawnSync(nobody[0]!, [...nobody.slice(1), process.execPath, join(specs, 'rootless-probe.js')], { encoding: 'utf8', cwd: '/' })
    assert.match(r.stdout, /^ERR_PODNET_SANDBOX no-privilege cannot create a network namespace \(uid 65534\): run the tests as root inside scripts\/sandbox\.sh, or without root inside scripts\/sandbox\.sh --rootless/)
  })

  it('--rootless: an unprivileged user gets namespaces and traffic in a user-namespace sandbox', () => {
    const r = spawnSync(nobody[0]!, [...nobody.slice(1), join(root, 'scripts', 'sandbox.sh'), '--rootless', process.execPath, join(specs, 'rootless-probe.js')], { encoding: 'utf8', cwd: '/', timeout: 30_000 })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'echo hi uid 0\n')
    const plain = spawnSync(nobody[0]!, [...nobody.slice(1), join(root, 'scripts', 'sandbox.sh'), 'true'], { encoding: 'utf8', cwd: '/' })
    assert.equal(plain.status, 1)
    assert.match(plain.stderr, /needs root \(CAP_SYS_ADMIN for namespaces\), or --rootless/)
  })
})
