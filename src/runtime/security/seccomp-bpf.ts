/**
 * Compiles a seccomp profile (seccomp-profile.ts) into a classic BPF program: the bytes of a
 * `struct sock_filter[]` (<linux/filter.h>) that the launcher installs with
 * prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) just before exec.
 *
 * The program, over `struct seccomp_data` (<linux/seccomp.h>: nr @0, arch @4, args[6] @16):
 *
 *     ld  [4]                       arch
 *     jeq #AUDIT_ARCH_<native>, 1, 0
 *     ret <default>                 another ABI (i386, arm32): denied
 *     ld  [0]                       nr
 *     jge #__X32_SYSCALL_BIT, 0, 1  (x86_64 only: the x32 ABI)
 *     ret <default>
 *     jeq #nr1, 0, <len1>           one block per syscall the profile names, in number order
 *       <rule 1: each arg test jumps to rule 2 on failure> ret <action 1>
 *       <rule 2 ...>                ret <action 2>
 *       ret <default>               no rule of this syscall matched
 *     jeq #nr2, ...
 *     ret <default>
 *
 * A block longer than a conditional jump can skip (255) is skipped through `ja`. Arguments are
 * compared as 64-bit values, high word first (args are little-endian here: both x86_64 and
 * aarch64). The kernel's per-syscall action cache (5.11+) makes an allowed syscall with no
 * argument test cost nothing after the first call, so the linear layout is not a hot path.
 */
import { PodnetError } from '../../errors.js'
import type { SeccompAction, SeccompArch, SeccompArg, SeccompProfile } from './seccomp-profile.js'
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from './syscall-tables.js'

// <linux/bpf_common.h>
export const BPF_LD = 0x00
export const BPF_ALU = 0x04
export const BPF_JMP = 0x05
export const BPF_RET = 0x06
export const BPF_W = 0x00
export const BPF_ABS = 0x20
export const BPF_K = 0x00
export const BPF_AND = 0x50
export const BPF_JA = 0x00
export const BPF_JEQ = 0x10
export const BPF_JGT = 0x20
export const BPF_JGE = 0x30
export const BPF_MAXINSNS = 4096

// <linux/seccomp.h>
export const SECCOMP_RET_KILL_PROCESS = 0x80000000
export const SECCOMP_RET_KILL_THREAD = 0x00000000
export const SECCOMP_RET_TRAP = 0x00030000
export const SECCOMP_RET_ERRNO = 0x00050000
export const SECCOMP_RET_LOG = 0x7ffc0000
export const SECCOMP_RET_ALLOW = 0x7fff0000
export const SECCOMP_RET_DATA = 0x0000ffff

// <linux/audit.h>, <linux/elf-em.h>
export const AUDIT_ARCH_X86_64 = 0xc000003e // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
export const AUDIT_ARCH_AARCH64 = 0xc00000b7 // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
/** <asm/unistd.h>: x32 syscalls are x86_64 numbers with this bit. */
export const __X32_SYSCALL_BIT = 0x40000000

export const EPERM = 1

const SECCOMP_DATA_NR = 0
const SECCOMP_DATA_ARCH = 4
const SECCOMP_DATA_ARGS = 16

export interface SockFilter {
  code: number
  jt: number
  jf: number
  k: number
}

/** Syscall numbers of an architecture, by name. */
export function syscallTable(arch: SeccompArch): Readonly<Record<string, number>> {
  return arch === 'x86_64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64
}

export function actionValue(action: SeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW': return SECCOMP_RET_ALLOW
    case 'SCMP_ACT_ERRNO': return (SECCOMP_RET_ERRNO | ((errnoRet ?? EPERM) & SECCOMP_RET_DATA)) >>> 0
    case 'SCMP_ACT_KILL': case 'SCMP_ACT_KILL_THREAD': return SECCOMP_RET_KILL_THREAD
    case 'SCMP_ACT_KILL_PROCESS': return SECCOMP_RET_KILL_PROCESS
    case 'SCMP_ACT_TRAP': return SECCOMP_RET_TRAP
    case 'SCMP_ACT_LOG': return SECCOMP_RET_LOG
  }
}

