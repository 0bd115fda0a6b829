/**
 * The podnet-cni process: CNI request from the real environment and stdin, answer on stdout,
 * exit status. bin/podnet-cni.js (and the executable `podnet cni install` writes) call main().
 *
 * Start-up matters (a runtime starts one process per request, and calls VERSION before every
 * ADD and DEL): the bridge layer, netlink and koffi are imported only by the commands that use
 * them, so VERSION and malformed requests never load them. docs/benchmarks.md has the numbers.
 */
import { readFileSync, writeSync } from 'node:fs'
import { runPlugin, type CmdArgs, type CniFuncs, type CniIo } from './skel.js'
import type { PluginOptions } from './plugin.js'

export const ABOUT = 'podnet-cni: the CNI plugin of podnet (bridge + IPAM + NAT + port mappings in one binary)'

/** The commands, loaded on first use. */
export function lazyPlugin(opts: PluginOptions = {}): CniFuncs {
  let funcs: Promise<CniFuncs> | undefined
  const load = (): Promise<CniFuncs> => (funcs ??= import('./plugin.js').then((m) => m.createPlugin(opts)))
  return {
    add: async (a: CmdArgs) => (await load()).add(a),
    del: async (a: CmdArgs) => (await load()).del(a),
    check: async (a: CmdArgs) => (await load()).check(a),
    status: async (a: CmdArgs) => (await load()).status(a),
    gc: async (a: CmdArgs) => (await load()).gc(a),
  }
}

/** The process's I/O: writes go straight to the fds (synchronous, complete before exit). */
export function processIo(): CniIo {
  return {
    env: process.env,
    stdin: () => readFileSync(0),
    stdout: { write: (s: string) => writeSync(1, s) },
    stderr: { write: (s: string) => writeSync(2, s) },
  }
}

/** Runs one request for this process and exits with its status. */
export async function main(): Promise<never> {
  const bootId = process.env.PODNET_TEST_BOOT_ID
  const status = await runPlugin(lazyPlugin(bootId ? { bootId } : {}), processIo(), { about: ABOUT })
  process.exit(status)
}

/** Install-time only: runs each command once in a throwaway namespace, for the code cache (warm.ts). */
export async function warmUp(): Promise<void> {
  await (await import('./warm.js')).warmUp()
}
