/**
 * `podnet cni install`: puts podnet-cni where a container runtime looks for CNI plugins and a
 * conflist where it looks for networks (libcni's defaults: /opt/cni/bin, /etc/cni/net.d).
 *
 * What it writes into the bin dir:
 *   podnet-cni                  the executable: the forwarder (forwarder/podnet-cni.c, built here),
 *                               a static program that hands the request to `podnet cni serve` over
 *                               its unix socket, or runs the Node plugin below when no daemon
 *                               answers. Without a C compiler, the Node plugin itself.
 *   .podnet-cni/podnet-cni-node the Node plugin: a small launcher (shebang with this Node's path,
 *                               NODE_OPTIONS and NODE_EXTRA_CA_CERTS dropped: the plugin must not
 *                               inherit a runtime's Node settings, and extra CA certificates cost
 *                               ~125 ms of start-up here for a program that makes no TLS call)
 *   .podnet-cni/podnet-cni.cjs  the plugin as one script (bundle.ts), checked against the modules;
 *                               it loads koffi's native module directly (koffiNativeFile)
 *   .podnet-cni/podnet-cni.v8cache  V8's code cache for it, made by running the launcher once: each
 *                               command on a throwaway pod in a private network namespace (warm.ts)
 * With `bundle: false` (or when a bundle cannot be made) the launcher imports podnet's modules
 * from this installation instead: slower to start, same behaviour. Either way the executable
 * uses this installation's node_modules (koffi), so podnet must stay where it is.
 */
import { writeFileAtomic } from '../state/files.js'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import { ExistsError, InvalidArgumentError, PodnetError } from '../errors.js'
import { buildBundle, type Bundle } from './bundle.js'
import { buildForwarder } from './forwarder.js'
import { DEFAULT_CNI_SOCKET } from './config.js'
import { SUPPORTED_CNI_VERSIONS, compareVersions } from './types.js'

export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin'
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d'
export const DEFAULT_CNI_NETWORK = 'podnet'
export const DEFAULT_CNI_SUBNET = '10.86.0.0/16'
/** The plugin's type (the executable's name). */
export const PLUGIN_TYPE = 'podnet-cni'

export interface ConflistOptions {
  network?: string
  subnet?: string
  gateway?: string
  bridge?: string
  /** cniVersion of the list (default 1.0.0, which every current runtime reads; cniVersions adds 1.1.0). */
  cniVersion?: string
  /** podnet.stateDir (default: the plugin's, /var/lib/podnet/cni). */
  stateDir?: string
  mtu?: number
}

export interface InstallOptions extends ConflistOptions {
  binDir?: string
  confDir?: string
  /** Write the single-file build and its code cache (default true). */
  bundle?: boolean
  /** Replace a conflist of the same name with different content. */
  force?: boolean
  /** Node to run the plugin with (default: this one). */
  nodePath?: string
  /** Install the forwarder as the executable (default true; needs a C compiler, else the Node plugin is the executable). */
  forwarder?: boolean
  /** The socket of `podnet cni serve` the forwarder connects to (default /run/podnet/cni.sock). */
  socket?: string
}

export interface InstallReport {
  /** What runtimes run: the forwarder, or the Node plugin when there is none. */
  executable: string
  /** The Node plugin (the forwarder's fallback). */
  nodeExecutable: string
  /** Whether the executable is the forwarder; why not when it is not. */
  forwarder: boolean
  forwarderError?: string
  /** The daemon socket the forwarder connects to. */
  socket: string
  /** 'bundle': the single-file build with a code cache; 'modules': imports podnet's modules. */
  mode: 'bundle' | 'modules'
  /** Why the bundle was not used, when mode is 'modules' though one was asked for. */
  bundleError?: string
  bundleModules?: number
  codeCacheBytes?: number
  /** What the code cache was made from: running each command once in a throwaway namespace, or loading the modules. */
  codeCache?: 'commands' | 'modules'
  conflist: string
  /** false when an identical conflist was already there. */
  conflistWritten: boolean
  /** VERSION's answer from the installed executable. */
  supportedVersions: string[]
}

/** This podnet installation: the package root (with node_modules) and its dist/. */
function podnetRoot(): { root: string; dist: string } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
  return { root, dist: join(root, 'dist') }
}

