/**
 * Fixtures for pod runtime tests: a busybox-static rootfs, an in-process PodRuntime with its
 * own state dir and cgroup parent (podnet-test-<hex>), and cleanup that removes every pod, the
 * cgroups and the temporary directories.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PodRuntime, containerEnv, detectCgroupLayout, ensureLauncher, execArgs, validateManifest, type PodRecord, type PodSpec, type RuntimeOptions } from '../../../src/runtime/index.js'

const APPLETS = ['sh', 'sleep', 'nc', 'hostname', 'cat', 'ps', 'ls', 'echo', 'touch', 'dd', 'head', 'tail', 'true', 'false', 'test', 'wc', 'grep', 'id', 'kill', 'mkdir', 'env', 'pwd', 'date', 'readlink']

/** A rootfs: /bin/busybox with applet symlinks, /etc, and an optional extra static binary. */
export function buildRootfs(extra: Record<string, string> = {}): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (scripts/setup.sh)')
  const root = mkdtempSync(join(tmpdir(), 'podnet-rootfs-'))
  for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'srv']) mkdirSync(join(root, d))
  copyFileSync(busybox, join(root, 'bin', 'busybox'))
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a))
  for (const [name, src] of Object.entries(extra)) copyFileSync(src, join(root, 'bin', name))
  return root
}

/** Compiles a static C program (test helpers that busybox lacks); returns its path. */
export function compileStatic(source: string, dir: string, name: string): string {
  const src = join(dir, `${name}.c`)
  const out = join(dir, name)
  execFileSync('sh', ['-c', `cat > ${src}`], { input: source })
  execFileSync('gcc', ['-static', '-Os', '-o', out, src])
  return out
}

/** Removes a cgroup directory tree in every hierarchy (children first). */
export function removeCgroupTree(rel: string): void {
  for (const h of detectCgroupLayout().hierarchies) {
    const walk = (dir: string): void => {
      let entries: string[] = []
      try { entries = readdirSync(dir) } catch { return }
      for (const e of entries) if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e))
      try { rmdirSync(dir) } catch { /* busy or gone */ }
    }
    walk(join(h.mount, rel))
  }
}

/** True when any hierarchy still has the directory. */
export function cgroupExists(rel: string): boolean {
  return detectCgroupLayout().hierarchies.some((h) => existsSync(join(h.mount, rel)))
}

export interface RuntimeFixture {
  rt: PodRuntime
  stateDir: string
  cgroupParent: string
  rootfs: string
  /** A validated PodSpec from a manifest object whose rootfs annotation defaults to the fixture's. */
  spec(doc: { name: string; spec: Record<string, unknown>; annotations?: Record<string, string> }): PodSpec
  /** run + remember for cleanup. */
  run(spec: PodSpec, opts?: { hostNetns?: string }): Promise<PodRecord>
}

/** mocha hooks: one runtime per test file (before/after), pods removed after every test. */
export function useRuntime(opts: Partial<RuntimeOptions> = {}): () => RuntimeFixture {
  let fx: RuntimeFixture | undefined
  const errors: Error[] = []
  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    const stateDir = mkdtempSync(join(tmpdir(), 'podnet-rt-'))
    const cgroupParent = `podnet-test-${randomBytes(4).toString('hex')}`
    const rt = new PodRuntime({ stateDir, cgroupParent, backoff: { baseMs: 100, maxMs: 2000, resetAfterMs: 60_000 }, ...opts })
    rt.on('error', (e: Error) => errors.push(e))
    const rootfs = buildRootfs()
    fx = {
      rt, stateDir, cgroupParent, rootfs,
      spec: (d) => validateManifest({
        metadata: { name: d.name, annotations: { 'podnet.io/rootfs': rootfs, ...d.annotations } },
        spec: { terminationGracePeriodSeconds: 1, ...d.spec },
      }).spec,
      run: (spec, o) => rt.run(spec, o),
    }
  })
  afterEach(async function () {
    this.timeout(60_000)
    if (!fx) return
    for (const name of fx.rt.store.names()) await fx.rt.remove(name, { gracePeriodSeconds: 0 })
    if (errors.length) throw new AggregateError(errors.splice(0), 'runtime errors')
  })
  after(() => {
    if (!fx) return
    fx.rt.close()
    removeCgroupTree(fx.cgroupParent)
    rmSync(fx.stateDir, { recursive: true, force: true })
    rmSync(fx.rootfs, { recursive: true, force: true })
  })
  return () => {
    if (!fx) throw new Error('useRuntime(): used outside a test')
    return fx
  }
}

/** Polls fn until it returns a value other than undefined (or throws after timeoutMs). */
export async function eventually<T>(fn: () => T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Runs argv inside a running container (podnet-launch exec); returns status and output. */
export function execIn(rec: PodRecord, container: string, argv: string[]): { status: number; stdout: string; stderr: string } {
  const cs = rec.containers.find((c) => c.name === container)
  if (!cs || cs.state.status !== 'running') throw new Error(`container ${container} is not running`)
  const spec = rec.spec.containers.find((c) => c.name === container)!
  const layout = detectCgroupLayout()
  const procs = cs.cgroup !== undefined ? layout.hierarchies.map((h) => join(h.mount, cs.cgroup!, 'cgroup.procs')) : []
  const r = spawnSync(ensureLauncher(), execArgs({ target: cs.state.pid, cgroupProcs: procs, env: containerEnv(rec.spec.hostname, spec.env), argv }), { encoding: 'utf8', timeout: 10_000 })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}
