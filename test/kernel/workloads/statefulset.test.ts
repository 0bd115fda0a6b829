/**
 * StatefulSets through the CLI and the supervisor it starts (real pods on a busybox rootfs, on
 * a bridge network): the ordered start observed (each pod made after the one below is Ready),
 * a deleted NAME-1 back with the same hostname, address and volume data, scale 3 -> 1 -> 3
 * stopping from the top (each gone before the next) and keeping the claims and the addresses
 * (reserved meanwhile), an ordinal's reserved address refused to another pod, a reservation lost
 * and its address taken (a fresh one and AddressChanged), a rolling update with a partition,
 * delete with its claims kept or deleted as asked and its reservations freed, --cascade=orphan, a
 * supervisor killed (kill -9) in the middle of an ordered start, bad input, and (last) a simulated
 * reboot. Oracles: the pod records and their Ready conditions, `pod exec` in the pods (hostname,
 * files), `ip -j addr` in the pod's namespace, the claims' directories on the host, the
 * network's DNS records, the reservations `network inspect` lists.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { NetworkManager } from '../../../src/bridge/index.js'
import { PodStore, type PodRecord } from '../../../src/runtime/index.js'
import { WorkloadStore, type StatefulSet } from '../../../src/workloads/index.js'
import { isAlive } from '../../../src/runtime/proc.js'
import { rebootTopology } from '../../support/reboot.js'
import { eventually, podProcesses, useCliWorld, type CliWorld } from '../runtime/support.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('kernel: workloads (StatefulSet)', function () {
  this.timeout(180_000)
  let world: (() => CliWorld) | undefined
  afterEach(function () {
    this.timeout(60_000)
    const w = world?.()
    if (!w) return
    for (const o of new WorkloadStore({ stateDir: w.topo.stateDir }).list('StatefulSet')) w.podnet(['delete', 'sts', o.metadata.name, '--grace-period', '0'])
  })
  world = useCliWorld()
  const w = (): CliWorld => world!()

  // after the simulated reboot (the last test), records are read as of the new boot
  const store = (): PodStore => {
    const bootId = w().env.PODNET_TEST_BOOT_ID
    return new PodStore({ stateDir: w().topo.stateDir, runDir: w().topo.runDir, ...(bootId !== undefined && { bootId }) })
  }
  const ws = (): WorkloadStore => new WorkloadStore({ stateDir: w().topo.stateDir })
  const sts = (name: string): StatefulSet | undefined => ws().read<StatefulSet>('StatefulSet', name)
  const podsOf = (name: string): PodRecord[] => store().list().filter((p) => p.spec.ownerReferences?.some((r) => r.kind === 'StatefulSet' && r.name === name)).sort((a, b) => a.name.localeCompare(b.name))
  const isReady = (p: PodRecord): boolean => p.phase === 'Running' && p.deletionTimestamp === undefined && p.containers.every((c) => c.state.status === 'running')
    && (p.conditions?.find((c) => c.type === 'Ready')?.status ?? 'True') === 'True'
  const readyAt = (p: PodRecord): number => Date.parse(p.conditions!.find((c) => c.type === 'Ready' && c.status === 'True')!.lastTransitionTime)
  const claimDir = (name: string, claim: string): string => join(w().topo.stateDir, 'workloads', 'volumes', name, claim)
  const ipOf = (p: PodRecord): string => p.sandbox.ips[0]!.split('/')[0]!
  const exec = (pod: string, ...cmd: string[]): string => w().ok('pod', 'exec', pod, '--', ...cmd)
  /** The address on the pod's eth0, read from its network namespace (ip -j). */
  const kernelIp = (p: PodRecord): string => {
    const out = JSON.parse(execFileSync('nsenter', [`--net=${p.sandbox.pins!.net}`, 'ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as Array<{ addr_info: Array<{ local: string }> }>
    return out[0]!.addr_info[0]!.local
  }

  /** The reservations of the network as `network inspect --json` lists them: "KEY IP", sorted. */
  const reservations = (): string[] => {
    const r = JSON.parse(w().ok('network', 'inspect', w().network, '--json', '--host-netns', w().topo.host.name)) as { reservations: Array<{ key: string; ifname: string; ip: string }> }
    return r.reservations.map((x) => `${x.key} ${x.ip}`).sort()
  }

  /** The set's manifest: a readiness probe that passes once the container has touched /tmp/ready (about 1 s after it starts). */
  const stsYaml = (name: string, replicas: number, extra = '', cmd = 'sleep 1; touch /tmp/ready; sleep 1000'): string => `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  serviceName: ${name}-svc
${extra.split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n')}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {podnet.io/rootfs: ${w().rootfs}, podnet.io/network: ${w().network}, podnet.io/host-netns: ${w().topo.host.name}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        command: [sh, -c, '${cmd}']
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`
  const apply = (name: string, yaml: string): string => w().ok('apply', '-f', w().manifest(name, yaml))
  const allReady = (name: string, n: number, ms = 60_000): Promise<PodRecord[]> => eventually(() => {
    const pods = podsOf(name)
    const s = sts(name)
    return pods.length === n && pods.every(isReady) && s?.status?.readyReplicas === n && s.status.observedGeneration === s.metadata.generation ? pods : undefined
  }, ms, `${n} pods of ${name} ready`)

  /** Samples the set's pods every 20 ms until stop(): each sample, the pods present (name, ready, terminating). */
  function sampler(name: string): { stop: () => Promise<Array<Array<{ name: string; ready: boolean; terminating: boolean }>>> } {
    let running = true
    const samples: Array<Array<{ name: string; ready: boolean; terminating: boolean }>> = []
    const loop = (async () => {
      while (running) {
        samples.push(podsOf(name).map((p) => ({ name: p.name, ready: isReady(p), terminating: p.deletionTimestamp !== undefined })))
        await sleep(20)
      }
    })()
    return { stop: async () => { running = false; await loop; return samples } }
  }

  it('starts NAME-0..2 in order, each after the one below is Ready; identity: hostname, subdomain in DNS, a claim each; get and describe', async () => {
    const s = sampler('web')
    assert.match(apply('web', stsYaml('web', 3)), /statefulset\.apps\/web created/)
    const pods = await allReady('web', 3)
    const samples = await s.stop()
    assert.deepEqual(pods.map((p) => p.name), ['web-0', 'web-1', 'web-2'])
    // the records: each pod made after the previous one's Ready condition turned True
    for (let i = 1; i < 3; i++) {
      assert.ok(Date.parse(pods[i]!.createdAt) >= readyAt(pods[i - 1]!), `web-${i} created ${pods[i]!.createdAt}, web-${i - 1} ready at ${new Date(readyAt(pods[i - 1]!)).toISOString()}`)
    }
    // the samples: never a pod whose lower neighbour is missing or not ready
    assert.ok(samples.length > 20, `sampled ${samples.length} times`)
    for (const sample of samples) {
      for (const p of sample) {
        const i = Number(p.name.slice('web-'.length))
        if (i > 0) assert.ok(sample.some((q) => q.name === `web-${i - 1}` && q.ready), `${p.name} present while web-${i - 1} was not ready: ${JSON.stringify(sample)}`)
      }
    }
    for (const p of pods) {
      assert.equal(exec(p.name, 'hostname').trim(), p.name)
      assert.equal(p.spec.subdomain, 'web-svc')
      assert.equal(p.spec.labels?.['statefulset.kubernetes.io/pod-name'], p.name)
      assert.ok(existsSync(claimDir('web', `data-${p.name}`)), `claim data-${p.name} on the host`)
      assert.equal(kernelIp(p), ipOf(p))
    }
    // POD.SERVICE in the network's DNS: the records, and a query from web-0 to the responder
    const records = (JSON.parse(w().ok('dns', 'records', w().network, '--json')) as { records: Array<{ name: string; fqdn: string; addresses: string[] }> }).records
    for (const p of pods) {
      const r = records.find((x) => x.name === `${p.name}.web-svc`)
      assert.ok(r, `${p.name}.web-svc in ${JSON.stringify(records.map((x) => x.name))}`)
      assert.deepEqual(r.addresses.map((a) => a.split('/')[0]), [ipOf(p)])
    }
    const st = sts('web')!.status!
    assert.equal(st.currentRevision, st.updateRevision)
    assert.equal(pods[0]!.spec.labels?.['controller-revision-hash'], st.updateRevision)
    assert.match(w().ok('get', 'sts'), /^NAME\s+READY\s+AGE\nweb\s+3\/3\s+\d+s\n$/)
    const desc = w().ok('describe', 'sts', 'web')
    assert.match(desc, /Replicas:\s+3 desired \| 3 total/)
    assert.match(desc, /Update Strategy:\s+RollingUpdate\n\s+Partition:\s+0/)
    assert.match(desc, /Volume Claims:\n\s+Name:\s+data\n[\s\S]*Capacity:\s+1Gi\n\s+Access Modes:\s+\[ReadWriteOnce\]/)
    assert.match(desc, /SuccessfulCreate .*statefulset-controller\s+create Claim data-web-0 Pod web-0 in StatefulSet web success/)
    assert.match(desc, /SuccessfulCreate .*statefulset-controller\s+create Pod web-2 in StatefulSet web successful/)
  })

  it('a deleted web-1 comes back with the same hostname, the same address and the same data in its volume', async () => {
    apply('web', stsYaml('web', 3))
    const pods = await allReady('web', 3)
    const before = pods[1]!
    exec('web-1', 'sh', '-c', 'echo written-by-the-first-web-1 > /data/f')
    w().ok('delete', 'pod', 'web-1', '--grace-period', '0')
    const after = await eventually(() => {
      const p = podsOf('web').find((x) => x.name === 'web-1')
      return p && p.createdAt !== before.createdAt && isReady(p) ? p : undefined
    }, 60_000, 'web-1 made again and ready')
    assert.equal(exec('web-1', 'hostname').trim(), 'web-1')
    assert.equal(ipOf(after), ipOf(before), 'the same address')
    assert.equal(kernelIp(after), ipOf(before), 'on the pod\'s eth0')
    assert.equal(exec('web-1', 'cat', '/data/f'), 'written-by-the-first-web-1\n')
    assert.equal(readFileSync(join(claimDir('web', 'data-web-1'), 'f'), 'utf8'), 'written-by-the-first-web-1\n')
    assert.deepEqual(podsOf('web').map((p) => p.name), ['web-0', 'web-1', 'web-2'])
    assert.equal(podsOf('web')[0]!.createdAt, pods[0]!.createdAt, 'web-0 untouched')
    assert.equal(podsOf('web')[2]!.createdAt, pods[2]!.createdAt, 'web-2 untouched')
  })

  it('scale 3 -> 1 stops web-2, then web-1 once web-2 is gone; 1 -> 3 brings them back with their data', async () => {
    apply('web', stsYaml('web', 3))
    const pods = await allReady('web', 3)
    for (const p of pods) exec(p.name, 'sh', '-c', `echo data-of-${p.name} > /data/f`)
    const s = sampler('web')
    assert.match(w().ok('scale', 'sts', 'web', '--replicas', '1'), /statefulset\.apps\/web scaled/)
    await allReady('web', 1)
    const samples = await s.stop()
    // web-1 is never being deleted while web-2 is still there
    for (const sample of samples) {
      if (sample.some((p) => p.name === 'web-1' && p.terminating)) assert.ok(!sample.some((p) => p.name === 'web-2'), `web-1 terminating while web-2 exists: ${JSON.stringify(sample)}`)
    }
    assert.ok(samples.some((x) => x.some((p) => p.name === 'web-2' && p.terminating)), 'web-2 seen terminating')
    const events = ws().events('StatefulSet', 'web').map((e) => e.message)
    const i2 = events.findIndex((m) => m.startsWith('delete Pod web-2 in StatefulSet web successful'))
    const i1 = events.findIndex((m) => m.startsWith('delete Pod web-1 in StatefulSet web successful'))
    assert.ok(i2 >= 0 && i1 > i2, `web-2 deleted before web-1: ${events.join(' | ')}`)
    for (const c of ['data-web-1', 'data-web-2']) assert.equal(readFileSync(join(claimDir('web', c), 'f'), 'utf8'), `data-of-${c.slice(5)}\n`, `${c} kept after the scale down`)
    // the addresses of web-1 and web-2 are reserved while they have no pod
    assert.deepEqual(reservations(), [`statefulset/web/1 ${ipOf(pods[1]!)}`, `statefulset/web/2 ${ipOf(pods[2]!)}`])
    w().ok('scale', 'sts', 'web', '--replicas', '3')
    const back = await allReady('web', 3)
    for (const p of back) assert.equal(exec(p.name, 'cat', '/data/f'), `data-of-${p.name}\n`)
    for (let i = 0; i < 3; i++) {
      assert.equal(ipOf(back[i]!), ipOf(pods[i]!), `web-${i} has its address again`)
      assert.equal(kernelIp(back[i]!), ipOf(pods[i]!), `web-${i}: on its eth0`)
    }
    assert.deepEqual(reservations(), [], 'taken back')
    assert.ok(!ws().events('StatefulSet', 'web').some((e) => e.reason === 'AddressChanged'))
  })

  it('an ordinal without its pod keeps its address reserved: another pod asking for it is refused, one asking for nothing gets another; the pod made again has it', async () => {
    apply('addr', stsYaml('addr', 1))
    const [first] = await allReady('addr', 1)
    const kept = ipOf(first!)
    assert.equal(first!.spec.addressReservation, 'statefulset/addr/0')
    assert.match(w().ok('pod', 'inspect', 'addr-0'), /\nIP reserved:\s+as statefulset\/addr\/0 while the pod has no sandbox\n/)
    assert.deepEqual(reservations(), [], 'nothing reserved while the pod runs')
    w().ok('scale', 'sts', 'addr', '--replicas', '0')
    await eventually(() => (podsOf('addr').length === 0 ? true : undefined), 30_000, 'addr-0 gone')
    assert.deepEqual(reservations(), [`statefulset/addr/0 ${kept}`])
    const host = w().topo.host.name
    assert.match(w().ok('network', 'inspect', w().network, '--host-netns', host), new RegExp(`reserved addresses .*\\nKEY\\s+IFNAME\\s+ADDRESS\\s+RESERVED AT\\nstatefulset/addr/0\\s+eth0\\s+${kept.replace(/\./g, '\\.')}\\s+\\d{4}-`))
    w().ok('netns', 'add', 'pn-squat')
    try {
      // someone else asks for addr-0's address: refused, naming the reservation; nothing attached
      const r = w().podnet(['network', 'attach', w().network, '--pod-netns', 'pn-squat', '--id', 'squatter', '--ip', kept, '--host-netns', host])
      assert.notEqual(r.status, 0, r.stdout)
      assert.match(r.stderr, new RegExp(`${kept.replace(/\./g, '\\.')}.*owned by the reservation 'statefulset/addr/0' ifname 'eth0'`))
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
      // without a request: another address
      const att = JSON.parse(w().ok('network', 'attach', w().network, '--pod-netns', 'pn-squat', '--id', 'squatter', '--host-netns', host, '--json')) as { addresses: Array<{ address: string }> }
      assert.notEqual(att.addresses[0]!.address.split('/')[0], kept)
      // the gc keeps the reservation
      w().ok('network', 'gc', '--host-netns', host)
      assert.deepEqual(reservations(), [`statefulset/addr/0 ${kept}`])
      w().ok('scale', 'sts', 'addr', '--replicas', '1')
      const [second] = await allReady('addr', 1)
      assert.equal(ipOf(second!), kept)
      assert.equal(kernelIp(second!), kept)
      assert.deepEqual(reservations(), [])
      assert.ok(!ws().events('StatefulSet', 'addr').some((e) => e.reason === 'AddressChanged'), 'no AddressChanged')
      // a deleted pod (not a scale down) the same way
      w().ok('delete', 'pod', 'addr-0', '--grace-period', '0')
      const third = await eventually(() => {
        const p = podsOf('addr')[0]
        return p && p.createdAt !== second!.createdAt && isReady(p) ? p : undefined
      }, 60_000, 'addr-0 made again')
      assert.equal(ipOf(third), kept)
      assert.equal(kernelIp(third), kept)
    } finally {
      w().podnet(['network', 'detach', w().network, '--id', 'squatter', '--host-netns', host])
      w().podnet(['netns', 'del', 'pn-squat'])
    }
  })

  it('a reservation lost (as the run dir loses it in a reboot) and its address taken meanwhile: a fresh one, an AddressChanged event, and the fresh one kept from then on', async () => {
    apply('lost', stsYaml('lost', 1))
    const [first] = await allReady('lost', 1)
    const taken = ipOf(first!)
    w().ok('scale', 'sts', 'lost', '--replicas', '0')
    await eventually(() => (podsOf('lost').length === 0 ? true : undefined), 30_000, 'lost-0 gone')
    const host = w().topo.host.name
    const m = new NetworkManager({ stateDir: w().topo.stateDir, runDir: w().topo.runDir, hostNetns: host })
    try {
      assert.deepEqual((await m.releaseReservations('statefulset/lost/')).map((r) => r.ip), [taken])
    } finally {
      m.close()
    }
    w().ok('netns', 'add', 'pn-squat')
    try {
      // someone else takes lost-0's address
      w().ok('network', 'attach', w().network, '--pod-netns', 'pn-squat', '--id', 'squatter', '--ip', taken, '--host-netns', host)
      w().ok('scale', 'sts', 'lost', '--replicas', '1')
      const [second] = await allReady('lost', 1)
      const fresh = ipOf(second!)
      assert.notEqual(fresh, taken)
      assert.equal(kernelIp(second!), fresh)
      const ev = ws().events('StatefulSet', 'lost').find((e) => e.reason === 'AddressChanged')
      assert.ok(ev, 'an AddressChanged event')
      assert.equal(ev.type, 'Warning')
      assert.match(ev.message, new RegExp(`pod lost-0 could not have its address ${taken.replace(/\./g, '\\.')} on network ${w().network} again .*: it has ${fresh.replace(/\./g, '\\.')}, its address from now on`))
      // the fresh address is lost-0's from now on (reserved while it has no pod), also once the old one is free again
      w().ok('network', 'detach', w().network, '--id', 'squatter', '--host-netns', host)
      w().ok('delete', 'pod', 'lost-0', '--grace-period', '0')
      const third = await eventually(() => {
        const p = podsOf('lost')[0]
        return p && p.createdAt !== second!.createdAt && isReady(p) ? p : undefined
      }, 60_000, 'lost-0 made again')
      assert.equal(ipOf(third), fresh)
    } finally {
      w().podnet(['network', 'detach', w().network, '--id', 'squatter', '--host-netns', host])
      w().podnet(['netns', 'del', 'pn-squat'])
    }
  })

  it('a rolling update goes from web-2 down to the partition; lowering it finishes the update', async () => {
    apply('web', stsYaml('web', 3, 'updateStrategy: {rollingUpdate: {partition: 1}}'))
    const v1 = await allReady('web', 3)
    const rev1 = sts('web')!.status!.updateRevision
    apply('web', stsYaml('web', 3, 'updateStrategy: {rollingUpdate: {partition: 1}}', 'echo v2; sleep 1; touch /tmp/ready; sleep 1000'))
    await eventually(() => {
      const st = sts('web')!.status
      return st && st.updateRevision !== rev1 && st.updatedReplicas === 2 && podsOf('web').every(isReady) ? true : undefined
    }, 60_000, 'web-2 and web-1 updated')
    const pods = podsOf('web')
    const st = sts('web')!.status!
    assert.equal(pods[0]!.createdAt, v1[0]!.createdAt, 'web-0 is below the partition: untouched')
    assert.deepEqual(pods.map((p) => p.spec.labels?.['controller-revision-hash']), [rev1, st.updateRevision, st.updateRevision])
    assert.equal(st.currentRevision, rev1)
    assert.ok(Date.parse(pods[1]!.createdAt) >= readyAt(pods[2]!), 'web-1 replaced after the new web-2 was ready')
    apply('web', stsYaml('web', 3, 'updateStrategy: {rollingUpdate: {partition: 0}}', 'echo v2; sleep 1; touch /tmp/ready; sleep 1000'))
    await eventually(() => (sts('web')!.status?.currentRevision === st.updateRevision && podsOf('web').every(isReady) ? true : undefined), 60_000, 'the update complete')
    for (const p of podsOf('web')) assert.equal(readFileSync(store().logPath(p.name, 'c'), 'utf8'), 'v2\n')
  })

  it('rollout status, history, undo and restart of a StatefulSet, as kubectl prints them', async () => {
    apply('roll', stsYaml('roll', 2))
    await allReady('roll', 2)
    const rev1 = sts('roll')!.status!.updateRevision
    assert.equal(w().ok('rollout', 'status', 'sts', 'roll', '--timeout', '60s'), `statefulset rolling update complete 2 pods at revision ${rev1}...\n`)
    apply('roll', stsYaml('roll', 2, '', 'sleep 1; touch /tmp/ready; sleep 1001'))
    const out = w().ok('rollout', 'status', 'statefulset/roll', '--timeout', '90s')
    const rev2 = sts('roll')!.status!.updateRevision
    assert.notEqual(rev2, rev1)
    assert.match(out, new RegExp(`^(Waiting for .*\\.\\.\\.\\n|waiting for statefulset rolling update to complete \\d pods at revision ${rev2}\\.\\.\\.\\n)*statefulset rolling update complete 2 pods at revision ${rev2}\\.\\.\\.\\n$`))
    const cmdOf = (p: PodRecord): string => p.spec.containers[0]!.argv.join(' ')
    assert.deepEqual(podsOf('roll').map(cmdOf), ['sh -c sleep 1; touch /tmp/ready; sleep 1001', 'sh -c sleep 1; touch /tmp/ready; sleep 1001'])
    assert.match(w().ok('rollout', 'history', 'sts', 'roll'), /^statefulset\.apps\/roll\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n$/)
    assert.match(w().ok('rollout', 'history', 'sts', 'roll', '--revision', '1'), /^statefulset\.apps\/roll with revision #1\nPod Template:\n[\s\S]*Command:\tsh -c sleep 1; touch \/tmp\/ready; sleep 1000\n$/)

    // undo: revision 1's template comes back as revision 3, rolled out from the highest ordinal
    assert.equal(w().ok('rollout', 'undo', 'sts', 'roll'), 'statefulset.apps/roll rolled back\n')
    assert.match(w().ok('rollout', 'status', 'sts', 'roll', '--timeout', '90s'), new RegExp(`statefulset rolling update complete 2 pods at revision ${rev1}\\.\\.\\.\\n$`))
    assert.deepEqual(podsOf('roll').map(cmdOf), ['sh -c sleep 1; touch /tmp/ready; sleep 1000', 'sh -c sleep 1; touch /tmp/ready; sleep 1000'])
    assert.match(w().ok('rollout', 'history', 'sts', 'roll'), /\n2\s+<none>\n3\s+<none>\n$/)
    assert.equal(w().ok('rollout', 'undo', 'sts', 'roll', '--to-revision', '3'), 'statefulset.apps/roll skipped rollback (current template already matches revision 3)\n')
    const bad = w().podnet(['rollout', 'undo', 'sts', 'roll', '--to-revision', '9'])
    assert.deepEqual([bad.status, bad.stderr], [2, 'podnet: --to-revision: unable to find specified revision 9 in history\n'])

    // restart: the same template with restartedAt, every pod replaced
    const before = podsOf('roll')
    assert.equal(w().ok('rollout', 'restart', 'sts', 'roll'), 'statefulset.apps/roll restarted\n')
    w().ok('rollout', 'status', 'sts', 'roll', '--timeout', '90s')
    const after = await allReady('roll', 2)
    for (const [i, p] of after.entries()) assert.notEqual(p.createdAt, before[i]!.createdAt, `${p.name} replaced`)
    assert.match(sts('roll')!.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const job = w().podnet(['rollout', 'history', 'job', 'nope'])
    assert.deepEqual([job.status, job.stderr], [2, 'podnet: KIND: rollout history of job is not supported by podnet (deployments, daemonsets and statefulsets)\n'])
  })

  it('delete keeps the claims by default (a new set of the same name finds them); whenDeleted: Delete removes them; --cascade=orphan keeps the pods', async () => {
    apply('keep', stsYaml('keep', 1))
    await allReady('keep', 1)
    exec('keep-0', 'sh', '-c', 'echo kept > /data/f')
    assert.match(w().ok('delete', 'sts', 'keep', '--grace-period', '0'), /statefulset\.apps "keep" deleted/)
    assert.deepEqual(podsOf('keep'), [])
    assert.equal(readFileSync(join(claimDir('keep', 'data-keep-0'), 'f'), 'utf8'), 'kept\n', 'Retain: the claim stays')
    apply('keep', stsYaml('keep', 1))
    await allReady('keep', 1)
    assert.equal(exec('keep-0', 'cat', '/data/f'), 'kept\n', 'a set of the same name gets the claim back')

    apply('drop', stsYaml('drop', 1, 'persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}'))
    await allReady('drop', 1)
    assert.ok(existsSync(claimDir('drop', 'data-drop-0')))
    w().ok('delete', 'sts', 'drop', '--grace-period', '0')
    assert.ok(!existsSync(join(w().topo.stateDir, 'workloads', 'volumes', 'drop')), 'whenDeleted: Delete: the claims are gone')
    assert.deepEqual(reservations(), [], 'the addresses of keep-0 and drop-0 are free')

    const [p0] = await allReady('keep', 1)
    w().ok('delete', 'sts', 'keep', '--cascade=orphan')
    assert.equal(sts('keep'), undefined)
    const orphan = store().read('keep-0')!
    assert.equal(orphan.createdAt, p0!.createdAt)
    assert.ok(isReady(orphan))
    assert.equal(orphan.spec.ownerReferences, undefined)
    assert.equal(orphan.spec.addressReservation, undefined, 'an orphan\'s address is freed when it goes')
    // applied again, the set adopts its pod instead of making another, and its address is the ordinal's again
    apply('keep', stsYaml('keep', 1))
    await allReady('keep', 1)
    assert.equal(podsOf('keep')[0]!.createdAt, p0!.createdAt, 'adopted, not replaced')
    await eventually(() => (store().read('keep-0')?.spec.addressReservation === 'statefulset/keep/0' ? true : undefined), 10_000, 'the adopted pod carries its key')

    // the claims as kubectl shows them; one in use cannot be deleted, one no pod can use any more can
    // (the earlier tests' sets left their claims: Retain)
    assert.match(w().ok('get', 'pvc'), /^NAME\s+STATUS\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+AGE\n(.*\n)*data-keep-0\s+Bound\s+1Gi\s+RWO\s+<unset>\s+\d+[sm]\n/)
    assert.match(w().ok('get', 'persistentvolumeclaims', '-o', 'wide'), new RegExp(`\\ndata-keep-0 .*keep\\s+${claimDir('keep', 'data-keep-0')}\\n`))
    const busy = w().podnet(['delete', 'pvc', 'data-keep-0'])
    assert.equal(busy.status, 1)
    assert.equal(busy.stderr, 'podnet: persistentvolumeclaim "data-keep-0" is in use by statefulset.apps "keep" (ordinal 0 of 1 replicas): scale it to 0 or fewer, or delete it, first\n')
    assert.ok(existsSync(claimDir('keep', 'data-keep-0')), 'a refused delete leaves the claim')
    w().ok('scale', 'sts', 'keep', '--replicas', '0')
    await eventually(() => (podsOf('keep').length === 0 ? true : undefined), 30_000, 'keep-0 gone')
    assert.match(w().ok('delete', 'pvc', 'data-keep-0'), /^persistentvolumeclaim "data-keep-0" deleted\n$/)
    assert.ok(!existsSync(claimDir('keep', 'data-keep-0')) && !existsSync(`${claimDir('keep', 'data-keep-0')}.json`), 'the volume and its record gone')
    const gone = w().podnet(['get', 'pvc', 'data-keep-0'])
    assert.deepEqual([gone.status, gone.stderr], [1, "podnet: persistentvolumeclaim 'data-keep-0' does not exist\n"])
  })

  it('delete frees the addresses reserved for its ordinals (scaled away, or its pods just removed): another pod can have them', async () => {
    apply('gone', stsYaml('gone', 2))
    const pods = await allReady('gone', 2)
    const ips = pods.map(ipOf)
    w().ok('scale', 'sts', 'gone', '--replicas', '1')
    await allReady('gone', 1)
    assert.deepEqual(reservations(), [`statefulset/gone/1 ${ips[1]}`])
    w().ok('delete', 'sts', 'gone', '--grace-period', '0')
    assert.deepEqual(podsOf('gone'), [])
    assert.deepEqual(reservations(), [], 'gone-0 (reserved as its pod went) and gone-1 freed')
    const host = w().topo.host.name
    const names = ['pn-sq0', 'pn-sq1']
    try {
      names.forEach((ns, i) => {
        w().ok('netns', 'add', ns)
        w().ok('network', 'attach', w().network, '--pod-netns', ns, '--id', ns, '--ip', ips[i]!, '--host-netns', host)
        const got = JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as Array<{ addr_info: Array<{ local: string }> }>
        assert.equal(got[0]!.addr_info[0]!.local, ips[i])
      })
    } finally {
      for (const ns of names) {
        w().podnet(['network', 'detach', w().network, '--id', ns, '--host-netns', host])
        w().podnet(['netns', 'del', ns])
      }
    }
  })

  it('a supervisor killed (kill -9) in the middle of an ordered start: the next one goes on from there, without duplicates', async () => {
    // each pod ready 2 s after it starts
    apply('kill', stsYaml('kill', 4, '', 'sleep 2; touch /tmp/ready; sleep 1000'))
    // between two pods: kill-1 made (its SuccessfulCreate recorded) and running, not ready yet
    const made1 = (): boolean => ws().events('StatefulSet', 'kill').some((e) => e.message.startsWith('create Pod kill-1 '))
    await eventually(() => (made1() && podsOf('kill').some((p) => p.name === 'kill-1' && p.phase === 'Running' && !isReady(p)) ? true : undefined), 60_000, 'kill-1 running')
    const pid = w().supervisorPid()
    assert.ok(pid)
    process.kill(pid, 'SIGKILL')
    await eventually(() => (w().supervisorPid() === undefined ? true : undefined), 5000, 'the supervisor gone')
    const atKill = podsOf('kill').map((p) => `${p.name}@${p.createdAt}`)
    await sleep(3000)
    assert.deepEqual(podsOf('kill').map((p) => `${p.name}@${p.createdAt}`), atKill, 'nothing made while no supervisor runs')
    const s = sampler('kill')
    w().ok('pod', 'supervisor', 'start')
    const pods = await allReady('kill', 4)
    const samples = await s.stop()
    assert.deepEqual(pods.map((p) => p.name), ['kill-0', 'kill-1', 'kill-2', 'kill-3'])
    const said = ws().events('StatefulSet', 'kill').map((e) => `${e.reason}: ${e.message}`).join(' | ')
    for (const made of atKill) assert.ok(pods.some((p) => `${p.name}@${p.createdAt}` === made), `${made} kept, not made again: ${said}`)
    for (let i = 1; i < 4; i++) assert.ok(Date.parse(pods[i]!.createdAt) >= readyAt(pods[i - 1]!), `kill-${i} made after kill-${i - 1} was ready`)
    for (const sample of samples) assert.ok(new Set(sample.map((p) => p.name)).size === sample.length)
    assert.equal(store().list().filter((p) => p.name.startsWith('kill-')).length, 4, 'no stray pods')
    const creates = ws().events('StatefulSet', 'kill').filter((e) => e.reason === 'SuccessfulCreate' && e.message.startsWith('create Pod'))
    assert.deepEqual(creates.map((e) => [e.message.split(' ')[2], e.count]), [['kill-0', 1], ['kill-1', 1], ['kill-2', 1], ['kill-3', 1]], 'each pod made once')
  })

  it('bad input: one line naming the field, nothing created; serviceName may be left out', async () => {
    const refuse = (yaml: string, re: RegExp): void => {
      const r = w().podnet(['apply', '-f', w().manifest('bad', yaml)])
      assert.equal(r.status, 2, r.stderr)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, re)
    }
    refuse(stsYaml('bad', 2).replace('selector: {matchLabels: {app: bad}}', 'selector: {matchLabels: {app: other}}'), /statefulset\.apps\/bad\): spec\.template\.metadata\.labels: .* does not match spec\.selector \(app=other\)/)
    refuse(stsYaml('bad', -1), /spec\.replicas: must be greater than or equal to 0, got -1/)
    refuse(stsYaml('bad', 1, 'podManagementPolicy: Sometimes'), /spec\.podManagementPolicy: unsupported value "Sometimes"/)
    refuse(stsYaml('bad', 1).replace('resources: {requests: {storage: 1Gi}}', 'resources: {}'), /spec\.volumeClaimTemplates\[0\]\.spec\.resources\[storage\]: required/)
    refuse(stsYaml('bad', 1).replace('{name: data, mountPath: /data}', '{name: nothing, mountPath: /data}'), /spec\.template\.spec\.containers\[0\]\.volumeMounts\[0\]\.name: not found: no volume named "nothing"/)
    assert.deepEqual(ws().list('StatefulSet'), [])
    assert.deepEqual(store().list(), [])
    assert.ok(!existsSync(join(w().topo.stateDir, 'workloads', 'volumes', 'bad')))
    // serviceName is optional (as in recent Kubernetes): the pods have no subdomain
    apply('nosvc', stsYaml('nosvc', 1).replace('  serviceName: nosvc-svc\n', ''))
    const [p] = await allReady('nosvc', 1)
    assert.equal(p!.spec.subdomain, undefined)
    assert.equal(p!.spec.hostname, 'nosvc-0')
    // a selector is immutable, as the rest of the spec but replicas, template, updateStrategy, retention and minReadySeconds
    refuse(stsYaml('nosvc', 1).replace('  serviceName: nosvc-svc\n', '  serviceName: other\n'), /spec\.serviceName: updates to statefulset spec for fields other than/)
  })
  // last: every later command is of the new boot
  it('after a reboot the pods come back with their names, addresses and claims, and the set goes on', async () => {
    apply('boot', stsYaml('boot', 2))
    const before = await allReady('boot', 2)
    for (const p of before) exec(p.name, 'sh', '-c', `echo before-reboot-${p.name} > /data/f`)
    const oldProcs = before.flatMap(podProcesses)
    const { bootId } = await rebootTopology(w().topo, { cgroupParents: [w().cgroupParent] })
    w().env.PODNET_TEST_BOOT_ID = bootId
    assert.deepEqual(oldProcs.filter((p) => isAlive(p)), [], 'the old processes died with the machine')
    // the boot units (docs/reliability.md): networks, then the supervisor
    w().ok('network', 'restore', '--host-netns', w().topo.host.name)
    w().ok('pod', 'supervisor', 'start')
    const after = await eventually(() => {
      const pods = podsOf('boot')
      return pods.length === 2 && pods.every((p) => isReady(p) && p.bootId === bootId) ? pods : undefined
    }, 60_000, 'the pods restored')
    for (let i = 0; i < 2; i++) {
      const p = after[i]!
      assert.equal(p.name, `boot-${i}`)
      assert.equal(p.restored?.cause, 'NodeRestart')
      assert.equal(ipOf(p), ipOf(before[i]!), 'the same address')
      assert.equal(kernelIp(p), ipOf(before[i]!))
      assert.equal(exec(p.name, 'hostname').trim(), p.name)
      assert.equal(exec(p.name, 'cat', '/data/f'), `before-reboot-${p.name}\n`)
    }
    // and the controller goes on: a third pod, in order
    w().ok('scale', 'sts', 'boot', '--replicas', '3')
    const three = await allReady('boot', 3)
    assert.ok(Date.parse(three[2]!.createdAt) >= readyAt(three[1]!))
  })
})
