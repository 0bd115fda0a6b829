/** podnet pod exec: a command in a running container, started by the launcher attached to this terminal (no supervisor). */
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { InvalidArgumentError, NotFoundError, PodnetError } from '../../errors.js'
import type { Global, PodCommandHelpers } from './pod.js'

export function registerPodExec(pod: Command, { common, readPod, storeOf }: PodCommandHelpers): void {
  common(pod.command('exec <name> <cmd> [args...]').description('run a command in a running container: podnet pod exec NAME [-c C] -- CMD [ARG...]'))
    .option('-c, --container <name>', 'the container (default: the first)')
    .option('-i, --interactive', "keep stdin attached (docker's flag; podnet always passes stdin on)")
    .option('-t, --tty', "a terminal (the container's /dev/pts/N) for the command; this terminal in raw mode meanwhile: pod exec -it web -- sh")
    .action(async (name: string, first: string, rest: string[], o: Global & { container?: string; interactive?: boolean; tty?: boolean }) => {
      const argv = [first, ...rest]
      if (!argv.length) throw new InvalidArgumentError('pod exec', 'missing command: podnet pod exec NAME [-c C] -- CMD [ARG...]')
      const [{ containerEnv, ensureLauncher, execArgs }, { isAlive }, { Cgroup, detectCgroupLayout }, { resolveSecurity, seccompFilterBytes }] = await Promise.all([
        import('../../runtime/launcher.js'), import('../../runtime/proc.js'), import('../../runtime/cgroups/index.js'), import('../../runtime/security/index.js'),
      ])
      const rec = await readPod(o, name)
      const cs = o.container !== undefined ? rec.containers.find((c) => c.name === o.container) : rec.containers[0]
      if (!cs) throw new NotFoundError('container', o.container ?? '', `in pod '${name}'`)
      const st = cs.state
      if (st.status !== 'running' || !isAlive(st.launcher)) throw new PodnetError(`container '${cs.name}' of pod '${name}' is not running (${st.status === 'running' ? 'ended' : st.status}${st.status !== 'running' ? `: ${st.reason}` : ''})`)
      const spec = rec.spec.containers.find((c) => c.name === cs.name)!
      const store = await storeOf(o)
      const launcher = process.env.PODNET_LAUNCHER || ensureLauncher(store.binDir())
      const cgroupProcs = cs.cgroup !== undefined ? new Cgroup(detectCgroupLayout(), cs.cgroup).procsFiles() : []
      // exactly the container's user, capabilities, no_new_privs and seccomp filter
      const security = resolveSecurity(rec.spec.securityContext, spec.securityContext)
      const filter = seccompFilterBytes(security)
      const child = spawn(launcher, execArgs({
        target: st.pid, cgroupProcs, env: containerEnv(rec.spec.hostname, spec.env.some((e) => e.name === 'TERM') || !o.tty ? spec.env : [...spec.env, { name: 'TERM', value: process.env.TERM || 'xterm' }]), argv, security,
        ...(spec.workingDir !== undefined && { cwd: spec.workingDir }), ...(o.tty && { tty: true }),
      }), { stdio: ['inherit', 'inherit', 'inherit', ...(filter ? ['pipe' as const] : [])] })
      // -t on a terminal: keys go to the container's terminal as typed (Ctrl-C included), as docker exec -it
      const raw = o.tty === true && process.stdin.isTTY === true
      if (raw) process.stdin.setRawMode(true)
      if (raw) child.on('exit', () => process.stdin.setRawMode(false))
      const filterPipe = child.stdio[3] as NodeJS.WritableStream & { on(e: 'error', f: () => void): unknown } | null | undefined
      if (filter && filterPipe) { filterPipe.on('error', () => { /* the launcher reports */ }); filterPipe.end(filter) }
      process.exitCode = await new Promise<number>((res) => {
        child.on('error', (err) => { process.stderr.write(`podnet: pod exec: ${err.message}\n`); res(125) })
        child.on('exit', (c, sig) => res(c ?? (sig === 'SIGKILL' ? 137 : sig === 'SIGTERM' ? 143 : 1)))
      })
    })
}
