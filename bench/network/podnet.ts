/**
 * podnet's side of the pod lifecycle bench: one process, one NetworkManager acting in the bench's
 * host namespace. Per pod: Netns.create + attach (IPAM, veth, addresses, routes, one published
 * port; masquerade is the network's). Then the teardown of the run:
 *   remove  detach({netnsGoing: true}) + Netns.remove, per pod (podnet's pod removal)
 *   detach  plain detach (deletes the veth: one kernel RCU wait) + Netns.remove, per pod
 *   gc      Netns.remove of every pod without a detach, then one gc() for all the leftovers
 *   none    nothing (the orchestrator cleans up; used under node --cpu-prof for the attach loop)
 * Prints one PodRun JSON line.
 *
 *   node dist/bench/network/podnet.js '{"hostNetns":"...","stateDir":"...","runDir":"...","n":200,"teardown":"remove","prefix":"p"}'
 */
import { NetworkManager } from '../../src/bridge/index.js'
import { Netns } from '../../src/netns/index.js'
import { assertSandboxed } from '../../src/testing/guard.js'
import { Breakdown } from './breakdown.js'
import { nowMs, sleep, type PodRun } from './lib.js'

export interface PodnetArgs {
  hostNetns: string
  stateDir: string
  runDir: string
  n: number
  teardown: 'remove' | 'detach' | 'gc' | 'none'
  prefix: string
  subnet: string
  hostPortBase: number
  /** Wrap podnet's kernel/file entry points and report where each ADD's time went (bench/network/breakdown.ts). */
  breakdown?: boolean
}

const NETWORK = 'bench'

async function main(): Promise<void> {
  assertSandboxed()
  const a = JSON.parse(process.argv[2] ?? '{}') as PodnetArgs
  const mgr = new NetworkManager({ hostNetns: a.hostNetns, stateDir: a.stateDir, runDir: a.runDir })
  const names = Array.from({ length: a.n }, (_, i) => `${a.prefix}${i + 1}`)
  const res: PodRun = { tool: 'podnet', n: a.n, add: [], del: [], teardown: a.teardown, procsPerAdd: 0 }
  const bd = a.breakdown ? new Breakdown() : undefined
  bd?.install()
  try {
    let t = nowMs()
    const config = await mgr.create({ name: NETWORK, subnets: [a.subnet] })
    res.setupMs = nowMs() - t

    const netnsMs: number[] = []
    res.netnsMs = netnsMs
    let cpu = process.cpuUsage()
    for (let i = 0; i < a.n; i++) {
      const name = names[i]!
      bd?.setPod(i)
      const t0 = nowMs()
      Netns.create(name).close()
      netnsMs.push(nowMs() - t0)
      await mgr.attach({ network: NETWORK, netns: name, id: name, portMappings: [{ hostPort: a.hostPortBase + i, containerPort: 80, protocol: 'tcp' }] })
      res.add.push(nowMs() - t0)
    }
    let c = process.cpuUsage(cpu)
    res.addCpuMs = (c.user + c.system) / 1000
    bd?.setPod(-1)
    if (bd) res.breakdown = bd.rows(res.add)
    if (a.teardown === 'none') return

    const waitForKernel = async (): Promise<number> => {
      // the kernel destroys namespaces (and the veths in them) asynchronously: wait until every
      // pod veth has left the bridge, so the next step starts on a quiet kernel; say how long
      const t1 = nowMs()
      while (mgr.rt.link.listSync({ master: config.bridge }).length > 0) {
        if (nowMs() - t1 > 120_000) throw new Error('pod veths still on the bridge after 120 s')
        await sleep(20)
      }
      return nowMs() - t1
    }
    cpu = process.cpuUsage()
    if (a.teardown === 'gc') {
      // Leftovers: pods whose namespace went away without a detach (a crashed runtime). gc runs
      // once the kernel has destroyed their veths. (gc while those veths are dying fails with
      // ENODEV from `RTM_DELLINK group` when the kernel wins the race: see docs/benchmarks.md.)
      t = nowMs()
      for (const name of names) Netns.remove(name)
      const removeAll = nowMs() - t
      res.settleMs = await waitForKernel()
      cpu = process.cpuUsage()
      t = nowMs()
      const report = await mgr.gc()
      res.gcMs = nowMs() - t
      res.notes = [
        `Netns.remove of ${a.n} namespaces: ${removeAll.toFixed(0)} ms; the kernel destroyed them in ${res.settleMs.toFixed(0)} ms`,
        `gc removed ${report.removedAttachments.length} attachments, ${report.removedVeths.length} veths, ` +
          `${report.releasedAddresses.length} stray addresses, ${report.removedRules.length} stray rules, ${report.removedPorts.length} port claims`,
      ]
      if (report.removedAttachments.length !== a.n) throw new Error(`gc removed ${report.removedAttachments.length} attachments, expected ${a.n}`)
      c = process.cpuUsage(cpu)
      res.delCpuMs = (c.user + c.system) / 1000
    } else {
      for (const name of names) {
        const t0 = nowMs()
        const r = await mgr.detach({ network: NETWORK, id: name, ...(a.teardown === 'remove' && { netnsGoing: true }) })
        Netns.remove(name)
        res.del.push(nowMs() - t0)
        if (!r.detached) throw new Error(`detach ${name}: ${r.reason ?? '?'}`)
      }
      c = process.cpuUsage(cpu)
      res.delCpuMs = (c.user + c.system) / 1000
      res.settleMs = await waitForKernel()
    }
    await mgr.remove(NETWORK)
  } finally {
    mgr.close()
    process.stdout.write(`${JSON.stringify(res)}\n`)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`podnet bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