/** The conflist a runtime needs for podnet-cni: one plugin, the reference fields podman and containerd examples use. */
export function conflistFor(opts: ConflistOptions = {}): Record<string, unknown> {
  const network = opts.network ?? DEFAULT_CNI_NETWORK
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(network)) throw new InvalidArgumentError('network', `'${network}' is not a CNI network name (letters, digits, '_', '.', '-')`)
  const cniVersion = opts.cniVersion ?? '1.0.0'
  if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(cniVersion)) throw new InvalidArgumentError('cniVersion', `${cniVersion} is not one of ${SUPPORTED_CNI_VERSIONS.join(', ')}`)
  const bridge = opts.bridge ?? (Buffer.byteLength(`pn-${network}`) <= 15 ? `pn-${network}` : 'pn-cni0')
  const range: Record<string, string> = { subnet: opts.subnet ?? DEFAULT_CNI_SUBNET }
  if (opts.gateway) range.gateway = opts.gateway
  const plugin: Record<string, unknown> = {
    type: PLUGIN_TYPE,
    bridge,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ...(opts.mtu !== undefined && { mtu: opts.mtu }),
    ipam: { type: 'host-local', ranges: [[range]], routes: [{ dst: range.subnet!.includes(':') ? '::/0' : '0.0.0.0/0' }] },
    capabilities: { portMappings: true, ips: true, mac: true, bandwidth: true },
    ...(opts.stateDir && { podnet: { stateDir: opts.stateDir } }),
  }
  // cniVersions (1.1): runtimes that know it pick the newest common version, older ones read cniVersion
  const newer = compareVersions(cniVersion, '1.0.0') >= 0 ? SUPPORTED_CNI_VERSIONS.filter((v) => compareVersions(v, cniVersion) >= 0) : []
  return { cniVersion, ...(newer.length > 1 && { cniVersions: newer }), name: network, plugins: [plugin] }
}

/** Writes a file atomically and durably (src/state/files.ts), with exactly `mode`. */
const writeAtomic = (path: string, data: string | Uint8Array, mode = 0o644): void => writeFileAtomic(path, Buffer.from(data), { mode, dirMode: 0o755 })

/** The shebang: this Node, without the runtime's Node settings (coreutils env -S), or plain when env cannot. */
function shebang(node: string): string {
  const r = spawnSync('/usr/bin/env', ['-S', `-u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS ${node} -e 0`], { stdio: 'ignore' })
  return r.status === 0 ? `#!/usr/bin/env -S -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS ${node}` : `#!${node}`
}

const BUNDLE_ENTRY = 'src/cni/main.js'

/**
 * The launcher for the single-file build: compile with the code cache, run. PODNET_CNI_WARM=1
 * writes the cache instead, after loading every module, and =commands after also running each
 * command once (warm.ts: only in a throwaway network + mount namespace).
 */
function bundleLauncher(node: string, dataDir: string): string {
  return `${shebang(node)}
'use strict'
// podnet-cni, the CNI plugin of podnet. Written by \`podnet cni install\`; do not edit.
const { readFileSync, renameSync, writeFileSync } = require('node:fs')
const { Script } = require('node:vm')
const dir = ${JSON.stringify(dataDir)}
const file = dir + '/podnet-cni.cjs'
const cache = dir + '/podnet-cni.v8cache'
let cachedData
try { cachedData = readFileSync(cache) } catch {}
const script = new Script(readFileSync(file, 'latin1'), cachedData ? { filename: file, cachedData } : { filename: file })
const req = script.runInThisContext()(require, (s) => import(s))
const warm = process.env.PODNET_CNI_WARM
if (warm === '1' || warm === 'commands') {
  for (const id of req.ids) req(id)
  Promise.resolve(warm === 'commands' ? req(${JSON.stringify(BUNDLE_ENTRY)}).warmUp() : undefined).then(() => {
    writeFileSync(cache + '.tmp', script.createCachedData())
    renameSync(cache + '.tmp', cache)
    process.exit(0)
  }, (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1) })
} else {
  req(${JSON.stringify(BUNDLE_ENTRY)}).main()
}
`
}

/** The launcher that imports podnet's modules (no bundle). */
function modulesLauncher(node: string, dist: string): string {
  return `${shebang(node)}
'use strict'
// podnet-cni, the CNI plugin of podnet. Written by \`podnet cni install\`; do not edit.
import(${JSON.stringify(pathToFileURL(join(dist, BUNDLE_ENTRY)).href)}).then((m) => m.main())
`
}

