/**
 * Nft: an nf_tables handle (one NETLINK_NETFILTER socket, bound to one network namespace).
 *
 *   const nft = Nft.open({ netnsFd })
 *   const { rules } = await nft.transaction()
 *     .addTable({ family: 'ip', name: 'podnet' })
 *     .addChain({ family: 'ip', table: 'podnet', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' })
 *     .addRule({ family: 'ip', table: 'podnet', chain: 'postrouting', exprs: [...matchSaddr('10.88.0.0/16'), ...masquerade()] })
 *     .commit()
 *   nft.close()
 *
 * Ownership: every command names its table, and nothing here lists-and-deletes or flushes
 * the ruleset, so podnet only ever changes tables its caller names. Callers (the bridge layer)
 * name only the tables podnet created ("podnet"), never another program's.
 */
import { InvalidArgumentError, PodnetError } from '../../errors.js'
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NETLINK_NETFILTER } from '../core/header.js'
import { decodeMessageBody, encodeMessageBody, type AttrValues, type DecodedMessage } from '../core/schema.js'
import { NetlinkSocket, type NetlinkRequest, type Transport } from '../core/socket.js'
import type { NetnsArg } from '../../netns/netns.js'
import { Writer } from '../core/writer.js'
import { BatchReplies, encodeBatch, type Command } from './batch.js'
import { chainFromValues, describeChain, newChainValues, type Chain, type ChainRef, type ChainSpec, type InTable } from './chain.js'
import {
  NFNETLINK_V0, NFNL_SUBSYS_NFTABLES, NFPROTO_UNSPEC, NFT_MSG_NEWCHAIN, NFT_MSG_NEWGEN, NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE,
} from './constants.js'
import type { Expr } from './expr/index.js'
import { FAMILY_NUMBER, nftMsgName, type Family } from './names.js'
import { ruleFromValues, newRuleValues, type Rule, type RuleRef, type RuleSpec } from './rule.js'
import { DELCHAIN, DESTROYCHAIN, GETCHAIN, NEWCHAIN } from './schema/chain.js'
import { GETGEN } from './schema/gen.js'
import { DELRULE, DESTROYRULE, GETRULE, NEWRULE } from './schema/rule.js'
import { DELSET, DELSETELEM, DESTROYSET, DESTROYSETELEM, GETSET, GETSETELEM, NEWSET, NEWSETELEM } from './schema/set.js'
import { DELTABLE, DESTROYTABLE, GETTABLE, NEWTABLE } from './schema/table.js'
import { nftMsgType, type NftMessageSchema } from './schema/nfgen.js'
import {
  describeSet, elementFromValues, elementValues, newSetValues, setFromValues,
  type ElementsSpec, type NftSet, type SetElement, type SetRef, type SetSpec, type SetType,
} from './set.js'
import { describeTable, newTableValues, tableFromValues, type Table, type TableRef, type TableSpec } from './table.js'

export interface NftOpenOptions {
  /** Open the socket inside this network namespace: a name, a path or an open Netns (it stays bound there). */
  netns?: NetnsArg
  /** Talk to this instead of the kernel (tests: a fake kernel). */
  transport?: Transport
  /** Receive timeout in ms (default 30 s). */
  timeoutMs?: number
}

/** The ruleset generation (bumped by every committed transaction). */
export interface Gen {
  id: number
  procPid?: number
  procName?: string
}

/** A rule added by a committed transaction, with the handle the kernel gave it. */
export interface AddedRule extends RuleRef {
  comment?: string
}

export interface CommitResult {
  /** The rules of every addRule() call, in call order, with their handles. */
  rules: AddedRule[]
}

export interface TransactionOptions {
  /** Refuse the batch (ERESTART) unless the ruleset generation is still this (see getGen()). */
  genId?: number
}

const typeName = (t: number): string =>
  t >> 8 === NFNL_SUBSYS_NFTABLES ? nftMsgName(t & 0xff) : t === 0x10 ? 'NFNL_MSG_BATCH_BEGIN' : t === 0x11 ? 'NFNL_MSG_BATCH_END' : `message type ${t}`

