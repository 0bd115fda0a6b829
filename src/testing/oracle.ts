/**
 * Oracles: read kernel state back with the reference tools (iproute2, nftables) as JSON.
 * For tests only: product code never runs these.
 */
import { execFileSync } from 'node:child_process'

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

const parse = (text: string): unknown => (text.trim() ? JSON.parse(text) : [])

/** `ip [-n NS] -j -d ARGS...` parsed. */
export function ipJson(netns: string | undefined, ...args: string[]): any {
  return parse(run('ip', [...(netns ? ['-n', netns] : []), '-j', '-d', ...args]))
}

/** `bridge [-n NS] -j -d ARGS...` parsed. */
export function bridgeJson(netns: string | undefined, ...args: string[]): any {
  return parse(run('bridge', [...(netns ? ['-n', netns] : []), '-j', '-d', ...args]))
}

/** The `ip -j -d link show` object for one link, or undefined when it does not exist. */
export function ipLink(netns: string | undefined, name: string): any {
  return (ipJson(netns, 'link', 'show') as any[]).find((o) => o.ifname === name)
}

/** `ip [-n NS] ARGS...` (throws with stderr on failure). */
export function ip(netns: string | undefined, ...args: string[]): string {
  return run('ip', [...(netns ? ['-n', netns] : []), ...args])
}

/** `nft -j list ruleset` inside a named namespace, parsed; `[]` when nothing is loaded. */
export function nftRuleset(netns: string): any[] {
  const out = parse(run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'ruleset'])) as { nftables?: any[] }
  return out.nftables ?? []
}

/** Runs `nft -f -` with `script` inside a named namespace. */
export function nftApply(netns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] })
}

/** `tc [-n NS] -j ARGS...` parsed (`tc -j -s qdisc show dev X`); `[]` for empty output. */
export function tcJson(netns: string | undefined, ...args: string[]): any {
  return parse(run('tc', [...(netns ? ['-n', netns] : []), '-j', ...args]))
}

/** `tc [-n NS] ARGS...` as text (tc 6.1 prints htb classes only as text, even with -j). */
export function tcText(netns: string | undefined, ...args: string[]): string {
  return run('tc', [...(netns ? ['-n', netns] : []), ...args])
}