/**
 * The native module koffi loads on this machine. koffi's own loader spends 10-15 ms per
 * process finding it (libc detection from Node's ELF header, package lookups); podnet uses
 * only the native API (load, func, async calls, errno), so the single-file build loads the
 * binary koffi chose directly. undefined when it cannot be told.
 */
export function koffiNativeFile(root: string): string | undefined {
  const req = createRequire(join(root, 'package.json'))
  const koffi = req('koffi') as { default?: unknown }
  const native = koffi.default ?? koffi
  const file = Object.keys(req.cache).find((f) => f.endsWith('.node') && req.cache[f]?.exports === native)
  const api = native as Record<string, unknown>
  return file && ['load', 'errno'].every((k) => typeof api[k] === 'function') ? file : undefined
}

/** The single-file build of the plugin, wrapped as a function of `require` returning the module loader. */
export function pluginBundleSource(): { source: string; modules: string[] } {
  // import.meta.url: the DNS responder's entry (dns/service.ts), which ADD starts on a network with podnet.dns
  return bundleSourceOf(BUNDLE_ENTRY, { importMetaUrl: true })
}

/**
 * The single-file build of `entry` (a module id under dist/, e.g. 'src/cli/main.js'), wrapped as
 * a function of (require, __import, __base, __load) returning the module loader (`__req(id)`,
 * with `__req.ids`). With `split` (BundleOptions.split, groups as module ids), the main part and
 * its chunk files; `__load` then compiles a chunk file by name.
 */
export function bundleSourceOf(entry: string, opts: { importMetaUrl?: boolean; split?: { groups: string[][]; stem: string }; inlineCjs?: string[] } = {}): { source: string; modules: string[]; chunks: Bundle['chunks'] } {
  const { root, dist } = podnetRoot()
  const native = koffiNativeFile(root)
  const b = buildBundle({
    entry: join(dist, entry), root: dist, externalsFrom: join(root, 'package.json'),
    ...(native !== undefined && { externalFiles: { koffi: native } }),
    ...(opts.importMetaUrl === true && { importMetaUrl: true }),
    ...(opts.split && { split: { stem: opts.split.stem, groups: opts.split.groups.map((g) => g.map((id) => join(dist, id))) } }),
    ...(opts.inlineCjs && { inlineCjs: opts.inlineCjs }),
    externalImport: '__import',
    footer: 'return __req;',
  })
  const ids = `__req.ids = ${JSON.stringify(b.modules)};`
  return { source: `(function (require, __import, __base, __load) {\n${b.source.replace(/return __req;\n$/, `${ids}\nreturn __req;\n`)}})`, modules: b.modules, chunks: b.chunks }
}

/**
 * Loads the bundle and every module it holds, and compares each module's export names with
 * the ES module's. Throws PodnetError naming the first module that differs. `load` compiles a
 * split bundle's chunk files (bundleSourceOf).
 */
export async function verifyBundle(source: string, modules: string[], load?: (file: string) => unknown): Promise<void> {
  const { root, dist } = podnetRoot()
  // the third argument is the base of a relocatable bundle's import.meta.url (ignored by the others)
  const req = new Script(source, { filename: 'podnet-bundle.cjs' }).runInThisContext()(createRequire(join(root, 'package.json')), (s: string) => import(s), pathToFileURL(`${dist}/`).href, load) as (id: string) => Record<string, unknown>
  for (const id of modules) {
    const bundled = Object.keys(req(id)).sort()
    const esm = Object.keys(await import(pathToFileURL(join(dist, id)).href)).filter((k) => k !== 'default').sort()
    if (bundled.join(',') !== esm.join(',')) {
      const missing = esm.filter((k) => !bundled.includes(k))
      const extra = bundled.filter((k) => !esm.includes(k))
      throw new PodnetError(`bundle: ${id} exports differ from the module's (missing: ${missing.join(', ') || '-'}; extra: ${extra.join(', ') || '-'})`)
    }
  }
}

/**
 * Makes the code cache: first by running each command once in a throwaway network and mount
 * namespace (util-linux unshare, root), so the cache holds what the commands run; when that
 * is not possible, from loading the modules only.
 */