/** A jump target inside one block: resolved when the block is laid out. */
type Label = { readonly label: number }
type Op = { code: number; k: number; jt: number | Label; jf: number | Label }
type Insn = Op | { mark: Label }

class Block {
  readonly insns: Insn[] = []
  private next = 0
  label(): Label { return { label: this.next++ } }
  mark(l: Label): void { this.insns.push({ mark: l }) }
  ld(off: number): void { this.insns.push({ code: BPF_LD | BPF_W | BPF_ABS, k: off, jt: 0, jf: 0 }) }
  and(k: number): void { this.insns.push({ code: BPF_ALU | BPF_AND | BPF_K, k: k >>> 0, jt: 0, jf: 0 }) }
  jmp(op: number, k: number, jt: number | Label, jf: number | Label): void { this.insns.push({ code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf }) }
  ret(k: number): void { this.insns.push({ code: BPF_RET | BPF_K, k: k >>> 0, jt: 0, jf: 0 }) }

  /** The instructions with labels turned into forward offsets. */
  resolve(): SockFilter[] {
    const at = new Map<number, number>()
    const out: Op[] = []
    for (const i of this.insns) {
      if ('mark' in i) at.set(i.mark.label, out.length)
      else out.push(i)
    }
    return out.map((i, idx) => {
      const off = (j: number | Label): number => {
        if (typeof j === 'number') return j
        const to = at.get(j.label)
        if (to === undefined || to <= idx) throw new PodnetError('seccomp: a jump to an unplaced label')
        const d = to - idx - 1
        if (d > 255) throw new PodnetError('seccomp: an argument test is too long for a conditional jump')
        return d
      }
      return { code: i.code, k: i.k, jt: off(i.jt), jf: off(i.jf) }
    })
  }
}

const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn)
const lo = (v: bigint): number => Number(v & 0xffffffffn)

/** One argument test: falls through when it holds, jumps to fail when not. */
function argTest(b: Block, a: SeccompArg, fail: Label): void {
  const loOff = SECCOMP_DATA_ARGS + 8 * a.index
  const hiOff = loOff + 4
  const pass = b.label()
  const v = a.value
  switch (a.op) {
    case 'SCMP_CMP_EQ':
      b.ld(hiOff); b.jmp(BPF_JEQ, hi(v), 0, fail)
      b.ld(loOff); b.jmp(BPF_JEQ, lo(v), 0, fail)
      break
    case 'SCMP_CMP_NE':
      b.ld(hiOff); b.jmp(BPF_JEQ, hi(v), 0, pass)
      b.ld(loOff); b.jmp(BPF_JEQ, lo(v), fail, 0)
      break
    case 'SCMP_CMP_MASKED_EQ':
      b.ld(hiOff); b.and(hi(v)); b.jmp(BPF_JEQ, hi(a.valueTwo), 0, fail)
      b.ld(loOff); b.and(lo(v)); b.jmp(BPF_JEQ, lo(a.valueTwo), 0, fail)
      break
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      b.ld(hiOff); b.jmp(BPF_JGT, hi(v), pass, 0); b.jmp(BPF_JEQ, hi(v), 0, fail)
      b.ld(loOff); b.jmp(a.op === 'SCMP_CMP_GT' ? BPF_JGT : BPF_JGE, lo(v), 0, fail)
      break
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      // not (>=), not (>)
      b.ld(hiOff); b.jmp(BPF_JGT, hi(v), fail, 0); b.jmp(BPF_JEQ, hi(v), 0, pass)
      b.ld(loOff); b.jmp(a.op === 'SCMP_CMP_LT' ? BPF_JGE : BPF_JGT, lo(v), fail, 0)
      break
  }
  b.mark(pass)
}

