// podnet/conntrack: list the flows of a namespace and delete those to one UDP port.
import { Netns } from 'podnet'
import { Conntrack } from 'podnet/conntrack'

const ns = Netns.create('example-ct')
const ct = Conntrack.open({ netns: ns })
try {
  const flows = ct.list({ family: 4, protocol: 17 })
  console.log('udp flows', flows.length)
  const deleted = ct.deleteFlows({ family: 4, protocol: 17, dstPort: 5353 }, () => true)
  console.log('deleted', deleted)
} finally {
  ct.close()
  ns.close()
  Netns.remove('example-ct')
}
