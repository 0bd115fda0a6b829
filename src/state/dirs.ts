/**
 * Where podnet keeps state, one rule for every part of it (networks, pods, the CNI plugin):
 *
 * - the state directory persists across reboots (network configurations, pod records and logs,
 *   the supervisor's socket): default /var/lib/podnet;
 * - the run directory holds what describes kernel objects and processes that die with the
 *   machine (attachments, IPAM allocations, port claims, live pod records, namespace pins, the
 *   lock): default /run/podnet (tmpfs), or <state dir>/run when only a state dir is chosen, so
 *   that two state dirs never share volatile state.
 *
 * Library code takes these as options; only the edges (the CLI, the CNI plugin's entry, the
 * supervisor's main) read PODNET_STATE_DIR and PODNET_RUN_DIR, through dirsFromEnv().
 */
import { join } from 'node:path'

export const DEFAULT_STATE_DIR = '/var/lib/podnet'
export const DEFAULT_RUN_DIR = '/run/podnet'

export interface DirOptions {
  /** Persistent state (default /var/lib/podnet). */
  stateDir?: string
  /** Volatile state (default <stateDir>/run when stateDir is given, else /run/podnet). */
  runDir?: string
}

export interface Dirs {
  stateDir: string
  runDir: string
}

/** The state and run directories for these options, by the one rule above. */
export function resolveDirs(o: DirOptions = {}): Dirs {
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR
  const runDir = o.runDir ?? (o.stateDir !== undefined ? join(o.stateDir, 'run') : DEFAULT_RUN_DIR)
  return { stateDir, runDir }
}

/**
 * The directories the environment asks for (PODNET_STATE_DIR, PODNET_RUN_DIR), under explicit
 * options (a --state-dir flag wins over the variable). For the edges only.
 */
export function dirsFromEnv(explicit: DirOptions = {}, env: NodeJS.ProcessEnv = process.env): DirOptions {
  const stateDir = explicit.stateDir ?? (env.PODNET_STATE_DIR || undefined)
  const runDir = explicit.runDir ?? (env.PODNET_RUN_DIR || undefined)
  return { ...(stateDir !== undefined && { stateDir }), ...(runDir !== undefined && { runDir }) }
}
