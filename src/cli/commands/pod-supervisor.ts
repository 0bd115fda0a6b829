/** podnet pod supervisor status | start | stop | run: the one process that supervises every pod of a state dir. */
import type { Command } from 'commander'
import { InvalidArgumentError, PodnetError } from '../../errors.js'
import type { PodRecord } from '../../runtime/index.js'
import { intArg } from '../context.js'
import { printJson } from '../output.js'
import type { Global, PodCommandHelpers } from './pod.js'

const client = (): Promise<typeof import('../../runtime/client.js')> => import('../../runtime/client.js')
const records = (): Promise<typeof import('../../runtime/types.js')> => import('../../runtime/types.js')

export function registerPodSupervisor(pod: Command, { ask, common, endLine, failWith, inParallel, storeOf }: PodCommandHelpers): void {
  const sup = pod.command('supervisor').description('the one process that supervises every pod (started on demand)')
  common(sup.command('status').description('whether it runs, its pid and RSS'))
    .action(async (o: Global) => {
      const { pingSupervisor } = await client()
      const p = await pingSupervisor((await storeOf(o)).root)
      if (o.json) printJson(p ?? { running: false })
      else {
        process.stdout.write(p ? `running: pid ${p.pid}, ${p.activePods} active pod(s), RSS ${Math.round((p.rssBytes ?? 0) / 1024)} kB, since ${p.startedAt}\n` : 'not running\n')
        for (const u of p?.unsavedRecords ?? []) process.stdout.write(`unsaved record of pod ${u.pod} since ${u.since} (${u.attempts} attempts): ${u.error}\n`)
      }
    })
  common(sup.command('start').description('start it now (pod run does when needed)'))
    .action(async (o: Global) => {
      const { ensureSupervisor } = await client()
      const store = await storeOf(o)
      const p = await ensureSupervisor(store.root, store.run)
      if (o.json) printJson(p)
      else process.stdout.write(`running: pid ${p.pid}\n`)
    })
  common(sup.command('stop').description('stop it; pods keep running and the next supervisor adopts them (unless --with-pods)'))
    .option('--with-pods', 'first stop every pod (in parallel, as pod stop), then the supervisor: nothing of podnet keeps running')
    .option('-t, --time <seconds>', 'with --with-pods: grace period (default: each pod\'s terminationGracePeriodSeconds)', intArg('--time', 0, 86400))
    .action(async (o: Global & { withPods?: boolean; time?: number }) => {
      if (o.time !== undefined && !o.withPods) throw new InvalidArgumentError('--time', 'only with --with-pods')
      const [{ stopSupervisor }, { isActive }] = await Promise.all([client(), records()])
      const store = await storeOf(o)
      let pods: string[] = []
      if (o.withPods) {
        // the live records (run dir): a pod a supervisor runs is Pending or Running there
        const names = store.list().filter(isActive).map((p) => p.name)
        const results = await inParallel(o, names, (name) => ask<PodRecord>(o, { op: 'stop', name, ...(o.time !== undefined && { gracePeriodSeconds: o.time }) }))
        failWith(results)
        if (results.some((r) => !r.ok)) return // the supervisor stays: the pods it could not stop are still its
        pods = names
        if (!o.json) for (const [i, r] of results.entries()) if (r.ok) process.stdout.write(`pod ${names[i]} ${endLine(r.value)}\n`)
      }
      const stopped = await stopSupervisor(store.root)
      if (o.json) printJson({ stopped, ...(o.withPods && { stoppedPods: pods }) })
      else process.stdout.write(stopped ? 'supervisor stopped\n' : 'not running\n')
    })
  common(sup.command('run').description('run it in the foreground, never idle-exiting (for a systemd unit: docs/reliability.md); it restores pods a reboot took down'))
    .action(async (o: Global) => {
      const [{ Supervisor, logLine, runtimeOptionsFromEnv }, store] = await Promise.all([import('../../runtime/supervisor.js'), storeOf(o)])
      process.stderr.on('error', () => { /* a log that cannot be written loses the line */ })
      const env = runtimeOptionsFromEnv()
      const s = await Supervisor.start({ ...env, idleExitMs: env.idleExitMs ?? 0, stateDir: store.root, runDir: store.run })
      if (!s) throw new PodnetError(`a supervisor already runs for ${store.root} (podnet pod supervisor status)`)
      logLine(`listening on ${s.store.socketPath()}`)
      await new Promise<void>((resolve) => {
        s.onClosed = resolve
        for (const sg of ['SIGTERM', 'SIGINT'] as const) process.on(sg, () => { void s.close() })
        process.on('SIGHUP', () => { /* ignored */ })
      })
      logLine('exiting (pods keep running)')
    })
  for (const c of sup.commands) c.exitOverride()
}
