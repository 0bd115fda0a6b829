/**
 * Child process for the kill -9 loops (test/kernel/fault/networks.test.ts): repeats one pair of
 * library calls until it is killed. env: PODNET_STATE_DIR, PODNET_RUN_DIR, HOST_NETNS, PODNET_TEST_BOOT_ID; argv:
 *
 *   attach NETWORK NETNS ID HOSTPORT   attach (with one published TCP port), detach, again
 *   create NETWORK SUBNET              create the network, remove it, again
 *
 * Prints "ready" once its imports are done, then one "." per completed pair.
 */
import { NetworkManager } from '../../src/bridge/index.js'

const [op, network = 'web', a = '', b = '', c = ''] = process.argv.slice(2)
const m = new NetworkManager({
  stateDir: process.env.PODNET_STATE_DIR!, runDir: process.env.PODNET_RUN_DIR!, hostNetns: process.env.HOST_NETNS!,
  ...(process.env.PODNET_TEST_BOOT_ID && { bootId: process.env.PODNET_TEST_BOOT_ID }),
})
process.stdout.write('ready\n')
for (;;) {
  if (op === 'attach') {
    await m.attach({ network, netns: a, id: b, portMappings: [{ hostPort: Number(c), containerPort: 80, protocol: 'tcp' }] })
    await m.detach({ network, id: b })
  } else if (op === 'create') {
    await m.create({ name: network, subnets: [a] })
    await m.remove(network)
  } else {
    throw new Error(`unknown op ${op}`)
  }
  process.stdout.write('.')
}
