/** Container isolation: capabilities, seccomp (profiles and the BPF compiler), masked paths, securityContext. Re-exports only. */
export * from './capabilities.js'
export * from './context.js'
export * from './launch-args.js'
export * from './paths.js'
export * from './seccomp-bpf.js'
export * from './seccomp-default.js'
export * from './seccomp-profile.js'
export { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from './syscall-tables.js'
