/**
 * A simulated reboot of a "machine" inside the test sandbox: what a real reboot does to podnet's
 * world, its state dirs kept:
 *
 * - every process of the machine dies (SIGKILL): the pods' (by their cgroups under the cgroup
 *   parents), the launchers, supervisors and agents (their command lines name one of its dirs),
 *   and whatever runs in its host namespace or in a namespace pinned under a run dir;
 * - every mount under a run dir goes, then the run dirs themselves (a fresh /run has none; a
 *   run dir on disk keeps its files, which describe the old boot);
 * - each host network namespace is replaced by a fresh one of the same name: no bridge, no
 *   address, no nf_tables table, default sysctls (with a Topology, its uplink to the upstream
 *   namespace, the machine's NIC, is made again, addresses and all);
 * - the pods' cgroup directories go (a fresh cgroup tree has none);
 * - the machine gets a new boot id: pass it as PODNET_TEST_BOOT_ID to the commands of the new
 *   boot (the supervisor reads it instead of /proc/sys/kernel/random/boot_id).
 *
 * Only what the test made is touched: dirs, cgroups and namespaces it names. The machine's own
 * boot id, /run and cgroups are never changed.
 */
import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Netns } from '../../src/netns/index.js'
import { Rtnl } from '../../src/netlink/route/index.js'
import { MNT_DETACH } from '../../src/sys/constants.js'
import { umount2 } from '../../src/sys/syscall.js'
import { openTempNetns, UPSTREAM, type Topology } from '../../src/testing/index.js'
import { detectCgroupLayout } from '../../src/runtime/index.js'

export interface Machine {
  /** Persistent state: kept. */
  stateDirs: string[]
  /** Volatile state: gone after the reboot. */
  runDirs: string[]
  /** cgroup directories (below each hierarchy's root) that hold the machine's pods. */
  cgroupParents: string[]
  /** Named namespaces that play the host: replaced by fresh ones of the same name. */
  hostNetns: string[]
  /** Named namespaces that simply go (pod namespaces a test made by hand). */
  dropNetns?: string[]
  /**
   * The run dirs are on disk (`--state-dir DIR` alone puts them in DIR/run): their mounts go,
   * their files stay, describing the old boot (default: tmpfs, so they go).
   */
  runDirsOnDisk?: boolean
}

export interface RebootResult {
  /** The new boot's id (PODNET_TEST_BOOT_ID). */
  bootId: string
  /** The processes that were killed. */
  killed: number[]
}

/** Reboots `m` (see the file comment). The host namespaces come back empty (loopback up). */
export async function reboot(m: Machine): Promise<RebootResult> {
  const killed = await killMachine(m)
  for (const dir of m.runDirs) clearDir(dir, m.runDirsOnDisk === true)
  for (const name of [...m.hostNetns, ...(m.dropNetns ?? [])]) {
    try { Netns.remove(name) } catch { /* gone */ }
  }
  for (const name of m.hostNetns) {
    const ns = Netns.create(name)
    const rt = Rtnl.open({ netns: ns })
    try { rt.link.setSync('lo', { up: true }) } finally { rt.close(); ns.close() }
  }
  for (const parent of m.cgroupParents) await removeCgroups(parent)
  return { bootId: randomUUID(), killed }
}

/**
 * Reboots a Topology's machine: its state dir kept, its run dir gone, its host namespace fresh
 * with the uplink to the upstream namespace made again (topo.host is replaced by a handle on the
 * new namespace, same name; topo.close() closes it).
 */
