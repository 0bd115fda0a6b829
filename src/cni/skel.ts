/**
 * The CNI dispatcher: environment + stdin in, result or error JSON out, exit status back. It
 * knows the protocol (required variables per command, version negotiation, which command
 * exists from which version) and nothing about networks: the commands are injected as
 * CniFuncs, and so is the I/O, so tests drive it in-process exactly as a runtime would.
 *
 * This is the one place where CNI error JSON is made: toCniError maps podnet's error classes
 * (and the plugin's CniRequestError) to {cniVersion, code, msg, details}.
 */
import { AddressExhaustedError, CniRequestError, ExistsError, InvalidArgumentError, NotFoundError, PodnetError, isErrno } from '../errors.js'
import { rollbackErrorsOf } from '../bridge/undo.js'
import { validateContainerId, validateIfname, validateNetworkName } from '../net/names.js'
import {
  CNI_COMMANDS, CNI_ERR, LATEST_CNI_VERSION, SUPPORTED_CNI_VERSIONS,
  hasCheck, hasGc, hasStatus, isSupportedVersion,
  type CniCommand, type CniErrorResult, type CniResult, type CniVersionResult,
} from './types.js'

/** The process's side of the protocol, injectable for tests. */
export interface CniIo {
  env: Readonly<Record<string, string | undefined>>
  /** All of stdin, or a function that reads it (called at most once, never for VERSION). */
  stdin: string | Buffer | (() => string | Buffer | Promise<string | Buffer>)
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
}

/** One request, validated. */
export interface CmdArgs {
  command: CniCommand
  containerId: string
  /** CNI_NETNS ('' when not given, as DEL may do). */
  netns: string
  ifname: string
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>
  /** CNI_PATH, split. */
  path: string[]
  /** The network configuration (stdin, parsed). */
  config: Record<string, unknown>
  /** The configuration's cniVersion (supported). */
  cniVersion: string
}

/** The commands. ADD returns the result; the others return nothing or throw. */
export interface CniFuncs {
  add(args: CmdArgs): Promise<CniResult>
  del(args: CmdArgs): Promise<void>
  check(args: CmdArgs): Promise<void>
  status(args: CmdArgs): Promise<void>
  gc(args: CmdArgs): Promise<void>
}

export interface RunOptions {
  /** Printed on stderr when CNI_COMMAND is missing (someone ran the plugin by hand). */
  about?: string
}

/** Required variables per command (SPEC.md "Parameters"); CNI_PATH is optional: podnet-cni runs no other plugin. */
const REQUIRED: Record<Exclude<CniCommand, 'VERSION'>, string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  STATUS: [],
  GC: [],
}

const envError = (msg: string, details?: string): CniRequestError => new CniRequestError('env', msg, details)

/**
 * Runs one CNI request: reads the environment and stdin, validates, calls the command, writes
 * the result (ADD) or the error JSON to stdout. Resolves with the exit status (0 or 1).
 */
export async function runPlugin(funcs: CniFuncs, io: CniIo, opts: RunOptions = {}): Promise<number> {
  let cniVersion: string = LATEST_CNI_VERSION
  try {
    const command = io.env.CNI_COMMAND ?? ''
    if (command === '') {
      if (opts.about) io.stderr.write(`${opts.about}\nCNI protocol versions supported: ${SUPPORTED_CNI_VERSIONS.join(', ')}\n`)
      throw envError('required env variables [CNI_COMMAND] missing')
    }
    if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
      throw envError(`unknown CNI_COMMAND: ${command}`, `known commands: ${CNI_COMMANDS.join(', ')}`)
    }
    if (command === 'VERSION') {
      const out: CniVersionResult = { cniVersion: LATEST_CNI_VERSION, supportedVersions: [...SUPPORTED_CNI_VERSIONS] }
      io.stdout.write(`${JSON.stringify(out)}\n`)
      return 0
    }
    const cmd = command as Exclude<CniCommand, 'VERSION'>
    const missing = REQUIRED[cmd].filter((v) => !io.env[v])
    if (missing.length) throw envError(`required env variables [${missing.join(',')}] missing`)

    const config = decodeConfig(await readStdin(io.stdin))
    const declared = config.cniVersion ?? '0.1.0'
    if (typeof declared !== 'string') throw new CniRequestError('decode', 'error decoding network configuration: cniVersion must be a string')
    if (!isSupportedVersion(declared)) {
      throw new CniRequestError('version', 'incompatible CNI versions', `config is ${JSON.stringify(declared)}, plugin supports ${JSON.stringify(SUPPORTED_CNI_VERSIONS)}`)
    }
    cniVersion = declared
    checkName('config', () => validateNetworkName(config.name))
    const args: CmdArgs = {
      command: cmd,
      containerId: io.env.CNI_CONTAINERID ?? '',
      netns: io.env.CNI_NETNS ?? '',
      ifname: io.env.CNI_IFNAME ?? '',
      args: parseCniArgs(io.env.CNI_ARGS ?? ''),
      path: (io.env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
      config,
      cniVersion,
    }
    if (cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK') {
      checkName('env', () => validateContainerId(args.containerId, 'CNI_CONTAINERID'))
      checkName('env', () => validateIfname(args.ifname, 'CNI_IFNAME'))
    }
    switch (cmd) {
      case 'ADD': {
        const result = await funcs.add(args)
        io.stdout.write(`${JSON.stringify(result)}\n`)
        return 0
      }
      case 'DEL':
        await funcs.del(args)
        return 0
      case 'CHECK':
        if (!hasCheck(cniVersion)) throw new CniRequestError('version', 'config version does not allow CHECK', `CHECK exists from cniVersion 0.4.0; the config is ${cniVersion}`)
        await funcs.check(args)
        return 0
      case 'STATUS':
        if (!hasStatus(cniVersion)) throw new CniRequestError('version', 'config version does not allow STATUS', `STATUS exists from cniVersion 1.1.0; the config is ${cniVersion}`)
        await funcs.status(args)
        return 0
      case 'GC':
        if (!hasGc(cniVersion)) throw new CniRequestError('version', 'config version does not allow GC', `GC exists from cniVersion 1.1.0; the config is ${cniVersion}`)
        await funcs.gc(args)
        return 0
    }
  } catch (err) {
    io.stdout.write(`${JSON.stringify(toCniError(err, cniVersion))}\n`)
    return 1
  }
}

