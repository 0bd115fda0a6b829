/** mocha root hooks: the whole suite refuses to run outside the sandbox. */
import { assertSandboxed } from '../../src/testing/guard.js'

export const mochaHooks = {
  beforeAll(): void {
    assertSandboxed()
  },
}