export async function rebootTopology(topo: Topology, extra: Partial<Machine> = {}): Promise<RebootResult> {
  const name = topo.host.name
  topo.host.close()
  const r = await reboot({
    stateDirs: [topo.stateDir, ...(extra.stateDirs ?? [])], runDirs: [topo.runDir, ...(extra.runDirs ?? [])],
    cgroupParents: extra.cgroupParents ?? [], hostNetns: [name, ...(extra.hostNetns ?? [])], dropNetns: extra.dropNetns ?? [],
    ...(extra.runDirsOnDisk !== undefined && { runDirsOnDisk: extra.runDirsOnDisk }),
  })
  // the old namespace is cleaned up by the kernel a moment later: the upstream end of its uplink goes now
  try { topo.upstream.rt.link.delSync('eth0') } catch { /* gone with the old namespace */ }
  const host = openTempNetns(name)
  host.rt.link.addSync({ kind: 'veth', name: 'up0', up: true, peer: { name: 'eth0', netns: topo.upstream.ns, up: true } })
  host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV4}/24`, dev: 'up0' })
  host.rt.addr.addSync({ cidr: `${UPSTREAM.hostV6}/64`, dev: 'up0', nodad: true })
  topo.upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV4}/24`, dev: 'eth0' })
  topo.upstream.rt.addr.addSync({ cidr: `${UPSTREAM.upstreamV6}/64`, dev: 'eth0', nodad: true })
  const close = topo.close.bind(topo)
  topo.host = host
  topo.close = () => {
    host.close()
    close()
  }
  return r
}

/** SIGKILLs every process of the machine until none is left (a supervisor may start one meanwhile). */
async function killMachine(m: Machine): Promise<number[]> {
  const killed = new Set<number>()
  for (let round = 0; round < 100; round++) {
    const pids = machineProcesses(m)
    if (!pids.length) return [...killed]
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
        killed.add(pid)
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`reboot: processes ${machineProcesses(m).join(', ')} survive SIGKILL`)
}

/** Live (not zombie) processes of the machine, never this process or its ancestors. */
export function machineProcesses(m: Machine): number[] {
  const spare = ancestors()
  const dirs = [...m.stateDirs, ...m.runDirs]
  const nsInodes = new Set<number>()
  for (const name of m.hostNetns) {
    try { nsInodes.add(statSync(join('/run/netns', name)).ino) } catch { /* none */ }
  }
  for (const mp of mountsUnder(m.runDirs)) {
    try { nsInodes.add(statSync(mp).ino) } catch { /* not a pin */ }
  }
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    const pid = Number(e)
    if (spare.has(pid)) continue
    try {
      if (/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) continue
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      let netIno: number | undefined
      try { netIno = statSync(`/proc/${pid}/ns/net`).ino } catch { /* kernel thread */ }
      const mine = dirs.some((d) => cmdline.includes(d))
        || m.cgroupParents.some((p) => cgroups.split('\n').some((l) => l.includes(`/${p}/`) || l.endsWith(`/${p}`)))
        || (netIno !== undefined && nsInodes.has(netIno))
      if (mine) out.push(pid)
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** This process and its ancestors (never killed). */
function ancestors(): Set<number> {
  const out = new Set<number>([process.pid])
  let pid = process.pid
  for (let i = 0; i < 64 && pid > 1; i++) {
    try {
      pid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 1)
    } catch {
      break
    }
    out.add(pid)
  }
  return out
}

/** Mount points at or under any of `dirs`, deepest first. */
function mountsUnder(dirs: string[]): string[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4]).filter((p): p is string => p !== undefined).map(unescape)
    .filter((p) => dirs.some((d) => p === d || p.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length)
}

/** Unmounts everything at or under dir (lazily), then removes it (unless its files are on disk). */
function clearDir(dir: string, keepFiles: boolean): void {
  for (let i = 0; i < 10; i++) {
    const mps = mountsUnder([dir])
    if (!mps.length) break
    for (const mp of mps) {
      try { umount2(mp, MNT_DETACH) } catch { /* gone */ }
    }
  }
  if (!keepFiles) rmSync(dir, { recursive: true, force: true })
}

/** Removes a cgroup directory tree (its processes are dead) in every hierarchy. */
async function removeCgroups(rel: string): Promise<void> {
  for (const h of detectCgroupLayout().hierarchies) {
    const walk = async (dir: string): Promise<void> => {
      let entries: string[] = []
      try { entries = readdirSync(dir) } catch { return }
      for (const e of entries) if (statSync(join(dir, e)).isDirectory()) await walk(join(dir, e))
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(dir)
          return
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
          await new Promise((r) => setTimeout(r, 20)) // a killed process leaves its cgroup a moment later
        }
      }
    }
    const top = join(h.mount, rel)
    if (existsSync(top)) await walk(top)
  }
}
