/**
 * Deployments and DaemonSets through the CLI and the supervisor it starts (real pods on a
 * busybox rootfs): a rolling update sampled as it runs (never fewer than 4 ready pods, never more
 * than 5 pods), an update that never gets ready stalls with ProgressDeadlineExceeded and keeps
 * the old pods, rollout undo, Recreate's gap, a supervisor killed (kill -9) in the middle of a
 * rollout, a DaemonSet's one pod and its nodeSelector, bad input. Oracles: the pod records and
 * their processes (/proc), the pods' own output, the stored objects.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { PodStore, type PodRecord } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { WorkloadStore, readNode, type DaemonSet, type Deployment, type ReplicaSet } from '../../../src/workloads/index.js'
import { eventually, podProcesses, useCliWorld, type CliWorld } from '../runtime/support.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('kernel: workloads (Deployment, DaemonSet)', function () {
  this.timeout(180_000)
  let world: (() => CliWorld) | undefined
  // workloads go before the world's own cleanup removes the pods (or their controllers would replace them)
  afterEach(function () {
    this.timeout(60_000)
    const w = world?.()
    if (!w) return
    const ws = new WorkloadStore({ stateDir: w.topo.stateDir })
    for (const kind of ['Deployment', 'DaemonSet', 'ReplicaSet'] as const) {
      for (const o of ws.list(kind)) if (!o.metadata.ownerReferences?.length) w.podnet(['delete', kind, o.metadata.name, '--grace-period', '0'])
    }
  })
  world = useCliWorld()
  const w = (): CliWorld => world!()

  const store = (): PodStore => new PodStore({ stateDir: w().topo.stateDir, runDir: w().topo.runDir })
  const ws = (): WorkloadStore => new WorkloadStore({ stateDir: w().topo.stateDir })
  /** Pods whose controller is one of the Deployment's ReplicaSets (or the named owner). */
  const podsOf = (deploy: string): PodRecord[] => {
    const d = ws().read<Deployment>('Deployment', deploy)
    const rsUids = new Set(ws().list<ReplicaSet>('ReplicaSet').filter((r) => r.metadata.ownerReferences?.some((x) => x.uid === d?.metadata.uid)).map((r) => r.metadata.uid))
    return store().list().filter((p) => p.spec.ownerReferences?.some((r) => rsUids.has(r.uid)))
  }
  const isReady = (p: PodRecord): boolean => p.phase === 'Running' && p.deletionTimestamp === undefined && p.containers.every((c) => c.state.status === 'running')
  const deploy = (name: string): Deployment => ws().read<Deployment>('Deployment', name)!
  const rsOf = (name: string): ReplicaSet[] => {
    const d = deploy(name)
    return ws().list<ReplicaSet>('ReplicaSet').filter((r) => r.metadata.ownerReferences?.some((x) => x.uid === d.metadata.uid))
  }
  const rolledOut = (name: string, replicas: number, ms = 60_000): Promise<Deployment> => eventually(() => {
    const d = deploy(name)
    const p = d.status?.conditions?.find((c) => c.type === 'Progressing')
    const pods = podsOf(name)
    return d.status?.observedGeneration === d.metadata.generation && p?.reason === 'NewReplicaSetAvailable' && pods.length === replicas && pods.every(isReady) ? d : undefined
  }, ms, `deployment ${name} rolled out`)

  const deployYaml = (name: string, replicas: number, cmd: string, spec = 'strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}'): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
