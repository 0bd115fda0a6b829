/** The launcher's argument lists, status lines and the container environment. */
import assert from 'node:assert/strict'
import { containerEnv, DEFAULT_PATH, execArgs, parseLaunchStatus, runArgs } from '../../../src/runtime/launcher.js'

describe('runtime/launcher', () => {
  it('builds run argv', () => {
    assert.deepEqual(runArgs({
      ns: { net: '/s/net', ipc: '/s/ipc', pid: '/s/pid' }, newPid: false, newUts: 'h', rootfs: '/r',
      binds: [{ src: '/e/hosts', dst: '/etc/hosts' }, { src: '/e/x', dst: '/x', ro: true }], shm: '/s/shm',
      cgroupProcs: ['/cg/a/cgroup.procs'], cwd: '/w', env: ['A=1'], exitFile: '/x/exit', argv: ['sh', '-c', '--'],
    }), [
      'run', '--status-fd', '3', '--rootfs', '/r', '--exit-file', '/x/exit', '--ns', 'net=/s/net', '--ns', 'ipc=/s/ipc', '--ns', 'pid=/s/pid',
      '--new-uts', 'h', '--bind', '/e/hosts', '/etc/hosts', '--bind-ro', '/e/x', '/x', '--shm', '/s/shm', '--cgroup', '/cg/a/cgroup.procs',
      '--cwd', '/w', '--env', 'A=1', '--', 'sh', '-c', '--',
    ])
    assert.ok(runArgs({ ns: {}, newPid: true, rootfs: '/r', binds: [], cgroupProcs: [], env: [], exitFile: '/e', argv: ['x'] }).includes('--new-pid'))
  })
  it('builds exec argv', () => {
    assert.deepEqual(execArgs({ target: 42, cgroupProcs: ['/c'], env: ['A=1'], argv: ['ps'] }), ['exec', '--target', '42', '--cgroup', '/c', '--env', 'A=1', '--', 'ps'])
  })
  it('environment: PATH and HOSTNAME defaults, the manifest wins', () => {
    assert.deepEqual(containerEnv('h', []), [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=h'])
    assert.deepEqual(containerEnv('h', [{ name: 'PATH', value: '/bin' }, { name: 'X', value: 'a=b' }]), ['PATH=/bin', 'HOSTNAME=h', 'X=a=b'])
  })
  it('parses status lines', () => {
    assert.deepEqual(parseLaunchStatus('pid 12\nok\n'), { ok: true, pid: 12 })
    assert.deepEqual(parseLaunchStatus('pid 12\nerror exec "x": executable file not found in $PATH\n'), { ok: false, pid: 12, error: 'exec "x": executable file not found in $PATH' })
    assert.deepEqual(parseLaunchStatus(''), { ok: false, error: 'the launcher ended before reporting' })
  })
})
