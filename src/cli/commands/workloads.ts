/**
 * kubectl-like commands for workloads (docs/workloads.md):
 *   podnet apply -f FILE|DIR|-   podnet get KIND [NAME] [-o json|yaml|wide]
 *   podnet delete KIND NAME | -f FILE [--cascade background|orphan]
 *   podnet scale KIND NAME --replicas N    podnet describe KIND NAME
 * apply, delete and scale go to the supervisor (the controllers run there); get and describe
 * read the state dir.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError, NotFoundError } from '../../errors.js'
import type { PodRecord } from '../../runtime/types.js'
import type { ClaimRecord, ManifestSource, WorkloadObject, WorkloadRequest, WorkloadResponse } from '../../workloads/index.js'
import { intArg } from '../context.js'
import { printJson, printTable, type Row } from '../output.js'
import { ask, common, printPodEvents, storeOf, type Global } from './pod.js'
import { describeObject, duration, kubeAge, labelsText } from './workloads-describe.js'

const workloads = (): Promise<typeof import('../../workloads/index.js')> => import('../../workloads/index.js')

/** Reads -f arguments: files, directories (their .yaml, .yml and .json files, sorted) and - (stdin). */
function readSources(files: string[]): ManifestSource[] {
  const out: ManifestSource[] = []
  for (const f of files) {
    if (f === '-') {
      out.push({ text: readFileSync(0, 'utf8'), baseDir: process.cwd(), source: 'stdin' })
      continue
    }
    const path = resolve(f)
    let st
    try {
      st = statSync(path)
    } catch {
      throw new InvalidArgumentError('-f', `${f} does not exist`)
    }
    if (st.isDirectory()) {
      const names = readdirSync(path).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()
      if (!names.length) throw new InvalidArgumentError('-f', `${f} has no .yaml, .yml or .json files`)
      for (const n of names) out.push({ text: readFileSync(join(path, n), 'utf8'), baseDir: path, source: join(f, n) })
    } else out.push({ text: readFileSync(path, 'utf8'), baseDir: dirname(path), source: f })
  }
  return out
}

async function send(o: Global, body: WorkloadRequest): Promise<WorkloadResponse> {
  const { WORKLOADS_EXTENSION } = await workloads()
  return ask<WorkloadResponse>(o, { op: 'extension', name: WORKLOADS_EXTENSION, body })
}

function report(o: Global, r: WorkloadResponse): void {
  for (const w of r.warnings) process.stderr.write(`Warning: ${w}\n`)
  if (o.json) printJson(r)
  else for (const l of r.lines) process.stdout.write(`${l}\n`)
  for (const e of r.errors ?? []) process.stderr.write(`podnet: ${e}\n`)
  if (r.errors?.length) process.exitCode = 1
}

/** KIND NAME, or KIND/NAME as kubectl takes them. */
function kindAndName(a: string, b: string | undefined): { kind: string; name: string | undefined } {
  if (b === undefined && a.includes('/')) {
    const [k, n] = [a.slice(0, a.indexOf('/')), a.slice(a.indexOf('/') + 1)]
    return { kind: k, name: n }
  }
  return { kind: a, name: b }
}

function podStatus(p: PodRecord): string {
  if (p.deletionTimestamp && (p.phase === 'Running' || p.phase === 'Pending')) return 'Terminating'
  if (p.phase === 'Running') {
    const w = p.containers.find((c) => c.state.status === 'waiting')
    if (w && w.state.status === 'waiting') return w.state.reason
    return 'Running'
  }
  if (p.phase === 'Pending') return 'ContainerCreating'
  if (p.phase === 'Succeeded') return 'Completed'
  return p.reason ?? 'Error'
}

function podRow(p: PodRecord, isReady: (p: PodRecord) => boolean): Row {
  const running = p.containers.filter((c) => c.ready ?? c.state.status === 'running').length
  const owner = p.spec.ownerReferences?.find((r) => r.controller)
  return {
    name: p.name, ready: `${isReady(p) ? p.containers.length : Math.min(running, p.containers.length - 1)}/${p.containers.length}`,
    status: podStatus(p), restarts: p.containers.reduce((n, c) => n + c.restartCount, 0), age: kubeAge(p.createdAt),
    ip: p.sandbox.ips.map((i) => i.split('/')[0]).join(',') || '<none>', owner: owner ? `${owner.kind}/${owner.name}` : '<none>',
  }
}

