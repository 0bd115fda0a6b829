/**
 * kubectl's rollout and label commands (docs/workloads.md, docs/cli.md):
 *   podnet rollout status deployment|daemonset|statefulset NAME [--watch=false] [--timeout 5m]
 *   podnet rollout history deployment|daemonset|statefulset NAME [--revision N]
 *   podnet rollout undo deployment|daemonset|statefulset NAME [--to-revision N]
 *   podnet rollout restart deployment|daemonset|statefulset NAME
 *   podnet label node NAME KEY=VALUE... KEY- [--overwrite]
 * status and history read the state dir; undo, restart and label go to the supervisor.
 */
import type { Command } from 'commander'
import { InvalidArgumentError, NotFoundError, PodnetError } from '../../errors.js'
import type { DaemonSet, Deployment, PodTemplateSpec, ReplicaSet, StatefulSet, WorkloadRequest, WorkloadResponse } from '../../workloads/index.js'
import { intArg } from '../context.js'
import { printJson, printTable } from '../output.js'
import { ask, common, storeOf, type Global } from './pod.js'

const workloads = (): Promise<typeof import('../../workloads/index.js')> => import('../../workloads/index.js')

async function send(o: Global, body: WorkloadRequest): Promise<void> {
  const { WORKLOADS_EXTENSION } = await workloads()
  const r = await ask<WorkloadResponse>(o, { op: 'extension', name: WORKLOADS_EXTENSION, body })
  if (o.json) printJson(r)
  else for (const l of r.lines) process.stdout.write(`${l}\n`)
}

function kindAndName(a: string, b: string | undefined): { kind: string; name: string } {
  if (b === undefined && a.includes('/')) return { kind: a.slice(0, a.indexOf('/')), name: a.slice(a.indexOf('/') + 1) }
  if (b === undefined) throw new InvalidArgumentError('NAME', 'required')
  return { kind: a, name: b }
}

/** A duration as kubectl's --timeout takes it: 90s, 5m, 1h, 0 (no limit). */
function durationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!m) throw new InvalidArgumentError(flag, `'${text}' is not a duration (90s, 5m, 1h)`)
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000)
}

/** kubectl's status line for a Deployment: [message, done]; a progress deadline passed is an error. */
export function deploymentStatusLine(d: Deployment): [string, boolean] {
  const st = d.status
  const name = d.metadata.name
  if (!st || st.observedGeneration < d.metadata.generation) return ['Waiting for deployment spec update to be observed...', false]
  if (st.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) throw new PodnetError(`deployment "${name}" exceeded its progress deadline`)
  if (st.updatedReplicas < d.spec.replicas) return [`Waiting for deployment "${name}" rollout to finish: ${st.updatedReplicas} out of ${d.spec.replicas} new replicas have been updated...`, false]
  if (st.replicas > st.updatedReplicas) return [`Waiting for deployment "${name}" rollout to finish: ${st.replicas - st.updatedReplicas} old replicas are pending termination...`, false]
  if (st.availableReplicas < st.updatedReplicas) return [`Waiting for deployment "${name}" rollout to finish: ${st.availableReplicas} of ${st.updatedReplicas} updated replicas are available...`, false]
  return [`deployment "${name}" successfully rolled out`, true]
}

export function daemonSetStatusLine(ds: DaemonSet): [string, boolean] {
  const st = ds.status
  const name = ds.metadata.name
  if (ds.spec.updateStrategy.type !== 'RollingUpdate') throw new InvalidArgumentError('KIND', 'rollout status is only available for RollingUpdate strategy type')
  if (!st || st.observedGeneration < ds.metadata.generation) return ['Waiting for daemon set spec update to be observed...', false]
  if (st.updatedNumberScheduled < st.desiredNumberScheduled) return [`Waiting for daemon set "${name}" rollout to finish: ${st.updatedNumberScheduled} out of ${st.desiredNumberScheduled} new pods have been updated...`, false]
  if (st.numberAvailable < st.desiredNumberScheduled) return [`Waiting for daemon set "${name}" rollout to finish: ${st.numberAvailable} of ${st.desiredNumberScheduled} updated pods are available...`, false]
  return [`daemon set "${name}" successfully rolled out`, true]
}

