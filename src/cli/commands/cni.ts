/** podnet cni install | conflist: put podnet-cni under a container runtime (docs/cni.md). */
import type { Command } from 'commander'
import { intArg } from '../context.js'
import { printJson } from '../output.js'

interface InstallFlags {
  binDir?: string
  confDir?: string
  network?: string
  subnet?: string
  gateway?: string
  bridge?: string
  mtu?: number
  cniVersion?: string
  stateDir?: string
  bundle: boolean
  forwarder: boolean
  socket?: string
  force?: boolean
  json?: boolean
}

function conflistFlags(c: Command): Command {
  return c
    .option('--network <name>', 'network name (the conflist\'s name; runtimes select networks by it)', 'podnet')
    .option('--subnet <cidr>', 'the pods\' subnet (default 10.86.0.0/16)')
    .option('--gateway <ip>', 'the gateway on the bridge (default: the first address of the subnet)')
    .option('--bridge <name>', 'bridge name (default pn-<network>)')
    .option('--mtu <n>', 'MTU of the bridge and the pods', intArg('--mtu', 68, 65535))
    .option('--cni-version <v>', 'cniVersion of the conflist (default 1.0.0, with cniVersions up to 1.1.0)')
    .option('--state-dir <dir>', 'podnet.stateDir for the plugin (default /var/lib/podnet/cni)')
}

const confOpts = (o: InstallFlags) => ({
  ...(o.network !== undefined && { network: o.network }),
  ...(o.subnet !== undefined && { subnet: o.subnet }),
  ...(o.gateway !== undefined && { gateway: o.gateway }),
  ...(o.bridge !== undefined && { bridge: o.bridge }),
  ...(o.mtu !== undefined && { mtu: o.mtu }),
  ...(o.cniVersion !== undefined && { cniVersion: o.cniVersion }),
  ...(o.stateDir !== undefined && { stateDir: o.stateDir }),
})

export function registerCni(program: Command): void {
  const cni = program.command('cni').description('the CNI plugin: install it for containerd, CRI-O, podman or a Kubernetes node')

  conflistFlags(cni.command('install').description('write the podnet-cni executable and a conflist where runtimes look for them'))
    .option('--bin-dir <dir>', 'CNI plugin directory', '/opt/cni/bin')
    .option('--conf-dir <dir>', 'CNI network configuration directory', '/etc/cni/net.d')
    .option('--no-bundle', 'import podnet\'s modules at run time instead of the single-file build (slower start)')
    .option('--no-forwarder', 'make the Node plugin the executable, without the forwarder to `podnet cni serve`')
    .option('--socket <path>', 'the socket of `podnet cni serve` the forwarder connects to (default /run/podnet/cni.sock)')
    .option('--force', 'replace a conflist of the same name that has other content')
    .option('--json', 'JSON output')
    .action(async (o: InstallFlags) => {
      const { installCni } = await import('../../cni/install.js')
      const r = await installCni({
        ...confOpts(o), bundle: o.bundle, forwarder: o.forwarder,
        ...(o.binDir !== undefined && { binDir: o.binDir }), ...(o.confDir !== undefined && { confDir: o.confDir }),
        ...(o.socket !== undefined && { socket: o.socket }),
        ...(o.force && { force: true }),
      })
      if (o.json) return printJson(r)
      if (r.forwarder) process.stdout.write(`plugin   ${r.executable} (forwarder to \`podnet cni serve\` on ${r.socket}; without it, runs the Node plugin)\n`)
      else process.stdout.write(`plugin   ${r.executable} (the Node plugin${r.forwarderError ? `; no forwarder: ${r.forwarderError}` : ''})\n`)
      process.stdout.write(`node     ${r.nodeExecutable} (${r.mode === 'bundle' ? `single file, ${r.bundleModules} modules, ${Math.round((r.codeCacheBytes ?? 0) / 1024)} KiB code cache from ${r.codeCache === 'commands' ? 'running each command once' : 'loading the modules'}` : 'imports podnet\'s modules'})\n`)
      if (r.bundleError) process.stdout.write(`         no single-file build: ${r.bundleError}\n`)
      process.stdout.write(`conflist ${r.conflist}${r.conflistWritten ? '' : ' (unchanged)'}\n`)
      process.stdout.write(`versions ${r.supportedVersions.join(', ')}\n`)
    })

  cni.command('serve').description('serve podnet-cni\'s requests from a resident process (the installed forwarder connects to it); runs until SIGTERM or SIGINT')
    .option('--socket <path>', 'unix socket to listen on', '/run/podnet/cni.sock')
    .option('--state-dir <dir>', 'state dir for configurations without podnet.stateDir (default /var/lib/podnet/cni)')
    .option('--run-dir <dir>', 'run dir for configurations without podnet.runDir (default /run/podnet/cni)')
    .action(async (o: { socket: string; stateDir?: string; runDir?: string }) => {
      const { CniServer } = await import('../../cni/server.js')
      const server = await CniServer.listen({
        socket: o.socket,
        ...(o.stateDir !== undefined && { stateDir: o.stateDir }), ...(o.runDir !== undefined && { runDir: o.runDir }),
        ...(process.env.PODNET_TEST_BOOT_ID && { bootId: process.env.PODNET_TEST_BOOT_ID }),
      })
      process.stdout.write(`podnet cni serve: listening on ${server.socket}\n`)
      await new Promise<void>((resolve) => {
        const stop = (): void => { void server.close().then(resolve) }
        process.once('SIGTERM', stop)
        process.once('SIGINT', stop)
      })
    })

  conflistFlags(cni.command('conflist').description('print the conflist `cni install` would write'))
    .action(async (o: InstallFlags) => {
      const { conflistFor } = await import('../../cni/install.js')
      process.stdout.write(`${JSON.stringify(conflistFor(confOpts(o)), null, 2)}\n`)
    })
}
