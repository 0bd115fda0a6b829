/**
 * A throwaway namespace per test (podnet/testing's createTempNetns) with an Nft handle inside it
 * and `nft` as the oracle. Cleanup: close() closes the handle and removes the namespace; its
 * whole ruleset dies with it.
 */
import { execFileSync } from 'node:child_process'
import { Nft } from '../../../src/netlink/nftables/index.js'
import { createTempNetns, type TempNetns } from '../../../src/testing/index.js'

export interface NftNetns extends TempNetns {
  /** An Nft handle opened inside the namespace. */
  readonly nft: Nft
  /** Runs `nft ARGS...` inside the namespace; returns stdout (throws with stderr on failure). */
  run(...args: string[]): string
  /** Applies an nft script (`nft -f -`) inside the namespace. */
  apply(script: string): void
  /** `nft -j list ruleset` inside the namespace: the `nftables` array without metainfo. */
  ruleset(): any[]
}

export function createNftNetns(): NftNetns {
  const t = createTempNetns('pn-nft')
  let nft: Nft
  try {
    nft = Nft.open({ netns: t.ns, timeoutMs: 5000 })
  } catch (err) {
    t.close()
    throw err
  }
  const nftIn = (args: string[], input?: string): string =>
    execFileSync('ip', ['netns', 'exec', t.name, 'nft', ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) })
  return {
    ...t,
    nft,
    run: (...args) => nftIn(args),
    apply: (script) => { nftIn(['-f', '-'], script) },
    ruleset: () => (JSON.parse(nftIn(['-j', 'list', 'ruleset'])) as { nftables: any[] }).nftables.filter((o) => !('metainfo' in o)),
    close() {
      nft.close()
      t.close()
    },
  }
}

/** mocha helper: a fresh namespace with an Nft handle for every test. */
export function useNftNetns(): () => NftNetns {
  let current: NftNetns | undefined
  beforeEach(() => { current = createNftNetns() })
  afterEach(() => {
    current?.close()
    current = undefined
  })
  return () => {
    if (!current) throw new Error('useNftNetns(): used outside a test')
    return current
  }
}