${spec.split('\n').map((l) => `  ${l}`).join('\n')}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {podnet.io/rootfs: ${w().rootfs}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, command: [sh, -c, '${cmd}']}]
`
  const apply = (name: string, yaml: string): string => w().ok('apply', '-f', w().manifest(name, yaml))

  /** Samples the Deployment's pods every 20 ms until stop(): the fewest ready and the most pods seen. */
  function sampler(name: string): { stop: () => Promise<{ minReady: number; maxPods: number; samples: number }> } {
    let running = true
    let minReady = Infinity
    let maxPods = 0
    let samples = 0
    const loop = (async () => {
      while (running) {
        const pods = podsOf(name)
        minReady = Math.min(minReady, pods.filter(isReady).length)
        maxPods = Math.max(maxPods, pods.length)
        samples++
        await sleep(20)
      }
    })()
    return { stop: async () => { running = false; await loop; return { minReady, maxPods, samples } } }
  }

  describe('Deployment', () => {
    it('rolls out 4 replicas with maxSurge 1, maxUnavailable 0: never fewer than 4 ready, never more than 5 pods; undo brings the first template back', async () => {
      assert.match(apply('web', deployYaml('web', 4, 'echo v1; sleep 1000')), /deployment\.apps\/web created/)
      const d1 = await rolledOut('web', 4)
      assert.equal(d1.metadata.annotations?.['deployment.kubernetes.io/revision'], '1')
      const [rs1] = rsOf('web')
      assert.ok(rs1)
      const hash1 = rs1.metadata.labels!['pod-template-hash']!
      assert.equal(rs1.metadata.name, `web-${hash1}`)
      assert.equal(rs1.metadata.ownerReferences![0]!.kind, 'Deployment')
      for (const p of podsOf('web')) assert.match(p.name, new RegExp(`^web-${hash1}-[a-z0-9]{5}$`))
      assert.match(w().ok('get', 'deploy'), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+4\/4\s+4\s+4\s+\d+s\n$/)
      const firstPods = podsOf('web')

      const s = sampler('web')
      assert.match(apply('web', deployYaml('web', 4, 'echo v2; sleep 1000')), /deployment\.apps\/web configured/)
      const d2 = await rolledOut('web', 4)
      const seen = await s.stop()
      assert.ok(seen.samples > 20, `sampled ${seen.samples} times`)
      assert.ok(seen.minReady >= 4, `never fewer than 4 ready: saw ${seen.minReady}`)
      assert.ok(seen.maxPods <= 5, `never more than 5 pods: saw ${seen.maxPods}`)
      assert.equal(d2.metadata.annotations?.['deployment.kubernetes.io/revision'], '2')
      assert.deepEqual([d2.status!.replicas, d2.status!.updatedReplicas, d2.status!.readyReplicas, d2.status!.availableReplicas], [4, 4, 4, 4])
      const now = podsOf('web')
      for (const p of now) assert.equal(readFileSync(store().logPath(p.name, 'c'), 'utf8'), 'v2\n')
      for (const p of firstPods) for (const ref of podProcesses(p)) assert.ok(!isAlive(ref), `${p.name}: old process ${ref.pid} gone`)
      assert.equal(rsOf('web').length, 2)
      assert.match(w().ok('rollout', 'status', 'deployment', 'web'), /deployment "web" successfully rolled out/)
      const desc = w().ok('describe', 'deploy', 'web')
      assert.match(desc, /Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| 0 unavailable/)
      assert.match(desc, /RollingUpdateStrategy:\s+0 max unavailable, 1 max surge/)
      assert.match(desc, /Progressing\s+True\s+NewReplicaSetAvailable/)
      assert.match(desc, new RegExp(`ScalingReplicaSet .*deployment-controller\\s+Scaled down replica set web-${hash1} to 0 from 1`))
      assert.match(w().ok('rollout', 'history', 'deploy', 'web'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/)

      // undo: revision 1's template again, as revision 3
      assert.match(w().ok('rollout', 'undo', 'deployment', 'web'), /deployment\.apps\/web rolled back/)
      const d3 = await eventually(() => { const d = deploy('web'); return d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3' ? d : undefined }, 20_000, 'revision 3')
      assert.match(JSON.stringify(d3.spec.template.spec.containers), /echo v1/)
      await rolledOut('web', 4)
      for (const p of podsOf('web')) {
        assert.equal(p.spec.labels?.['pod-template-hash'], hash1)
        assert.equal(readFileSync(store().logPath(p.name, 'c'), 'utf8'), 'v1\n')
      }
      assert.equal(rsOf('web').length, 2, 'the first ReplicaSet is reused, not copied')
      assert.match(w().ok('rollout', 'history', 'deploy', 'web'), /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/)
      assert.match(w().ok('rollout', 'undo', 'deploy/web', '--to-revision', '3'), /skipped rollback \(current template already matches revision 3\)/)
    })

    it('an update whose pods never get ready stalls with ProgressDeadlineExceeded and takes no old pod down', async () => {
      // minReadySeconds 1: a container that exits at once and is restarted is never ready for 1 s
      const spec = 'minReadySeconds: 1\nprogressDeadlineSeconds: 4\nstrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}'
      apply('stall', deployYaml('stall', 4, 'sleep 1000', spec))
      await rolledOut('stall', 4)
      const before = podsOf('stall').map((p) => p.name).sort()
      apply('stall', deployYaml('stall', 4, 'exit 1', spec))
      const d = await eventually(() => {
        const x = deploy('stall')
        return x.status?.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded') ? x : undefined
      }, 30_000, 'ProgressDeadlineExceeded')
      assert.match(d.status!.conditions!.find((c) => c.type === 'Progressing')!.message!, /^ReplicaSet "stall-[a-z0-9]+" has timed out progressing\.$/)
      const pods = podsOf('stall')
      const old = pods.filter((p) => before.includes(p.name))
      assert.equal(old.length, 4, 'every old pod is still there')
      assert.ok(old.every(isReady), 'and ready')
      assert.equal(pods.length, 5, 'one new pod (maxSurge 1), crash-looping')
      const r = w().podnet(['rollout', 'status', 'deploy', 'stall'])
      assert.equal(r.status, 1)
      assert.match(r.stderr, /deployment "stall" exceeded its progress deadline/)
      assert.match(w().ok('describe', 'deploy', 'stall'), /Progressing\s+False\s+ProgressDeadlineExceeded/)
    })

    it('Recreate: every old pod is gone before a new one starts (a gap), and says so in its events', async () => {
      apply('rec', deployYaml('rec', 2, 'echo a; sleep 1000', 'strategy: {type: Recreate}'))
      await rolledOut('rec', 2)
      const hash1 = rsOf('rec')[0]!.metadata.labels!['pod-template-hash']!
      let both = false
      let lastOldSeen = 0
      let running = true
      const loop = (async () => {
        while (running) {
          const pods = podsOf('rec')
          const oldOnes = pods.filter((p) => p.spec.labels?.['pod-template-hash'] === hash1)
          if (oldOnes.length) lastOldSeen = Date.now()
          if (oldOnes.length && oldOnes.length < pods.length) both = true
          await sleep(20)
        }
      })()
      apply('rec', deployYaml('rec', 2, 'echo b; sleep 1000', 'strategy: {type: Recreate}'))
      await rolledOut('rec', 2)
      running = false
      await loop
      assert.ok(!both, 'old and new pods never exist together')
      const firstNew = Math.min(...podsOf('rec').map((p) => Date.parse(p.createdAt)))
      assert.ok(lastOldSeen > 0 && firstNew >= lastOldSeen, `the new pods were made after the last old one was gone (a gap): ${firstNew - lastOldSeen} ms`)
      const desc = w().ok('describe', 'deploy', 'rec')
      assert.match(desc, /StrategyType:\s+Recreate/)
      assert.match(desc, new RegExp(`Scaled down replica set rec-${hash1} to 0 from 2[\\s\\S]*Scaled up replica set rec-[a-z0-9]+ to 2\\n`))
    })

    it('a supervisor killed (kill -9) in the middle of a rolling update: the next one finishes it without duplicate pods', async () => {
      const spec = 'minReadySeconds: 1\nstrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}'
      apply('kill', deployYaml('kill', 4, 'echo v1; sleep 1000', spec))
      await rolledOut('kill', 4)
      const hash1 = rsOf('kill')[0]!.metadata.labels!['pod-template-hash']!
      const s = sampler('kill')
      apply('kill', deployYaml('kill', 4, 'echo v2; sleep 1000', spec))
      // mid-rollout: some new pods, some old ones
      await eventually(() => {
        const pods = podsOf('kill')
        const fresh = pods.filter((p) => p.spec.labels?.['pod-template-hash'] !== hash1)
        return fresh.length >= 2 && pods.length - fresh.length >= 2 ? true : undefined
      }, 60_000, 'a rollout half done')
      const pid = w().supervisorPid()
      assert.ok(pid)
      process.kill(pid, 'SIGKILL')
      await eventually(() => (w().supervisorPid() === undefined ? true : undefined), 5000, 'the supervisor gone')
      const atKill = podsOf('kill').map((p) => p.name)
      await sleep(1500)
      assert.deepEqual(podsOf('kill').map((p) => p.name), atKill, 'nothing changes while no supervisor runs')
      w().ok('pod', 'supervisor', 'start')
      const d = await rolledOut('kill', 4)
      const seen = await s.stop()
      assert.ok(seen.maxPods <= 5, `never more than 5 pods: saw ${seen.maxPods}`)
      assert.ok(seen.minReady >= 4, `never fewer than 4 ready: saw ${seen.minReady}`)
      const pods = podsOf('kill')
      assert.equal(pods.length, 4)
      assert.equal(new Set(pods.map((p) => p.name)).size, 4)
      for (const p of pods) assert.equal(readFileSync(store().logPath(p.name, 'c'), 'utf8'), 'v2\n')
      assert.equal(rsOf('kill').length, 2, 'one new ReplicaSet, not two')
      assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2')
      const all = store().list().filter((p) => p.name.startsWith('kill-'))
      assert.equal(all.length, 4, `no stray pods: ${all.map((p) => p.name).join(' ')}`)
    })
  })

  describe('DaemonSet', () => {
    const dsYaml = (name: string, cmd: string, nodeSelector = ''): string => `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {podnet.io/rootfs: ${w().rootfs}}
    spec:
      terminationGracePeriodSeconds: 1
