#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// NODE_EXTRA_CA_CERTS makes node read and parse a CA bundle at start-up (~140 ms here); podnet makes no TLS
// connections, so the shebang drops it (as `podnet cni install` does for the installed plugin).
//
// Runs the bundled build (dist/cli/podnet.cjs and its chunks, with their V8 code caches,
// src/cli/bundle.ts) when it is at least as new as the modules tsc wrote, else the ES modules
// (also with PODNET_NO_BUNDLE=1).
// Built-in modules through process.getBuiltinModule, not import: an ES module's import of node:fs
// makes Node read every export of it, and fs.ReadStream loads the stream modules (~3 ms).
const { readFileSync, statSync } = process.getBuiltinModule('node:fs')
const { createRequire } = process.getBuiltinModule('node:module')
const { setFlagsFromString } = process.getBuiltinModule('node:v8')
const { Script } = process.getBuiltinModule('node:vm')

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

/** Whether V8's optimizing compiler is off for now (see below). */
let optimizerOff = false

/** Compiles one file of the build (the main part or a chunk) with its code cache when there is one. */
function compile(name) {
  const path = new URL(`cli/${name}`, dist).pathname
  let cachedData
  try { cachedData = readFileSync(path.replace(/\.cjs$/, '.v8cache')) } catch { /* compiled without */ }
  // V8 accepts a code cache only under the flags it was made with (the defaults): a chunk loaded
  // while the optimizer is off is compiled with them restored for that moment
  if (optimizerOff) setFlagsFromString('--turbofan')
  try {
    return new Script(readFileSync(path, 'latin1'), cachedData ? { filename: path, cachedData } : { filename: path }).runInThisContext()
  } finally {
    if (optimizerOff) setFlagsFromString('--no-turbofan')
  }
}

let main
if (fresh()) {
  // the build is split (src/cli/bundle.ts): the main part compiles the chunk it needs next by name
  const req = compile('podnet.cjs')(createRequire(new URL('../package.json', import.meta.url)), (s) => import(s), undefined, compile)
  main = req('src/cli/main.js').main
} else {
  main = (await import('../dist/src/cli/main.js')).main
}
// V8's optimizing compiler (TurboFan) compiles hot functions on a second thread: for a command
// that lists 2,003 links it spent ~100 ms of CPU compiling the decoder and the JSON formatter,
// which were done before the code was ready. So a command starts without it (baseline code,
// Sparkplug, still comes), and a process still running after a second (a daemon: cni serve,
// node run, pod supervisor run) gets it back. Set only now: V8 hashes its flags into every code
// cache, and the bundle's main part and Node's built-in modules have been loaded from theirs by
// this point (compile() restores the defaults while it loads a chunk).
setFlagsFromString('--no-turbofan')
optimizerOff = true
setTimeout(() => { optimizerOff = false; setFlagsFromString('--turbofan') }, 1000).unref()
process.exitCode = await main()
