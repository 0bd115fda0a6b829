/**
 * `podnet describe` of workloads (kubectl's layout): the object, its kind's own lines
 * (a Deployment's replicas, strategy and ReplicaSets, a DaemonSet's node counts, a Job's
 * completions), the pod template, conditions and recent events.
 */
import type { PodRecord } from '../../runtime/types.js'
import type { WorkloadEvent, WorkloadKind, WorkloadObject } from '../../workloads/index.js'
import { printTable } from '../output.js'

/** kubectl's ages: 45s, 3m20s, 10m, 5h, 3d. */
export function kubeAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>'
  return duration(now - Date.parse(iso))
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d`
}

export function labelsText(l: Record<string, string> | undefined): string {
  const e = Object.entries(l ?? {})
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join('\n'.padEnd(17)) : '<none>'
}

/** A Deployment's ReplicaSets (describe's OldReplicaSets and NewReplicaSet lines). */
export interface DescribeExtras { replicaSets?: WorkloadObject[] }

const CONTROLLERS: Record<string, string> = { Job: 'job-controller', Deployment: 'deployment-controller', DaemonSet: 'daemonset-controller', StatefulSet: 'statefulset-controller' }

const strategyText = (v: number | string): string => String(v)

export function describeObject(o: WorkloadObject, pods: PodRecord[], events: WorkloadEvent[], selectorString: (s: never) => string, extras: DescribeExtras = {}): void {
  const w = (k: string, v: string | number): void => { process.stdout.write(`${`${k}:`.padEnd(Math.max(16, k.length + 2))}${v}\n`) }
  const spec = o.spec as Record<string, unknown> & { selector?: unknown; template?: { metadata: { labels?: Record<string, string> }; spec: { containers?: Array<Record<string, unknown>>; restartPolicy?: string } } }
  const st = (o.status ?? {}) as Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> }
  w('Name', o.metadata.name)
  w('Namespace', 'default')
  if (spec.selector) w('Selector', selectorString(spec.selector as never))
  w('Labels', labelsText(o.metadata.labels))
  w('Annotations', labelsText(o.metadata.annotations))
  w('Created', o.metadata.creationTimestamp)
  const owner = o.metadata.ownerReferences?.find((r) => r.controller)
  if (owner) w('Controlled By', `${owner.kind}/${owner.name}`)
  if (o.metadata.deletionTimestamp) w('Deleting', `since ${o.metadata.deletionTimestamp} (${o.metadata.deletionPropagation ?? 'Background'})`)
  const by = (ph: string): number => pods.filter((p) => p.phase === ph).length
  const kind = o.kind as WorkloadKind
  if (kind === 'ReplicaSet') {
    w('Replicas', `${(st.replicas as number | undefined) ?? 0} current / ${spec.replicas as number} desired`)
  } else if (kind === 'Deployment') {
    const s = spec as unknown as { replicas: number; minReadySeconds: number; progressDeadlineSeconds: number; strategy: { type: string; rollingUpdate?: { maxSurge: number | string; maxUnavailable: number | string } } }
    const n = (k: string): number => (st[k] as number | undefined) ?? 0
    w('Replicas', `${s.replicas} desired | ${n('updatedReplicas')} updated | ${n('replicas')} total | ${n('availableReplicas')} available | ${n('unavailableReplicas')} unavailable`)
    w('StrategyType', s.strategy.type)
    w('MinReadySeconds', s.minReadySeconds)
    if (s.strategy.rollingUpdate) w('RollingUpdateStrategy', `${strategyText(s.strategy.rollingUpdate.maxUnavailable)} max unavailable, ${strategyText(s.strategy.rollingUpdate.maxSurge)} max surge`)
    w('ProgressDeadline', `${s.progressDeadlineSeconds}s`)
  } else if (kind === 'DaemonSet') {
    const s = spec as unknown as { template: { spec: { nodeSelector?: Record<string, string> } }; updateStrategy: { type: string; rollingUpdate?: { maxSurge: number | string; maxUnavailable: number | string } } }
    const n = (k: string): number => (st[k] as number | undefined) ?? 0
    w('Node-Selector', Object.entries(s.template.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>')
    w('UpdateStrategy', s.updateStrategy.rollingUpdate ? `${s.updateStrategy.type} (${strategyText(s.updateStrategy.rollingUpdate.maxUnavailable)} max unavailable, ${strategyText(s.updateStrategy.rollingUpdate.maxSurge)} max surge)` : s.updateStrategy.type)
    w('Desired Number of Nodes Scheduled', n('desiredNumberScheduled'))
    w('Current Number of Nodes Scheduled', n('currentNumberScheduled'))
    w('Number of Nodes Scheduled with Up-to-date Pods', n('updatedNumberScheduled'))
    w('Number of Nodes Scheduled with Available Pods', n('numberAvailable'))
    w('Number of Nodes Misscheduled', n('numberMisscheduled'))
  } else if (kind === 'StatefulSet') {
    const s = spec as unknown as { replicas: number; serviceName?: string; podManagementPolicy: string; updateStrategy: { type: string; rollingUpdate?: { partition: number } }; persistentVolumeClaimRetentionPolicy: { whenDeleted: string; whenScaled: string } }
    w('Replicas', `${s.replicas} desired | ${(st.replicas as number | undefined) ?? 0} total`)
    w('Service', s.serviceName ?? '<none>')
    w('Pod Management Policy', s.podManagementPolicy)
    w('Update Strategy', s.updateStrategy.type)
    if (s.updateStrategy.rollingUpdate) w('  Partition', s.updateStrategy.rollingUpdate.partition)
    if (st.currentRevision) w('Revisions', `current ${st.currentRevision as string}, update ${st.updateRevision as string}`)
    w('Claim Retention', `whenDeleted ${s.persistentVolumeClaimRetentionPolicy.whenDeleted}, whenScaled ${s.persistentVolumeClaimRetentionPolicy.whenScaled}`)
  } else if (kind === 'Job') {
    w('Parallelism', spec.parallelism as number)
    w('Completions', spec.completions === undefined ? '<unset>' : (spec.completions as number))
    w('Completion Mode', spec.completionMode as string)
    w('Backoff Limit', spec.backoffLimit as number)
    if (spec.activeDeadlineSeconds !== undefined) w('Active Deadline Seconds', `${spec.activeDeadlineSeconds as number}s`)
    if (st.startTime) w('Start Time', st.startTime as string)
    if (st.completionTime) w('Completed At', st.completionTime as string)
    if (st.completedIndexes) w('Completed Indexes', st.completedIndexes as string)
  }
  if (kind !== 'Deployment') w('Pods Status', `${by('Running')} Running / ${by('Pending')} Waiting / ${by('Succeeded')} Succeeded / ${by('Failed')} Failed`)
  if (spec.template) {
    process.stdout.write('Pod Template:\n')
    process.stdout.write(`  Labels:  ${Object.entries(spec.template.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '<none>'}\n`)
    const ta = Object.entries((spec.template.metadata as { annotations?: Record<string, string> }).annotations ?? {})
    if (ta.length) process.stdout.write(`  Annotations:  ${ta.map(([k, v]) => `${k}: ${v}`).join(', ')}\n`)
    process.stdout.write('  Containers:\n')
    for (const c of spec.template.spec.containers ?? []) {
      process.stdout.write(`   ${String(c.name)}:\n`)
      const cmd = [...((c.command as string[] | undefined) ?? []), ...((c.args as string[] | undefined) ?? [])]
      if (cmd.length) process.stdout.write(`    Command:  ${cmd.join(' ')}\n`)
    }
  }
  if (kind === 'StatefulSet') {
    const claims = (spec.volumeClaimTemplates as Array<{ metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } } } }> | undefined) ?? []
    if (!claims.length) process.stdout.write('Volume Claims:  <none>\n')
    else process.stdout.write('Volume Claims:\n')
    for (const c of claims) {
      for (const [k, v] of [['Name', c.metadata.name], ['StorageClass', c.spec.storageClassName ?? ''], ['Labels', labelsText(c.metadata.labels)], ['Annotations', labelsText(c.metadata.annotations)],
        ['Capacity', c.spec.resources.requests.storage], ['Access Modes', `[${c.spec.accessModes.join(' ')}]`]] as const) {
        process.stdout.write(`  ${`${k}:`.padEnd(15)}${v}\n`)
      }
    }
  }
  if (st.conditions?.length) {
    process.stdout.write('Conditions:\n')
    printTable(st.conditions.map((c) => ({ type: `  ${c.type}`, status: c.status, reason: c.reason ?? '', message: c.message ?? '' })), [['type', '  Type'], ['status', 'Status'], ['reason', 'Reason'], ['message', 'Message']])
  }
  if (kind === 'Deployment') {
    const rss = extras.replicaSets ?? []
    const cur = (o.metadata.annotations ?? {})['deployment.kubernetes.io/revision']
    const line = (r: WorkloadObject): string => `${r.metadata.name} (${((r.status ?? {}) as { replicas?: number }).replicas ?? 0}/${(r.spec as { replicas: number }).replicas} replicas created)`
    const isNew = (r: WorkloadObject): boolean => (r.metadata.annotations ?? {})['deployment.kubernetes.io/revision'] === cur
    const old = rss.filter((r) => !isNew(r) && (((r.spec as { replicas: number }).replicas > 0) || (((r.status ?? {}) as { replicas?: number }).replicas ?? 0) > 0))
    w('OldReplicaSets', old.map(line).join(', ') || '<none>')
    w('NewReplicaSet', rss.filter(isNew).map(line).join(', ') || '<none>')
  }
  if (!events.length) {
    process.stdout.write('Events:         <none>\n')
    return
  }
  process.stdout.write('Events:\n')
  const ctl = CONTROLLERS[kind] ?? 'replicaset-controller'
  printTable([...events].sort((a, b) => Date.parse(a.lastTimestamp) - Date.parse(b.lastTimestamp)).map((e) => ({
    type: `  ${e.type}`, reason: e.reason, age: e.count > 1 ? `${kubeAge(e.lastTimestamp)} (x${e.count} over ${kubeAge(e.firstTimestamp)})` : kubeAge(e.lastTimestamp), from: ctl, message: e.message,
  })), [['type', '  Type'], ['reason', 'Reason'], ['age', 'Age'], ['from', 'From'], ['message', 'Message']])
}