const familyNum = (f: Family): number => {
  const n = FAMILY_NUMBER[f]
  if (n === undefined) throw new TypeError(`unknown nf_tables family '${String(f)}'`)
  return n
}

/** An nf_tables handle inside one network namespace. Equivalent to: `nft` (in `ip netns exec`). */
export class Nft {
  private readonly sock: NetlinkSocket
  private readonly writer = new Writer(8192)
  private closed = false

  private constructor(sock: NetlinkSocket) {
    this.sock = sock
  }

  /** Opens a NETLINK_NETFILTER socket (synchronously; inside `netns` when given). */
  static open(opts: NftOpenOptions = {}): Nft {
    return new Nft(NetlinkSocket.open(NETLINK_NETFILTER, {
      typeName,
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      ...(opts.transport !== undefined ? { transport: opts.transport } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    }))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.sock.close()
  }

  /** Starts a transaction: queue commands, then commit() sends them as one atomic batch. */
  transaction(opts: TransactionOptions = {}): NftTransaction {
    this.check()
    return new NftTransaction(this, opts)
  }

  /** @internal Sends a batch and collects the answers (used by NftTransaction). */
  runBatch(commands: readonly Command[], opts: TransactionOptions): Map<number, DecodedMessage[]> {
    this.check()
    if (!commands.length) return new Map()
    const batch = encodeBatch(commands, () => this.sock.nextSeq(), opts, this.writer)
    this.sock.sendRaw(batch.bytes)
    const replies = new BatchReplies(batch, commands, this.sock.portId)
    while (!replies.done) {
      if (!this.sock.receiveSync((m) => replies.onMessage(m))) {
        throw new PodnetError(`nf_tables transaction of ${commands.length} commands: no answer from the kernel within the receive timeout`)
      }
    }
    return replies.result()
  }

  /** Tables of one family (all families by default). Equivalent to: `nft list tables [family]`. */
  async listTables(family?: Family): Promise<Table[]> {
    return this.dump(GETTABLE, family === undefined ? NFPROTO_UNSPEC : familyNum(family), {}, NFT_MSG_NEWTABLE, tableFromValues, 'tables')
  }

  /** Chains of one table. Equivalent to: `nft list chains` filtered to the table. */
  async listChains(t: InTable): Promise<Chain[]> {
    const chains = this.dump(GETCHAIN, familyNum(t.family), { table: t.table }, NFT_MSG_NEWCHAIN, chainFromValues, describeTable({ family: t.family, name: t.table }))
    return chains.filter((c) => c.table === t.table)
  }

  /**
   * Rules of one table, or of one chain (filtered in the kernel), expressions decoded.
   * Equivalent to: `nft -a list chain <family> <table> <chain>`.
   */
  async listRules(t: InTable & { chain?: string }): Promise<Rule[]> {
    const attrs: AttrValues = t.chain === undefined ? { table: t.table } : { table: t.table, chain: t.chain }
    const what = t.chain === undefined ? describeTable({ family: t.family, name: t.table }) : describeChain(t)
    const rules = this.dump(GETRULE, familyNum(t.family), attrs, NFT_MSG_NEWRULE, ruleFromValues, what)
    return rules.filter((r) => r.table === t.table && (t.chain === undefined || r.chain === t.chain))
  }

  /** Sets and maps of one table. Equivalent to: `nft list sets` filtered to the table. */
  async listSets(t: InTable): Promise<NftSet[]> {
    const sets = this.dump(GETSET, familyNum(t.family), { table: t.table }, NFT_MSG_NEWSET, setFromValues, describeTable({ family: t.family, name: t.table }))
    return sets.filter((s) => s.table === t.table)
  }

  /** One set. Equivalent to: `nft list set <family> <table> <name>` (without elements). */
  async getSet(ref: SetRef): Promise<NftSet> {
    return this.getSetSync(ref)
  }

  /**
   * Elements of a set: keys (and map values) decoded by the set's types, concatenations as one
   * value per field, with their comments and counters. Equivalent to: `nft list set ...`'s elements.
   */
  async listElements(ref: SetRef): Promise<SetElement[]> {
    const set = this.getSetSync(ref)
    const items = this.dump(GETSETELEM, familyNum(ref.family), { table: ref.table, set: ref.name }, NFT_MSG_NEWSETELEM,
      (_f, v) => v, describeSet(ref))
    const out: SetElement[] = []
    for (const list of items) {
      for (const e of (list.elements as AttrValues[] | undefined) ?? []) {
        const el = elementFromValues(set, e)
        if (el) out.push(el)
      }
    }
    return out
  }

  /** The current ruleset generation. Equivalent to: `nft list ruleset`'s first request (NFT_MSG_GETGEN). */
  async getGen(): Promise<Gen> {
    this.check()
    const gens = this.sock.requestSync(this.req(GETGEN, NFPROTO_UNSPEC, {}, 'ruleset generation'), (m) => {
      if (m.type !== nftMsgType(NFT_MSG_NEWGEN)) return undefined
      const { attrs } = decodeMessageBody(GETGEN, m.buf, m.off, m.end)
      const gen: Gen = { id: typeof attrs.id === 'number' ? attrs.id : 0 }
      if (typeof attrs.procPid === 'number') gen.procPid = attrs.procPid
      if (typeof attrs.procName === 'string') gen.procName = attrs.procName
      return gen
    })
    const gen = gens[0]
    if (!gen) throw new PodnetError('NFT_MSG_GETGEN: the kernel sent no NFT_MSG_NEWGEN')
    return gen
  }

  private getSetSync(ref: SetRef): NftSet {
    this.check()
    const sets = this.sock.requestSync(this.req(GETSET, familyNum(ref.family), { table: ref.table, name: ref.name }, describeSet(ref)), (m) => {
      if (m.type !== nftMsgType(NFT_MSG_NEWSET)) return undefined
      const { header, attrs } = decodeMessageBody(GETSET, m.buf, m.off, m.end)
      return setFromValues(Number(header.family), attrs)
    })
    const set = sets[0]
    if (!set) throw new PodnetError(`${describeSet(ref)}: NFT_MSG_GETSET returned nothing`)
    return set
  }

  private req(schema: NftMessageSchema, family: number, attrs: AttrValues, object: string): NetlinkRequest {
    return {
      type: nftMsgType(schema.cmd),
      flags: 0,
      body: (w) => encodeMessageBody(schema, { family, version: NFNETLINK_V0, resId: 0 }, attrs, w),
      schema,
      object,
    }
  }

  private dump<T>(schema: NftMessageSchema, family: number, attrs: AttrValues, replyCmd: number, make: (family: number, v: AttrValues) => T, object: string): T[] {
    this.check()
    const replyType = nftMsgType(replyCmd)
    return this.sock.dumpSync(this.req(schema, family, attrs, object), (m) => {
      if (m.type !== replyType) return undefined
      const { header, attrs: v } = decodeMessageBody(schema, m.buf, m.off, m.end)
      return make(Number(header.family), v)
    })
  }

  private check(): void {
    if (this.closed) throw new PodnetError('Nft handle is closed')
  }
}

/**
 * A batch under construction. Each method queues one command and returns `this`; nothing
 * reaches the kernel before commit(), which applies all of them atomically or none.
 */
export class NftTransaction {
  private readonly nft: Nft
  private readonly opts: TransactionOptions
  private readonly commands: Command[] = []
  /** Index into `commands` of each addRule(), in call order. */
  private readonly ruleCommands: number[] = []
  private readonly ruleSpecs = new Map<number, RuleSpec>()
  /** Sets created in this transaction: "family table name" -> { id, types }. */
  private readonly newSets = new Map<string, { id: number; keyType: SetType; dataType?: SetType }>()
  private nextSetId = 1
  private committed = false

