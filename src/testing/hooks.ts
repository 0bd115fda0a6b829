/**
 * Test-runner hooks for the fixtures: the same `useTempNetns()` / `useTopology()` / `useLab()`
 * work under mocha, node:test, jest and vitest.
 *
 * Which runner: `runner` when given; else the global hooks mocha and jest (and vitest with
 * `globals: true`) define; else node:test's (`node --test`), loaded on demand. vitest without
 * globals: pass its hooks, `{ runner: { beforeEach, afterEach } }` from 'vitest'.
 *
 * Every fixture's teardown runs in afterEach/after, which all four runners run after a failed
 * or timed-out test too; and an 'exit' handler closes whatever is still open (a runner that
 * bails out) synchronously: no namespace, server or temporary directory outlives the process.
 */
import { createRequire } from 'node:module'

type HookFn = () => unknown
type Register = (fn: HookFn) => void

/** The four hooks a fixture needs; each takes a function that may return a promise. */
export interface TestHooks {
  beforeEach: Register
  afterEach: Register
  /** Once per describe block (mocha/node:test `before`, jest/vitest `beforeAll`). */
  beforeAll: Register
  /** Once per describe block (mocha/node:test `after`, jest/vitest `afterAll`). */
  afterAll: Register
}

/** A runner by name, or its hooks (vitest without globals, or any runner with the same four functions). */
export type Runner = 'mocha' | 'jest' | 'vitest' | 'node:test' | Partial<TestHooks> & Pick<TestHooks, 'beforeEach' | 'afterEach'>

const g = globalThis as unknown as Record<string, unknown>
const fn = (name: string): Register | undefined => (typeof g[name] === 'function' ? (g[name] as Register) : undefined)

function globalHooks(): TestHooks | undefined {
  const be = fn('beforeEach')
  const ae = fn('afterEach')
  const ba = fn('before') ?? fn('beforeAll')
  const aa = fn('after') ?? fn('afterAll')
  if (!be || !ae || !ba || !aa) return undefined
  return { beforeEach: be, afterEach: ae, beforeAll: ba, afterAll: aa }
}

function nodeTestHooks(): TestHooks {
  const t = createRequire(import.meta.url)('node:test') as { before: Register; after: Register; beforeEach: Register; afterEach: Register }
  // node:test passes the test context (and, to hooks declaring two parameters, a callback): wrap
  // so the fixtures' functions are always called with none
  const wrap = (reg: Register): Register => (f) => reg(() => f())
  return { beforeEach: wrap(t.beforeEach), afterEach: wrap(t.afterEach), beforeAll: wrap(t.before), afterAll: wrap(t.after) }
}

/** The hooks of the runner in use (see the module comment for how it is found). */
export function testHooks(runner?: Runner): TestHooks {
  if (runner === undefined) return globalHooks() ?? nodeTestHooks()
  if (runner === 'node:test') return nodeTestHooks()
  if (typeof runner === 'string') {
    const h = globalHooks()
    if (!h) throw new TypeError(`testHooks: '${runner}' hooks (beforeEach/afterEach/beforeAll/afterAll) are not defined globally; pass them: { runner: { beforeEach, afterEach, beforeAll, afterAll } }`)
    return h
  }
  const missing = (name: string): Register => () => {
    throw new TypeError(`testHooks: this fixture needs ${name}; pass it in { runner: { ... } }`)
  }
  return {
    beforeEach: runner.beforeEach,
    afterEach: runner.afterEach,
    beforeAll: runner.beforeAll ?? missing('beforeAll'),
    afterAll: runner.afterAll ?? missing('afterAll'),
  }
}

/** Something that can be torn down synchronously (the last resort at process exit). */
export interface SyncClosable {
  closeSync(): void
}

const live = new Set<SyncClosable>()
let exitHandler = false

/**
 * Tracks a fixture until it is closed: at process exit (a runner that bailed out, a test that
 * never reached its teardown) everything still tracked is closed synchronously. Returns the
 * function that stops tracking it.
 */
export function trackFixture(f: SyncClosable): () => void {
  live.add(f)
  if (!exitHandler) {
    exitHandler = true
    process.once('exit', () => {
      for (const x of [...live].reverse()) {
        try {
          x.closeSync()
        } catch {
          /* best effort at exit: nothing can be reported any more */
        }
      }
      live.clear()
    })
  }
  return () => {
    live.delete(f)
  }
}

/**
 * A fixture per test: `create` before each test, `close` after it (also after a failure or a
 * timeout); the getter throws outside a test. The error of a failed `close` fails that test's
 * afterEach (the runner reports it) after every other step has run.
 */
export function perTest<T>(name: string, create: () => T | Promise<T>, close: (x: T) => unknown, runner?: Runner): () => T {
  const hooks = testHooks(runner)
  return scoped((fn) => hooks.beforeEach(fn), (fn) => hooks.afterEach(fn), create, close, `${name}(): used outside a test (call the getter inside it(), test() or a hook)`)
}

/** A fixture per describe block: `create` once before its tests, `close` after the last one. */
export function perSuite<T>(name: string, create: () => T | Promise<T>, close: (x: T) => unknown, runner?: Runner): () => T {
  const hooks = testHooks(runner)
  return scoped((fn) => hooks.beforeAll(fn), (fn) => hooks.afterAll(fn), create, close, `${name}(): used outside its describe block`)
}

/** A value made by the `before` hook and closed by the `after` hook; the getter throws `outside` between them. */
function scoped<T>(before: (fn: () => Promise<void>) => void, after: (fn: () => Promise<void>) => void,
  create: () => T | Promise<T>, close: (x: T) => unknown, outside: string): () => T {
  let current: T | undefined
  let has = false
  before(async () => {
    current = await create()
    has = true
  })
  after(async () => {
    if (!has) return
    const x = current as T
    current = undefined
    has = false
    await close(x)
  })
  return () => {
    if (!has) throw new Error(outside)
    return current as T
  }
}
