/**
 * The podnet command line. Every command is a library call; this file only parses, prints and
 * maps errors to exit statuses: 0 done, 1 the operation failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander'
import { InvalidArgumentError, PodnetError, isErrno } from '../errors.js'
import { registerAddr } from './commands/addr.js'
import { registerLink } from './commands/link.js'
import { registerNetns } from './commands/netns.js'
import { registerRoute } from './commands/route.js'
import { registerNetwork } from './commands/network.js'
import { registerCni } from './commands/cni.js'
import { registerPod } from './commands/pod.js'
import { registerDemo } from './commands/demo.js'
import { registerNode } from './commands/overlay.js'
import { registerDns } from './commands/dns.js'
import { registerTopology } from './commands/topology.js'
import { registerQos } from './commands/qos.js'
import { registerWorkloads } from './commands/workloads.js'
import { registerLabel, registerRollout } from './commands/rollout.js'
import { registerCompletion } from './commands/completion.js'

/** Groups and their commands (with aliases), for the completion script. */
function commandTree(program: Command): Array<[string, string[]]> {
  return program.commands.filter((c) => !['completion', '__complete'].includes(c.name()))
    .map((c): [string, string[]] => [c.name(), c.commands.flatMap((s) => [s.name(), ...s.aliases()])])
}
const registerCompletionGroup = (program: Command): void => registerCompletion(program, () => commandTree(buildProgram()))

/** Each command group's registration; `nat` is registered with `network`. */
const GROUPS: Readonly<Record<string, (program: Command) => void>> = {
  netns: registerNetns, link: registerLink, addr: registerAddr, address: registerAddr, route: registerRoute,
  network: registerNetwork, nat: registerNetwork, cni: registerCni, pod: registerPod, demo: registerDemo, node: registerNode, qos: registerQos,
  dns: registerDns, topology: registerTopology,
  apply: registerWorkloads, get: registerWorkloads, delete: registerWorkloads, scale: registerWorkloads, describe: registerWorkloads,
  rollout: registerRollout, label: registerLabel,
  completion: registerCompletionGroup, __complete: registerCompletionGroup,
}

/**
 * The program. With `group` (the first argument, when it names a command group) only that group
 * is registered: a command does not pay for building the other groups' options and help
 * (~7 ms of start-up here); `--version` (`-V`) needs none. Top-level help and unknown commands
 * get every group.
 */
export function buildProgram(group?: string): Command {
  const program = new Command('podnet')
    .description('Kubernetes-style pod networking for Linux: namespaces, links, bridge networks with NAT, pods')
    .version('0.1.0')
    .showSuggestionAfterError()
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  const only = group !== undefined && Object.hasOwn(GROUPS, group) ? GROUPS[group] : undefined
  if (only) only(program)
  else if (group !== '--version' && group !== '-V') for (const register of new Set(Object.values(GROUPS))) register(program)
  for (const c of program.commands) {
    c.exitOverride()
    for (const sub of c.commands) sub.exitOverride()
  }
  return program
}

/**
 * The library speaks of options ("remove it with force", option `id`); the CLI's messages name
 * its flags instead. Each entry rewrites the end of a library message for the command line.
 */
const FLAG_WORDING: ReadonlyArray<[RegExp, string]> = [
  [/remove it with force$/, 'use --force'],
  [/^subnets: a network needs at least one subnet/, 'subnets: a network needs at least one --subnet'],
]

function inFlags(message: string): string {
  return FLAG_WORDING.reduce((m, [re, to]) => m.replace(re, to), message)
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** Every long option of a program's commands ('--subnet', '--node-prefix', ...). */
function longFlags(program: Command): Set<string> {
  const out = new Set<string>()
  const walk = (c: Command): void => {
    for (const o of c.options) if (o.long) out.add(o.long)
    for (const s of c.commands) walk(s)
  }
  walk(program)
  return out
}

/**
 * One line for stderr: names the object, the errno name and the kernel's own message. A bad
 * value the library names by its option (`nodePrefix: ...`) is named by the command's flag
 * (`--node-prefix: ...`) when the program has one.
 */
export function describeError(err: unknown, program?: Command): { message: string; status: number; json: Record<string, unknown> } {
  const d = describeLibraryError(err)
  let message = inFlags(d.message)
  if (program && err instanceof InvalidArgumentError && /^[a-z][A-Za-z]*$/.test(err.field) && longFlags(program).has(`--${kebab(err.field)}`)) {
    message = message.replace(`${err.field}: `, `--${kebab(err.field)}: `)
  }
  return { ...d, message }
}

function describeLibraryError(err: unknown): { message: string; status: number; json: Record<string, unknown> } {
  if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES')) {
    const msg = `${(err as Error).message} — podnet needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for namespaces): run it as root`
    return { message: msg, status: 1, json: { code: 'ERR_PODNET_PERMISSION', message: msg } }
  }
  if (err instanceof InvalidArgumentError) return { message: err.message, status: 2, json: errJson(err) }
  if (err instanceof PodnetError) return { message: err.message, status: 1, json: errJson(err) }
  // a file system call that failed (a full disk, a read-only one): Node's one line, and what to do
  const sys = err as NodeJS.ErrnoException
  if (sys instanceof Error && typeof sys.code === 'string' && /^E[A-Z]+$/.test(sys.code) && typeof sys.syscall === 'string') {
    const message = `${sys.message}${FS_HINTS[sys.code] ? ` — ${FS_HINTS[sys.code]}` : ''}`
    return { message, status: 1, json: { code: 'ERR_PODNET_SYSCALL', message, errnoName: sys.code, syscall: sys.syscall, ...(sys.path !== undefined && { path: sys.path }) } }
  }
  const e = err as Error
  return { message: e?.stack ?? String(err), status: 1, json: { code: 'ERR_INTERNAL', message: e?.message ?? String(err) } }
}

/** What to do about a file system error podnet cannot fix itself. */
const FS_HINTS: Record<string, string> = {
  ENOSPC: 'the file system is full: free space, then run the command again',
  EDQUOT: 'the disk quota is used up: free space, then run the command again',
  EROFS: 'the file system is read-only: podnet keeps its state there (choose another state or run directory)',
  EIO: 'the disk reported an I/O error',
}

function errJson(err: PodnetError): Record<string, unknown> {
  const out: Record<string, unknown> = { code: err.code, message: err.message }
  for (const k of ['errnoName', 'op', 'object', 'extAck', 'kind', 'objectName', 'field', 'syscall', 'path'] as const) {
    const v = (err as unknown as Record<string, unknown>)[k]
    if (v !== undefined && v !== '') out[k] = v
  }
  return out
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram(argv[2])
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return 2
    }
    const d = describeError(err, program)
    if (json) process.stderr.write(`${JSON.stringify({ error: d.json })}\n`)
    else process.stderr.write(`podnet: ${d.message}\n`)
    return d.status
  }
}