/** kubectl's status line for a StatefulSet (its RollingUpdate strategy, with or without a partition). */
export function statefulSetStatusLine(sts: StatefulSet): [string, boolean] {
  const st = sts.status
  if (sts.spec.updateStrategy.type !== 'RollingUpdate') throw new InvalidArgumentError('KIND', 'rollout status is only available for RollingUpdate strategy type')
  if (!st || st.observedGeneration < sts.metadata.generation) return ['Waiting for statefulset spec update to be observed...', false]
  if (st.readyReplicas < sts.spec.replicas) return [`Waiting for ${sts.spec.replicas - st.readyReplicas} pods to be ready...`, false]
  const partition = sts.spec.updateStrategy.rollingUpdate?.partition ?? 0
  if (partition > 0) {
    const want = Math.max(0, sts.spec.replicas - partition)
    if (st.updatedReplicas < want) return [`Waiting for partitioned roll out to finish: ${st.updatedReplicas} out of ${want} new pods have been updated...`, false]
    return [`partitioned roll out complete: ${st.updatedReplicas} new pods have been updated...`, true]
  }
  if (st.updateRevision !== st.currentRevision) return [`waiting for statefulset rolling update to complete ${st.updatedReplicas} pods at revision ${st.updateRevision}...`, false]
  return [`statefulset rolling update complete ${st.currentReplicas} pods at revision ${st.currentRevision}...`, true]
}

