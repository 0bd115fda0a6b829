/**
 * Preloaded into the podnet CLI (and a supervisor it starts) during the breakdown phase only:
 * NODE_OPTIONS=--import=<this file>, BENCH_TRACE_FILE=<file>. It marks points of the process's
 * life on the shared epoch clock and appends them to the trace file; it changes nothing else.
 *
 * In the CLI: node start (performance.timeOrigin), this hook (node bootstrap done), the reads of
 * the single-file build's code cache and source (dist/cli/podnet.v8cache, podnet.cjs), its
 * compilation (vm.Script: done, and whether V8 rejected the cache), the read of the manifest
 * (*.yaml: the CLI has parsed its arguments by then), every connection to the supervisor
 * (connect() called, connected, response end or error, with the request's op and the error
 * code), the spawn of a
 * supervisor, process exit.
 * In a supervisor: node start, this hook, listen() called, listening.
 *
 * Builtins are wrapped on their CommonJS objects and published to ESM importers with
 * syncBuiltinESMExports(), so `import { createConnection } from 'node:net'` sees the wrapper.
 */
import childProcess from 'node:child_process'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import vm from 'node:vm'
import { epochMs, writeTrace, type TraceLine } from './trace.js'

const file = process.env.BENCH_TRACE_FILE
const isSupervisor = (process.argv[1] ?? '').endsWith('supervisor-main.js')
const line: TraceLine = { who: isSupervisor ? 'supervisor-start' : 'cli', pid: process.pid, origin: performance.timeOrigin, marks: { hook: epochMs() }, conns: [] }
// the hook must not leak into processes the CLI starts other than a supervisor (the launcher is not node)

if (isSupervisor) {
  const listen = net.Server.prototype.listen as (...a: unknown[]) => net.Server
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]): net.Server {
    line.marks.listen ??= epochMs()
    this.once('listening', () => {
      line.marks.listening = epochMs()
      writeTrace(file, line)
    })
    return listen.apply(this, args)
  } as typeof net.Server.prototype.listen
} else {
  const readFileSync = fs.readFileSync
  fs.readFileSync = function (this: unknown, ...args: unknown[]): unknown {
    const p = args[0] instanceof URL ? args[0].pathname : args[0]
    if (typeof p === 'string') {
      if (/\.ya?ml$/.test(p)) line.marks.manifestRead ??= epochMs()
      else if (p.endsWith('/cli/podnet.v8cache')) line.marks.cacheRead ??= epochMs()
      else if (p.endsWith('/cli/podnet.cjs')) line.marks.bundleRead ??= epochMs()
    }
    return (readFileSync as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof fs.readFileSync

  // bin/podnet.js compiles the bundle with `new Script(source, { cachedData })`
  const Script = vm.Script
  vm.Script = class extends Script {
    constructor(...a: ConstructorParameters<typeof vm.Script>) {
      super(...a)
      if (line.marks.compiled === undefined) {
        line.marks.compiled = epochMs()
        line.marks.cacheRejected = this.cachedDataRejected === true ? 1 : this.cachedDataRejected === false ? 0 : -1
      }
    }
  }

  const createConnection = net.createConnection
  net.createConnection = function (this: unknown, ...args: unknown[]): net.Socket {
    const c: NonNullable<TraceLine['conns']>[number] = { op: '?', t0: epochMs(), t1: NaN }
    line.conns!.push(c)
    const sock = (createConnection as (...a: unknown[]) => net.Socket).apply(this, args)
    const write = sock.write.bind(sock) as (...a: unknown[]) => boolean
    sock.write = ((...a: unknown[]): boolean => {
      const m = /"op":"([a-z-]+)"/.exec(String(a[0]))
      if (m && c.op === '?') c.op = m[1]!
      return write(...a)
    }) as typeof sock.write
    sock.once('connect', () => { c.tc = epochMs() })
    const done = (): void => { if (Number.isNaN(c.t1)) c.t1 = epochMs() }
    sock.once('end', done)
    sock.once('error', (err: NodeJS.ErrnoException) => { c.err ??= err.code ?? err.message; done() })
    sock.once('close', done)
    return sock
  } as typeof net.createConnection

  const spawn = childProcess.spawn
  childProcess.spawn = function (this: unknown, ...args: unknown[]): childProcess.ChildProcess {
    line.marks.spawnSupervisor ??= epochMs()
    return (spawn as (...a: unknown[]) => childProcess.ChildProcess).apply(this, args)
  } as typeof childProcess.spawn

  process.once('exit', () => {
    line.marks.exit = epochMs()
    writeTrace(file, line)
  })
}
syncBuiltinESMExports()
