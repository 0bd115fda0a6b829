/** podnet topology: everything podnet can see from the host, as a tree, JSON, DOT or SVG (docs/topology.md). */
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'
import { printJson } from '../output.js'

const FORMATS = ['text', 'json', 'dot', 'svg'] as const

/** Writes to a file (atomically enough for a picture: one write) or stdout. */
export function writeOutput(text: string, file: string | undefined): void {
  if (file === undefined || file === '-') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  else writeFileSync(file, text)
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

export function registerTopology(program: Command): void {
  program.command('topology').description('namespaces, links, bridges, veth pairs, VXLAN peers, podnet networks, published ports and pods, as one graph')
    .option('--netns <ns>', "only this namespace (a name under /run/netns, a pod's name, or host); repeatable", collect)
    .option('--format <format>', 'text (default), json, dot or svg')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--ascii', 'text: ASCII instead of box drawing')
    .option('--state-dir <dir>', 'persistent state (default $PODNET_STATE_DIR or /var/lib/podnet)')
    .option('--run-dir <dir>', 'volatile state (default $PODNET_RUN_DIR, <state-dir>/run or /run/podnet)')
    .option('--host-netns <ns>', 'the named namespace that plays the host (default: the current one)')
    .option('--json', 'the same as --format json')
    .action(async (o: { netns?: string[]; format?: string; output?: string; ascii?: boolean; stateDir?: string; runDir?: string; hostNetns?: string; json?: boolean }) => {
      const format = o.format ?? (o.json ? 'json' : 'text')
      if (!(FORMATS as readonly string[]).includes(format)) throw new InvalidArgumentError('--format', `must be ${FORMATS.join(', ')}, not '${format}'`)
      const [{ collectTopology, renderText, topologyDot }, { dirsFromEnv }] = await Promise.all([import('../../topology/index.js'), import('../../state/dirs.js')])
      const g = await collectTopology({
        ...dirsFromEnv({ ...(o.stateDir && { stateDir: o.stateDir }), ...(o.runDir && { runDir: o.runDir }) }),
        ...(o.hostNetns && { hostNetns: o.hostNetns }), ...(o.netns && { netns: o.netns }),
      })
      if (format === 'json') {
        if (o.output) writeOutput(`${JSON.stringify(g, null, 2)}\n`, o.output)
        else printJson(g)
      } else if (format === 'text') writeOutput(renderText(g, { ascii: o.ascii === true }), o.output)
      else {
        const dot = topologyDot(g)
        if (format === 'dot') writeOutput(dot, o.output)
        else {
          const { renderSvg } = await import('../../topology/svg.js')
          writeOutput(await renderSvg(dot), o.output)
        }
      }
    })
}
