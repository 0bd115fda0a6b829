/**
 * Oracles: read kernel state back with the reference tools (iproute2, nftables) as typed JSON
 * (oracle-types.ts). For tests only: product code never runs these.
 *
 * `ipJson(ns, 'link', ...)` is IpLink[], 'addr' IpAddr[], 'route' IpRoute[], 'neigh' IpNeigh[],
 * 'rule' IpRule[] (also after a '-4' / '-6'); other queries are `unknown[]`, to be narrowed by
 * the caller (`ipJson<MyShape>(...)` names the element type).
 */
import { execFileSync } from 'node:child_process'
import type {
  BridgeFdb, BridgeLink, BridgeVlanPort, IpAddr, IpLink, IpNeigh, IpRoute, IpRule, NftJsonObject, TcClass, TcFilter, TcQdisc,
} from './oracle-types.js'

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

const parse = (text: string): unknown => (text.trim() ? JSON.parse(text) : [])
const list = <T>(text: string): T[] => {
  const v = parse(text)
  return (Array.isArray(v) ? v : [v]) as T[]
}

/** Options ip(8) takes before the object (the oracle always adds -j -d). */
type Fam = '-4' | '-6' | '-s' | '-d' | '-0'
type LinkObj = 'link' | 'l'
type AddrObj = 'addr' | 'address' | 'a'
type RouteObj = 'route' | 'r' | 'ro'
type NeighObj = 'neigh' | 'neighbor' | 'n'
type RuleObj = 'rule' | 'ru'

/** `ip [-n NS] -j -d ARGS...` parsed. */
export function ipJson(netns: string | undefined, ...args: [LinkObj, ...string[]] | [Fam, LinkObj, ...string[]] | [Fam, Fam, LinkObj, ...string[]]): IpLink[]
export function ipJson(netns: string | undefined, ...args: [AddrObj, ...string[]] | [Fam, AddrObj, ...string[]] | [Fam, Fam, AddrObj, ...string[]]): IpAddr[]
export function ipJson(netns: string | undefined, ...args: [RouteObj, ...string[]] | [Fam, RouteObj, ...string[]] | [Fam, Fam, RouteObj, ...string[]]): IpRoute[]
export function ipJson(netns: string | undefined, ...args: [NeighObj, ...string[]] | [Fam, NeighObj, ...string[]] | [Fam, Fam, NeighObj, ...string[]]): IpNeigh[]
export function ipJson(netns: string | undefined, ...args: [RuleObj, ...string[]] | [Fam, RuleObj, ...string[]] | [Fam, Fam, RuleObj, ...string[]]): IpRule[]
export function ipJson<T = unknown>(netns: string | undefined, ...args: string[]): T[]
export function ipJson(netns: string | undefined, ...args: string[]): unknown[] {
  return list(run('ip', [...(netns ? ['-n', netns] : []), '-j', '-d', ...args]))
}

/** ipJson bound to one namespace (TempNetns.ip). */
export interface IpOracle {
  (...args: [LinkObj, ...string[]] | [Fam, LinkObj, ...string[]] | [Fam, Fam, LinkObj, ...string[]]): IpLink[]
  (...args: [AddrObj, ...string[]] | [Fam, AddrObj, ...string[]] | [Fam, Fam, AddrObj, ...string[]]): IpAddr[]
  (...args: [RouteObj, ...string[]] | [Fam, RouteObj, ...string[]] | [Fam, Fam, RouteObj, ...string[]]): IpRoute[]
  (...args: [NeighObj, ...string[]] | [Fam, NeighObj, ...string[]] | [Fam, Fam, NeighObj, ...string[]]): IpNeigh[]
  (...args: [RuleObj, ...string[]] | [Fam, RuleObj, ...string[]] | [Fam, Fam, RuleObj, ...string[]]): IpRule[]
  <T = unknown>(...args: string[]): T[]
}

/** An IpOracle for the namespace NAME (undefined: this process's). */
export function ipOracle(netns: string | undefined): IpOracle {
  return ((...args: string[]) => ipJson(netns, ...args)) as IpOracle
}

/** `bridge [-n NS] -j -d ARGS...` parsed: 'fdb' BridgeFdb[], 'vlan' BridgeVlanPort[], 'link' BridgeLink[]. */
export function bridgeJson(netns: string | undefined, ...args: ['fdb', ...string[]]): BridgeFdb[]
export function bridgeJson(netns: string | undefined, ...args: ['vlan', ...string[]]): BridgeVlanPort[]
export function bridgeJson(netns: string | undefined, ...args: ['link', ...string[]]): BridgeLink[]
export function bridgeJson<T = unknown>(netns: string | undefined, ...args: string[]): T[]
export function bridgeJson(netns: string | undefined, ...args: string[]): unknown[] {
  return list(run('bridge', [...(netns ? ['-n', netns] : []), '-j', '-d', ...args]))
}

/** The `ip -j -d link show` object for one link, or undefined when it does not exist. */
export function ipLink(netns: string | undefined, name: string): IpLink | undefined {
  return ipJson(netns, 'link', 'show').find((o) => o.ifname === name)
}

/** `ip [-n NS] ARGS...` (throws with stderr on failure). */
export function ip(netns: string | undefined, ...args: string[]): string {
  return run('ip', [...(netns ? ['-n', netns] : []), ...args])
}

/** `nft -j list ruleset` inside a named namespace, parsed; `[]` when nothing is loaded. */
export function nftRuleset(netns: string): NftJsonObject[] {
  const out = parse(run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'ruleset'])) as { nftables?: NftJsonObject[] }
  return out.nftables ?? []
}

/** Runs `nft -f -` with `script` inside a named namespace. */
export function nftApply(netns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] })
}

/**
 * `tc [-n NS] -j ARGS...` parsed (`tc -j -s qdisc show dev X`); `[]` for empty output:
 * 'qdisc' TcQdisc[], 'class' TcClass[], 'filter' TcFilter[] (also after '-s' / '-d').
 */
export function tcJson(netns: string | undefined, ...args: ['qdisc', ...string[]] | ['-s' | '-d', 'qdisc', ...string[]] | ['-s', '-d', 'qdisc', ...string[]]): TcQdisc[]
export function tcJson(netns: string | undefined, ...args: ['class', ...string[]] | ['-s' | '-d', 'class', ...string[]]): TcClass[]
export function tcJson(netns: string | undefined, ...args: ['filter', ...string[]] | ['-s' | '-d', 'filter', ...string[]]): TcFilter[]
export function tcJson<T = unknown>(netns: string | undefined, ...args: string[]): T[]
export function tcJson(netns: string | undefined, ...args: string[]): unknown[] {
  return list(run('tc', [...(netns ? ['-n', netns] : []), '-j', ...args]))
}

/** `tc [-n NS] ARGS...` as text (tc 6.1 prints htb classes only as text, even with -j). */
export function tcText(netns: string | undefined, ...args: string[]): string {
  return run('tc', [...(netns ? ['-n', netns] : []), ...args])
}
