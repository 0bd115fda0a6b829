/** One validator per kind of name (net/names.ts), shared by the CLI, the library and the CNI plugin. */
import assert from 'node:assert/strict'
import { InvalidArgumentError } from '../../../src/errors.js'
import { validateContainerId, validateIfname, validateNetnsName, validateNetworkName } from '../../../src/net/names.js'

const refuses = (fn: () => void, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message))

describe('net/names', () => {
  it('interface names: 1-15 bytes, not . or .., no /, :, NUL or white space (the kernel\'s dev_valid_name)', () => {
    for (const ok of ['eth0', 'pn-web', 'a'.repeat(15), 'vèth0']) assert.doesNotThrow(() => validateIfname(ok), ok)
    refuses(() => validateIfname(''), /must not be empty/)
    refuses(() => validateIfname('a'.repeat(16)), /interface name is too long: .* 16 bytes long; interface names are at most 15 bytes/)
    refuses(() => validateIfname('èèèèèèèè'), /16 bytes long/)
    refuses(() => validateIfname('..'), /cannot be \. or \.\./)
    for (const bad of ['a/b', 'a:b', 'a b', 'a\0b']) refuses(() => validateIfname(bad), /contains/)
  })

  it('namespace names: a file name (no /, not . or .., at most 255 bytes)', () => {
    assert.doesNotThrow(() => validateNetnsName('pod-1.x'))
    refuses(() => validateNetnsName('a/b'), /netns name: 'a\/b' contains '\/'/)
    refuses(() => validateNetnsName('.'), /not allowed/)
    refuses(() => validateNetnsName('x'.repeat(256)), /the limit is 255/)
  })

  it('network names: libcni\'s characters, at most 64 bytes', () => {
    for (const ok of ['web', 'a.b_c-d', '0', 'x'.repeat(64)]) assert.doesNotThrow(() => validateNetworkName(ok), ok)
    refuses(() => validateNetworkName(''), /missing network name/)
    refuses(() => validateNetworkName('-bad'), /invalid characters found in network name/)
    refuses(() => validateNetworkName('a/b'), /invalid characters found in network name/)
    refuses(() => validateNetworkName('x'.repeat(65)), /network name is too long/)
    refuses(() => validateNetworkName(42), /invalid characters/)
  })

  it('container ids: letters, digits and _.:@+-, at most 128; the field is named', () => {
    for (const ok of ['pod1', 'a'.repeat(64), 'ns:pod@x+1']) assert.doesNotThrow(() => validateContainerId(ok), ok)
    refuses(() => validateContainerId('a/b', 'CNI_CONTAINERID'), /^CNI_CONTAINERID: invalid characters in CNI_CONTAINERID/)
    refuses(() => validateContainerId('_x'), /invalid characters/)
    refuses(() => validateContainerId('a'.repeat(129)), /too long: 129 characters/)
  })
})
