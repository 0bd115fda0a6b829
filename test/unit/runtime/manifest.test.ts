/** Pod manifests: the Kubernetes subset, defaults, and errors that name the field path. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import { parseManifest } from '../../../src/runtime/manifest-yaml.js'

describe('runtime/manifest', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-manifest-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const base = (over: Record<string, unknown> = {}, containers: unknown[] = [{ name: 'web', command: ['sh', '-c', 'true'] }]): Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir } },
    spec: { containers, ...over },
  })
  const fails = (doc: unknown, field: string, re: RegExp): void => {
    assert.throws(() => validateManifest(doc), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err))
      assert.equal(err.field, field)
      assert.match(err.message, re)
      assert.ok(err.message.startsWith(`${field}: `))
      return true
    })
  }

  it('parses YAML with Kubernetes defaults', () => {
    const { spec, warnings } = parseManifest(`
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    podnet.io/rootfs: ${dir}
    podnet.io/network: net1
spec:
  containers:
  - name: nginx
    image: busybox
    command: [httpd, -f]
    args: [-p, "80"]
    env: [{name: A, value: "1"}, {name: B, value: 2}]
    workingDir: /srv
    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 53, protocol: UDP}]
    resources: {limits: {cpu: 200m, memory: 64Mi}}
`)
    assert.equal(spec.name, 'web')
    assert.equal(spec.hostname, 'web')
    assert.equal(spec.restartPolicy, 'Always')
    assert.equal(spec.shareProcessNamespace, false)
    assert.equal(spec.shareUts, true)
    assert.equal(spec.terminationGracePeriodSeconds, 30)
    assert.equal(spec.network, 'net1')
    const c = spec.containers[0]!
    assert.deepEqual(c.argv, ['httpd', '-f', '-p', '80'])
    assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }])
    assert.equal(c.workingDir, '/srv')
    assert.equal(c.rootfs, dir)
    assert.deepEqual(c.ports, [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }, { containerPort: 53, protocol: 'udp' }])
    assert.deepEqual(c.limits, { cpuMillis: 200, memoryBytes: 64 * 2 ** 20 })
    assert.deepEqual(warnings, ['spec.containers[0].image: ignored (the rootfs comes from podnet.io/rootfs)'])
  })

  it('parses JSON, per-container rootfs (relative to the manifest directory), share-uts', () => {
    const sub = join(dir, 'sub')
    const { spec } = parseManifest(JSON.stringify({
      metadata: { name: 'x.y', annotations: { 'podnet.io/rootfs': '/nonexistent', 'podnet.io/rootfs.b': '.', 'podnet.io/share-uts': 'false' } },
      spec: { hostname: 'h1', restartPolicy: 'Never', shareProcessNamespace: true, terminationGracePeriodSeconds: 0, containers: [{ name: 'b', command: ['true'] }] },
    }), { baseDir: dir })
    assert.equal(spec.containers[0]!.rootfs, dir)
    assert.equal(spec.shareUts, false)
    assert.equal(spec.hostname, 'h1')
    assert.equal(spec.restartPolicy, 'Never')
    assert.equal(spec.shareProcessNamespace, true)
    assert.equal(spec.terminationGracePeriodSeconds, 0)
    void sub
  })

  it('names the field of every bad input', () => {
    fails(base({}, [{ name: 'web', command: ['a'] }, { name: 'web', command: ['b'] }]), 'spec.containers[1].name', /duplicate "web"/)
    fails({ ...base(), metadata: { annotations: { 'podnet.io/rootfs': dir } } }, 'metadata.name', /required/)
    fails(base({}, [{ command: ['a'] }]), 'spec.containers[0].name', /required/)
    fails(base({ restartPolicy: 'Sometimes' }), 'spec.restartPolicy', /unsupported value "Sometimes": supported values: "Always", "OnFailure", "Never"/)
    fails(base({}, [{ name: 'web', command: ['a'], resources: { limits: { memory: '12XB' } } }]), 'spec.containers[0].resources.limits.memory', /cannot parse "12XB"/)
    fails(base({}, [{ name: 'web', command: ['a'], resources: { limits: { cpu: '-1' } } }]), 'spec.containers[0].resources.limits.cpu', /greater than 0/)
    fails({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': join(dir, 'nope') } } }, 'metadata.annotations[podnet.io/rootfs]', /does not exist/)
    fails(base({}, [{ name: 'web' }]), 'spec.containers[0].command', /required/)
    fails(base({}, [{ name: 'Web', command: ['a'] }]), 'spec.containers[0].name', /not valid/)
    fails({ ...base(), metadata: { name: 'Bad_Name' } }, 'metadata.name', /not valid/)
    fails(base({}, []), 'spec.containers', /at least one/)
    fails(base({}, [{ name: 'web', command: ['a'], ports: [{ containerPort: 80, hostPort: 70000 }] }]), 'spec.containers[0].ports[0].hostPort', /1 to 65535/)
    fails(base({}, [{ name: 'web', command: ['a'], ports: [{ containerPort: 80, protocol: 'SCTP' }] }]), 'spec.containers[0].ports[0].protocol', /SCTP/)
    fails(base({}, [{ name: 'a', command: ['a'], ports: [{ containerPort: 80, hostPort: 8080 }] }, { name: 'b', command: ['b'], ports: [{ containerPort: 81, hostPort: 8080 }] }]),
      'spec.containers[1].ports[0].hostPort', /duplicate 8080\/TCP/)
    fails(base({}, [{ name: 'web', command: ['a'], env: [{ name: 'X', valueFrom: {} }] }]), 'spec.containers[0].env[0].valueFrom', /not supported/)
    fails(base({}, [{ name: 'web', command: ['a'], workingDir: 'rel' }]), 'spec.containers[0].workingDir', /absolute/)
    fails(base({ terminationGracePeriodSeconds: -1 }), 'spec.terminationGracePeriodSeconds', /0 to 86400/)
    fails(base({ shareProcessNamespace: 'yes' }), 'spec.shareProcessNamespace', /true or false/)
    fails({ ...base(), kind: 'Deployment' }, 'kind', /must be "Pod"/)
    fails({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir, 'podnet.io/rootfs.nosuch': dir } } }, 'metadata.annotations[podnet.io/rootfs.nosuch]', /no container named "nosuch"/)
    fails({ ...base(), metadata: { name: 'p1' } }, 'spec.containers[0]', /no rootfs/)
    fails({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir, 'podnet.io/share-uts': 'maybe' } } }, 'metadata.annotations[podnet.io/share-uts]', /"true" or "false"/)
  })

  it('podnet.io/cgroups: "off" (or the option cgroups: false) runs without cgroups and says limits are not enforced', () => {
    const limited = [{ name: 'web', command: ['true'], resources: { limits: { memory: '32Mi' } } }, { name: 'side', command: ['true'] }]
    const on = validateManifest(base({}, limited))
    assert.equal(on.spec.cgroups, undefined)
    assert.deepEqual(on.warnings, [])
    const off = validateManifest({ ...base({}, limited), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir, 'podnet.io/cgroups': 'off' } } })
    assert.equal(off.spec.cgroups, false)
    assert.deepEqual(off.warnings, ['spec.containers[0].resources.limits: not enforced, the pod runs without cgroups (podnet.io/cgroups: "off")'])
    const flag = validateManifest(base(), { cgroups: false })
    assert.equal(flag.spec.cgroups, false)
    assert.equal(flag.spec.annotations['podnet.io/cgroups'], 'off', 'recorded with the pod, as if written in the manifest')
    assert.equal(validateManifest({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir, 'podnet.io/cgroups': 'on' } } }).spec.cgroups, undefined)
    fails({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir, 'podnet.io/cgroups': 'false' } } }, 'metadata.annotations[podnet.io/cgroups]', /must be "on" or "off", got "false"/)
  })

  it('a rootfs that is a file is refused', () => {
    const f = join(dir, 'file')
    writeFileSync(f, '')
    fails({ ...base(), metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': f } } }, 'metadata.annotations[podnet.io/rootfs]', /not a directory/)
  })

  it('rejects text that is not YAML, and warns about unsupported fields', () => {
    assert.throws(() => parseManifest('metadata: [unclosed'), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'manifest')
    const { warnings } = validateManifest(base({ nodeSelector: {} }, [{ name: 'web', command: ['a'], lifecycle: {}, resources: { requests: { cpu: 1 } } }]))
    assert.deepEqual(warnings, [
      'spec.nodeSelector: not supported, ignored',
      'spec.containers[0].lifecycle: not supported, ignored',
      'spec.containers[0].resources.requests: not enforced (podnet applies limits only)',
    ])
  })
})
