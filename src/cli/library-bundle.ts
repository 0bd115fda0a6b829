/**
 * The bundled build of the library, for import time: `import 'podnet'` through tsc's ES
 * modules loads ~60 files (Node's ES module loader spends 1-2 ms on each) and koffi's native
 * module, ~150 ms before a user's code runs. scripts/build-cli-bundle.mjs writes, after tsc:
 *
 *   dist/lib/podnet.cjs       the loader and the errors module, with the module table: every
 *                             module any subpath of package.json can import is one CommonJS
 *                             function (src/cni/bundle.ts), run on first use; relocatable
 *   dist/lib/podnet-H-K.cjs   those functions, in chunks read the first time one of their
 *                             modules is required: what the root ('.') imports, then what each
 *                             other subpath adds, smallest first (so `import 'podnet'` reads
 *                             ~0.3 MB, not the ~1.7 MB of every subpath)
 *   dist/lib/*.v8cache        V8's code cache of each, made after loading every subpath
 *   dist/lib/registry.js      loads podnet.cjs once per process, when it is at least as new as
 *                             dist/src/index.js (tsc rewrites every file; older means stale)
 *   dist/lib/NAME.js          one ES module per subpath (package.json "exports" point here):
 *                             the subpath's exports, from the bundle, or from tsc's module when
 *                             the bundle is stale or missing or PODNET_NO_BUNDLE=1
 *
 * Every subpath reads the same registry and module table, so a module runs once per process
 * and a class is one class across subpaths (`instanceof PodnetError` holds for an error thrown
 * by podnet/bridge), whichever chunk holds it. The bundle carries no absolute path:
 * `import.meta.url` is resolved against dist/ at run time and packages (koffi, yaml, commander)
 * come from a require() made for the package's own package.json, so the package works wherever
 * npm puts it.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import { buildBundle } from '../cni/bundle.js'
import { verifyBundle } from '../cni/install.js'
import { memoryChunks, writeSplitBundle } from './bundle.js'
import { PodnetError } from '../errors.js'

/** dist/ of this tree. */
const distDir = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface LibrarySubpath {
  /** The subpath as package.json names it: '.', './bridge', ... */
  subpath: string
  /** The module tsc wrote, relative to dist/ ('src/bridge/index.js'). */
  module: string
  /** The wrapper package.json's "default" points at, relative to dist/ ('lib/bridge.js'). */
  wrapper: string
}

/** The subpaths of package.json's "exports", each with its module (from its "types") and wrapper. */
export function librarySubpaths(packageJson: string): LibrarySubpath[] {
  const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { exports: Record<string, { types: string; default: string }> }
  return Object.entries(pkg.exports).map(([subpath, e]) => {
    const m = /^\.\/dist\/(.+)\.d\.ts$/.exec(e.types)
    const w = /^\.\/dist\/(lib\/[\w-]+\.js)$/.exec(e.default)
    if (!m || !w) throw new PodnetError(`package.json: exports['${subpath}'] must have types ./dist/....d.ts and default ./dist/lib/NAME.js`)
    return { subpath, module: `${m[1]}.js`, wrapper: w[1]! }
  })
}

export interface LibraryBundleReport {
  file: string
  modules: number
  /** Bytes of the loader's file and of the chunks together. */
  bytes: number
  cacheBytes: number
  subpaths: number
  chunks: number
}

const REGISTRY = `// Written by src/cli/library-bundle.ts after tsc: loads podnet's bundled build once per process.
// Built-in modules through process.getBuiltinModule, not import: an ES module's import of node:fs
// makes Node read every export of it, and fs.ReadStream loads the stream modules (~3 ms).
const { readFileSync, statSync } = process.getBuiltinModule('node:fs')
const { createRequire } = process.getBuiltinModule('node:module')
const { fileURLToPath } = process.getBuiltinModule('node:url')
const { Script } = process.getBuiltinModule('node:vm')

const dist = new URL('../', import.meta.url)
const file = new URL('lib/podnet.cjs', dist)

function fresh() {
  if (process.env.PODNET_NO_BUNDLE === '1') return false
  try {
    return statSync(file).mtimeMs >= statSync(new URL('src/index.js', dist)).mtimeMs
  } catch {
    return false
  }
}

/** Compiles one file of the bundle (the loader or a chunk), with its code cache when there is one. */
function compile(name) {
  const url = new URL('lib/' + name, dist)
  let cachedData
  try { cachedData = readFileSync(new URL('lib/' + name.replace(/\\.cjs$/, '.v8cache'), dist)) } catch { /* compiled without */ }
  const filename = fileURLToPath(url)
  return new Script(readFileSync(url, 'latin1'), cachedData ? { filename, cachedData } : { filename }).runInThisContext()
}

function load() {
  return compile('podnet.cjs')(createRequire(new URL('../package.json', dist)), (s) => import(s), dist.href, compile)
}

/** The bundle's module loader (id -> exports), or undefined: use tsc's modules. */
export const bundled = fresh() ? load() : undefined
`

