/**
 * The vocabulary shared by specs and decoded objects: address families, hooks, chain
 * priorities and policies by the names `nft` uses, each with its kernel number.
 * Decoders return the name when there is one and the number otherwise.
 */
import {
  NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NF_INET_INGRESS, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT,
  NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING, NF_QUEUE, NF_REPEAT, NF_STOLEN, NFPROTO_ARP, NFPROTO_BRIDGE,
  NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_NETDEV, NFT_BREAK, NFT_CONTINUE, NFT_GOTO, NFT_JUMP,
  NFT_RETURN,
} from './constants.js'
import { NFT_MSG_DESTROYCHAIN, NFT_MSG_DESTROYRULE, NFT_MSG_DESTROYSET, NFT_MSG_DESTROYSETELEM, NFT_MSG_DESTROYTABLE, NFT_MSG_GETRULE_RESET } from './constants-extra.js'

/** nf_tables address families by their `nft` names. */
export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev'

export const FAMILY_NUMBER: Readonly<Record<Family, number>> = {
  ip: NFPROTO_IPV4, ip6: NFPROTO_IPV6, inet: NFPROTO_INET, arp: NFPROTO_ARP, bridge: NFPROTO_BRIDGE, netdev: NFPROTO_NETDEV,
}

/** Family name for an NFPROTO_* number (the number itself when unknown). */
export function familyName(n: number): Family | number {
  for (const [name, v] of Object.entries(FAMILY_NUMBER)) if (v === n) return name as Family
  return n
}

/** Netfilter hooks by their `nft` names (NF_INET_*; ingress is netdev/inet). */
export type HookName = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress'

export const HOOK_NUMBER: Readonly<Record<HookName, number>> = {
  prerouting: NF_INET_PRE_ROUTING, input: NF_INET_LOCAL_IN, forward: NF_INET_FORWARD,
  output: NF_INET_LOCAL_OUT, postrouting: NF_INET_POST_ROUTING, ingress: NF_INET_INGRESS,
}

export function hookName(n: number): HookName | number {
  for (const [name, v] of Object.entries(HOOK_NUMBER)) if (v === n) return name as HookName
  return n
}

/** `nft`'s named chain priorities for the ip, ip6 and inet families. */
export type PriorityName = 'raw' | 'mangle' | 'dstnat' | 'filter' | 'security' | 'srcnat'

export const PRIORITY_NUMBER: Readonly<Record<PriorityName, number>> = {
  raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100,
}

export type ChainType = 'filter' | 'nat' | 'route'
export type ChainPolicy = 'accept' | 'drop'

export const POLICY_NUMBER: Readonly<Record<ChainPolicy, number>> = { accept: NF_ACCEPT, drop: NF_DROP }

export function policyName(n: number): ChainPolicy | number {
  return n === NF_ACCEPT ? 'accept' : n === NF_DROP ? 'drop' : n
}

/** Verdict codes: netfilter's (accept, drop, ...) and nf_tables' own (jump, goto, return, ...). */
export type VerdictCode = 'accept' | 'drop' | 'stolen' | 'queue' | 'repeat' | 'continue' | 'break' | 'return' | 'jump' | 'goto'

export const VERDICT_NUMBER: Readonly<Record<VerdictCode, number>> = {
  accept: NF_ACCEPT, drop: NF_DROP, stolen: NF_STOLEN, queue: NF_QUEUE, repeat: NF_REPEAT,
  continue: NFT_CONTINUE, break: NFT_BREAK, return: NFT_RETURN, jump: NFT_JUMP, goto: NFT_GOTO,
}

export function verdictName(n: number): VerdictCode | undefined {
  for (const [name, v] of Object.entries(VERDICT_NUMBER)) if (v === n) return name as VerdictCode
  return undefined
}

const MSG_NAMES = [
  'NFT_MSG_NEWTABLE', 'NFT_MSG_GETTABLE', 'NFT_MSG_DELTABLE', 'NFT_MSG_NEWCHAIN', 'NFT_MSG_GETCHAIN',
  'NFT_MSG_DELCHAIN', 'NFT_MSG_NEWRULE', 'NFT_MSG_GETRULE', 'NFT_MSG_DELRULE', 'NFT_MSG_NEWSET',
  'NFT_MSG_GETSET', 'NFT_MSG_DELSET', 'NFT_MSG_NEWSETELEM', 'NFT_MSG_GETSETELEM', 'NFT_MSG_DELSETELEM',
  'NFT_MSG_NEWGEN', 'NFT_MSG_GETGEN', 'NFT_MSG_TRACE', 'NFT_MSG_NEWOBJ', 'NFT_MSG_GETOBJ', 'NFT_MSG_DELOBJ',
  'NFT_MSG_GETOBJ_RESET', 'NFT_MSG_NEWFLOWTABLE', 'NFT_MSG_GETFLOWTABLE', 'NFT_MSG_DELFLOWTABLE',
]
const MSG_NAMES_LATE: Record<number, string> = {
  [NFT_MSG_GETRULE_RESET]: 'NFT_MSG_GETRULE_RESET', [NFT_MSG_DESTROYTABLE]: 'NFT_MSG_DESTROYTABLE',
  [NFT_MSG_DESTROYCHAIN]: 'NFT_MSG_DESTROYCHAIN', [NFT_MSG_DESTROYRULE]: 'NFT_MSG_DESTROYRULE',
  [NFT_MSG_DESTROYSET]: 'NFT_MSG_DESTROYSET', [NFT_MSG_DESTROYSETELEM]: 'NFT_MSG_DESTROYSETELEM',
}

/** 'NFT_MSG_NEWRULE' for NFT_MSG_NEWRULE (the command number, without the subsystem byte). */
export function nftMsgName(cmd: number): string {
  return MSG_NAMES[cmd] ?? MSG_NAMES_LATE[cmd] ?? `NFT_MSG_${cmd}`
}