async function readStdin(stdin: CniIo['stdin']): Promise<string> {
  try {
    const data = typeof stdin === 'function' ? await stdin() : stdin
    return typeof data === 'string' ? data : data.toString('utf8')
  } catch (err) {
    throw new CniRequestError('decode', `error reading the network configuration from stdin: ${(err as Error).message}`, undefined, { cause: err })
  }
}

function decodeConfig(text: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new CniRequestError('decode', `error decoding network configuration: ${(err as Error).message}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniRequestError('decode', 'error decoding network configuration: it must be a JSON object')
  }
  return v as Record<string, unknown>
}

/**
 * Runs one of the shared name validators (net/names.ts) and reports what it refuses as a CNI
 * error of `kind`: the network name comes from the configuration (code 7), the container id and
 * the interface name from the environment (code 4).
 */
function checkName(kind: 'config' | 'env', validate: () => void): void {
  try {
    validate()
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new CniRequestError(kind, err.reason)
    throw err
  }
}

/** CNI_ARGS: "K=V;K2=V2" (IgnoreUnknown=1 and K8S_POD_* included; podnet ignores keys it does not know). */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of text.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw envError('invalid CNI_ARGS', `${JSON.stringify(pair)} is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

const CODE_BY_KIND: Record<CniRequestError['kind'], number> = {
  version: CNI_ERR.INCOMPATIBLE_VERSION,
  'unsupported-field': CNI_ERR.UNSUPPORTED_FIELD,
  'unknown-container': CNI_ERR.UNKNOWN_CONTAINER,
  env: CNI_ERR.INVALID_ENV,
  decode: CNI_ERR.DECODE,
  config: CNI_ERR.INVALID_CONFIG,
  'try-again': CNI_ERR.TRY_AGAIN_LATER,
  'not-available': CNI_ERR.NOT_AVAILABLE,
  'check-failed': CNI_ERR.CHECK_FAILED,
}

/**
 * Maps an error to CNI error JSON:
 * - CniRequestError: its kind's well-known code (1, 2, 3, 4, 6, 7, 11, 50) or 101 (CHECK drift);
 * - an exhausted range (AddressExhaustedError) or EAGAIN/EBUSY from the kernel: 11, try again later;
 * - InvalidArgumentError (a bad subnet, port, MAC ...): 7, invalid network configuration;
 * - ExistsError (interface, attachment, address, host port): 100;
 * - a missing attachment (NotFoundError 'attachment'): 3, unknown container;
 * - file system errors: 5, I/O failure; anything else: 999.
 * `msg` is the error's message; `details` the cause chain and any rollback failures.
 */
export function toCniError(err: unknown, cniVersion: string = LATEST_CNI_VERSION): CniErrorResult {
  const e = err instanceof Error ? err : new Error(String(err))
  let code: number = CNI_ERR.INTERNAL
  let details: string | undefined
  if (e instanceof CniRequestError) {
    code = CODE_BY_KIND[e.kind]
    details = e.details
  } else if (e instanceof AddressExhaustedError || isErrno(e, 'EAGAIN') || isErrno(e, 'EBUSY')) code = CNI_ERR.TRY_AGAIN_LATER
  else if (e instanceof InvalidArgumentError) code = CNI_ERR.INVALID_CONFIG
  else if (e instanceof ExistsError) code = CNI_ERR.ALREADY_EXISTS
  else if (e instanceof NotFoundError && e.kind === 'attachment') code = CNI_ERR.UNKNOWN_CONTAINER
  else if (!(e instanceof PodnetError) && typeof (e as NodeJS.ErrnoException).syscall === 'string') code = CNI_ERR.IO_FAILURE
  const chain = [details, ...causeChain(e)].filter((x): x is string => x !== undefined && x !== '')
  const out: CniErrorResult = { cniVersion, code, msg: e.message }
  if (chain.length) out.details = chain.join('; ')
  return out
}

/** Messages of the causes (and rollback failures) behind an error, outermost first. */
function causeChain(err: Error): string[] {
  const out: string[] = []
  const seen = new Set<unknown>([err])
  let c: unknown = err.cause
  while (c !== undefined && !seen.has(c) && out.length < 8) {
    seen.add(c)
    const m = c instanceof Error ? c.message : String(c)
    if (m && m !== err.message && !out.includes(m)) out.push(`caused by: ${m}`)
    c = c instanceof Error ? c.cause : undefined
  }
  const rollback = rollbackErrorsOf(err)
  if (rollback.length) out.push(`and undoing failed: ${rollback.map((r) => r.message).join('; ')}`)
  return out
}
