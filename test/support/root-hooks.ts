/**
 * mocha root hooks: the whole suite refuses to run outside the sandbox, and a run that does not
 * end by itself is a failure that names what kept it alive (a child process a failed test left
 * behind once held CI for an hour).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { assertSandboxed } from '../../src/testing/guard.js'

/** How long after the last test the process may take to end on its own. */
const EXIT_GRACE_MS = Number(process.env.PODNET_TEST_EXIT_GRACE_MS ?? 30000)

function describeHandle(h: any): string {
  const name = h?.constructor?.name ?? typeof h
  if (name === 'ChildProcess') return `ChildProcess pid ${h.pid} (${(h.spawnargs ?? []).join(' ')})`
  if (name === 'Socket' && h.remoteAddress) return `Socket ${h.remoteAddress}:${h.remotePort}`
  if (name === 'Server') return `Server ${JSON.stringify(h.address?.())}`
  return name
}

export const mochaHooks = {
  beforeAll(): void {
    assertSandboxed()
  },
  afterAll(): void {
    // unref'd: it fires only when something else keeps the event loop alive
    setTimeout(() => {
      const handles = ((process as any)._getActiveHandles?.() ?? []) as unknown[]
      const kept = handles.filter((h: any) => h !== process.stdout && h !== process.stderr && h !== process.stdin)
      process.stderr.write(`\nthe test run did not end ${EXIT_GRACE_MS} ms after its last test; still open:\n` +
        (kept.map((h) => `  ${describeHandle(h)}`).join('\n') || '  (nothing node lists)') + '\n')
      // counted as a failure: in the summary the reporter wrote, and in the exit status (mocha's
      // own exit handler would set it back to the number of failed tests)
      const summary = process.env.PODNET_TEST_SUMMARY
      if (summary) {
        try {
          const [p = 0, f = 0, k = 0] = readFileSync(summary, 'utf8').trim().split(/\s+/).map(Number)
          writeFileSync(summary, `${p} ${f + 1} ${k}\n`)
        } catch { /* no summary yet: the status below still fails the run */ }
      }
      process.removeAllListeners('exit')
      process.exit(1)
    }, EXIT_GRACE_MS).unref()
  },
}
