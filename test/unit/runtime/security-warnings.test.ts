/**
 * What podnet says about a pod's security when it accepts or refuses it: a warning (and a pod
 * condition) per privileged container, and hostNetwork/hostPID/hostIPC: true refused naming
 * the field (false, Kubernetes' default, accepted silently).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../src/errors.js'
import { parseManifest } from '../../../src/runtime/manifest-yaml.js'
import { validateManifest } from '../../../src/runtime/manifest.js'
import { privilegedCondition } from '../../../src/runtime/security/index.js'

describe('runtime/security warnings and host namespaces', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-secwarn-')) })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const doc = (spec: Record<string, unknown>, containers: unknown[] = [{ name: 'web', command: ['true'] }]): Record<string, unknown> => ({
    metadata: { name: 'p1', annotations: { 'podnet.io/rootfs': dir } }, spec: { containers, ...spec },
  })

  it('privileged: true is accepted with one warning per privileged container, naming it and what it opens', () => {
    const { spec, warnings } = parseManifest(`
metadata: { name: p1, annotations: { podnet.io/rootfs: ${dir} } }
spec:
  containers:
    - { name: plain, command: ["true"] }
    - { name: admin, command: ["true"], securityContext: { privileged: true } }
    - { name: off, command: ["true"], securityContext: { privileged: false } }
`)
    assert.deepEqual(warnings, [
      'spec.containers[1].securityContext.privileged: container "admin" runs privileged: every capability podnet has, no seccomp filter, no no_new_privs, /proc and /sys writable and unmasked: it can take over the node',
    ])
    assert.equal(spec.containers[1]!.securityContext?.privileged, true, 'accepted, not refused')
    const cond = privilegedCondition(spec, '2024-01-01T00:00:00Z')
    assert.deepEqual(cond && { ...cond, message: cond.message?.split(':')[0] }, {
      type: 'Privileged', status: 'True', reason: 'PrivilegedContainers', message: 'container admin runs privileged', lastTransitionTime: '2024-01-01T00:00:00Z',
    })
    assert.equal(privilegedCondition(validateManifest(doc({})).spec, 'x'), undefined, 'no condition without a privileged container')
    assert.deepEqual(validateManifest(doc({})).warnings, [])
  })

  it('hostNetwork, hostPID, hostIPC: true refused naming the field; false accepted without a warning', () => {
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) {
      assert.throws(() => validateManifest(doc({ [k]: true })), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError)
        assert.equal(e.field, `spec.${k}`)
        assert.match(e.message, new RegExp(`^spec\\.${k}: true is not supported: podnet runs every pod in namespaces of its own and never in the node's (network|PID|IPC) namespace`))
        return true
      })
      assert.throws(() => validateManifest(doc({ [k]: 'yes' })), /must be true or false/)
      assert.deepEqual(validateManifest(doc({ [k]: false })).warnings, [], `${k}: false`)
    }
  })
})