  /** @internal use Nft.transaction() */
  constructor(nft: Nft, opts: TransactionOptions) {
    this.nft = nft
    this.opts = opts
  }

  /** Number of queued commands. */
  get size(): number {
    return this.commands.length
  }

  /** Creates the table, or leaves an existing one as it is. Equivalent to: `nft add table <family> <name>`. */
  addTable(spec: TableSpec): this {
    // no NLM_F_CREATE, as nft: the kernel creates a missing table either way
    return this.push(NEWTABLE, spec.family, spec.exclusive ? NLM_F_EXCL : 0, newTableValues(spec), describeTable(spec))
  }

  /** Deletes a table with everything in it. Equivalent to: `nft delete table <family> <name>`. */
  delTable(ref: TableRef): this {
    return this.push(DELTABLE, ref.family, 0, { name: ref.name }, describeTable(ref))
  }

  /** Like delTable, but no error when it does not exist (kernel >= 6.3). Equivalent to: `nft destroy table ...`. */
  destroyTable(ref: TableRef): this {
    return this.push(DESTROYTABLE, ref.family, 0, { name: ref.name }, describeTable(ref))
  }

  /** Deletes every rule of a table. Equivalent to: `nft flush table <family> <name>`. */
  flushTable(ref: TableRef): this {
    return this.push(DELRULE, ref.family, 0, { table: ref.name }, describeTable(ref))
  }

