/**
 * rtnetlink traffic-control messages (RTM_NEWQDISC/DELQDISC/GETQDISC, RTM_*TCLASS,
 * RTM_*TFILTER), after the kernel's Documentation/netlink/specs/tc.yaml: set names and
 * camelCase attribute names follow it, ids come from linux/rtnetlink.h, pkt_sched.h, pkt_cls.h,
 * tc_act/tc_mirred.h and gen_stats.h.
 *
 * A message is a tcmsg, then tc-attrs; TCA_OPTIONS is a sub-message chosen by TCA_KIND (the
 * qdisc, class or classifier kind). Classifier actions are a nest-array of tc-act-attrs whose
 * TCA_ACT_OPTIONS is chosen by TCA_ACT_KIND.
 *
 * Wire layout of `tc filter add dev va parent ffff: protocol all prio 1 u32 match u32 0 0
 * action mirred egress redirect dev ifb0` (test/fixtures/netlink/tc-filter-u32-mirred.hex):
 *
 *   tcmsg{family 0, ifindex 2, handle 0, parent ffff:0000, info = prio<<16 | htons(ETH_P_ALL)}
 *   TCA_KIND "u32\0"
 *   TCA_OPTIONS                          (no NLA_F_NESTED, as tc writes it)
 *     TCA_U32_ACT                        nest of actions, element type = order (1, 2, ...)
 *       [1] TCA_ACT_KIND "mirred\0"
 *           TCA_ACT_OPTIONS | NLA_F_NESTED
 *             TCA_MIRRED_PARMS struct tc_mirred{index, capab, action=TC_ACT_STOLEN, refcnt,
 *                                               bindcnt, eaction=TCA_EGRESS_REDIR, ifindex}
 *     TCA_U32_SEL struct tc_u32_sel{flags=TC_U32_TERMINAL, nkeys=1, ...} + keys[]
 */
import { attrSet, struct, type AttrSet } from '../../core/schema.js'
import * as T from '../constants/tc.js'
import * as S from '../constants/pkt-sched.js'
import * as C from '../constants/pkt-cls.js'
import * as M from '../constants/tc-mirred.js'
import * as G from '../constants/gen-stats.js'

/** struct tcmsg, 20 bytes. */
export const tcmsg = struct('tcmsg', [
  ['family', 'u8'], ['pad1', 'pad8'], ['pad2', 'pad16'], ['ifindex', 's32'], ['handle', 'u32'], ['parent', 'u32'], ['info', 'u32'],
])

/**
 * struct tc_ratespec (12 bytes) as a prefix of field names, so that structs holding two of them
 * stay flat tables. cell_align is a signed short: tc writes -1, which is 0xffff here.
 */
const ratespec = (p: string): Array<readonly [string, 'u8' | 'u16' | 'u32']> => [
  [`${p}CellLog`, 'u8'], [`${p}Linklayer`, 'u8'], [`${p}Overhead`, 'u16'], [`${p}CellAlign`, 'u16'], [`${p}Mpu`, 'u16'], [p, 'u32'],
]

/** struct tc_tbf_qopt, 36 bytes: rate and peak rate (bytes/s, u32; see TCA_TBF_RATE64), limit (bytes), buffer (psched ticks), mtu. */
export const tcTbfQopt = struct('tc_tbf_qopt', [...ratespec('rate'), ...ratespec('peakrate'), ['limit', 'u32'], ['buffer', 'u32'], ['mtu', 'u32']])

/** struct tc_htb_glob, 20 bytes: the htb qdisc's TCA_HTB_INIT. */
export const tcHtbGlob = struct('tc_htb_glob', [['version', 'u32'], ['rate2quantum', 'u32'], ['defcls', 'u32'], ['debug', 'u32'], ['directPkts', 'u32']])

/** struct tc_htb_opt, 44 bytes: an htb class's TCA_HTB_PARMS (buffer and cbuffer in psched ticks). */
export const tcHtbOpt = struct('tc_htb_opt', [
  ...ratespec('rate'), ...ratespec('ceil'), ['buffer', 'u32'], ['cbuffer', 'u32'], ['quantum', 'u32'], ['level', 'u32'], ['prio', 'u32'],
])

