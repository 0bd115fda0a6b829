/**
 * The CNI dispatcher in-process, through injected I/O, with recording commands: environment
 * rules, version negotiation, which command exists from which version, and the error JSON.
 */
import assert from 'node:assert/strict'
import { AddressExhaustedError, ExistsError, InvalidArgumentError, NetlinkError, NotFoundError, PodnetError } from '../../../src/errors.js'
import {
  CNI_ERR, CniRequestError, LATEST_CNI_VERSION, SUPPORTED_CNI_VERSIONS, hasCheck, hasGc, hasStatus,
  parseCniArgs, runPlugin, toCniError, type CmdArgs, type CniFuncs, type CniResult,
} from '../../../src/cni/index.js'

interface Run { status: number; stdout: string; stderr: string; json: any; calls: CmdArgs[] }

const RESULT: CniResult = { cniVersion: '1.0.0', interfaces: [], ips: [], routes: [], dns: {} }

function recorder(fail?: Error): { funcs: CniFuncs; calls: CmdArgs[] } {
  const calls: CmdArgs[] = []
  const rec = async (a: CmdArgs): Promise<void> => {
    calls.push(a)
    if (fail) throw fail
  }
  return {
    calls,
    funcs: {
      add: async (a) => { await rec(a); return { ...RESULT, cniVersion: a.cniVersion } },
      del: rec, check: rec, status: rec, gc: rec,
    },
  }
}

async function run(env: Record<string, string>, stdin: unknown = { cniVersion: '1.0.0', name: 'net1' }, fail?: Error): Promise<Run> {
  const { funcs, calls } = recorder(fail)
  let stdout = ''
  let stderr = ''
  const status = await runPlugin(funcs, {
    env,
    stdin: typeof stdin === 'string' ? stdin : JSON.stringify(stdin),
    stdout: { write: (s: string) => { stdout += s } },
    stderr: { write: (s: string) => { stderr += s } },
  }, { about: 'about text' })
  return { status, stdout, stderr, json: stdout.trim() ? JSON.parse(stdout) : undefined, calls }
}

const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }

