/**
 * podnet/nftables: nf_tables over nfnetlink. The Nft handle (one atomic batch per transaction,
 * listing of tables, chains, rules, sets and elements), the object types, the expression union
 * and ready-made expression builders. Re-exports only.
 */
export { Nft, NftTransaction, type AddedRule, type CommitResult, type Gen, type NftOpenOptions, type TransactionOptions } from './nft.js'
export { NftTransactionError } from '../../errors.js'
export type { Table, TableRef, TableSpec } from './table.js'
export type { Chain, ChainRef, ChainSpec, InTable } from './chain.js'
export type { Rule, RuleRef, RuleSpec } from './rule.js'
export type {
  ElementsSpec, NftSet, SetDataType, SetElement, SetElementSpec, SetRef, SetScalar, SetSpec, SetType, SetValue,
} from './set.js'
export type { ChainPolicy, ChainType, Family, HookName, PriorityName, VerdictCode } from './names.js'
export type {
  BitwiseExpr, CmpExpr, CmpOp, CounterExpr, CtDirection, CtExpr, CtKey, Expr, FibExpr, FibFlag, FibResult, ImmediateExpr,
  LookupExpr, MasqExpr, MetaExpr, MetaKey, NatExpr, PayloadBase, PayloadExpr, RawExpr, RedirExpr, VerdictExpr,
} from './expr/index.js'
export {
  accept, counter, dnat, dnatToMap, drop, goTo, jump, masquerade, matchAddrInSet, matchCtState, matchDaddr, matchDport,
  matchDportInSet, matchFibDaddrLocal, matchIifname, matchL4proto, matchOifname, matchSaddr, matchSport, redirect,
  returnVerdict, snat,
  type AddrMatchOptions, type ConcatField, type CtState, type L4Proto, type MasqueradeOptions, type MatchOptions,
} from './builders.js'
