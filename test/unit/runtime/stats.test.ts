/** cgroup counters: v1 blkio and v2 io.stat parsing, the /proc/PID/io fallback, key-value files. */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readCgroupStats, type CgroupLayout } from '../../../src/runtime/cgroups/index.js'
import { parseBlkio, parseIoStat, parseKeyValues, procIo } from '../../../src/runtime/cgroups/stats.js'
import { fmtBytes, statsRows } from '../../../src/cli/commands/pod-stats.js'

describe('runtime/cgroups stats', () => {
  it('sums blkio lines per device, leaving Total out', () => {
    assert.deepEqual(parseBlkio('8:0 Read 100\n8:0 Write 4096\n8:0 Sync 4096\n254:0 Read 1\n254:0 Write 2\nTotal 4199\n'), { read: 101, write: 4098 })
    assert.deepEqual(parseBlkio('Total 0\n'), { read: 0, write: 0 })
  })
  it('sums io.stat per device', () => {
    assert.deepEqual(parseIoStat('254:0 rbytes=10 wbytes=8388608 rios=1 wios=8 dbytes=0 dios=0\n8:16 rbytes=5 wbytes=0 rios=1 wios=0\n'),
      { readBytes: 15, writeBytes: 8388608, readOps: 2, writeOps: 8, source: 'io.stat' })
  })
  it('falls back to /proc/PID/io when the blkio counters stay at zero (no throttle rule yet)', () => {
    const io: Record<string, string> = { 10: 'rchar: 1\nread_bytes: 4096\nwrite_bytes: 8388608\ncancelled_write_bytes: 4096\n', 11: 'read_bytes: 0\nwrite_bytes: 0\n' }
    assert.deepEqual(procIo('10\n11\n12\n', (p) => io[p]), { readBytes: 4096, writeBytes: 8384512, source: 'proc' })
  })
  it('reads a v1 and a v2 cgroup from files', () => {
    const root = mkdtempSync(join(tmpdir(), 'pn-cg-'))
    try {
      const v1 = (c: string): string => { const d = join(root, 'v1', c, 'pod'); mkdirSync(d, { recursive: true }); return d }
      writeFileSync(join(v1('cpuacct'), 'cpuacct.usage'), '2500000000\n')
      const mem = v1('memory')
      writeFileSync(join(mem, 'memory.usage_in_bytes'), '10485760\n')
      writeFileSync(join(mem, 'memory.limit_in_bytes'), '9223372036854771712\n')
      writeFileSync(join(mem, 'memory.stat'), 'cache 0\ntotal_inactive_file 1048576\n')
      writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n')
      const blk = v1('blkio')
      writeFileSync(join(blk, 'blkio.throttle.io_service_bytes_recursive'), '254:0 Read 0\n254:0 Write 8192\nTotal 8192\n')
      writeFileSync(join(blk, 'blkio.throttle.io_serviced_recursive'), '254:0 Read 0\n254:0 Write 2\nTotal 2\n')
      writeFileSync(join(v1('pids'), 'pids.current'), '3\n')
      const h = (c: string, v: 1 | 2, mount: string) => ({ version: v, mount, controllers: [c] })
      const layout1: CgroupLayout = {
        hierarchies: [], byController: {
          cpuacct: h('cpuacct', 1, join(root, 'v1', 'cpuacct')), memory: h('memory', 1, join(root, 'v1', 'memory')),
          io: h('blkio', 1, join(root, 'v1', 'blkio')), pids: h('pids', 1, join(root, 'v1', 'pids')),
        },
      }
      assert.deepEqual(readCgroupStats(layout1, 'pod'), {
        oomKills: 2, cpuNs: 2.5e9, memoryUsageBytes: 10485760, memoryWorkingSetBytes: 9437184,
        io: { readBytes: 0, writeBytes: 8192, readOps: 0, writeOps: 2, source: 'blkio' }, pids: 3,
      })
      const d2 = join(root, 'v2', 'pod')
      mkdirSync(d2, { recursive: true })
      writeFileSync(join(d2, 'cpu.stat'), 'usage_usec 1500000\nuser_usec 1000000\n')
      writeFileSync(join(d2, 'memory.current'), '2097152\n')
      writeFileSync(join(d2, 'memory.max'), '16777216\n')
      writeFileSync(join(d2, 'memory.stat'), 'anon 1\ninactive_file 97152\n')
      writeFileSync(join(d2, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')
      writeFileSync(join(d2, 'io.stat'), '254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n')
      const all = { version: 2 as const, mount: join(root, 'v2'), controllers: ['cpu', 'memory', 'io'] }
      const layout2: CgroupLayout = { hierarchies: [all], byController: { cpu: all, cpuacct: all, memory: all, io: all } }
      assert.deepEqual(readCgroupStats(layout2, 'pod'), {
        oomKills: 1, cpuNs: 1.5e9, memoryUsageBytes: 2097152, memoryWorkingSetBytes: 2000000, memoryLimitBytes: 16777216,
        io: { readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4, source: 'io.stat' },
      })
      assert.deepEqual(parseKeyValues('a 1\nb x\nc 3'), new Map([['a', 1], ['c', 3]]))
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe('cli pod stats formatting', () => {
  it('prints decimal units as podman does, one row per pod and per container', () => {
    assert.deepEqual([fmtBytes(0), fmtBytes(999), fmtBytes(1500), fmtBytes(12_345_678), fmtBytes(undefined)], ['0B', '999B', '1.50kB', '12.3MB', '-'])
    const rows = statsRows([{
      name: 'web', phase: 'Running', at: '', oomKills: 0, cpuPercent: 12.5, cpuSeconds: 3, memoryWorkingSetBytes: 2e6, memoryLimitBytes: 8e6,
      network: { rxBytes: 1000, txBytes: 2000, rxPackets: 1, txPackets: 2, rxDropped: 0, txDropped: 1, rxErrors: 0, txErrors: 0, interfaces: [] },
      containers: [{ name: 'c', state: 'running', oomKills: 1 }],
    }])
    assert.deepEqual(rows.map((r) => [r.pod, r.container, r.cpu, r.mem, r.mempct, r.net, r.drops, r.oom]), [
      ['web', '-', '12.50%', '2.00MB / 8.00MB', '25.00%', '1.00kB / 2.00kB', '0 / 1', '0'],
      ['web', 'c', '-', '- / -', '-', '', '', '1'],
    ])
  })
})
