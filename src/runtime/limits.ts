/**
 * Size limits of pod input, checked before anything is created (a usage error, exit 2):
 *
 * - a manifest is at most MANIFEST_MAX_BYTES (1.5 MiB, the size etcd and so Kubernetes' API
 *   server take for one object); a larger file is refused before it is read or parsed, since
 *   parsing 62 MB of YAML takes minutes and gigabytes;
 * - one environment variable (NAME=VALUE) or one command/args string is at most
 *   ARG_STRING_MAX bytes: the kernel's MAX_ARG_STRLEN (32 pages) minus the NUL, past which
 *   execve(2) fails with E2BIG, for the launcher and for the container alike;
 * - a container's environment and command line together take at most EXEC_ARGS_MAX bytes
 *   (strings, NULs and pointers, as execve counts them). The kernel allows a quarter of the
 *   stack limit (2 MiB with the usual 8 MiB); the launcher's own options need room beside them.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { InvalidArgumentError } from '../errors.js'

export const MANIFEST_MAX_BYTES = 1536 * 1024
/** MAX_ARG_STRLEN (PAGE_SIZE * 32) less the terminating NUL. */
export const ARG_STRING_MAX = 131072 - 1
export const EXEC_ARGS_MAX = 1024 * 1024

/** What execve counts for a list of strings: each string, its NUL and its pointer. */
export function execSize(strings: readonly string[]): number {
  let n = 0
  for (const s of strings) n += Buffer.byteLength(s) + 1 + 8
  return n
}

/** A manifest's text is refused when it is larger than MANIFEST_MAX_BYTES. */
export function checkManifestSize(bytes: number, what = 'manifest'): void {
  if (bytes > MANIFEST_MAX_BYTES) {
    throw new InvalidArgumentError(what, `is ${bytes} bytes, over the limit of ${MANIFEST_MAX_BYTES} bytes (1.5 MiB, as Kubernetes' API server)`)
  }
}

/** One exec string (an env entry NAME=VALUE, a command or args element) within ARG_STRING_MAX. */
export function checkArgString(s: string, field: string, what: string): void {
  const n = Buffer.byteLength(s)
  if (n > ARG_STRING_MAX) {
    throw new InvalidArgumentError(field, `${what} is ${n} bytes; at most ${ARG_STRING_MAX} bytes fit in one execve(2) string (the kernel's MAX_ARG_STRLEN)`)
  }
}

/** A container's environment and command line together within EXEC_ARGS_MAX. */
export function checkExecArgs(env: readonly string[], argv: readonly string[], field: string): void {
  const n = execSize(env) + execSize(argv)
  if (n > EXEC_ARGS_MAX) {
    throw new InvalidArgumentError(field, `the environment and command line take ${n} bytes, over podnet's limit of ${EXEC_ARGS_MAX} bytes (execve(2) fails with E2BIG past a quarter of the stack limit)`)
  }
}

/**
 * Reads a manifest file ("-": stdin), refusing one over MANIFEST_MAX_BYTES before reading it all
 * (a regular file by its size, a pipe after MANIFEST_MAX_BYTES + 1 bytes).
 * @throws InvalidArgumentError('--file') when it cannot be read or is too large.
 */
export function readManifestText(file: string): string {
  let fd: number
  try {
    fd = file === '-' ? 0 : openSync(file, 'r')
  } catch (err) {
    throw unreadable(file, err)
  }
  try {
    const st = fstatSync(fd)
    if (st.isDirectory()) throw new InvalidArgumentError(`--file ${file}`, 'is a directory')
    if (st.isFile()) checkManifestSize(st.size, `--file ${file}`)
    const chunks: Buffer[] = []
    let total = 0
    const buf = Buffer.alloc(64 * 1024)
    for (;;) {
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue
        if ((err as NodeJS.ErrnoException).code === 'EOF') break
        throw unreadable(file, err)
      }
      if (n <= 0) break
      total += n
      checkManifestSize(total, `--file ${file}`)
      chunks.push(Buffer.from(buf.subarray(0, n)))
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    if (fd !== 0) closeSync(fd)
  }
}

function unreadable(file: string, err: unknown): InvalidArgumentError {
  const e = err as NodeJS.ErrnoException
  return new InvalidArgumentError(`--file ${file}`, e.code === 'ENOENT' ? 'no such file' : `cannot be read (${e.code ?? e.message})`)
}
