/** podnet qos uplink add | rm | apply, podnet qos show: the uplinks pod priorities share (src/bridge/priority.ts). */
import type { Command } from 'commander'
import type { NetworkManager } from '../../bridge/index.js'
import { printJson, printTable } from '../output.js'

interface Global { stateDir?: string; runDir?: string; hostNetns?: string; json?: boolean }

async function withManager<T>(o: Global, fn: (m: NetworkManager) => Promise<T>): Promise<T> {
  const { NetworkManager } = await import('../../bridge/index.js')
  const m = new NetworkManager({ ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }), ...(o.hostNetns && { hostNetns: o.hostNetns }) })
  try {
    return await fn(m)
  } finally {
    m.close()
  }
}

function common(c: Command): Command {
  return c.option('--state-dir <dir>', 'persistent state (default $PODNET_STATE_DIR or /var/lib/podnet)')
    .option('--run-dir <dir>', 'volatile state (default $PODNET_RUN_DIR, <state-dir>/run or /run/podnet)')
    .option('--host-netns <ns>', 'the named namespace that plays the host (default: the current one)')
    .option('--json', 'JSON output')
}

const mbit = (bits: number): string => `${+(bits / 1e6).toFixed(3)}Mbit`

export function registerQos(program: Command): void {
  const qos = program.command('qos').description('traffic priority: the uplinks where podnet.io/network-priority takes effect')
  const uplink = qos.command('uplink').description('uplinks: devices whose capacity the priority levels share')

  common(uplink.command('add <dev>').description('record an uplink and put the priority htb tree on it (replaces its root qdisc)'))
    .requiredOption('--rate <bits/s>', "the uplink's capacity, a Kubernetes quantity (100M, 1G): what the levels divide")
    .action(async (dev: string, o: Global & { rate: string }) => {
      const { parseBitRate } = await import('../../runtime/quantity.js')
      const rate = parseBitRate(o.rate, '--rate')
      const { addUplink } = await import('../../bridge/index.js')
      await withManager(o, async (m) => {
        const st = await addUplink(m, { dev, rateBitsPerSec: rate })
        if (o.json) printJson(st)
        else process.stdout.write(`uplink ${dev}: ${mbit(rate)}, ${st.classes.length} priority classes\n`)
      })
    })

  common(uplink.command('rm <dev>').alias('remove').description('forget an uplink and take the htb tree off it'))
    .action(async (dev: string, o: Global) => {
      const { deleteUplink } = await import('../../bridge/index.js')
      await withManager(o, async (m) => {
        const removed = await deleteUplink(m, dev)
        if (o.json) printJson({ dev, removed })
        else process.stdout.write(removed ? `removed uplink ${dev}\n` : `${dev} is not a recorded uplink\n`)
      })
    })

  common(uplink.command('apply').description('put back the htb tree of every recorded uplink that lacks it (after a reboot)'))
    .action(async (o: Global) => {
      const { ensureUplinks } = await import('../../bridge/priority.js')
      await withManager(o, async (m) => {
        const done = await m.state.locked(() => ensureUplinks(m.rt, m.state))
        if (o.json) printJson({ applied: done })
        else process.stdout.write(done.length ? `applied ${done.join(', ')}\n` : 'every recorded uplink is in place\n')
      })
    })

  common(qos.command('show').alias('ls').description('recorded uplinks with bytes per priority level, and the prioritized pod addresses'))
    .action(async (o: Global) => {
      const { readUplinks, uplinkState, listPriorityElements, formatPriority } = await import('../../bridge/priority.js')
      await withManager(o, async (m) => {
        const uplinks = readUplinks(m.state).map((u) => uplinkState(m.rt, u))
        const marks = (await listPriorityElements(m.nft)).map((e) => ({ address: e.key, level: (e.classid & 0xffff) - 0x10, owner: e.comment }))
        if (o.json) {
          printJson({ uplinks, marks })
          return
        }
        if (!uplinks.length) process.stdout.write('no uplinks recorded (podnet qos uplink add DEV --rate R): priorities have no effect\n')
        for (const u of uplinks) {
          process.stdout.write(`uplink ${u.dev} ${mbit(u.rateBitsPerSec)}${u.applied ? '' : ' (htb tree missing: podnet qos uplink apply)'}\n`)
          printTable(u.classes.map((c) => ({ level: formatPriority(c.level), classid: c.classid, bytes: String(c.bytes), packets: String(c.packets), drops: String(c.drops) })),
            [['level', 'LEVEL'], ['classid', 'CLASS'], ['bytes', 'BYTES'], ['packets', 'PACKETS'], ['drops', 'DROPS']])
        }
        if (marks.length) {
          process.stdout.write('\n')
          printTable(marks.map((x) => ({ address: x.address, level: formatPriority(x.level), owner: x.owner })), [['address', 'ADDRESS'], ['level', 'LEVEL'], ['owner', 'OWNER']])
        }
      })
    })
}
