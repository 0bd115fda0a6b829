/**
 * The single-file build of the library, for import time: `import 'podnet'` through tsc's ES
 * modules loads ~60 files (Node's ES module loader spends 1-2 ms on each) and koffi's native
 * module, ~150 ms before a user's code runs. scripts/build-cli-bundle.mjs writes, after tsc:
 *
 *   dist/lib/podnet.cjs       every module any subpath of package.json can import, one CommonJS
 *                             function each, run on first use (src/cni/bundle.ts); relocatable
 *   dist/lib/podnet.v8cache   V8's code cache of it, made after loading every subpath
 *   dist/lib/registry.js      loads podnet.cjs once per process, when it is at least as new as
 *                             dist/src/index.js (tsc rewrites every file; older means stale)
 *   dist/lib/NAME.js          one ES module per subpath (package.json "exports" point here):
 *                             the subpath's exports, from the bundle, or from tsc's module when
 *                             the bundle is stale or missing or PODNET_NO_BUNDLE=1
 *
 * Every subpath reads the same registry, so a class is one class across subpaths
 * (`instanceof PodnetError` holds for an error thrown by podnet/bridge). The bundle carries no
 * absolute path: `import.meta.url` is resolved against dist/ at run time and packages (koffi,
 * yaml, commander) come from a require() made for the package's own package.json, so the
 * package works wherever npm puts it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import { buildBundle } from '../cni/bundle.js'
import { verifyBundle } from '../cni/install.js'
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
  bytes: number
  cacheBytes: number
  subpaths: number
}

const REGISTRY = `// Written by src/cli/library-bundle.ts after tsc: loads podnet's single-file build once per process.
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'

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

function load() {
  let cachedData
  try { cachedData = readFileSync(new URL('lib/podnet.v8cache', dist)) } catch { /* compiled without */ }
  const filename = fileURLToPath(file)
  const script = new Script(readFileSync(file, 'latin1'), cachedData ? { filename, cachedData } : { filename })
  return script.runInThisContext()(createRequire(new URL('../package.json', dist)), (s) => import(s), dist.href)
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

/** Builds, verifies (every module's exports against the ES module's) and writes the library's bundle, code cache, registry and wrappers. */
export async function buildLibraryBundle(): Promise<LibraryBundleReport> {
  const dist = distDir()
  const root = join(dist, '..')
  const subpaths = librarySubpaths(join(root, 'package.json'))
  const b = buildBundle({
    entry: subpaths.map((s) => join(dist, s.module)), root: dist,
    importMetaUrl: 'relative', externalImport: '__import', footer: 'return __req;',
  })
  const source = `(function (require, __import, __base) {\n${b.source}})`
  await verifyBundle(source, b.modules)
  const file = join(dist, 'lib', 'podnet.cjs')
  const script = new Script(source, { filename: file })
  type Loader = (r: NodeJS.Require, i: (s: string) => Promise<unknown>, base: string) => (id: string) => Record<string, unknown>
  const req = (script.runInThisContext() as Loader)(createRequire(join(root, 'package.json')), (s) => import(s), pathToFileURL(`${dist}/`).href)
  const wrappers = new Map<string, string>()
  for (const s of subpaths) {
    const bundled = req(s.module)
    const names = Object.keys(await import(pathToFileURL(join(dist, s.module)).href)).filter((k) => k !== 'default').sort()
    // a wrapper copies each export once: a live binding (export let) would stop following its module
    const live = names.filter((k) => Object.getOwnPropertyDescriptor(bundled, k)?.get !== undefined)
    if (live.length) throw new PodnetError(`library bundle: ${s.module} exports live bindings (${live.join(', ')}), which a wrapper cannot re-export`)
    wrappers.set(s.wrapper, wrapperSource(s, names))
  }
  const data = script.createCachedData()
  const dir = join(dist, 'lib')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [w, text] of wrappers) writeFileSync(join(dist, w), text)
  writeFileSync(join(dir, 'registry.js'), REGISTRY)
  // the cache first: the bundle's mtime is what the registry checks
  writeFileSync(join(dir, 'podnet.v8cache'), data)
  writeFileSync(`${file}.tmp`, source)
  renameSync(`${file}.tmp`, file)
  return { file, modules: b.modules.length, bytes: source.length, cacheBytes: data.length, subpaths: subpaths.length }
}