/** Compiles a profile for one architecture into sock_filter instructions. */
export function compileSeccomp(profile: SeccompProfile, arch: SeccompArch): SockFilter[] {
  const table = syscallTable(arch)
  const deny = actionValue(profile.defaultAction, profile.defaultErrnoRet)
  // rules by syscall number, in profile order; unknown names are skipped
  const byNr = new Map<number, SeccompProfile['syscalls']>()
  for (const rule of profile.syscalls) {
    for (const name of rule.names) {
      const nr = table[name]
      if (nr === undefined) continue
      const list = byNr.get(nr) ?? []
      list.push(rule)
      byNr.set(nr, list)
    }
  }
  const prog: SockFilter[] = []
  const ins = (code: number, k: number, jt = 0, jf = 0): void => { prog.push({ code, k: k >>> 0, jt, jf }) }
  ins(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_ARCH)
  ins(BPF_JMP | BPF_JEQ | BPF_K, arch === 'x86_64' ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64, 1, 0)
  ins(BPF_RET | BPF_K, deny)
  ins(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR)
  if (arch === 'x86_64') {
    ins(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1)
    ins(BPF_RET | BPF_K, deny)
  }
  for (const nr of [...byNr.keys()].sort((a, b) => a - b)) {
    const b = new Block()
    let closed = false
    for (const rule of byNr.get(nr)!) {
      const action = actionValue(rule.action, rule.errnoRet)
      if (!rule.args.length) { b.ret(action); closed = true; break } // later rules are unreachable
      const next = b.label()
      for (const a of rule.args) argTest(b, a, next)
      b.ret(action)
      b.mark(next)
    }
    if (!closed) b.ret(deny) // no rule of this syscall matched
    const body = b.resolve()
    if (body.length <= 255) {
      ins(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, body.length)
    } else {
      ins(BPF_JMP | BPF_JEQ | BPF_K, nr, 1, 0)
      ins(BPF_JMP | BPF_JA, body.length)
    }
    prog.push(...body)
  }
  ins(BPF_RET | BPF_K, deny)
  if (prog.length > BPF_MAXINSNS) throw new PodnetError(`seccomp: the profile compiles to ${prog.length} instructions, more than the kernel's ${BPF_MAXINSNS}`)
  return prog
}

/** The bytes of a struct sock_filter[] (u16 code, u8 jt, u8 jf, u32 k; little-endian). */
export function sockFilterBytes(prog: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8)
  prog.forEach((i, n) => {
    buf.writeUInt16LE(i.code, n * 8)
    buf.writeUInt8(i.jt, n * 8 + 2)
    buf.writeUInt8(i.jf, n * 8 + 3)
    buf.writeUInt32LE(i.k >>> 0, n * 8 + 4)
  })
  return buf
}

/**
 * Runs a program on one syscall as the kernel would (a reference interpreter for the tests and
 * for `podnet pod inspect`-style explanations): returns the SECCOMP_RET_ value.
 */
export function runSeccomp(prog: readonly SockFilter[], data: { nr: number; arch: number; args?: readonly bigint[] }): number {
  const word = (off: number): number => {
    if (off === SECCOMP_DATA_NR) return data.nr >>> 0
    if (off === SECCOMP_DATA_ARCH) return data.arch >>> 0
    const i = Math.floor((off - SECCOMP_DATA_ARGS) / 8)
    const v = data.args?.[i] ?? 0n
    return (off - SECCOMP_DATA_ARGS) % 8 === 0 ? lo(v) : hi(v)
  }
  let a = 0
  for (let pc = 0; pc < prog.length; pc++) {
    const i = prog[pc]!
    const cls = i.code & 0x07
    if (cls === BPF_LD) a = word(i.k)
    else if (cls === BPF_ALU) a = (a & i.k) >>> 0
    else if (cls === BPF_RET) return i.k >>> 0
    else if (cls === BPF_JMP) {
      const op = i.code & 0xf0
      if (op === BPF_JA) { pc += i.k; continue }
      const t = op === BPF_JEQ ? a === i.k : op === BPF_JGT ? a > i.k : op === BPF_JGE ? a >= i.k : false
      pc += t ? i.jt : i.jf
    }
  }
  throw new PodnetError('seccomp: the program ran off its end')
}
