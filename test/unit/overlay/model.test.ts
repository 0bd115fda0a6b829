import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { nodeSubnet, nodeSubnetCount, overlayConfigFromSpec, parseConfigRecord, parseSubnetRecord, subnetGateway, subnetKey } from '../../../src/overlay/model.js'
import { vtepMac, vxlanDeviceName } from '../../../src/overlay/dataplane.js'
import { createOverlayNetwork, listNodes } from '../../../src/overlay/admin.js'
import { MemoryStore } from '../../../src/overlay/store/memory.js'
import { ConflictError } from '../../../src/errors.js'

describe('overlay/model', () => {
  const cfg = overlayConfigFromSpec({ name: 'ov', subnet: '10.244.0.0/16' })

  it('completes a spec with the defaults and refuses bad input naming the flag', () => {
    assert.deepEqual(cfg, { name: 'ov', backend: 'vxlan', subnet: '10.244.0.0/16', nodePrefix: 24, vni: 1, port: 4789, directRouting: false })
    assert.throws(() => overlayConfigFromSpec({ name: 'ov', subnet: '10.244.0.0/16', nodePrefix: 16 }), (e: Error) => e instanceof InvalidArgumentError && /nodePrefix/.test(e.message))
    assert.throws(() => overlayConfigFromSpec({ name: 'ov', subnet: 'fd00::/48' }), /subnet: .*IPv4/)
    assert.throws(() => overlayConfigFromSpec({ name: 'ov', subnet: '10.0.0.0/16', vni: 0 }), /vni:/)
    assert.throws(() => overlayConfigFromSpec({ name: 'ov', subnet: '10.0.0.0/16', port: 70000 }), /port:/)
    assert.throws(() => overlayConfigFromSpec({ name: 'ov', overlay: 'geneve', subnet: '10.0.0.0/16' }), /overlay:/)
    assert.throws(() => overlayConfigFromSpec({ name: '../x', subnet: '10.0.0.0/16' }), /network name/)
  })

  it('splits the cluster subnet into node subnets with the first address as gateway', () => {
    assert.equal(nodeSubnetCount(cfg), 256)
    assert.equal(nodeSubnet(cfg, 0), '10.244.0.0/24')
    assert.equal(nodeSubnet(cfg, 255), '10.244.255.0/24')
    assert.equal(subnetGateway('10.244.7.0/24'), '10.244.7.1')
    assert.equal(subnetKey('ov', '10.244.7.0/24'), '/podnet/overlay/networks/ov/subnets/10.244.7.0-24')
  })

  it('checks records read from the store and says what is wrong', () => {
    const key = subnetKey('ov', '10.244.7.0/24')
    const good = { node: 'n1', subnet: '10.244.7.0/24', gateway: '10.244.7.1', underlay: '192.0.2.1', vtepMac: '02:00:00:00:00:01' }
    assert.deepEqual(parseSubnetRecord(cfg, key, JSON.stringify(good)), good)
    assert.throws(() => parseSubnetRecord(cfg, key, '{'), /not JSON/)
    assert.throws(() => parseSubnetRecord(cfg, key, JSON.stringify({ ...good, subnet: '10.244.8.0/24' })), /not the key's/)
    assert.throws(() => parseSubnetRecord(cfg, subnetKey('ov', '10.245.0.0/24'), JSON.stringify({ ...good, subnet: '10.245.0.0/24', gateway: '10.245.0.1' })), /not a \/24 of 10\.244\.0\.0\/16/)
    assert.throws(() => parseSubnetRecord(cfg, key, JSON.stringify({ ...good, vtepMac: '01:00:00:00:00:01' })), /unicast/)
    assert.throws(() => parseSubnetRecord(cfg, key, JSON.stringify({ ...good, underlay: 'x' })), /underlay/)
    assert.throws(() => parseConfigRecord('ov', JSON.stringify({ ...cfg, name: 'other' })), /not the key's/)
  })

  it('names devices within IFNAMSIZ and derives stable VTEP MACs', () => {
    assert.equal(vxlanDeviceName('ov'), 'pnvx-ov')
    assert.ok(Buffer.byteLength(vxlanDeviceName('a-very-long-network-name')) <= 15)
    assert.equal(vtepMac('ov', 'n1'), vtepMac('ov', 'n1'))
    assert.notEqual(vtepMac('ov', 'n1'), vtepMac('ov', 'n2'))
    assert.match(vtepMac('ov', 'n1'), /^02(:[0-9a-f]{2}){5}$/)
  })

  it('creates a network in a store once, refuses a different config, overlaps and a VNI in use', async () => {
    const s = new MemoryStore()
    assert.equal((await createOverlayNetwork(s, { name: 'a', subnet: '10.1.0.0/16' })).created, true)
    assert.equal((await createOverlayNetwork(s, { name: 'a', subnet: '10.1.0.0/16' })).created, false)
    await assert.rejects(createOverlayNetwork(s, { name: 'a', subnet: '10.1.0.0/16', port: 8472 }), ConflictError)
    await assert.rejects(createOverlayNetwork(s, { name: 'b', subnet: '10.1.128.0/17', vni: 2 }), /subnet: .*overlaps/)
    await assert.rejects(createOverlayNetwork(s, { name: 'b', subnet: '10.2.0.0/16' }), /vni: 1 is the VNI of overlay network 'a'/)
    await s.put('/podnet/overlay/networks/a/subnets/10.1.3.0-24', 'garbage')
    const warnings: string[] = []
    assert.deepEqual(await listNodes(s, warnings), [])
    assert.match(warnings[0]!, /skipping .*10\.1\.3\.0-24: not JSON/)
    s.close()
  })
})
