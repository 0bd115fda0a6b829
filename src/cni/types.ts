/**
 * CNI spec types and constants: the versions podnet speaks, the result and error shapes, the
 * well-known error codes, and the request errors the plugin raises for bad input. The numbers
 * are given out in one place only, skel.ts (toCniError), from these classes and podnet's own.
 *
 * Spec: https://github.com/containernetworking/cni/blob/main/SPEC.md (1.1.0).
 */

/** Spec versions podnet-cni accepts in `cniVersion`, oldest first. */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number]
/** The newest version: used for VERSION output and for errors about a config it cannot read. */
export const LATEST_CNI_VERSION: CniVersion = '1.1.0'

/** The operations (CNI_COMMAND). */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const
export type CniCommand = (typeof CNI_COMMANDS)[number]

/** Compares two x.y.z versions: negative, 0 or positive. Non-numeric parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export const isSupportedVersion = (v: string): v is CniVersion => (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v)
/** CHECK exists from 0.4.0. */
export const hasCheck = (v: string): boolean => compareVersions(v, '0.4.0') >= 0
/** STATUS and GC exist from 1.1.0. */
export const hasStatus = (v: string): boolean => compareVersions(v, '1.1.0') >= 0
export const hasGc = hasStatus
/** Before 1.0.0 every IP config carries "version": "4" | "6". */
export const ipsHaveVersion = (v: string): boolean => compareVersions(v, '1.0.0') < 0
/** Interfaces carry `mtu` (and socketPath, pciID) from 1.1.0. */
export const interfacesHaveMtu = (v: string): boolean => compareVersions(v, '1.1.0') >= 0

/** Well-known error codes (SPEC.md "Well-known Error Codes"; 999 as libcni's ErrInternal). */
export const CNI_ERR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADDs now. */
  NOT_AVAILABLE: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  LIMITED_CONNECTIVITY: 51,
  /** podnet: what ADD would create already exists (interface, attachment, address, host port). */
  ALREADY_EXISTS: 100,
  /** podnet: CHECK found the attachment differs from what ADD made. */
  CHECK_FAILED: 101,
  INTERNAL: 999,
} as const

/** The error object printed on stdout, with a non-zero exit. */
export interface CniErrorResult {
  cniVersion: string
  code: number
  msg: string
  details?: string
}

export interface CniInterface {
  name: string
  mac?: string
  /** 1.1.0 */
  mtu?: number
  /** The netns path, for interfaces inside the container. */
  sandbox?: string
  socketPath?: string
  pciID?: string
}

export interface CniIpConfig {
  /** CIDR: '10.88.0.2/16'. */
  address: string
  gateway?: string
  /** Index into `interfaces`. */
  interface?: number
  /** Before 1.0.0 only. */
  version?: '4' | '6'
}

export interface CniRoute {
  dst: string
  gw?: string
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}

export interface CniDns {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}

/** The ADD result (0.3.0 to 1.1.0 share this shape, but for `ips[].version`). */
export interface CniResult {
  cniVersion: string
  interfaces?: CniInterface[]
  ips?: CniIpConfig[]
  routes?: CniRoute[]
  dns?: CniDns
}

/** VERSION's output. */
export interface CniVersionResult {
  cniVersion: string
  supportedVersions: string[]
}

/** One entry of GC's `cni.dev/valid-attachments`. */
export interface CniAttachmentRef {
  containerID: string
  ifname: string
}