const COLUMNS: Record<string, { cols: Array<[string, string]>; wide: Array<[string, string]> }> = {
  Pod: { cols: [['name', 'NAME'], ['ready', 'READY'], ['status', 'STATUS'], ['restarts', 'RESTARTS'], ['age', 'AGE']], wide: [['ip', 'IP'], ['owner', 'OWNER']] },
  ReplicaSet: { cols: [['name', 'NAME'], ['desired', 'DESIRED'], ['current', 'CURRENT'], ['ready', 'READY'], ['age', 'AGE']], wide: [['containers', 'CONTAINERS'], ['selector', 'SELECTOR']] },
  Job: { cols: [['name', 'NAME'], ['status', 'STATUS'], ['completions', 'COMPLETIONS'], ['duration', 'DURATION'], ['age', 'AGE']], wide: [['containers', 'CONTAINERS'], ['selector', 'SELECTOR']] },
  Deployment: { cols: [['name', 'NAME'], ['ready', 'READY'], ['updated', 'UP-TO-DATE'], ['available', 'AVAILABLE'], ['age', 'AGE']], wide: [['containers', 'CONTAINERS'], ['selector', 'SELECTOR']] },
  DaemonSet: {
    cols: [['name', 'NAME'], ['desired', 'DESIRED'], ['current', 'CURRENT'], ['ready', 'READY'], ['updated', 'UP-TO-DATE'], ['available', 'AVAILABLE'], ['nodeSelector', 'NODE SELECTOR'], ['age', 'AGE']],
    wide: [['containers', 'CONTAINERS'], ['selector', 'SELECTOR']],
  },
  StatefulSet: { cols: [['name', 'NAME'], ['ready', 'READY'], ['age', 'AGE']], wide: [['containers', 'CONTAINERS'], ['selector', 'SELECTOR']] },
  PersistentVolumeClaim: {
    cols: [['name', 'NAME'], ['status', 'STATUS'], ['capacity', 'CAPACITY'], ['modes', 'ACCESS MODES'], ['storageClass', 'STORAGECLASS'], ['age', 'AGE']],
    wide: [['statefulSet', 'STATEFULSET'], ['path', 'PATH']],
  },
  Node: { cols: [['name', 'NAME'], ['status', 'STATUS'], ['roles', 'ROLES'], ['age', 'AGE'], ['labels', 'LABELS']], wide: [] },
}

const ACCESS_MODES: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' }

/** kubectl's columns of a claim; the volume is a directory in the state dir (PATH with -o wide). */
function claimRow(c: ClaimRecord): Row {
  return {
    name: c.metadata.name, status: c.status.phase, capacity: c.status.capacity.storage, modes: c.status.accessModes.map((m) => ACCESS_MODES[m] ?? m).join(','),
    storageClass: c.spec.storageClassName ?? '<unset>', age: kubeAge(c.metadata.creationTimestamp), statefulSet: c.podnet.statefulSet, path: c.podnet.path,
  }
}

