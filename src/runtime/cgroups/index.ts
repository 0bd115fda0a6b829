/** cgroups for pods and containers: layout detection (v1, v2, hybrid), limits, kill, OOM counters. Re-exports only. */
export * from './detect.js'
export * from './limits.js'
export * from './cgroup.js'
export * from './stats.js'
