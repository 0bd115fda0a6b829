/**
 * `podnet cni install`: the executable and conflist it writes, the single-file build (checked
 * against the modules, then used for a real ADD/DEL), idempotence and --force, --no-bundle,
 * and the CLI front.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExistsError } from '../../../src/errors.js'
import { conflistFor, installCni } from '../../../src/cni/index.js'
import { pluginBundleSource, verifyBundle } from '../../../src/cni/install.js'
import { createTopology, type Topology } from '../../../src/testing/index.js'
import { cniEnv, cniExec, podAddrs } from './helpers.js'

const PODNET_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../../bin/podnet.js')

describe('kernel: podnet cni install', function () {
  this.timeout(120000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'podnet-cni-install-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('writes the forwarder, the Node plugin (single-file build with its code cache) and the conflist', async () => {
    const r = await installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), network: 'podnet', subnet: '10.86.0.0/16' })
    assert.equal(r.mode, 'bundle', r.bundleError)
    assert.equal(r.executable, join(dir, 'bin', 'podnet-cni'))
    assert.ok(statSync(r.executable).mode & 0o111, 'executable')
    assert.equal(r.forwarder, true, r.forwarderError)
    assert.equal(r.socket, '/run/podnet/cni.sock')
    const elf = readFileSync(r.executable)
    assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF', 'the forwarder is a native executable')
    assert.ok(elf.includes(Buffer.from(`${r.nodeExecutable}\0`)) && elf.includes(Buffer.from('/run/podnet/cni.sock\0')), 'with the fallback and the socket compiled in')
    assert.ok(elf.length < 200000, `small: ${elf.length} bytes`)
    assert.equal(r.nodeExecutable, join(dir, 'bin', '.podnet-cni', 'podnet-cni-node'))
    assert.match(readFileSync(r.nodeExecutable, 'utf8'), /^#!\/usr\/bin\/env -S -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS \S+node\n/)
    assert.ok(existsSync(join(dir, 'bin', '.podnet-cni', 'podnet-cni.cjs')))
    assert.ok((r.codeCacheBytes ?? 0) > 100000, 'a code cache was made')
    assert.equal(r.codeCache, 'commands', 'from running each command once in a throwaway namespace')
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('podnet-cni-warm-')), [], 'the warm-up left no state behind')
    assert.deepEqual(r.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
    assert.equal(r.conflist, join(dir, 'net.d', '10-podnet.conflist'))
    const text = readFileSync(r.conflist, 'utf8')
    assert.deepEqual(JSON.parse(text), conflistFor({ network: 'podnet', subnet: '10.86.0.0/16' }))
    const list: any = JSON.parse(text)
    assert.equal(list.cniVersion, '1.0.0')
    assert.deepEqual(list.cniVersions, ['1.0.0', '1.1.0'])
    assert.deepEqual(list.plugins[0].capabilities, { portMappings: true, ips: true, mac: true, bandwidth: true })
    // the runtime's Node settings do not reach the plugin
    const v = spawnSync(r.executable, [], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION', NODE_OPTIONS: '--require /nonexistent/hook.js' }, encoding: 'utf8' })
    assert.equal(v.status, 0, v.stderr)
    assert.equal(JSON.parse(v.stdout).cniVersion, '1.1.0')
  })

  it('is idempotent; refuses to replace a different conflist without --force', async () => {
    const opts = { binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), network: 'n1', bundle: false }
    assert.equal((await installCni(opts)).conflistWritten, true)
    assert.equal((await installCni(opts)).conflistWritten, false)
    await assert.rejects(installCni({ ...opts, subnet: '10.99.0.0/16' }), ExistsError)
    const r = await installCni({ ...opts, subnet: '10.99.0.0/16', force: true })
    assert.equal(r.conflistWritten, true)
    assert.equal(JSON.parse(readFileSync(r.conflist, 'utf8')).plugins[0].ipam.ranges[0][0].subnet, '10.99.0.0/16')
  })

  it('--no-bundle: a launcher that imports podnet\'s modules; --no-forwarder: it is the executable', async () => {
    const r = await installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), bundle: false })
    assert.equal(r.mode, 'modules')
    assert.ok(!existsSync(join(dir, 'bin', '.podnet-cni', 'podnet-cni.cjs')))
    assert.match(readFileSync(r.nodeExecutable, 'utf8'), /import\("file:\/\/.*\/dist\/src\/cni\/main\.js"\)/)
    assert.equal(r.supportedVersions.length, 5)
    const n = await installCni({ binDir: join(dir, 'bin2'), confDir: join(dir, 'net.d'), bundle: false, forwarder: false })
    assert.equal(n.forwarder, false)
    assert.equal(readFileSync(n.executable, 'utf8'), readFileSync(n.nodeExecutable, 'utf8'))
    assert.equal(n.supportedVersions.length, 5)
  })

  it('the single-file build has exactly the modules\' exports', async () => {
    const { source, modules } = pluginBundleSource()
    assert.ok(modules.length > 50)
    assert.equal(modules[0], 'src/cni/main.js')
    await verifyBundle(source, modules)
    assert.ok(!/^\s*(import|export)\s/m.test(source.replace(/`[^`]*`/g, '')), 'no ES module syntax left')
  })

  it('the CLI: podnet cni install --json, podnet cni conflist', () => {
    const r = spawnSync(process.execPath, [PODNET_BIN, 'cni', 'install', '--bin-dir', join(dir, 'b'), '--conf-dir', join(dir, 'c'), '--network', 'clinet', '--subnet', '10.77.0.0/24', '--no-bundle', '--json'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.conflist, join(dir, 'c', '10-clinet.conflist'))
    const c = spawnSync(process.execPath, [PODNET_BIN, 'cni', 'conflist', '--network', 'clinet', '--subnet', '10.77.0.0/24'], { encoding: 'utf8' })
    assert.equal(c.status, 0, c.stderr)
    assert.equal(c.stdout, readFileSync(report.conflist, 'utf8'))
    const bad = spawnSync(process.execPath, [PODNET_BIN, 'cni', 'conflist', '--network', 'bad/name'], { encoding: 'utf8' })
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /not a CNI network name/)
  })

  describe('the installed single-file build on a real pod', () => {
    let topo: Topology
    beforeEach(function () {
      if (process.getuid?.() !== 0) this.skip()
      topo = createTopology()
    })
    afterEach(() => topo?.close())

    it('ADD, CHECK and DEL work through it as through the modules', async () => {
      const r = await installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), network: 'inst', subnet: '10.213.0.0/24', stateDir: join(dir, 'state') })
      const conf = { ...JSON.parse(readFileSync(r.conflist, 'utf8')), ...JSON.parse(readFileSync(r.conflist, 'utf8')).plugins[0] }
      delete conf.plugins
      delete conf.cniVersions
      const pod = topo.pod()
      const add = cniExec(topo.host, cniEnv('ADD', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }), conf, r.executable)
      assert.equal(add.status, 0, add.stdout + add.stderr)
      assert.deepEqual(podAddrs(pod), ['10.213.0.2/24'])
      const check = cniExec(topo.host, cniEnv('CHECK', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }), { ...conf, prevResult: add.json }, r.executable)
      assert.equal(check.status, 0, check.stdout)
      const del = cniExec(topo.host, cniEnv('DEL', { id: 'c1', netns: pod.ns.path, ifname: 'eth0' }), conf, r.executable)
      assert.equal(del.status, 0, del.stdout)
      assert.equal(pod.link('eth0'), undefined)
      const bad = cniExec(topo.host, cniEnv('ADD', { id: 'c1', netns: '/nonexistent', ifname: 'eth0' }), conf, r.executable)
      assert.equal(bad.json.code, 4)
    })
  })
})