/** struct tc_mirred, 28 bytes (tc_gen: index, capab, action, refcnt, bindcnt; then eaction, ifindex). */
export const tcMirred = struct('tc_mirred', [
  ['index', 'u32'], ['capab', 'u32'], ['action', 's32'], ['refcnt', 's32'], ['bindcnt', 's32'], ['eaction', 's32'], ['ifindex', 'u32'],
])

/** struct gnet_stats_basic (16 bytes with its tail padding, as the kernel copies it). */
export const gnetStatsBasic = struct('gnet_stats_basic', [['bytes', 'u64'], ['packets', 'u32'], ['pad', 'pad32']])

/** struct gnet_stats_queue, 20 bytes. */
export const gnetStatsQueue = struct('gnet_stats_queue', [['qlen', 'u32'], ['backlog', 'u32'], ['drops', 'u32'], ['requeues', 'u32'], ['overlimits', 'u32']])

export const tbfAttrs: AttrSet = attrSet('tc-tbf-attrs', {
  parms: { id: S.TCA_TBF_PARMS, type: 'struct', struct: tcTbfQopt },
  rtab: { id: S.TCA_TBF_RTAB, type: 'binary' },
  ptab: { id: S.TCA_TBF_PTAB, type: 'binary' },
  rate64: { id: S.TCA_TBF_RATE64, type: 'u64' },
  prate64: { id: S.TCA_TBF_PRATE64, type: 'u64' },
  burst: { id: S.TCA_TBF_BURST, type: 'u32' },
  pburst: { id: S.TCA_TBF_PBURST, type: 'u32' },
  pad: { id: S.TCA_TBF_PAD, type: 'binary' },
})

/** htb: one set for the qdisc (init, directQlen) and its classes (parms, rate64, ceil64, tables). */
export const htbAttrs: AttrSet = attrSet('tc-htb-attrs', {
  parms: { id: S.TCA_HTB_PARMS, type: 'struct', struct: tcHtbOpt },
  init: { id: S.TCA_HTB_INIT, type: 'struct', struct: tcHtbGlob },
  ctab: { id: S.TCA_HTB_CTAB, type: 'binary' },
  rtab: { id: S.TCA_HTB_RTAB, type: 'binary' },
  directQlen: { id: S.TCA_HTB_DIRECT_QLEN, type: 'u32' },
  rate64: { id: S.TCA_HTB_RATE64, type: 'u64' },
  ceil64: { id: S.TCA_HTB_CEIL64, type: 'u64' },
  pad: { id: S.TCA_HTB_PAD, type: 'binary' },
  offload: { id: S.TCA_HTB_OFFLOAD, type: 'flag' },
})

export const mirredAttrs: AttrSet = attrSet('tc-act-mirred-attrs', {
  tm: { id: M.TCA_MIRRED_TM, type: 'binary' },
  parms: { id: M.TCA_MIRRED_PARMS, type: 'struct', struct: tcMirred },
  pad: { id: M.TCA_MIRRED_PAD, type: 'binary' },
})

/** TCA_STATS2 (and TCA_ACT_STATS): gnet statistics. */
export const statsAttrs: AttrSet = attrSet('tca-stats-attrs', {
  basic: { id: G.TCA_STATS_BASIC, type: 'struct', struct: gnetStatsBasic },
  rateEst: { id: G.TCA_STATS_RATE_EST, type: 'binary' },
  queue: { id: G.TCA_STATS_QUEUE, type: 'struct', struct: gnetStatsQueue },
  app: { id: G.TCA_STATS_APP, type: 'binary' },
  rateEst64: { id: G.TCA_STATS_RATE_EST64, type: 'binary' },
  pad: { id: G.TCA_STATS_PAD, type: 'binary' },
  basicHw: { id: G.TCA_STATS_BASIC_HW, type: 'binary' },
  pkt64: { id: G.TCA_STATS_PKT64, type: 'u64' },
})

