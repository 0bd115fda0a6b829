/**
 * A what-if, not podnet's CLI: the least a node client of today's supervisor has to do for
 * `pod run -d -f FILE`. It loads only the manifest parser (yaml + manifest validation) and the
 * pod store's paths, sends the same `run` request the CLI sends over <state>/supervisor.sock
 * (one JSON line; no ping first: it needs a running supervisor) and prints what the CLI prints.
 * The pod-start bench runs it beside the CLI to show what a client without the runtime's
 * netlink/nf_tables/bridge modules, commander and the other commands would cost.
 *
 *   PODNET_STATE_DIR=DIR node dist/bench/pods/lean-client.js FILE
 */
import { readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname, resolve } from 'node:path'
import { parseManifest } from '../../src/runtime/manifest-yaml.js'
import { PodStore } from '../../src/runtime/state-store.js'
import type { PodRecord } from '../../src/runtime/types.js'

const file = process.argv[2] ?? ''
const { spec } = parseManifest(readFileSync(file, 'utf8'), { baseDir: dirname(resolve(file)) })
const store = new PodStore(process.env.PODNET_STATE_DIR)
const sock = createConnection(store.socketPath())
let buf = ''
sock.setEncoding('utf8')
sock.on('connect', () => sock.write(`${JSON.stringify({ op: 'run', spec })}\n`))
sock.on('data', (d: string) => { buf += d })
sock.on('error', (err) => { process.stderr.write(`lean client: ${err.message}\n`); process.exitCode = 1 })
sock.on('end', () => {
  const res = JSON.parse(buf) as { ok: boolean; result?: PodRecord; error?: { message: string } }
  if (!res.ok || !res.result) {
    process.stderr.write(`podnet: ${res.error?.message ?? 'error'}\n`)
    process.exitCode = 1
    return
  }
  const rec = res.result
  process.stdout.write(`pod ${rec.name} running${rec.sandbox.ips.length ? `, ip ${rec.sandbox.ips.join(', ')}` : ''}\n`)
})