/** `rollout history --revision N`'s pod template, as kubectl prints it. */
function printTemplate(title: string, t: PodTemplateSpec): void {
  process.stdout.write(`${title}\nPod Template:\n`)
  process.stdout.write(`  Labels:\t${Object.entries(t.metadata.labels ?? {}).map(([a, b]) => `${a}=${b}`).join('\n\t') || '<none>'}\n`)
  const ann = Object.entries(t.metadata.annotations ?? {})
  if (ann.length) process.stdout.write(`  Annotations:\t${ann.map(([a, b]) => `${a}: ${b}`).join('\n\t')}\n`)
  process.stdout.write('  Containers:\n')
  for (const c of (t.spec.containers ?? []) as Array<{ name: string; command?: string[]; args?: string[] }>) {
    process.stdout.write(`   ${c.name}:\n`)
    const cmd = [...(c.command ?? []), ...(c.args ?? [])]
    if (cmd.length) process.stdout.write(`    Command:\t${cmd.join(' ')}\n`)
  }
}

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('the rollout of a Deployment, a DaemonSet or a StatefulSet (status, history, undo, restart)')

  common(rollout.command('status <kind> [name]').description('wait for a rollout to finish, printing its progress as kubectl does'))
    .option('-w, --watch <bool>', 'wait for the rollout to finish (false: print the status once)', 'true')
    .option('--timeout <duration>', 'give up after this long (90s, 5m; 0: never)', '0')
    .action(async (kindWord: string, nameArg: string | undefined, o: Global & { watch: string; timeout: string }) => {
      const { resolveKind, WorkloadStore } = await workloads()
      const { kind: k, name } = kindAndName(kindWord, nameArg)
      const kind = resolveKind(k)
      if (kind !== 'Deployment' && kind !== 'DaemonSet' && kind !== 'StatefulSet') throw new InvalidArgumentError('KIND', `rollout status of ${k} is not supported by podnet (deployments, daemonsets and statefulsets)`)
      const ws = new WorkloadStore({ stateDir: (await storeOf(o)).root })
      const timeout = durationMs(o.timeout, '--timeout')
      const until = timeout > 0 ? Date.now() + timeout : Infinity
      let last = ''
      for (;;) {
        const obj = ws.read(kind, name)
        if (!obj) throw new NotFoundError(kind.toLowerCase(), name)
        const [line, done] = kind === 'Deployment' ? deploymentStatusLine(obj as Deployment) : kind === 'DaemonSet' ? daemonSetStatusLine(obj as DaemonSet) : statefulSetStatusLine(obj as StatefulSet)
        if (line !== last) process.stdout.write(`${line}\n`)
        last = line
        if (done || o.watch === 'false') return
        if (Date.now() >= until) throw new PodnetError('timed out waiting for the condition')
        await new Promise((r) => setTimeout(r, 200))
      }
    })

  common(rollout.command('history <kind> [name]').description("a Deployment's revisions (its ReplicaSets), a DaemonSet's or a StatefulSet's, or one revision's pod template"))
    .option('--revision <n>', 'show this revision in detail', intArg('--revision', 1))
    .action(async (kindWord: string, nameArg: string | undefined, o: Global & { revision?: number }) => {
      const { resolveKind, WorkloadStore, revisionOf, objectRef, CHANGE_CAUSE_ANNOTATION, StatefulSetFiles, DaemonSetFiles } = await workloads()
      const { kind: k, name } = kindAndName(kindWord, nameArg)
      const kind = resolveKind(k)
      if (kind !== 'Deployment' && kind !== 'StatefulSet' && kind !== 'DaemonSet') throw new InvalidArgumentError('KIND', `rollout history of ${k} is not supported by podnet (deployments, daemonsets and statefulsets)`)
      const ws = new WorkloadStore({ stateDir: (await storeOf(o)).root })
      let revs: Array<{ revision: number; name: string; cause: string | null; template: PodTemplateSpec }>
      if (kind === 'Deployment') {
        const d = ws.read<Deployment>('Deployment', name)
        if (!d) throw new NotFoundError('deployment', name)
        revs = ws.list<ReplicaSet>('ReplicaSet').filter((r) => r.metadata.ownerReferences?.some((x) => x.uid === d.metadata.uid) && revisionOf(r) > 0)
          .map((r) => ({ revision: revisionOf(r), name: r.metadata.name, cause: r.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? null, template: r.spec.template }))
      } else {
        const s = ws.read(kind, name)
        if (!s) throw new NotFoundError(kind.toLowerCase(), name)
        revs = (kind === 'StatefulSet' ? new StatefulSetFiles(ws.root).readState(s as StatefulSet) : new DaemonSetFiles(ws.root).readState(s as DaemonSet)).revisions.map((r) => ({ revision: r.revision, name: r.name, cause: r.template.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? null, template: r.template }))
      }
      revs.sort((a, b) => a.revision - b.revision)
      if (o.revision !== undefined) {
        const r = revs.find((x) => x.revision === o.revision)
        if (!r) throw new InvalidArgumentError('--revision', `unable to find the specified revision ${o.revision}`)
        if (o.json) { printJson(r.template); return }
        printTemplate(`${objectRef(kind, name)} with revision #${o.revision}`, r.template)
        return
      }
      if (o.json) { printJson(revs.map((r) => ({ revision: r.revision, [kind === 'Deployment' ? 'replicaSet' : 'controllerRevision']: r.name, changeCause: r.cause }))); return }
      process.stdout.write(`${objectRef(kind, name)}\n`)
      printTable(revs.map((r) => ({ rev: r.revision, cause: r.cause ?? '<none>' })), [['rev', 'REVISION'], ['cause', 'CHANGE-CAUSE']])
    })

  common(rollout.command('undo <kind> [name]').description("roll a Deployment, DaemonSet or StatefulSet back to its previous revision's pod template (or --to-revision's)"))
    .option('--to-revision <n>', 'the revision to go back to (default: the previous one)', intArg('--to-revision'))
    .action(async (kindWord: string, nameArg: string | undefined, o: Global & { toRevision?: number }) => {
      const { kind, name } = kindAndName(kindWord, nameArg)
      await send(o, { action: 'rollout', verb: 'undo', kind, name, ...(o.toRevision !== undefined && { toRevision: o.toRevision }) })
    })

  common(rollout.command('restart <kind> [name]').description('replace every pod of a Deployment, DaemonSet or StatefulSet (a rollout of the same template)'))
    .action(async (kindWord: string, nameArg: string | undefined, o: Global) => {
      const { kind, name } = kindAndName(kindWord, nameArg)
      await send(o, { action: 'rollout', verb: 'restart', kind, name })
    })
}

export function registerLabel(program: Command): void {
  common(program.command('label <kind> <name> <labels...>').description("set (KEY=VALUE) or remove (KEY-) this node's labels, which DaemonSets' nodeSelectors match"))
    .option('--overwrite', 'replace a label that has another value')
    .action(async (kind: string, name: string, labels: string[], o: Global & { overwrite?: boolean }) => {
      await send(o, { action: 'label', kind, name, labels, overwrite: o.overwrite === true })
    })
}
