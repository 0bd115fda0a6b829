/**
 * Run as an unprivileged user: tries a throwaway namespace and an echo through it. Prints
 * "echo <reply>" when it works, else the error's code and reason.
 */
import { createTempNetns, listen, request } from '../../../src/testing/index.js'

try {
  const t = createTempNetns({ prefix: 'pn-rl' })
  await listen(t, 'tcp', 7, { reply: 'echo' })
  const r = await request(t, 'tcp', '127.0.0.1', 7, 'hi')
  t.close()
  process.stdout.write(`echo ${r.toString()} uid ${process.getuid?.()}\n`)
} catch (err) {
  const e = err as { code?: string; reason?: string; message: string }
  process.stdout.write(`${e.code} ${e.reason} ${e.message}\n`)
}
