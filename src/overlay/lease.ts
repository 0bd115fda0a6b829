/**
 * The node's lease and name (the node agent, agent.ts): everything the node announces hangs on
 * one lease, so a dead node leaves the store in one revision. A restarted agent adopts its
 * previous lease while it lives; otherwise a new one is granted and the node name is claimed
 * on it with a create-revision transaction (a live agent elsewhere holding the name is a
 * ConflictError naming it).
 */
import { hostname } from 'node:os'
import { ConflictError } from '../errors.js'
import { nodeKey, parseNodeRecord, type NodeRecord } from './model.js'
import type { AgentContext, AgentFile } from './agent-context.js'

function nodeRecord(ctx: AgentContext): NodeRecord {
  return {
    node: ctx.node, underlay: ctx.underlay.address, agentId: ctx.agentId, lease: ctx.lease,
    startedAt: new Date().toISOString(), host: hostname(), pid: process.pid,
  }
}

/** Adopts `previous` when it still lives, else grants a lease; claims the node name on it. */
export async function acquireLease(ctx: AgentContext, previous?: string): Promise<void> {
  const key = nodeKey(ctx.node)
  if (previous && (await ctx.store.timeToLive(previous)) > 0) {
    const cur = await ctx.store.get(key)
    const rec = cur && parseNodeRecord(cur.value)
    if (rec && rec.agentId === ctx.agentId && cur.lease === previous) {
      ctx.lease = previous
      await ctx.store.keepAlive(previous)
      await ctx.store.put(key, JSON.stringify(nodeRecord(ctx)), { lease: ctx.lease })
      persistLease(ctx)
      return
    }
  }
  const granted = await ctx.store.grantLease(ctx.ttl)
  ctx.lease = granted.id
  const value = JSON.stringify(nodeRecord(ctx))
  const r = await ctx.store.txn([{ key, createRevision: 0 }], [{ put: { key, value, lease: ctx.lease } }], [{ get: { key } }])
  if (!r.succeeded) {
    const cur = r.gets[0]
    const rec = cur && parseNodeRecord(cur.value)
    if (cur && rec && rec.agentId === ctx.agentId) {
      // ours from an earlier run (its lease still lives): move the name onto the new lease
      await ctx.store.put(key, value, { lease: ctx.lease })
    } else {
      await ctx.store.revoke(ctx.lease).catch(() => undefined)
      ctx.lease = '0'
      const who = rec ? `an agent on ${rec.host ?? 'another host'}${rec.pid ? ` (pid ${rec.pid})` : ''} with underlay ${rec.underlay}, since ${rec.startedAt}` : 'a record podnet cannot read'
      throw new ConflictError(`node name '${ctx.node}' is held by a live agent: ${who}; choose another name, or stop that agent (its lease expires ${ctx.ttl} s or so after it stops)`)
    }
  }
  persistLease(ctx)
}

function persistLease(ctx: AgentContext): void {
  ctx.state.writeJson(ctx.agentFile, { agentId: ctx.agentId, node: ctx.node, lease: ctx.lease } satisfies AgentFile)
}
