/**
 * The single-file build of the podnet command line, for start-up time (the same reasons and
 * the same bundler as podnet-cni: src/cni/bundle.ts). scripts/setup.sh writes it after every
 * tsc build:
 *
 *   dist/cli/podnet.cjs         what main.js imports statically (the program, every command's
 *                               options, output), one CommonJS function per module
 *   dist/cli/podnet-H-K.cjs     the rest, in chunks loaded when one of their modules is first
 *                               required: what each command imports when it runs (netlink and
 *                               namespaces for link ls, the bridge for network, ...)
 *   dist/cli/*.v8cache          V8's code cache of each, made after loading every module and
 *                               listing links: made-up ones (the decoder and the JSON output,
 *                               whatever the build machine has) and this namespace's with
 *                               `link ls --json` (read-only; the program, the handle, the socket)
 *
 * A command reads only the parts it runs: `podnet --version` ~0.3 MB of the ~1.7 MB, `link ls`
 * ~0.5 MB. bin/podnet.js runs the build when dist/cli/podnet.cjs is at least as new as
 * dist/src/cli/main.js (tsc rewrites every output file, so a build older than that is stale) and
 * imports the ES modules otherwise, or when PODNET_NO_BUNDLE=1. Modules that find files next to
 * themselves through `import.meta.url` (the supervisor's entry, the launcher's source) get their
 * own file's URL, so the build only works in the tree it was built in, which is where
 * bin/podnet.js looks for it.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import type { Bundle } from '../cni/bundle.js'
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
  /** Bytes of the main part and of the chunks together. */
  bytes: number
  cacheBytes: number
  chunks: number
}

type Loader = (r: NodeJS.Require, i: (s: string) => Promise<unknown>, base: string | undefined, load: (file: string) => unknown) => (id: string) => Record<string, unknown>

/**
 * Compiles a split bundle's chunks from memory, as a launcher compiles them from files, keeping
 * each Script (for its code cache).
 */
export function memoryChunks(chunks: Bundle['chunks'], dir: string): { load: (file: string) => unknown; scripts: Map<string, Script> } {
  const scripts = new Map<string, Script>()
  const load = (file: string): unknown => {
    const c = chunks.find((x) => x.file === file)
    if (!c) throw new Error(`bundle: no chunk ${file}`)
    const script = new Script(c.source, { filename: join(dir, file) })
    scripts.set(file, script)
    return script.runInThisContext()
  }
  return { load, scripts }
}

/**
 * Writes a split bundle into `dir`: chunk files and every code cache first, then the main part
 * (whose mtime the launchers check, renamed into place); files of earlier builds' chunks go.
 */
export function writeSplitBundle(dir: string, main: { file: string; source: string; cache: Buffer }, chunks: Array<{ file: string; source: string; cache: Buffer }>, stem: string): void {
  mkdirSync(dir, { recursive: true })
  const cacheOf = (file: string): string => file.replace(/\.cjs$/, '.v8cache')
  const keep = new Set([main.file, cacheOf(main.file), ...chunks.flatMap((c) => [c.file, cacheOf(c.file)])])
  const chunkName = new RegExp(`^${stem}-[0-9a-f]{8}-\\d+\\.(?:cjs|v8cache)$`)
  for (const c of chunks) {
    writeFileSync(join(dir, c.file), c.source)
    writeFileSync(join(dir, cacheOf(c.file)), c.cache)
  }
  writeFileSync(join(dir, `${cacheOf(main.file)}.tmp`), main.cache)
  renameSync(join(dir, `${cacheOf(main.file)}.tmp`), join(dir, cacheOf(main.file)))
  writeFileSync(join(dir, `${main.file}.tmp`), main.source)
  renameSync(join(dir, `${main.file}.tmp`), join(dir, main.file))
  for (const f of readdirSync(dir)) if (chunkName.test(f) && !keep.has(f)) rmSync(join(dir, f), { force: true })
}

/** Builds, verifies (every module's exports against the ES module's) and writes the bundle and its code caches. */
export async function buildCliBundle(): Promise<CliBundleReport> {
  const dist = distDir()
  const { file } = cliBundlePaths(dist)
  const dir = dirname(file)
  // commander inside the bundle: through Node's CommonJS loader it cost ~10 ms per command
  const { source, modules, chunks } = bundleSourceOf(CLI_ENTRY, { importMetaUrl: true, split: { groups: [[CLI_ENTRY]], stem: 'podnet' }, inlineCjs: ['commander'] })
  await verifyBundle(source, modules, memoryChunks(chunks, dir).load)
  // The caches of a bundle that has loaded every module, built the program and listed links hold
  // the compiled top-level code and the functions those ran (V8 compiles a function on its first call).
  const mem = memoryChunks(chunks, dir)
  const script = new Script(source, { filename: file })
  const req = (script.runInThisContext() as Loader)(createRequire(join(dist, '..', 'package.json')), (s) => import(s), undefined, mem.load)
  for (const id of modules) req(id)
  // not buildProgram() with every group: their registration code would be in the cache that every
  // command deserializes (6 % of link ls's instructions), for the sake of --help only
  warmLinkListing(req)
  await runQuietly(req(CLI_ENTRY).main as (argv: string[]) => Promise<number>, ['link', 'ls', '--json'])
  const mainCache = script.createCachedData()
  const written = chunks.map((c) => ({ ...c, cache: mem.scripts.get(c.file)!.createCachedData() }))
  writeSplitBundle(dir, { file: 'podnet.cjs', source, cache: mainCache }, written, 'podnet')
  return {
    file, modules: modules.length, chunks: chunks.length,
    bytes: source.length + chunks.reduce((n, c) => n + c.source.length, 0),
    cacheBytes: mainCache.length + written.reduce((n, c) => n + c.cache.length, 0),
  }
}

