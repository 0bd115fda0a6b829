/**
 * The package as npm ships it: `npm pack`, unpacked into a temporary directory (node_modules
 * linked to this tree's), imported by name from a script there. The library's subpaths come
 * from the single-file build (src/cli/library-bundle.ts), which must work in the copy (no path of
 * this tree inside), keep one class per class across subpaths, load no native code until a
 * syscall is made, and give the same exports as tsc's modules (PODNET_NO_BUNDLE=1).
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

describe('the npm package', function () {
  this.timeout(120_000)
  let dir: string
  let pkg: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'podnet-pack-'))
    // --ignore-scripts: prepack would rebuild this tree's dist/ under the running tests
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    const [packed] = JSON.parse(out) as Array<{ filename: string }>
    execFileSync('tar', ['xzf', join(dir, packed!.filename), '-C', dir])
    pkg = join(dir, 'package')
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const run = (script: string, env: NodeJS.ProcessEnv = {}): any => {
    const file = join(pkg, `probe-${Math.random().toString(36).slice(2)}.mjs`)
    writeFileSync(file, script)
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: pkg })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }

  it('carries the library bundle, docs, LICENSE and the sandbox script; no absolute path of this tree in the bundle', () => {
    for (const f of ['dist/lib/podnet.cjs', 'dist/lib/registry.js', 'dist/lib/index.js', 'LICENSE', 'scripts/sandbox.sh', 'docs/library.md']) {
      assert.ok(readdirSync(join(pkg, dirname(f))).includes(f.split('/').pop()!), `${f} is in the package`)
    }
    assert.ok(!readFileSync(join(pkg, 'dist/lib/podnet.cjs'), 'latin1').includes(root), 'the bundle names no path of the tree it was built in')
  })

  it('every subpath imports from the bundle in the copy, with the same exports as tsc\'s modules, one class across subpaths, and no koffi until a syscall', () => {
    const subpaths = Object.keys((JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports)
    const script = `
      import { createRequire } from 'node:module'
      const names = {}
      for (const s of ${JSON.stringify(subpaths)}) names[s] = Object.keys(await import(s === '.' ? 'podnet' : 'podnet/' + s.slice(2))).sort()
      const root = await import('podnet')
      const errors = await import('podnet/errors')
      const bridge = await import('podnet/bridge')
      const cache = Object.keys(createRequire(import.meta.url).cache)
      const koffiBefore = cache.some((k) => k.includes('koffi'))
      const links = (await root.Rtnl.open().link.list()).length
      const koffiAfter = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('koffi'))
      let identity = false
      try { bridge.parsePortMapping('nonsense') } catch (e) { identity = e instanceof errors.PodnetError && e instanceof root.PodnetError }
      console.log(JSON.stringify({ names, resolved: import.meta.resolve('podnet'), koffiBefore, koffiAfter, links, identity, sameClass: root.NetlinkError === errors.NetlinkError }))
    `
    const bundled = run(script)
    const esm = run(script, { PODNET_NO_BUNDLE: '1' })
    assert.ok(bundled.resolved.startsWith(`file://${pkg}/dist/lib/`), bundled.resolved)
    assert.deepEqual(bundled.names, esm.names, 'the bundle exports what the modules export')
    assert.ok(bundled.names['.'].includes('Rtnl') && bundled.names['./bridge'].includes('NetworkManager'))
    assert.equal(bundled.koffiBefore, false, 'importing every subpath loads no koffi')
    assert.equal(bundled.koffiAfter, true, 'the first syscall loads it')
    assert.ok(bundled.links >= 1)
    assert.equal(bundled.identity, true, 'an error thrown by podnet/bridge is a PodnetError of podnet and podnet/errors')
    assert.equal(bundled.sameClass, true)
    assert.equal(esm.identity, true)
  })
})
