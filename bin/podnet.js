#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// NODE_EXTRA_CA_CERTS makes node read and parse a CA bundle at start-up (~140 ms here); podnet makes no TLS
// connections, so the shebang drops it (as `podnet cni install` does for the installed plugin).
//
// Runs the single-file build (dist/cli/podnet.cjs with its V8 code cache, src/cli/bundle.ts) when
// it is at least as new as the modules tsc wrote, else the ES modules (also with PODNET_NO_BUNDLE=1).
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { setFlagsFromString } from 'node:v8'
import { Script } from 'node:vm'

const dist = new URL('../dist/', import.meta.url)
const file = new URL('cli/podnet.cjs', dist).pathname

function fresh() {
  if (process.env.PODNET_NO_BUNDLE === '1') return false
  try {
    return statSync(file).mtimeMs >= statSync(new URL('src/cli/main.js', dist)).mtimeMs
  } catch {
    return false
  }
}

let main
if (fresh()) {
  let cachedData
  try { cachedData = readFileSync(new URL('cli/podnet.v8cache', dist)) } catch { /* compiled without */ }
  const script = new Script(readFileSync(file, 'latin1'), cachedData ? { filename: file, cachedData } : { filename: file })
  const req = script.runInThisContext()(createRequire(new URL('../package.json', import.meta.url)), (s) => import(s))
  main = req('src/cli/main.js').main
} else {
  main = (await import('../dist/src/cli/main.js')).main
}
// V8's optimizing compiler (TurboFan) compiles hot functions on a second thread: for a command
// that lists 2,003 links it spent ~100 ms of CPU compiling the decoder and the JSON formatter,
// which were done before the code was ready. So a command starts without it (baseline code,
// Sparkplug, still comes), and a process still running after a second (a daemon: cni serve,
// node run, pod supervisor run) gets it back. Set only now: V8 hashes its flags into every code
// cache, and the bundle and Node's built-in modules have been loaded from theirs by this point.
setFlagsFromString('--no-turbofan')
setTimeout(() => setFlagsFromString('--turbofan'), 1000).unref()
process.exitCode = await main()
