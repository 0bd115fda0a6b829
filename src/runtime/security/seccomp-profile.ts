/**
 * Seccomp profiles in the OCI runtime-spec format (linux.seccomp: defaultAction, syscalls[]
 * with names, action, errnoRet, args[]), the format of Kubernetes' Localhost profiles and of
 * containerd's and Docker's profile files. parseSeccompProfile validates one read from JSON;
 * every error names the field path.
 *
 * Semantics podnet implements (seccomp-bpf.ts compiles them):
 *   - only the machine's own architecture is allowed; other ABIs (i386/x32 on x86_64, arm32 on
 *     aarch64) get the default action. `architectures` may list the native one (SCMP_ARCH_X86_64
 *     or SCMP_ARCH_AARCH64) and others, which are ignored.
 *   - for one syscall, rules apply in profile order: the first whose args all match decides.
 *   - names the architecture does not have are ignored (libseccomp does the same).
 *   - Docker's includes/excludes (caps, arches) are honoured; minKernel is refused.
 */
import { InvalidArgumentError } from '../../errors.js'

export type SeccompAction =
  | 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP' | 'SCMP_ACT_LOG'
export const SECCOMP_ACTIONS: readonly SeccompAction[] = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG',
]

export type SeccompOp =
  | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ'
export const SECCOMP_OPS: readonly SeccompOp[] = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
]

export interface SeccompArg {
  /** Argument number, 0-5. */
  index: number
  /** Compared value (for SCMP_CMP_MASKED_EQ: the mask). */
  value: bigint
  /** SCMP_CMP_MASKED_EQ: the value the masked argument must equal. */
  valueTwo: bigint
  op: SeccompOp
}

export interface SeccompRule {
  names: string[]
  action: SeccompAction
  /** SCMP_ACT_ERRNO's errno (default EPERM). */
  errnoRet?: number
  args: SeccompArg[]
}

export interface SeccompProfile {
  defaultAction: SeccompAction
  defaultErrnoRet?: number
  syscalls: SeccompRule[]
}

/** OCI's architecture names for the two architectures podnet builds filters for. */
export const SCMP_ARCH: Record<SeccompArch, string> = { x86_64: 'SCMP_ARCH_X86_64', aarch64: 'SCMP_ARCH_AARCH64' }
export type SeccompArch = 'x86_64' | 'aarch64'

