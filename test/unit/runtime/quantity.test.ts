/** Kubernetes quantities for cpu and memory limits. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { formatBytes, formatCpu, parseCpuMillis, parseMemoryBytes, parseQuantity } from '../../../src/runtime/quantity.js'

describe('runtime/quantity', () => {
  it('parses every suffix form', () => {
    const cases: Array<[unknown, number]> = [
      ['1', 1], [2, 2], ['0.5', 0.5], ['200m', 0.2], ['1k', 1000], ['1Ki', 1024], ['64Mi', 64 * 2 ** 20], ['1G', 1e9],
      ['1Gi', 2 ** 30], ['1e3', 1000], ['1.5E2', 150], ['.5', 0.5], ['100u', 1e-4], ['1T', 1e12],
    ]
    for (const [v, n] of cases) assert.ok(Math.abs(parseQuantity(v, 'f') - n) < 1e-9 * Math.max(1, n), `${String(v)}`)
  })
  it('cpu in millicores, rounded up to at least 1m', () => {
    assert.equal(parseCpuMillis('200m', 'f'), 200)
    assert.equal(parseCpuMillis(0.2, 'f'), 200)
    assert.equal(parseCpuMillis('1.5', 'f'), 1500)
    assert.equal(parseCpuMillis('0.0001', 'f'), 1)
    assert.equal(formatCpu(200), '200m')
    assert.equal(formatCpu(2000), '2')
  })
  it('memory in bytes, fractions rounded up', () => {
    assert.equal(parseMemoryBytes('64Mi', 'f'), 67108864)
    assert.equal(parseMemoryBytes('1.5Ki', 'f'), 1536)
    assert.equal(parseMemoryBytes('0.1', 'f'), 1)
    assert.equal(parseMemoryBytes(134217728, 'f'), 134217728)
    assert.equal(formatBytes(67108864), '64Mi')
    assert.equal(formatBytes(1500), '1500')
  })
  it('refuses what is not a positive quantity, naming the field', () => {
    for (const bad of ['12XB', 'Mi', '', '1 Mi', '--1', null, true, {}]) {
      assert.throws(() => parseMemoryBytes(bad, 'spec.x.memory'), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'spec.x.memory', String(bad))
    }
    assert.throws(() => parseMemoryBytes('0', 'f'), /greater than 0/)
    assert.throws(() => parseCpuMillis('-100m', 'f'), /greater than 0/)
  })
})
