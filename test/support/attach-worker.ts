/**
 * Child process for concurrency and crash tests: creates N namespaces and attaches each to a
 * network. env: PODNET_STATE_DIR, HOST_NETNS, and PUBLISH_PORT_BASE to publish one port per pod
 * (base + i; UDP for odd i, TCP for even); argv: network prefix count.
 * Prints one line per attachment ("ok <ns> <address>"); with count 0, loops until killed.
 */
import { NetworkManager } from '../../src/bridge/index.js'
import { Netns } from '../../src/netns/index.js'

const [network = 'web', prefix = 'w', countText = '1'] = process.argv.slice(2)
const count = Number(countText)
const m = new NetworkManager({ stateDir: process.env.PODNET_STATE_DIR!, runDir: process.env.PODNET_RUN_DIR!, hostNetns: process.env.HOST_NETNS! })
for (let i = 0; count === 0 || i < count; i++) {
  const name = `${prefix}-${i}`
  Netns.create(name).close()
  const base = process.env.PUBLISH_PORT_BASE
  const portMappings = base ? [{ hostPort: Number(base) + i, containerPort: 80, protocol: i % 2 ? 'udp' as const : 'tcp' as const }] : []
  const a = await m.attach({ network, netns: name, portMappings })
  process.stdout.write(`ok ${name} ${a.addresses[0]!.address}\n`)
}
m.close()
