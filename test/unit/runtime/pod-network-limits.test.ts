/** Bandwidth and priority annotations: parsing with the field path, what a running pod may change. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { validateManifest } from '../../../src/runtime/index.js'
import { applyLimitChanges, changedLimits, parseNetworkLimits } from '../../../src/runtime/pod-network-limits.js'

const manifest = (annotations: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'p', annotations: { 'podnet.io/rootfs': '/', 'podnet.io/network': 'n', ...annotations } },
  spec: { containers: [{ name: 'c', command: ['sleep', '1'] }], ...extra },
})
const field = (f: string) => (e: unknown): boolean => e instanceof InvalidArgumentError && e.field === f

describe('runtime/pod-network-limits', () => {
  it('reads Kubernetes quantities in bit/s, bursts in bits, priorities by name or number', () => {
    const { spec } = validateManifest(manifest({
      'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/egress-bandwidth': '1.5G', 'podnet.io/egress-burst': '2Mi', 'podnet.io/network-priority': 'high',
    }))
    assert.deepEqual(spec.bandwidth, { ingress: { rateBitsPerSec: 10e6 }, egress: { rateBitsPerSec: 1.5e9, burstBits: 2 * 1024 * 1024 } })
    assert.equal(spec.networkPriority, 6)
    assert.equal(parseNetworkLimits({ 'podnet.io/network-priority': '0' }, 'n').priority, 0)
    assert.deepEqual(parseNetworkLimits({}, undefined), {})
  })

  it('refuses bad values with the annotation as the field', () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ 'kubernetes.io/egress-bandwidth': '10X' }, 'metadata.annotations[kubernetes.io/egress-bandwidth]', /cannot parse/],
      [{ 'kubernetes.io/ingress-bandwidth': '0.5k' }, 'metadata.annotations[kubernetes.io/ingress-bandwidth]', /unreasonably small/],
      [{ 'kubernetes.io/ingress-bandwidth': '2P' }, 'metadata.annotations[kubernetes.io/ingress-bandwidth]', /unreasonably large/],
      [{ 'kubernetes.io/ingress-bandwidth': '1M', 'podnet.io/ingress-burst': '100' }, 'metadata.annotations[podnet.io/ingress-burst]', /smaller than one packet/],
      [{ 'podnet.io/egress-burst': '1M' }, 'metadata.annotations[podnet.io/egress-burst]', /needs kubernetes\.io\/egress-bandwidth/],
      [{ 'podnet.io/network-priority': 'urgent' }, 'metadata.annotations[podnet.io/network-priority]', /high, normal, low, or a level from 0 to 7/],
      [{ 'podnet.io/network-priority': '8' }, 'metadata.annotations[podnet.io/network-priority]', /not a priority/],
    ]
    for (const [ann, f, msg] of cases) assert.throws(() => validateManifest(manifest(ann)), (e: unknown) => field(f)(e) && msg.test((e as Error).message), JSON.stringify(ann))
    const noNet = { metadata: { name: 'p', annotations: { 'podnet.io/rootfs': '/', 'kubernetes.io/egress-bandwidth': '1M' } }, spec: { containers: [{ name: 'c', command: ['x'] }] } }
    assert.throws(() => validateManifest(noNet), (e: unknown) => field('metadata.annotations[kubernetes.io/egress-bandwidth]')(e) && /needs the pod on a network/.test((e as Error).message))
  })

  it('a re-applied manifest may change only the limit annotations', () => {
    const cur = validateManifest(manifest({ 'kubernetes.io/egress-bandwidth': '10M' })).spec
    const next = validateManifest(manifest({ 'kubernetes.io/ingress-bandwidth': '5M', 'podnet.io/network-priority': 'low' })).spec
    assert.deepEqual(changedLimits(cur as any, next as any), {
      'kubernetes.io/ingress-bandwidth': '5M', 'kubernetes.io/egress-bandwidth': null, 'podnet.io/network-priority': 'low',
    })
    assert.deepEqual(changedLimits(cur as any, cur as any), {})
    const other = validateManifest(manifest({}, { restartPolicy: 'Never' })).spec
    assert.throws(() => changedLimits(cur as any, other as any), field('spec.restartPolicy'))
    const cmd = validateManifest({ ...manifest({}), spec: { containers: [{ name: 'c', command: ['sleep', '2'] }] } }).spec
    assert.throws(() => changedLimits(cur as any, cmd as any), field('spec.containers[0].argv[1]'))
    const ann = validateManifest(manifest({ 'podnet.io/share-uts': 'false' })).spec
    assert.throws(() => changedLimits(cur as any, ann as any), field('metadata.annotations[podnet.io/share-uts]'))
  })

  it('applies changes and re-parses; a non-limit annotation cannot change in place', () => {
    const cur = validateManifest(manifest({ 'kubernetes.io/egress-bandwidth': '10M' })).spec
    const next = applyLimitChanges(cur, { 'kubernetes.io/egress-bandwidth': null, 'podnet.io/network-priority': '7' })
    assert.equal(next.bandwidth, undefined)
    assert.equal(next.networkPriority, 7)
    assert.equal(cur.bandwidth?.egress?.rateBitsPerSec, 10e6, 'the current spec is untouched')
    assert.throws(() => applyLimitChanges(cur, { 'podnet.io/rootfs': '/tmp' }), field('metadata.annotations[podnet.io/rootfs]'))
  })
})
