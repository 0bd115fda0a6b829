/**
 * Workloads through the CLI and the supervisor it starts (real pods on a busybox rootfs):
 * bad input refused with the field path and nothing created; ReplicaSet replacing removed and
 * failed pods, scaling 3 -> 5 -> 1 (newest go first), adopting its pods after the supervisor's
 * kill -9 without restarting them, cascading and orphaning deletes; Job completions under
 * parallelism, backoffLimit with its back-off, Indexed, activeDeadlineSeconds. Oracles: the pod
 * records, /proc (the processes), the pods' own output, and leftovers (cgroups, veths, IPAM).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { PodStore, type PodRecord } from '../../../src/runtime/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { WorkloadStore, resolveKind, type Job, type ReplicaSet, type WorkloadKind } from '../../../src/workloads/index.js'
import { eventually, podProcesses, useCliWorld, type CliWorld } from '../runtime/support.js'

describe('kernel: workloads (apply, ReplicaSet, Job)', function () {
  this.timeout(90_000)
  let world: (() => CliWorld) | undefined
  // registered before the world's own afterEach (which removes every pod): workloads go first,
  // or their controllers would replace the pods it removes
  afterEach(function () {
    this.timeout(60_000)
    const w = world?.()
    if (!w) return
    for (const kind of ['ReplicaSet', 'Job'] as const) {
      for (const o of new WorkloadStore({ stateDir: w.topo.stateDir }).list(kind)) w.ok('delete', kind, o.metadata.name, '--grace-period', '0')
    }
  })
  world = useCliWorld()
  const w = (): CliWorld => world!()

  before(function () {
    if (process.getuid?.() !== 0) return
    w().env.PODNET_JOB_BACKOFF_BASE_MS = '400'
    w().env.PODNET_JOB_BACKOFF_MAX_MS = '5000'
  })

  const store = (): PodStore => new PodStore({ stateDir: w().topo.stateDir, runDir: w().topo.runDir })
  const pods = (owner?: string): PodRecord[] => store().list().filter((p) => owner === undefined || p.spec.ownerReferences?.some((r) => `${r.kind}/${r.name}` === owner))
  const running = (owner: string): PodRecord[] => pods(owner).filter((p) => p.phase === 'Running' && p.deletionTimestamp === undefined && p.containers.every((c) => c.state.status === 'running'))
  /** The stored object, read as `podnet get -o json` reads it (in-process: polling loops spawn no CLI). */
  const getObj = <T>(kind: string, name: string): T => {
    const o = new WorkloadStore({ stateDir: w().topo.stateDir }).read(resolveKind(kind) as WorkloadKind, name)
    if (!o) throw new Error(`${kind} ${name} does not exist`)
    return o as T
  }
  const apply = (name: string, yaml: string): string => w().ok('apply', '-f', w().manifest(name, yaml))
  const rootfs = (): string => w().rootfs

  const rsYaml = (name: string, replicas: number, extra = ''): string => `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {podnet.io/rootfs: ${rootfs()}${extra}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, command: [sleep, '1000']}]
`

  describe('bad input', () => {
    const refuse = (yaml: string, field: RegExp): string => {
      const r = w().podnet(['apply', '-f', w().manifest('bad', yaml)])
      assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`)
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
      assert.match(r.stderr, field)
      return r.stderr
    }
    const nothingMade = (): void => {
      for (const kind of ['ReplicaSet', 'Job'] as const) assert.deepEqual(new WorkloadStore({ stateDir: w().topo.stateDir }).list(kind), [])
      assert.deepEqual(pods(), [])
    }

    it('refuses a selector that does not match the template, naming spec.template.metadata.labels', () => {
      refuse(rsYaml('web', 2).replace('selector: {matchLabels: {app: web}}', 'selector: {matchLabels: {app: other}}'), /spec\.template\.metadata\.labels: .*does not match spec\.selector \(app=other\)/)
      nothingMade()
    })

    it('refuses replicas < 0, a Job with restartPolicy Always, an unknown kind and apiVersion, an unknown field', () => {
      refuse(rsYaml('web', -1), /replicaset\.apps\/web\): spec\.replicas: must be greater than or equal to 0, got -1/)
      refuse(`apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    metadata: {annotations: {podnet.io/rootfs: ${rootfs()}}}
    spec: {restartPolicy: Always, containers: [{name: c, command: ['true']}]}
`, /spec\.template\.spec\.restartPolicy: unsupported value "Always": supported values: "OnFailure", "Never"/)
      refuse('apiVersion: apps/v1\nkind: Frobnicator\nmetadata: {name: x}\n', /kind: unsupported kind "Frobnicator"/)
      refuse(rsYaml('web', 1).replace('apps/v1', 'apps/v1beta2'), /apiVersion: "apps\/v1beta2" does not serve kind "ReplicaSet": use "apps\/v1"/)
      refuse(rsYaml('web', 1).replace('replicas: 1', 'replicas: 1\n  replicaz: 2'), /spec\.replicaz: unknown field/)
      refuse(rsYaml('web', 1).replace("command: [sleep, '1000']", "command: [sleep, '1000'], ports: [{containerPort: 99999}]"), /spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: must be from 1 to 65535/)
      nothingMade()
    })

    it('creates nothing when a later document is bad or a name is given twice', () => {
      refuse(`${rsYaml('one', 1)}---${rsYaml('two', -3)}`, /document 2 \(replicaset\.apps\/two\): spec\.replicas/)
      refuse(`${rsYaml('one', 1)}---${rsYaml('one', 2)}`, /document 2: metadata\.name: duplicate replicaset\.apps\/one \(also in .*document 1\)/)
      nothingMade()
    })

    it('refuses a change of an immutable field, and keeps the object as it was', async () => {
      apply('web', rsYaml('web', 1))
      const r = w().podnet(['apply', '-f', w().manifest('web2', rsYaml('web', 1).replace('{matchLabels: {app: web}}', '{matchLabels: {app: web, x: y}}').replace('labels: {app: web}', 'labels: {app: web, x: y}'))])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /spec\.selector: field is immutable/)
      assert.deepEqual(getObj<ReplicaSet>('rs', 'web').spec.selector, { matchLabels: { app: 'web' } })
      assert.match(w().ok('apply', '-f', w().manifest('web', rsYaml('web', 1))), /replicaset\.apps\/web unchanged/)
      await eventually(() => (running('ReplicaSet/web').length === 1 ? true : undefined), 20_000, 'one pod')
    })
  })

  describe('ReplicaSet', () => {
    it('keeps 3 pods: replaces a removed one and one whose sandbox died; restarts a killed container in place', async () => {
      assert.match(apply('web', rsYaml('web', 3, `, podnet.io/network: ${w().network}, podnet.io/host-netns: ${w().topo.host.name}`)), /replicaset\.apps\/web created/)
      const first = await eventually(() => { const r = running('ReplicaSet/web'); return r.length === 3 ? r : undefined }, 30_000, '3 running pods')
      for (const p of first) {
        assert.match(p.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
        assert.deepEqual(p.spec.labels, { app: 'web' })
        assert.match(p.sandbox.ips[0] ?? '', /^10\.79\.0\.\d+\/24$/)
      }
      await eventually(() => (getObj<ReplicaSet>('rs', 'web').status?.readyReplicas === 3 ? true : undefined), 10_000, 'status.readyReplicas 3')
      assert.match(w().ok('pod', 'ls'), /OWNER[\s\S]*ReplicaSet\/web/)

      // pod rm: replaced by a new pod
      const [a, b, c] = first
      w().ok('pod', 'rm', a!.name, '-t', '0')
      const afterRm = await eventually(() => { const r = running('ReplicaSet/web'); return r.length === 3 && !r.some((p) => p.name === a!.name) ? r : undefined }, 20_000, 'a replacement')
      assert.equal(afterRm.filter((p) => p.name !== b!.name && p.name !== c!.name).length, 1)

      // kill -9 of the pause: the sandbox died, the pod failed; replaced, the failed one removed
      process.kill(b!.sandbox.pause!.pid, 'SIGKILL')
      await eventually(() => { const r = running('ReplicaSet/web'); return r.length === 3 && !pods('ReplicaSet/web').some((p) => p.name === b!.name) ? r : undefined }, 20_000, 'b replaced and removed')

      // kill -9 of the container's process: the kubelet's answer, a restart in the same pod
      const cs = c!.containers[0]!.state
      assert.equal(cs.status, 'running')
      if (cs.status === 'running') process.kill(cs.pid, 'SIGKILL')
      const back = await eventually(() => { const p = store().read(c!.name); return p && p.containers[0]!.restartCount === 1 && p.containers[0]!.state.status === 'running' ? p : undefined }, 20_000, 'c restarted')
      assert.equal(back.name, c!.name)
      assert.equal(running('ReplicaSet/web').length, 3)
      const ev = w().ok('describe', 'rs', 'web')
      assert.match(ev, /SuccessfulCreate .*Created pod: web-/)
      assert.match(ev, new RegExp(`SuccessfulDelete .*Deleted pod: ${b!.name} \\(it ended \\(Failed: SandboxDied\\)\\)`))
    })

    it('scales 3 -> 5 -> 1, removing the newest pods first, and deletes its pods with it', async () => {
      apply('sc', rsYaml('sc', 3))
      const three = await eventually(() => { const r = running('ReplicaSet/sc'); return r.length === 3 ? r : undefined }, 30_000, '3 pods')
      assert.match(w().ok('scale', 'rs', 'sc', '--replicas', '5'), /replicaset\.apps\/sc scaled/)
      const five = await eventually(() => { const r = running('ReplicaSet/sc'); return r.length === 5 ? r : undefined }, 30_000, '5 pods')
      for (const p of three) assert.ok(five.some((x) => x.name === p.name), 'the first three stay')
      await eventually(() => (getObj<ReplicaSet>('rs', 'sc').status?.readyReplicas === 5 ? true : undefined), 10_000, 'status 5 ready')
      assert.match(w().ok('get', 'rs'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nsc\s+5\s+5\s+5\s+\d+s\n$/)
      w().ok('scale', 'replicaset/sc', '--replicas', '1')
      const one = await eventually(() => { const all = pods('ReplicaSet/sc'); return all.length === 1 && running('ReplicaSet/sc').length === 1 ? all : undefined }, 30_000, '1 pod')
      const oldest = [...five].sort((x, y) => Date.parse(x.createdAt) - Date.parse(y.createdAt))[0]!
      assert.equal(one[0]!.name, oldest.name, 'the oldest pod is the one kept')
      for (const p of five.filter((x) => x.name !== oldest.name)) for (const ref of podProcesses(p)) assert.ok(!isAlive(ref), `${p.name}: process ${ref.pid} gone`)
      const st = getObj<ReplicaSet>('rs', 'sc').status!
      assert.equal(st.replicas, 1)
      assert.equal(st.observedGeneration, 3)

      const procs = podProcesses(running('ReplicaSet/sc')[0]!)
      assert.match(w().ok('delete', 'rs', 'sc'), /replicaset\.apps "sc" deleted/)
      assert.deepEqual(pods('ReplicaSet/sc'), [])
      assert.deepEqual(w().leftovers(one[0]!.name, procs), [])
      assert.equal(w().podnet(['get', 'rs', 'sc']).status, 1)
    })

    it('delete --cascade orphan keeps the pods, without an owner', async () => {
      apply('orph', rsYaml('orph', 2))
      const two = await eventually(() => { const r = running('ReplicaSet/orph'); return r.length === 2 ? r : undefined }, 30_000, '2 pods')
      w().ok('delete', 'rs', 'orph', '--cascade', 'orphan')
      for (const p of two) {
        const now = store().read(p.name)!
        assert.equal(now.phase, 'Running')
        assert.equal(now.spec.ownerReferences, undefined)
        assert.equal(now.containers[0]!.restartCount, 0)
      }
    })

    it('survives kill -9 of the supervisor: the next one adopts the pods without restarting or duplicating them', async () => {
      apply('sur', rsYaml('sur', 3))
      const before = await eventually(() => { const r = running('ReplicaSet/sur'); return r.length === 3 ? r : undefined }, 30_000, '3 pods')
      const pid = w().supervisorPid()
      assert.ok(pid)
      process.kill(pid, 'SIGKILL')
      await eventually(() => (w().supervisorPid() === undefined ? true : undefined), 5000, 'the supervisor gone')
      // pods kept running meanwhile; a pod removed while no supervisor runs is replaced by the next one
      for (const p of before) for (const ref of podProcesses(p)) assert.ok(isAlive(ref))
      w().ok('pod', 'supervisor', 'start')
      await new Promise((r) => setTimeout(r, 1500))
      const after = running('ReplicaSet/sur')
      assert.deepEqual(after.map((p) => p.name).sort(), before.map((p) => p.name).sort())
      for (const p of after) {
        assert.equal(p.containers[0]!.restartCount, 0)
        const b = before.find((x) => x.name === p.name)!
        assert.deepEqual(p.containers[0]!.state, b.containers[0]!.state, 'the same process')
      }
      w().ok('scale', 'rs', 'sur', '--replicas', '4')
      await eventually(() => (running('ReplicaSet/sur').length === 4 ? true : undefined), 20_000, '4 pods')
      assert.equal(pods('ReplicaSet/sur').length, 4)
    })
  })

  describe('Job', () => {
    const jobYaml = (name: string, spec: string, cmd: string, restartPolicy = 'Never'): string => `
apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
${spec.split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n')}
  template:
    metadata: {annotations: {podnet.io/rootfs: ${rootfs()}}}
    spec:
      restartPolicy: ${restartPolicy}
      terminationGracePeriodSeconds: 1
      containers: [{name: c, command: [sh, -c, '${cmd}']}]
`
    const finished = (name: string, type: 'Complete' | 'Failed', ms = 60_000): Promise<Job> =>
      eventually(() => { const j = getObj<Job>('job', name); return j.status?.conditions?.some((c) => c.type === type && c.status === 'True') ? j : undefined }, ms, `job ${name} ${type}`)

    it('runs 5 completions at parallelism 2: never more than 2 at once, exactly 5 succeed', async () => {
      apply('five', jobYaml('five', 'completions: 5\nparallelism: 2', 'echo done; sleep 0.5'))
      let most = 0
      let done: Job | undefined
      const deadline = Date.now() + 60_000
      while (!done && Date.now() < deadline) {
        most = Math.max(most, pods('Job/five').filter((p) => p.phase === 'Running' || p.phase === 'Pending').length)
        const j = getObj<Job>('job', 'five')
        if (j.status?.conditions?.some((c) => c.type === 'Complete')) done = j
        await new Promise((r) => setTimeout(r, 30))
      }
      assert.ok(done, 'completed')
      assert.ok(most <= 2 && most >= 1, `at most 2 active, saw ${most}`)
      const all = pods('Job/five')
      assert.equal(all.length, 5)
      assert.ok(all.every((p) => p.phase === 'Succeeded'))
      for (const p of all) assert.equal(readFileSync(store().logPath(p.name, 'c'), 'utf8'), 'done\n')
      assert.equal(done!.status!.succeeded, 5)
      assert.equal(done!.status!.failed, 0)
      assert.ok(done!.status!.completionTime)
      assert.match(w().ok('get', 'jobs'), /five\s+Complete\s+5\/5/)
    })

    it('fails at backoffLimit with the back-off doubling between pods (BackoffLimitExceeded)', async () => {
      apply('fail', jobYaml('fail', 'backoffLimit: 2', 'exit 3'))
      const j = await finished('fail', 'Failed')
      const cond = j.status!.conditions!.find((c) => c.type === 'Failed')!
      assert.equal(cond.reason, 'BackoffLimitExceeded')
      assert.equal(j.status!.failed, 3)
      const ps = pods('Job/fail').sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
      assert.equal(ps.length, 3)
      assert.ok(ps.every((p) => p.phase === 'Failed' && p.containers[0]!.state.status === 'terminated' && p.containers[0]!.state.exitCode === 3))
      // 400 ms after the first failure, 800 ms after the second (PODNET_JOB_BACKOFF_BASE_MS=400)
      const gap1 = Date.parse(ps[1]!.createdAt) - Date.parse(ps[0]!.finishedAt!)
      const gap2 = Date.parse(ps[2]!.createdAt) - Date.parse(ps[1]!.finishedAt!)
      assert.ok(gap1 >= 390, `first back-off ${gap1} ms`)
      assert.ok(gap2 >= 790, `second back-off ${gap2} ms`)
      assert.match(w().ok('describe', 'job', 'fail'), /Warning\s+BackoffLimitExceeded .*Job has reached the specified backoff limit/)
    })

    it('Indexed: each index runs once, with JOB_COMPLETION_INDEX and hostname NAME-INDEX', async () => {
      apply('idx', jobYaml('idx', 'completions: 3\nparallelism: 3\ncompletionMode: Indexed', 'echo $JOB_COMPLETION_INDEX $(hostname)'))
      const j = await finished('idx', 'Complete')
      assert.equal(j.status!.completedIndexes, '0-2')
      const ps = pods('Job/idx')
      assert.equal(ps.length, 3)
      const outs = ps.map((p) => readFileSync(store().logPath(p.name, 'c'), 'utf8').trim()).sort()
      assert.deepEqual(outs, ['0 idx-0', '1 idx-1', '2 idx-2'])
      for (const p of ps) assert.match(p.name, new RegExp(`^idx-${p.spec.annotations['batch.kubernetes.io/job-completion-index']}-[a-z0-9]{5}$`))
    })

    it('activeDeadlineSeconds ends running pods (DeadlineExceeded)', async () => {
      apply('slow', jobYaml('slow', 'activeDeadlineSeconds: 2\nparallelism: 2\ncompletions: 2', 'sleep 1000'))
      const runningPods = await eventually(() => { const r = running('Job/slow'); return r.length === 2 ? r : undefined }, 20_000, '2 running')
      const j = await finished('slow', 'Failed', 20_000)
      assert.equal(j.status!.conditions!.find((c) => c.type === 'Failed')!.reason, 'DeadlineExceeded')
      const started = Date.parse(j.status!.startTime!)
      assert.ok(Date.parse(j.status!.conditions!.find((c) => c.type === 'Failed')!.lastTransitionTime) - started >= 2000)
      await eventually(() => (runningPods.every((p) => podProcesses(p).every((r) => !isAlive(r))) ? true : undefined), 10_000, 'processes gone')
      assert.equal(getObj<Job>('job', 'slow').status!.active, 0)
    })
  })
})