function warmCodeCache(executable: string): 'commands' | 'modules' {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }
  const commands = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--fork', '--', 'sh', '-c',
    // a tmpfs on /run/netns alone: the executable may itself live under /run (a test's TMPDIR)
    'mkdir -p /run/netns && mount -t tmpfs podnet-cni-warm /run/netns && exec "$0"', executable], {
    env: { ...env, PODNET_CNI_WARM: 'commands' }, encoding: 'utf8', timeout: 60000,
  })
  if (commands.status === 0) return 'commands'
  const modules = spawnSync(executable, [], { env: { ...env, PODNET_CNI_WARM: '1' }, encoding: 'utf8', timeout: 60000 })
  if (modules.status !== 0) throw new PodnetError(`warming the code cache failed: ${String(modules.stderr).trim() || `exit ${modules.status}`}`)
  return 'modules'
}

/** Installs the executable and the conflist. */
export async function installCni(opts: InstallOptions = {}): Promise<InstallReport> {
  const binDir = resolve(opts.binDir ?? DEFAULT_CNI_BIN_DIR)
  const confDir = resolve(opts.confDir ?? DEFAULT_CNI_CONF_DIR)
  const node = opts.nodePath ?? process.execPath
  const conflist = conflistFor(opts)
  const conflistPath = join(confDir, `10-${String(conflist.name)}.conflist`)
  const conflistText = `${JSON.stringify(conflist, null, 2)}\n`
  if (existsSync(conflistPath) && readFileSync(conflistPath, 'utf8') !== conflistText && !opts.force) {
    throw new ExistsError('conflist', conflistPath, '(with other content; force replaces it)')
  }
  const { dist } = podnetRoot()
  if (!existsSync(join(dist, BUNDLE_ENTRY))) throw new PodnetError(`podnet is not built: ${join(dist, BUNDLE_ENTRY)} is missing (run npm run build)`)

  const executable = join(binDir, PLUGIN_TYPE)
  const dataDir = join(binDir, `.${PLUGIN_TYPE}`)
  const nodeExecutable = join(dataDir, `${PLUGIN_TYPE}-node`)
  const socket = opts.socket ?? DEFAULT_CNI_SOCKET
  const report: InstallReport = { executable, nodeExecutable, forwarder: false, socket, mode: 'modules', conflist: conflistPath, conflistWritten: false, supportedVersions: [] }
  if (opts.bundle ?? true) {
    try {
      const { source, modules } = pluginBundleSource()
      await verifyBundle(source, modules)
      writeAtomic(join(dataDir, 'podnet-cni.cjs'), source)
      rmSync(join(dataDir, 'podnet-cni.v8cache'), { force: true })
      writeAtomic(nodeExecutable, bundleLauncher(node, dataDir), 0o755)
      report.codeCache = warmCodeCache(nodeExecutable)
      report.mode = 'bundle'
      report.bundleModules = modules.length
      report.codeCacheBytes = readFileSync(join(dataDir, 'podnet-cni.v8cache')).length
    } catch (err) {
      report.bundleError = (err as Error).message
    }
  }
  if (report.mode === 'modules') {
    rmSync(dataDir, { recursive: true, force: true })
    writeAtomic(nodeExecutable, modulesLauncher(node, dist), 0o755)
  }
  if (opts.forwarder ?? true) {
    try {
      mkdirSync(binDir, { recursive: true, mode: 0o755 })
      buildForwarder(executable, socket, nodeExecutable)
      report.forwarder = true
    } catch (err) {
      report.forwarderError = (err as Error).message
    }
  }
  if (!report.forwarder) {
    // no forwarder: the Node plugin is the executable
    writeAtomic(executable, readFileSync(nodeExecutable), 0o755)
  }
  const v = spawnSync(executable, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'VERSION' }, encoding: 'utf8', timeout: 30000 })
  try {
    report.supportedVersions = (JSON.parse(String(v.stdout)) as { supportedVersions: string[] }).supportedVersions
  } catch {
    throw new PodnetError(`the installed ${executable} does not answer VERSION: ${String(v.stdout).trim() || String(v.stderr).trim() || `exit ${v.status}`}`)
  }
  if (!existsSync(conflistPath) || readFileSync(conflistPath, 'utf8') !== conflistText) {
    writeAtomic(conflistPath, conflistText)
    report.conflistWritten = true
  }
  return report
}