${nodeSelector ? `      nodeSelector: {${nodeSelector}}\n` : ''}      containers: [{name: c, command: [sh, -c, '${cmd}']}]
`
    const podsOfDs = (name: string): PodRecord[] => store().list().filter((p) => p.spec.ownerReferences?.some((r) => r.kind === 'DaemonSet' && r.name === name))

    it('runs exactly one pod on this node, and replaces it on a template change', async () => {
      assert.match(apply('agent', dsYaml('agent', 'echo one; sleep 1000')), /daemonset\.apps\/agent created/)
      const [p1] = await eventually(() => { const p = podsOfDs('agent'); return p.length === 1 && isReady(p[0]!) ? p : undefined }, 30_000, 'one pod')
      await sleep(1000)
      assert.equal(podsOfDs('agent').length, 1, 'still one')
      const ds = await eventually(() => { const x = ws().read<DaemonSet>('DaemonSet', 'agent')!; return x.status?.numberAvailable === 1 ? x : undefined }, 10_000, 'status')
      assert.deepEqual([ds.status!.desiredNumberScheduled, ds.status!.currentNumberScheduled, ds.status!.numberReady, ds.status!.updatedNumberScheduled], [1, 1, 1, 1])
      assert.match(w().ok('get', 'ds'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nagent\s+1\s+1\s+1\s+1\s+1\s+<none>\s+\d+s\n$/)
      let most = 0
      let running = true
      const loop = (async () => { while (running) { most = Math.max(most, podsOfDs('agent').length); await sleep(20) } })()
      apply('agent', dsYaml('agent', 'echo two; sleep 1000'))
      const [p2] = await eventually(() => { const p = podsOfDs('agent'); return p.length === 1 && p[0]!.name !== p1!.name && isReady(p[0]!) ? p : undefined }, 30_000, 'the pod replaced')
      running = false
      await loop
      assert.equal(most, 1, 'maxSurge 0: never two pods')
      assert.equal(readFileSync(store().logPath(p2!.name, 'c'), 'utf8'), 'two\n')
      assert.match(w().ok('rollout', 'status', 'ds', 'agent'), /daemon set "agent" successfully rolled out/)
      assert.match(w().ok('describe', 'ds', 'agent'), /Desired Number of Nodes Scheduled:\s+1[\s\S]*SuccessfulDelete .*daemonset-controller/)

      // its revisions: history, one in detail, undo back to the first template (revision 3 now)
      assert.match(w().ok('rollout', 'history', 'ds', 'agent'), /^daemonset\.apps\/agent\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n$/)
      assert.match(w().ok('rollout', 'history', 'daemonset/agent', '--revision', '1'), /Command:\tsh -c echo one; sleep 1000\n$/)
      assert.equal(w().ok('rollout', 'undo', 'ds', 'agent'), 'daemonset.apps/agent rolled back\n')
      const [p3] = await eventually(() => { const p = podsOfDs('agent'); return p.length === 1 && p[0]!.name !== p2!.name && isReady(p[0]!) ? p : undefined }, 30_000, 'the pod of the first template again')
      assert.equal(readFileSync(store().logPath(p3!.name, 'c'), 'utf8'), 'one\n')
      assert.equal(p3!.spec.labels?.['controller-revision-hash'], p1!.spec.labels?.['controller-revision-hash'], 'the same revision hash as the first pod')
      assert.match(w().ok('rollout', 'history', 'ds', 'agent'), /\n2\s+<none>\n3\s+<none>\n$/)
      assert.equal(w().ok('rollout', 'undo', 'ds', 'agent', '--to-revision', '3'), 'daemonset.apps/agent skipped rollback (current template already matches revision 3)\n')
    })

    it('runs no pod when its nodeSelector does not match this node; one once the node is labelled, none again when the label goes', async () => {
      apply('ssd', dsYaml('ssd', 'sleep 1000', 'disktype: ssd'))
      await eventually(() => (ws().read<DaemonSet>('DaemonSet', 'ssd')?.status?.observedGeneration === 1 ? true : undefined), 10_000, 'synced')
      await sleep(1000)
      assert.deepEqual(podsOfDs('ssd'), [])
      assert.equal(ws().read<DaemonSet>('DaemonSet', 'ssd')!.status!.desiredNumberScheduled, 0)
      assert.match(w().ok('get', 'ds', 'ssd'), /ssd\s+0\s+0\s+0\s+0\s+0\s+disktype=ssd/)
      const node = readNode(ws().root).name
      assert.match(w().ok('label', 'node', node, 'disktype=ssd'), new RegExp(`node/${node} labeled`))
      assert.match(w().ok('get', 'nodes'), /disktype=ssd/)
      await eventually(() => { const p = podsOfDs('ssd'); return p.length === 1 && isReady(p[0]!) ? p : undefined }, 30_000, 'a pod once labelled')
      const r = w().podnet(['label', 'node', node, 'disktype=hdd'])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /'disktype' already has a value \(ssd\), and --overwrite is false/)
      w().ok('label', 'node', node, 'disktype-')
      await eventually(() => (podsOfDs('ssd').length === 0 ? true : undefined), 30_000, 'the pod gone with the label')
    })
  })

  describe('bad input', () => {
    it('refuses with one line naming the field, and creates nothing', () => {
      const refuse = (yaml: string, re: RegExp): void => {
        const r = w().podnet(['apply', '-f', w().manifest('bad', yaml)])
        assert.equal(r.status, 2, r.stderr)
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
        assert.match(r.stderr, re)
      }
      refuse(deployYaml('bad', 2, 'sleep 1', 'strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}'), /deployment\.apps\/bad\): spec\.strategy\.rollingUpdate\.maxUnavailable: may not be 0 when `maxSurge` is 0/)
      refuse(deployYaml('bad', 2, 'sleep 1', 'strategy: {rollingUpdate: {maxSurge: "1.5%"}}'), /spec\.strategy\.rollingUpdate\.maxSurge: must be an integer or percentage/)
      refuse(deployYaml('bad', -1, 'sleep 1'), /spec\.replicas: must be greater than or equal to 0, got -1/)
      refuse(deployYaml('bad', 1, 'sleep 1').replace('selector: {matchLabels: {app: bad}}', 'selector: {matchLabels: {app: other}}'), /spec\.template\.metadata\.labels: .* does not match spec\.selector \(app=other\)/)
      refuse(`${deployYaml('good', 1, 'sleep 1')}---\n${deployYaml('bad', 1, 'sleep 1', 'strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}')}`, /document 2 \(deployment\.apps\/bad\): spec\.strategy\.rollingUpdate: may not be specified/)
      for (const kind of ['Deployment', 'DaemonSet', 'ReplicaSet'] as const) assert.deepEqual(ws().list(kind), [])
      assert.deepEqual(store().list(), [])
    })
  })
})
