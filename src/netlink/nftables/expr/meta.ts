/**
 * meta: loads packet metadata (interface names, l4 protocol, mark ...) into a register, or
 * sets metadata from one.
 *
 *   NFTA_LIST_ELEM (1|NESTED)
 *     NFTA_EXPR_NAME (1)          "meta\0"
 *     NFTA_EXPR_DATA (2|NESTED)
 *       NFTA_META_KEY  (2)        be32  NFT_META_* (6 iifname, 7 oifname, 16 l4proto ...)
 *       NFTA_META_DREG (1)        be32  destination register (load)     -- or --
 *       NFTA_META_SREG (3)        be32  source register (set)
 *
 * `meta load oifname => reg 1`, as nft 1.0.6 sends it:
 *   24000180 09000100 6d657461 00000000    elem, name "meta"
 *   14000280 08000200 00000007             data, key 7 (oifname)
 *   08000100 00000001                      dreg 1
 */
import { attrSet, type AttrValues } from '../../core/schema.js'
import {
  NFTA_META_DREG, NFTA_META_KEY, NFTA_META_SREG, NFT_META_BRI_IIFNAME, NFT_META_BRI_OIFNAME, NFT_META_CGROUP,
  NFT_META_CPU, NFT_META_IIF, NFT_META_IIFGROUP, NFT_META_IIFKIND, NFT_META_IIFNAME, NFT_META_IIFTYPE,
  NFT_META_LEN, NFT_META_MARK, NFT_META_NFPROTO, NFT_META_NFTRACE, NFT_META_OIF, NFT_META_OIFGROUP,
  NFT_META_OIFKIND, NFT_META_OIFNAME, NFT_META_OIFTYPE, NFT_META_PKTTYPE, NFT_META_PRANDOM, NFT_META_PRIORITY,
  NFT_META_PROTOCOL, NFT_META_L4PROTO, NFT_META_SECMARK, NFT_META_SECPATH, NFT_META_SKGID, NFT_META_SKUID,
  NFT_META_RTCLASSID,
} from '../constants.js'
import { num, toName, toNumber, type NameTable } from './util.js'

export type MetaKey =
  | 'len' | 'protocol' | 'priority' | 'mark' | 'iif' | 'oif' | 'iifname' | 'oifname' | 'iiftype' | 'oiftype'
  | 'skuid' | 'skgid' | 'nftrace' | 'rtclassid' | 'secmark' | 'nfproto' | 'l4proto' | 'bri_iifname'
  | 'bri_oifname' | 'pkttype' | 'cpu' | 'iifgroup' | 'oifgroup' | 'cgroup' | 'prandom' | 'secpath'
  | 'iifkind' | 'oifkind'

export const META_KEYS: NameTable<MetaKey> = {
  len: NFT_META_LEN, protocol: NFT_META_PROTOCOL, priority: NFT_META_PRIORITY, mark: NFT_META_MARK,
  iif: NFT_META_IIF, oif: NFT_META_OIF, iifname: NFT_META_IIFNAME, oifname: NFT_META_OIFNAME,
  iiftype: NFT_META_IIFTYPE, oiftype: NFT_META_OIFTYPE, skuid: NFT_META_SKUID, skgid: NFT_META_SKGID,
  nftrace: NFT_META_NFTRACE, rtclassid: NFT_META_RTCLASSID, secmark: NFT_META_SECMARK, nfproto: NFT_META_NFPROTO,
  l4proto: NFT_META_L4PROTO, bri_iifname: NFT_META_BRI_IIFNAME, bri_oifname: NFT_META_BRI_OIFNAME,
  pkttype: NFT_META_PKTTYPE, cpu: NFT_META_CPU, iifgroup: NFT_META_IIFGROUP, oifgroup: NFT_META_OIFGROUP,
  cgroup: NFT_META_CGROUP, prandom: NFT_META_PRANDOM, secpath: NFT_META_SECPATH, iifkind: NFT_META_IIFKIND,
  oifkind: NFT_META_OIFKIND,
}

/** Load `key` into `dreg`, or (with `sreg`) set it from a register. */
export interface MetaExpr {
  kind: 'meta'
  key: MetaKey | number
  dreg?: number
  sreg?: number
}

export const metaAttrs = attrSet('expr-meta-attrs', {
  dreg: { id: NFTA_META_DREG, type: 'u32' },
  key: { id: NFTA_META_KEY, type: 'u32' },
  sreg: { id: NFTA_META_SREG, type: 'u32' },
}, { byteOrder: 'be', nestedFlag: true })

export function encodeMeta(e: MetaExpr): AttrValues {
  return {
    key: toNumber(META_KEYS, e.key),
    ...(e.dreg !== undefined ? { dreg: e.dreg } : {}),
    ...(e.sreg !== undefined ? { sreg: e.sreg } : {}),
  }
}

export function decodeMeta(v: AttrValues): MetaExpr | undefined {
  const key = num(v, 'key')
  const dreg = num(v, 'dreg')
  const sreg = num(v, 'sreg')
  if (key === undefined || (dreg === undefined) === (sreg === undefined)) return undefined
  return { kind: 'meta', key: toName(META_KEYS, key), ...(dreg !== undefined ? { dreg } : {}), ...(sreg !== undefined ? { sreg } : {}) }
}
