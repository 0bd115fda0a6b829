/**
 * Workload objects and their events in the state dir (they survive reboots, as the objects of
 * Kubernetes' etcd do):
 *   workloads/<plural>/<name>.json          the object: metadata, spec, status
 *   workloads/events/<plural>.<name>.json   its last 50 events, aggregated by reason and message
 * Every write is atomic and durable (src/state/files.ts); the supervisor is the only writer
 * (the state dir's supervisor lock makes it one per state dir), and `podnet get` and `describe`
 * read the files directly.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { DamagedRecordError } from '../errors.js'
import { listDir, readJson, resolveDirs, writeJsonAtomic, type DirOptions } from '../state/index.js'
import { KINDS, type WorkloadEvent, type WorkloadKind, type WorkloadObject } from './types.js'

/** Events kept per object. */
export const EVENTS_KEPT = 50

export class WorkloadStore {
  readonly root: string

  constructor(dirs: DirOptions = {}) {
    this.root = join(resolveDirs(dirs).stateDir, 'workloads')
  }

  objectPath(kind: WorkloadKind, name: string): string { return join(this.root, KINDS[kind].plural, `${name}.json`) }
  eventsPath(kind: WorkloadKind, name: string): string { return join(this.root, 'events', `${KINDS[kind].plural}.${name}.json`) }

  read<T extends WorkloadObject>(kind: WorkloadKind, name: string): T | undefined {
    return readJson<T>(this.objectPath(kind, name))
  }

  /** Every object of a kind, sorted by name; damaged records are reported through `onDamaged` and skipped. */
  list<T extends WorkloadObject>(kind: WorkloadKind, onDamaged?: (err: DamagedRecordError) => void): T[] {
    return listDir(join(this.root, KINDS[kind].plural)).filter((f) => f.endsWith('.json')).flatMap((f) => {
      try {
        const o = readJson<T>(join(this.root, KINDS[kind].plural, f))
        return o ? [o] : []
      } catch (err) {
        if (err instanceof DamagedRecordError && onDamaged) {
          onDamaged(err)
          return []
        }
        throw err
      }
    })
  }

  write(o: WorkloadObject): void {
    writeJsonAtomic(this.objectPath(o.kind, o.metadata.name), o)
  }

  remove(kind: WorkloadKind, name: string): void {
    rmSync(this.objectPath(kind, name), { force: true })
    rmSync(this.eventsPath(kind, name), { force: true })
  }

  events(kind: WorkloadKind, name: string): WorkloadEvent[] {
    try {
      return readJson<WorkloadEvent[]>(this.eventsPath(kind, name)) ?? []
    } catch (err) {
      if (err instanceof DamagedRecordError) return []
      throw err
    }
  }

  /** Records an event: a repeat of the last one with the same reason and message counts up. */
  addEvent(kind: WorkloadKind, name: string, e: Omit<WorkloadEvent, 'count' | 'firstTimestamp' | 'lastTimestamp'>, at = new Date().toISOString()): WorkloadEvent {
    const list = this.events(kind, name)
    const same = list.find((x) => x.reason === e.reason && x.message === e.message && x.type === e.type)
    let ev: WorkloadEvent
    if (same) {
      same.count++
      same.lastTimestamp = at
      list.splice(list.indexOf(same), 1)
      list.push(same)
      ev = same
    } else {
      ev = { ...e, count: 1, firstTimestamp: at, lastTimestamp: at }
      list.push(ev)
    }
    writeJsonAtomic(this.eventsPath(kind, name), list.slice(-EVENTS_KEPT))
    return ev
  }
}
