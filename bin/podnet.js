#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// NODE_EXTRA_CA_CERTS makes node read and parse a CA bundle at start-up (~140 ms here); podnet makes no TLS
// connections, so the shebang drops it (as `podnet cni install` does for the installed plugin).
//
// A CommonJS script (bin/package.json): Node starts an ES module entry through its ES module
// loader, ~8 ms more than a CommonJS one here, on every command.
//
// Runs the bundled build (dist/cli/podnet.cjs and its chunks, with their V8 code caches,
// src/cli/bundle.ts) when it is at least as new as the modules tsc wrote, else the ES modules
// (also with PODNET_NO_BUNDLE=1).
'use strict'
const { readFileSync, statSync } = require('node:fs')
const { createRequire } = require('node:module')
const { join } = require('node:path')
const { setFlagsFromString } = require('node:v8')
const { Script } = require('node:vm')

const dist = join(__dirname, '..', 'dist')
const file = join(dist, 'cli', 'podnet.cjs')

function fresh() {
  if (process.env.PODNET_NO_BUNDLE === '1') return false
  try {
    return statSync(file).mtimeMs >= statSync(join(dist, 'src', 'cli', 'main.js')).mtimeMs
  } catch {
    return false
  }
}

/** Whether V8's optimizing compiler is off for now (see below). */
let optimizerOff = false

/** Compiles one file of the build (the main part or a chunk) with its code cache when there is one. */
function compile(name) {
  const path = join(dist, 'cli', name)
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

async function loadMain() {
  if (!fresh()) return (await import('../dist/src/cli/main.js')).main
  // the build is split (src/cli/bundle.ts): the main part compiles the chunk it needs next by name
  const req = compile('podnet.cjs')(createRequire(join(__dirname, '..', 'package.json')), (s) => import(s), undefined, compile)
  return req('src/cli/main.js').main
}

async function run() {
  const main = await loadMain()
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
}

run().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`)
  process.exitCode = 1
})
