/**
 * The single-file build of the podnet command line, for start-up time (the same reasons and
 * the same bundler as podnet-cni: src/cni/bundle.ts). scripts/setup.sh writes it after every
 * tsc build:
 *
 *   dist/cli/podnet.cjs       every module the CLI can import, one CommonJS function each
 *   dist/cli/podnet.v8cache   V8's code cache of it, made after loading every module
 *
 * bin/podnet.js runs the bundle when it is at least as new as dist/src/cli/main.js (tsc rewrites
 * every output file, so a bundle older than that is stale) and imports the ES modules otherwise,
 * or when PODNET_NO_BUNDLE=1. Modules that find files next to themselves through
 * `import.meta.url` (the supervisor's entry, the launcher's source) get their own file's URL, so
 * the bundle only works in the tree it was built in, which is where bin/podnet.js looks for it.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { bundleSourceOf, verifyBundle } from '../cni/install.js'

export const CLI_ENTRY = 'src/cli/main.js'

/** dist/ of this tree. */
const distDir = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export function cliBundlePaths(dist = distDir()): { file: string; cache: string } {
  return { file: join(dist, 'cli', 'podnet.cjs'), cache: join(dist, 'cli', 'podnet.v8cache') }
}

export interface CliBundleReport {
  file: string
  modules: number
  bytes: number
  cacheBytes: number
}

/** Builds, verifies (every module's exports against the ES module's) and writes the bundle and its code cache. */
export async function buildCliBundle(): Promise<CliBundleReport> {
  const dist = distDir()
  const { file, cache } = cliBundlePaths(dist)
  const { source, modules } = bundleSourceOf(CLI_ENTRY, { importMetaUrl: true })
  await verifyBundle(source, modules)
  // The cache of a script that has loaded every module (and built the program) holds the
  // compiled top-level code and what buildProgram() ran.
  const script = new Script(source, { filename: file })
  type Loader = (r: NodeJS.Require, i: (s: string) => Promise<unknown>) => (id: string) => Record<string, unknown>
  const req = (script.runInThisContext() as Loader)(createRequire(join(dist, '..', 'package.json')), (s) => import(s))
  for (const id of modules) req(id)
  ;(req(CLI_ENTRY).buildProgram as () => unknown)()
  const data = script.createCachedData()
  mkdirSync(dirname(file), { recursive: true })
  // the cache first: the bundle's mtime is what bin/podnet.js checks
  writeFileSync(`${cache}.tmp`, data)
  renameSync(`${cache}.tmp`, cache)
  writeFileSync(`${file}.tmp`, source)
  renameSync(`${file}.tmp`, file)
  return { file, modules: modules.length, bytes: source.length, cacheBytes: data.length }
}
