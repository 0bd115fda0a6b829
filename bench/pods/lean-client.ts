/**
 * A what-if, not podnet's CLI: the least a node client of today's supervisor has to do for
 * `pod run -d -f FILE`. It imports node built-ins only (no podnet module, no commander, no
 * bundle), reads the file, sends the same one request the CLI sends, `{op: 'run-manifest', text,
 * baseDir}`, over <state>/supervisor.sock (no supervisor start: it needs a running one) and prints
 * what the CLI prints. The pod-start bench runs it beside the CLI: the gap between the two is
 * what the CLI costs beyond node's own start and the request.
 *
 *   PODNET_STATE_DIR=DIR node dist/bench/pods/lean-client.js FILE
 */
import { readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname, join, resolve } from 'node:path'

interface Answer {
  ok: boolean
  result?: { record: { name: string; phase: string; sandbox: { ips: string[] } }; warnings: string[] }
  error?: { message: string }
}

const file = process.argv[2] ?? ''
const text = readFileSync(file, 'utf8')
const sock = createConnection(join(process.env.PODNET_STATE_DIR ?? '/var/lib/podnet', 'supervisor.sock'))
let buf = ''
sock.setEncoding('utf8')
sock.on('connect', () => sock.write(`${JSON.stringify({ op: 'run-manifest', text, baseDir: dirname(resolve(file)) })}\n`))
sock.on('data', (d: string) => { buf += d })
sock.on('error', (err) => { process.stderr.write(`lean client: ${err.message}\n`); process.exitCode = 1 })
sock.on('end', () => {
  const res = JSON.parse(buf) as Answer
  if (!res.ok || !res.result) {
    process.stderr.write(`podnet: ${res.error?.message ?? 'error'}\n`)
    process.exitCode = 1
    return
  }
  for (const w of res.result.warnings) process.stderr.write(`podnet: warning: ${w}\n`)
  const rec = res.result.record
  process.stdout.write(`pod ${rec.name} ${rec.phase.toLowerCase()}${rec.sandbox.ips.length ? `, ip ${rec.sandbox.ips.join(', ')}` : ''}\n`)
})
