/** Helpers for the overlay's kernel tests. */
import { ipJson, type Cluster } from '../../src/testing/index.js'

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await cond()) return Date.now() - t0
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}

/** Routes into the overlay subnets (10.244-10.255) on node i, as `ip -j route` shows them: "SUBNET via GW dev DEV [onlink]". */
export function overlayRoutes(c: Cluster, i: number): string[] {
  return (ipJson(c.node(i).ns.name, 'route', 'show') as any[]).filter((r) => /^10\.2(4[4-9]|5\d)\./.test(r.dst) && r.gateway)
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}${r.flags?.includes('onlink') ? ' onlink' : ''}`).sort()
}