/**
 * Runs a command of the bundle's CLI with its output thrown away, for the code cache: what it
 * compiles on the way (option parsing, the handle, the socket, the dump) is then cached too.
 * Only read-only commands belong here (the build runs in whatever namespace it is in); a
 * failure (no netlink where the build runs) only means a smaller cache.
 */
async function runQuietly(main: (argv: string[]) => Promise<number>, args: string[]): Promise<void> {
  const write = process.stdout.write
  const writeErr = process.stderr.write
  process.stdout.write = (() => true) as typeof process.stdout.write
  process.stderr.write = (() => true) as typeof process.stderr.write
  try {
    await main([process.execPath, 'podnet', ...args])
  } catch {
    // the cache is smaller, nothing else
  } finally {
    process.stdout.write = write
    process.stderr.write = writeErr
    process.exitCode = undefined
  }
}

/**
 * Runs what `podnet link ls --json` runs on links made up here (a bridge, one of its ports, lo),
 * so that the code cache holds the decoder and the JSON output compiled: a listing of thousands
 * of links otherwise starts by compiling them. No socket: the messages come from the encoder.
 */
function warmLinkListing(req: (id: string) => Record<string, unknown>): void {
  type Fn = (...a: unknown[]) => unknown
  const get = <T = Fn>(id: string, name: string): T => {
    const v = req(id)[name]
    if (v === undefined) throw new Error(`bundle warm-up: ${id} has no export ${name}`)
    return v as T
  }
  const Writer = get<new (n: number) => { toBuffer(): Buffer }>('src/netlink/core/writer.js', 'Writer')
  const encodeMessageBody = get('src/netlink/core/schema.js', 'encodeMessageBody')
  const forEachMessage = get('src/netlink/core/socket.js', 'forEachMessage')
  const NEWLINK = get<unknown>('src/netlink/route/link-decode.js', 'NEWLINK')
  const decodeLink = get('src/netlink/route/link-decode.js', 'decodeLink')
  const namesOf = get('src/netlink/route/json.js', 'namesOf')
  const withJson = get('src/netlink/route/json.js', 'withJson')
  const linkJson = get('src/netlink/route/json.js', 'linkJson')
  const printJsonArray = get('src/cli/output.js', 'printJsonArray')
  const linkToJson = get('src/cli/output.js', 'linkToJson')
  const specs: Array<[Record<string, number>, Record<string, unknown>]> = [
    [{ index: 1, type: 772, flags: 0x10049 }, { ifname: 'lo', mtu: 65536, address: '00:00:00:00:00:00', operstate: 0, txqlen: 1000 }],
    [{ index: 2, type: 1, flags: 0x11043 }, { ifname: 'br0', mtu: 1500, address: '02:00:00:00:00:01', operstate: 6, linkinfo: { kind: 'bridge', data: { forwardDelay: 1500, stpState: 0, priority: 32768, rootId: Buffer.alloc(8), vlanProtocol: 0x8100 } } }],
    [{ index: 3, type: 1, flags: 0x11043 }, { ifname: 'h1', mtu: 1500, master: 2, link: 4, address: '02:00:00:00:00:02', broadcast: 'ff:ff:ff:ff:ff:ff', operstate: 6, linkinfo: { kind: 'veth', slaveKind: 'bridge', slaveData: { state: 3, priority: 32, cost: 2, mode: 0, rootId: Buffer.alloc(8), messageAgeTimer: 0n } }, unknown: [{ id: 60, bytes: Buffer.alloc(4) }] }],
  ]
  const frames = specs.map(([header, attrs]) => {
    const body = new Writer(1024)
    encodeMessageBody(NEWLINK, header, attrs, body)
    const b = body.toBuffer()
    const m = Buffer.alloc(16 + ((b.length + 3) & ~3))
    m.writeUInt32LE(16 + b.length, 0)
    m.writeUInt16LE(16 /* RTM_NEWLINK */, 4)
    b.copy(m, 16)
    return m
  })
  const dgram = Buffer.concat(frames)
  const links: unknown[] = []
  forEachMessage(dgram, dgram.length, (m: unknown) => { links.push(decodeLink(m)) })
  withJson(links, linkJson, namesOf(links))
  const nameOf = namesOf(links)
  printJsonArray(links, (l: unknown) => linkToJson(l, nameOf), { write: () => true })
  JSON.stringify(links)
}
