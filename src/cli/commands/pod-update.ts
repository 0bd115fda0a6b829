/** podnet pod update: a running pod's network limits, from flags or a re-applied manifest. */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import type { PodRecord } from '../../runtime/index.js'
import { printJson } from '../output.js'
import type { PodCommandHelpers, Global } from './pod.js'

interface UpdateFlags {
  file?: string
  ingressBandwidth?: string
  egressBandwidth?: string
  ingressBurst?: string
  egressBurst?: string
  networkPriority?: string
}

export function registerPodUpdate(pod: Command, { ask, common, readPod }: PodCommandHelpers): void {
  common(pod.command('update <name>').description("change a running pod's bandwidth limits and network priority in place (from flags, or -f the re-applied manifest)"))
    .option('-f, --file <file>', 'the changed manifest: only the limit annotations may differ from the running pod')
    .option('--ingress-bandwidth <bits/s>', 'kubernetes.io/ingress-bandwidth (10M, 1G; "none" removes it)')
    .option('--egress-bandwidth <bits/s>', 'kubernetes.io/egress-bandwidth')
    .option('--ingress-burst <bits>', 'podnet.io/ingress-burst')
    .option('--egress-burst <bits>', 'podnet.io/egress-burst')
    .option('--network-priority <level>', 'podnet.io/network-priority: high, normal, low or 0-7')
    .action(async (name: string, o: Global & UpdateFlags) => {
      const L = await import('../../runtime/pod-network-limits.js')
      let changes: Record<string, string | null> = {}
      const flags: Array<[keyof UpdateFlags, string]> = [
        ['ingressBandwidth', L.ANNOTATION_INGRESS_BANDWIDTH], ['egressBandwidth', L.ANNOTATION_EGRESS_BANDWIDTH],
        ['ingressBurst', L.ANNOTATION_INGRESS_BURST], ['egressBurst', L.ANNOTATION_EGRESS_BURST], ['networkPriority', L.ANNOTATION_NETWORK_PRIORITY],
      ]
      const given = flags.filter(([f]) => o[f] !== undefined)
      if (o.file !== undefined) {
        if (given.length) throw new InvalidArgumentError('--file', 'give either a manifest or the flags, not both')
        const { parseManifest } = await import('../../runtime/manifest-yaml.js')
        const text = o.file === '-' ? readFileSync(0, 'utf8') : readFileSync(o.file, 'utf8')
        const { spec } = parseManifest(text, { baseDir: o.file === '-' ? process.cwd() : dirname(resolve(o.file)) })
        if (spec.name !== name) throw new InvalidArgumentError('metadata.name', `is ${JSON.stringify(spec.name)}, not the pod ${JSON.stringify(name)}`)
        const cur = await readPod(o, name)
        changes = L.changedLimits(cur.spec as unknown as Parameters<typeof L.changedLimits>[0], spec as unknown as Parameters<typeof L.changedLimits>[1])
      } else {
        if (!given.length) throw new InvalidArgumentError('pod update', 'give -f MANIFEST or at least one of --ingress-bandwidth, --egress-bandwidth, --ingress-burst, --egress-burst, --network-priority')
        for (const [f, k] of given) changes[k] = o[f] === 'none' ? null : o[f]!
      }
      const rec = Object.keys(changes).length ? await ask<PodRecord>(o, { op: 'update', name, annotations: changes }) : await readPod(o, name)
      if (o.json) printJson(rec)
      else {
        const b = rec.spec.bandwidth
        const rate = (l?: { rateBitsPerSec: number }): string => (l ? `${+(l.rateBitsPerSec / 1e6).toFixed(3)}M` : '-')
        const { formatPriority, DEFAULT_PRIORITY } = await import('../../bridge/priority-levels.js')
        process.stdout.write(`pod ${name}: ${Object.keys(changes).length ? 'updated' : 'no change'}; ingress ${rate(b?.ingress)} egress ${rate(b?.egress)} priority ${formatPriority(rec.spec.networkPriority ?? DEFAULT_PRIORITY)}\n`)
      }
    })
}
