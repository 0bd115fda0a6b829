/** The single-file build: every import/export shape tsc emits, and the shapes it must refuse. */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import { buildBundle } from '../../../src/cni/bundle.js'
import { PodnetError } from '../../../src/errors.js'

function graph(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-bundle-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
  return dir
}

/** Loads a bundle whose footer is `module.exports = __entry` and returns the entry's exports. */
function load(source: string, dir: string): any {
  const module = { exports: {} as unknown }
  new Script(`(function (require, module) {${source}\n})`).runInThisContext()(createRequire(join(dir, 'package.json')), module)
  return module.exports
}

describe('cni/bundle', () => {
  let dir: string | undefined
  let dir2: string | undefined
  afterEach(() => { for (const d of [dir, dir2]) if (d) rmSync(d, { recursive: true, force: true }) })

  it('turns every import and export shape into the same exports as the ES modules', async () => {
    dir = graph({
      'main.js': [
        "import { a, b as bee } from './lib/a.js';",
        "import * as NS from './lib/ns.js';",
        "import './lib/side.js';",
        "import { join } from 'node:path';",
        "import { execFileSync as run } from 'node:child_process';",
        "export * from './lib/star.js';",
        "export { c, d as dee } from './lib/a.js';",
        'const local = 1;',
        'export { local, local as alias };',
        'export function fn() { return a + bee + NS.n; }',
        'export async function later() { const m = await import(\'./lib/lazy.js\'); return m.lazy; }',
        'export class K { static x = join(\'a\', \'b\'); }',
        'export const C = 3;',
        'export let L = 4;',
        'let counter = 0;',
        'export { counter };',
        'export function bump() { counter++; L++; }',
        'export function* gen() { yield 1; }',
        "export function echo() { return run('echo', ['hi']).toString(); }",
        '//# sourceMappingURL=main.js.map',
        '',
      ].join('\n'),
      'lib/a.js': 'export const a = 1;\nexport const b = 2;\nexport const c = 3;\nexport const d = 4;\n',
      'lib/ns.js': 'export const n = 10;\n',
      'lib/side.js': 'globalThis.__bundleSide = (globalThis.__bundleSide ?? 0) + 1;\n',
      'lib/star.js': "export const s1 = 's1';\nexport { s2 } from './star2.js';\n",
      'lib/star2.js': "export const s2 = 's2';\n",
      'lib/lazy.js': "export const lazy = 'lazy';\n",
    })
    const b = buildBundle({ entry: join(dir, 'main.js'), root: dir })
    assert.deepEqual(b.modules, ['main.js', 'lib/a.js', 'lib/ns.js', 'lib/side.js', 'lib/star.js', 'lib/star2.js', 'lib/lazy.js'])
    assert.deepEqual(b.externals, [])
    const bundled = load(b.source, dir)
    const esm = await import(pathToFileURL(join(dir, 'main.js')).href)
    assert.deepEqual(Object.keys(bundled).sort(), Object.keys(esm).sort())
    assert.equal(bundled.fn(), 13)
    assert.equal(await bundled.later(), 'lazy')
    assert.equal(bundled.K.x, 'a/b')
    assert.deepEqual([bundled.local, bundled.alias, bundled.dee, bundled.s1, bundled.s2, bundled.C, bundled.L], [1, 1, 4, 's1', 's2', 3, 4])
    assert.deepEqual([...bundled.gen()], [1])
    assert.match(b.source, /__lazy\("node:child_process", \["execFileSync"\]\)/, 'child_process is loaded on first use')
    assert.equal(bundled.echo(), 'hi\n')
    bundled.bump()
    assert.deepEqual([bundled.counter, bundled.L], [1, 5], 'let exports stay live bindings')
    assert.equal(Object.getOwnPropertyDescriptor(bundled, 'C')?.value, 3, 'const exports are plain values')
  })

  it('with importMetaUrl, import.meta.url is the original module\'s file URL; other import.meta stays refused', () => {
    dir = graph({ 'main.js': "export { u } from './sub/b.js';\n", 'sub/b.js': 'export const u = import.meta.url;\n' })
    const b = buildBundle({ entry: join(dir, 'main.js'), root: dir, importMetaUrl: true })
    assert.equal(load(b.source, dir).u, pathToFileURL(join(dir, 'sub/b.js')).href)
    dir2 = graph({ 'main.js': 'export const d = import.meta.dirname;\n' })
    assert.throws(() => buildBundle({ entry: join(dir2!, 'main.js'), root: dir2!, importMetaUrl: true }), /import\.meta/)
  })

  it("with importMetaUrl 'relative', import.meta.url is resolved against __base at run time (a copied tree works)", () => {
    dir = graph({ 'main.js': "export { u } from './sub/b.js';\n", 'sub/b.js': 'export const u = import.meta.url;\n' })
    const b = buildBundle({ entry: [join(dir, 'main.js')], root: dir, importMetaUrl: 'relative' })
    assert.doesNotMatch(b.source, new RegExp(dir.replace(/[/.]/g, '\\$&')), 'no absolute path in the bundle')
    const req = new Script(`(function (require, __import, __base) {${b.source}\n})`).runInThisContext()(createRequire(join(dir, 'package.json')), undefined, 'file:///elsewhere/dist/')
    assert.equal(req('main.js').u, 'file:///elsewhere/dist/sub/b.js')
  })

  it('several entries: none runs until asked for; a lazy package (koffi) is loaded on first use of a property', () => {
    dir = graph({
      'a.js': "import koffi from 'koffi';\nglobalThis.__ranA = true;\nexport const errno = () => koffi.errno();\n",
      'b.js': 'globalThis.__ranB = true;\nexport const b = 1;\n',
    })
    const b = buildBundle({ entry: [join(dir, 'a.js'), join(dir, 'b.js')], root: dir, importMetaUrl: 'relative' })
    assert.deepEqual(b.modules, ['a.js', 'b.js'])
    assert.deepEqual(b.externals, ['koffi'])
    const asked: string[] = []
    const fakeRequire = ((name: string) => { asked.push(name); return { errno() { return 42 } } }) as unknown as NodeJS.Require
    const g = globalThis as { __ranA?: boolean; __ranB?: boolean }
    delete g.__ranA; delete g.__ranB
    const req = new Script(`(function (require, __import, __base) {${b.source}\n})`).runInThisContext()(fakeRequire, undefined, 'file:///x/')
    assert.deepEqual([g.__ranA, g.__ranB], [undefined, undefined], 'no entry ran')
    const a = req('a.js')
    assert.equal(g.__ranA, true)
    assert.deepEqual(asked, [], 'koffi is not loaded by importing the module that imports it')
    assert.equal(a.errno(), 42)
    assert.deepEqual(asked, ['koffi'])
    a.errno()
    assert.deepEqual(asked, ['koffi'], 'loaded once')
  })

  it('with externalImport, a dynamic import() of a package calls the given function', async () => {
    dir = graph({ 'main.js': "export const f = () => import('node:os');\n" })
    const b = buildBundle({ entry: join(dir, 'main.js'), root: dir, externalImport: '__import', footer: 'return __entry;' })
    const entry = new Script(`(function (require, __import) {${b.source}\n})`).runInThisContext()(createRequire(join(dir, 'package.json')), (s: string) => import(s))
    assert.equal(typeof (await entry.f()).cpus, 'function')
  })

  it('leaves import( inside template literals, strings and comments alone', () => {
    const text = "export const t = `#!/bin/node\nimport(${JSON.stringify('x')}).then((m) => m.main())\n`;\nexport const s = 'await import(y)';\n// => import(z)\n"
    dir = graph({ 'main.js': text })
    const b = buildBundle({ entry: join(dir, 'main.js'), root: dir, externalImport: '__import' })
    const bundled = load(b.source, dir)
    assert.equal(bundled.t, '#!/bin/node\nimport("x").then((m) => m.main())\n')
    assert.equal(bundled.s, 'await import(y)')
  })

  it('split: a main part with what the first group imports statically, the rest in chunks loaded when first required', async () => {
    dir = graph({
      'main.js': "import { a } from './a.js';\nexport const get = async () => (await import('./lazy.js')).lazy + a;\nexport const other = async () => (await import('./other.js')).o;\n",
      'a.js': 'export const a = 1;\n',
      'lazy.js': "import { b } from './b.js';\nexport const lazy = b * 10;\n",
      'b.js': 'export const b = 2;\n',
      'other.js': "import { b } from './b.js';\nimport { a } from './a.js';\nexport const o = a + b;\n",
    })
    const b = buildBundle({ entry: [join(dir, 'main.js')], root: dir, footer: 'return __req;', split: { groups: [[join(dir, 'main.js')]], stem: 'x' } })
    assert.deepEqual(b.modules, ['main.js', 'a.js', 'lazy.js', 'b.js', 'other.js'])
    // lazy.js and other.js have static closures of 2 and 3 modules: lazy.js (with b.js) first, other.js gets what is left
    assert.deepEqual(b.chunks.map((c) => c.modules), [['lazy.js', 'b.js'], ['other.js']])
    assert.match(b.chunks[0]!.file, /^x-[0-9a-f]{8}-1\.cjs$/)
    assert.doesNotMatch(b.source, /__mods\["b\.js"\]/, 'the main part does not define chunk modules')
    const loaded: string[] = []
    const load = (file: string): unknown => { loaded.push(file); return new Script(b.chunks.find((c) => c.file === file)!.source).runInThisContext() }
    const req = new Script(`(function (require, __import, __base, __load) {${b.source}\n})`).runInThisContext()(createRequire(join(dir, 'package.json')), undefined, undefined, load)
    const main = req('main.js')
    assert.deepEqual(loaded, [], 'no chunk is read before one of its modules is required')
    assert.equal(await main.get(), 21)
    assert.deepEqual(loaded, [b.chunks[0]!.file])
    assert.equal(await main.other(), 3)
    assert.equal(await main.get(), 21)
    assert.deepEqual(loaded, [b.chunks[0]!.file, b.chunks[1]!.file], 'each chunk is loaded once')
    assert.throws(() => req('nope.js'), /no module nope\.js/)
  })

  it('inlineCjs: a CommonJS package travels inside the bundle, its requires mapped, child_process deferred', () => {
    dir = graph({
      'main.js': "import { greet, kind } from 'fakepkg';\nexport const hello = () => greet('x');\nexport { kind };\n",
      'node_modules/fakepkg/package.json': '{"name":"fakepkg","main":"./index.js"}',
      'node_modules/fakepkg/index.js': "const { join } = require('node:path');\nconst cp = require('node:child_process');\nconst { shout } = require('./lib/shout');\nexports.greet = (s) => shout(join('hi', s));\nexports.kind = () => typeof cp.spawn;\n",
      'node_modules/fakepkg/lib/shout.js': 'module.exports = { shout: (s) => s.toUpperCase() };\n',
    })
    const b = buildBundle({ entry: join(dir, 'main.js'), root: dir, inlineCjs: ['fakepkg'] })
    assert.deepEqual(b.externals, [], 'the package is not required at run time')
    assert.deepEqual(b.modules, ['main.js', 'node_modules/fakepkg/index.js', 'node_modules/fakepkg/lib/shout.js'])
    const asked: string[] = []
    const req = ((name: string) => { asked.push(name); return createRequire(join(dir!, 'package.json'))(name) }) as unknown as NodeJS.Require
    const module = { exports: {} as Record<string, () => string> }
    new Script(`(function (require, module) {${b.source}\n})`).runInThisContext()(req, module)
    assert.equal(module.exports.hello!(), 'HI/X')
    assert.deepEqual(asked, ['node:path'], 'child_process is not loaded until used')
    assert.equal(module.exports.kind!(), 'function')
    assert.deepEqual(asked.sort(), ['node:child_process', 'node:path'])
    dir2 = graph({ 'main.js': "import { x } from 'bad';\nexport { x };\n", 'node_modules/bad/package.json': '{"name":"bad","main":"i.js"}', 'node_modules/bad/i.js': "exports.x = require('other');\n" })
    assert.throws(() => buildBundle({ entry: join(dir2!, 'main.js'), root: dir2!, inlineCjs: ['bad'] }), /may require only its own files/)
  })

  const refuses: Array<[string, Record<string, string>, RegExp]> = [
    ['export default', { 'main.js': 'export default 1;\n' }, /export default/],
    ['import.meta', { 'main.js': 'export const u = import.meta.url;\n' }, /import\.meta/],
    ['top-level await', { 'main.js': 'const x = await Promise.resolve(1);\nexport { x };\n' }, /top-level await/],
    ['an import cycle', { 'main.js': "import { b } from './b.js';\nexport const a = 1;\n", 'b.js': "import { a } from './main.js';\nexport const b = 2;\n" }, /import cycle \(main\.js -> b\.js -> main\.js\)/],
    ['a default import of a module', { 'main.js': "import x from './b.js';\nexport { x };\n", 'b.js': 'export const y = 1;\n' }, /default import/],
    ['a dynamic import of a package', { 'main.js': "export const f = () => import('koffi');\n" }, /dynamic import/],
  ]
  for (const [what, files, msg] of refuses) {
    it(`refuses ${what}`, () => {
      dir = graph(files)
      assert.throws(() => buildBundle({ entry: join(dir!, 'main.js'), root: dir! }), (e: unknown) => e instanceof PodnetError && msg.test(e.message))
    })
  }
})
