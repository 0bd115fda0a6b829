/** kubectl's rollout status lines (kubectl/pkg/polymorphichelpers/rollout_status.go) for each kind, as pure functions of the object. */
import assert from 'node:assert/strict'
import { daemonSetStatusLine, deploymentStatusLine, statefulSetStatusLine } from '../../../src/cli/commands/rollout.js'
import type { DaemonSet, Deployment, StatefulSet } from '../../../src/workloads/index.js'

const meta = { name: 'web', namespace: 'default' as const, uid: 'u', generation: 2, creationTimestamp: '2026-12-03T00:00:00Z' }

function sts(partition: number, status: Partial<NonNullable<StatefulSet['status']>> | undefined, type: 'RollingUpdate' | 'OnDelete' = 'RollingUpdate'): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta,
    spec: { replicas: 3, updateStrategy: type === 'RollingUpdate' ? { type, rollingUpdate: { partition } } : { type } } as StatefulSet['spec'],
    ...(status && { status: { observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, currentRevision: 'web-a', updateRevision: 'web-a', collisionCount: 0, ...status } }),
  }
}

describe('cli: rollout status lines', () => {
  it('StatefulSet: observed, ready, partitioned and plain rolling updates', () => {
    assert.deepEqual(statefulSetStatusLine(sts(0, undefined)), ['Waiting for statefulset spec update to be observed...', false])
    assert.deepEqual(statefulSetStatusLine(sts(0, { observedGeneration: 1 })), ['Waiting for statefulset spec update to be observed...', false])
    assert.deepEqual(statefulSetStatusLine(sts(0, { readyReplicas: 1 })), ['Waiting for 2 pods to be ready...', false])
    assert.deepEqual(statefulSetStatusLine(sts(2, { updatedReplicas: 0, updateRevision: 'web-b' })), ['Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...', false])
    assert.deepEqual(statefulSetStatusLine(sts(2, { updatedReplicas: 1, updateRevision: 'web-b' })), ['partitioned roll out complete: 1 new pods have been updated...', true])
    assert.deepEqual(statefulSetStatusLine(sts(0, { updatedReplicas: 2, currentReplicas: 1, updateRevision: 'web-b' })), ['waiting for statefulset rolling update to complete 2 pods at revision web-b...', false])
    assert.deepEqual(statefulSetStatusLine(sts(0, {})), ['statefulset rolling update complete 3 pods at revision web-a...', true])
    assert.throws(() => statefulSetStatusLine(sts(0, {}, 'OnDelete')), /rollout status is only available for RollingUpdate strategy type/)
  })

  it('Deployment and DaemonSet: done only when every new replica is available', () => {
    const d = (st: Partial<NonNullable<Deployment['status']>>): Deployment => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { replicas: 3 } as Deployment['spec'],
      status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, ...st } as NonNullable<Deployment['status']>,
    })
    assert.deepEqual(deploymentStatusLine(d({ updatedReplicas: 1 })), ['Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', false])
    assert.deepEqual(deploymentStatusLine(d({ replicas: 4 })), ['Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', false])
    assert.deepEqual(deploymentStatusLine(d({})), ['deployment "web" successfully rolled out', true])
    const ds: DaemonSet = {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta, spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } } as DaemonSet['spec'],
      status: { observedGeneration: 2, desiredNumberScheduled: 1, updatedNumberScheduled: 0, numberAvailable: 1 } as NonNullable<DaemonSet['status']>,
    }
    assert.deepEqual(daemonSetStatusLine(ds), ['Waiting for daemon set "web" rollout to finish: 0 out of 1 new pods have been updated...', false])
  })
})
