/**
 * Ownership across state directories, end to end: a network made with the CLI (`podnet network
 * create` and `podnet network attach` through bin/podnet.js, its own state dir) and a network of
 * podnet-cni (bin/podnet-cni.js run with CNI_COMMAND=ADD/CHECK/DEL/GC, podnet.stateDir its own)
 * side by side in one host namespace, sharing the `inet podnet` table. A CNI GC whose
 * cni.dev/valid-attachments lists only some of its attachments removes the others and leaves the
 * CLI network exactly as it was; the CLI's `network gc` and `network rm --force` leave the CNI
 * network exactly as it was. "Exactly" is read back with the oracles (`ip -j`, `bridge -j`,
 * `nft -j list ruleset`: rules with their handles and expressions, map elements, the bridges set),
 * the records on disk, podnet's own check and inspect, and real packets.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bridgeJson, createTopology, ipJson, nftRuleset, probe, serve, stopServers, unreachable, UPSTREAM, type TempNetns, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniExec, podAddrs, type CniCall } from './helpers.js'

const PODNET_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')
const CLI_NET = 'clinet'
const CLI_BRIDGE = `pn-${CLI_NET}`
const CNI_NET = 'cninet'
const CNI_BRIDGE = 'cni-own0'
const CNI_IDS = ['cni-keep', 'cni-gone-1', 'cni-gone-2'] as const
const CNI_PORT: Record<string, number> = { 'cni-keep': 8081, 'cni-gone-1': 8082, 'cni-gone-2': 8083 }

/** Every file under `dir` with its content (relative path -> text); {} when there is no dir. */
function files(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {}
  const out: Record<string, string> = {}
  for (const f of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, f)
    if (statSync(p).isFile()) out[relative(dir, p)] = readFileSync(p, 'utf8')
  }
  return out
}

/** nf_tables JSON with counters zeroed (packets move while we look). */
const noCounters = (x: unknown): unknown => JSON.parse(JSON.stringify(x).replace(/\{"packets":\d+,"bytes":\d+\}/g, '"n"'))

/** The owner id in a podnet tag: "podnet o=1234abcd net=web ..." -> "1234abcd". */
const ownerOf = (tag: string | undefined): string => {
  const m = /^podnet o=([0-9a-f]{8}) /.exec(tag ?? '')
  assert.ok(m, `not a podnet owner tag: ${tag}`)
  return m[1]!
}

