/** podnet demo: the fullest demonstration of what works, in a throwaway sandbox. */
import type { Command } from 'commander'
import { PermissionError } from '../../errors.js'

export function registerDemo(program: Command): void {
  program.command('demo').description('build a network with NAT and two pods in a sandbox, prove connectivity, tear down')
    .option('--out <dir>', 'where the pictures go (topology and pod namespaces; default <tmpdir>/podnet-demo)')
    .option('--no-cgroups', 'run the pods without cgroups (no limits), where podnet cannot write them')
    .action(async (o: { out?: string; cgroups: boolean }) => {
      if (process.getuid?.() !== 0) throw new PermissionError('podnet demo creates namespaces, bridges and nf_tables rules: run it as root')
      if (process.env.PODNET_IN_SANDBOX !== '1') {
        // its own network and mount namespaces: the machine's network is never touched
        const { spawnInSandbox } = await import('../../testing/sandbox.js')
        process.stdout.write('podnet demo: entering a sandbox (new network and mount namespaces, private /run)\n')
        const child = spawnInSandbox(process.execPath, process.argv.slice(1), 'inherit', { processGroup: true })
        const forward = (sig: NodeJS.Signals): void => {
          try { process.kill(-child.pid!, sig) } catch { /* already gone */ }
        }
        process.on('SIGINT', forward)
        process.on('SIGTERM', forward)
        process.exitCode = await new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 130 : 1))))
        return
      }
      const { runDemo } = await import('../../demo/demo.js')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      process.exitCode = (await runDemo({ outDir: o.out ?? join(tmpdir(), 'podnet-demo'), ...(!o.cgroups && { cgroups: false as const }) })) ? 0 : 1
    })
}
