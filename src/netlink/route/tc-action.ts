/**
 * tc actions attached to classifiers (TCA_U32_ACT, TCA_MATCHALL_ACT): mirred, which mirrors
 * or redirects a packet to another device (the ifb behind an ingress shaper).
 *
 * One action on the wire (test/fixtures/netlink/tc-filter-u32-mirred.hex):
 *
 *   [order] TCA_ACT_KIND "mirred\0"
 *           TCA_ACT_OPTIONS | NLA_F_NESTED
 *             TCA_MIRRED_PARMS tc_mirred{index 0, capab 0, action, refcnt 0, bindcnt 0, eaction, ifindex}
 *
 * action is TC_ACT_STOLEN for a redirect (the packet goes and is not seen here again) and
 * TC_ACT_PIPE for a mirror (a copy goes, the original continues); eaction is TCA_EGRESS_REDIR,
 * TCA_EGRESS_MIRROR, TCA_INGRESS_REDIR or TCA_INGRESS_MIRROR.
 */
import { InvalidArgumentError } from '../../errors.js'
import type { AttrValues, StructValues } from '../core/schema.js'
import { TC_ACT_PIPE, TC_ACT_STOLEN } from './constants/pkt-cls.js'
import { TCA_EGRESS_MIRROR, TCA_EGRESS_REDIR, TCA_INGRESS_MIRROR, TCA_INGRESS_REDIR } from './constants/tc-mirred.js'

export interface MirredSpec {
  /** redirect: the packet goes to `dev` instead; mirror: a copy goes. */
  action: 'redirect' | 'mirror'
  /** Send it out of `dev` (egress) or in as if received by it (ingress). */
  direction: 'egress' | 'ingress'
  dev: string | number
}

export type ActionSpec = { kind: 'mirred'; mirred: MirredSpec }

export interface Action {
  kind: string
  /** The kernel's action index. */
  index?: number
  mirred?: { action: 'redirect' | 'mirror'; direction: 'egress' | 'ingress'; ifindex: number; controlAction: number }
  /** Packets and bytes that went through it. */
  stats?: { bytes: number; packets: number }
  attrs: AttrValues
}

const EACTIONS: Record<string, number> = {
  'egress/redirect': TCA_EGRESS_REDIR, 'egress/mirror': TCA_EGRESS_MIRROR,
  'ingress/redirect': TCA_INGRESS_REDIR, 'ingress/mirror': TCA_INGRESS_MIRROR,
}

/** The tc-act-attrs of one action; `ifindex` resolves device names. Pure given the resolver. */
export function actionAttrs(spec: ActionSpec, ifindex: (dev: string | number) => number): AttrValues {
  if (spec.kind !== 'mirred') throw new InvalidArgumentError('action', `'${String((spec as { kind: unknown }).kind)}' is not supported (mirred)`)
  const m = spec.mirred
  const eaction = EACTIONS[`${m.direction}/${m.action}`]
  if (eaction === undefined) throw new InvalidArgumentError('mirred', `'${m.direction} ${m.action}' is not egress|ingress redirect|mirror`)
  const parms: StructValues = {
    index: 0, capab: 0, action: m.action === 'redirect' ? TC_ACT_STOLEN : TC_ACT_PIPE, refcnt: 0, bindcnt: 0, eaction, ifindex: ifindex(m.dev),
  }
  return { kind: 'mirred', options: { parms } }
}

export function decodeAction(v: AttrValues): Action {
  const a: Action = { kind: String(v.kind ?? ''), attrs: v }
  if (v.index !== undefined) a.index = Number(v.index)
  const o = v.options
  const p = o && !Buffer.isBuffer(o) ? ((o as AttrValues).parms as StructValues | undefined) : undefined
  if (a.kind === 'mirred' && p) {
    const e = Number(p.eaction)
    a.mirred = {
      action: e === TCA_EGRESS_REDIR || e === TCA_INGRESS_REDIR ? 'redirect' : 'mirror',
      direction: e === TCA_EGRESS_REDIR || e === TCA_EGRESS_MIRROR ? 'egress' : 'ingress',
      ifindex: Number(p.ifindex),
      controlAction: Number(p.action),
    }
    if (a.index === undefined) a.index = Number(p.index)
  }
  const s = v.stats as AttrValues | undefined
  const basic = s?.basic as StructValues | undefined
  if (basic) a.stats = { bytes: Number(basic.bytes), packets: s?.pkt64 !== undefined ? Number(s.pkt64) : Number(basic.packets) }
  return a
}
