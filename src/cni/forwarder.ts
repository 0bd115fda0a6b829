/**
 * Builds podnet-cni's forwarder (forwarder/podnet-cni.c): the static executable `podnet cni
 * install` puts where runtimes look for plugins. The daemon's socket and the Node plugin to fall
 * back to are compiled in, so the forwarder reads no file and no setting before it connects.
 *
 * The compiler is musl-gcc when installed (Debian's musl-tools; ~50 kB: its exec and round trip
 * cost about a millisecond more than exec'ing `true`), else gcc -static (glibc; ~700 kB, slower
 * to map). The container launcher (runtime/launcher.ts) is built the same way.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError, PodnetError } from '../errors.js'

/** The forwarder's C source (dist/src/cni/forwarder.js -> src/cni/forwarder/podnet-cni.c). */
export const forwarderSource = (): string => join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'cni', 'forwarder', 'podnet-cni.c')

const MUSL_GCC = '/usr/bin/musl-gcc'

/** A C string literal for -D (paths are checked to hold nothing that needs more than \\ and \" escapes). */
function cString(what: string, s: string): string {
  if (!s.startsWith('/') || /[\0-\x1f\x7f]/.test(s)) throw new InvalidArgumentError(what, `'${s}' must be an absolute path without control characters`)
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/**
 * Compiles the forwarder to `out` (atomically). Throws PodnetError when no compiler works; the
 * caller then installs the Node plugin as the executable.
 * @param socket the daemon's unix socket (at most 107 bytes, the sun_path limit)
 * @param fallback the Node plugin to exec when no daemon answers
 */
export function buildForwarder(out: string, socket: string, fallback: string): { compiler: string } {
  if (Buffer.byteLength(socket) > 107) throw new InvalidArgumentError('--socket', `'${socket}' is longer than a unix socket path can be (107 bytes)`)
  const src = forwarderSource()
  if (!existsSync(src)) throw new PodnetError(`the forwarder source ${src} is missing`)
  const cc = existsSync(MUSL_GCC) ? MUSL_GCC : 'gcc'
  const tmp = `${out}.tmp-${process.pid}`
  try {
    execFileSync(cc, ['-static', '-Os', '-s', '-Wall', `-DPODNET_CNI_SOCKET=${cString('--socket', socket)}`, `-DPODNET_CNI_FALLBACK=${cString('fallback', fallback)}`, '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    rmSync(tmp, { force: true })
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') throw new PodnetError('building the forwarder needs gcc and libc6-dev, or musl-tools', { cause: err })
    throw new PodnetError(`cannot build the forwarder: ${String(e.stderr ?? e.message).trim()}`, { cause: err })
  }
  renameSync(tmp, out)
  return { compiler: cc }
}