describe('cni/skel', () => {
  it('VERSION answers without reading stdin', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, 'not json at all')
    assert.equal(r.status, 0)
    assert.deepEqual(r.json, { cniVersion: LATEST_CNI_VERSION, supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })
  })

  it('passes a valid request through, with CNI_ARGS and CNI_PATH split', async () => {
    const r = await run({ ...ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.1.0.5' })
    assert.equal(r.status, 0)
    assert.equal(r.json.cniVersion, '1.0.0')
    const a = r.calls[0]!
    assert.equal(a.command, 'ADD')
    assert.equal(a.containerId, 'c1')
    assert.equal(a.netns, '/run/netns/p1')
    assert.deepEqual(a.args, { IgnoreUnknown: '1', K8S_POD_NAME: 'web', IP: '10.1.0.5' })
    assert.deepEqual(a.path, ['/opt/cni/bin'])
    assert.equal(a.config.name, 'net1')
  })

  it('DEL needs no CNI_NETNS and prints nothing', async () => {
    const r = await run({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' })
    assert.equal(r.status, 0)
    assert.equal(r.stdout, '')
    assert.equal(r.calls[0]!.netns, '')
  })

  describe('bad requests: error JSON on stdout, exit 1, the command never called', () => {
    const cases: Array<[string, Record<string, string>, unknown, number, RegExp]> = [
      ['no CNI_COMMAND', {}, {}, 4, /required env variables \[CNI_COMMAND\] missing/],
      ['an unknown command', { CNI_COMMAND: 'FROB' }, {}, 4, /unknown CNI_COMMAND: FROB/],
      ['ADD without CNI_CONTAINERID', { CNI_COMMAND: 'ADD', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' }, {}, 4, /required env variables \[CNI_CONTAINERID\] missing/],
      ['ADD without anything', { CNI_COMMAND: 'ADD' }, {}, 4, /\[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME\]/],
      ['CHECK without CNI_NETNS', { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' }, { cniVersion: '1.0.0', name: 'n' }, 4, /\[CNI_NETNS\]/],
      ['malformed JSON', ENV, '{"cniVersion": "1.0.0",', 6, /error decoding network configuration/],
      ['empty stdin', ENV, '', 6, /error decoding network configuration/],
      ['JSON that is not an object', ENV, '[1,2]', 6, /must be a JSON object/],
      ['an unsupported cniVersion', ENV, { cniVersion: '9.9.9', name: 'n' }, 1, /incompatible CNI versions/],
      ['no cniVersion (0.1.0)', ENV, { name: 'n' }, 1, /incompatible CNI versions/],
      ['0.2.0', ENV, { cniVersion: '0.2.0', name: 'n' }, 1, /incompatible CNI versions/],
      ['no network name', ENV, { cniVersion: '1.0.0' }, 7, /missing network name/],
      ['a bad network name', ENV, { cniVersion: '1.0.0', name: '-bad/name' }, 7, /invalid characters found in network name/],
      ['a bad container id', { ...ENV, CNI_CONTAINERID: 'a/b' }, { cniVersion: '1.0.0', name: 'n' }, 4, /invalid characters in CNI_CONTAINERID/],
      ['an interface name too long', { ...ENV, CNI_IFNAME: 'eth0123456789012' }, { cniVersion: '1.0.0', name: 'n' }, 4, /interface name is too long/],
      ['an interface name with a colon', { ...ENV, CNI_IFNAME: 'eth0:1' }, { cniVersion: '1.0.0', name: 'n' }, 4, /contains \/ or :/],
      ['an interface name ..', { ...ENV, CNI_IFNAME: '..' }, { cniVersion: '1.0.0', name: 'n' }, 4, /cannot be \. or \.\./],
      ['a malformed CNI_ARGS', { ...ENV, CNI_ARGS: 'IgnoreUnknown=1;oops' }, { cniVersion: '1.0.0', name: 'n' }, 4, /invalid CNI_ARGS/],
      ['CHECK with 0.3.1', { ...ENV, CNI_COMMAND: 'CHECK' }, { cniVersion: '0.3.1', name: 'n' }, 1, /does not allow CHECK/],
      ['GC with 1.0.0', { CNI_COMMAND: 'GC' }, { cniVersion: '1.0.0', name: 'n' }, 1, /does not allow GC/],
      ['STATUS with 0.4.0', { CNI_COMMAND: 'STATUS' }, { cniVersion: '0.4.0', name: 'n' }, 1, /does not allow STATUS/],
    ]
    for (const [what, env, stdin, code, msg] of cases) {
      it(what, async () => {
        const r = await run(env, stdin)
        assert.equal(r.status, 1)
        assert.equal(r.json.code, code, r.stdout)
        assert.match(r.json.msg, msg)
        assert.equal(typeof r.json.cniVersion, 'string')
        assert.deepEqual(r.calls, [])
        assert.ok(r.stdout.endsWith('}\n') && !r.stdout.slice(0, -1).includes('\n'), 'one JSON line')
      })
    }

    it('names the supported versions in details', async () => {
      const r = await run(ENV, { cniVersion: '9.9.9', name: 'n' })
      assert.equal(r.json.details, 'config is "9.9.9", plugin supports ["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]')
      assert.equal(r.json.cniVersion, LATEST_CNI_VERSION, 'a version it cannot speak gets the newest')
    })

    it('says what it is on stderr when run by hand', async () => {
      const r = await run({})
      assert.match(r.stderr, /about text\nCNI protocol versions supported: 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/)
    })
  })

  it('errors of a command carry the config\'s cniVersion', async () => {
    const r = await run(ENV, { cniVersion: '0.4.0', name: 'n' }, new ExistsError('interface', 'eth0', 'in netns /run/netns/p1'))
    assert.equal(r.status, 1)
    assert.deepEqual(r.json, { cniVersion: '0.4.0', code: 100, msg: "interface 'eth0' already exists in netns /run/netns/p1" })
  })

  it('commands by version: CHECK from 0.4.0, STATUS and GC from 1.1.0', () => {
    assert.deepEqual(SUPPORTED_CNI_VERSIONS.filter(hasCheck), ['0.4.0', '1.0.0', '1.1.0'])
    assert.deepEqual(SUPPORTED_CNI_VERSIONS.filter(hasStatus), ['1.1.0'])
    assert.deepEqual(SUPPORTED_CNI_VERSIONS.filter(hasGc), ['1.1.0'])
  })

  describe('toCniError: podnet errors to CNI codes', () => {
    const cases: Array<[string, unknown, number]> = [
      ['env', new CniRequestError('env', 'x'), CNI_ERR.INVALID_ENV],
      ['unsupported field', new CniRequestError('unsupported-field', 'x'), 2],
      ['unknown container', new CniRequestError('unknown-container', 'x'), 3],
      ['decode', new CniRequestError('decode', 'x'), 6],
      ['config', new CniRequestError('config', 'x'), 7],
      ['try again', new CniRequestError('try-again', 'x'), 11],
      ['not available', new CniRequestError('not-available', 'x'), 50],
      ['check failed', new CniRequestError('check-failed', 'x'), 101],
      ['address exhausted', new AddressExhaustedError(0, [{ subnet: '10.0.0.0/30', range: '10.0.0.2-10.0.0.2', inUse: 1 }]), 11],
      ['invalid argument', new InvalidArgumentError('mac', 'bad'), 7],
      ['exists', new ExistsError('host port', '8080/tcp'), 100],
      ['attachment not found', new NotFoundError('attachment', 'c@eth0'), 3],
      ['kernel busy', new NetlinkError('RTM_NEWLINK', 16), 11],
      ['kernel refusal', new NetlinkError('RTM_NEWLINK', 1), 999],
      ['podnet generic', new PodnetError('boom'), 999],
      ['fs error', Object.assign(new Error('EACCES: permission denied, open x'), { syscall: 'open', code: 'EACCES' }), 5],
      ['not an error', 'string thrown', 999],
    ]
    for (const [what, err, code] of cases) it(what, () => assert.equal(toCniError(err, '1.0.0').code, code))

    it('puts the cause chain and rollback failures in details', () => {
      const root = new Error('EEXIST')
      const err = new PodnetError('attach failed', { cause: new PodnetError('veth failed', { cause: root }) })
      Object.defineProperty(err, 'rollbackErrors', { value: [new Error('undo "release addresses" failed: gone')] })
      const j = toCniError(err, '1.1.0')
      assert.equal(j.msg, 'attach failed')
      assert.equal(j.details, 'caused by: veth failed; caused by: EEXIST; and undoing failed: undo "release addresses" failed: gone')
    })
  })

  it('parseCniArgs splits K=V pairs, values may hold "="', () => {
    assert.deepEqual(parseCniArgs('A=1;;B=x=y;'), { A: '1', B: 'x=y' })
    assert.throws(() => parseCniArgs('=v'), CniRequestError)
  })
})