async function objectRow(o: WorkloadObject): Promise<Row> {
  const { selectorString } = await workloads()
  const spec = o.spec as { selector?: Parameters<typeof selectorString>[0]; template?: { spec: { containers?: Array<{ name?: string }> } } }
  const base: Row = {
    name: o.metadata.name, age: kubeAge(o.metadata.creationTimestamp),
    containers: (spec.template?.spec.containers ?? []).map((c) => c.name).join(','), selector: spec.selector ? selectorString(spec.selector) : '',
  }
  if (o.kind === 'ReplicaSet') {
    const s = o.spec as { replicas: number }
    const st = (o.status ?? {}) as { replicas?: number; readyReplicas?: number }
    return { ...base, desired: s.replicas, current: st.replicas ?? 0, ready: st.readyReplicas ?? 0 }
  }
  if (o.kind === 'Deployment') {
    const s = o.spec as { replicas: number }
    const st = (o.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number }
    return { ...base, ready: `${st.readyReplicas ?? 0}/${s.replicas}`, updated: st.updatedReplicas ?? 0, available: st.availableReplicas ?? 0 }
  }
  if (o.kind === 'StatefulSet') {
    const s = o.spec as { replicas: number }
    const st = (o.status ?? {}) as { readyReplicas?: number }
    return { ...base, ready: `${st.readyReplicas ?? 0}/${s.replicas}` }
  }
  if (o.kind === 'DaemonSet') {
    const s = o.spec as { template: { spec: { nodeSelector?: Record<string, string> } } }
    const st = (o.status ?? {}) as Record<string, number | undefined>
    return {
      ...base, desired: st.desiredNumberScheduled ?? 0, current: st.currentNumberScheduled ?? 0, ready: st.numberReady ?? 0, updated: st.updatedNumberScheduled ?? 0,
      available: st.numberAvailable ?? 0, nodeSelector: Object.entries(s.template.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>',
    }
  }
  if (o.kind === 'Job') {
    const s = o.spec as { completions?: number; parallelism: number; suspend: boolean }
    const st = (o.status ?? {}) as { succeeded?: number; startTime?: string; completionTime?: string; conditions?: Array<{ type: string; status: string }> }
    const cond = (t: string): boolean => st.conditions?.some((c) => c.type === t && c.status === 'True') ?? false
    const status = cond('Complete') ? 'Complete' : cond('Failed') ? 'Failed' : s.suspend ? 'Suspended' : 'Running'
    const end = st.completionTime ? Date.parse(st.completionTime) : Date.now()
    return {
      ...base, status, completions: s.completions !== undefined ? `${st.succeeded ?? 0}/${s.completions}` : `${st.succeeded ?? 0}/1 of ${s.parallelism}`,
      duration: st.startTime ? duration(end - Date.parse(st.startTime)) : '',
    }
  }
  return base
}

async function output(o: Global & { output?: string }, kind: string, items: unknown[], rows: () => Promise<Row[]>, single: boolean): Promise<void> {
  const fmt = o.output ?? (o.json ? 'json' : undefined)
  if (fmt === 'json') {
    printJson(single ? items[0] : { apiVersion: 'v1', kind: 'List', items })
    return
  }
  if (fmt === 'yaml') {
    const { stringify } = await import('yaml')
    process.stdout.write(stringify(single ? items[0] : { apiVersion: 'v1', kind: 'List', items }))
    return
  }
  if (fmt !== undefined && fmt !== 'wide') throw new InvalidArgumentError('-o', `unsupported output format ${JSON.stringify(fmt)} (json, yaml, wide)`)
  const r = await rows()
  if (!r.length) {
    process.stderr.write('No resources found in default namespace.\n')
    return
  }
  const c = COLUMNS[kind]!
  printTable(r, fmt === 'wide' ? [...c.cols, ...c.wide] : c.cols)
}

export function registerWorkloads(program: Command): void {
  common(program.command('apply').description('create or update pods and workloads (Deployment... ReplicaSet, Job) from manifests, as kubectl apply'))
    .requiredOption('-f, --filename <file...>', 'manifest file, directory or - (stdin); multi-document YAML or JSON')
    .action(async (o: Global & { filename: string[] }) => {
      report(o, await send(o, { action: 'apply', sources: readSources(o.filename) }))
    })

  common(program.command('get <kind> [name]').description('list pods and workloads with kubectl\'s columns (KIND: pods, deployments, replicasets, statefulsets, daemonsets, jobs, nodes, persistentvolumeclaims; short names po, deploy, rs, sts, ds, no, pvc)'))
    .option('-o, --output <format>', 'json, yaml or wide')
    .action(async (kindWord: string, nameArg: string | undefined, o: Global & { output?: string }) => {
      const { resolveKind, WorkloadStore, isPodReady, readNode, isClaimKind, StatefulSetFiles } = await workloads()
      const { kind: k, name } = kindAndName(kindWord, nameArg)
      const store = await storeOf(o)
      if (['node', 'nodes', 'no'].includes(k.toLowerCase())) {
        const node = readNode(new WorkloadStore({ stateDir: store.root }).root)
        if (name !== undefined && name !== node.name) throw new NotFoundError('node', name)
        const item = { apiVersion: 'v1', kind: 'Node', metadata: { name: node.name, labels: node.labels } }
        await output(o, 'Node', [item], () => Promise.resolve([{
          name: node.name, status: 'Ready', roles: '<none>', age: node.creationTimestamp ? kubeAge(node.creationTimestamp) : '<unknown>',
          labels: Object.entries(node.labels).map(([a, b]) => `${a}=${b}`).join(','),
        }]), name !== undefined)
        return
      }
      if (isClaimKind(k)) {
        const claims = new StatefulSetFiles(new WorkloadStore({ stateDir: store.root }).root).allClaims().filter((c) => name === undefined || c.metadata.name === name)
        if (name !== undefined && !claims.length) throw new NotFoundError('persistentvolumeclaim', name)
        await output(o, 'PersistentVolumeClaim', claims, () => Promise.resolve(claims.map(claimRow)), name !== undefined)
        return
      }
      const kind = resolveKind(k)
      if (kind === 'Pod') {
        const pods = name !== undefined ? [store.read(name)].filter((p): p is PodRecord => p !== undefined) : store.list()
        if (name !== undefined && !pods.length) throw new NotFoundError('pod', name)
        await output(o, kind, pods, () => Promise.resolve(pods.map((p) => podRow(p, isPodReady))), name !== undefined)
        return
      }
      const ws = new WorkloadStore({ stateDir: store.root })
      const objs = name !== undefined ? [ws.read(kind, name)].filter((x): x is WorkloadObject => x !== undefined) : ws.list(kind, (err) => process.stderr.write(`podnet: warning: ${err.message}\n`))
      if (name !== undefined && !objs.length) throw new NotFoundError(kind.toLowerCase(), name)
      await output(o, kind, objs, () => Promise.all(objs.map(objectRow)), name !== undefined)
    })

  common(program.command('delete [kind] [name]').description('delete pods and workloads; a workload\'s pods go with it unless --cascade orphan'))
    .option('-f, --filename <file...>', 'delete what these manifests name')
    .option('--cascade <mode>', 'background (default: dependents are deleted) or orphan (they stay)', 'background')
    .option('--grace-period <s>', "pods' grace period (seconds)", intArg('--grace-period'))
    .action(async (kindWord: string | undefined, nameArg: string | undefined, o: Global & { filename?: string[]; cascade: string; gracePeriod?: number }) => {
      if (o.cascade !== 'background' && o.cascade !== 'orphan' && o.cascade !== 'true' && o.cascade !== 'false') {
        throw new InvalidArgumentError('--cascade', `must be "background" or "orphan", got ${JSON.stringify(o.cascade)}`)
      }
      const cascade = o.cascade === 'orphan' || o.cascade === 'false' ? 'orphan' : 'background'
      const grace = o.gracePeriod !== undefined ? { gracePeriodSeconds: o.gracePeriod } : {}
      if (o.filename) {
        if (kindWord !== undefined) throw new InvalidArgumentError('-f', 'give either -f or KIND NAME')
        report(o, await send(o, { action: 'delete', sources: readSources(o.filename), cascade, ...grace }))
        return
      }
      if (kindWord === undefined) throw new InvalidArgumentError('KIND', 'required (or -f FILE)')
      const { kind, name } = kindAndName(kindWord, nameArg)
      if (name === undefined) throw new InvalidArgumentError('NAME', 'required')
      report(o, await send(o, { action: 'delete', kind, name, cascade, ...grace }))
    })

  common(program.command('scale <kind> [name]').description('set the replicas of a Deployment, ReplicaSet or StatefulSet'))
    .requiredOption('--replicas <n>', 'the new number of replicas', intArg('--replicas'))
    .action(async (kindWord: string, nameArg: string | undefined, o: Global & { replicas: number }) => {
      const { kind, name } = kindAndName(kindWord, nameArg)
      if (name === undefined) throw new InvalidArgumentError('NAME', 'required')
      report(o, await send(o, { action: 'scale', kind, name, replicas: o.replicas }))
    })

  common(program.command('describe <kind> [name]').description('a workload or pod in detail, with its recent events'))
    .action(async (kindWord: string, nameArg: string | undefined, o: Global) => {
      const { resolveKind, WorkloadStore, selectorString, isPodReady } = await workloads()
      const { kind: k, name } = kindAndName(kindWord, nameArg)
      if (name === undefined) throw new InvalidArgumentError('NAME', 'required')
      const kind = resolveKind(k)
      const store = await storeOf(o)
      if (kind === 'Pod') {
        const p = store.read(name)
        if (!p) throw new NotFoundError('pod', name)
        if (o.json) { printJson(p); return }
        const owner = p.spec.ownerReferences?.find((r) => r.controller)
        const lines: Array<[string, string]> = [
          ['Name', p.name], ['Namespace', 'default'], ['Labels', labelsText(p.spec.labels)], ['Status', podStatus(p)], ['Ready', String(isPodReady(p))],
          ['IP', p.sandbox.ips.map((i) => i.split('/')[0]).join(', ') || '<none>'], ['Controlled By', owner ? `${owner.kind}/${owner.name}` : '<none>'],
        ]
        for (const [a, b] of lines) process.stdout.write(`${`${a}:`.padEnd(16)}${b}\n`)
        for (const c of p.conditions ?? []) process.stdout.write(`${'Condition:'.padEnd(16)}${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}\n`)
        if (p.events?.length) printPodEvents(p)
        else process.stdout.write('Events:         <none>\n')
        return
      }
      const ws = new WorkloadStore({ stateDir: store.root })
      const obj = ws.read(kind, name)
      if (!obj) throw new NotFoundError(kind.toLowerCase(), name)
      const events = ws.events(kind, name)
      if (o.json) { printJson({ object: obj, events }); return }
      const pods = store.list().filter((p) => p.spec.ownerReferences?.some((r) => r.uid === obj.metadata.uid))
      const replicaSets = kind === 'Deployment' ? ws.list('ReplicaSet').filter((r) => r.metadata.ownerReferences?.some((x) => x.uid === obj.metadata.uid)) : undefined
      describeObject(obj, pods, events, selectorString, replicaSets ? { replicaSets } : {})
    })
}