function wrapperSource(s: LibrarySubpath, names: string[]): string {
  const esm = `../${s.module}`
  return [
    `// Written by src/cli/library-bundle.ts after tsc: podnet's '${s.subpath}' export, from the single-file build, or tsc's module when that is stale.`,
    "import { bundled } from './registry.js'",
    '',
    `const m = bundled !== undefined ? bundled(${JSON.stringify(s.module)}) : await import(${JSON.stringify(esm)})`,
    `export const { ${names.join(', ')} } = m`,
    '',
  ].join('\n')
}

/** Builds, verifies (every module's exports against the ES module's) and writes the library's bundle, code caches, registry and wrappers. */
export async function buildLibraryBundle(): Promise<LibraryBundleReport> {
  const dist = distDir()
  const root = join(dist, '..')
  const subpaths = librarySubpaths(join(root, 'package.json'))
  const entry = (sub: string): string => join(dist, subpaths.find((s) => s.subpath === sub)!.module)
  // the loader's own file holds the errors (every subpath needs them); then what the root needs;
  // then each subpath's own modules, the smallest first
  const b = buildBundle({
    entry: subpaths.map((s) => join(dist, s.module)), root: dist,
    importMetaUrl: 'relative', externalImport: '__import', footer: 'return __req;',
    split: { stem: 'podnet', groups: [[entry('./errors')], [entry('.')], ...subpaths.filter((s) => s.subpath !== '.' && s.subpath !== './errors').map((s) => [join(dist, s.module)])], sortFrom: 2 },
  })
  const source = `(function (require, __import, __base, __load) {\n${b.source}})`
  const dir = join(dist, 'lib')
  await verifyBundle(source, b.modules, memoryChunks(b.chunks, dir).load)
  const file = join(dir, 'podnet.cjs')
  const mem = memoryChunks(b.chunks, dir)
  const script = new Script(source, { filename: file })
  type Loader = (r: NodeJS.Require, i: (s: string) => Promise<unknown>, base: string, load: (file: string) => unknown) => (id: string) => Record<string, unknown>
  const req = (script.runInThisContext() as Loader)(createRequire(join(root, 'package.json')), (s) => import(s), pathToFileURL(`${dist}/`).href, mem.load)
  const wrappers = new Map<string, string>()
  for (const s of subpaths) {
    const bundled = req(s.module)
    const names = Object.keys(await import(pathToFileURL(join(dist, s.module)).href)).filter((k) => k !== 'default').sort()
    // a wrapper copies each export once: a live binding (export let) would stop following its module
    const live = names.filter((k) => Object.getOwnPropertyDescriptor(bundled, k)?.get !== undefined)
    if (live.length) throw new PodnetError(`library bundle: ${s.module} exports live bindings (${live.join(', ')}), which a wrapper cannot re-export`)
    wrappers.set(s.wrapper, wrapperSource(s, names))
  }
  const mainCache = script.createCachedData()
  const chunks = b.chunks.map((c) => ({ ...c, cache: mem.scripts.get(c.file)!.createCachedData() }))
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [w, text] of wrappers) writeFileSync(join(dist, w), text)
  writeFileSync(join(dir, 'registry.js'), REGISTRY)
  writeSplitBundle(dir, { file: 'podnet.cjs', source, cache: mainCache }, chunks, 'podnet')
  return {
    file, modules: b.modules.length, subpaths: subpaths.length, chunks: chunks.length,
    bytes: source.length + chunks.reduce((n, c) => n + c.source.length, 0),
    cacheBytes: mainCache.length + chunks.reduce((n, c) => n + c.cache.length, 0),
  }
}