  /**
   * Creates a chain (a base chain when `hook` is given), or updates an existing one.
   * Equivalent to: `nft add chain <family> <table> <name> { type nat hook postrouting priority srcnat; }`.
   */
  addChain(spec: ChainSpec): this {
    return this.push(NEWCHAIN, spec.family, NLM_F_CREATE | (spec.exclusive ? NLM_F_EXCL : 0), newChainValues(spec), describeChain(spec))
  }

  /** Deletes an empty, unreferenced chain. Equivalent to: `nft delete chain <family> <table> <name>`. */
  delChain(ref: ChainRef): this {
    return this.push(DELCHAIN, ref.family, 0, { table: ref.table, name: ref.name }, describeChain(ref))
  }

  /** Like delChain, but no error when it does not exist (kernel >= 6.3). */
  destroyChain(ref: ChainRef): this {
    return this.push(DESTROYCHAIN, ref.family, 0, { table: ref.table, name: ref.name }, describeChain(ref))
  }

  /** Deletes every rule of a chain. Equivalent to: `nft flush chain <family> <table> <name>`. */
  flushChain(ref: ChainRef): this {
    return this.push(DELRULE, ref.family, 0, { table: ref.table, chain: ref.name }, describeChain(ref))
  }

  /**
   * Appends a rule (or inserts it, see `insert`/`position`); commit() reports its handle.
   * Lookups of sets created earlier in this transaction get the set's transaction id.
   * Equivalent to: `nft add rule <family> <table> <chain> ... comment "..."`.
   */
  addRule(spec: RuleSpec): this {
    const exprs = spec.exprs.map((e) => this.withSetId(spec, e))
    const flags = NLM_F_CREATE | NLM_F_ECHO | (spec.insert ? 0 : NLM_F_APPEND)
    const attrs = newRuleValues({ ...spec, exprs })
    const index = this.commands.length
    this.push(NEWRULE, spec.family, flags, attrs, describeChain(spec))
    this.ruleCommands.push(index)
    this.ruleSpecs.set(index, spec)
    return this
  }

  /** Deletes one rule by handle. Equivalent to: `nft delete rule <family> <table> <chain> handle <h>`. */
  delRule(ref: RuleRef): this {
    return this.push(DELRULE, ref.family, 0, { table: ref.table, chain: ref.chain, handle: ref.handle }, `${describeChain(ref)} handle ${ref.handle}`)
  }

  /** Like delRule, but no error when it does not exist (kernel >= 6.3). */
  destroyRule(ref: RuleRef): this {
    return this.push(DESTROYRULE, ref.family, 0, { table: ref.table, chain: ref.chain, handle: ref.handle }, `${describeChain(ref)} handle ${ref.handle}`)
  }

