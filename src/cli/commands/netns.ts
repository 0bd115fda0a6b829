/** podnet netns add | del | ls | exec */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import { printJson, printTable } from '../output.js'

const netnsModule = (): Promise<typeof import('../../netns/index.js')> => import('../../netns/index.js')

export function registerNetns(program: Command): void {
  const netns = program.command('netns').description('named network namespaces (interchangeable with `ip netns`)').enablePositionalOptions()

  netns.command('add <name>').description('create a named network namespace')
    .action(async (name: string) => {
      const { Netns } = await netnsModule()
      Netns.create(name).close()
    })

  netns.command('del <names...>').alias('delete').description('delete named network namespaces')
    .action(async (names: string[]) => {
      const { Netns } = await netnsModule()
      for (const n of names) Netns.remove(n)
    })

  netns.command('ls').alias('list').description('list named network namespaces')
    .option('--json', 'JSON output (as `ip -j netns list`)')
    .action(async (opts: { json?: boolean }) => {
      const { Netns } = await netnsModule()
      const names = Netns.list()
      if (opts.json) printJson(names.map((name) => ({ name })))
      else printTable(names.map((name) => ({ name })), [['name', 'NAME']])
    })

  netns.command('exec <name> <cmd> [args...]').description('run a command inside a namespace: podnet netns exec NAME -- CMD [ARG...]')
    .passThroughOptions()
    .action(async (name: string, first: string, rest: string[]) => {
      const [cmd, ...args] = first === '--' ? rest : [first, ...rest]
      if (!cmd) throw new InvalidArgumentError('netns exec', 'missing command: podnet netns exec NAME -- CMD [ARG...]')
      const { Netns } = await netnsModule()
      const ns = Netns.open(name)
      const child = ns.spawn(cmd, args, { stdio: 'inherit' })
      ns.close()
      const code = await new Promise<number>((resolve) => {
        child.on('error', (err) => {
          process.stderr.write(`podnet: netns exec ${name}: cannot run '${cmd}': ${err.message}\n`)
          resolve(127)
        })
        child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[sig] ?? 1) : 1)))
      })
      process.exitCode = code
    })
}