/** One action; TCA_ACT_OPTIONS is chosen by TCA_ACT_KIND. tc writes the options nest with NLA_F_NESTED. */
export const actAttrs: AttrSet = attrSet('tc-act-attrs', {
  kind: { id: C.TCA_ACT_KIND, type: 'string' },
  options: { id: C.TCA_ACT_OPTIONS, type: 'sub-message', selector: 'kind', of: { mirred: mirredAttrs } },
  index: { id: C.TCA_ACT_INDEX, type: 'u32' },
  stats: { id: C.TCA_ACT_STATS, type: 'nest', set: statsAttrs },
  pad: { id: C.TCA_ACT_PAD, type: 'binary' },
  cookie: { id: C.TCA_ACT_COOKIE, type: 'binary' },
  flags: { id: C.TCA_ACT_FLAGS, type: 'binary' },
  hwStats: { id: C.TCA_ACT_HW_STATS, type: 'binary' },
  usedHwStats: { id: C.TCA_ACT_USED_HW_STATS, type: 'binary' },
  inHwCount: { id: C.TCA_ACT_IN_HW_COUNT, type: 'u32' },
}, { nestedFlag: true })

/**
 * u32 classifier. TCA_U32_SEL is a struct tc_u32_sel followed by nkeys struct tc_u32_key, so
 * it is binary here and filter.ts codes it (encodeU32Sel/decodeU32Sel).
 */
export const u32Attrs: AttrSet = attrSet('tc-u32-attrs', {
  classid: { id: C.TCA_U32_CLASSID, type: 'u32' },
  hash: { id: C.TCA_U32_HASH, type: 'u32' },
  link: { id: C.TCA_U32_LINK, type: 'u32' },
  divisor: { id: C.TCA_U32_DIVISOR, type: 'u32' },
  sel: { id: C.TCA_U32_SEL, type: 'binary' },
  police: { id: C.TCA_U32_POLICE, type: 'binary' },
  act: { id: C.TCA_U32_ACT, type: 'nest-array', set: actAttrs },
  indev: { id: C.TCA_U32_INDEV, type: 'string' },
  pcnt: { id: C.TCA_U32_PCNT, type: 'binary' },
  mark: { id: C.TCA_U32_MARK, type: 'binary' },
  flags: { id: C.TCA_U32_FLAGS, type: 'u32' },
  pad: { id: C.TCA_U32_PAD, type: 'binary' },
})

/** matchall classifier (not built into every kernel: this project's test kernel lacks it). */
export const matchallAttrs: AttrSet = attrSet('tc-matchall-attrs', {
  classid: { id: C.TCA_MATCHALL_CLASSID, type: 'u32' },
  act: { id: C.TCA_MATCHALL_ACT, type: 'nest-array', set: actAttrs },
  flags: { id: C.TCA_MATCHALL_FLAGS, type: 'u32' },
  pcnt: { id: C.TCA_MATCHALL_PCNT, type: 'binary' },
  pad: { id: C.TCA_MATCHALL_PAD, type: 'binary' },
})

const emptyAttrs = attrSet('tc-empty-attrs', {})

/** TCA_OPTIONS by TCA_KIND; a kind without a table keeps its options as raw bytes. */
export const tcOptionsByKind: Record<string, AttrSet> = {
  tbf: tbfAttrs, htb: htbAttrs, ingress: emptyAttrs, clsact: emptyAttrs, u32: u32Attrs, matchall: matchallAttrs,
}

export const tcAttrs: AttrSet = attrSet('tc-attrs', {
  kind: { id: T.TCA_KIND, type: 'string' },
  options: { id: T.TCA_OPTIONS, type: 'sub-message', selector: 'kind', of: tcOptionsByKind },
  stats: { id: T.TCA_STATS, type: 'binary' },
  xstats: { id: T.TCA_XSTATS, type: 'binary' },
  rate: { id: T.TCA_RATE, type: 'binary' },
  fcnt: { id: T.TCA_FCNT, type: 'u32' },
  stats2: { id: T.TCA_STATS2, type: 'nest', set: statsAttrs },
  stab: { id: T.TCA_STAB, type: 'binary' },
  pad: { id: T.TCA_PAD, type: 'binary' },
  dumpInvisible: { id: T.TCA_DUMP_INVISIBLE, type: 'flag' },
  chain: { id: T.TCA_CHAIN, type: 'u32' },
  hwOffload: { id: T.TCA_HW_OFFLOAD, type: 'u8' },
  ingressBlock: { id: T.TCA_INGRESS_BLOCK, type: 'u32' },
  egressBlock: { id: T.TCA_EGRESS_BLOCK, type: 'u32' },
  dumpFlags: { id: T.TCA_DUMP_FLAGS, type: 'binary' },
  extWarnMsg: { id: T.TCA_EXT_WARN_MSG, type: 'string' },
})
