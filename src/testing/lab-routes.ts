/**
 * The lab's static routes (lab.ts), computed without touching a kernel: for every subnet a node
 * is not on, the first hop of a shortest path to the nearest router on that subnet (to a plain
 * node on it when no router is: that reaches the node itself). Paths only cross routers, since
 * only routers forward. With a gateway, a default route towards it (IPv4).
 */
export interface RouteEnd {
  node: string
  ifname: string
  address: string
}

export interface RouteGraph {
  routers: ReadonlySet<string>
  segments: ReadonlyArray<{ name: string; subnet: string; family: 4 | 6; ends: readonly RouteEnd[] }>
  /** The router that leads out of the lab, and its own next hop there. */
  gateway?: { router: string; via: string; dev: string }
}

export interface LabRoute {
  /** A CIDR, or "default". */
  dst: string
  via: string
  dev: string
}

export function computeRoutes(g: RouteGraph, node: string): LabRoute[] {
  const out: LabRoute[] = []
  for (const family of [4, 6] as const) {
    const segs = g.segments.filter((s) => s.family === family)
    const dist = new Map<string, number>([[node, 0]])
    const hop = new Map<string, { via: string; dev: string }>()
    const queue = [node]
    while (queue.length) {
      const x = queue.shift()!
      if (x !== node && !g.routers.has(x)) continue // reached, but it does not forward
      for (const s of segs) {
        const me = s.ends.find((e) => e.node === x)
        if (!me) continue
        for (const y of s.ends) {
          if (dist.has(y.node)) continue
          dist.set(y.node, dist.get(x)! + 1)
          hop.set(y.node, x === node ? { via: y.address, dev: me.ifname } : hop.get(x)!)
          queue.push(y.node)
        }
      }
    }
    for (const s of segs) {
      if (s.ends.some((e) => e.node === node)) continue
      const rank = (e: RouteEnd): number => (g.routers.has(e.node) ? 0 : 1_000_000) + dist.get(e.node)!
      const best = s.ends.filter((e) => hop.has(e.node)).sort((a, b) => rank(a) - rank(b))[0]
      if (best) out.push({ dst: s.subnet, ...hop.get(best.node)! })
    }
    if (family === 4 && g.gateway) {
      if (node === g.gateway.router) out.push({ dst: 'default', via: g.gateway.via, dev: g.gateway.dev })
      else if (hop.has(g.gateway.router)) out.push({ dst: 'default', ...hop.get(g.gateway.router)! })
    }
  }
  return out
}
