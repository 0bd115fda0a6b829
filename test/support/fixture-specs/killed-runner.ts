/**
 * Run inside a nested sandbox by test/kernel/testing/fixtures.test.ts: builds a topology, starts
 * a server process, an in-process server and a detached sleep (its own session), says "ready",
 * then kills itself with SIGKILL mid-"test". Every one of them holds stderr open: the sandbox
 * must end them all.
 */
import { spawn } from 'node:child_process'
import { createTopology, listen, serve } from '../../../src/testing/index.js'

const topo = createTopology()
await serve(topo.host, 'tcp', 80)
await listen(topo.upstream, 'tcp', 7, { reply: 'echo' })
spawn('sleep', ['1000'], { detached: true, stdio: ['ignore', 'ignore', 'inherit'] }).unref()
process.stdout.write('ready\n')
process.kill(process.pid, 'SIGKILL')