/** The architecture of this process, or undefined when podnet has no syscall table for it. */
export function nativeArch(): SeccompArch | undefined {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function action(v: unknown, field: string): SeccompAction {
  if (typeof v !== 'string' || !(SECCOMP_ACTIONS as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(field, `unsupported action ${JSON.stringify(v)}: supported: ${SECCOMP_ACTIONS.join(', ')}`)
  }
  return v as SeccompAction
}

function errno(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4095) throw new InvalidArgumentError(field, `must be an errno from 0 to 4095, got ${JSON.stringify(v)}`)
  return v
}

function u64(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return v
  throw new InvalidArgumentError(field, `must be an unsigned integer, got ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`)
}

function unknownFields(o: Obj, known: readonly string[], at: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new InvalidArgumentError(`${at}.${k}`, 'not supported by podnet')
}

/**
 * Validates a profile object (JSON.parse of a Localhost profile). `caps` are the container's
 * bounding capabilities (CAP_ names), for Docker-style includes/excludes.caps.
 */
export function parseSeccompProfile(doc: unknown, at: string, caps: ReadonlySet<string> = new Set()): SeccompProfile {
  if (!isObj(doc)) throw new InvalidArgumentError(at, 'a seccomp profile must be a JSON object')
  unknownFields(doc, ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'syscalls', 'flags', 'comment'], at)
  const profile: SeccompProfile = { defaultAction: action(doc.defaultAction, `${at}.defaultAction`), syscalls: [] }
  if (doc.defaultErrnoRet !== undefined) profile.defaultErrnoRet = errno(doc.defaultErrnoRet, `${at}.defaultErrnoRet`)
  if (doc.flags !== undefined && (!Array.isArray(doc.flags) || doc.flags.length)) throw new InvalidArgumentError(`${at}.flags`, 'seccomp filter flags are not supported by podnet')
  const arch = nativeArch()
  if (doc.architectures !== undefined) {
    if (!Array.isArray(doc.architectures) || doc.architectures.some((a) => typeof a !== 'string')) throw new InvalidArgumentError(`${at}.architectures`, 'must be a list of SCMP_ARCH_ names')
  }
  if (doc.syscalls !== undefined && !Array.isArray(doc.syscalls)) throw new InvalidArgumentError(`${at}.syscalls`, 'must be a list')
  ;((doc.syscalls ?? []) as unknown[]).forEach((s, i) => {
    const f = `${at}.syscalls[${i}]`
    if (!isObj(s)) throw new InvalidArgumentError(f, 'must be an object')
    unknownFields(s, ['names', 'name', 'action', 'errnoRet', 'args', 'includes', 'excludes', 'comment'], f)
    const names = s.names !== undefined ? s.names : s.name !== undefined ? [s.name] : undefined
    if (!Array.isArray(names) || !names.length || names.some((n) => typeof n !== 'string' || !/^[a-z0-9_]+$/.test(n))) {
      throw new InvalidArgumentError(`${f}.names`, 'must be a non-empty list of syscall names')
    }
    const rule: SeccompRule = { names: names as string[], action: action(s.action, `${f}.action`), args: [] }
    if (s.errnoRet !== undefined) rule.errnoRet = errno(s.errnoRet, `${f}.errnoRet`)
    if (s.args !== undefined && s.args !== null) {
      if (!Array.isArray(s.args)) throw new InvalidArgumentError(`${f}.args`, 'must be a list')
      rule.args = s.args.map((a, j) => {
        const af = `${f}.args[${j}]`
        if (!isObj(a)) throw new InvalidArgumentError(af, 'must be an object')
        unknownFields(a, ['index', 'value', 'valueTwo', 'op'], af)
        if (typeof a.index !== 'number' || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new InvalidArgumentError(`${af}.index`, `must be from 0 to 5, got ${JSON.stringify(a.index)}`)
        if (typeof a.op !== 'string' || !(SECCOMP_OPS as readonly string[]).includes(a.op)) throw new InvalidArgumentError(`${af}.op`, `unsupported operator ${JSON.stringify(a.op)}: supported: ${SECCOMP_OPS.join(', ')}`)
        return { index: a.index, value: u64(a.value, `${af}.value`), valueTwo: a.valueTwo === undefined ? 0n : u64(a.valueTwo, `${af}.valueTwo`), op: a.op as SeccompOp }
      })
    }
    // Docker's conditional rules: kept only when they apply to this container
    const cond = (c: unknown, cf: string): { caps: string[]; arches: string[] } => {
      if (c === undefined) return { caps: [], arches: [] }
      if (!isObj(c)) throw new InvalidArgumentError(cf, 'must be an object')
      unknownFields(c, ['caps', 'arches'], cf)
      const list = (v: unknown, lf: string): string[] => {
        if (v === undefined) return []
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidArgumentError(lf, 'must be a list of strings')
        return v as string[]
      }
      return { caps: list(c.caps, `${cf}.caps`), arches: list(c.arches, `${cf}.arches`) }
    }
    const inc = cond(s.includes, `${f}.includes`)
    const exc = cond(s.excludes, `${f}.excludes`)
    const archNames = (arch === 'x86_64' ? ['amd64', 'x86_64'] : arch === 'aarch64' ? ['arm64', 'aarch64'] : [])
    if (inc.caps.some((c) => !caps.has(c))) return
    if (inc.arches.length && !inc.arches.some((a) => archNames.includes(a))) return
    if (exc.caps.some((c) => caps.has(c))) return
    if (exc.arches.some((a) => archNames.includes(a))) return
    profile.syscalls.push(rule)
  })
  return profile
}