  /**
   * Creates a named set (or a map when `dataType` is given), or leaves an existing one with the
   * same types as it is. Equivalent to: `nft add set <family> <table> <name> { type ipv4_addr; }`,
   * `nft add map ... { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; counter; }`.
   */
  addSet(spec: SetSpec): this {
    const id = this.nextSetId++
    this.newSets.set(setKey(spec), { id, keyType: spec.keyType, ...(spec.dataType !== undefined ? { dataType: spec.dataType } : {}) })
    return this.push(NEWSET, spec.family, NLM_F_CREATE, newSetValues(spec, id), describeSet(spec))
  }

  /** Deletes a set no rule refers to. Equivalent to: `nft delete set <family> <table> <name>`. */
  delSet(ref: SetRef): this {
    return this.push(DELSET, ref.family, 0, { table: ref.table, name: ref.name }, describeSet(ref))
  }

  /** Like delSet, but no error when it does not exist (kernel >= 6.3). */
  destroySet(ref: SetRef): this {
    return this.push(DESTROYSET, ref.family, 0, { table: ref.table, name: ref.name }, describeSet(ref))
  }

  /** Adds elements. Equivalent to: `nft add element <family> <table> <set> { ... }`. */
  addElements(spec: ElementsSpec): this {
    return this.push(NEWSETELEM, spec.family, NLM_F_CREATE, this.elementValues(spec), describeSet(spec))
  }

  /** Removes elements by key (map values are not needed). Equivalent to: `nft delete element <family> <table> <set> { ... }`. */
  delElements(spec: ElementsSpec): this {
    return this.push(DELSETELEM, spec.family, 0, this.elementValues(spec), describeSet(spec))
  }

  /** Like delElements, but no error for elements that are not there (kernel >= 6.3). */
  destroyElements(spec: ElementsSpec): this {
    return this.push(DESTROYSETELEM, spec.family, 0, this.elementValues(spec), describeSet(spec))
  }

  /**
   * Sends every queued command as one batch. Either all are applied or none: on failure it
   * throws NftTransactionError (a NetlinkError) naming the first failing command and object.
   */
  async commit(): Promise<CommitResult> {
    return this.commitSync()
  }

  /** commit(), synchronously (the kernel does all the work inside sendmsg). */
  commitSync(): CommitResult {
    if (this.committed) throw new PodnetError('nf_tables transaction already committed')
    this.committed = true
    const echoes = this.nft.runBatch(this.commands, this.opts)
    const rules: AddedRule[] = this.ruleCommands.map((index) => {
      const c = this.commands[index] as Command
      const echo = echoes.get(index)?.[0]
      const handle = echo && typeof echo.attrs.handle === 'bigint' ? echo.attrs.handle : undefined
      if (handle === undefined) throw new PodnetError(`${c.object}: the kernel did not echo the new rule's handle`)
      const spec = this.ruleSpecs.get(index) as RuleSpec
      return { family: spec.family, table: spec.table, chain: spec.chain, handle, ...(spec.comment !== undefined ? { comment: spec.comment } : {}) }
    })
    return { rules }
  }

  private push(schema: NftMessageSchema, family: Family, flags: number, attrs: AttrValues, object: string): this {
    if (this.committed) throw new PodnetError('nf_tables transaction already committed')
    this.commands.push({ schema, family: familyNum(family), flags, attrs, object })
    return this
  }

  private withSetId(rule: RuleSpec, e: Expr): Expr {
    if (e.kind !== 'lookup' || e.setId !== undefined) return e
    const s = this.newSets.get(setKey({ family: rule.family, table: rule.table, name: e.set }))
    return s ? { ...e, setId: s.id } : e
  }

  private elementValues(spec: ElementsSpec): AttrValues {
    const created = this.newSets.get(setKey(spec))
    const keyType = spec.keyType ?? created?.keyType
    const dataType = spec.dataType ?? created?.dataType
    if (!spec.elements.length) throw new InvalidArgumentError('elements', `${describeSet(spec)}: no elements given`)
    const elements = spec.elements.map((e) => elementValues(e, keyType, dataType, describeSet(spec)))
    const v: AttrValues = { table: spec.table, set: spec.name }
    if (created) v.setId = created.id
    v.elements = elements
    return v
  }
}

const setKey = (s: { family: Family; table: string; name: string }): string => `${s.family} ${s.table} ${s.name}`
