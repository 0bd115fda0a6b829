/**
 * Where the cgroup controllers podnet uses (cpu, memory, pids for limits; cpuacct and io for
 * statistics) live, read from
 * /proc/self/mountinfo: cgroup v1 hierarchies (one mount per controller set, e.g.
 * /sys/fs/cgroup/memory), the cgroup v2 unified hierarchy, or a mix ("hybrid": this kind of
 * machine has every controller on v1 and a cgroup2 mount at /sys/fs/cgroup/unified that owns
 * only hugetlb). A controller is taken from v2 when the v2 root offers it, else from v1.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export type ControllerName = 'cpu' | 'memory' | 'pids' | 'cpuacct' | 'io'
export const CONTROLLERS: readonly ControllerName[] = ['cpu', 'memory', 'pids', 'cpuacct', 'io']

/**
 * A controller's name in each version: CPU time is cpuacct's on v1 and cpu's (cpu.stat) on v2;
 * disk I/O is blkio on v1 and io on v2.
 */
const V1_NAME: Record<ControllerName, string> = { cpu: 'cpu', memory: 'memory', pids: 'pids', cpuacct: 'cpuacct', io: 'blkio' }
const V2_NAME: Record<ControllerName, string> = { cpu: 'cpu', memory: 'memory', pids: 'pids', cpuacct: 'cpu', io: 'io' }

export interface Hierarchy {
  version: 1 | 2
  /** Mount point of the hierarchy's root. */
  mount: string
  /** Controllers bound to it (v2: those its root offers in cgroup.controllers). */
  controllers: string[]
}

export interface CgroupLayout {
  /** The hierarchies podnet puts containers in (at least one when any is mounted). */
  hierarchies: Hierarchy[]
  /** Which hierarchy serves each controller, when one does. */
  byController: Partial<Record<ControllerName, Hierarchy>>
}

/** Unescapes mountinfo's octal escapes (\040 for a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))

/** Parses mountinfo text into the cgroup layout; readControllers reads a v2 root's cgroup.controllers. */
export function parseCgroupLayout(mountinfo: string, readControllers: (mount: string) => string[]): CgroupLayout {
  const v1: Hierarchy[] = []
  const v2: Hierarchy[] = []
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const right = line.slice(sep + 3).split(' ')
    const root = left[3]
    const mount = left[4]
    const fstype = right[0]
    if (mount === undefined || root !== '/') continue // a bind mount of a sub-cgroup: not a root
    if (fstype === 'cgroup') {
      const opts = (right[2] ?? '').split(',')
      const controllers = opts.filter((o) => ['cpu', 'cpuacct', 'memory', 'pids', 'cpuset', 'blkio', 'devices', 'freezer', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc'].includes(o))
      if (controllers.length && !v1.some((h) => h.controllers.join() === controllers.join())) v1.push({ version: 1, mount: unescape(mount), controllers })
    } else if (fstype === 'cgroup2') {
      if (!v2.length) {
        const m = unescape(mount)
        v2.push({ version: 2, mount: m, controllers: readControllers(m) })
      }
    }
  }
  const byController: CgroupLayout['byController'] = {}
  for (const c of CONTROLLERS) {
    const h = v2.find((x) => x.controllers.includes(V2_NAME[c])) ?? v1.find((x) => x.controllers.includes(V1_NAME[c]))
    if (h) byController[c] = h
  }
  const hierarchies = [...new Set(Object.values(byController))]
  // nothing we use is mounted but v2 is: still track processes there
  if (!hierarchies.length && v2[0]) hierarchies.push(v2[0])
  return { hierarchies, byController }
}

/** The layout of this machine, as seen from this process's mount namespace. */
export function detectCgroupLayout(): CgroupLayout {
  return parseCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'), (mount) => {
    try {
      return readFileSync(join(mount, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
    } catch {
      return []
    }
  })
}
