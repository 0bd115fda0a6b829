/** Prints what the guard says in this process: "ok" or the SandboxError's code and message. */
import { assertSandboxed } from '../../../src/testing/guard.js'

try {
  assertSandboxed()
  process.stdout.write('ok\n')
} catch (err) {
  const e = err as { code?: string; message: string }
  process.stdout.write(`${e.code} ${e.message}\n`)
}
