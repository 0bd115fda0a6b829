/**
 * One podnet cgroup: the same relative path (PARENT/POD/LEAF) in every hierarchy podnet uses.
 * Containers join by writing to the cgroup.procs files (the launcher does, before exec).
 * On v2, the controllers are enabled in cgroup.subtree_control down the path.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PodnetError } from '../../errors.js'
import type { CgroupLayout, ControllerName, Hierarchy } from './detect.js'
import { oomKillCount, writeCpuLimit, writeMemoryLimit, type Limits } from './limits.js'

export class Cgroup {
  readonly layout: CgroupLayout
  /** Path below each hierarchy's root, e.g. "podnet/web/nginx". */
  readonly path: string

  constructor(layout: CgroupLayout, path: string) {
    this.layout = layout
    this.path = path
  }

  /** The directory of this cgroup in one hierarchy. */
  dir(h: Hierarchy): string {
    return join(h.mount, this.path)
  }

  /** The directories in every hierarchy. */
  dirs(): string[] {
    return this.layout.hierarchies.map((h) => this.dir(h))
  }

  /** The cgroup.procs files a process writes "0" to in order to join. */
  procsFiles(): string[] {
    return this.dirs().map((d) => join(d, 'cgroup.procs'))
  }

  /** Throws when a limit needs a controller no hierarchy serves. */
  static checkLimits(layout: CgroupLayout, limits: Limits, field: string): void {
    const need: Array<[ControllerName, string]> = []
    if (limits.cpuMillis !== undefined) need.push(['cpu', 'cpu'])
    if (limits.memoryBytes !== undefined) need.push(['memory', 'memory'])
    for (const [c, f] of need) {
      if (!layout.byController[c]) throw new PodnetError(`${field}.${f}: no ${c} cgroup controller is mounted on this machine (cgroup v1 or v2)`)
    }
  }

  /** Creates the directories (and parents) and writes the limits. */
  create(limits: Limits = {}): void {
    for (const h of this.layout.hierarchies) {
      if (h.version === 2) this.enableV2Controllers(h)
      mkdirSync(this.dir(h), { recursive: true })
    }
    const cpu = this.layout.byController.cpu
    const mem = this.layout.byController.memory
    if (limits.cpuMillis !== undefined && cpu) writeCpuLimit(cpu.version, this.dir(cpu), limits.cpuMillis)
    if (limits.memoryBytes !== undefined && mem) writeMemoryLimit(mem.version, this.dir(mem), limits.memoryBytes)
  }

  /** v2: every ancestor must delegate the controllers to its children. */
  private enableV2Controllers(h: Hierarchy): void {
    const wanted = (['cpu', 'memory', 'pids', 'io'] as const).filter((c) => this.layout.byController[c] === h)
    if (!wanted.length) return
    const parts = this.path.split('/')
    let dir = h.mount
    for (let i = 0; i < parts.length; i++) {
      const ctl = join(dir, 'cgroup.subtree_control')
      const have = readFileSync(ctl, 'utf8').trim().split(/\s+/)
      const add = wanted.filter((c) => !have.includes(c))
      if (add.length) {
        try {
          writeFileSync(ctl, add.map((c) => `+${c}`).join(' '))
        } catch (err) {
          throw new PodnetError(`cannot enable ${add.join(', ')} in ${ctl}: ${(err as Error).message}`, { cause: err })
        }
      }
      dir = join(dir, parts[i]!)
      if (i < parts.length - 1) mkdirSync(dir, { recursive: true })
    }
  }

  /** Moves a process in (the pause: started by Node, so it cannot join by itself before exec). */
  addProcess(pid: number): void {
    for (const f of this.procsFiles()) writeFileSync(f, String(pid))
  }

  /** Pids in this cgroup (from the first hierarchy; [] when it does not exist). */
  pids(): number[] {
    const d = this.dirs()[0]
    if (!d) return []
    try {
      return readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
    } catch {
      return []
    }
  }

  /** Sends sig to every process in the cgroup (v2: cgroup.kill for SIGKILL). Returns how many were signalled. */
  kill(sig: NodeJS.Signals = 'SIGKILL'): number {
    const v2 = this.layout.hierarchies.find((h) => h.version === 2)
    if (sig === 'SIGKILL' && v2 && existsSync(join(this.dir(v2), 'cgroup.kill'))) {
      const n = this.pids().length
      writeFileSync(join(this.dir(v2), 'cgroup.kill'), '1')
      return n
    }
    let n = 0
    for (const pid of this.pids()) {
      try {
        process.kill(pid, sig)
        n++
      } catch {
        // already gone
      }
    }
    return n
  }

  /** OOM kills recorded for this cgroup. */
  oomKills(): number {
    const mem = this.layout.byController.memory
    return mem ? oomKillCount(mem.version, this.dir(mem)) : 0
  }

  /** The memory hierarchy directory, if any (for reading counters). */
  memoryDir(): { version: 1 | 2; dir: string } | undefined {
    const mem = this.layout.byController.memory
    return mem ? { version: mem.version, dir: this.dir(mem) } : undefined
  }

  /**
   * Removes the directories (they must be empty of processes: kill first). Waits up to
   * timeoutMs for exiting processes to leave. Missing directories are fine.
   */
  async remove(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (const d of this.dirs()) {
      for (;;) {
        try {
          rmdirSync(d)
          break
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT') break
          if (code !== 'EBUSY' || Date.now() > deadline) throw new PodnetError(`cannot remove cgroup ${d}: ${(err as Error).message}`, { cause: err })
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }
  }

  /** Removes an empty directory of this path's ancestors in every hierarchy (no error when busy or gone). */
  static removeIfEmpty(layout: CgroupLayout, path: string): void {
    for (const h of layout.hierarchies) {
      try {
        rmdirSync(join(h.mount, path))
      } catch {
        // has children or processes, or already gone
      }
    }
  }
}