describe('kernel: podnet-cni GC and the CLI side by side (ownership in one inet podnet table)', function () {
  this.timeout(120000)
  let topo: Topology
  let cliState: string
  let cniState: string
  beforeEach(function () {
    if (process.getuid?.() !== 0) this.skip()
    topo = createTopology()
    cliState = join(topo.stateDir, 'cli')
    cniState = join(topo.stateDir, 'cni')
  })
  afterEach(() => {
    stopServers()
    topo?.close()
  })

  /** The CLI through its executable, acting in the topology's host namespace on its own state dir. */
  const podnet = (...args: string[]): { status: number; stdout: string; stderr: string } => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PODNET_') || k === 'PODNET_IN_SANDBOX' || k === 'PODNET_OUTER_NETNS'))
    const r = spawnSync(process.execPath, [PODNET_BIN, ...args, '--host-netns', topo.host.name, '--state-dir', cliState, '--run-dir', join(cliState, 'run')], { encoding: 'utf8', env, timeout: 60000 })
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }
  const podnetOk = (...args: string[]): string => {
    const r = podnet(...args)
    assert.equal(r.status, 0, `podnet ${args.join(' ')}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }

  /** The CNI network's plugin entry, as a runtime hands it over. */
  const cniConf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0', name: CNI_NET, type: 'podnet-cni', bridge: CNI_BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.232.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
    capabilities: { portMappings: true },
    podnet: { stateDir: cniState },
    ...extra,
  })
  /** One CNI request through bin/podnet-cni.js, started in the host namespace. */
  const cni = (cmd: string, pod: TempNetns | undefined, id: string | undefined, conf: Record<string, unknown>): CniCall =>
    cniExec(topo.host, cniEnv(cmd, { ...(id !== undefined && { id, ifname: 'eth0' }), ...(pod && { netns: pod.ns.path }) }), conf)

  interface Side {
    cliPod: TempNetns
    cliVeth: string
    cliOwner: string
    cniPods: Record<string, TempNetns>
    cniAdds: Record<string, any>
    cniOwner: string
  }

  /** A CLI network with one pod (a published port and an egress limit: an ifb), and a CNI network with three. */
  async function setUp(): Promise<Side> {
    const created = JSON.parse(podnetOk('network', 'create', CLI_NET, '--subnet', '10.231.0.0/24', '--no-dns', '--json'))
    assert.equal(created.bridge, CLI_BRIDGE)
    const cliPod = topo.pod('pn-clipod')
    const att = JSON.parse(podnetOk('network', 'attach', CLI_NET, '--pod-netns', cliPod.name, '--id', 'clipod', '-p', '8080:80', '--egress-rate', '50M', '--json'))
    const cniPods: Record<string, TempNetns> = {}
    const cniAdds: Record<string, any> = {}
    for (const id of CNI_IDS) {
      const pod = topo.pod('pn-cnipod')
      const add = cni('ADD', pod, id, cniConf({ runtimeConfig: { portMappings: [{ hostPort: CNI_PORT[id], containerPort: 80, protocol: 'tcp' }] } }))
      assert.equal(add.status, 0, add.stdout)
      cniPods[id] = pod
      cniAdds[id] = add.json
    }
    const cliOwner = ownerOf(ipJson(topo.host.name, 'link', 'show', 'dev', CLI_BRIDGE)[0]!.ifalias)
    const cniOwner = ownerOf(ipJson(topo.host.name, 'link', 'show', 'dev', CNI_BRIDGE)[0]!.ifalias)
    assert.notEqual(cliOwner, cniOwner, 'two state dirs, two owners')
    // one table: both networks' rules in it, each with its owner
    const comments = rules(cliOwner).concat(rules(cniOwner)).map((r: any) => r.comment)
    assert.ok(comments.includes(`podnet o=${cliOwner} net=${CLI_NET} masquerade`), comments.join('\n'))
    assert.ok(comments.includes(`podnet o=${cniOwner} net=${CNI_NET} masquerade`), comments.join('\n'))
    await serve(topo.upstream, 'tcp', 9000)
    await serve(cliPod, 'tcp', 80)
    for (const id of CNI_IDS) await serve(cniPods[id]!, 'tcp', 80)
    return { cliPod, cliVeth: att.hostVeth, cliOwner, cniPods, cniAdds, cniOwner }
  }

  /** Rules of podnet's table whose comment carries `owner`, as nft -j shows them (handles and expressions). */
  const rules = (owner: string): unknown[] => noCounters(nftRuleset(topo.host.name)
    .filter((o) => o.rule?.table === 'podnet' && String(o.rule.comment ?? '').startsWith(`podnet o=${owner} `)).map((o) => o.rule)) as unknown[]
  /** Elements of podnet's maps whose comment carries `owner`, as nft -j shows them. */
  const elements = (owner: string): unknown[] => noCounters(nftRuleset(topo.host.name)
    .filter((o) => o.map?.table === 'podnet')
    .flatMap((o) => (o.map!.elem ?? []).filter(([k]: any) => String(k.elem?.comment ?? '').startsWith(`podnet o=${owner} `)).map((e: unknown) => ({ map: o.map!.name, e })))) as unknown[]
  /** The elements of podnet's `bridges` set. */
  const bridgesSet = (): string[] => (nftRuleset(topo.host.name).find((o) => o.set?.table === 'podnet' && o.set.name === 'bridges')?.set?.elem ?? []).map(String).sort()
  /** One link as ip -j -d shows it (the fields a change would touch), or undefined. */
  const link = (name: string): unknown => {
    const l = ipJson(topo.host.name, '-d', 'link', 'show').find((x) => x.ifname === name)
    return l && { ifname: l.ifname, ifindex: l.ifindex, kind: l.linkinfo?.info_kind, master: l.master, address: l.address, ifalias: l.ifalias, mtu: l.mtu, operstate: l.operstate, flags: l.flags }
  }
  /** The ports of a bridge, as bridge -j link shows them. */
  const ports = (bridge: string): unknown[] => bridgeJson(topo.host.name, 'link', 'show').filter((p) => p.master === bridge)
    .map((p) => ({ ifname: p.ifname, ifindex: p.ifindex, state: p.state })).sort((a, b) => a.ifname.localeCompare(b.ifname))
  /**
   * Everything one side owns, from the oracles and its state dir. With `only` (attachment ids),
   * what belongs to those attachments and to the network itself: their ports, map elements and
   * records, not the others'.
   */
  const view = (o: { owner: string; bridge: string; network: string; stateDir: string; veths: string[]; pods: TempNetns[]; only?: { ids: string[]; addrs: string[] } }): unknown => {
    const only = o.only
    const runFile = (f: string): boolean => {
      if (!only) return true
      if (f.startsWith('attachments/')) return only.ids.some((id) => f === `attachments/${id}@eth0.json`)
      const addr = /^ipam\/(?:owners\/[0-9a-f]+\/)?([0-9a-f.:]+)$/.exec(f)
      return !addr || only.addrs.includes(addr[1]!)
    }
    return {
      bridge: link(o.bridge),
      gateway: ipJson(topo.host.name, 'addr', 'show', 'dev', o.bridge).flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)),
      ports: (ports(o.bridge) as Array<{ ifname: string }>).filter((p) => !only || o.veths.includes(p.ifname)),
      veths: o.veths.map(link),
      ifbs: o.veths.map((v) => link(`pnifb${v.slice(2)}`)),
      rules: rules(o.owner),
      elements: (elements(o.owner) as any[]).filter((x) => !only || only.ids.some((id) => String(x.e[0].elem.comment).includes(` id=${id} if=`))),
      inBridgesSet: bridgesSet().includes(o.bridge),
      pods: o.pods.map((p) => ({ addrs: podAddrs(p), routes: p.ip('route', 'show') })),
      records: files(join(o.stateDir, 'networks', o.network)),
      run: Object.fromEntries(Object.entries(files(join(o.stateDir, 'run', 'networks', o.network))).filter(([f]) => runFile(f))),
      claims: Object.fromEntries(Object.entries(files(join(o.stateDir, 'run', 'ports'))).filter(([, owner]) => !only || only.ids.some((id) => owner.includes(`"${id}"`)))),
    }
  }
  const cliView = (s: Side): unknown => view({ owner: s.cliOwner, bridge: CLI_BRIDGE, network: CLI_NET, stateDir: cliState, veths: [s.cliVeth], pods: [s.cliPod] })
  const cniView = (s: Side, only?: string[]): unknown => {
    const ids = only ?? [...CNI_IDS]
    return view({
      owner: s.cniOwner, bridge: CNI_BRIDGE, network: CNI_NET, stateDir: cniState,
      veths: ids.map((id) => s.cniAdds[id].interfaces[1].name), pods: ids.map((id) => s.cniPods[id]!),
      ...(only && { only: { ids, addrs: ids.map((id) => cniAddr(s, id)) } }),
    })
  }
  const cniAddr = (s: Side, id: string): string => s.cniAdds[id].ips[0].address.split('/')[0]

  /** The CLI network works: podnet's check, and packets both ways through its published port and masquerade. */
  const cliWorks = (s: Side): void => {
    assert.deepEqual(JSON.parse(podnetOk('network', 'check', CLI_NET, '--json')), [])
    assert.deepEqual(JSON.parse(podnetOk('network', 'inspect', CLI_NET, '--json')).attachments.map((a: any) => a.id), ['clipod'])
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4, 'upstream -> 8080 -> the CLI pod')
    assert.equal(probe(s.cliPod, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, 'the CLI pod -> upstream, masqueraded')
  }
  /** A CNI attachment works: CHECK with its prevResult, packets through its published port and masquerade. */
  const cniWorks = (s: Side, id: string): void => {
    const check = cni('CHECK', s.cniPods[id], id, cniConf({ prevResult: s.cniAdds[id] }))
    assert.equal(check.status, 0, `${id}: ${check.stdout}`)
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, CNI_PORT[id]!), UPSTREAM.upstreamV4, `upstream -> ${CNI_PORT[id]} -> ${id}`)
    assert.equal(probe(s.cniPods[id]!, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, `${id} -> upstream, masqueraded`)
  }

  it('a CNI GC listing one of three attachments removes the other two and leaves the CLI network as it was', async () => {
    const s = await setUp()
    cliWorks(s)
    for (const id of CNI_IDS) cniWorks(s, id)
    const cliBefore = cliView(s)
    const keptBefore = cniView(s, ['cni-keep'])
    const cniRulesBefore = rules(s.cniOwner)

    // GC as the runtime sends it: no container id, netns or ifname; the list of what is still valid
    const gc = cniExec(topo.host, cniEnv('GC'), cniConf({ 'cni.dev/valid-attachments': [{ containerID: 'cni-keep', ifname: 'eth0' }] }))
    assert.equal(gc.status, 0, gc.stdout)
    assert.equal(gc.stdout, '')

    // the CLI network: every link, rule, element, record and address as before, and it works
    assert.deepEqual(cliView(s), cliBefore)
    cliWorks(s)

    // the CNI network: the listed attachment as before; the others gone from the kernel and the records
    assert.deepEqual(cniView(s, ['cni-keep']), keptBefore)
    assert.deepEqual(rules(s.cniOwner), cniRulesBefore, 'the CNI network\'s own rules stay')
    cniWorks(s, 'cni-keep')
    const hostLinks = ipJson(topo.host.name, 'link', 'show').map((l) => l.ifname)
    for (const id of ['cni-gone-1', 'cni-gone-2']) {
      const veth = s.cniAdds[id].interfaces[1].name as string
      assert.ok(!hostLinks.includes(veth), `${id}: host veth ${veth} gone`)
      assert.equal(s.cniPods[id]!.link('eth0'), undefined, `${id}: no eth0 in its namespace`)
      assert.ok(unreachable(topo.upstream, 'tcp', UPSTREAM.hostV4, CNI_PORT[id]!, { timeoutMs: 500 }), `${id}: its published port is gone`)
    }
    assert.deepEqual(ports(CNI_BRIDGE).map((p: any) => p.ifname), [s.cniAdds['cni-keep'].interfaces[1].name])
    assert.deepEqual((elements(s.cniOwner) as any[]).map((x) => x.e[0].elem.comment), [`podnet o=${s.cniOwner} net=${CNI_NET} id=cni-keep if=eth0`])
    const cniRun = join(cniState, 'run')
    assert.deepEqual(readdirSync(join(cniRun, 'networks', CNI_NET, 'attachments')), ['cni-keep@eth0.json'])
    assert.deepEqual(readdirSync(join(cniRun, 'networks', CNI_NET, 'ipam')).filter((f) => /^\d/.test(f)), [cniAddr(s, 'cni-keep')], 'only the kept address is held')
    assert.deepEqual(Object.keys(files(join(cniRun, 'ports'))), ['tcp-8081/*'], 'only the kept host port is claimed')
    assert.deepEqual(bridgesSet(), [CLI_BRIDGE, CNI_BRIDGE].sort())
  })

  it('the CLI\'s network gc and network rm --force leave the CNI network and its attachments as they were', async () => {
    const s = await setUp()
    const cniBefore = cniView(s)

    // gc of the CLI's state dir: nothing of its own to remove, nothing of the CNI's touched
    const gc = JSON.parse(podnetOk('network', 'gc', '--json'))
    assert.deepEqual(gc, { removedVeths: [], removedAttachments: [], releasedAddresses: [], removedRules: [], removedPorts: [], removedIfbs: [] })
    assert.deepEqual(cniView(s), cniBefore)
    cliWorks(s)

    // rm --force of the CLI network: all of it goes, none of the CNI's
    podnetOk('network', 'rm', CLI_NET, '--force')
    assert.equal(link(CLI_BRIDGE), undefined, 'the CLI bridge is gone')
    assert.equal(link(s.cliVeth), undefined, 'the CLI pod\'s veth is gone')
    assert.equal(link(`pnifb${s.cliVeth.slice(2)}`), undefined, 'its ifb is gone')
    assert.equal(s.cliPod.link('eth0'), undefined)
    assert.deepEqual(rules(s.cliOwner), [])
    assert.deepEqual(elements(s.cliOwner), [])
    assert.deepEqual(bridgesSet(), [CNI_BRIDGE])
    assert.equal(existsSync(join(cliState, 'run', 'networks', CLI_NET)), false)
    assert.deepEqual(files(join(cliState, 'run', 'ports')), {})
    assert.ok(unreachable(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080, { timeoutMs: 500 }))

    assert.deepEqual(cniView(s), cniBefore, 'the CNI network: links, rules, elements, records as before')
    for (const id of CNI_IDS) cniWorks(s, id)
    const status = cni('STATUS', undefined, undefined, cniConf())
    assert.equal(status.status, 0, status.stdout)

    // and the table goes with the last owner: DEL every CNI pod, GC, remove the CNI network
    for (const id of CNI_IDS) assert.equal(cni('DEL', s.cniPods[id], id, cniConf()).status, 0)
    assert.equal(cniExec(topo.host, cniEnv('GC'), cniConf({ 'cni.dev/valid-attachments': [] })).status, 0)
    assert.deepEqual(ports(CNI_BRIDGE), [])
    const rm = spawnSync(process.execPath, [PODNET_BIN, 'network', 'rm', CNI_NET, '--host-netns', topo.host.name, '--state-dir', cniState, '--run-dir', join(cniState, 'run')], { encoding: 'utf8' })
    assert.equal(rm.status, 0, rm.stderr)
    assert.equal(nftRuleset(topo.host.name).some((o) => o.table?.name === 'podnet'), false, 'no inet podnet table left')
  })

  it('one network name on both sides (network create podnet beside cni conflist\'s defaults): the CNI network is refused the CLI\'s bridge; on its own bridge the same container id gets its own veth; DEL, GC, detach, gc and rm --force each touch only their own', async () => {
    const NET = 'podnet'
    podnetOk('network', 'create', NET, '--subnet', '10.88.0.0/24', '--no-dns')
    const cliPod = topo.pod('pn-clipod')
    const att = JSON.parse(podnetOk('network', 'attach', NET, '--pod-netns', cliPod.name, '--id', 'c1', '-p', '8080:80', '--json'))
    await serve(topo.upstream, 'tcp', 9000)
    await serve(cliPod, 'tcp', 80)
    const cliOwner = ownerOf(ipJson(topo.host.name, 'link', 'show', 'dev', 'pn-podnet')[0]!.ifalias)
    const cliSide = (): unknown => view({ owner: cliOwner, bridge: 'pn-podnet', network: NET, stateDir: cliState, veths: [att.hostVeth], pods: [cliPod] })
    const cliBefore = cliSide()
    const cliIntact = (when: string): void => {
      assert.deepEqual(cliSide(), cliBefore, when)
      assert.deepEqual(JSON.parse(podnetOk('network', 'check', NET, '--json')), [], when)
      assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4, `${when}: upstream -> 8080 -> the CLI pod`)
      assert.equal(probe(cliPod, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, `${when}: the CLI pod -> upstream`)
    }
    // the plugin entry of the conflist `podnet cni install --network podnet` writes, as a runtime hands it over
    const listed = spawnSync(process.execPath, [PODNET_BIN, 'cni', 'conflist', '--network', NET, '--state-dir', cniState], { encoding: 'utf8' })
    assert.equal(listed.status, 0, listed.stderr)
    const list = JSON.parse(listed.stdout)
    const entry = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ cniVersion: '1.1.0', name: list.name, ...list.plugins[0], ...extra })
    assert.equal(entry().bridge, 'pn-podnet', 'the defaults name the same bridge as the CLI\'s')

    // the CLI's bridge is another state dir's network's: ADD refused, nothing made
    const p0 = topo.pod('pn-cnipod')
    const refused = cni('ADD', p0, 'c0', entry())
    assert.equal(refused.status, 1, refused.stdout)
    assert.equal(refused.json.code, 100)
    assert.match(`${refused.json.msg} ${refused.json.details ?? ''}`, /bridge 'pn-podnet' already exists \(the bridge of network 'podnet' of another podnet state directory: podnet o=[0-9a-f]{8} net=podnet\); give this network another bridge name/)
    assert.equal(p0.link('eth0'), undefined)
    assert.equal(existsSync(join(cniState, 'networks', NET)), false, 'no CNI network recorded')
    cliIntact('after the refused ADD')

    // on a bridge of its own: the CLI's container id c1 and another, c2
    const conf = entry({ bridge: 'cni-podnet' })
    const pods: Record<string, TempNetns> = { c1: topo.pod('pn-cnipod'), c2: topo.pod('pn-cnipod') }
    const adds: Record<string, any> = {}
    for (const id of ['c1', 'c2']) {
      const a = cni('ADD', pods[id], id, conf)
      assert.equal(a.status, 0, a.stdout)
      adds[id] = a.json
      await serve(pods[id]!, 'tcp', 80)
    }
    assert.notEqual(adds.c1.interfaces[1].name, att.hostVeth, 'the same network, container id and ifname in another state dir: another veth')
    cliIntact('after the ADDs')
    const cniOwner = ownerOf(ipJson(topo.host.name, 'link', 'show', 'dev', 'cni-podnet')[0]!.ifalias)
    const c2 = (): unknown => view({
      owner: cniOwner, bridge: 'cni-podnet', network: NET, stateDir: cniState, veths: [adds.c2.interfaces[1].name], pods: [pods.c2!],
      only: { ids: ['c2'], addrs: [adds.c2.ips[0].address.split('/')[0]] },
    })
    const c2Works = (when: string): void => {
      const check = cni('CHECK', pods.c2, 'c2', { ...conf, prevResult: adds.c2 })
      assert.equal(check.status, 0, `${when}: ${check.stdout}`)
      assert.equal(probe(pods.c2!, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4, `${when}: c2 -> upstream`)
    }
    const c2Before = c2()

    // DEL of the CNI's c1, and again (nothing recorded: a killed ADD's leftovers are looked for by name), and without netns
    for (const pod of [pods.c1, pods.c1, undefined]) assert.equal(cni('DEL', pod, 'c1', conf).status, 0)
    assert.equal(pods.c1!.link('eth0'), undefined)
    cliIntact('after the CNI\'s DEL of c1')
    // GC keeping c2
    const gc = cniExec(topo.host, cniEnv('GC'), { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] })
    assert.equal(gc.status, 0, gc.stdout)
    cliIntact('after the CNI GC')
    assert.deepEqual(c2(), c2Before)

    // the reverse: the CLI's detach of c2 (which it never attached), gc, rm --force
    assert.match(podnetOk('network', 'detach', NET, '--id', 'c2'), /not attached/)
    assert.deepEqual(c2(), c2Before, 'after the CLI\'s detach of c2')
    podnetOk('network', 'gc')
    assert.deepEqual(c2(), c2Before, 'after the CLI\'s gc')
    podnetOk('network', 'rm', NET, '--force')
    assert.equal(link('pn-podnet'), undefined)
    assert.equal(link(att.hostVeth), undefined)
    assert.deepEqual(rules(cliOwner), [])
    assert.deepEqual(c2(), c2Before, 'after the CLI\'s rm --force')
    c2Works('after the CLI\'s rm --force')
  })

  it('a bridge made outside podnet that both use as is: neither the CNI GC nor the CLI\'s gc and rm --force touch the other\'s veths, ifb or rules; the bridge stays', async () => {
    const BR = 'br-shared'
    // a fixed MAC, or the bridge's would follow its lowest port's as pods come and go
    execFileSync('ip', ['-n', topo.host.name, 'link', 'add', BR, 'address', '02:00:00:00:be:ef', 'type', 'bridge'])
    execFileSync('ip', ['-n', topo.host.name, 'link', 'set', BR, 'up'])
    podnetOk('network', 'create', 'web', '--bridge', BR, '--subnet', '10.233.0.0/24', '--no-dns')
    const cliPod = topo.pod('pn-clipod')
    const att = JSON.parse(podnetOk('network', 'attach', 'web', '--pod-netns', cliPod.name, '--id', 'clipod', '-p', '8080:80', '--egress-rate', '50M', '--json'))
    await serve(topo.upstream, 'tcp', 9000)
    await serve(cliPod, 'tcp', 80)
    const conf = cniConf({ name: 'other', bridge: BR, ipam: { type: 'host-local', ranges: [[{ subnet: '10.234.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] } })
    const pods: Record<string, TempNetns> = { keep: topo.pod('pn-cnipod'), gone: topo.pod('pn-cnipod') }
    const adds: Record<string, any> = {}
    for (const id of ['keep', 'gone']) {
      const a = cni('ADD', pods[id], id, conf)
      assert.equal(a.status, 0, a.stdout)
      adds[id] = a.json
    }
    assert.deepEqual((ports(BR) as any[]).map((p) => p.ifname).sort(), [att.hostVeth, adds.keep.interfaces[1].name, adds.gone.interfaces[1].name].sort(), 'three pods on one bridge')
    // the bridge is neither's: the owners are read from the networks' masquerade rules
    const ownerByRule = (net: string): string => ownerOf(nftRuleset(topo.host.name).map((o) => String(o.rule?.comment ?? '')).find((c) => c.endsWith(` net=${net} masquerade`)))
    const cliOwner = ownerByRule('web')
    const cniOwner = ownerByRule('other')
    assert.equal(link(BR) && (link(BR) as any).ifalias, undefined, 'no podnet alias on a bridge podnet did not make')
    const cliSide = (): unknown => view({ owner: cliOwner, bridge: BR, network: 'web', stateDir: cliState, veths: [att.hostVeth], pods: [cliPod], only: { ids: ['clipod'], addrs: [att.addresses[0].address.split('/')[0]] } })
    const keepSide = (): unknown => view({ owner: cniOwner, bridge: BR, network: 'other', stateDir: cniState, veths: [adds.keep.interfaces[1].name], pods: [pods.keep!], only: { ids: ['keep'], addrs: [adds.keep.ips[0].address.split('/')[0]] } })
    const cliBefore = cliSide()
    const keepBefore = keepSide()
    assert.ok((cliBefore as any).ifbs[0], 'the CLI pod\'s egress limit has its ifb')

    const gc = cniExec(topo.host, cniEnv('GC'), { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] })
    assert.equal(gc.status, 0, gc.stdout)
    assert.equal(pods.gone!.link('eth0'), undefined, 'the CNI attachment not listed is gone')
    assert.deepEqual((ports(BR) as any[]).map((p) => p.ifname).sort(), [att.hostVeth, adds.keep.interfaces[1].name].sort())
    assert.deepEqual(cliSide(), cliBefore, 'the CLI pod\'s veth, ifb, rules, elements and records are as they were')
    assert.deepEqual(JSON.parse(podnetOk('network', 'check', 'web', '--json')), [])
    assert.equal(probe(topo.upstream, 'tcp', UPSTREAM.hostV4, 8080), UPSTREAM.upstreamV4)
    assert.equal(probe(cliPod, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4)

    const cliGc = JSON.parse(podnetOk('network', 'gc', '--json'))
    assert.deepEqual(cliGc.removedVeths, [])
    assert.deepEqual(cliGc.removedIfbs, [])
    assert.deepEqual(keepSide(), keepBefore)
    podnetOk('network', 'rm', 'web', '--force')
    assert.equal(link(att.hostVeth), undefined)
    assert.ok(link(BR), 'a bridge podnet did not make is not deleted')
    assert.deepEqual(keepSide(), { ...(keepBefore as object), inBridgesSet: false }, 'the CNI pod as it was (the bridges set is keyed by name: see docs/reliability.md)')
    const check = cni('CHECK', pods.keep, 'keep', { ...conf, prevResult: adds.keep })
    assert.equal(check.status, 0, check.stdout)
    assert.equal(probe(pods.keep!, 'tcp', UPSTREAM.upstreamV4, 9000), UPSTREAM.hostV4)
  })
})
