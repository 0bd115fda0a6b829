/**
 * Pod input limits (limits.ts): manifest size, one execve string, a container's environment and
 * command line; hostIP 0.0.0.0 and :: as every address; the client's one-line error when the
 * supervisor goes away mid-request.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, PodnetError } from '../../../src/errors.js'
import { request } from '../../../src/runtime/client.js'
import { ARG_STRING_MAX, EXEC_ARGS_MAX, MANIFEST_MAX_BYTES, readManifestText } from '../../../src/runtime/limits.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import { PodStore } from '../../../src/runtime/state-store.js'

describe('runtime/limits', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-limits-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const doc = (container: Record<string, unknown>): unknown => ({
    metadata: { name: 'p', annotations: { 'podnet.io/rootfs': dir } },
    spec: { containers: [{ name: 'c', command: ['sh'], ...container }] },
  })
  const fails = (d: unknown, field: string, re: RegExp): void => {
    assert.throws(() => validateManifest(d), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err))
      assert.equal(err.field, field)
      assert.match(err.message, re)
      return true
    })
  }

  it('one environment variable or command string is at most MAX_ARG_STRLEN - 1 bytes (NAME=VALUE counted whole, in bytes)', () => {
    const fits = 'v'.repeat(ARG_STRING_MAX - 2)
    assert.equal(validateManifest(doc({ env: [{ name: 'A', value: fits }] })).spec.containers[0]!.env[0]!.value.length, fits.length)
    fails(doc({ env: [{ name: 'A', value: `${fits}x` }] }), 'spec.containers[0].env[0].value', /NAME=VALUE is 131072 bytes; at most 131071 bytes fit in one execve\(2\) string/)
    fails(doc({ env: [{ name: 'A', value: 'é'.repeat(70_000) }] }), 'spec.containers[0].env[0].value', /is 140002 bytes/)
    fails(doc({ args: ['ok', 'a'.repeat(ARG_STRING_MAX + 1)] }), 'spec.containers[0].args[1]', /the string is 131072 bytes/)
    fails(doc({ command: ['b'.repeat(ARG_STRING_MAX + 1)] }), 'spec.containers[0].command[0]', /131072 bytes/)
  })

  it('a container\'s environment and command line together are at most 1 MiB (300 variables are fine)', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ name: `V${i}`, value: `value-${i}` }))
    assert.equal(validateManifest(doc({ env: many })).spec.containers[0]!.env.length, 300)
    const chunk = 'c'.repeat(100_000)
    const tooMuch = Array.from({ length: 11 }, (_, i) => ({ name: `B${i}`, value: chunk }))
    fails(doc({ env: tooMuch }), 'spec.containers[0]', new RegExp(`the environment and command line take \\d+ bytes, over podnet's limit of ${EXEC_ARGS_MAX} bytes`))
    fails(doc({ env: tooMuch.slice(0, 5), args: Array.from({ length: 6 }, () => chunk) }), 'spec.containers[0]', /over podnet's limit/)
  })

  it('hostIP 0.0.0.0 and :: (any spelling) mean every address: no hostIp; other addresses are kept; junk is refused', () => {
    const port = (hostIP: string): unknown => validateManifest(doc({ ports: [{ containerPort: 80, hostPort: 8080, hostIP }] })).spec.containers[0]!.ports[0]!.hostIp
    assert.equal(port('0.0.0.0'), undefined)
    assert.equal(port('::'), undefined)
    assert.equal(port('0:0::0'), undefined)
    assert.equal(port('127.0.0.1'), '127.0.0.1')
    assert.equal(port('fd00::1'), 'fd00::1')
    fails(doc({ ports: [{ containerPort: 80, hostPort: 8080, hostIP: '1.2.3' }] }), 'spec.containers[0].ports[0].hostIP', /is not an IP address/)
    fails(doc({ ports: [{ containerPort: 80, hostPort: 8080, hostIP: ':::' }] }), 'spec.containers[0].ports[0].hostIP', /is not an IP address/)
    // every address and one address on the same port: the same port twice
    fails(doc({ ports: [{ containerPort: 80, hostPort: 8080, hostIP: '0.0.0.0' }, { containerPort: 81, hostPort: 8080 }] }), 'spec.containers[0].ports[1].hostPort', /duplicate 8080\/TCP/)
  })

  it('readManifestText refuses a file over the limit by its size, a missing file and a directory, each in one line naming --file', () => {
    const ok = join(dir, 'ok.yaml')
    writeFileSync(ok, 'metadata: {}\n')
    assert.equal(readManifestText(ok), 'metadata: {}\n')
    const big = join(dir, 'big.yaml')
    writeFileSync(big, Buffer.alloc(MANIFEST_MAX_BYTES + 1, 0x20))
    assert.throws(() => readManifestText(big), (e: unknown) => e instanceof InvalidArgumentError && e.message === `--file ${big}: is ${MANIFEST_MAX_BYTES + 1} bytes, over the limit of ${MANIFEST_MAX_BYTES} bytes (1.5 MiB, as Kubernetes' API server)`)
    assert.throws(() => readManifestText(join(dir, 'nope.yaml')), (e: unknown) => e instanceof InvalidArgumentError && e.message === `--file ${join(dir, 'nope.yaml')}: no such file`)
    assert.throws(() => readManifestText(dir), (e: unknown) => e instanceof InvalidArgumentError && e.message === `--file ${dir}: is a directory`)
  })

  it('a supervisor that goes away in the middle of a request (ECONNRESET, or a closed socket) gives one line naming the request and its log', async () => {
    const store = new PodStore({ stateDir: dir })
    for (const how of ['reset', 'close'] as const) {
      // a unix socket closed with the request unread resets the client's end (ECONNRESET)
      const server = createServer({ pauseOnConnect: how === 'reset' }, (sock) => {
        if (how === 'reset') setTimeout(() => sock.destroy(), 100)
        else sock.once('data', () => sock.end())
      })
      await new Promise<void>((r) => server.listen(store.socketPath(), () => r()))
      try {
        await assert.rejects(request(dir, { op: 'gc' }, 5000), (e: unknown) => {
          assert.ok(e instanceof PodnetError, String(e))
          assert.equal(e.message, `the supervisor closed the connection during 'gc'${how === 'reset' ? ' (ECONNRESET)' : ''}; see ${store.supervisorLogPath()}`)
          return true
        })
      } finally {
        await new Promise<void>((r) => server.close(() => r()))
      }
    }
  })
})
